/*
 * fuzz_server_artifacts.c — libFuzzer target for artifact extraction: any bytes as a model's
 * answer (fences of every length and kind, unclosed blocks, titles, invalid UTF-8). Every
 * artifact found must be a well-formed object.
 */
#include "server/artifacts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *list = srv_artifacts_extract((const char *)data, size);
    if (!list) return 0;
    if (json_array_size(list) > SRV_ARTIFACTS_MAX) abort();
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        const char *type = json_string_value(json_object_get(a, "type"));
        if (!type || (strcmp(type, "html") != 0 && strcmp(type, "svg") != 0)) abort();
        if (!json_is_string(json_object_get(a, "title")) || !json_is_string(json_object_get(a, "content"))) abort();
        if (json_string_length(json_object_get(a, "content")) > size) abort();
    }
    json_decref(list);
    return 0;
}
