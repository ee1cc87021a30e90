/* brief.c — the synthesizer's brief (see brief.h). */
#include "agent/brief.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

/* How much of each candidate the brief shows, longest first (bytes of the reasoning's end,
 * bytes of the answer). */
static const struct { int excerpt, answer; } SIZES[BRIEF_N_SIZES] = {
    {320, 400}, {160, 200}, {80, 120}, {0, 80}, {0, 32}, {0, 12},
};

/* Appends at most `max` bytes of text (whole characters), with an ellipsis when cut. */
static void put_capped(strbuf *b, const char *text, int max) {
    size_t len = strlen(text);
    size_t n = utf8_cut(text, len, (size_t)max);
    strbuf_append(b, text, n);
    if (n < len) strbuf_puts(b, "…");
}

static bool answered(const result_agent *o) {
    return o->finished && o->normalized && o->normalized[0];
}

/* Whether agent o stopped without an answer, for the reason `why` ("low_confidence", …). */
static bool stopped_for(const result_agent *o, const char *why) {
    return !answered(o) && strcmp(o->stop_reason ? o->stop_reason : "stopped", why) == 0;
}

/* One candidate: a distinct answer, its supporters' weight and its most confident supporter. */
typedef struct candidate {
    const char *answer;
    float weight;
    int supporters;
    int best;
} candidate;

static int by_weight(const void *a, const void *b) {
    const candidate *x = a, *y = b;
    return (x->weight < y->weight) - (x->weight > y->weight);
}

/* The finished agents' distinct answers, heaviest first (the vote's winner leads), weighted
 * as the vote weighs them; *n_out of them. NULL when out of memory. */
static candidate *candidates_of(const result_agent *agents, int n, int *n_out) {
    candidate *c = calloc((size_t)(n > 0 ? n : 1), sizeof *c);
    int k = 0;
    for (int i = 0; c && i < n; i++) {
        const result_agent *o = &agents[i];
        if (!answered(o)) continue;
        int j = 0;
        while (j < k && strcmp(c[j].answer, o->normalized) != 0) j++;
        if (j == k) c[k++] = (candidate){.answer = o->normalized, .best = i};
        c[j].weight += vote_weight(o->confidence);
        c[j].supporters++;
        if (o->confidence > agents[c[j].best].confidence) c[j].best = i;
    }
    if (c) qsort(c, (size_t)k, sizeof *c, by_weight);
    *n_out = k;
    return c;
}

int brief_answers(const result_agent *agents, int n, const char **answers) {
    int k = 0;
    candidate *c = candidates_of(agents, n, &k);
    for (int j = 0; c && j < k; j++) answers[j] = c[j].answer;
    free(c);
    return c ? k : -1;
}

char *brief_write(const result_agent *agents, int n, vote_outcome v, int size) {
    const int excerpt = SIZES[size].excerpt, answer = SIZES[size].answer;
    int k = 0;
    candidate *c = candidates_of(agents, n, &k);
    if (!c) return NULL;
    strbuf b = {0};
    strbuf_printf(&b, "I asked %d independent reasoners this question. Their answers:\n", n);
    for (int j = 0; j < k; j++) {
        const result_agent *o = &agents[c[j].best];
        strbuf_printf(&b, "%d. ", j + 1);
        put_capped(&b, c[j].answer, answer);
        strbuf_printf(&b, ": %d of them (confidence up to %.2f)\n", c[j].supporters, o->confidence);
        size_t len = o->reasoning.len;
        if (len && excerpt > 0) {
            const char *r = strbuf_str(&o->reasoning);
            size_t from = len > (size_t)excerpt ? len - (size_t)excerpt : 0;
            while (from > 0 && from < len && ((unsigned char)r[from] & 0xC0) == 0x80) from++;  /* a whole character */
            strbuf_puts(&b, "   reasoning excerpt: ");
            if (from > 0) strbuf_puts(&b, "…");
            strbuf_append(&b, r + from, len - from);
            strbuf_puts(&b, "\n");
        }
    }
    /* the agents without an answer, by why they stopped ("low_confidence", "consensus", ...) */
    for (int i = 0; i < n; i++) {
        const char *why = agents[i].stop_reason ? agents[i].stop_reason : "stopped";
        int first = 0, same = 0;
        while (first < i && !stopped_for(&agents[first], why)) first++;
        if (answered(&agents[i]) || first < i) continue;  /* listed above, or with an earlier one */
        for (int j = i; j < n; j++) same += stopped_for(&agents[j], why);
        strbuf_printf(&b, "%d stopped without an answer (%s).\n", same, why);
    }
    if (v.winner >= 0) {
        strbuf_puts(&b, "Confidence-weighted vote: \"");
        put_capped(&b, agents[v.winner].normalized, answer);
        strbuf_printf(&b, "\" with %.0f%% of the weight (%d of %d reasoners).\n", v.share * 100.0f, v.supporters, n);
    }
    strbuf_puts(&b, "I will check the candidates, then write the final answer.\n");
    free(c);
    return strbuf_take(&b);
}
