/*
 * mcp.h — a client for Model Context Protocol servers over stdio.
 *
 * The config is the common JSON shape:
 *   {"mcpServers": {"NAME": {"command": "prog", "args": ["..."], "env": {"K": "V"}}}}
 * (entries with "disabled": true are skipped; servers without "command" — HTTP transports —
 * are refused). A server is a child process speaking JSON-RPC 2.0, one JSON message per
 * line, on its stdin and stdout; its stderr goes to /dev/null. Starting it means spawning
 * it, the initialize request, the notifications/initialized notification and tools/list
 * (all pages). Its tool list is read once, at the first start.
 *
 * Threads: one call at a time per server (a mutex; a caller waits for it no longer than
 * its own deadline); different servers run in parallel. A server found dead when a call
 * begins is restarted first; a server that dies during a call fails that call and is
 * restarted by the next one; a call that times out sends notifications/cancelled and then
 * stops the server (its state is unknown), which the next call restarts.
 */
#ifndef EMBER_TOOLS_MCP_H
#define EMBER_TOOLS_MCP_H

#include "ember.h"
#include "tools/tools_internal.h"

#include <jansson.h>
#include <stddef.h>

typedef struct mcp_server mcp_server;

typedef struct mcp_tool {
    char *name;            /* the server's name for it */
    char *description;     /* may be empty */
    json_t *input_schema;  /* JSON Schema object (an empty object schema if none was given) */
} mcp_tool;

/* Parses the config file into stopped servers (start each with tool_mcp_server_start).
 * Fails with EMBER_ERR_NOT_FOUND (no file), EMBER_ERR_FORMAT (not JSON or the wrong shape)
 * or EMBER_ERR_UNSUPPORTED (a non-stdio server); the message names the server. */
ember_status tool_mcp_config_load(const char *path, mcp_server ***servers, size_t *n_servers,
                             ember_error *err);

/* Spawns the server and performs the handshake and tools/list within `timeout` seconds. */
ember_status tool_mcp_server_start(mcp_server *s, double timeout, ember_error *err);

/* Calls a tool (its server-side name) with an arguments object; fills `res`. */
void tool_mcp_server_call(mcp_server *s, const char *tool, const json_t *args, double deadline,
                     ember_tool_result *res);

/* Stops the server if running (EOF on stdin, then SIGTERM, then SIGKILL) and frees it. */
void tool_mcp_server_destroy(mcp_server *s);

const char *tool_mcp_server_name(const mcp_server *s);
size_t tool_mcp_server_tool_count(const mcp_server *s);
const mcp_tool *tool_mcp_server_tool(const mcp_server *s, size_t i);
/* Times the server process was started after the first (for tests and diagnostics). */
int tool_mcp_server_restarts(mcp_server *s);

#endif
