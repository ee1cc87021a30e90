/*
 * fuzz_chat_output.c — model output is untrusted text: the incremental channel parsers of
 * both chat formats (fed in pieces cut where the input says), the tool-call parser and the
 * answer normalizer must take any bytes without crashing, leaking or reading out of bounds.
 */
#include "ember.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void sink(void *user, ember_parse_event kind, const char *text, size_t len, const char *recipient) {
    size_t *total = user;
    *total += len + (size_t)kind + (recipient ? strlen(recipient) : 0);
    if (len) *total += (unsigned char)text[len - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = 1 + data[0] % 16;  /* piece size */
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    static const char *const formats[] = {"muse-glimmer", "chatml-think"};
    for (int f = 0; f < 2; f++) {
        for (int opening = EMBER_OPEN_HEADER; opening <= EMBER_OPEN_ANSWER; opening++) {
            size_t total = 0;
            ember_parser *p = NULL;
            if (ember_parser_create(formats[f], (ember_opening)opening, sink, &total, &p, NULL) != EMBER_OK) continue;
            for (size_t i = 0; i < size - 1; i += step)
                ember_parser_feed(p, text + i, (size - 1 - i) < step ? size - 1 - i : step);
            ember_parser_finish(p);
            ember_parser_destroy(p);
        }
        char *calls = NULL;
        if (ember_tool_calls_parse(formats[f], "tool", text, NULL, &calls, NULL) == EMBER_OK) free(calls);
    }
    free(ember_answer_normalize(text));
    free(text);
    return 0;
}
