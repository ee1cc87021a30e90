/*
 * cmd_train.c — `ember train`: trains a small qwen3 model with libllama's optimizer on the
 * arithmetic task family (or on a JSONL file of examples), with a progress bar, resumable
 * checkpoints and Ctrl-C that stops after the current step and still writes the model.
 * `ember train --write-data FILE` writes problems as JSONL for `ember eval` instead.
 */
#include "commands.h"
#include "ember.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: ember train -m INIT.gguf -o OUT.gguf [options]\n"
    "       ember train --write-data FILE [--held-out] [--traces] [--count N] [--seed N]\n"
    "Trains a qwen3 model (F32, untied output, as many KV heads as query heads; e.g. from\n"
    "ember-genmodel --arch qwen3 --untied --n-head-kv N equal to --n-head) on\n"
    "chat-formatted examples; the loss is on the assistant's tokens only.\n"
    "options:\n"
    "  -m, --model FILE       model to start from\n"
    "  -o, --out FILE         trained model to write\n"
    "  --checkpoints DIR      write model.gguf + state.json there; a rerun resumes\n"
    "  --checkpoint-every N   optimizer steps between checkpoints (500)\n"
    "  --data FILE            JSONL examples {question, reasoning?, answer, mode?} instead of\n"
    "                         generated arithmetic problems\n"
    "  --examples N           generated problems (40000)\n"
    "  --mix T,I,C[,S]        shares of thinking traces, instant answers, calculator calls (70,20,10)\n"
    "                         and Contemplating synthesizer briefs (S, 0)\n"
    "  --trace local|columns  trace layout: each column line restates what is left and carries\n"
    "                         the digits found so far (local), or column lines alone with the\n"
    "                         digits read back at the end (columns, ember-nano's stages 1-4)\n"
    "  --terse P              P % of the trace blocks give their result on one line (0); the\n"
    "                         short form thought compression can learn to prefer\n"
    "  --check P              P % of the trace blocks are followed by a check, the inverse\n"
    "                         block (0); the redundant thought compression can learn to drop\n"
    "  --reorder-agents       Contemplating agents with odd-numbered approaches restate the\n"
    "                         expression in another order and work that, so they slip elsewhere\n"
    "  --seed N               data seed (1)\n"
    "  --epochs N             passes over the data (1)\n"
    "  --ctx N                tokens per window (256)\n"
    "  --batch N              windows per optimizer step (4)\n"
    "  --lr X --lr-min X      peak and final learning rate (1e-3, 5e-5; cosine after warm-up)\n"
    "  --warmup N             warm-up steps (100)\n"
    "  --weight-decay X       AdamW weight decay (0.01)\n"
    "  -t, --threads N        CPU threads (all)\n"
    "  --context-length N     context length written into the output (default: the input's)\n"
    "  --max-steps N          stop after step N (the learning-rate schedule still spans the run)\n"
    "thought compression (expert iteration), after supervised training:\n"
    "  --expert-rounds N      rounds of: sample K traces per problem with Contemplating, keep\n"
    "                         the shortest correct one, train on those, measure (-m is the start)\n"
    "  --expert-dir DIR       round models, data, rounds.json and rounds.png go here; a rerun\n"
    "                         resumes after the last round there\n"
    "  --eval-data FILE       held-out JSONL measured after each round (Thinking)\n"
    "  --eval-limit N         its first N questions\n"
    "  --problems N           problems sampled per round (300)\n"
    "  --samples K            traces per problem (4)\n"
    "  --length-penalty X     weight of a trace's relative length (0.5)\n"
    "  --temp X               sampling temperature of the traces (0.8)\n"
    "  --outcome-only         keep traces by their answer alone (by default a kept trace's\n"
    "                         every column and one-line block must also be true)\n"
    "  --lr X --lr-min X      each round's training (3e-4, 3e-5)\n"
    "  --write-data FILE      write problems as JSONL and exit (--held-out: the held-out split,\n"
    "                         disjoint from all training data; --traces: with reasoning traces;\n"
    "                         --count N, default 500)\n";

static volatile int g_cancel;

static void on_sigint(int sig) {
    (void)sig;
    g_cancel = 1;
}

static void progress(const ember_train_progress *pr, void *user) {
    (void)user;
    const bool tty = isatty(STDERR_FILENO);
    const double frac = pr->steps ? (double)pr->step / (double)pr->steps : 0;
    const double eta = frac > 0 && pr->elapsed_s > 0 ? pr->elapsed_s * (1 - frac) / frac : 0;
    char bar[31];
    const int filled = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    if (pr->checkpoint) {
        fprintf(stderr, "%scheckpoint at step %lld\n", tty ? "\r\033[K" : "", (long long)pr->step);
        return;
    }
    fprintf(stderr, "%s[%s] %5.1f%% step %lld/%lld loss %.4f acc %.3f lr %.2e %.0f tok/s eta %.0fs%s",
            tty ? "\r\033[K" : "", bar, 100 * frac, (long long)pr->step, (long long)pr->steps, pr->loss,
            pr->accuracy, (double)pr->lr, pr->tokens_per_s, eta, tty ? "" : "\n");
    fflush(stderr);
}

