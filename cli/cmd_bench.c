/*
 * cmd_bench.c — `ember bench`: the engine's own throughput, measured the way llama.cpp's
 * tools measure theirs so that bench/ scripts can print ratios.
 *
 *   pp  prefill of P random tokens in one sequence (llama-bench's pp test)
 *   tg  T generated tokens, sampled one by one through the scheduler (llama-bench's tg test,
 *       plus ember's real sampling and callbacks)
 *   --agents N: the Contemplating shape — P prompt tokens decoded once, N forks, T tokens
 *       each, all stepped together; reported with the same workload for one sequence, so the
 *       N/1 wall-time ratio compares with llama-batched-bench -pps.
 * Generation samples with the common sampling flags (--temp, --top-k, --top-p, --min-p,
 * --grammar …; forks also compute Contemplating's confidence) and ignores end-of-generation
 * tokens, and the report gives the scheduler thread's time per generated token outside
 * llama_decode — sampling and token callbacks — from the engine's statistics, the best
 * repetition's.
 *
 * With --engine URL the same shapes run through ember's remote path (the engine's HTTP API,
 * streamed): remote engines take text, so the prompt is ordinary words counted with the
 * engine's tokenizer (its first word differs per repetition, so that no prefix cache serves
 * one from another), and pp is the time to the first generated token, as a client sees it.
 */
#include "commands.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gen_count {
    int left;
} gen_count;

/* Generates a fixed count whatever the model says, as llama-bench does. */
static ember_seq_action count_down(ember_seq *seq, const ember_token_info *tok, void *user) {
    (void)seq;
    (void)tok;
    gen_count *g = user;
    return --g->left > 0 ? EMBER_SEQ_CONTINUE : EMBER_SEQ_PAUSE;
}

/* Appends `n` words drawn from rand() to a growing text; false when out of memory. */
static bool append_words(char **text, size_t *len, size_t *cap, int n) {
    static const char *const WORDS[] = {"river", "stone", "light", "paper", "window", "garden", "number",
                                        "morning", "silver", "answer", "forest", "engine", "little", "market",
                                        "winter", "harbor"};
    for (int i = 0; i < n; i++) {
        const char *w = WORDS[rand() % (int)(sizeof WORDS / sizeof WORDS[0])];
        size_t need = *len + strlen(w) + 2;
        if (need > *cap) {
            size_t cap2 = need * 2;
            char *grown = realloc(*text, cap2);
            if (!grown) return false;
            *text = grown;
            *cap = cap2;
        }
        *len += (size_t)sprintf(*text + *len, " %s", w);
    }
    return true;
}

/* Text of at least n_prompt tokens (the engine's count in *n_tokens, at most a few over),
 * starting with the seed so that repetitions share no prefix; NULL on failure. */
static char *prompt_text(ember_engine *e, int n_prompt, unsigned seed, int *n_tokens) {
    size_t cap = 64, len = 0;
    char *text = malloc(cap);
    if (!text) return NULL;
    len = (size_t)snprintf(text, cap, "%u.", seed);
    srand(seed);
    int count = ember_engine_count_tokens(e, text, false);
    double per_word = 4;   /* tokens a word costs, learnt as words are added: close in by halves */
    while (count >= 0 && count < n_prompt) {
        int words = (int)((n_prompt - count) / per_word / 2);
        if (words < 1) words = 1;
        int before = count;
        if (!append_words(&text, &len, &cap, words)) count = -1;
        else count = ember_engine_count_tokens(e, text, false);
        if (count > before) per_word = (double)(count - before) / words;
    }
    if (count < 0) {
        free(text);
        return NULL;
    }
    *n_tokens = count;
    return text;
}

/* A remote sequence holding about n_prompt tokens of text, evaluated (with one token
 * generated, as a remote engine evaluates a prompt only for a generation): *seconds is the
 * time to that first token, *n_evaluated the prompt's tokens. */
static ember_seq *prefill_remote(ember_engine *e, int n_prompt, unsigned seed, double *seconds, int *n_evaluated) {
    ember_sampling s;
    ember_sampling_init(&s);
    s.seed = seed;
    s.ignore_eos = true;
    ember_seq *seq = NULL;
    ember_error err = {0};
    char *text = prompt_text(e, n_prompt, seed, n_evaluated);
    gen_count one = {1};
    if (!text) snprintf(err.message, sizeof err.message, "cannot write a prompt of %d tokens (tokenizer)", n_prompt);
    else if (ember_seq_create(e, &s, &seq, &err) == EMBER_OK) ember_seq_set_callbacks(seq, count_down, NULL, &one);
    double t0 = cli_now_s();
    if (seq && (ember_seq_feed_text(seq, text, false, &err) != EMBER_OK || ember_seq_generate(seq, &err) != EMBER_OK ||
                ember_seq_wait_idle(seq, &err) != EMBER_OK)) {
        ember_seq_destroy(seq);
        seq = NULL;
    }
    *seconds = cli_now_s() - t0;
    if (!seq) fprintf(stderr, "ember bench: %s\n", err.message);
    free(text);
    return seq;
}

