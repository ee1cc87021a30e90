/*
 * test_pull.c — ember_pull and the model store against a fake Hub on 127.0.0.1: full pulls,
 * resume after a dropped connection, servers that ignore Range, corrupted bytes, split
 * GGUFs, missing quantizations, unknown and gated repositories, disk space, cancellation,
 * and list / resolve / rm over what was pulled.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ember.h"
#include "fake_hub.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static fake_hub *hub;
static char models[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(path);
}

static int setup_hub(void **state) {
    hub = fake_hub_start();
    return hub ? 0 : -1;
}

static int teardown_hub(void **state) {
    fake_hub_stop(hub);
    return 0;
}

static int setup_store(void **state) {
    snprintf(models, sizeof models, "/tmp/ember-pull-test-XXXXXX");
    if (!mkdtemp(models)) return -1;
    setenv("EMBER_MODELS", models, 1);
    unsetenv("HF_TOKEN");
    unsetenv("HF_ENDPOINT");
    fake_hub_reset(hub);
    return 0;
}

static int teardown_store(void **state) {
    nftw(models, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Progress events seen by a pull. */
typedef struct seen {
    int resolving, checking, downloading, retrying, verified, done;
    uint64_t last_total;
    int total_decreased;
    volatile int *cancel_after_download;
} seen;

static void on_progress(const ember_pull_progress *p, void *user) {
    seen *s = user;
    switch (p->stage) {
    case EMBER_PULL_RESOLVING: s->resolving++; break;
    case EMBER_PULL_CHECKING: s->checking++; break;
    case EMBER_PULL_DOWNLOADING:
        s->downloading++;
        if (s->cancel_after_download) *s->cancel_after_download = 1;
        break;
    case EMBER_PULL_RETRYING: s->retrying++; break;
    case EMBER_PULL_VERIFIED: s->verified++; break;
    case EMBER_PULL_DONE: s->done++; break;
    }
    assert_true(p->total_bytes <= p->total_size || p->stage == EMBER_PULL_RESOLVING);
    assert_true(p->file_bytes <= p->file_size || p->stage == EMBER_PULL_RESOLVING);
}

static ember_status pull(const char *spec, const char *token, int retries, seen *s,
                         ember_store_entry *entry, ember_error *err) {
    ember_pull_params params;
    ember_pull_params_init(&params);
    params.endpoint = fake_hub_url(hub);
    params.models_dir = models;
    params.token = token;
    params.retries = retries;
    params.on_progress = on_progress;
    static seen scratch;
    memset(&scratch, 0, sizeof scratch);
    params.user = s ? s : &scratch;
    return ember_pull(spec, &params, entry, err);
}

static void path_in_repo(char *out, size_t size, const char *repo, const char *file) {
    snprintf(out, size, "%s/repos/%s/%s", models, repo, file);
}

static bool exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static off_t file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* The file on disk has exactly the bytes the hub serves. */
static void assert_same_bytes(const char *repo, const char *file) {
    char path[1024];
    path_in_repo(path, sizeof path, repo, file);
    size_t size;
    const uint8_t *want = fake_hub_content(hub, repo, file, &size);
    assert_non_null(want);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t *got = malloc(size + 1);
    assert_int_equal(fread(got, 1, size + 1, fp), size);
    fclose(fp);
    assert_memory_equal(got, want, size);
    free(got);
}

static size_t count_models(void) {
    ember_store_entry *entries;
    size_t count;
    ember_error err;
    assert_int_equal(ember_store_list(models, &entries, &count, &err), EMBER_OK);
    ember_store_list_free(entries);
    return count;
}

