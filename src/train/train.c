/*
 * train.c — ember_train: examples → token windows → AdamW steps on ember's qwen3 training
 * graph (qwen3_net.c) → a GGUF.
 *
 * Data flow: examples (generated arithmetic or a JSONL file) are rendered to segments
 * (examples.c), tokenized with the model's own vocabulary, and packed whole into windows of
 * `ctx` tokens; a window's label at position i is the token at i+1 when the assistant wrote
 * it, else -1 (no loss). `batch` windows make one optimizer step. Every `checkpoint_every`
 * steps the model and a state.json are checkpointed, so a killed run resumes after its last
 * checkpoint. The learning rate warms up linearly, then follows a cosine to lr_min.
 *
 * Owns: the vocabulary-only llama model it tokenizes with and the training net (both freed
 * before returning).
 */
#include "ember/train.h"

#include <errno.h>
#include <jansson.h>
#include <llama.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/error.h"
#include "train/examples.h"
#include "train/qwen3_net.h"

void ember_train_params_init(ember_train_params *p) {
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->examples = 40000;
    p->thinking_pct = 70;
    p->instant_pct = 20;
    p->tool_pct = 10;
    p->epochs = 1;
    p->ctx = 256;
    p->batch = 4;
    p->lr = 1e-3f;
    p->lr_min = 5e-5f;
    p->warmup_steps = 100;
    p->weight_decay = 0.01f;
    p->checkpoint_every = 500;
}

#define NO_TARGET (-1)

/* ---- windows ----------------------------------------------------------------------- */

typedef struct windows {
    int32_t *tokens;   /* n * ctx */
    int32_t *labels;   /* n * ctx: the target of each position, NO_TARGET = none */
    float *weights;    /* n * ctx: the loss weight of each target */
    int64_t n, cap;
    int ctx;
    int32_t pad;       /* the token that fills a window's unused tail */
    int64_t fill;      /* tokens used in the open window (the last one) */
    int64_t examples, skipped;
} windows;

static bool windows_open(windows *w) {
    if (w->n == w->cap) {
        const int64_t cap = w->cap ? w->cap * 2 : 256;
        int32_t *t = realloc(w->tokens, (size_t)(cap * w->ctx) * sizeof *t);
        if (!t) return false;
        w->tokens = t;
        int32_t *l = realloc(w->labels, (size_t)(cap * w->ctx) * sizeof *l);
        if (!l) return false;
        w->labels = l;
        float *wt = realloc(w->weights, (size_t)(cap * w->ctx) * sizeof *wt);
        if (!wt) return false;
        w->weights = wt;
        w->cap = cap;
    }
    for (int i = 0; i < w->ctx; i++) {
        w->tokens[w->n * w->ctx + i] = w->pad;
        w->labels[w->n * w->ctx + i] = NO_TARGET;
        w->weights[w->n * w->ctx + i] = 0.0f;
    }
    w->n++;
    w->fill = 0;
    return true;
}

/* Appends one tokenized example (tokens + per-token trained flags), opening a new window when
 * it does not fit the current one. Examples longer than a window are skipped (counted). */
static bool windows_add(windows *w, const int32_t *tok, const float *weight, int n) {
    if (n + 1 > w->ctx) {
        w->skipped++;
        return true;
    }
    if (w->n == 0 || w->fill + n > w->ctx) {
        if (!windows_open(w)) return false;
    }
    int32_t *t = w->tokens + (w->n - 1) * w->ctx + w->fill;
    int32_t *l = w->labels + (w->n - 1) * w->ctx + w->fill;
    float *lw = w->weights + (w->n - 1) * w->ctx + w->fill;
    for (int i = 0; i < n; i++) {
        t[i] = tok[i];
        /* position i predicts token i+1: trained when the assistant wrote token i+1 */
        const bool trained = i + 1 < n && weight[i + 1] > 0;
        l[i] = trained ? tok[i + 1] : NO_TARGET;
        lw[i] = trained ? weight[i + 1] : 0.0f;
    }
    w->fill += n;
    w->examples++;
    return true;
}

static void windows_free(windows *w) {
    free(w->tokens);
    free(w->labels);
    free(w->weights);
}

