/*
 * fuzz_server_request.c — libFuzzer target for the server's request parser: any bytes as a
 * POST /v1/chat/completions body (messages, content parts, tools, stop strings, the ember
 * object, response_format schemas through the GBNF converter). The first byte picks the chat
 * format. Parsing must answer true or a 4xx error, never crash, leak or overflow. A parsed
 * request's tool_choice is checked, and its tools go through the tool-call grammar builders
 * (lazy and forced), which must not crash or leak on any definitions either.
 */
#include "agent/tool_grammar.h"
#include "server/request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    srv_request_limits limits = {
        .chat_format = data[0] & 1 ? "chatml-think" : "muse-glimmer",
        .max_agents = 8,
        .n_ctx = 4096,
    };
    srv_request req;
    srv_error err;
    memset(&err, 0, sizeof err);
    if (srv_request_parse((const char *)data + 1, size - 1, &limits, &req, &err)) {
        if (req.n_messages < 1) abort();
        srv_error choice_err;
        memset(&choice_err, 0, sizeof choice_err);
        if (!srv_request_check_tool_choice(&req, req.tools_json, &choice_err) && choice_err.status != 400) abort();
        char *grammar = NULL, *trigger = NULL;
        if (ember_tool_grammar(limits.chat_format, req.tools_json, &grammar, &trigger, NULL) == EMBER_OK &&
            (!grammar || !trigger))
            abort();
        free(grammar);
        free(trigger);
        tool_force force;
        if (tool_force_plan(limits.chat_format, req.tools_json, req.tool_choice_name, data[0] & 2, &force, NULL) == EMBER_OK)
            tool_force_free(&force);
        srv_request_free(&req);
    } else {
        if (err.status < 400 || err.status > 599) abort();
        char *json = srv_error_json(&err);
        if (!json) abort();
        free(json);
    }
    return 0;
}