static void expert_line(const char *line, void *user) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}

static int run_expert(const ember_expert_params *ep) {
    ember_expert_round rounds[64];
    int n = 0;
    ember_error err = {0};
    const ember_status st = ember_expert_iteration(ep, rounds, &n, &err);
    printf("%-6s %9s %16s %12s %8s %8s %8s\n", "round", "accuracy", "95% CI", "reason/q", "sampled", "correct", "kept");
    double x[64], acc[64], tok[64];
    for (int i = 0; i < n; i++) {
        const ember_expert_round *r = &rounds[i];
        printf("%-6d %8.1f%% %7.1f-%5.1f%% %12.1f %8d %8d %8d\n", r->round, 100 * r->accuracy, 100 * r->ci_low,
               100 * r->ci_high, r->reasoning_tokens, r->sampled, r->correct, r->kept);
        x[i] = r->round, acc[i] = 100 * r->accuracy, tok[i] = r->reasoning_tokens;
    }
    if (n > 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/rounds.png", ep->dir);
        ember_plot_series series[] = {{"held-out accuracy (%)", x, acc, NULL, NULL, n},
                                      {"mean reasoning tokens", x, tok, NULL, NULL, n}};
        ember_error perr = {0};
        if (ember_plot_png(path, "thought compression by expert iteration", "round", "accuracy (%) / tokens", series, 2,
                           &perr) == EMBER_OK)
            fprintf(stderr, "wrote %s\n", path);
        else
            fprintf(stderr, "ember train: %s\n", perr.message);
    }
    if (st != EMBER_OK) {
        fprintf(stderr, "ember train: %s\n", err.message);
        return 1;
    }
    return 0;
}

static bool parse_long(const char *s, long long min, long long *out) {
    char *end = NULL;
    errno = 0;
    const long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < min) return false;
    *out = v;
    return true;
}

static bool parse_float(const char *s, float *out) {
    char *end = NULL;
    errno = 0;
    const float v = s ? strtof(s, &end) : 0;
    if (!s || errno || *end || end == s || !(v >= 0)) return false;
    *out = v;
    return true;
}