static void test_full_pull_list_resolve_rm(void **state) {
    ember_store_entry e;
    ember_error err;
    seen s = {0};
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 0, &s, &e, &err), EMBER_OK);
    assert_string_equal(e.name, "test/Tiny-GGUF:Q4_K_M"); /* the default quant */
    assert_string_equal(e.quant, "Q4_K_M");
    assert_true(e.has_vision);
    assert_true(e.complete);
    assert_int_equal(e.n_parts, 1);
    assert_int_equal(e.size, 300 * 1024 + 64 * 1024);
    assert_non_null(strstr(e.model_path, "/repos/test/Tiny-GGUF/Tiny-Q4_K_M.gguf"));
    assert_non_null(strstr(e.mmproj_path, "mmproj-Tiny-F16.gguf")); /* F16 over F32 */
    assert_int_equal(s.resolving, 1);
    assert_int_equal(s.verified, 2);
    assert_int_equal(s.done, 1);
    assert_true(s.downloading >= 2);
    assert_same_bytes("test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
    assert_same_bytes("test/Tiny-GGUF", "mmproj-Tiny-F16.gguf");
    assert_int_equal(fake_hub_requests(hub, "Tiny-Q8_0.gguf"), 0);
    assert_int_equal(fake_hub_requests(hub, "mmproj-Tiny-F32.gguf"), 0);
    assert_true(fake_hub_tree_requests(hub) >= 2); /* 5 entries, 3 a page */

    char manifest[1024];
    snprintf(manifest, sizeof manifest, "%s/manifests/test/Tiny-GGUF/Q4_K_M.json", models);
    assert_true(exists(manifest));

    /* list */
    ember_store_entry *entries;
    size_t count;
    assert_int_equal(ember_store_list(models, &entries, &count, &err), EMBER_OK);
    assert_int_equal(count, 1);
    assert_string_equal(entries[0].name, "test/Tiny-GGUF:Q4_K_M");
    assert_int_equal(entries[0].last_used, 0);
    ember_store_list_free(entries);

    /* resolve by every spelling */
    const char *names[] = {"test/Tiny-GGUF:Q4_K_M", "test/Tiny-GGUF", "tiny-gguf:q4_k_m",
                           "Tiny-GGUF", "Tiny", "hf.co/test/Tiny-GGUF:Q4_K_M"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char model[1024], mmproj[1024];
        assert_int_equal(ember_store_resolve(names[i], model, sizeof model, mmproj, sizeof mmproj, &err),
                         EMBER_OK);
        assert_string_equal(model, e.model_path);
        assert_string_equal(mmproj, e.mmproj_path);
    }
    assert_int_equal(ember_store_list(models, &entries, &count, &err), EMBER_OK);
    assert_true(entries[0].last_used > 0);
    ember_store_list_free(entries);

    /* a path is returned as-is; a missing path or name is not found */
    char model[1024];
    assert_int_equal(ember_store_resolve(e.model_path, model, sizeof model, NULL, 0, &err), EMBER_OK);
    assert_string_equal(model, e.model_path);
    assert_int_equal(ember_store_resolve("/nonexistent/x.gguf", model, sizeof model, NULL, 0, &err),
                     EMBER_ERR_NOT_FOUND);
    assert_int_equal(ember_store_resolve("test/Other-GGUF", model, sizeof model, NULL, 0, &err),
                     EMBER_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "ember pull"));

    /* pulling again downloads nothing */
    fake_hub_reset(hub);
    assert_int_equal(pull("test/Tiny-GGUF:Q4_K_M", NULL, 0, NULL, &e, &err), EMBER_OK);
    assert_int_equal(fake_hub_requests(hub, "Tiny-Q4_K_M.gguf"), 0);

    /* a second quant shares the projector */
    assert_int_equal(pull("test/Tiny-GGUF:Q8_0", NULL, 0, NULL, &e, &err), EMBER_OK);
    assert_string_equal(e.name, "test/Tiny-GGUF:Q8_0");
    assert_int_equal(fake_hub_requests(hub, "mmproj-Tiny-F16.gguf"), 0);
    assert_int_equal(count_models(), 2);
    assert_int_equal(ember_store_resolve("test/Tiny-GGUF", model, sizeof model, NULL, 0, &err),
                     EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "test/Tiny-GGUF:Q8_0"));

    /* rm keeps what the other model still uses */
    ember_store_entry removed;
    assert_int_equal(ember_store_remove(models, "test/Tiny-GGUF:Q4_K_M", &removed, &err), EMBER_OK);
    assert_string_equal(removed.name, "test/Tiny-GGUF:Q4_K_M");
    char path[1024];
    path_in_repo(path, sizeof path, "test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
    assert_false(exists(path));
    path_in_repo(path, sizeof path, "test/Tiny-GGUF", "mmproj-Tiny-F16.gguf");
    assert_true(exists(path));
    assert_false(exists(manifest));
    assert_int_equal(count_models(), 1);
    assert_int_equal(ember_store_remove(models, "test/Tiny-GGUF:Q4_K_M", NULL, &err), EMBER_ERR_NOT_FOUND);

    /* now the short name is unique again; rm by it clears the repository */
    assert_int_equal(ember_store_remove(models, "Tiny", NULL, &err), EMBER_OK);
    assert_false(exists(path));
    snprintf(path, sizeof path, "%s/repos/test", models);
    assert_false(exists(path)); /* empty folders are removed */
    snprintf(path, sizeof path, "%s/manifests/test", models);
    assert_false(exists(path));
    assert_int_equal(count_models(), 0);
}

