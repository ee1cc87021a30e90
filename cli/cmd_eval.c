/*
 * cmd_eval.c — `ember eval`: a JSONL dataset through one or more run configurations (modes,
 * think budgets, agent counts, early stop on/off), a progress bar per configuration, a table
 * of accuracy (95 % interval), tokens and latency, optional per-question records (JSONL), a
 * summary JSON and a PNG plot: accuracy against agents when agent counts are swept, else
 * accuracy against mean reasoning tokens, one line per mode.
 */
#include "commands.h"
#include "ember.h"
#include "options.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: ember eval -m MODEL --data FILE.jsonl [options]\n"
    "Runs every question of a dataset (see README: plain, GSM8K ####, MATH \\boxed{}, choices)\n"
    "and scores the answers. Each list option runs one configuration per value:\n"
    "  --data FILE          the dataset (JSONL)\n"
    "  --limit N            the first N questions\n"
    "  --modes LIST         instant,thinking,contemplating (default: --mode)\n"
    "  --budgets LIST       think budgets, 0 = none (default: --think-budget)\n"
    "  --agents-list LIST   Contemplating agent counts (default: --agents)\n"
    "  --early-stop-both    Contemplating with early stop on and off\n"
    "  --parallel N         questions in flight at once (1; latency is per question)\n"
    "  --records FILE       one JSON line per question (appended)\n"
    "  --json FILE          the summary of every configuration\n"
    "  --plot FILE.png      the plot (PLplot)\n"
    "  --title TEXT         the plot's title\n";

#define MAX_VALUES 16
#define MAX_CONFIGS 64

typedef struct config {
    ember_mode mode;
    int budget;
    int agents;
    bool early_stop;
    char label[96];
    ember_eval_summary sum;
} config;

static volatile int g_cancel;

static void on_sigint(int sig) {
    (void)sig;
    g_cancel = 1;
}

static void progress(const ember_eval_progress *p, void *user) {
    const char *label = user;
    const bool tty = isatty(STDERR_FILENO);
    /* a log (no terminal) gets a line at each tenth, so a long run shows it is moving */
    if (!tty && p->done != p->total && p->done * 10 / p->total == (p->done - 1) * 10 / p->total) return;
    const int filled = p->total ? 30 * p->done / p->total : 0;
    char bar[31];
    for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    const double eta = p->done ? p->elapsed_s * (p->total - p->done) / p->done : 0;
    fprintf(stderr, "%s%-28s [%s] %d/%d correct %d (%.1f%%) %.0fs eta %.0fs%s", tty ? "\r\033[K" : "", label, bar,
            p->done, p->total, p->correct, p->done ? 100.0 * p->correct / p->done : 0, p->elapsed_s, eta,
            tty ? "" : "\n");
}

static int parse_list(const char *flag, const char *text, long min, long max, long *out) {
    int n = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && n < MAX_VALUES; tok = strtok_r(NULL, ",", &save)) {
        if (!cli_parse_int(flag, tok, min, max, &out[n])) {
            free(copy);
            return -1;
        }
        n++;
    }
    free(copy);
    return n;
}

static int parse_modes(const char *text, ember_mode *out) {
    int n = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && n < MAX_VALUES; tok = strtok_r(NULL, ",", &save)) {
        if (!ember_mode_parse(tok, &out[n])) {
            fprintf(stderr, "ember eval: unknown mode '%s' (instant, thinking, contemplating)\n", tok);
            free(copy);
            return -1;
        }
        n++;
    }
    free(copy);
    return n;
}

static void print_table(const config *c, int n) {
    printf("\n%-28s %5s %16s %7s %9s %9s %10s %10s\n", "configuration", "n", "accuracy (95% CI)", "vote",
           "reason/q", "answer/q", "latency s", "p50 s");
    for (int i = 0; i < n; i++) {
        const ember_eval_summary *s = &c[i].sum;
        char vote[16] = "-";
        if (c[i].mode == EMBER_MODE_CONTEMPLATING) snprintf(vote, sizeof vote, "%.1f%%", 100 * s->vote_accuracy);
        printf("%-28s %5d %5.1f%% (%4.1f-%4.1f) %7s %9.1f %9.1f %10.2f %10.2f\n", c[i].label, s->n, 100 * s->accuracy,
               100 * s->ci_low, 100 * s->ci_high, vote, s->reasoning_tokens, s->answer_tokens, s->latency_ms / 1000,
               s->latency_p50_ms / 1000);
    }
}