/* ---- tokenizing examples -------------------------------------------------------------- */

typedef struct tokenizer {
    const struct llama_vocab *vocab;
    int32_t *tok;
    float *weight;
    int cap;
} tokenizer;

/* Tokenizes segments [from, to) of an example into tz; returns the token count or -1. */
static int tokenize_segments(tokenizer *tz, const train_example *ex, int from, int to) {
    int n = 0;
    for (int s = from; s < to; s++) {
        const char *text = ex->seg[s].text;
        const int len = (int)strlen(text);
        for (;;) {
            const int got = llama_tokenize(tz->vocab, text, len, tz->tok + n, tz->cap - n, false, true);
            if (got >= 0) {
                for (int i = 0; i < got; i++) tz->weight[n + i] = ex->seg[s].weight;
                n += got;
                break;
            }
            const int cap = (n - got) * 2;
            int32_t *t = realloc(tz->tok, (size_t)cap * sizeof *t);
            if (!t) return -1;
            tz->tok = t;
            float *f = realloc(tz->weight, (size_t)cap * sizeof *f);
            if (!f) return -1;
            tz->weight = f;
            tz->cap = cap;
        }
    }
    return n;
}

/* Adds an example as one sequence, or two when it restarts part-way. */
static bool add_example(tokenizer *tz, windows *w, const train_example *ex) {
    const int cut = ex->restart > 0 ? ex->restart : ex->n;
    int n = tokenize_segments(tz, ex, 0, cut);
    if (n < 0 || !windows_add(w, tz->tok, tz->weight, n)) return false;
    if (cut == ex->n) return true;
    n = tokenize_segments(tz, ex, cut, ex->n);
    return n >= 0 && windows_add(w, tz->tok, tz->weight, n);
}

static train_style pick_style(const ember_train_params *p, uint64_t r) {
    const int total = p->thinking_pct + p->instant_pct + p->tool_pct + p->synthesis_pct;
    const int x = total > 0 ? (int)(r % (uint64_t)total) : 0;
    if (x < p->thinking_pct) return TRAIN_STYLE_THINKING;
    if (x < p->thinking_pct + p->instant_pct) return TRAIN_STYLE_INSTANT;
    if (x < p->thinking_pct + p->instant_pct + p->tool_pct) return TRAIN_STYLE_TOOL;
    return TRAIN_STYLE_SYNTHESIS;
}

static ember_status build_generated(const ember_train_params *p, tokenizer *tz, windows *w, ember_error *err) {
    train_kit kit;
    ember_status st = train_kit_init(&kit, err);
    kit.trace = p->trace;
    for (int64_t i = 0; st == EMBER_OK && i < p->examples; i++) {
        arith_problem prob;
        arith_problem_at(p->seed, (uint64_t)i, false, &prob);
        const uint64_t r = arith_mix(p->seed ^ arith_mix((uint64_t)i + 0x51ull));
        train_example ex;
        const train_style style = pick_style(p, r >> 8);
        st = style == TRAIN_STYLE_SYNTHESIS ? train_example_synthesis(&kit, &prob, r, &ex, err)
                                            : train_example_arith(&kit, &prob, r, style, &ex, err);
        if (st != EMBER_OK) break;
        const bool ok = add_example(tz, w, &ex);
        train_example_free(&ex);
        if (!ok) st = ember_fail(err, EMBER_ERR_NOMEM, "out of memory while tokenizing examples");
    }
    train_kit_free(&kit);
    return st;
}