static void test_interrupted_then_resumed(void **state) {
    ember_store_entry e;
    ember_error err;
    fake_hub_drop_after(hub, "Tiny-Q4_K_M.gguf", 100 * 1024);
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 0, NULL, &e, &err), EMBER_ERR_IO);
    assert_non_null(strstr(err.message, "Tiny-Q4_K_M.gguf"));
    assert_non_null(strstr(err.message, "run the same command again to resume"));
    char path[1024], partial[1100];
    path_in_repo(path, sizeof path, "test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
    snprintf(partial, sizeof partial, "%s.partial", path);
    off_t kept = file_size(partial);
    assert_true(kept > 0 && kept <= 100 * 1024);
    assert_false(exists(path));
    assert_int_equal(count_models(), 0); /* no manifest for a model that is not complete */

    seen s = {0};
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 0, &s, &e, &err), EMBER_OK);
    char range[64], want[64];
    fake_hub_last_range(hub, "Tiny-Q4_K_M.gguf", range, sizeof range);
    snprintf(want, sizeof want, "bytes=%lld-", (long long)kept);
    assert_string_equal(range, want);
    assert_int_equal(fake_hub_requests(hub, "Tiny-Q4_K_M.gguf"), 2);
    assert_true(s.checking >= 1); /* the kept bytes were hashed */
    assert_false(exists(partial));
    assert_same_bytes("test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
    assert_int_equal(count_models(), 1);
}

static void test_retries_resume_automatically(void **state) {
    ember_store_entry e;
    ember_error err;
    seen s = {0};
    fake_hub_drop_after(hub, "mmproj-Tiny-F16.gguf", 10000);
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 2, &s, &e, &err), EMBER_OK);
    assert_int_equal(s.retrying, 1);
    char range[64];
    fake_hub_last_range(hub, "mmproj-Tiny-F16.gguf", range, sizeof range);
    assert_true(strncmp(range, "bytes=", 6) == 0);
    assert_same_bytes("test/Tiny-GGUF", "mmproj-Tiny-F16.gguf");
}

static void test_server_ignoring_range(void **state) {
    ember_store_entry e;
    ember_error err;
    fake_hub_drop_after(hub, "Tiny-Q4_K_M.gguf", 50 * 1024);
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 0, NULL, &e, &err), EMBER_ERR_IO);
    fake_hub_ignore_range(hub, true); /* answers 200 with the whole file */
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 0, NULL, &e, &err), EMBER_OK);
    char range[64];
    fake_hub_last_range(hub, "Tiny-Q4_K_M.gguf", range, sizeof range);
    assert_true(strncmp(range, "bytes=", 6) == 0); /* asked, was ignored */
    assert_same_bytes("test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
}

