/*
 * result.h — ember_result internals: what a run produced. The run fills it from its own
 * thread (and, for deltas, from the scheduler thread while the run waits), so nothing here
 * locks; the caller owns it after ember_run_chat / ember_run_wait.
 */
#ifndef EMBER_AGENT_RESULT_H
#define EMBER_AGENT_RESULT_H

#include "ember.h"
#include "core/strbuf.h"

typedef struct result_tool_call {
    int agent;         /* the Contemplating agent that called, -1 for a single run */
    char *name;
    char *arguments;   /* JSON text */
    char *output;      /* what the tool returned, when the run ran it; NULL otherwise */
} result_tool_call;

typedef struct result_agent {
    char *approach;
    strbuf reasoning;
    strbuf answer;
    char *normalized;      /* the answer as voted on */
    int tokens;
    float confidence;      /* lowest sliding-window confidence (DeepConf group confidence) */
    bool finished;
    bool stopped_early;
    const char *stop_reason;
} result_agent;

struct ember_result {
    ember_mode mode;
    strbuf answer;
    strbuf reasoning;
    const char *finish_reason;   /* "stop", "length", "tool_calls", "cancelled", "error" */
    char *error;                 /* message when the run failed part-way */
    ember_usage usage;
    ember_timings timings;
    result_tool_call *calls;
    int n_calls;
    /* Contemplating */
    result_agent *agents;
    int n_agents;
    char *vote_answer;
    float vote_share;
    int vote_agents;
    bool budget_reached;
    bool answer_forced;          /* the model ended its turn while reasoning; ember opened the answer */
    char *synthesis_brief;       /* what the synthesizer was shown */
    strbuf synthesis_reasoning;  /* what it reasoned after the brief */
    bool synthesized;            /* false: the agents agreed, the answer is the winner's */
    /* Vision */
    ember_zoom *zooms;           /* each crop is a reference the result owns */
    int n_zooms;
    ember_box *boxes;            /* read from the final answer */
    size_t n_boxes;
};

ember_result *result_create(ember_mode mode);
bool result_add_call(ember_result *r, int agent, const char *name, const char *arguments);
/* Sets the output of the agent's earliest call to `name` that has none. */
void result_set_output(ember_result *r, int agent, const char *name, const char *output);
/* Records a zoom; takes a reference on z->crop. */
bool result_add_zoom(ember_result *r, const ember_zoom *z);

#endif
