/*
 * test_pull_units.c — the pure parts of src/pull, compiled into this test: quantization
 * labels and split names, file selection, the Hub's JSON and Link headers, Hub error
 * messages, manifests and name matching, path safety.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pull/hub.h"
#include "pull/manifest.h"
#include "pull/select.h"
#include "pull/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_quant_labels(void **state) {
    static const char *const cases[][2] = {
        {"Muse-Glimmer-30B-Q4_K_M.gguf", "Q4_K_M"},
        {"muse-glimmer-30b-q4_k_m.gguf", "Q4_K_M"},
        {"Muse-Glimmer-30B-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"},
        {"Q4_K_M/Muse-Glimmer-30B-Q4_K_M-00001-of-00003.gguf", "Q4_K_M"},
        {"model.Q8_0.gguf", "Q8_0"},
        {"Qwen3-8B-BF16.gguf", "BF16"},
        {"Qwen3-8B-IQ4_XS.gguf", "IQ4_XS"},
        {"gpt-oss-20b-MXFP4.gguf", "MXFP4"},
        {"mmproj-F16.gguf", "F16"},
        {"mmproj-model-f32.gguf", "F32"},
        {"model.gguf", "model"},
        {"Qwen3-8B.gguf", "Qwen3-8B"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char label[64];
        pull_quant_label(cases[i][0], label, sizeof label);
        assert_string_equal(label, cases[i][1]);
    }
    char tiny[4];
    pull_quant_label("x-Q4_K_M.gguf", tiny, sizeof tiny); /* truncates, stays terminated */
    assert_string_equal(tiny, "Q4_");
}

static void test_split_names(void **state) {
    unsigned idx, cnt;
    size_t stem;
    assert_true(pull_split_info("a/M-Q4_K_M-00002-of-00003.gguf", &idx, &cnt, &stem));
    assert_int_equal(idx, 2);
    assert_int_equal(cnt, 3);
    assert_int_equal(stem, strlen("a/M-Q4_K_M"));
    assert_false(pull_split_info("M-Q4_K_M-0002-of-00003.gguf", &idx, &cnt, &stem));
    assert_false(pull_split_info("M-00004-of-00003.gguf", &idx, &cnt, &stem));
    assert_false(pull_split_info("M-00000-of-00003.gguf", &idx, &cnt, &stem));
    assert_false(pull_split_info("-00001-of-00003.gguf", &idx, &cnt, &stem));
    assert_false(pull_split_info("M-00001-of-00003.bin", &idx, &cnt, &stem));
}

static void add(hub_file_list *list, const char *path, uint64_t size) {
    list->items = realloc(list->items, (list->count + 1) * sizeof *list->items);
    hub_file *f = &list->items[list->count++];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->size = size;
    memset(f->sha256, 'a', 64);
}