static void test_corrupted_file_removed(void **state) {
    ember_store_entry e;
    ember_error err;
    fake_hub_corrupt(hub, "Tiny-Q4_K_M.gguf", true);
    assert_int_equal(pull("test/Tiny-GGUF:Q4_K_M", NULL, 0, NULL, &e, &err), EMBER_ERR_FORMAT);
    assert_non_null(strstr(err.message, "checksum mismatch"));
    assert_non_null(strstr(err.message, "deleted"));
    char path[1024], partial[1100];
    path_in_repo(path, sizeof path, "test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
    snprintf(partial, sizeof partial, "%s.partial", path);
    assert_false(exists(path));
    assert_false(exists(partial));
    assert_int_equal(count_models(), 0);

    fake_hub_corrupt(hub, "Tiny-Q4_K_M.gguf", false);
    assert_int_equal(pull("test/Tiny-GGUF:Q4_K_M", NULL, 0, NULL, &e, &err), EMBER_OK);
    assert_same_bytes("test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
}

static void test_corrupted_file_in_place_is_replaced(void **state) {
    ember_store_entry e;
    ember_error err;
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 0, NULL, &e, &err), EMBER_OK);
    /* damage the stored copy and forget the manifest: the next pull must re-check it */
    FILE *fp = fopen(e.model_path, "r+b");
    assert_non_null(fp);
    fseek(fp, 1000, SEEK_SET);
    fputc('X', fp);
    fclose(fp);
    char manifest[1024];
    snprintf(manifest, sizeof manifest, "%s/manifests/test/Tiny-GGUF/Q4_K_M.json", models);
    assert_int_equal(unlink(manifest), 0);
    fake_hub_reset(hub);
    seen s = {0};
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 0, &s, &e, &err), EMBER_OK);
    assert_true(s.checking >= 1);
    assert_int_equal(fake_hub_requests(hub, "Tiny-Q4_K_M.gguf"), 1);     /* re-downloaded */
    assert_int_equal(fake_hub_requests(hub, "mmproj-Tiny-F16.gguf"), 0); /* checked, intact */
    assert_same_bytes("test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
}

static void test_stale_partial_restarts(void **state) {
    /* a partial file whose bytes are not the file's (an older revision): detected at the end,
     * downloaded again from the start, once */
    char path[1024], partial[1100], dir[1024];
    path_in_repo(path, sizeof path, "test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
    snprintf(partial, sizeof partial, "%s.partial", path);
    snprintf(dir, sizeof dir, "%s/repos", models);
    mkdir(dir, 0755);
    strcat(dir, "/test");
    mkdir(dir, 0755);
    strcat(dir, "/Tiny-GGUF");
    mkdir(dir, 0755);
    FILE *fp = fopen(partial, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 1000; i++) fputc('Z', fp);
    fclose(fp);
    ember_store_entry e;
    ember_error err;
    seen s = {0};
    assert_int_equal(pull("test/Tiny-GGUF", NULL, 0, &s, &e, &err), EMBER_OK);
    assert_int_equal(s.retrying, 1);
    assert_int_equal(fake_hub_requests(hub, "Tiny-Q4_K_M.gguf"), 2);
    char range[64];
    fake_hub_last_range(hub, "Tiny-Q4_K_M.gguf", range, sizeof range);
    assert_string_equal(range, ""); /* the second request started over */
    assert_same_bytes("test/Tiny-GGUF", "Tiny-Q4_K_M.gguf");
}

static void test_split_gguf(void **state) {
    ember_store_entry e;
    ember_error err;
    assert_int_equal(pull("test/Split-GGUF:q4_k_m", NULL, 0, NULL, &e, &err), EMBER_OK);
    assert_string_equal(e.name, "test/Split-GGUF:Q4_K_M");
    assert_int_equal(e.n_parts, 3);
    assert_false(e.has_vision);
    assert_string_equal(e.mmproj_path, "");
    assert_non_null(strstr(e.model_path, "Q4_K_M/Split-Q4_K_M-00001-of-00003.gguf"));
    assert_same_bytes("test/Split-GGUF", "Q4_K_M/Split-Q4_K_M-00001-of-00003.gguf");
    assert_same_bytes("test/Split-GGUF", "Q4_K_M/Split-Q4_K_M-00002-of-00003.gguf");
    assert_same_bytes("test/Split-GGUF", "Q4_K_M/Split-Q4_K_M-00003-of-00003.gguf");
    assert_int_equal(fake_hub_requests(hub, "Split-Q8_0.gguf"), 0);
    char model[1024], mmproj[1024];
    assert_int_equal(ember_store_resolve("test/Split-GGUF", model, sizeof model, mmproj, sizeof mmproj, &err),
                     EMBER_OK);
    assert_string_equal(model, e.model_path); /* the first part */
    assert_string_equal(mmproj, "");
    assert_int_equal(ember_store_remove(models, "test/Split-GGUF:Q4_K_M", NULL, &err), EMBER_OK);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/repos/test/Split-GGUF/Q4_K_M", models);
    assert_false(exists(dir));
}

static void test_missing_quant_lists_available(void **state) {
    ember_store_entry e;
    ember_error err;
    assert_int_equal(pull("test/NoQ4-GGUF:Q4_K_M", NULL, 0, NULL, &e, &err), EMBER_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "Q4_K_M"));
    assert_non_null(strstr(err.message, "available: F16, Q2_K, Q8_0"));
    /* without a quant, the first GGUF is taken */
    assert_int_equal(pull("test/NoQ4-GGUF", NULL, 0, NULL, &e, &err), EMBER_OK);
    assert_string_equal(e.quant, "F16");
}