static bool write_json(const char *path, const char *dataset, const config *c, int n) {
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        const ember_eval_summary *s = &c[i].sum;
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:i,s:b,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}",
                                             "label", c[i].label, "mode", ember_mode_name(c[i].mode), "think_budget",
                                             c[i].budget, "agents", c[i].agents, "early_stop", c[i].early_stop, "n", s->n,
                                             "correct", s->correct, "errors", s->errors, "accuracy", s->accuracy,
                                             "ci_low", s->ci_low, "ci_high", s->ci_high, "vote_accuracy", s->vote_accuracy,
                                             "reasoning_tokens", s->reasoning_tokens, "answer_tokens", s->answer_tokens,
                                             "latency_ms", s->latency_ms, "latency_p50_ms", s->latency_p50_ms,
                                             "tokens_saved", s->tokens_saved, "seconds", s->seconds));
    }
    json_t *root = json_pack("{s:s,s:o}", "dataset", dataset, "configurations", arr);
    const int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return rc == 0;
}

typedef struct plot_data {
    ember_plot_series series[8];
    double xs[8][MAX_CONFIGS], ys[8][MAX_CONFIGS], lo[8][MAX_CONFIGS], hi[8][MAX_CONFIGS];
    char labels[8][64];
    int n;
} plot_data;

/* Adds a point to the series named key (a new series if there is none yet); lo/hi < 0: no interval. */
static void plot_point(plot_data *d, const char *key, double x, double y, double lo, double hi) {
    int k = 0;
    while (k < d->n && strcmp(d->labels[k], key) != 0) k++;
    if (k == d->n) {
        if (d->n == 8) return;
        snprintf(d->labels[k], sizeof d->labels[k], "%s", key);
        d->series[k] = (ember_plot_series){.label = d->labels[k], .x = d->xs[k], .y = d->ys[k],
                                           .y_low = lo < 0 ? NULL : d->lo[k], .y_high = lo < 0 ? NULL : d->hi[k]};
        d->n++;
    }
    const int j = d->series[k].n++;
    d->xs[k][j] = x, d->ys[k][j] = y, d->lo[k][j] = lo, d->hi[k][j] = hi;
}

/* One series per mode (x = reasoning tokens), or per early-stop setting (x = agents): the
 * final answer's accuracy with its interval, and beside it the agents' vote. */
static bool write_plot(const char *path, const char *title, const config *c, int n, bool by_agents) {
    static plot_data d;
    memset(&d, 0, sizeof d);
    for (int i = 0; i < n; i++) {
        const ember_eval_summary *s = &c[i].sum;
        const char *stop = c[i].early_stop ? "early stop" : "no early stop";
        char key[64];
        if (by_agents) snprintf(key, sizeof key, "answer, %s", stop);
        else snprintf(key, sizeof key, "%s", ember_mode_name(c[i].mode));
        const double x = by_agents ? c[i].agents : s->reasoning_tokens;
        plot_point(&d, key, x, 100 * s->accuracy, 100 * s->ci_low, 100 * s->ci_high);
        if (c[i].mode == EMBER_MODE_CONTEMPLATING) {
            if (by_agents) snprintf(key, sizeof key, "vote, %s", stop);
            else snprintf(key, sizeof key, "vote (contemplating)");
            plot_point(&d, key, x, 100 * s->vote_accuracy, -1, -1);
        }
    }
    ember_error err = {0};
    if (ember_plot_png(path, title, by_agents ? "agents" : "mean reasoning tokens per question", "accuracy (%)", d.series,
                       d.n, &err) != EMBER_OK) {
        fprintf(stderr, "ember eval: %s\n", err.message);
        return false;
    }
    fprintf(stderr, "wrote %s\n", path);
    return true;
}

