/*
 * fuzz_backend_event.c — libFuzzer target for what a remote engine streams back: any bytes as
 * one event (the first byte picks the adapter: llama-server's native shape, or vLLM/SGLang's
 * OpenAI shape) and as a tokenize response. Parsing must accept or refuse, never crash, and
 * every token it reports must carry text.
 */
#include "backend/adapter.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const remote_adapter *adapters[] = {&remote_llama_server, &remote_vllm, &remote_sglang};
    const remote_adapter *a = adapters[data[0] % 3];
    json_t *ev = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    if (!ev) return 0;
    remote_event out;
    if (a->parse_event(ev, &out)) {
        if (out.n_tokens < 0 || out.n_tokens > (int)(sizeof out.tokens / sizeof out.tokens[0])) abort();
        for (int i = 0; i < out.n_tokens; i++)
            if (!out.tokens[i].piece) abort();
    }
    (void)a->tokenize_count(ev);
    json_decref(ev);
    return 0;
}
