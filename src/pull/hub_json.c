/*
 * hub_json.c — parsing the Hub's API responses (see hub.h). Pure: no I/O, no globals; every
 * input is untrusted and fuzzed by fuzz/fuzz_pull_tree.c.
 */
#include "pull/digest.h"
#include "pull/hub.h"
#include "pull/util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void hub_file_list_free(hub_file_list *list) {
    if (!list) return;
    for (size_t i = 0; i < list->count; i++) free(list->items[i].path);
    free(list->items);
    list->items = NULL;
    list->count = list->cap = 0;
}

ember_status hub_parse_model_info(const char *json, size_t len, hub_model_info *info,
                                  ember_error *err) {
    memset(info, 0, sizeof *info);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return ember_fail(err, EMBER_ERR_FORMAT, "the Hub's model info is not a JSON object");
    }
    const char *sha = json_string_value(json_object_get(root, "sha"));
    if (sha && pull_is_hex(sha, 40)) {
        for (int i = 0; i < 40; i++) info->sha[i] = (char)tolower((unsigned char)sha[i]);
        info->sha[40] = '\0';
    }
    json_t *gated = json_object_get(root, "gated");
    info->gated = (json_is_true(gated)) || (json_is_string(gated) && json_string_length(gated) > 0 &&
                                           strcmp(json_string_value(gated), "false") != 0);
    json_decref(root);
    return EMBER_OK;
}

static void copy_lower_hex(char *out, const char *hex, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)hex[i]);
    out[n] = '\0';
}

/* Reads a JSON integer that is a valid byte count. */
static bool json_size(json_t *value, uint64_t *out) {
    if (!json_is_integer(value)) return false;
    json_int_t v = json_integer_value(value);
    if (v < 0) return false;
    *out = (uint64_t)v;
    return true;
}

static ember_status append_entry(json_t *entry, hub_file_list *list, ember_error *err) {
    if (!json_is_object(entry)) return EMBER_OK;
    const char *type = json_string_value(json_object_get(entry, "type"));
    if (type && strcmp(type, "file") != 0) return EMBER_OK; /* directory, unknown */
    const char *path = json_string_value(json_object_get(entry, "path"));
    if (!path || !pull_path_is_safe(path)) return EMBER_OK;
    if (strlen(path) != json_string_length(json_object_get(entry, "path"))) return EMBER_OK;

    hub_file file = {0};
    if (!json_size(json_object_get(entry, "size"), &file.size)) return EMBER_OK;
    const char *oid = json_string_value(json_object_get(entry, "oid"));
    if (oid && pull_is_hex(oid, 40)) copy_lower_hex(file.git_oid, oid, 40);
    json_t *lfs = json_object_get(entry, "lfs");
    if (json_is_object(lfs)) {
        const char *sha = json_string_value(json_object_get(lfs, "oid"));
        if (sha && strncmp(sha, "sha256:", 7) == 0) sha += 7;
        if (!sha || !pull_is_hex(sha, 64)) return EMBER_OK; /* an LFS file we cannot verify */
        copy_lower_hex(file.sha256, sha, 64);
        uint64_t lfs_size;
        if (json_size(json_object_get(lfs, "size"), &lfs_size)) file.size = lfs_size;
        file.git_oid[0] = '\0'; /* the blob id is the pointer's, not the content's */
    }

    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 32;
        hub_file *items = realloc(list->items, cap * sizeof *items);
        if (!items) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory reading the file list");
        list->items = items;
        list->cap = cap;
    }
    file.path = strdup(path);
    if (!file.path) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory reading the file list");
    list->items[list->count++] = file;
    return EMBER_OK;
}

ember_status hub_parse_tree(const char *json, size_t len, hub_file_list *list,
                            ember_error *err) {
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root || !json_is_array(root)) {
        json_decref(root);
        return ember_fail(err, EMBER_ERR_FORMAT,
                         "the Hub's file list is not a JSON array (is HF_ENDPOINT a Hub?)");
    }
    ember_status st = EMBER_OK;
    size_t i;
    json_t *entry;
    json_array_foreach(root, i, entry) {
        st = append_entry(entry, list, err);
        if (st != EMBER_OK) break;
    }
    json_decref(root);
    return st;
}

bool hub_link_next(const char *link, char *url, size_t size) {
    /* Link: <url1>; rel="next", <url2>; rel="last" */
    const char *p = link;
    while (p && *p) {
        const char *lt = strchr(p, '<');
        if (!lt) return false;
        const char *gt = strchr(lt + 1, '>');
        if (!gt) return false;
        const char *end = gt + 1;
        /* parameters run to the next ',' that starts a new link (one that is followed by '<') */
        const char *next = strchr(end, '<');
        size_t params_len = next ? (size_t)(next - end) : strlen(end);
        bool is_next = false;
        for (size_t i = 0; i + 3 < params_len; i++) {
            if (strncmp(end + i, "rel=", 4) != 0) continue;
            const char *v = end + i + 4;
            size_t vlen = params_len - i - 4;
            if (vlen > 0 && *v == '"') {
                v++;
                vlen--;
            }
            if (vlen >= 4 && strncmp(v, "next", 4) == 0 &&
                (vlen == 4 || v[4] == '"' || v[4] == ';' || v[4] == ',' || v[4] == ' '))
                is_next = true;
        }
        if (is_next) {
            size_t n = (size_t)(gt - lt - 1);
            if (n == 0 || n >= size) return false;
            memcpy(url, lt + 1, n);
            url[n] = '\0';
            return true;
        }
        p = next;
    }
    return false;
}
