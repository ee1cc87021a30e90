/*
 * render.h — drawing a run's events on a terminal: the answer to stdout as it arrives,
 * reasoning dimmed on stderr when asked for (else, on a terminal, one live status line with
 * the reasoning tokens and the time so far), tool calls and agents as status lines on stderr.
 * On a terminal, control characters in model text are printed escaped (\x1b), never raw:
 * a model must not be able to move the cursor, clear the screen or retitle the window.
 */
#ifndef EMBER_CLI_RENDER_H
#define EMBER_CLI_RENDER_H

#include "ember.h"

#include <stdio.h>

typedef struct cli_render {
    bool show_reasoning;
    bool quiet;             /* --json: print nothing while running */
    bool color;             /* stderr is a terminal */
    bool in_reasoning;      /* the dim style is on */
    bool escape_out;        /* stdout is a terminal: escape control characters */
    bool escape_err;        /* stderr is a terminal */
    bool status_line;       /* live reasoning status on stderr (a terminal, reasoning hidden) */
    bool status_shown;      /* the status line is on screen */
    int reasoning_tokens;
    double t_start;         /* seconds, monotonic */
    double t_status;        /* when the status line was last drawn */
    bool answer_started;
    bool answer_newline;    /* the last answer byte was a newline */
    int agents;             /* contemplating: agents announced */
    int agent_tokens[64];
} cli_render;

void cli_render_init(cli_render *r, bool show_reasoning, bool quiet);
void cli_render_event(const ember_event *ev, void *user);
/* Model text for a terminal: control characters (but newline and tab) and C1 controls as
 * visible escapes; everything else as it is. */
void cli_write_text(FILE *out, const char *text, bool escape);
/* Ends the answer with a newline when it did not end with one. */
void cli_render_finish(cli_render *r);

#endif
