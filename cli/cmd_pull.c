/*
 * cmd_pull.c — `ember pull REPO[:QUANT]`: download a model from the Hugging Face Hub into the
 * model store, with a progress bar on stderr (plain lines when stderr is not a terminal).
 * Ctrl-C stops the pull keeping what was downloaded; running the command again resumes.
 */
#include "commands.h"
#include "ember.h"
#include "model_arg.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: ember pull REPO[:QUANT] [options]\n"
    "\n"
    "Downloads a GGUF model (and its vision projector) from the Hugging Face Hub, e.g.\n"
    "  ember pull unsloth/Muse-Glimmer-30B-GGUF:Q4_K_M\n"
    "QUANT is matched against the file names (default: Q4_K_M, else the first GGUF).\n"
    "\n"
    "options:\n"
    "  --models-dir DIR   store models in DIR (default: $EMBER_MODELS,\n"
    "                     else $XDG_CACHE_HOME/ember/models or ~/.cache/ember/models)\n"
    "  --retries N        automatic resumes after network failures (default 3)\n"
    "  -q, --quiet        no progress output\n"
    "\n"
    "environment: HF_TOKEN (gated or private repositories), HF_ENDPOINT (a mirror)\n";

static volatile sig_atomic_t cancel_flag;

static void on_sigint(int sig) { cancel_flag = 1; }

/* What the progress display remembers between reports. */
typedef struct display {
    bool tty;              /* stderr is a terminal: one rewritten line */
    bool quiet;
    bool line_open;        /* a rewritable line is on screen */
    int file_index;        /* the file the last report was about, -1 before any */
    ember_pull_stage stage;
    double last_line;      /* plain mode: when the last progress line was printed */
    int last_tenth;        /* plain mode: the last 10% step printed */
} display;