static ember_seq *prefill_local(ember_engine *e, int n_prompt, unsigned seed, double *seconds) {
    ember_sampling s;
    ember_sampling_init(&s);
    s.seed = seed;
    ember_seq *seq = NULL;
    ember_error err = {0};
    if (ember_seq_create(e, &s, &seq, &err) != EMBER_OK) {
        fprintf(stderr, "ember bench: %s\n", err.message);
        return NULL;
    }
    int n_vocab = ember_engine_n_vocab(e);
    int32_t *tokens = malloc(sizeof *tokens * (size_t)n_prompt);
    srand(seed);
    for (int i = 0; i < n_prompt; i++) tokens[i] = rand() % n_vocab;
    double t0 = cli_now_s();
    if (ember_seq_feed_tokens(seq, tokens, n_prompt, &err) != EMBER_OK || ember_seq_wait_idle(seq, &err) != EMBER_OK) {
        fprintf(stderr, "ember bench: %s\n", err.message);
        ember_seq_destroy(seq);
        seq = NULL;
    }
    *seconds = cli_now_s() - t0;
    free(tokens);
    return seq;
}

/* A sequence holding about n_prompt evaluated tokens (*n_evaluated exactly), in *seconds. */
static ember_seq *prefill(ember_engine *e, bool remote, int n_prompt, unsigned seed, double *seconds, int *n_evaluated) {
    if (remote) return prefill_remote(e, n_prompt, seed, seconds, n_evaluated);
    *n_evaluated = n_prompt;
    return prefill_local(e, n_prompt, seed, seconds);
}

/* The scheduler's time per sampled token over one generation (engine statistics). */
typedef struct sched_cost {
    double sample_us, callback_us;
} sched_cost;

static sched_cost cost_between(const ember_engine_stats *a, const ember_engine_stats *b) {
    double n = (double)(b->tokens_sampled - a->tokens_sampled);
    if (n <= 0) return (sched_cost){0, 0};
    return (sched_cost){(b->sample_ms - a->sample_ms) * 1e3 / n, (b->callback_ms - a->callback_ms) * 1e3 / n};
}

static void keep_best(sched_cost *best, sched_cost c) {
    if (best->sample_us == 0 || c.sample_us + c.callback_us < best->sample_us + best->callback_us) *best = c;
}

/* Forks `n` sequences from root and generates `n_gen` tokens in each with `sampling`;
 * returns seconds, and the scheduler's cost per token in *cost. */
static double generate(ember_engine *e, ember_seq *root, int n, int n_gen, bool fork, const ember_sampling *sampling,
                       sched_cost *cost) {
    ember_seq **seqs = calloc((size_t)n, sizeof *seqs);
    gen_count *counts = calloc((size_t)n, sizeof *counts);
    ember_sampling s = *sampling;
    s.confidence = fork;   /* forks stand for Contemplating's agents, which score every token */
    s.ignore_eos = true;   /* the same count whatever the model says */
    if (!fork) {
        s.seed = 7u;
        ember_seq_set_sampling(root, &s, NULL);
    }
    for (int i = 0; i < n; i++) {
        s.seed = 7u + (unsigned)i;
        if (fork) ember_seq_fork(root, &s, &seqs[i], NULL);
        else seqs[i] = root;
        counts[i].left = n_gen;
        ember_seq_set_callbacks(seqs[i], count_down, NULL, &counts[i]);
    }
    ember_engine_stats before, after;
    ember_engine_get_stats(e, &before);
    double t0 = cli_now_s();
    for (int i = 0; i < n; i++) ember_seq_generate(seqs[i], NULL);
    for (int i = 0; i < n; i++) ember_seq_wait_idle(seqs[i], NULL);
    double t = cli_now_s() - t0;
    ember_engine_get_stats(e, &after);
    if (cost) *cost = cost_between(&before, &after);
    if (fork)
        for (int i = 0; i < n; i++) ember_seq_destroy(seqs[i]);
    free(seqs);
    free(counts);
    return t;
}

