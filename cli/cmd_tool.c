/*
 * cmd_tool.c — `ember tool NAME 'JSON-ARGS'`: runs one tool directly and prints its result
 * as JSON (one line); `ember tool --list` prints the definitions of every available tool.
 * Exit status: 0 when the tool succeeded, 1 when it failed (the JSON says why), 2 for usage.
 */
#include "commands.h"
#include "ember.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ember tool [options] NAME ['JSON-ARGS']\n"
    "       ember tool [options] --list\n"
    "Runs one tool and prints its result as JSON. NAME is calculator, python, web_fetch,\n"
    "web_search or SERVER.TOOL of an MCP server. JSON-ARGS defaults to {} ('-' reads stdin).\n"
    "options:\n"
    "  --mcp-config FILE   start the MCP servers of FILE ({\"mcpServers\": {...}})\n"
    "  --search-url URL    SearxNG-compatible endpoint for web_search\n"
    "  --allow-loopback    let web_fetch reach 127.0.0.1 and ::1 (testing)\n"
    "  --timeout SECONDS   time limit of the call (default 60)\n"
    "  --list              print the tools' definitions (JSON) instead of calling one\n";

static char *read_stdin(void) {
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                return NULL;
            }
            buf = b, cap *= 2;
        }
    }
    buf[len] = '\0';
    return buf;
}

int ember_cmd_tool(int argc, char **argv) {
    ember_tools_options opt;
    ember_tools_options_init(&opt);
    const char *name = NULL, *args = NULL;
    double timeout = 0;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--allow-loopback") == 0) {
            opt.fetch_allow_loopback = true;
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else if ((strcmp(a, "--mcp-config") == 0 || strcmp(a, "--search-url") == 0 ||
                    strcmp(a, "--timeout") == 0) && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(a, "--mcp-config") == 0) {
                opt.mcp_config_path = v;
            } else if (strcmp(a, "--search-url") == 0) {
                opt.search_url = v;
            } else {
                char *end;
                timeout = strtod(v, &end);
                if (end == v || *end || timeout <= 0) {
                    fprintf(stderr, "ember tool: --timeout needs a positive number of seconds\n");
                    return 2;
                }
            }
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "ember tool: unknown or incomplete option '%s'\n%s", a, usage);
            return 2;
        } else if (!name) {
            name = a;
        } else if (!args) {
            args = a;
        } else {
            fprintf(stderr, "ember tool: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!name && !list) {
        fputs(usage, stderr);
        return 2;
    }

    ember_tools *tools;
    ember_error err = {0};
    if (ember_tools_create(&opt, &tools, &err) != EMBER_OK) {
        fprintf(stderr, "ember tool: %s\n", err.message);
        return 1;
    }
    int rc = 0;
    if (list) {
        char *defs = NULL;
        if (ember_tools_enable(tools, "all", &err) == EMBER_OK) defs = ember_tools_definitions_json(tools);
        if (defs) printf("%s\n", defs);
        else fprintf(stderr, "ember tool: %s\n", err.message[0] ? err.message : "out of memory");
        rc = defs ? 0 : 1;
        free(defs);
        ember_tools_destroy(tools);
        return rc;
    }
    /* Enable just this tool. A tool that cannot be enabled (web_search without an endpoint)
     * is still called, so that its error comes back as a JSON result like any other. */
    ember_tools_enable(tools, name, NULL);
    char *input = NULL;
    if (args && strcmp(args, "-") == 0) {
        input = read_stdin();
        if (!input) {
            fprintf(stderr, "ember tool: cannot read the arguments from stdin\n");
            ember_tools_destroy(tools);
            return 1;
        }
        args = input;
    }
    ember_tool_result *res = NULL;
    if (ember_tools_call(tools, name, args, timeout, &res, &err) != EMBER_OK) {
        fprintf(stderr, "ember tool: %s\n", err.message);
        rc = 1;
    } else {
        char *json = ember_tool_result_json(res);
        if (json) printf("%s\n", json);
        rc = json && ember_tool_result_status(res) == EMBER_OK ? 0 : 1;
        free(json);
    }
    ember_tool_result_destroy(res);
    free(input);
    ember_tools_destroy(tools);
    return rc;
}
