/*
 * tool_round.h — running one round of a model's tool calls: the tool loop's step that both a
 * single run (run.c: results appended to its conversation) and each Contemplating agent
 * (contemplate.c: results fed to that agent's own branch) share.
 *
 * The calls run in parallel, each registry tool on a thread of its own; zoom, the run's own
 * tool, runs at once on the calling thread. Any thread may run a round while the engine
 * decodes other sequences; rounds of several agents may run at the same time (the result's
 * zooms and usage are updated under run->result_mu).
 */
#ifndef EMBER_AGENT_TOOL_ROUND_H
#define EMBER_AGENT_TOOL_ROUND_H

#include "agent/agent.h"

typedef struct tool_round_call {
    const char *name;       /* borrowed from the round's parsed calls */
    char *arguments;        /* JSON text */
    char *text;             /* the result as the model reads it (output, then "Error: …") */
    ember_image *crop;      /* zoom's crop shown with the result, or NULL (owned by the round) */
} tool_round_call;

typedef struct tool_round tool_round;

/* True when the run can run every call of calls_json itself (zoom or an enabled registry
 * tool); false for calls the caller must run (API client tools) or unparsable text. */
bool tool_round_runnable(const run_ctx *run, const char *calls_json);
/* Runs the calls for `agent_index` (-1: the single run); NULL when out of memory. */
tool_round *tool_round_run(run_ctx *run, int agent_index, const char *calls_json);
size_t tool_round_count(const tool_round *round);
const tool_round_call *tool_round_get(const tool_round *round, size_t i);
void tool_round_free(tool_round *round);

#endif