static int term_width(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

static void close_line(display *d) {
    if (d->line_open) fputc('\n', stderr);
    d->line_open = false;
}

static void bar_line(display *d, const ember_pull_progress *p) {
    char done[32], size[32], speed[32], eta[32], right[256], name[96];
    cli_format_size(p->file_bytes, done);
    cli_format_size(p->file_size, size);
    int pct = p->file_size ? (int)(100.0 * (double)p->file_bytes / (double)p->file_size) : 100;
    if (p->stage == EMBER_PULL_CHECKING) {
        snprintf(right, sizeof right, " %3d%% checking %s/%s", pct, done, size);
    } else {
        double left = p->bytes_per_s > 0 ? (double)(p->file_size - p->file_bytes) / p->bytes_per_s : -1;
        cli_format_size((uint64_t)p->bytes_per_s, speed);
        cli_format_duration(left, eta);
        char rate[48] = "", until[48] = "";
        if (p->bytes_per_s > 0) {
            snprintf(rate, sizeof rate, "%s/s", speed);
            snprintf(until, sizeof until, "ETA %s", eta);
        }
        /* fixed widths keep the bar from jumping as numbers change */
        snprintf(right, sizeof right, " %3d%% %8s/%-8s %10s %-11s", pct, done, size, rate, until);
    }
    const char *base = strrchr(p->file, '/') ? strrchr(p->file, '/') + 1 : p->file;
    if (p->file_count > 1)
        snprintf(name, sizeof name, "%s [%d/%d]", base, p->file_index + 1, p->file_count);
    else
        snprintf(name, sizeof name, "%s", base);

    int width = term_width() - 1;
    int right_len = (int)strlen(right);
    int name_len = (int)strlen(name);
    if (name_len > width / 2) name_len = width / 2;
    int bar = width - right_len - name_len - 3; /* " [" … "]" */
    char line[512];
    int n = snprintf(line, sizeof line, "\r\033[K%.*s", name_len, name);
    if (bar >= 10) {
        if (bar > 60) bar = 60;
        int fill = p->file_size ? (int)((double)bar * (double)p->file_bytes / (double)p->file_size) : bar;
        n += snprintf(line + n, sizeof line - (size_t)n, " [");
        for (int i = 0; i < bar && n < (int)sizeof line - 2; i++) line[n++] = i < fill ? '#' : '.';
        line[n++] = ']';
        line[n] = '\0';
    }
    snprintf(line + n, sizeof line - (size_t)n, "%.*s", width - name_len, right);
    fputs(line, stderr);
    d->line_open = true;
}

static void plain_line(display *d, const ember_pull_progress *p) {
    int tenth = p->file_size ? (int)(10 * p->file_bytes / p->file_size) : 10;
    double t = cli_now_s();
    if (tenth == d->last_tenth && t - d->last_line < 10) return;
    if (tenth >= 10) return; /* the "verified" line follows */
    char done[32], size[32], speed[32], eta[32];
    cli_format_size(p->file_bytes, done);
    cli_format_size(p->file_size, size);
    if (p->stage == EMBER_PULL_CHECKING) {
        fprintf(stderr, "%s: checked %s of %s\n", p->file, done, size);
    } else {
        double left = p->bytes_per_s > 0 ? (double)(p->file_size - p->file_bytes) / p->bytes_per_s : -1;
        cli_format_size((uint64_t)p->bytes_per_s, speed);
        cli_format_duration(left, eta);
        if (p->bytes_per_s > 0)
            fprintf(stderr, "%s: %d%% (%s of %s, %s/s, ETA %s)\n", p->file, tenth * 10, done,
                    size, speed, eta);
        else
            fprintf(stderr, "%s: %d%% (%s of %s)\n", p->file, tenth * 10, done, size);
    }
    d->last_tenth = tenth;
    d->last_line = t;
}

static void on_progress(const ember_pull_progress *p, void *user) {
    display *d = user;
    if (d->quiet) return;
    char size[32], from[32];
    bool new_file = p->file && (p->file_index != d->file_index || p->stage != d->stage);
    switch (p->stage) {
    case EMBER_PULL_RESOLVING:
        fprintf(stderr, "pulling %s\n", p->name);
        break;
    case EMBER_PULL_CHECKING:
    case EMBER_PULL_DOWNLOADING:
        if (new_file && !d->tty) {
            cli_format_size(p->file_size, size);
            cli_format_size(p->resumed_from, from);
            if (p->stage == EMBER_PULL_CHECKING)
                fprintf(stderr, "%s: checking what is already on disk\n", p->file);
            else if (p->resumed_from > 0)
                fprintf(stderr, "%s: downloading %s, resuming at %s\n", p->file, size, from);
            else
                fprintf(stderr, "%s: downloading %s\n", p->file, size);
            d->last_tenth = p->file_size ? (int)(10 * p->file_bytes / p->file_size) : 0;
            d->last_line = cli_now_s();
        }
        if (d->tty)
            bar_line(d, p);
        else if (!new_file)
            plain_line(d, p);
        break;
    case EMBER_PULL_RETRYING:
        close_line(d);
        fprintf(stderr, "%s: %s\n", p->file, p->message ? p->message : "retrying");
        break;
    case EMBER_PULL_VERIFIED:
        if (d->tty && d->line_open) fputs("\r\033[K", stderr); /* the bar becomes this line */
        d->line_open = false;
        cli_format_size(p->file_size, size);
        fprintf(stderr, "%s: %s verified%s\n", p->file, size,
                p->resumed_from == p->file_size ? " (already here)" : "");
        break;
    case EMBER_PULL_DONE:
        close_line(d);
        break;
    }
    d->file_index = p->file ? p->file_index : -1;
    d->stage = p->stage;
    fflush(stderr);
}

int ember_cmd_pull(int argc, char **argv) {
    const char *spec = NULL;
    ember_pull_params params;
    ember_pull_params_init(&params);
    params.retries = 3;
    display d = {.tty = isatty(STDERR_FILENO) != 0, .file_index = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--models-dir") == 0 && i + 1 < argc) {
            params.models_dir = argv[++i];
        } else if (strcmp(a, "--retries") == 0 && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 0 || n > 100) {
                fprintf(stderr, "ember pull: --retries wants a number from 0 to 100\n");
                return 2;
            }
            params.retries = (int)n;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            d.quiet = true;
        } else if (a[0] == '-' || spec) {
            fprintf(stderr, "ember pull: unexpected argument '%s'\n%s", a, usage);
            return 2;
        } else {
            spec = a;
        }
    }
    if (!spec) {
        fputs(usage, stderr);
        return 2;
    }

    params.on_progress = on_progress;
    params.user = &d;
    params.cancel = (const volatile int *)&cancel_flag;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    ember_store_entry entry;
    ember_error err = {0};
    ember_status status = ember_pull(spec, &params, &entry, &err);

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    close_line(&d);
    if (status != EMBER_OK) {
        fprintf(stderr, "ember pull: %s\n", err.message);
        return 1;
    }
    char size[32];
    cli_format_size(entry.size, size);
    printf("pulled %s (%s%s)\n", entry.name, size, entry.has_vision ? ", with vision" : "");
    printf("  model   %s%s\n", entry.model_path, entry.n_parts > 1 ? " (first of its parts)" : "");
    if (entry.has_vision) printf("  mmproj  %s\n", entry.mmproj_path);
    return 0;
}
