/* brief.c — the synthesizer's brief (see brief.h). */
#include "agent/brief.h"
#include "core/utf8.h"

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

char *brief_write(const result_agent *agents, int n, vote_outcome v, int size) {
    const int excerpt = SIZES[size].excerpt, answer = SIZES[size].answer;
    strbuf b = {0};
    strbuf_printf(&b, "I asked %d independent reasoners this question. Their answers:\n", n);
    for (int i = 0; i < n; i++) {
        const result_agent *o = &agents[i];
        strbuf_printf(&b, "%d. answer: ", i + 1);
        put_capped(&b, o->normalized && o->normalized[0] ? o->normalized : "(none)", answer);
        strbuf_printf(&b, " (confidence %.2f, %s)\n", o->confidence, o->stop_reason);
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
    if (v.winner >= 0) {
        strbuf_puts(&b, "Confidence-weighted vote: \"");
        put_capped(&b, agents[v.winner].normalized, answer);
        strbuf_printf(&b, "\" with %.0f%% of the weight (%d of %d reasoners).\n", v.share * 100.0f, v.supporters, n);
    }
    strbuf_puts(&b, "I will now write the final answer from the best-supported candidate and the strongest reasoning.");
    return strbuf_take(&b);
}