static void test_select(void **state) {
    hub_file_list list = {0};
    add(&list, "README.md", 1);
    add(&list, "M-BF16.gguf", 10);
    add(&list, "M-Q4_K_M.gguf", 4);
    add(&list, "M-UD-Q4_K_XL.gguf", 5);
    add(&list, "Q8_0/M-Q8_0-00002-of-00002.gguf", 8); /* listed out of order */
    add(&list, "Q8_0/M-Q8_0-00001-of-00002.gguf", 8);
    add(&list, "mmproj-M-F32.gguf", 3);
    add(&list, "mmproj-M-Q8_0.gguf", 1);
    add(&list, "mmproj-M-BF16.gguf", 2);
    pull_selection sel;
    ember_error err;

    assert_int_equal(pull_select(&list, "o/M", NULL, &sel, &err), EMBER_OK);
    assert_string_equal(sel.quant, "Q4_K_M");
    assert_int_equal(sel.n_parts, 1);
    assert_string_equal(list.items[sel.parts[0]].path, "M-Q4_K_M.gguf");
    assert_string_equal(list.items[sel.mmproj].path, "mmproj-M-BF16.gguf"); /* no F16: BF16 */

    assert_int_equal(pull_select(&list, "o/M", "q8_0", &sel, &err), EMBER_OK);
    assert_string_equal(sel.quant, "Q8_0");
    assert_int_equal(sel.n_parts, 2);
    assert_string_equal(list.items[sel.parts[0]].path, "Q8_0/M-Q8_0-00001-of-00002.gguf");
    assert_string_equal(list.items[sel.parts[1]].path, "Q8_0/M-Q8_0-00002-of-00002.gguf");

    assert_int_equal(pull_select(&list, "o/M", "UD-Q4_K_XL", &sel, &err), EMBER_OK);
    assert_string_equal(sel.quant, "UD-Q4_K_XL");
    /* a substring of the file name when no label equals it */
    assert_int_equal(pull_select(&list, "o/M", "Q4_K_X", &sel, &err), EMBER_OK);
    assert_string_equal(list.items[sel.parts[0]].path, "M-UD-Q4_K_XL.gguf");
    assert_string_equal(sel.quant, "Q4_K_X");
    /* ambiguous substring */
    assert_int_equal(pull_select(&list, "o/M", "Q4_K", &sel, &err), EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "M-Q4_K_M.gguf"));
    /* missing */
    assert_int_equal(pull_select(&list, "o/M", "Q2_K", &sel, &err), EMBER_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "available: BF16, Q4_K_M, UD-Q4_K_XL, Q8_0"));

    /* an incomplete split model */
    free(list.items[4].path);
    list.items[4].path = strdup("Q8_0/M-Q8_0-00002-of-00003.gguf");
    assert_int_equal(pull_select(&list, "o/M", "Q8_0", &sel, &err), EMBER_ERR_FORMAT);
    hub_file_list_free(&list);

    /* no GGUF at all; projector-only repos have no model either */
    add(&list, "model.safetensors", 1);
    add(&list, "mmproj-F16.gguf", 1);
    assert_int_equal(pull_select(&list, "o/M", NULL, &sel, &err), EMBER_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "no GGUF"));
    hub_file_list_free(&list);

    /* without Q4_K_M the first GGUF is the default; no projector → -1 */
    add(&list, "X-Q8_0.gguf", 1);
    add(&list, "X-F16.gguf", 1);
    assert_int_equal(pull_select(&list, "o/X", "", &sel, &err), EMBER_OK);
    assert_string_equal(sel.quant, "Q8_0");
    assert_int_equal(sel.mmproj, -1);
    hub_file_list_free(&list);
}

static const char tree_json[] =
    "[{\"type\":\"directory\",\"oid\":\"0000000000000000000000000000000000000000\",\"size\":0,"
    "\"path\":\"Q4_K_M\"},"
    "{\"type\":\"file\",\"oid\":\"ABCDEF0123456789abcdef0123456789abcdef01\",\"size\":12,"
    "\"path\":\"README.md\"},"
    "{\"type\":\"file\",\"oid\":\"1111111111111111111111111111111111111111\",\"size\":999,"
    "\"path\":\"Q4_K_M/M-Q4_K_M.gguf\",\"lfs\":{\"oid\":"
    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"size\":999,"
    "\"pointerSize\":134},\"xetHash\":\"ff\"},"
    "{\"type\":\"file\",\"oid\":\"1111111111111111111111111111111111111111\",\"size\":1,"
    "\"path\":\"../escape.gguf\"},"
    "{\"type\":\"file\",\"size\":1,\"path\":\"/abs.gguf\"},"
    "{\"type\":\"file\",\"size\":1,\"path\":\".git/config\"},"
    "{\"type\":\"file\",\"size\":-1,\"path\":\"neg.gguf\"},"
    "{\"type\":\"file\",\"size\":\"12\",\"path\":\"str.gguf\"},"
    "{\"type\":\"file\",\"size\":5,\"path\":\"badlfs.gguf\",\"lfs\":{\"oid\":\"xyz\"}},"
    "{\"type\":\"file\",\"size\":5,\"path\":\"a\\\\b.gguf\"},"
    "7, null, {\"type\":\"file\"}]";

