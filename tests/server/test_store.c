/*
 * test_store.c — the store through its SQLite driver: a database written by ember before
 * migrations existed is adopted with its data; migrations are recorded and run once; a schema
 * newer than this ember is refused; keys, conversations and messages keep their semantics
 * (owners, ordering, NOT_FOUND); an unreachable PostgreSQL is a clear error.
 * (The PostgreSQL driver runs the same SQL in tests/server/test_postgres.mjs.)
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

#include "server/db.h"
#include "server/store.h"

static char dir[64];
static char path[128];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ember-store-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sub/ember.db", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void sql(const char *file, const char *text) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fail_msg("%s", msg);
    sqlite3_close(db);
}

static void old_database_is_adopted_and_migrations_run_once(void **state) {
    (void)state;
    char file[128];
    snprintf(file, sizeof file, "%s/old.db", dir);
    /* The schema ember wrote before migrations existed, with one key in it. */
    sql(file, "CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, hash TEXT UNIQUE NOT NULL,"
              " prefix TEXT NOT NULL, created_at INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0);"
              "CREATE TABLE conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,"
              " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
              "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES"
              " conversations (id) ON DELETE CASCADE, role TEXT NOT NULL, content TEXT NOT NULL,"
              " reasoning TEXT, ember TEXT, created_at INTEGER NOT NULL);"
              "INSERT INTO keys (name, hash, prefix, created_at) VALUES ('old', 'h', 'ember-0000', 1);");
    for (int round = 0; round < 2; round++) {
        srv_store *s = NULL;
        ember_error err = {0};
        assert_int_equal(srv_store_open(file, &s, &err), EMBER_OK);
        assert_int_equal(srv_store_key_count(s), 1);
        srv_store_close(s);
    }
    srv_db *db;
    assert_int_equal(srv_db_open(file, &db, NULL), EMBER_OK);
    srv_db_result res;
    assert_int_equal(srv_db_query(db, "SELECT count(*), max(version) FROM schema_migrations", 0, NULL, &res), SRV_DB_OK);
    assert_int_equal(srv_db_int(&res, 0, 0), srv_store_n_migrations);
    assert_int_equal(srv_db_int(&res, 0, 1), srv_store_n_migrations);
    srv_db_result_free(&res);
    /* A database migrated by a newer ember is refused, not written. */
    assert_int_equal(srv_db_query(db, "INSERT INTO schema_migrations VALUES (999, 0)", 0, NULL, NULL), SRV_DB_OK);
    srv_db_close(db);
    srv_store *s = NULL;
    ember_error err = {0};
    assert_int_equal(srv_store_open(file, &s, &err), EMBER_ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.message, "newer"));
}

