/*
 * store.c — see store.h. Statements are prepared per call (the database is small and the
 * calls are few next to generation); every failure is reported, never fatal.
 */
#include "server/store.h"
#include "core/error.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

struct srv_store {
    sqlite3 *db;
};

static const char SCHEMA[] =
    "PRAGMA foreign_keys = ON;"
    "CREATE TABLE IF NOT EXISTS keys ("
    "  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, hash TEXT UNIQUE NOT NULL,"
    "  prefix TEXT NOT NULL, created_at INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS conversations ("
    "  id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated_at);"
    "CREATE TABLE IF NOT EXISTS messages ("
    "  id INTEGER PRIMARY KEY,"
    "  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL, content TEXT NOT NULL, reasoning TEXT, ember TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id, id);";

void srv_sha256_hex(const char *text, size_t len, char hex[65]) {
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, (const uint8_t *)text);
    sha256_digest(&ctx, sizeof digest, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

bool srv_equal_ct(const char *a, const char *b, size_t n) {
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool srv_random_hex(char *out, size_t n_bytes) {
    unsigned char raw[64];
    if (n_bytes > sizeof raw) return false;
    size_t got = 0;
    while (got < n_bytes) {
        ssize_t n = getrandom(raw + got, n_bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += (size_t)n;
    }
    for (size_t i = 0; i < n_bytes; i++) snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return true;
}

/* mkdir -p of the folder holding path. */
static void make_parent(const char *path) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(dir, 0700);
        *p = '/';
    }
    mkdir(dir, 0700);
}

ember_status srv_store_open(const char *path, srv_store **out, ember_error *err) {
    *out = NULL;
    if (!path || !path[0]) return ember_fail(err, EMBER_ERR_INVALID, "no database path");
    make_parent(path);
    srv_store *s = calloc(1, sizeof *s);
    if (!s) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%.200s: %.150s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sqlite3_close(s->db);
        free(s);
        return ember_fail(err, EMBER_ERR_IO, "cannot open the database %s", msg);
    }
    chmod(path, 0600);
    sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL;", NULL, NULL, &msg);
    if (rc == SQLITE_OK) rc = sqlite3_exec(s->db, SCHEMA, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        char text[400];
        snprintf(text, sizeof text, "%.200s: %.150s", path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(s->db);
        free(s);
        return ember_fail(err, EMBER_ERR_IO, "cannot set up the database %s", text);
    }
    *out = s;
    return EMBER_OK;
}

void srv_store_close(srv_store *s) {
    if (!s) return;
    sqlite3_close(s->db);
    free(s);
}

static sqlite3_stmt *prepare(srv_store *s, const char *sql) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *text) {
    if (text) sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

static bool valid_name(const char *name) {
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n < 128 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

ember_status srv_store_key_add(srv_store *s, const char *name, char *key, size_t key_size, ember_error *err) {
    if (!valid_name(name)) return ember_fail(err, EMBER_ERR_INVALID, "a key name is 1-127 characters of A-Z a-z 0-9 . _ -");
    if (!key || key_size < 64) return ember_fail(err, EMBER_ERR_INVALID, "the key buffer is too small");
    char hex[41];
    if (!srv_random_hex(hex, 20)) return ember_fail(err, EMBER_ERR_IO, "no random bytes from the kernel");
    char text[64];
    snprintf(text, sizeof text, "ember-%s", hex);
    char hash[65], prefix[16];
    srv_sha256_hex(text, strlen(text), hash);
    snprintf(prefix, sizeof prefix, "%.10s", text);
    sqlite3_stmt *st = prepare(s, "INSERT INTO keys (name, hash, prefix, created_at) VALUES (?, ?, ?, ?)");
    if (!st) return ember_fail(err, EMBER_ERR_IO, "database: %s", sqlite3_errmsg(s->db));
    bind_text(st, 1, name);
    bind_text(st, 2, hash);
    bind_text(st, 3, prefix);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT) return ember_fail(err, EMBER_ERR_INVALID, "a key named '%s' exists already", name);
    if (rc != SQLITE_DONE) return ember_fail(err, EMBER_ERR_IO, "database: %s", sqlite3_errmsg(s->db));
    snprintf(key, key_size, "%s", text);
    return EMBER_OK;
}

ember_status srv_store_key_list(srv_store *s, ember_key_info **keys, size_t *count, ember_error *err) {
    *keys = NULL;
    *count = 0;
    sqlite3_stmt *st = prepare(s, "SELECT name, prefix, created_at, last_used FROM keys ORDER BY id");
    if (!st) return ember_fail(err, EMBER_ERR_IO, "database: %s", sqlite3_errmsg(s->db));
    ember_key_info *list = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ember_key_info *grown = realloc(list, sizeof *list * (n + 1));
        if (!grown) {
            free(list);
            sqlite3_finalize(st);
            return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
        }
        list = grown;
        memset(&list[n], 0, sizeof list[n]);
        snprintf(list[n].name, sizeof list[n].name, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(list[n].prefix, sizeof list[n].prefix, "%s", (const char *)sqlite3_column_text(st, 1));
        list[n].created_at = sqlite3_column_int64(st, 2);
        list[n].last_used = sqlite3_column_int64(st, 3);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(list);
        return ember_fail(err, EMBER_ERR_IO, "database: %s", sqlite3_errmsg(s->db));
    }
    *keys = list;
    *count = n;
    return EMBER_OK;
}

ember_status srv_store_key_remove(srv_store *s, const char *name, ember_error *err) {
    if (!valid_name(name)) return ember_fail(err, EMBER_ERR_NOT_FOUND, "no key named '%.130s'", name ? name : "");
    char owner[160];
    snprintf(owner, sizeof owner, "key:%s", name);
    sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *st = prepare(s, "DELETE FROM keys WHERE name = ?");
    int rc = SQLITE_ERROR;
    if (st) {
        bind_text(st, 1, name);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    bool found = rc == SQLITE_DONE && sqlite3_changes(s->db) > 0;
    if (found && (st = prepare(s, "DELETE FROM conversations WHERE owner = ?"))) {
        bind_text(st, 1, owner);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    sqlite3_exec(s->db, rc == SQLITE_DONE ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    if (rc != SQLITE_DONE) return ember_fail(err, EMBER_ERR_IO, "database: %s", sqlite3_errmsg(s->db));
    if (!found) return ember_fail(err, EMBER_ERR_NOT_FOUND, "no key named '%s'", name);
    return EMBER_OK;
}

int srv_store_key_count(srv_store *s) {
    sqlite3_stmt *st = prepare(s, "SELECT count(*) FROM keys");
    if (!st) return -1;
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

bool srv_store_key_check(srv_store *s, const char hash_hex[65], char *owner, size_t owner_size) {
    sqlite3_stmt *st = prepare(s, "SELECT id, name, hash FROM keys");
    if (!st) return false;
    sqlite3_int64 match = -1;
    char name[128] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *hash = (const char *)sqlite3_column_text(st, 2);
        if (hash && strlen(hash) == 64 && srv_equal_ct(hash, hash_hex, 64)) {
            match = sqlite3_column_int64(st, 0);
            snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(st, 1));
        }
    }
    sqlite3_finalize(st);
    if (match < 0) return false;
    snprintf(owner, owner_size, "key:%s", name);
    if ((st = prepare(s, "UPDATE keys SET last_used = ? WHERE id = ?"))) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
        sqlite3_bind_int64(st, 2, match);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    return true;
}

/* ---- conversations ---- */

static json_t *conv_row(sqlite3_stmt *st) {
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
                     "id", (const char *)sqlite3_column_text(st, 0),
                     "object", "conversation",
                     "title", (const char *)sqlite3_column_text(st, 1),
                     "created_at", (json_int_t)sqlite3_column_int64(st, 2),
                     "updated_at", (json_int_t)sqlite3_column_int64(st, 3),
                     "message_count", (json_int_t)sqlite3_column_int64(st, 4));
}

static const char CONV_COLUMNS[] =
    "SELECT c.id, c.title, c.created_at, c.updated_at,"
    " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) FROM conversations c ";

json_t *srv_store_conv_list(srv_store *s, const char *owner) {
    char sql[512];
    snprintf(sql, sizeof sql, "%sWHERE c.owner = ? ORDER BY c.updated_at DESC, c.rowid DESC", CONV_COLUMNS);
    sqlite3_stmt *st = prepare(s, sql);
    if (!st) return NULL;
    bind_text(st, 1, owner);
    json_t *data = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) json_array_append_new(data, conv_row(st));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(data);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "object", "list", "data", data);
}