static ember_status build_from_file(const char *path, tokenizer *tz, windows *w, ember_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return ember_fail(err, EMBER_ERR_NOT_FOUND, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ember_status st = EMBER_OK;
    for (long lineno = 1; st == EMBER_OK && getline(&line, &cap, f) >= 0; lineno++) {
        if (line[strspn(line, " \t\r\n")] == '\0') continue;
        json_error_t jerr;
        json_t *obj = json_loads(line, 0, &jerr);
        train_example ex;
        if (!json_is_object(obj)) {
            st = ember_fail(err, EMBER_ERR_FORMAT, "%s:%ld: not a JSON object (%s)", path, lineno, jerr.text);
        } else if ((st = train_example_json(obj, &ex, err)) != EMBER_OK) {
            ember_fail(err, st, "%s:%ld: %s", path, lineno, err ? err->message : "bad example");
        } else {
            const bool ok = add_example(tz, w, &ex);
            train_example_free(&ex);
            if (!ok) st = ember_fail(err, EMBER_ERR_NOMEM, "out of memory while tokenizing examples");
        }
        json_decref(obj);
    }
    free(line);
    fclose(f);
    if (st == EMBER_OK && w->n == 0) st = ember_fail(err, EMBER_ERR_INVALID, "%s holds no examples", path);
    return st;
}

/* ---- the optimizer loop --------------------------------------------------------------- */

typedef struct train_state {
    const ember_train_params *p;
    int64_t step;           /* optimizer steps taken (incl. those before a resume) */
    int64_t steps_total;
    int64_t tokens;
    double t0;
    double loss_sum;        /* over the current report interval */
    double acc_sum;
    int64_t interval_n;
    float lr;
    double first_loss;
    double last_loss;
    bool have_first;
} train_state;

static struct ggml_opt_optimizer_params lr_schedule(void *user) {
    train_state *s = user;
    struct ggml_opt_optimizer_params o = ggml_opt_get_default_optimizer_params(NULL);
    const ember_train_params *p = s->p;
    const double step = (double)s->step;
    double lr;
    if (step < p->warmup_steps) {
        lr = p->lr * (step + 1) / p->warmup_steps;
    } else {
        const double span = (double)(s->steps_total - p->warmup_steps);
        const double t = span > 0 ? fmin(1.0, (step - p->warmup_steps) / span) : 1.0;
        lr = p->lr_min + 0.5 * (p->lr - p->lr_min) * (1.0 + cos(M_PI * t));
    }
    s->lr = (float)lr;
    o.adamw.alpha = (float)lr;
    o.adamw.beta2 = 0.99f;
    o.adamw.wd = p->weight_decay;
    o.sgd.alpha = (float)lr;
    return o;
}

static void report(train_state *s, bool checkpoint) {
    if (!s->p->progress) return;
    const double elapsed = ember_now_s() - s->t0;
    ember_train_progress pr = {
        .step = s->step,
        .steps = s->steps_total,
        .tokens = s->tokens,
        .loss = s->interval_n ? s->loss_sum / (double)s->interval_n : s->last_loss,
        .accuracy = s->interval_n ? s->acc_sum / (double)s->interval_n : 0,
        .tokens_per_s = elapsed > 0 ? (double)s->tokens / elapsed : 0,
        .elapsed_s = elapsed,
        .lr = s->lr,
        .checkpoint = checkpoint,
    };
    s->p->progress(&pr, s->p->user);
}

static void account(train_state *s, double loss, double acc) {
    s->step++;
    s->tokens += (int64_t)s->p->ctx * s->p->batch;
    s->loss_sum += loss;
    s->acc_sum += acc;
    s->interval_n++;
    if (s->interval_n >= 10) {
        s->last_loss = s->loss_sum / (double)s->interval_n;
        if (!s->have_first) {
            s->first_loss = s->last_loss;
            s->have_first = true;
        }
        report(s, false);
        s->loss_sum = s->acc_sum = 0;
        s->interval_n = 0;
    }
}

static ember_status write_state(const char *dir, const ember_train_params *p, int64_t step, ember_error *err) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/state.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *o = json_pack("{s:I,s:I,s:I,s:s?,s:i,s:i,s:i}", "step", (json_int_t)step, "seed", (json_int_t)p->seed,
                          "examples", (json_int_t)p->examples, "data", p->data, "ctx", p->ctx, "batch", p->batch,
                          "epochs", p->epochs);
    const int rc = o ? json_dump_file(o, tmp, JSON_INDENT(2)) : -1;
    json_decref(o);
    if (rc != 0 || rename(tmp, path) != 0)
        return ember_fail(err, EMBER_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return EMBER_OK;
}

/* The step a checkpoint_dir's state.json says was reached, when it describes this run; else 0. */
static int64_t read_state(const char *dir, const ember_train_params *p) {
    char path[4096];
    snprintf(path, sizeof path, "%s/state.json", dir);
    json_t *o = json_load_file(path, 0, NULL);
    if (!o) return 0;
    const char *data = json_string_value(json_object_get(o, "data"));
    const bool same = json_integer_value(json_object_get(o, "seed")) == (json_int_t)p->seed &&
                      json_integer_value(json_object_get(o, "examples")) == (json_int_t)p->examples &&
                      json_integer_value(json_object_get(o, "ctx")) == p->ctx &&
                      json_integer_value(json_object_get(o, "batch")) == p->batch &&
                      json_integer_value(json_object_get(o, "epochs")) == p->epochs &&
                      ((!data && !p->data) || (data && p->data && strcmp(data, p->data) == 0));
    const int64_t step = same ? (int64_t)json_integer_value(json_object_get(o, "step")) : 0;
    json_decref(o);
    return step;
}

static ember_status checkpoint(const qwen3_net *net, const ember_train_params *p, int64_t step, ember_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.gguf", p->checkpoint_dir);
    ember_status st = qwen3_net_save(net, path, 0, err);
    return st == EMBER_OK ? write_state(p->checkpoint_dir, p, step, err) : st;
}

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static ember_status check_params(const ember_train_params *p, ember_error *err) {
    if (!p || !p->model || !p->out) return ember_fail(err, EMBER_ERR_INVALID, "training needs a model and an output path");
    if (p->ctx < 16 || p->ctx > 1 << 14) return ember_fail(err, EMBER_ERR_INVALID, "ctx must be 16..16384");
    if (p->batch < 1 || p->batch > 256) return ember_fail(err, EMBER_ERR_INVALID, "batch must be 1..256");
    if (p->epochs < 1) return ember_fail(err, EMBER_ERR_INVALID, "epochs must be at least 1");
    if (!p->data && p->examples < 1) return ember_fail(err, EMBER_ERR_INVALID, "examples must be at least 1");
    if (!(p->lr > 0) || p->lr_min < 0 || p->lr_min > p->lr)
        return ember_fail(err, EMBER_ERR_INVALID, "need 0 <= lr_min <= lr and lr > 0");
    if (p->thinking_pct < 0 || p->instant_pct < 0 || p->tool_pct < 0 || p->synthesis_pct < 0 ||
        p->thinking_pct + p->instant_pct + p->tool_pct + p->synthesis_pct <= 0)
        return ember_fail(err, EMBER_ERR_INVALID, "the example mix needs non-negative shares that add up to more than 0");
    if (p->checkpoint_dir && mkdir(p->checkpoint_dir, 0755) != 0 && errno != EEXIST)
        return ember_fail(err, EMBER_ERR_IO, "%s: %s", p->checkpoint_dir, strerror(errno));
    return EMBER_OK;
}

ember_status ember_train(const ember_train_params *p, ember_train_report *rep, ember_error *err) {
    ember_status st = check_params(p, err);
    if (st != EMBER_OK) return st;
    if (rep) memset(rep, 0, sizeof *rep);
    llama_backend_init();
    llama_log_set(quiet_log, NULL);

    const int64_t resume = p->checkpoint_dir ? read_state(p->checkpoint_dir, p) : 0;
    char start[4096];
    if (resume > 0) snprintf(start, sizeof start, "%s/model.gguf", p->checkpoint_dir);
    else snprintf(start, sizeof start, "%s", p->model);

    /* the vocabulary alone, to tokenize exactly as inference will */
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model *vocab_model = llama_model_load_from_file(p->model, mp);
    if (!vocab_model) return ember_fail(err, EMBER_ERR_FORMAT, "cannot read the vocabulary of %s", p->model);
    const struct llama_vocab *vocab = llama_model_get_vocab(vocab_model);
    windows w = {.ctx = p->ctx, .pad = llama_vocab_eos(vocab)};
    tokenizer tz = {.vocab = vocab};
    st = p->data ? build_from_file(p->data, &tz, &w, err) : build_generated(p, &tz, &w, err);
    free(tz.tok);
    free(tz.weight);
    llama_model_free(vocab_model);

    train_state s = {.p = p, .step = resume, .steps_total = (w.n * p->epochs + p->batch - 1) / p->batch, .t0 = ember_now_s()};
    if (st == EMBER_OK && w.n == 0)
        st = ember_fail(err, EMBER_ERR_INVALID,
                        "no example fits a %d-token window (%lld of %lld too long); raise --ctx",
                        p->ctx, (long long)w.skipped, (long long)(w.examples + w.skipped));
    if (st == EMBER_OK && resume >= s.steps_total)
        st = ember_fail(err, EMBER_ERR_INVALID, "%s already holds a finished run (%lld steps); remove it to start again",
                        p->checkpoint_dir, (long long)resume);
    qwen3_net *net = NULL;
    if (st == EMBER_OK) {
        qwen3_net_params np = {.path = start, .ctx = p->ctx, .batch = p->batch, .threads = p->threads,
                               .get_opt_pars = lr_schedule, .get_opt_pars_ud = &s};
        st = qwen3_net_create(&np, &net, err);
    }
    const size_t n_step_tokens = (size_t)p->ctx * (size_t)p->batch;
    int32_t *tok = st == EMBER_OK ? malloc(n_step_tokens * sizeof *tok) : NULL;
    int32_t *lab = st == EMBER_OK ? malloc(n_step_tokens * sizeof *lab) : NULL;
    float *wts = st == EMBER_OK ? malloc(n_step_tokens * sizeof *wts) : NULL;
    if (st == EMBER_OK && (!tok || !lab || !wts)) st = ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    const int64_t last_step = p->max_steps > 0 && p->max_steps < s.steps_total ? p->max_steps : s.steps_total;
    while (st == EMBER_OK && s.step < last_step) {
        if (p->cancel && *p->cancel) {
            st = EMBER_ERR_CANCELLED;
            break;
        }
        for (int b = 0; b < p->batch; b++) {
            const int64_t win = (s.step * p->batch + b) % w.n;
            memcpy(tok + (size_t)b * p->ctx, w.tokens + win * p->ctx, (size_t)p->ctx * sizeof *tok);
            memcpy(lab + (size_t)b * p->ctx, w.labels + win * p->ctx, (size_t)p->ctx * sizeof *lab);
            memcpy(wts + (size_t)b * p->ctx, w.weights + win * p->ctx, (size_t)p->ctx * sizeof *wts);
        }
        double loss = 0, acc = 0;
        st = qwen3_net_step(net, tok, lab, wts, &loss, &acc, err);
        if (st != EMBER_OK) break;
        if (!isfinite(loss)) {
            st = ember_fail(err, EMBER_ERR_ENGINE, "the loss diverged at step %lld (lower --lr)", (long long)s.step);
            break;
        }
        account(&s, loss, acc);
        if (p->checkpoint_dir && p->checkpoint_every > 0 && s.step % p->checkpoint_every == 0) {
            st = checkpoint(net, p, s.step, err);
            report(&s, true);
        }
    }
    if (net && (st == EMBER_OK || st == EMBER_ERR_CANCELLED)) {
        /* the last checkpoint marks how far this run got (all the way: a rerun is refused) */
        if (p->checkpoint_dir && (p->checkpoint_every <= 0 || s.step % p->checkpoint_every != 0))
            checkpoint(net, p, s.step, NULL);
        const ember_status saved = qwen3_net_save(net, p->out, p->context_length, err);
        if (st == EMBER_ERR_CANCELLED) ember_fail(err, st, "training stopped at step %lld; %s holds the model so far",
                                                  (long long)s.step, p->out);
        if (saved != EMBER_OK) st = saved;
    }
    if (rep) {
        rep->steps = s.step - resume;
        rep->resumed_at = resume;
        rep->tokens = s.tokens;
        rep->examples = w.examples;
        rep->skipped = w.skipped;
        rep->first_loss = s.first_loss;
        rep->last_loss = s.last_loss;
        rep->seconds = ember_now_s() - s.t0;
    }
    free(tok);
    free(lab);
    free(wts);
    qwen3_net_destroy(net);
    windows_free(&w);
    return st;
}
