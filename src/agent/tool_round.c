/*
 * tool_round.c — one round of tool calls, run in parallel (see tool_round.h).
 */
#include "agent/tool_round.h"
#include "agent/zoom.h"
#include "chat/json_text.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct tool_job {
    ember_tools *tools;
    const char *name;
    const char *arguments;
    double timeout_s;
    ember_tool_result *result;
    pthread_t thread;
    bool threaded;
} tool_job;

struct tool_round {
    json_t *calls;              /* the parsed calls (names are borrowed from here) */
    size_t n;
    tool_round_call *out;
    tool_job *jobs;
    zoom_outcome *zooms;
};

static void *tool_thread(void *arg) {
    tool_job *job = arg;
    ember_tools_call(job->tools, job->name, job->arguments, job->timeout_s, &job->result, NULL);
    return NULL;
}

bool tool_round_runnable(const run_ctx *run, const char *calls_json) {
    json_t *calls = json_loads(calls_json ? calls_json : "", 0, NULL);
    bool all = json_is_array(calls);
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call) {
        const char *name = json_string_value(json_object_get(call, "name"));
        all = all && name && (run_is_zoom(run, name) ||
                              (run->params.tools && ember_tools_is_enabled(run->params.tools, name)));
    }
    json_decref(calls);
    return all;
}

/* The model's view of a registry tool's result: its output, then the error if any. */
static char *result_text(const ember_tool_result *result) {
    const char *output = result ? ember_tool_result_output(result) : "the tool could not be called";
    const char *error = result ? ember_tool_result_error(result) : NULL;
    strbuf text = {0};
    strbuf_puts(&text, output);
    if (error) strbuf_printf(&text, "%sError: %s", text.len ? "\n" : "", error);
    if (!text.data) strbuf_puts(&text, "");
    return strbuf_take(&text);
}

tool_round *tool_round_run(run_ctx *run, int agent_index, const char *calls_json) {
    tool_round *round = calloc(1, sizeof *round);
    if (!round) return NULL;
    round->calls = json_loads(calls_json ? calls_json : "[]", 0, NULL);
    round->n = json_array_size(round->calls);
    size_t n = round->n ? round->n : 1;
    round->out = calloc(n, sizeof *round->out);
    round->jobs = calloc(n, sizeof *round->jobs);
    round->zooms = calloc(n, sizeof *round->zooms);
    if (!round->out || !round->jobs || !round->zooms) {
        tool_round_free(round);
        return NULL;
    }
    for (size_t i = 0; i < round->n; i++) {
        json_t *call = json_array_get(round->calls, i);
        tool_round_call *o = &round->out[i];
        o->name = json_string_value(json_object_get(call, "name"));
        o->arguments = json_text_dump(json_object_get(call, "arguments"), true);
        if (!o->name) o->name = "";
        if (run_is_zoom(run, o->name)) {
            run_zoom(run, agent_index, o->arguments ? o->arguments : "{}", &round->zooms[i], &o->text);
            o->crop = round->zooms[i].crop;
            continue;
        }
        tool_job *job = &round->jobs[i];
        *job = (tool_job){.tools = run->params.tools, .name = o->name, .arguments = o->arguments ? o->arguments : "{}",
                          .timeout_s = run->params.tool_timeout_s};
        job->threaded = pthread_create(&job->thread, NULL, tool_thread, job) == 0;
        if (!job->threaded) tool_thread(job);
    }
    for (size_t i = 0; i < round->n; i++) {
        tool_job *job = &round->jobs[i];
        if (job->threaded) pthread_join(job->thread, NULL);
        if (!round->out[i].text) round->out[i].text = result_text(job->result);
    }
    return round;
}

size_t tool_round_count(const tool_round *round) { return round ? round->n : 0; }

const tool_round_call *tool_round_get(const tool_round *round, size_t i) {
    return round && i < round->n ? &round->out[i] : NULL;
}

void tool_round_free(tool_round *round) {
    if (!round) return;
    for (size_t i = 0; round->out && i < round->n; i++) {
        free(round->out[i].arguments);
        free(round->out[i].text);
        if (round->jobs) ember_tool_result_destroy(round->jobs[i].result);
        if (round->zooms) zoom_outcome_free(&round->zooms[i]);
    }
    free(round->out);
    free(round->jobs);
    free(round->zooms);
    json_decref(round->calls);
    free(round);
}