static json_t *conv_one(srv_store *s, const char *owner, const char *id) {
    char sql[512];
    snprintf(sql, sizeof sql, "%sWHERE c.owner = ? AND c.id = ?", CONV_COLUMNS);
    sqlite3_stmt *st = prepare(s, sql);
    if (!st) return NULL;
    bind_text(st, 1, owner);
    bind_text(st, 2, id);
    json_t *conv = sqlite3_step(st) == SQLITE_ROW ? conv_row(st) : NULL;
    sqlite3_finalize(st);
    return conv;
}

json_t *srv_store_conv_create(srv_store *s, const char *owner, const char *title) {
    char hex[25], id[32];
    if (!srv_random_hex(hex, 12)) return NULL;
    snprintf(id, sizeof id, "conv_%s", hex);
    sqlite3_stmt *st = prepare(s, "INSERT INTO conversations (id, owner, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
    if (!st) return NULL;
    sqlite3_int64 now = (sqlite3_int64)time(NULL);
    bind_text(st, 1, id);
    bind_text(st, 2, owner);
    bind_text(st, 3, title ? title : "New conversation");
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? conv_one(s, owner, id) : NULL;
}

bool srv_store_conv_exists(srv_store *s, const char *owner, const char *id) {
    json_t *conv = conv_one(s, owner, id);
    json_decref(conv);
    return conv != NULL;
}

json_t *srv_store_conv_get(srv_store *s, const char *owner, const char *id) {
    json_t *conv = conv_one(s, owner, id);
    if (!conv) return NULL;
    sqlite3_stmt *st = prepare(s, "SELECT role, content, reasoning, ember, created_at FROM messages "
                                  "WHERE conversation_id = ? ORDER BY id");
    if (!st) {
        json_decref(conv);
        return NULL;
    }
    bind_text(st, 1, id);
    json_t *messages = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *m = json_pack("{s:s, s:s, s:I}", "role", (const char *)sqlite3_column_text(st, 0),
                              "content", (const char *)sqlite3_column_text(st, 1),
                              "created_at", (json_int_t)sqlite3_column_int64(st, 4));
        const char *reasoning = (const char *)sqlite3_column_text(st, 2);
        const char *ember = (const char *)sqlite3_column_text(st, 3);
        if (m && reasoning) json_object_set_new(m, "reasoning_content", json_string(reasoning));
        json_t *e = ember ? json_loads(ember, 0, NULL) : NULL;
        if (m && e) json_object_set_new(m, "ember", e);
        else json_decref(e);
        if (m) json_array_append_new(messages, m);
    }
    sqlite3_finalize(st);
    json_object_set_new(conv, "messages", messages);
    return conv;
}

