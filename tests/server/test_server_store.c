/*
 * test_server_store.c — the store's branches and search, and artifact extraction, without
 * HTTP: a database from before branches is migrated with its conversations as one linear
 * path; branches (append after a parent or as a first message, switch the head, siblings);
 * search.
 * Artifacts: fenced documents extracted with titles, everything else left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/artifacts.h"
#include "server/store.h"

static char db_path[256];

static int setup(void **state) {
    (void)state;
    snprintf(db_path, sizeof db_path, "/tmp/ember-store-test-%d.db", (int)getpid());
    unlink(db_path);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char p[300];
    unlink(db_path);
    snprintf(p, sizeof p, "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db_path);
    unlink(p);
    return 0;
}

static void exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, msg);
        fail();
    }
}

/* The contents of a conversation's path, joined by "|". */
static void path_text(json_t *conv, char *out, size_t size) {
    out[0] = '\0';
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(conv, "messages"), i, m) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", i ? "|" : "", json_string_value(json_object_get(m, "content")));
    }
}

static json_t *get(srv_store *store, const char *owner, const char *id) {
    json_t *conv = NULL;
    assert_int_equal(srv_store_conv_get(store, owner, id, &conv), SRV_STORE_OK);
    return conv;
}

static int64_t append(srv_store *store, const char *owner, const char *id, int64_t parent, const char *role,
                      const char *content, const char *reasoning) {
    int64_t mid = 0;
    srv_store_status st = srv_store_conv_append_after(store, owner, id, parent, role, content, reasoning, NULL, false, &mid);
    return st == SRV_STORE_OK ? mid : -(int64_t)st;
}

static size_t found(srv_store *store, const char *owner, const char *query) {
    json_t *list = NULL;
    assert_int_equal(srv_store_conv_search(store, owner, query, &list), SRV_STORE_OK);
    size_t n = json_array_size(json_object_get(list, "data"));
    json_decref(list);
    return n;
}

/* A database of ember before branches (migration 1 only, as ember wrote it) is migrated: each
 * conversation becomes one path whose head is its last message. */
static void test_migrates_to_branches(void **state) {
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    exec(db, "CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, hash TEXT UNIQUE NOT NULL,"
             " prefix TEXT NOT NULL, created_at INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0);"
             "CREATE TABLE conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,"
             " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
             "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations (id)"
             " ON DELETE CASCADE, role TEXT NOT NULL, content TEXT NOT NULL, reasoning TEXT, ember TEXT,"
             " created_at INTEGER NOT NULL);"
             "INSERT INTO conversations VALUES ('conv_a', 'local', 'A', 1, 2), ('conv_b', 'local', 'B', 1, 3),"
             " ('conv_e', 'local', 'Empty', 1, 1);"
             "INSERT INTO messages (conversation_id, role, content, created_at) VALUES"
             " ('conv_a', 'user', 'a1', 1), ('conv_b', 'user', 'b1', 1), ('conv_a', 'assistant', 'a2', 2),"
             " ('conv_b', 'assistant', 'b2', 2), ('conv_a', 'user', 'a3', 3);");
    sqlite3_close(db);

    srv_store *store;
    ember_error err = {0};
    assert_int_equal(srv_store_open(db_path, &store, &err), EMBER_OK);
    char text[256];
    json_t *a = get(store, "local", "conv_a");
    path_text(a, text, sizeof text);
    assert_string_equal(text, "a1|a2|a3");
    json_t *m = json_array_get(json_object_get(a, "messages"), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "parent_id")), 1);
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(a, "messages"), 0), "parent_id")));
    assert_int_equal(json_integer_value(json_object_get(a, "head_id")), 5);
    json_decref(a);
    json_t *b = get(store, "local", "conv_b");
    path_text(b, text, sizeof text);
    assert_string_equal(text, "b1|b2");
    json_decref(b);
    json_t *e = get(store, "local", "conv_e");
    assert_true(json_is_null(json_object_get(e, "head_id")));
    assert_int_equal(json_array_size(json_object_get(e, "messages")), 0);
    json_decref(e);
    /* appending continues the migrated path */
    assert_true(append(store, "local", "conv_b", SRV_STORE_HEAD, "user", "b3", NULL) > 5);
    b = get(store, "local", "conv_b");
    path_text(b, text, sizeof text);
    assert_string_equal(text, "b1|b2|b3");
    json_decref(b);
    srv_store_close(store);
    /* opening again runs nothing twice */
    assert_int_equal(srv_store_open(db_path, &store, &err), EMBER_OK);
    b = get(store, "local", "conv_b");
    path_text(b, text, sizeof text);
    assert_string_equal(text, "b1|b2|b3");
    json_decref(b);
    srv_store_close(store);
}