int ember_cmd_train(int argc, char **argv) {
    ember_train_params p;
    ember_train_params_init(&p);
    const char *write_data = NULL;
    bool held_out = false, traces = false;
    ember_expert_params ep;
    ember_expert_params_init(&ep);
    long long expert_rounds = 0;
    long long count = 500;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n = 0;
        bool ok = true, takes = true;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--held-out")) {
            held_out = true, takes = false;
        } else if (!strcmp(a, "--traces")) {
            traces = true, takes = false;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            ok = v, p.model = v;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
            ok = v, p.out = v;
        } else if (!strcmp(a, "--checkpoints")) {
            ok = v, p.checkpoint_dir = v;
        } else if (!strcmp(a, "--data")) {
            ok = v, p.data = v;
        } else if (!strcmp(a, "--write-data")) {
            ok = v, write_data = v;
        } else if (!strcmp(a, "--count")) {
            ok = parse_long(v, 0, &count);
        } else if (!strcmp(a, "--checkpoint-every")) {
            ok = parse_long(v, 1, &n), p.checkpoint_every = (int)n;
        } else if (!strcmp(a, "--examples")) {
            ok = parse_long(v, 1, &n), p.examples = n;
        } else if (!strcmp(a, "--seed")) {
            ok = parse_long(v, 0, &n), p.seed = (uint64_t)n;
        } else if (!strcmp(a, "--epochs")) {
            ok = parse_long(v, 1, &n) && n < 1000, p.epochs = (int)n;
        } else if (!strcmp(a, "--ctx")) {
            ok = parse_long(v, 16, &n) && n <= 16384, p.ctx = (int)n;
        } else if (!strcmp(a, "--batch")) {
            ok = parse_long(v, 1, &n) && n <= 256, p.batch = (int)n;
        } else if (!strcmp(a, "--warmup")) {
            ok = parse_long(v, 0, &n) && n < 1 << 30, p.warmup_steps = (int)n;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            ok = parse_long(v, 1, &n) && n <= 1024, p.threads = (int)n;
        } else if (!strcmp(a, "--lr")) {
            ok = parse_float(v, &p.lr), ep.train.lr = p.lr;
        } else if (!strcmp(a, "--lr-min")) {
            ok = parse_float(v, &p.lr_min), ep.train.lr_min = p.lr_min;
        } else if (!strcmp(a, "--weight-decay")) {
            ok = parse_float(v, &p.weight_decay);
        } else if (!strcmp(a, "--max-steps")) {
            ok = parse_long(v, 1, &n), p.max_steps = n;
        } else if (!strcmp(a, "--context-length")) {
            ok = parse_long(v, 0, &n) && n <= 1 << 20, p.context_length = (int)n;
        } else if (!strcmp(a, "--expert-rounds")) {
            ok = parse_long(v, 1, &expert_rounds) && expert_rounds < 64;
        } else if (!strcmp(a, "--expert-dir")) {
            ok = v, ep.dir = v;
        } else if (!strcmp(a, "--eval-data")) {
            ok = v, ep.held_out = v;
        } else if (!strcmp(a, "--eval-limit")) {
            ok = parse_long(v, 0, &n), ep.held_out_limit = (int)n;
        } else if (!strcmp(a, "--problems")) {
            ok = parse_long(v, 1, &n), ep.problems = (int)n;
        } else if (!strcmp(a, "--samples")) {
            ok = parse_long(v, 2, &n) && n <= 32, ep.samples = (int)n;
        } else if (!strcmp(a, "--outcome-only")) {
            ep.outcome_only = true;
        } else if (!strcmp(a, "--length-penalty")) {
            ok = parse_float(v, &ep.length_penalty);
        } else if (!strcmp(a, "--temp")) {
            ok = parse_float(v, &ep.temperature);
        } else if (!strcmp(a, "--reorder-agents")) {
            p.trace.reorder_agents = true;
            takes = false;
        } else if (!strcmp(a, "--check")) {
            ok = parse_long(v, 0, &n) && n <= 100, p.trace.check_pct = (int)n;
        } else if (!strcmp(a, "--terse")) {
            ok = parse_long(v, 0, &n) && n <= 100, p.trace.terse_pct = (int)n;
        } else if (!strcmp(a, "--trace")) {
            ok = v && (!strcmp(v, "local") || !strcmp(v, "columns")), p.trace.columns = v && !strcmp(v, "columns");
        } else if (!strcmp(a, "--mix")) {
            p.synthesis_pct = 0;
            const int got = v ? sscanf(v, "%d,%d,%d,%d", &p.thinking_pct, &p.instant_pct, &p.tool_pct, &p.synthesis_pct) : 0;
            ok = got == 3 || got == 4;
        } else {
            fprintf(stderr, "ember train: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "ember train: %s needs a valid value (see --help)\n", a);
            return 2;
        }
        if (takes) i++;
    }
    ember_error err = {0};
    if (write_data) {
        if (ember_arith_write_jsonl(write_data, p.seed, count, held_out, traces ? &p.trace : NULL, &err) != EMBER_OK) {
            fprintf(stderr, "ember train: %s\n", err.message);
            return 1;
        }
        fprintf(stderr, "wrote %lld %s problems to %s\n", count, held_out ? "held-out" : "train", write_data);
        return 0;
    }
    if (expert_rounds > 0) {
        if (!p.model || !ep.dir || !ep.held_out) {
            fputs("ember train: --expert-rounds needs -m MODEL, --expert-dir DIR and --eval-data FILE\n", stderr);
            return 2;
        }
        ep.model = p.model;
        ep.rounds = (int)expert_rounds;
        ep.threads = p.threads;
        ep.train.context_length = p.context_length;
        ep.seed = p.seed;
        ep.progress = expert_line;
        return run_expert(&ep);
    }
    if (!p.model || !p.out) {
        fputs("ember train: needs -m INIT.gguf and -o OUT.gguf (see --help)\n", stderr);
        return 2;
    }
    p.progress = progress;
    p.cancel = &g_cancel;
    signal(SIGINT, on_sigint);
    ember_train_report rep;
    const ember_status st = ember_train(&p, &rep, &err);
    signal(SIGINT, SIG_DFL);
    fprintf(stderr, "\n");
    if (st != EMBER_OK) {
        fprintf(stderr, "ember train: %s\n", err.message);
        return st == EMBER_ERR_CANCELLED ? 130 : 1;
    }
    printf("trained %lld steps (%lld tokens, %lld examples, %lld too long) in %.0f s%s; loss %.4f -> %.4f; wrote %s\n",
           (long long)rep.steps, (long long)rep.tokens, (long long)rep.examples, (long long)rep.skipped, rep.seconds,
           rep.resumed_at ? " after resuming" : "", rep.first_loss, rep.last_loss, p.out);
    return 0;
}