static void keys_and_conversations_keep_their_semantics(void **state) {
    (void)state;
    srv_store *s = NULL;
    ember_error err = {0};
    assert_int_equal(srv_store_open(path, &s, &err), EMBER_OK);
    char key[64], hash[65], owner[160];
    assert_int_equal(srv_store_key_add(s, "alice", key, sizeof key, &err), EMBER_OK);
    assert_int_equal(srv_store_key_add(s, "alice", key, sizeof key, &err), EMBER_ERR_INVALID);
    assert_int_equal(srv_store_key_add(s, "bad name", key, sizeof key, &err), EMBER_ERR_INVALID);
    srv_sha256_hex(key, strlen(key), hash);
    assert_int_equal(srv_store_key_check(s, hash, owner, sizeof owner), SRV_STORE_OK);
    assert_string_equal(owner, "key:alice");
    hash[0] = hash[0] == '0' ? '1' : '0';
    assert_int_equal(srv_store_key_check(s, hash, owner, sizeof owner), SRV_STORE_NOT_FOUND);

    json_t *a, *b, *got;
    assert_int_equal(srv_store_conv_create(s, "key:alice", "first", false, &a), SRV_STORE_OK);
    assert_int_equal(srv_store_conv_create(s, "key:alice", "second", false, &b), SRV_STORE_OK);
    const char *id = json_string_value(json_object_get(a, "id"));
    assert_int_equal(srv_store_conv_append(s, "key:alice", id, "user", "hi", NULL, NULL, false), SRV_STORE_OK);
    json_t *ember = json_pack("{s:s}", "mode", "thinking");
    assert_int_equal(srv_store_conv_append(s, "key:alice", id, "assistant", "hello", "hmm", ember, false),
                     SRV_STORE_OK);
    json_decref(ember);
    /* another owner can neither read nor write it */
    assert_int_equal(srv_store_conv_append(s, "key:bob", id, "user", "x", NULL, NULL, false), SRV_STORE_NOT_FOUND);
    assert_int_equal(srv_store_conv_get(s, "key:bob", id, &got), SRV_STORE_NOT_FOUND);
    assert_int_equal(srv_store_conv_delete(s, "key:bob", id), SRV_STORE_NOT_FOUND);

    assert_int_equal(srv_store_conv_get(s, "key:alice", id, &got), SRV_STORE_OK);
    json_t *messages = json_object_get(got, "messages");
    assert_int_equal(json_array_size(messages), 2);
    json_t *m1 = json_array_get(messages, 1);
    assert_string_equal(json_string_value(json_object_get(m1, "reasoning_content")), "hmm");
    assert_string_equal(json_string_value(json_object_get(json_object_get(m1, "ember"), "mode")), "thinking");
    json_decref(got);

    /* newest first; within one second, the later one first */
    json_t *list;
    assert_int_equal(srv_store_conv_list(s, "key:alice", &list), SRV_STORE_OK);
    json_t *data = json_object_get(list, "data");
    assert_int_equal(json_array_size(data), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(data, 0), "message_count")) +
                         json_integer_value(json_object_get(json_array_get(data, 1), "message_count")),
                     2);
    json_decref(list);
    assert_int_equal(srv_store_conv_rename(s, "key:alice", id, "renamed", &got), SRV_STORE_OK);
    assert_string_equal(json_string_value(json_object_get(got, "title")), "renamed");
    json_decref(got);

    /* removing the key removes its conversations (and their messages) */
    assert_int_equal(srv_store_key_remove(s, "alice", &err), EMBER_OK);
    assert_int_equal(srv_store_key_remove(s, "alice", &err), EMBER_ERR_NOT_FOUND);
    assert_int_equal(srv_store_conv_get(s, "key:alice", id, &got), SRV_STORE_NOT_FOUND);
    assert_int_equal(srv_store_key_count(s), 0);
    json_decref(a);
    json_decref(b);
    srv_store_close(s);
}

static void tokens_and_placeholders(void **state) {
    (void)state;
    assert_true(srv_db_is_postgresql("postgresql://u@h/db"));
    assert_true(srv_db_is_postgresql("POSTGRES://h"));
    assert_false(srv_db_is_postgresql("/var/lib/ember.db"));
    assert_false(srv_db_is_postgresql("postgresql.db"));
    srv_db *db;
    char file[128];
    snprintf(file, sizeof file, "%s/t.db", dir);
    assert_int_equal(srv_db_open(file, &db, NULL), EMBER_OK);
    assert_int_equal(srv_db_query(db, "CREATE TABLE t (id {serial}, v TEXT {order_column})", 0, NULL, NULL), SRV_DB_OK);
    const char *p1[] = {"a?b"}, *p2[] = {NULL};
    assert_int_equal(srv_db_query(db, "INSERT INTO t (v) VALUES (?)", 1, p1, NULL), SRV_DB_OK);
    assert_int_equal(srv_db_query(db, "INSERT INTO t (v) VALUES (?)", 1, p2, NULL), SRV_DB_OK);
    srv_db_result res;
    assert_int_equal(srv_db_query(db, "SELECT id, v, '?' FROM t ORDER BY {order}", 0, NULL, &res), SRV_DB_OK);
    assert_int_equal(res.n_rows, 2);
    assert_string_equal(srv_db_text(&res, 0, 1), "a?b");
    assert_null(srv_db_text(&res, 1, 1));
    assert_string_equal(srv_db_text(&res, 1, 2), "?");
    assert_null(srv_db_text(&res, 5, 0));
    srv_db_result_free(&res);
    assert_int_equal(srv_db_query(db, "INSERT INTO t (id) VALUES (1)", 0, NULL, &res), SRV_DB_CONSTRAINT);
    assert_true(res.message[0] != '\0');
    srv_db_result_free(&res);
    assert_int_equal(srv_db_query(db, "SELEC nonsense", 0, NULL, NULL), SRV_DB_ERROR);
    srv_db_close(db);
}

static void an_unreachable_postgresql_is_reported(void **state) {
    (void)state;
    char uri[160];
    /* a socket directory with no server in it */
    snprintf(uri, sizeof uri, "postgresql:///x?host=%s&connect_timeout=2", dir);
    srv_store *s = NULL;
    ember_error err = {0};
    assert_int_equal(srv_store_open(uri, &s, &err), EMBER_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err.message, "cannot open the database"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(old_database_is_adopted_and_migrations_run_once, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_and_conversations_keep_their_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(tokens_and_placeholders, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unreachable_postgresql_is_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
