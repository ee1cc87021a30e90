/*
 * fuzz_tools_html.c — HTML to text on arbitrary bytes. Checks: no crash, leak or undefined
 * behavior; the text and title are valid UTF-8 without NULs and `len` is the text's length.
 */
#include "tools/html_text.h"
#include "core/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const char *s, size_t len) {
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0 || cp == 0) abort();
        i += n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    html_text t;
    if (tool_html_to_text((const char *)data, size, &t) != 0) return 0;
    if (!t.text || strlen(t.text) != t.len) abort();
    check_utf8(t.text, t.len);
    if (t.title) check_utf8(t.title, strlen(t.title));
    tool_html_text_free(&t);

    char *decoded = tool_html_decode_entities((const char *)data, size);
    free(decoded);
    return 0;
}
