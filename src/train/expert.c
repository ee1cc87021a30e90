/*
 * expert.c — thought compression by expert iteration (see ember/train.h).
 *
 * Each round loads the current model in an engine, samples traces with Contemplating (every
 * agent is one sample; early stop off, so each finishes; the agents of several problems batch
 * together), reads each agent's reasoning and answer from the run's events, keeps the best
 * correct trace per problem, trains on the kept traces with ember_train (each example carries
 * the agent's approach line, as Contemplating shows it, and a copy without it, as Thinking
 * shows it) and measures the result on the held-out set with ember_eval_run.
 */
#include "ember.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/strbuf.h"
#include "train/arith.h"

#define MAX_SAMPLES 32

void ember_expert_params_init(ember_expert_params *p) {
    memset(p, 0, sizeof *p);
    p->rounds = 3;
    p->problems = 300;
    p->samples = 4;
    p->temperature = 0.8f;
    p->length_penalty = 0.5f;
    p->parallel = 4;
    p->seed = 7;
    ember_train_params_init(&p->train);
    p->train.lr = 3e-4f;
    p->train.lr_min = 3e-5f;
    p->train.warmup_steps = 10;
    p->train.epochs = 2;
    p->train.ctx = 512;
}

static void say(const ember_expert_params *p, const char *fmt, ...) {
    if (!p->progress) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->progress(line, p->user);
}

/* What one run's events say about its agents. Events of one run never overlap. */
typedef struct sample_set {
    strbuf reasoning[MAX_SAMPLES];
    strbuf answer[MAX_SAMPLES];
    char *approach[MAX_SAMPLES];
    int tokens[MAX_SAMPLES];
    bool finished[MAX_SAMPLES];
} sample_set;

static void on_event(const ember_event *ev, void *user) {
    sample_set *s = user;
    if (ev->agent < 0 || ev->agent >= MAX_SAMPLES) return;
    switch (ev->type) {
    case EMBER_EVENT_AGENT_STARTED:
        free(s->approach[ev->agent]);
        s->approach[ev->agent] = ev->text ? strdup(ev->text) : NULL;
        break;
    case EMBER_EVENT_AGENT_DELTA:
        strbuf_puts(ev->channel == EMBER_CHANNEL_REASONING ? &s->reasoning[ev->agent] : &s->answer[ev->agent],
                    ev->text ? ev->text : "");
        break;
    case EMBER_EVENT_AGENT_FINISHED:
        s->tokens[ev->agent] = ev->tokens;
        s->finished[ev->agent] = ev->stop_reason && strcmp(ev->stop_reason, "finished") == 0;
        break;
    default:
        break;
    }
}

static void sample_set_free(sample_set *s) {
    for (int i = 0; i < MAX_SAMPLES; i++) {
        strbuf_free(&s->reasoning[i]);
        strbuf_free(&s->answer[i]);
        free(s->approach[i]);
    }
    memset(s, 0, sizeof *s);
}

typedef struct pending {
    ember_run *run;
    ember_chat *chat;
    sample_set set;
    arith_problem problem;
    char question[512];
} pending;

static void write_example(FILE *f, const char *question, const char *approach, const char *reasoning,
                          const char *answer) {
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "question", question, "reasoning", reasoning, "answer", answer,
                          "mode", "thinking");
    if (approach) json_object_set_new(o, "approach", json_string(approach));
    char *line = json_dumps(o, JSON_COMPACT);
    if (line) fprintf(f, "%s\n", line);
    free(line);
    json_decref(o);
}