static void test_parse_tree(void **state) {
    hub_file_list list = {0};
    ember_error err;
    assert_int_equal(hub_parse_tree(tree_json, strlen(tree_json), &list, &err), EMBER_OK);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.items[0].path, "README.md");
    assert_string_equal(list.items[0].git_oid, "abcdef0123456789abcdef0123456789abcdef01");
    assert_string_equal(list.items[0].sha256, "");
    assert_string_equal(list.items[1].path, "Q4_K_M/M-Q4_K_M.gguf");
    assert_int_equal(list.items[1].size, 999);
    assert_string_equal(list.items[1].sha256,
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_string_equal(list.items[1].git_oid, "");
    /* pages append */
    assert_int_equal(hub_parse_tree(tree_json, strlen(tree_json), &list, &err), EMBER_OK);
    assert_int_equal(list.count, 4);
    hub_file_list_free(&list);

    assert_int_equal(hub_parse_tree("{}", 2, &list, &err), EMBER_ERR_FORMAT);
    assert_int_equal(hub_parse_tree("<html>", 6, &list, &err), EMBER_ERR_FORMAT);
    assert_int_equal(hub_parse_tree("[]", 2, &list, &err), EMBER_OK);
    assert_int_equal(list.count, 0);

    hub_model_info info;
    const char *json = "{\"id\":\"o/m\",\"sha\":\"0123456789ABCDEF0123456789abcdef01234567\","
                       "\"gated\":\"manual\"}";
    assert_int_equal(hub_parse_model_info(json, strlen(json), &info, &err), EMBER_OK);
    assert_string_equal(info.sha, "0123456789abcdef0123456789abcdef01234567");
    assert_true(info.gated);
    json = "{\"sha\":\"short\",\"gated\":false}";
    assert_int_equal(hub_parse_model_info(json, strlen(json), &info, &err), EMBER_OK);
    assert_string_equal(info.sha, "");
    assert_false(info.gated);
    assert_int_equal(hub_parse_model_info("[1]", 3, &info, &err), EMBER_ERR_FORMAT);
}

static void test_link_next(void **state) {
    char url[256];
    assert_true(hub_link_next("<https://h/api/x?cursor=abc>; rel=\"next\"", url, sizeof url));
    assert_string_equal(url, "https://h/api/x?cursor=abc");
    assert_true(hub_link_next("<https://h/1>; rel=\"prev\", <https://h/3>; rel=\"next\"", url, sizeof url));
    assert_string_equal(url, "https://h/3");
    assert_true(hub_link_next("<https://h/3>; rel=next", url, sizeof url));
    assert_false(hub_link_next("<https://h/1>; rel=\"prev\"", url, sizeof url));
    assert_false(hub_link_next("<https://h/1>; rel=\"nextish\"", url, sizeof url));
    assert_false(hub_link_next("", url, sizeof url));
    assert_false(hub_link_next("<unterminated; rel=\"next\"", url, sizeof url));
    assert_false(hub_link_next("<https://h/long>; rel=\"next\"", url, 5));
}

static void test_hub_errors(void **state) {
    hub_client anon, auth;
    ember_error err;
    assert_int_equal(hub_client_init(&anon, "https://hub.example/", "", NULL, &err), EMBER_OK);
    assert_string_equal(anon.endpoint, "https://hub.example");
    assert_int_equal(hub_client_init(&auth, "https://hub.example", "hf_x", NULL, &err), EMBER_OK);
    assert_string_equal(auth.auth_header, "Authorization: Bearer hf_x");
    assert_int_equal(hub_client_init(&auth, "https://hub.example", "hf x", NULL, &err), EMBER_ERR_INVALID);
    assert_int_equal(hub_client_init(&auth, "file:///etc", "hf_x", NULL, &err), EMBER_ERR_INVALID);
    assert_int_equal(hub_client_init(&auth, "https://hub.example", "hf_x", NULL, &err), EMBER_OK);

    assert_int_equal(hub_http_error(&anon, "o/m", "repository", 401, "RepoNotFound", "", &err),
                     EMBER_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "HF_TOKEN"));
    assert_int_equal(hub_http_error(&auth, "o/m", "repository", 404, "RepoNotFound", "", &err),
                     EMBER_ERR_NOT_FOUND);
    assert_null(strstr(err.message, "HF_TOKEN"));
    assert_int_equal(hub_http_error(&anon, "o/m", "m.gguf", 401, "GatedRepo", "", &err), EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "set HF_TOKEN"));
    assert_non_null(strstr(err.message, "https://hub.example/o/m"));
    assert_int_equal(hub_http_error(&auth, "o/m", "m.gguf", 403, "GatedRepo", "", &err), EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "no access"));
    assert_int_equal(hub_http_error(&auth, "o/m", "repository", 401, "",
                                    "Invalid credentials in Authorization header", &err),
                     EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "rejected HF_TOKEN"));
    assert_int_equal(hub_http_error(&auth, "o/m", "m.gguf", 404, "EntryNotFound", "", &err),
                     EMBER_ERR_NOT_FOUND);
    assert_int_equal(hub_http_error(&auth, "o/m", "m.gguf", 429, "", "", &err), EMBER_ERR_IO);
    assert_int_equal(hub_http_error(&auth, "o/m", "m.gguf", 503, "", "", &err), EMBER_ERR_IO);

    char url[256];
    assert_true(hub_resolve_url(&anon, "o/m", "main", "Q4 K/a+b.gguf", url, sizeof url));
    assert_string_equal(url, "https://hub.example/o/m/resolve/main/Q4%20K/a%2Bb.gguf");
    assert_false(hub_resolve_url(&anon, "o/m", "main", "a.gguf", url, 20));
}