static void test_branches_and_search(void **state) {
    (void)state;
    srv_store *store;
    ember_error err = {0};
    assert_int_equal(srv_store_open(db_path, &store, &err), EMBER_OK);
    json_t *conv = NULL, *c2 = NULL;
    assert_int_equal(srv_store_conv_create(store, "me", "Trip to 100% Paris", false, &conv), SRV_STORE_OK);
    const char *id = json_string_value(json_object_get(conv, "id"));
    int64_t u1 = append(store, "me", id, SRV_STORE_HEAD, "user", "plan it", NULL);
    int64_t a1 = append(store, "me", id, SRV_STORE_HEAD, "assistant", "first plan", "why");
    int64_t a2 = append(store, "me", id, u1, "assistant", "second plan", NULL);
    int64_t u2 = append(store, "me", id, SRV_STORE_ROOT, "user", "plan it, edited", NULL);
    assert_true(u1 > 0 && a1 > u1 && a2 > a1 && u2 > a2);
    /* someone else's conversation, or a parent from another conversation, is refused */
    assert_int_equal(append(store, "other", id, SRV_STORE_HEAD, "user", "x", NULL), -SRV_STORE_NOT_FOUND);
    assert_int_equal(srv_store_conv_create(store, "me", "Other", false, &c2), SRV_STORE_OK);
    const char *id2 = json_string_value(json_object_get(c2, "id"));
    assert_int_equal(append(store, "me", id2, a1, "user", "x", NULL), -SRV_STORE_NOT_FOUND);
    assert_int_equal(srv_store_conv_has_message(store, "me", id2, a1), SRV_STORE_NOT_FOUND);
    assert_int_equal(srv_store_conv_has_message(store, "other", id, a1), SRV_STORE_NOT_FOUND);
    assert_int_equal(srv_store_conv_has_message(store, "me", id, a1), SRV_STORE_OK);

    char text[256];
    json_t *got = get(store, "me", id);
    path_text(got, text, sizeof text);
    assert_string_equal(text, "plan it, edited");
    json_t *siblings = json_object_get(json_array_get(json_object_get(got, "messages"), 0), "siblings");
    assert_int_equal(json_array_size(siblings), 2);
    assert_int_equal(json_integer_value(json_array_get(siblings, 0)), u1);
    json_decref(got);

    /* switching to u1 shows its newest leaf: the second plan */
    assert_int_equal(srv_store_conv_set_head(store, "me", id, u1, &got), SRV_STORE_OK);
    path_text(got, text, sizeof text);
    assert_string_equal(text, "plan it|second plan");
    siblings = json_object_get(json_array_get(json_object_get(got, "messages"), 1), "siblings");
    assert_int_equal(json_array_size(siblings), 2);
    json_decref(got);
    assert_int_equal(srv_store_conv_set_head(store, "me", id, a1, &got), SRV_STORE_OK);
    path_text(got, text, sizeof text);
    assert_string_equal(text, "plan it|first plan");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(got, "messages"), 1),
                                                          "reasoning_content")), "why");
    json_decref(got);
    /* the head survives a reopening */
    srv_store_close(store);
    assert_int_equal(srv_store_open(db_path, &store, &err), EMBER_OK);
    got = get(store, "me", id);
    path_text(got, text, sizeof text);
    assert_string_equal(text, "plan it|first plan");
    json_decref(got);
    assert_int_equal(srv_store_conv_set_head(store, "me", id2, a1, &got), SRV_STORE_NOT_FOUND);
    assert_int_equal(srv_store_conv_set_head(store, "other", id, a1, &got), SRV_STORE_NOT_FOUND);

    /* search: title or any message, any case; LIKE's wildcards are plain characters */
    assert_int_equal(found(store, "me", "SECOND PLAN"), 1);
    assert_int_equal(found(store, "me", "100%"), 1);
    assert_int_equal(found(store, "me", "1_0"), 0);
    assert_int_equal(found(store, "me", NULL), 2);
    assert_int_equal(found(store, "other", "plan"), 0);

    /* deleting the conversation deletes its tree */
    assert_int_equal(srv_store_conv_delete(store, "me", id), SRV_STORE_OK);
    assert_int_equal(srv_store_conv_has_message(store, "me", id, a1), SRV_STORE_NOT_FOUND);
    json_decref(conv);
    json_decref(c2);
    srv_store_close(store);
}