/* Scores a finished run's samples, writes the kept trace (with and without its approach). */
static void harvest(const ember_expert_params *p, pending *q, FILE *out, ember_expert_round *r, double *tok_sum,
                    double *kept_sum) {
    char gold[32];
    snprintf(gold, sizeof gold, "%ld", arith_answer(&q->problem));
    double mean_correct = 0;
    int n_correct = 0;
    bool ok[MAX_SAMPLES] = {false};
    for (int i = 0; i < p->samples; i++) {
        r->sampled++;
        *tok_sum += q->set.tokens[i];
        ok[i] = q->set.finished[i] && ember_eval_answer_matches(gold, strbuf_str(&q->set.answer[i]));
        if (ok[i] && !p->outcome_only && !arith_trace_is_true(strbuf_str(&q->set.reasoning[i]))) {
            ok[i] = false; /* the right answer over a false step */
            r->correct++, r->false_steps++;
        }
        if (ok[i]) {
            n_correct++;
            mean_correct += q->set.tokens[i];
        }
    }
    r->correct += n_correct;
    if (!n_correct) return;
    mean_correct /= n_correct;
    int best = -1;
    double best_score = -INFINITY;
    for (int i = 0; i < p->samples; i++) {
        if (!ok[i]) continue;
        const double score = 1.0 - p->length_penalty * q->set.tokens[i] / (mean_correct > 0 ? mean_correct : 1);
        if (score > best_score) best_score = score, best = i;
    }
    const char *reasoning = strbuf_str(&q->set.reasoning[best]);
    const char *answer = strbuf_str(&q->set.answer[best]);
    write_example(out, q->question, q->set.approach[best], reasoning, answer);
    write_example(out, q->question, NULL, reasoning, answer);
    r->kept++;
    *kept_sum += q->set.tokens[best];
}

static ember_status sample_round(const ember_expert_params *p, const char *model, int round, const char *data_path,
                                 ember_expert_round *r, ember_error *err) {
    ember_engine_params ep = {.model_path = model, .n_ctx = 1024 * p->parallel * (p->samples + 1),
                              .n_threads = p->threads, .n_seq_max = p->parallel * (p->samples + 2)};
    ember_engine *engine = NULL;
    ember_status st = ember_engine_create(&ep, &engine, err);
    if (st != EMBER_OK) return st;
    FILE *out = fopen(data_path, "w");
    if (!out) {
        ember_engine_destroy(engine);
        return ember_fail(err, EMBER_ERR_IO, "%s: %s", data_path, strerror(errno));
    }
    ember_run_params rp;
    ember_run_params_init(&rp);
    rp.mode = EMBER_MODE_CONTEMPLATING;
    rp.agents = p->samples;
    rp.early_stop = false;
    rp.synthesis = EMBER_SYNTHESIS_NEVER;  /* the traces are what counts */
    rp.max_tokens = 640; /* room for traces with every block checked */
    rp.sampling.temperature = p->temperature;
    pending *q = calloc((size_t)p->parallel, sizeof *q);
    double tok_sum = 0, kept_sum = 0;
    int next = 0, done = 0;
    const uint64_t base = (uint64_t)round * 1000003u + 17;
    while (st == EMBER_OK && done < p->problems) {
        /* start up to `parallel` runs, then reap them in order */
        int started = 0;
        for (int k = 0; k < p->parallel && next < p->problems; k++, next++, started++) {
            pending *x = &q[k];
            memset(x, 0, sizeof *x);
            arith_problem_at(p->seed + base, (uint64_t)next, false, &x->problem);
            strbuf qs = {0};
            arith_question(&x->problem, arith_mix(base + (uint64_t)next), &qs);
            snprintf(x->question, sizeof x->question, "%s", strbuf_str(&qs));
            strbuf_free(&qs);
            rp.sampling.seed = (uint32_t)arith_mix(base ^ (uint64_t)next);
            x->chat = ember_chat_create();
            if (!x->chat || ember_chat_add(x->chat, EMBER_ROLE_USER, x->question, err) != EMBER_OK ||
                ember_run_start(engine, x->chat, &rp, on_event, &x->set, &x->run, err) != EMBER_OK) {
                st = err ? err->status : EMBER_ERR_ENGINE;
                if (st == EMBER_OK) st = EMBER_ERR_ENGINE;
                ember_chat_destroy(x->chat);
                x->chat = NULL;
                break;
            }
        }
        for (int k = 0; k < started; k++) {
            pending *x = &q[k];
            if (!x->run) continue;
            ember_result *res = NULL;
            ember_run_wait(x->run, &res, NULL);
            harvest(p, x, out, r, &tok_sum, &kept_sum);
            ember_result_destroy(res);
            ember_run_destroy(x->run);
            ember_chat_destroy(x->chat);
            sample_set_free(&x->set);
            done++;
        }
        if (started == 0) break;
        if (done % 50 < p->parallel) say(p, "round %d: sampled %d/%d problems, %d of %d traces correct", round, done,
                                         p->problems, r->correct, r->sampled);
    }
    free(q);
    fclose(out);
    ember_engine_destroy(engine);
    r->sampled_tokens = r->sampled ? tok_sum / r->sampled : 0;
    r->kept_tokens = r->kept ? kept_sum / r->kept : 0;
    return st;
}