static void test_git_stored_file_verified_by_blob_id(void **state) {
    ember_store_entry e;
    ember_error err;
    fake_hub_corrupt(hub, "NoQ4-Q2_K.gguf", true);
    assert_int_equal(pull("test/NoQ4-GGUF:Q2_K", NULL, 0, NULL, &e, &err), EMBER_ERR_FORMAT);
    assert_non_null(strstr(err.message, "git oid"));
    fake_hub_corrupt(hub, "NoQ4-Q2_K.gguf", false);
    assert_int_equal(pull("test/NoQ4-GGUF:Q2_K", NULL, 0, NULL, &e, &err), EMBER_OK);
    assert_same_bytes("test/NoQ4-GGUF", "NoQ4-Q2_K.gguf");
    char manifest[1024];
    snprintf(manifest, sizeof manifest, "%s/manifests/test/NoQ4-GGUF/Q2_K.json", models);
    FILE *fp = fopen(manifest, "r");
    assert_non_null(fp);
    char text[4096];
    text[fread(text, 1, sizeof text - 1, fp)] = '\0';
    fclose(fp);
    assert_non_null(strstr(text, "\"git_oid\""));
    assert_non_null(strstr(text, "\"pulled_at\""));
}

static void test_unknown_repo(void **state) {
    ember_store_entry e;
    ember_error err;
    assert_int_equal(pull("test/Nope-GGUF", NULL, 0, NULL, &e, &err), EMBER_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "test/Nope-GGUF not found"));
    assert_non_null(strstr(err.message, "HF_TOKEN")); /* 401 without a token: maybe private */
    assert_int_equal(pull("test/Nope-GGUF", "hf_some_token", 0, NULL, &e, &err), EMBER_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "not found"));
}

static void test_gated_repo(void **state) {
    ember_store_entry e;
    ember_error err;
    assert_int_equal(pull("test/Gated-GGUF", NULL, 0, NULL, &e, &err), EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "gated"));
    assert_non_null(strstr(err.message, "HF_TOKEN"));
    assert_int_equal(pull("test/Gated-GGUF", "hf_wrong", 0, NULL, &e, &err), EMBER_ERR_INVALID);
    assert_non_null(strstr(err.message, "no access"));
    /* the token from the environment */
    setenv("HF_TOKEN", FAKE_HUB_TOKEN, 1);
    assert_int_equal(pull("test/Gated-GGUF", NULL, 0, NULL, &e, &err), EMBER_OK);
    assert_string_equal(e.name, "test/Gated-GGUF:Q4_K_M");
    assert_same_bytes("test/Gated-GGUF", "Gated-Q4_K_M.gguf");
}