static void test_paths_and_repos(void **state) {
    assert_true(pull_path_is_safe("a.gguf"));
    assert_true(pull_path_is_safe("Q4_K_M/a-00001-of-00002.gguf"));
    const char *bad[] = {"", "/a", "../a", "a/../b", "a/./b", "a//b", "a/", ".git/x", "a\\b",
                         "a\nb", "./a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_false(pull_path_is_safe(bad[i]));
    assert_true(pull_repo_is_valid("unsloth/Muse-Glimmer-30B-GGUF"));
    assert_true(pull_repo_is_valid("a/b.c_d"));
    const char *bad_repos[] = {"a", "a/b/c", "/b", "a/", "../b", "a/..", "a/b..c", "-a/b",
                               "a/.b", "a b/c", "a/b:c"};
    for (size_t i = 0; i < sizeof bad_repos / sizeof bad_repos[0]; i++)
        assert_false(pull_repo_is_valid(bad_repos[i]));
    assert_int_equal(pull_time_parse("2025-06-01T12:00:00Z"), 1748779200);
    assert_int_equal(pull_time_parse("2025-06-01 12:00:00"), -1);
    assert_int_equal(pull_time_parse("2025-13-01T12:00:00Z"), -1);
    char t[32];
    pull_time_format(1748779200, t);
    assert_string_equal(t, "2025-06-01T12:00:00Z");
    char s[32];
    pull_size_format(999, s);
    assert_string_equal(s, "999 B");
    pull_size_format(1500000, s);
    assert_string_equal(s, "1.50 MB");
    pull_size_format(18600000000ull, s);
    assert_string_equal(s, "18.6 GB");
}

static void make_manifest(pull_manifest *m, const char *repo, const char *quant) {
    memset(m, 0, sizeof *m);
    snprintf(m->repo, sizeof m->repo, "%s", repo);
    snprintf(m->quant, sizeof m->quant, "%s", quant);
    snprintf(m->revision, sizeof m->revision, "main");
    m->pulled_at = 1748779200;
    m->n_files = 2;
    m->files = calloc(2, sizeof *m->files);
    m->files[0].path = strdup("M-Q4_K_M.gguf");
    m->files[0].size = 10;
    memset(m->files[0].sha256, 'b', 64);
    m->files[1].path = strdup("mmproj-F16.gguf");
    m->files[1].mmproj = true;
    m->files[1].size = 3;
    memset(m->files[1].git_oid, 'c', 40);
}

static void test_manifest_roundtrip(void **state) {
    pull_manifest m, back;
    ember_error err;
    make_manifest(&m, "o/M-GGUF", "Q4_K_M");
    char *text = pull_manifest_dump(&m);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"name\": \"o/M-GGUF:Q4_K_M\""));
    assert_non_null(strstr(text, "\"last_used\": null"));
    assert_int_equal(pull_manifest_parse(text, strlen(text), &back, &err), EMBER_OK);
    assert_string_equal(back.repo, "o/M-GGUF");
    assert_string_equal(back.quant, "Q4_K_M");
    assert_int_equal(back.n_files, 2);
    assert_false(back.files[0].mmproj);
    assert_true(back.files[1].mmproj);
    assert_string_equal(back.files[1].git_oid, m.files[1].git_oid);
    assert_int_equal(back.pulled_at, m.pulled_at);
    assert_int_equal(back.last_used, 0);
    free(text);
    pull_manifest_free(&back);

    const char *bad[] = {
        "{}", "[]", "{\"format\":2}",
        "{\"format\":1,\"repo\":\"o/m\",\"quant\":\"Q\",\"pulled_at\":\"2025-06-01T12:00:00Z\","
        "\"files\":[{\"path\":\"../x\",\"role\":\"model\",\"size\":1,\"sha256\":"
        "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}]}",
        "{\"format\":1,\"repo\":\"o/m\",\"quant\":\"../Q\",\"pulled_at\":\"2025-06-01T12:00:00Z\","
        "\"files\":[]}",
        "{\"format\":1,\"repo\":\"o/m\",\"quant\":\"Q\",\"pulled_at\":\"2025-06-01T12:00:00Z\","
        "\"files\":[{\"path\":\"x\",\"role\":\"mmproj\",\"size\":1,\"sha256\":"
        "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pull_manifest_parse(bad[i], strlen(bad[i]), &back, &err), EMBER_ERR_FORMAT);
    pull_manifest_free(&m);
}