static ember_status measure(const ember_expert_params *p, const char *model, ember_expert_round *r, ember_error *err) {
    ember_engine_params ep = {.model_path = model, .n_ctx = 8192, .n_threads = p->threads, .n_seq_max = 16};
    ember_engine *engine = NULL;
    ember_status st = ember_engine_create(&ep, &engine, err);
    if (st != EMBER_OK) return st;
    ember_run_params rp;
    ember_run_params_init(&rp);
    rp.mode = EMBER_MODE_THINKING;
    rp.max_tokens = 640; /* room for traces with every block checked */
    ember_eval_params evp = {.dataset = p->held_out, .limit = p->held_out_limit, .run = &rp, .parallel = 8};
    ember_eval_summary s;
    st = ember_eval_run(engine, &evp, &s, err);
    ember_engine_destroy(engine);
    if (st == EMBER_OK) {
        r->accuracy = s.accuracy;
        r->ci_low = s.ci_low;
        r->ci_high = s.ci_high;
        r->reasoning_tokens = s.reasoning_tokens;
    }
    return st;
}

/* rounds.json's fields: one list, written and read alike. */
typedef struct round_field {
    const char *name;
    size_t offset;
    bool integer;                /* int, else double */
} round_field;

#define ROUND_INT(f) {#f, offsetof(ember_expert_round, f), true}
#define ROUND_REAL(f) {#f, offsetof(ember_expert_round, f), false}
static const round_field round_fields[] = {
    ROUND_INT(round),       ROUND_REAL(accuracy),     ROUND_REAL(ci_low),      ROUND_REAL(ci_high),
    ROUND_REAL(reasoning_tokens),                     ROUND_INT(sampled),      ROUND_INT(correct),
    ROUND_INT(false_steps), ROUND_INT(kept),          ROUND_REAL(kept_tokens), ROUND_REAL(sampled_tokens),
    ROUND_REAL(seconds),
};
#define N_ROUND_FIELDS (sizeof round_fields / sizeof round_fields[0])

/* rounds.json: one object per finished round; round 0's "model" is the starting model, which
 * a rerun must share to resume. */
static void write_rounds(const ember_expert_params *p, const ember_expert_round *rounds, int n) {
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        for (size_t f = 0; f < N_ROUND_FIELDS; f++) {
            const char *at = (const char *)&rounds[i] + round_fields[f].offset;
            json_object_set_new(o, round_fields[f].name, round_fields[f].integer ? json_integer(*(const int *)at)
                                                                                 : json_real(*(const double *)at));
        }
        if (i == 0) json_object_set_new(o, "model", json_string(p->model));
        json_array_append_new(arr, o);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/rounds.json", p->dir);
    json_dump_file(arr, path, JSON_INDENT(2));
    json_decref(arr);
}

/* The rounds an earlier run of the same starting model finished in p->dir, when its last
 * round's model is there to go on from: a rerun (more rounds, or after a stop) resumes instead
 * of measuring and sampling again. Returns how many rounds were read (0: start afresh). */
static int read_rounds(const ember_expert_params *p, ember_expert_round *rounds, int max) {
    char path[4096];
    snprintf(path, sizeof path, "%s/rounds.json", p->dir);
    json_t *arr = json_load_file(path, 0, NULL);
    const char *start = json_string_value(json_object_get(json_array_get(arr, 0), "model"));
    int n = 0;
    if (json_is_array(arr) && start && strcmp(start, p->model) == 0) {
        for (; n < (int)json_array_size(arr) && n < max; n++) {
            json_t *o = json_array_get(arr, (size_t)n);
            ember_expert_round *r = &rounds[n];
            memset(r, 0, sizeof *r);
            for (size_t f = 0; f < N_ROUND_FIELDS; f++) {
                char *at = (char *)r + round_fields[f].offset;
                json_t *v = json_object_get(o, round_fields[f].name);
                if (round_fields[f].integer) *(int *)at = (int)json_integer_value(v);
                else *(double *)at = json_number_value(v);
            }
            if (r->round != n) break;
        }
    }
    json_decref(arr);
    if (n > 1) { /* the last round's model must be there */
        snprintf(path, sizeof path, "%s/round-%d.gguf", p->dir, n - 1);
        if (access(path, R_OK) != 0) n = 0;
    }
    return n;
}