static void test_not_enough_disk_space(void **state) {
    ember_store_entry e;
    ember_error err;
    assert_int_equal(pull("test/Huge-GGUF", NULL, 0, NULL, &e, &err), EMBER_ERR_IO);
    assert_non_null(strstr(err.message, "not enough disk space"));
    assert_int_equal(fake_hub_requests(hub, "Huge-Q4_K_M.gguf"), 0);
}

static void test_endpoint_from_environment(void **state) {
    ember_pull_params params;
    ember_pull_params_init(&params); /* everything from the environment */
    setenv("HF_ENDPOINT", fake_hub_url(hub), 1);
    ember_store_entry e;
    ember_error err;
    assert_int_equal(ember_pull("test/NoQ4-GGUF:Q8_0", &params, &e, &err), EMBER_OK);
    assert_non_null(strstr(e.model_path, models)); /* EMBER_MODELS */
    assert_same_bytes("test/NoQ4-GGUF", "NoQ4-Q8_0.gguf");
    setenv("HF_ENDPOINT", "ftp://example.invalid", 1);
    assert_int_equal(ember_pull("test/NoQ4-GGUF:Q8_0", &params, &e, &err), EMBER_ERR_INVALID);
    setenv("HF_ENDPOINT", "http://127.0.0.1:1", 1); /* nothing listens there */
    assert_int_equal(ember_pull("test/NoQ4-GGUF:Q8_0", &params, &e, &err), EMBER_ERR_IO);
    assert_non_null(strstr(err.message, "cannot reach"));
}

static void test_cancel_keeps_partial(void **state) {
    ember_pull_params params;
    ember_pull_params_init(&params);
    params.endpoint = fake_hub_url(hub);
    volatile int cancel = 0;
    seen s = {0};
    s.cancel_after_download = &cancel;
    params.cancel = &cancel;
    params.on_progress = on_progress;
    params.user = &s;
    ember_error err;
    assert_int_equal(ember_pull("test/Tiny-GGUF:Q8_0", &params, NULL, &err), EMBER_ERR_CANCELLED);
    assert_non_null(strstr(err.message, "resume"));
    char path[1024], partial[1100];
    path_in_repo(path, sizeof path, "test/Tiny-GGUF", "Tiny-Q8_0.gguf");
    snprintf(partial, sizeof partial, "%s.partial", path);
    assert_true(file_size(partial) > 0);
    assert_false(exists(path));
}

static void test_bad_specs(void **state) {
    ember_error err;
    const char *bad[] = {"nonsense", "a/b/c", "../x/y", "x/..", "owner/repo:", "owner/repo:Q4 K",
                         "/abs/path", "owner/.hidden", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pull(bad[i], NULL, 0, NULL, NULL, &err), EMBER_ERR_INVALID);
        assert_non_null(strstr(err.message, "OWNER/REPO"));
    }
    assert_int_equal(ember_pull(NULL, NULL, NULL, &err), EMBER_ERR_INVALID);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_pull_list_resolve_rm, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_interrupted_then_resumed, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_retries_resume_automatically, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_server_ignoring_range, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_corrupted_file_removed, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_corrupted_file_in_place_is_replaced, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_stale_partial_restarts, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_split_gguf, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_missing_quant_lists_available, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_git_stored_file_verified_by_blob_id, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_unknown_repo, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_gated_repo, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_not_enough_disk_space, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_endpoint_from_environment, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_cancel_keeps_partial, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_bad_specs, setup_store, teardown_store),
    };
    return cmocka_run_group_tests(tests, setup_hub, teardown_hub);
}