static void test_manifest_match(void **state) {
    pull_manifest_set set = {0};
    set.count = 4;
    set.items = calloc(4, sizeof *set.items);
    make_manifest(&set.items[0], "a/Muse-GGUF", "Q4_K_M");
    make_manifest(&set.items[1], "a/Muse-GGUF", "Q8_0");
    make_manifest(&set.items[2], "b/Muse-GGUF", "Q4_K_M");
    make_manifest(&set.items[3], "b/Other", "F16");
    size_t i;
    ember_error err;
    assert_int_equal(pull_manifest_match(&set, "a/Muse-GGUF:Q8_0", &i, &err), EMBER_OK);
    assert_int_equal(i, 1);
    assert_int_equal(pull_manifest_match(&set, "A/muse-gguf:q8_0", &i, &err), EMBER_OK);
    assert_int_equal(i, 1);
    assert_int_equal(pull_manifest_match(&set, "Muse:Q8_0", &i, &err), EMBER_OK);
    assert_int_equal(i, 1);
    assert_int_equal(pull_manifest_match(&set, "b/Muse-GGUF", &i, &err), EMBER_OK);
    assert_int_equal(i, 2);
    assert_int_equal(pull_manifest_match(&set, "Other", &i, &err), EMBER_OK);
    assert_int_equal(i, 3);
    assert_int_equal(pull_manifest_match(&set, "hf.co/b/Other:F16", &i, &err), EMBER_OK);
    assert_int_equal(pull_manifest_match(&set, "a/Muse-GGUF", &i, &err), EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "a/Muse-GGUF:Q4_K_M, a/Muse-GGUF:Q8_0"));
    assert_int_equal(pull_manifest_match(&set, "Muse:Q4_K_M", &i, &err), EMBER_ERR_INVALID);
    assert_int_equal(pull_manifest_match(&set, "Muse-GGUF:Q2_K", &i, &err), EMBER_ERR_NOT_FOUND);
    assert_int_equal(pull_manifest_match(&set, "Mus", &i, &err), EMBER_ERR_NOT_FOUND);
    assert_int_equal(pull_manifest_match(&set, "", &i, &err), EMBER_ERR_INVALID);
    for (size_t k = 0; k < set.count; k++) pull_manifest_free(&set.items[k]);
    free(set.items);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quant_labels),   cmocka_unit_test(test_split_names),
        cmocka_unit_test(test_select),         cmocka_unit_test(test_parse_tree),
        cmocka_unit_test(test_link_next),      cmocka_unit_test(test_hub_errors),
        cmocka_unit_test(test_paths_and_repos), cmocka_unit_test(test_manifest_roundtrip),
        cmocka_unit_test(test_manifest_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