static json_t *extract(const char *answer) { return srv_artifacts_extract(answer, strlen(answer)); }

static void test_artifacts(void **state) {
    (void)state;
    json_t *a = extract("Intro\n~~~~ HTML  title='Pulse'  \n<!DOCTYPE html>\n<title>Ignored</title>\n~~~\n~~~~\nafter\n"
                        "```svg\n<?xml version=\"1.0\"?>\n<svg viewBox=\"0 0 1 1\"></svg>\n```\n"
                        "```html\n<html><head><title> Macro chart </title></head></html>\n```");
    assert_int_equal(json_array_size(a), 3);
    json_t *x = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(x, "type")), "html");
    assert_string_equal(json_string_value(json_object_get(x, "title")), "Pulse");
    /* a shorter fence does not close a longer one */
    assert_string_equal(json_string_value(json_object_get(x, "content")), "<!DOCTYPE html>\n<title>Ignored</title>\n~~~");
    x = json_array_get(a, 1);
    assert_string_equal(json_string_value(json_object_get(x, "type")), "svg");
    assert_string_equal(json_string_value(json_object_get(x, "title")), "SVG image");
    x = json_array_get(a, 2);
    assert_string_equal(json_string_value(json_object_get(x, "title")), "Macro chart");
    json_decref(a);

    /* not documents, not closed, or not fences: nothing */
    const char *none[] = {
        "```html\n<p>a fragment</p>\n```\n",
        "```js\n<!doctype html>\n```\n",
        "```html\n<!doctype html>\n<p>cut off",
        "``html\n<!doctype html>\n``\n",
        "    ```html\n<!doctype html>\n```\n",
        "```svg\n<svg>no end\n```\n",
        "",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        a = extract(none[i]);
        assert_non_null(a);
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);
    }
    /* invalid UTF-8 inside a document: skipped, not an error */
    a = extract("```html\n<!doctype html>\xff\n```\n```html\n<!doctype html>\n```\n");
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    /* at most SRV_ARTIFACTS_MAX */
    char many[4096] = "";
    for (int i = 0; i < 40; i++) strcat(many, "```html\n<html></html>\n```\n");
    a = extract(many);
    assert_int_equal(json_array_size(a), SRV_ARTIFACTS_MAX);
    json_decref(a);
}

static void test_artifacts_prompt(void **state) {
    (void)state;
    srv_request req = {0};
    req.messages = calloc(1, sizeof *req.messages);
    req.messages[0].role = EMBER_ROLE_USER;
    req.messages[0].content = strdup("hi");
    req.n_messages = 1;
    assert_true(srv_artifacts_add_prompt(&req));
    assert_int_equal(req.n_messages, 2);
    assert_int_equal(req.messages[0].role, EMBER_ROLE_SYSTEM);
    assert_string_equal(req.messages[0].content, srv_artifacts_prompt());
    assert_string_equal(req.messages[1].content, "hi");
    srv_request_free(&req);

    req = (srv_request){0};
    req.messages = calloc(2, sizeof *req.messages);
    req.messages[0].role = EMBER_ROLE_SYSTEM;
    req.messages[0].content = strdup("Be brief.");
    req.messages[1].role = EMBER_ROLE_USER;
    req.messages[1].content = strdup("hi");
    req.n_messages = 2;
    assert_true(srv_artifacts_add_prompt(&req));
    assert_int_equal(req.n_messages, 2);
    assert_true(strncmp(req.messages[0].content, "Be brief.\n\n# Artifacts", 22) == 0);
    srv_request_free(&req);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrates_to_branches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_branches_and_search, setup, teardown),
        cmocka_unit_test(test_artifacts),
        cmocka_unit_test(test_artifacts_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