ember_status ember_expert_iteration(const ember_expert_params *p, ember_expert_round *rounds, int *n_rounds,
                                    ember_error *err) {
    *n_rounds = 0;
    if (!p || !p->model || !p->dir || !p->held_out || p->rounds < 1 || p->problems < 1 || p->samples < 2 ||
        p->samples > MAX_SAMPLES || p->parallel < 1)
        return ember_fail(err, EMBER_ERR_INVALID, "expert iteration needs a model, a directory, a held-out set, "
                                                  "rounds >= 1, problems >= 1 and 2..%d samples", MAX_SAMPLES);
    if (mkdir(p->dir, 0755) != 0 && errno != EEXIST) return ember_fail(err, EMBER_ERR_IO, "%s: %s", p->dir, strerror(errno));
    char model[4096];
    snprintf(model, sizeof model, "%s", p->model);
    ember_status st = EMBER_OK;
    const int done = read_rounds(p, rounds, p->rounds + 1);
    if (done > 0) {
        *n_rounds = done;
        if (done > 1) snprintf(model, sizeof model, "%s/round-%d.gguf", p->dir, done - 1);
        say(p, "resuming after round %d of %s/rounds.json (%s)", done - 1, p->dir, model);
    } else {
        const double t0 = ember_now_s();
        memset(&rounds[0], 0, sizeof rounds[0]);
        say(p, "round 0: measuring %s", model);
        st = measure(p, model, &rounds[0], err);
        rounds[0].seconds = ember_now_s() - t0;
        if (st != EMBER_OK) return st;
        *n_rounds = 1;
        say(p, "round 0: accuracy %.1f%%, %.1f reasoning tokens", 100 * rounds[0].accuracy, rounds[0].reasoning_tokens);
        write_rounds(p, rounds, 1);
    }
    for (int round = *n_rounds; round <= p->rounds && st == EMBER_OK; round++) {
        ember_expert_round *r = &rounds[round];
        memset(r, 0, sizeof *r);
        r->round = round;
        const double t0 = ember_now_s();
        char data[4096], out[4096];
        snprintf(data, sizeof data, "%s/round-%d.jsonl", p->dir, round);
        snprintf(out, sizeof out, "%s/round-%d.gguf", p->dir, round);
        st = sample_round(p, model, round, data, r, err);
        if (st == EMBER_OK && r->kept == 0)
            st = ember_fail(err, EMBER_ERR_INVALID, "round %d: no sampled trace was correct; nothing to train on", round);
        if (st != EMBER_OK) break;
        say(p, "round %d: kept %d traces (mean %.1f tokens; all samples %.1f; %d right answers over a false step "
               "left out), training", round, r->kept, r->kept_tokens, r->sampled_tokens, r->false_steps);
        ember_train_params tp = p->train;
        tp.model = model;
        tp.out = out;
        tp.data = data;
        tp.checkpoint_dir = NULL;
        tp.threads = p->threads;
        ember_train_report rep;
        st = ember_train(&tp, &rep, err);
        if (st != EMBER_OK) break;
        st = measure(p, out, r, err);
        if (st != EMBER_OK) break;
        r->seconds = ember_now_s() - t0;
        snprintf(model, sizeof model, "%s", out);
        *n_rounds = round + 1;
        say(p, "round %d: accuracy %.1f%%, %.1f reasoning tokens (%.0f s)", round, 100 * r->accuracy,
            r->reasoning_tokens, r->seconds);
        write_rounds(p, rounds, *n_rounds);
    }
    return st;
}
