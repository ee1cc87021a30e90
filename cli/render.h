/*
 * render.h — drawing a run's events on a terminal: the answer to stdout as it arrives,
 * reasoning dimmed on stderr when asked for, tool calls and agents as status lines on stderr.
 */
#ifndef EMBER_CLI_RENDER_H
#define EMBER_CLI_RENDER_H

#include "ember.h"

typedef struct cli_render {
    bool show_reasoning;
    bool quiet;             /* --json: print nothing while running */
    bool color;             /* stderr is a terminal */
    bool in_reasoning;      /* the dim style is on */
    bool answer_started;
    bool answer_newline;    /* the last answer byte was a newline */
    int agents;             /* contemplating: agents announced */
    int agent_tokens[64];
} cli_render;

void cli_render_init(cli_render *r, bool show_reasoning, bool quiet);
void cli_render_event(const ember_event *ev, void *user);
/* Ends the answer with a newline when it did not end with one. */
void cli_render_finish(cli_render *r);

#endif