int ember_cmd_bench(int argc, char **argv) {
    cli_options opts;
    cli_options_init(&opts);
    long n_prompt = 512, n_gen = 128, reps = 3, agents = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        cli_parse p = cli_options_parse(&opts, argc, argv, &i);
        if (p == CLI_PARSE_ERROR) { cli_options_free(&opts); return 2; }
        if (p == CLI_PARSE_OK) continue;
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "-p") == 0 && has_value) { if (!cli_parse_int(a, argv[++i], 1, 1 << 20, &n_prompt)) return 2; }
        else if (strcmp(a, "-n") == 0 && has_value) { if (!cli_parse_int(a, argv[++i], 1, 1 << 20, &n_gen)) return 2; }
        else if (strcmp(a, "-r") == 0 && has_value) { if (!cli_parse_int(a, argv[++i], 1, 100, &reps)) return 2; }
        else if (strcmp(a, "--bench-agents") == 0 && has_value) { if (!cli_parse_int(a, argv[++i], 1, EMBER_AGENTS_MAX, &agents)) return 2; }
        else if (strcmp(a, "--json") == 0) json = true;
        else {
            fprintf(stderr, "usage: ember bench (-m MODEL | --engine URL) [-p N] [-n N] [-r REPS] [--bench-agents N] [-t T] [--json]\n");
            cli_options_free(&opts);
            return 2;
        }
    }
    int finish = cli_options_finish(&opts, "bench");
    if (finish) { cli_options_free(&opts); return finish; }
    const bool remote = opts.n_engine_urls > 0;
    if (opts.engine.n_ctx == 0) opts.engine.n_ctx = (int)(n_prompt + (agents ? agents : 1) * n_gen + 64);
    if (!opts.engine.n_batch) opts.engine.n_batch = n_prompt > 512 ? (int)n_prompt : 512;
    ember_error err = {0};
    ember_engine *e = NULL;
    if (ember_engine_create(&opts.engine, &e, &err) != EMBER_OK) {
        fprintf(stderr, "ember bench: %s\n", err.message);
        cli_options_free(&opts);
        return 1;
    }
    /* warm-up with the measured shapes, as llama-bench does: the first prefill of a batch size
     * allocates llama.cpp's compute buffers */
    double t;
    const ember_sampling *sampling = &opts.run.sampling;
    int n_evaluated = (int)n_prompt;
    ember_seq *warm = prefill(e, remote, (int)n_prompt, 1, &t, &n_evaluated);
    if (warm) generate(e, warm, agents ? (int)agents : 1, 4, agents > 0, sampling, NULL);
    ember_seq_destroy(warm);

    double pp = 0, tg = 0, one = 0, many = 0;
    sched_cost best = {0, 0};
    int rc = 0;
    for (long r = 0; r < reps && rc == 0; r++) {
        double t_pp;
        sched_cost cost;
        ember_seq *root = prefill(e, remote, (int)n_prompt, 100u + (unsigned)r, &t_pp, &n_evaluated);
        if (!root) { rc = 1; break; }
        pp += n_evaluated / t_pp;
        if (agents) {
            one += generate(e, root, 1, (int)n_gen, true, sampling, NULL);
            many += generate(e, root, (int)agents, (int)n_gen, true, sampling, &cost);
        } else {
            ember_seq_destroy(root);
            int n_short;
            root = prefill(e, remote, 1, 200u + (unsigned)r, &t_pp, &n_short);
            if (!root) { rc = 1; break; }
            tg += n_gen / generate(e, root, 1, (int)n_gen, false, sampling, &cost);
        }
        keep_best(&best, cost);
        ember_seq_destroy(root);
    }
    if (rc == 0) {
        pp /= reps;
        tg /= reps;
        if (json) {
            printf("{\"n_prompt\": %d, \"n_gen\": %ld, \"reps\": %ld, \"remote\": %s, \"pp_tokens_per_s\": %.2f", n_evaluated,
                   n_gen, reps, remote ? "true" : "false", pp);
            printf(", \"sample_us_per_token\": %.2f, \"callback_us_per_token\": %.2f", best.sample_us, best.callback_us);
            if (agents)
                printf(", \"agents\": %ld, \"wall_s_1\": %.4f, \"wall_s_n\": %.4f, \"ratio\": %.4f, \"total_tokens_per_s_n\": %.2f}\n",
                       agents, one / reps, many / reps, many / one, agents * n_gen / (many / reps));
            else printf(", \"tg_tokens_per_s\": %.2f}\n", tg);
        } else {
            printf("pp%d: %.2f t/s%s\n", n_evaluated, pp, remote ? " (to the first token, through the engine's HTTP API)" : "");
            if (agents) printf("%ld agents x %ld tokens: %.3f s vs 1 agent %.3f s (ratio %.3f)\n", agents, n_gen,
                               many / reps, one / reps, many / one);
            else printf("tg%ld: %.2f t/s\n", n_gen, tg);
            if (!remote)
                printf("scheduler per token (best of %ld): sampling %.1f us, callbacks %.1f us\n", reps, best.sample_us,
                       best.callback_us);
        }
    }
    ember_engine_destroy(e);
    cli_options_free(&opts);
    return rc;
}