json_t *srv_store_conv_rename(srv_store *s, const char *owner, const char *id, const char *title) {
    sqlite3_stmt *st = prepare(s, "UPDATE conversations SET title = ?, updated_at = ? WHERE owner = ? AND id = ?");
    if (!st) return NULL;
    bind_text(st, 1, title);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    bind_text(st, 3, owner);
    bind_text(st, 4, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE || sqlite3_changes(s->db) == 0) return NULL;
    return conv_one(s, owner, id);
}

bool srv_store_conv_delete(srv_store *s, const char *owner, const char *id) {
    sqlite3_stmt *st = prepare(s, "DELETE FROM conversations WHERE owner = ? AND id = ?");
    if (!st) return false;
    bind_text(st, 1, owner);
    bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE && sqlite3_changes(s->db) > 0;
}

bool srv_store_conv_append(srv_store *s, const char *owner, const char *id, const char *role, const char *content,
                           const char *reasoning, json_t *ember) {
    if (!srv_store_conv_exists(s, owner, id)) return false;
    char *ember_text = ember ? json_dumps(ember, JSON_COMPACT) : NULL;
    sqlite3_stmt *st = prepare(s, "INSERT INTO messages (conversation_id, role, content, reasoning, ember, created_at) "
                                  "VALUES (?, ?, ?, ?, ?, ?)");
    int rc = SQLITE_ERROR;
    sqlite3_int64 now = (sqlite3_int64)time(NULL);
    if (st) {
        bind_text(st, 1, id);
        bind_text(st, 2, role);
        bind_text(st, 3, content ? content : "");
        bind_text(st, 4, reasoning && reasoning[0] ? reasoning : NULL);
        bind_text(st, 5, ember_text);
        sqlite3_bind_int64(st, 6, now);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    free(ember_text);
    if (rc != SQLITE_DONE) return false;
    if ((st = prepare(s, "UPDATE conversations SET updated_at = ? WHERE id = ?"))) {
        sqlite3_bind_int64(st, 1, now);
        bind_text(st, 2, id);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    return true;
}
