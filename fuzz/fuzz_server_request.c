/*
 * fuzz_server_request.c — libFuzzer target for the server's request parser: any bytes as a
 * POST /v1/chat/completions body (messages, content parts, tools, stop strings, the ember
 * object, response_format schemas through the GBNF converter). The first byte picks the chat
 * format. Parsing must answer true or a 4xx error, never crash, leak or overflow.
 */
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
        srv_request_free(&req);
    } else {
        if (err.status < 400 || err.status > 599) abort();
        char *json = srv_error_json(&err);
        if (!json) abort();
        free(json);
    }
    return 0;
}
