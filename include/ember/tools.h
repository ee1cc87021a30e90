/*
 * ember/tools.h — the tools a model can call (built-ins and MCP servers) and their registry.
 * Threads: see below ("Threads:").
 */
#ifndef EMBER_PUBLIC_TOOLS_H
#define EMBER_PUBLIC_TOOLS_H

#include "ember/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Tools                                                                                    */
/*
 * The tools the model can call, and the registry the agent loop calls them through.
 *
 *   1. An ember_tools registry knows every tool it can offer: the built-ins — calculator,
 *      python (in a bubblewrap sandbox), web_fetch, web_search (only with a search
 *      endpoint) — and the tools of the stdio MCP servers named in its config, as
 *      "SERVER.TOOL". Creating the registry starts those servers (initialize, tools/list).
 *   2. Tools are offered once enabled. Their definitions are a JSON array of OpenAI-style
 *      {"type":"function","function":{"name","description","parameters"}} objects that
 *      the chat layer renders into the prompt.
 *   3. A call names a tool, passes its arguments as JSON text and a time limit, and always
 *      yields an ember_tool_result: an unknown tool, bad arguments, a failure or a timeout
 *      is a result with an error, never a crash. Results serialize to JSON:
 *        {"name", "ok", "output", "error"?, "status"?, "exit_status"?, …tool fields…,
 *         "duration_ms" (whole milliseconds)}
 *      (python adds "stdout", "stderr", "truncated"; web_fetch "url", "final_url",
 *      "http_status", "content_type", "title", "truncated"; web_search "query", "results").
 *
 * Threads: enable before calling; after that any number of ember_tools_call may run at
 * once from any threads (calls to one MCP server take turns). Destroy when no call runs.
 */
typedef struct ember_tools ember_tools;
typedef struct ember_tool_result ember_tool_result;

typedef struct ember_tools_options {
    /* python */
    const char *python_path;        /* interpreter, under /usr; NULL = /usr/bin/python3 */
    int python_cpu_seconds;         /* CPU time per run (RLIMIT_CPU); 0 = 10 */
    size_t python_memory_bytes;     /* address space (RLIMIT_AS); 0 = 1 GiB */
    int python_max_processes;       /* tasks a run may add (RLIMIT_NPROC; as root the sandbox
                                       runs as uid 65534, whose runs share it); 0 = 64 */
    size_t python_output_bytes;     /* stdout and stderr kept, each; the rest is cut; 0 = 64 KiB */
    size_t python_file_bytes;       /* largest file it may write (RLIMIT_FSIZE); 0 = 64 MiB */
    /* web_fetch */
    size_t fetch_max_bytes;         /* body bytes downloaded at most; 0 = 4 MiB */
    int fetch_max_redirects;        /* redirects followed; 0 = 5, negative = none */
    size_t fetch_max_chars;         /* text bytes returned at most; 0 = 100000 */
    bool fetch_allow_loopback;      /* for tests: allow 127/8 and ::1 (nothing else private) */
    const char *user_agent;         /* NULL = "ember/0.1 (+tools)" */
    /* web_search */
    const char *search_url;         /* SearxNG-compatible endpoint, queried as
                                       URL?q=…&format=json; NULL or "" = web_search off */
    int search_max_results;         /* 0 = 8 */
    /* MCP */
    const char *mcp_config_path;    /* {"mcpServers": {…}} file; NULL = no MCP servers */
    double mcp_start_timeout;       /* seconds for a server's start and handshake; 0 = 20 */
    /* calls */
    double default_timeout;         /* seconds for calls that pass timeout 0; 0 = 60 */
} ember_tools_options;

EMBER_API void ember_tools_options_init(ember_tools_options *options);

/* Creates a registry with nothing enabled; options may be NULL for the defaults. Starts the
 * configured MCP servers: fails with EMBER_ERR_NOT_FOUND (no config file, no such command),
 * EMBER_ERR_FORMAT or EMBER_ERR_UNSUPPORTED (a bad config, a non-stdio server) and
 * EMBER_ERR_IO / EMBER_ERR_TIMEOUT when a server does not start; the message names it. */
EMBER_API ember_status ember_tools_create(const ember_tools_options *options,
                                          ember_tools **tools, ember_error *err);
EMBER_API void ember_tools_destroy(ember_tools *tools);

/* Enables a comma-separated list: "calculator", "python", "web_fetch", "web_search",
 * "SERVER.TOOL", "SERVER.*" (all of a server's tools), "mcp" (every MCP tool), "all"
 * (every built-in that is configured, and every MCP tool), "none" (disables everything).
 * All or nothing: an unknown name fails with EMBER_ERR_NOT_FOUND, web_search without an
 * endpoint with EMBER_ERR_UNSUPPORTED, and nothing changes. */
EMBER_API ember_status ember_tools_enable(ember_tools *tools, const char *list, ember_error *err);

/* Enabled tools, in registry order (built-ins, then MCP servers in config order). */
EMBER_API size_t ember_tools_count(const ember_tools *tools);
EMBER_API const char *ember_tools_name(const ember_tools *tools, size_t index);
EMBER_API bool ember_tools_is_enabled(const ember_tools *tools, const char *name);

/* The enabled tools' definitions as a JSON array (see above); caller frees with free(). */
EMBER_API char *ember_tools_definitions_json(const ember_tools *tools);

/* Calls an enabled tool. `arguments` is a JSON object as text (NULL or "" = {});
 * timeout_s <= 0 uses the default. Returns EMBER_OK with a result whenever the call was
 * attempted — check ember_tool_result_status for the tool's own outcome — and fails only
 * for NULL parameters (EMBER_ERR_INVALID) or out of memory. */
EMBER_API ember_status ember_tools_call(ember_tools *tools, const char *name,
                                        const char *arguments, double timeout_s,
                                        ember_tool_result **result, ember_error *err);

/* The tool's outcome: EMBER_OK, or EMBER_ERR_NOT_FOUND (no such tool or not enabled),
 * EMBER_ERR_INVALID (bad arguments, a syntax or domain error, a refused URL),
 * EMBER_ERR_UNSUPPORTED (the tool cannot run here: no sandbox, no search endpoint, binary
 * content), EMBER_ERR_TIMEOUT (time or CPU limit), EMBER_ERR_IO (the tool failed while
 * running: network, HTTP error status, server error, MCP tool error). */
EMBER_API ember_status ember_tool_result_status(const ember_tool_result *result);
EMBER_API const char *ember_tool_result_name(const ember_tool_result *result);
/* The text for the model (python: stdout, then a labeled stderr and notes); never NULL. */
EMBER_API const char *ember_tool_result_output(const ember_tool_result *result);
/* A readable message when the status is not EMBER_OK, else NULL. */
EMBER_API const char *ember_tool_result_error(const ember_tool_result *result);
/* True (and *exit_status set) when the tool ran a process: exit code, or 128 + signal. */
EMBER_API bool ember_tool_result_exit_status(const ember_tool_result *result, int *exit_status);
EMBER_API double ember_tool_result_duration_ms(const ember_tool_result *result);
/* The result as one JSON object (see above); caller frees with free(). */
EMBER_API char *ember_tool_result_json(const ember_tool_result *result);
EMBER_API void ember_tool_result_destroy(ember_tool_result *result);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_PUBLIC_TOOLS_H */
