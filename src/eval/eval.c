/*
 * eval.c — ember_eval_run: a dataset through one run configuration.
 *
 * Up to `parallel` questions run at once (ember_run_start), so their sequences share the
 * engine's batches; the calling thread starts runs, waits for the oldest, scores it and
 * records it. Latency is each run's own wall time. Contemplating is scored twice: the final
 * (synthesized) answer the user sees, and the confidence-weighted vote's winner, read from
 * the result's JSON.
 */
#include "eval/eval_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"

typedef struct slot {
    ember_run *run;
    ember_chat *chat;
    ember_image *image;
    int item;
    double started;
} slot;

static void wilson(int k, int n, double *lo, double *hi) {
    if (n == 0) {
        *lo = *hi = 0;
        return;
    }
    const double z = 1.959964, p = (double)k / n, z2 = z * z;
    const double centre = (p + z2 / (2.0 * n)) / (1 + z2 / n);
    const double half = z * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / (1 + z2 / n);
    *lo = fmax(0, centre - half);
    *hi = fmin(1, centre + half);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static ember_status start_one(ember_engine *engine, const ember_eval_params *p, const eval_item *it, int index,
                              slot *s, ember_error *err) {
    memset(s, 0, sizeof *s);
    s->item = index;
    s->chat = ember_chat_create();
    if (!s->chat) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    ember_status st = ember_chat_add(s->chat, EMBER_ROLE_USER, it->question, err);
    if (st == EMBER_OK && it->image) {
        st = ember_image_load_file(it->image, 0, &s->image, err);
        if (st == EMBER_OK) st = ember_chat_add_image(s->chat, s->image, err);
    }
    s->started = ember_now_s();
    if (st == EMBER_OK) st = ember_run_start(engine, s->chat, p->run, NULL, NULL, &s->run, err);
    return st;
}

static void slot_free(slot *s) {
    ember_run_destroy(s->run);
    ember_chat_destroy(s->chat);
    ember_image_destroy(s->image);
    memset(s, 0, sizeof *s);
}

/* The vote winner's text in a Contemplating result's JSON, or NULL. */
static char *vote_winner(const ember_result *r) {
    char *text = ember_result_json(r);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    const json_t *vote = json_object_get(o, "vote");
    const char *w = json_string_value(json_object_get(vote, "answer"));
    char *out = w ? strdup(w) : NULL;
    json_decref(o);
    return out;
}

static void record(FILE *f, const ember_eval_params *p, const eval_item *it, const ember_result *r,
                   ember_status st, const char *error, bool correct, int vote_ok, double ms) {
    if (!f) return;
    const ember_usage *u = r ? ember_result_usage(r) : NULL;
    json_t *o = json_pack("{s:s?,s:s,s:s,s:s,s:b,s:i,s:i,s:f}", "label", p->label, "question", it->question,
                          "gold", it->gold, "answer", r ? ember_result_answer(r) : "", "correct", correct,
                          "reasoning_tokens", u ? u->reasoning_tokens : 0, "answer_tokens", u ? u->answer_tokens : 0,
                          "latency_ms", ms);
    if (vote_ok >= 0) json_object_set_new(o, "vote_correct", json_boolean(vote_ok));
    if (st != EMBER_OK) json_object_set_new(o, "error", json_string(error ? error : "failed"));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line) fprintf(f, "%s\n", line);
    fflush(f); /* a run stopped by a signal the CLI cannot catch keeps every finished question */
    free(line);
    json_decref(o);
}

ember_status ember_eval_run(ember_engine *engine, const ember_eval_params *p, ember_eval_summary *sum,
                            ember_error *err) {
    if (!engine || !p || !p->dataset || !p->run || !sum)
        return ember_fail(err, EMBER_ERR_INVALID, "evaluation needs an engine, a dataset and run parameters");
    memset(sum, 0, sizeof *sum);
    eval_item *items = NULL;
    int n = 0;
    ember_status st = eval_items_load(p->dataset, p->limit, &items, &n, err);
    if (st != EMBER_OK) return st;
    FILE *rec = NULL;
    if (p->records && !(rec = fopen(p->records, "a"))) {
        eval_items_free(items, n);
        return ember_fail(err, EMBER_ERR_IO, "cannot append to %s", p->records);
    }
    const int width = p->parallel > 0 ? p->parallel : 1;
    slot *slots = calloc((size_t)width, sizeof *slots);
    double *lat = calloc((size_t)n, sizeof *lat);
    if (!slots || !lat) {
        free(slots), free(lat), eval_items_free(items, n);
        if (rec) fclose(rec);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    const bool contemplating = p->run->mode == EMBER_MODE_CONTEMPLATING;
    const double t0 = ember_now_s();
    double reasoning = 0, answer = 0, saved = 0;
    int next = 0, done = 0, head = 0, in_flight = 0;
    /* slots form a ring: runs start at (head + in_flight) and finish from head, in order */
    while (done < n && st == EMBER_OK) {
        while (in_flight < width && next < n && !(p->cancel && *p->cancel)) {
            slot *s = &slots[(head + in_flight) % width];
            ember_error e = {0};
            if (start_one(engine, p, &items[next], next, s, &e) != EMBER_OK) {
                record(rec, p, &items[next], NULL, e.status, e.message, false, -1, 0);
                sum->errors++;
                slot_free(s);
                done++;
                next++;
                continue;
            }
            next++;
            in_flight++;
        }
        if (in_flight == 0) break; /* cancelled */
        slot *s = &slots[head];
        ember_result *r = NULL;
        ember_error e = {0};
        const ember_status rs = ember_run_wait(s->run, &r, &e);
        const double ms = (ember_now_s() - s->started) * 1000.0;
        const eval_item *it = &items[s->item];
        const bool ok = rs == EMBER_OK && r && ember_eval_answer_matches(it->gold, ember_result_answer(r));
        int vote_ok = -1;
        if (contemplating && r) {
            char *w = vote_winner(r);
            vote_ok = w && ember_eval_answer_matches(it->gold, w);
            free(w);
            sum->vote_correct += vote_ok;
        }
        if (rs != EMBER_OK) sum->errors++;
        sum->correct += ok;
        if (r) {
            const ember_usage *u = ember_result_usage(r);
            reasoning += u->reasoning_tokens;
            answer += u->answer_tokens;
            saved += u->tokens_saved;
        }
        lat[done] = ms;
        record(rec, p, it, r, rs, e.message, ok, vote_ok, ms);
        ember_result_destroy(r);
        slot_free(s);
        head = (head + 1) % width;
        in_flight--;
        done++;
        if (p->progress) {
            ember_eval_progress pr = {.done = done, .total = n, .correct = sum->correct, .elapsed_s = ember_now_s() - t0};
            p->progress(&pr, p->user);
        }
    }
    sum->n = done;
    if (done > 0) {
        sum->accuracy = (double)sum->correct / done;
        wilson(sum->correct, done, &sum->ci_low, &sum->ci_high);
        sum->vote_accuracy = contemplating ? (double)sum->vote_correct / done : sum->accuracy;
        sum->reasoning_tokens = reasoning / done;
        sum->answer_tokens = answer / done;
        sum->tokens_saved = saved / done;
        double total = 0;
        for (int i = 0; i < done; i++) total += lat[i];
        sum->latency_ms = total / done;
        qsort(lat, (size_t)done, sizeof *lat, cmp_double);
        sum->latency_p50_ms = lat[done / 2];
    }
    sum->seconds = ember_now_s() - t0;
    free(slots);
    free(lat);
    eval_items_free(items, n);
    if (rec) fclose(rec);
    return st;
}
