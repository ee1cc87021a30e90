/* render.c — terminal rendering of run events (see render.h). */
#include "render.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void cli_render_init(cli_render *r, bool show_reasoning, bool quiet) {
    memset(r, 0, sizeof *r);
    r->show_reasoning = show_reasoning;
    r->quiet = quiet;
    r->color = isatty(STDERR_FILENO);
    r->escape_out = isatty(STDOUT_FILENO);
    r->escape_err = r->color;
    r->status_line = r->color && !show_reasoning && !quiet;
    r->answer_newline = true;
    r->t_start = cli_now_s();
}

void cli_write_text(FILE *out, const char *text, bool escape) {
    if (!escape) {
        fputs(text, out);
        return;
    }
    const unsigned char *s = (const unsigned char *)text;
    size_t run = 0;
    for (size_t i = 0; s[i]; i++) {
        bool c0 = (s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f;
        bool c1 = s[i] == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f;  /* U+0080..U+009F */
        if (!c0 && !c1) {
            run++;
            continue;
        }
        fwrite(s + i - run, 1, run, out);
        run = 0;
        if (c1) fprintf(out, "\\u%04x", s[++i]);
        else fprintf(out, "\\x%02x", s[i]);
    }
    fwrite(s + strlen(text) - run, 1, run, out);
}

/* The live "thinking" line: reasoning tokens and elapsed time, redrawn ten times a second. */
static void status_draw(cli_render *r) {
    double now = cli_now_s();
    if (r->agents > 0) return;  /* Contemplating draws its agents' line instead */
    if (r->status_shown && now - r->t_status < 0.1) return;
    r->t_status = now;
    fprintf(stderr, "\r\033[2K\033[2mthinking… %d tokens, %.1f s\033[0m", r->reasoning_tokens, now - r->t_start);
    fflush(stderr);
    r->status_shown = true;
}

static void status_clear(cli_render *r) {
    if (!r->status_shown) return;
    fputs("\r\033[2K", stderr);
    fflush(stderr);
    r->status_shown = false;
}

static void end_dim(cli_render *r) {
    if (r->in_reasoning) {
        fputs(r->color ? "\033[0m\n" : "\n", stderr);
        r->in_reasoning = false;
    }
}

static void agent_status(cli_render *r) {
    if (!r->color) return;
    fputs("\r\033[2K", stderr);
    for (int i = 0; i < r->agents && i < 64; i++) fprintf(stderr, "[%d:%d] ", i, r->agent_tokens[i]);
    fflush(stderr);
}

void cli_render_event(const ember_event *ev, void *user) {
    cli_render *r = user;
    if (r->quiet) return;
    switch (ev->type) {
    case EMBER_EVENT_REASONING_DELTA:
        r->reasoning_tokens++;
        if (r->status_line) status_draw(r);
        if (!r->show_reasoning) break;
        if (!r->in_reasoning) {
            fputs(r->color ? "\033[2m" : "", stderr);
            r->in_reasoning = true;
        }
        cli_write_text(stderr, ev->text, r->escape_err);
        fflush(stderr);
        break;
    case EMBER_EVENT_ANSWER_DELTA:
        end_dim(r);
        status_clear(r);
        cli_write_text(stdout, ev->text, r->escape_out);
        fflush(stdout);
        r->answer_started = true;
        r->answer_newline = ev->text[0] && ev->text[strlen(ev->text) - 1] == '\n';
        break;
    case EMBER_EVENT_TOOL_CALL:
        end_dim(r);
        status_clear(r);
        if (ev->agent >= 0) fprintf(stderr, "agent %d ", ev->agent);  /* a Contemplating agent's own call */
        fprintf(stderr, "» tool %s %s\n", ev->name ? ev->name : "?", ev->arguments ? ev->arguments : "");
        break;
    case EMBER_EVENT_TOOL_RESULT:
        if (ev->agent >= 0) fprintf(stderr, "agent %d ", ev->agent);
        fprintf(stderr, "« %s: %.200s%s\n", ev->name ? ev->name : "?", ev->text ? ev->text : "",
                ev->text && strlen(ev->text) > 200 ? "…" : "");
        break;
    case EMBER_EVENT_AGENT_STARTED:
        if (ev->agent + 1 > r->agents) r->agents = ev->agent + 1;
        if (!r->color) fprintf(stderr, "agent %d: %s\n", ev->agent, ev->text ? ev->text : "");
        agent_status(r);
        break;
    case EMBER_EVENT_AGENT_DELTA:
        if (ev->agent >= 0 && ev->agent < 64) r->agent_tokens[ev->agent]++;
        if (r->agent_tokens[ev->agent] % 8 == 0) agent_status(r);
        break;
    case EMBER_EVENT_AGENT_FINISHED:
        if (r->color) fputs("\r\033[2K", stderr);
        fprintf(stderr, "agent %d %s: %d tokens, confidence %.2f, answer \"%.60s\"\n", ev->agent,
                ev->stop_reason ? ev->stop_reason : "finished", ev->tokens, ev->confidence, ev->text ? ev->text : "");
        break;
    case EMBER_EVENT_VOTE:
        fprintf(stderr, "vote: \"%.60s\" with %.0f%% of the weight%s\n", ev->text ? ev->text : "", ev->confidence * 100,
                ev->synthesized ? "; synthesizing" : "; the agents agree");
        break;
    case EMBER_EVENT_BUDGET_REACHED:
        end_dim(r);
        if (r->show_reasoning) fprintf(stderr, "(think budget reached after %d tokens)\n", ev->tokens);
        break;
    case EMBER_EVENT_ERROR:
        end_dim(r);
        status_clear(r);
        break;  /* the command prints the final error once */
    case EMBER_EVENT_USAGE:
        end_dim(r);
        break;
    case EMBER_EVENT_DONE:
        end_dim(r);
        status_clear(r);
        break;
    }
}

void cli_render_finish(cli_render *r) {
    if (!r->quiet) status_clear(r);
    if (!r->quiet && r->answer_started && !r->answer_newline) fputc('\n', stdout);
    fflush(stdout);
}