int ember_cmd_eval(int argc, char **argv) {
    cli_options opts;
    cli_options_init(&opts);
    const char *data = NULL, *records = NULL, *json_path = NULL, *plot = NULL, *title = NULL;
    const char *modes_text = NULL, *budgets_text = NULL, *agents_text = NULL;
    long limit = 0, parallel = 1;
    bool both = false;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        cli_parse p = cli_options_parse(&opts, argc, argv, &i);
        if (p == CLI_PARSE_ERROR) goto done;
        if (p == CLI_PARSE_OK) continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s%s", usage, cli_options_help);
            rc = 0;
            goto done;
        } else if (!strcmp(a, "--early-stop-both")) {
            both = true;
            continue;
        }
        const char **dest = !strcmp(a, "--data") ? &data : !strcmp(a, "--records") ? &records
                          : !strcmp(a, "--json") ? &json_path : !strcmp(a, "--plot") ? &plot
                          : !strcmp(a, "--title") ? &title : !strcmp(a, "--modes") ? &modes_text
                          : !strcmp(a, "--budgets") ? &budgets_text : !strcmp(a, "--agents-list") ? &agents_text : NULL;
        if (dest && v) {
            *dest = v;
            i++;
        } else if (!strcmp(a, "--limit") && v) {
            if (!cli_parse_int(a, v, 0, 1 << 30, &limit)) goto done;
            i++;
        } else if (!strcmp(a, "--parallel") && v) {
            if (!cli_parse_int(a, v, 1, 64, &parallel)) goto done;
            i++;
        } else {
            fprintf(stderr, "ember eval: unknown option or missing value '%s'\n%s", a, usage);
            goto done;
        }
    }
    if (!data) {
        fprintf(stderr, "ember eval: --data FILE is required\n%s", usage);
        goto done;
    }
    ember_mode modes[MAX_VALUES] = {opts.run.mode};
    long budgets[MAX_VALUES] = {opts.run.think_budget}, agents[MAX_VALUES] = {opts.run.agents ? opts.run.agents : 4};
    int n_modes = modes_text ? parse_modes(modes_text, modes) : 1;
    int n_budgets = budgets_text ? parse_list("--budgets", budgets_text, 0, 1 << 20, budgets) : 1;
    int n_agents = agents_text ? parse_list("--agents-list", agents_text, 1, 64, agents) : 1;
    if (n_modes < 1 || n_budgets < 1 || n_agents < 1) goto done;
    rc = cli_options_finish(&opts, "eval");
    if (rc) goto done;
    rc = 1;

    config configs[MAX_CONFIGS];
    int n = 0;
    for (int m = 0; m < n_modes; m++) {
        const bool cont = modes[m] == EMBER_MODE_CONTEMPLATING;
        for (int b = 0; b < (modes[m] == EMBER_MODE_INSTANT ? 1 : n_budgets); b++) {
            for (int a = 0; a < (cont ? n_agents : 1); a++) {
                for (int e = 0; e < (cont && both ? 2 : 1) && n < MAX_CONFIGS; e++) {
                    config *c = &configs[n++];
                    memset(c, 0, sizeof *c);
                    c->mode = modes[m];
                    c->budget = modes[m] == EMBER_MODE_INSTANT ? 0 : (int)budgets[b];
                    c->agents = cont ? (int)agents[a] : 1;
                    c->early_stop = cont ? (both ? e == 0 : opts.run.early_stop) : false;
                    int len = snprintf(c->label, sizeof c->label, "%s", ember_mode_name(c->mode));
                    if (c->budget) len += snprintf(c->label + len, sizeof c->label - (size_t)len, " budget %d", c->budget);
                    if (cont)
                        snprintf(c->label + len, sizeof c->label - (size_t)len, " %d agents%s", c->agents,
                                 c->early_stop ? "" : " no-stop");
                }
            }
        }
    }
    int most_agents = 1;
    for (int i = 0; i < n; i++) most_agents = configs[i].agents > most_agents ? configs[i].agents : most_agents;
    if (opts.engine.n_seq_max < (most_agents + 2) * (int)parallel) opts.engine.n_seq_max = (most_agents + 2) * (int)parallel;
    ember_engine *engine = NULL;
    ember_error err = {0};
    if (ember_engine_create(&opts.engine, &engine, &err) != EMBER_OK) {
        fprintf(stderr, "ember eval: %s\n", err.message);
        goto done;
    }
    signal(SIGINT, on_sigint);
    int ran = 0;
    for (; ran < n && !g_cancel; ran++) {
        config *c = &configs[ran];
        ember_run_params run = opts.run;
        run.mode = c->mode;
        run.think_budget = c->budget;
        run.agents = c->agents;
        run.early_stop = c->early_stop;
        ember_eval_params ep = {.dataset = data, .limit = (int)limit, .run = &run, .parallel = (int)parallel,
                                .records = records, .label = c->label, .progress = progress, .user = c->label,
                                .cancel = &g_cancel};
        if (ember_eval_run(engine, &ep, &c->sum, &err) != EMBER_OK) {
            fprintf(stderr, "\nember eval: %s\n", err.message);
            break;
        }
        if (isatty(STDERR_FILENO)) fputc('\n', stderr);
    }
    signal(SIGINT, SIG_DFL);
    ember_engine_destroy(engine);
    if (ran > 0) {
        print_table(configs, ran);
        rc = 0;
        if (json_path && !write_json(json_path, data, configs, ran)) {
            fprintf(stderr, "ember eval: cannot write %s\n", json_path);
            rc = 1;
        }
        if (plot && !write_plot(plot, title ? title : "ember eval", configs, ran, n_agents > 1)) rc = 1;
    }
    if (g_cancel) rc = 130;
done:
    cli_options_free(&opts);
    return rc;
}
