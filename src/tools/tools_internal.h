/*
 * tools_internal.h — what the tool modules share inside libember: the result object they
 * fill, the registry's resolved options, the clock, and each built-in tool's entry point.
 *
 * Invariants:
 *   - A tool's call function receives a result already named after the tool, with status
 *     EMBER_OK and empty output; it sets output and details, or fails it with tool_result_fail.
 *     It never returns early without leaving the result readable, never crashes on bad input.
 *   - Every string put into a result goes through utf8_sanitize first (jansson refuses
 *     invalid UTF-8), which tool_result_set_output does for the caller.
 *   - Deadlines are absolute seconds on the monotonic clock (ember_now_s()).
 *   - Call functions are reentrant: any number may run at once on different threads.
 */
#ifndef EMBER_TOOLS_INTERNAL_H
#define EMBER_TOOLS_INTERNAL_H

#include "ember.h"
#include "core/clock.h"
#include "core/strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The result of one call; see ember_tool_result_* in ember.h. */
struct ember_tool_result {
    char *name;             /* the tool called, as the caller spelled it */
    ember_status status;    /* EMBER_OK when the tool did its job */
    char *output;           /* main text for the model; never NULL */
    char *error;            /* readable message when status != EMBER_OK, else NULL */
    bool has_exit_status;   /* exit_status is meaningful (python) */
    int exit_status;        /* process exit code, or 128 + signal */
    json_t *details;        /* object of tool-specific fields merged into the JSON; owned */
    double duration_ms;     /* wall time of the call */
};

ember_tool_result *tool_result_new(const char *name);
/* Replaces the output with a sanitized copy of text[0..len). False on allocation failure. */
bool tool_result_set_output(ember_tool_result *res, const char *text, size_t len);
/* Marks the result failed with a formatted message (the first failure wins). */
void tool_result_fail(ember_tool_result *res, ember_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a detail field; steals `value` (NULL is ignored). */
void tool_result_detail(ember_tool_result *res, const char *key, json_t *value);
/* A JSON string from arbitrary bytes (invalid UTF-8 replaced); NULL on allocation failure. */
json_t *tool_json_string(const char *text, size_t len);

/* Milliseconds left until `deadline`, at least 0, at most INT_MAX. */
int tool_ms_left(double deadline);

/* The registry's options with every default filled in and strings owned by the registry. */
typedef struct tool_config {
    const char *python_path;
    int python_cpu_seconds;
    size_t python_memory_bytes;
    int python_max_processes;
    size_t python_output_bytes;
    size_t python_file_bytes;
    size_t fetch_max_bytes;
    int fetch_max_redirects;        /* already resolved: 0 means follow none */
    size_t fetch_max_chars;
    bool fetch_allow_loopback;
    const char *user_agent;
    const char *search_url;         /* NULL when web_search is off */
    int search_max_results;
    double mcp_start_timeout;
} tool_config;

/* A built-in tool. `call` gets the parsed arguments (always a JSON object). */
typedef void (*tool_call_fn)(const tool_config *cfg, const json_t *args, double deadline,
                             ember_tool_result *res);

typedef struct tool_builtin {
    const char *name;
    const char *description;   /* for the model (python's gets its limits appended) */
    const char *parameters;    /* JSON Schema of the arguments, as JSON text */
    tool_call_fn call;
} tool_builtin;

void tool_calculator_call(const tool_config *cfg, const json_t *args, double deadline,
                          ember_tool_result *res);
void tool_python_call(const tool_config *cfg, const json_t *args, double deadline,
                      ember_tool_result *res);
void tool_fetch_call(const tool_config *cfg, const json_t *args, double deadline,
                     ember_tool_result *res);
void tool_search_call(const tool_config *cfg, const json_t *args, double deadline,
                      ember_tool_result *res);

/* Argument helpers: read an optional field of the right type. They fail `res` (status
 * EMBER_ERR_INVALID, naming the field) and return false when the field has the wrong type
 * or, for required fields, is missing. */
bool tool_arg_string(const json_t *args, const char *key, bool required, const char **out,
                     ember_tool_result *res);
bool tool_arg_number(const json_t *args, const char *key, double *out, bool *present,
                     ember_tool_result *res);

#endif
