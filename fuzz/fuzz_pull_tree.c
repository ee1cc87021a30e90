/*
 * fuzz_pull_tree.c — the Hub's answers as ember parses them: a tree page (then file
 * selection over whatever it yielded), model info, a Link header, and file names.
 */
#include "pull/hub.h"
#include "pull/select.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *json = (const char *)data;
    ember_error err;

    hub_file_list list = {0};
    if (hub_parse_tree(json, size, &list, &err) == EMBER_OK) {
        static pull_selection sel;
        static const char *const quants[] = {NULL, "Q4_K_M", "q8", "F16", "-00001-of-"};
        for (size_t q = 0; q < sizeof quants / sizeof quants[0]; q++)
            if (pull_select(&list, "o/m", quants[q], &sel, &err) == EMBER_OK) {
                if (sel.n_parts < 1 || sel.n_parts > PULL_MAX_PARTS) abort();
                for (int p = 0; p < sel.n_parts; p++)
                    if (sel.parts[p] >= list.count) abort();
                if (sel.mmproj >= (long)list.count) abort();
            }
    }
    hub_file_list_free(&list);

    hub_model_info info;
    hub_parse_model_info(json, size, &info, &err);

    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char url[256], label[64];
    if (hub_link_next(text, url, sizeof url) && strlen(url) >= sizeof url) abort();
    pull_quant_label(text, label, sizeof label);
    unsigned idx, cnt;
    size_t stem;
    if (pull_split_info(text, &idx, &cnt, &stem) && (idx == 0 || idx > cnt || stem >= strlen(text)))
        abort();
    free(text);
    return 0;
}
