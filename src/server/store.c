/*
 * store.c — see store.h. SQL is written once for both drivers (db.h); every failure is
 * reported, never fatal. The queue of writes waiting for the database is a list in arrival
 * order under its own mutex; it is replayed before any other statement runs, and by a
 * thread once a second while it waits.
 */
#include "server/store.h"

#include "server/db.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MAX_PARAMS 8

/* One write that found the database unreachable. */
typedef struct pending_write {
    const char *sql;               /* a static statement of this file */
    int n;
    char *params[MAX_PARAMS];      /* owned copies; NULL = SQL NULL */
    struct pending_write *next;
} pending_write;

struct srv_store {
    srv_db *db;
    pthread_mutex_t queue_lock;
    pending_write *queue_head, *queue_tail;
    size_t queued;
    /* Retries the queue every second while it is not empty, so that it reaches the database
     * even when no request comes. */
    pthread_t retry_thread;
    bool retry_started, closing;
    pthread_cond_t wake;  /* under queue_lock: something was queued, or closing */
};

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

static srv_store_status store_status(srv_db_status st) {
    return st == SRV_DB_OK ? SRV_STORE_OK : st == SRV_DB_UNAVAILABLE ? SRV_STORE_UNAVAILABLE : SRV_STORE_FAILED;
}

static void flush_queue(srv_store *s);

static void *retry_main(void *arg) {
    srv_store *s = arg;
    pthread_mutex_lock(&s->queue_lock);
    while (!s->closing) {
        if (s->queued == 0) {
            pthread_cond_wait(&s->wake, &s->queue_lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&s->wake, &s->queue_lock, &until);
        if (s->closing) break;
        pthread_mutex_unlock(&s->queue_lock);
        flush_queue(s);
        pthread_mutex_lock(&s->queue_lock);
    }
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

ember_status srv_store_open(const char *target, srv_store **out, ember_error *err) {
    *out = NULL;
    if (!target || !target[0]) return ember_fail(err, EMBER_ERR_INVALID, "no database path");
    srv_store *s = calloc(1, sizeof *s);
    if (!s) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->queue_lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    ember_status status = srv_db_open(target, &s->db, err);
    if (status == EMBER_OK) status = srv_db_migrate(s->db, srv_store_migrations, srv_store_n_migrations, err);
    if (status == EMBER_OK) {
        s->retry_started = pthread_create(&s->retry_thread, NULL, retry_main, s) == 0;
        if (!s->retry_started) status = ember_fail(err, EMBER_ERR_NOMEM, "cannot start the store's thread");
    }
    if (status != EMBER_OK) {
        srv_store_close(s);
        return status;
    }
    *out = s;
    return EMBER_OK;
}

/* ---- the queue of writes made while the database was away ---- */

/* Replays the queue in order until it is empty or the database is still away. A write the
 * database refuses (its conversation was deleted meanwhile) is dropped. */
static void flush_queue(srv_store *s) {
    pthread_mutex_lock(&s->queue_lock);
    while (s->queue_head) {
        pending_write *w = s->queue_head;
        if (srv_db_query(s->db, w->sql, w->n, (const char *const *)w->params, NULL) == SRV_DB_UNAVAILABLE) break;
        s->queue_head = w->next;
        if (!s->queue_head) s->queue_tail = NULL;
        s->queued--;
        for (int i = 0; i < w->n; i++) free(w->params[i]);
        free(w);
    }
    pthread_mutex_unlock(&s->queue_lock);
}

static bool enqueue(srv_store *s, const char *sql, int n, const char *const *params) {
    pending_write *w = calloc(1, sizeof *w);
    if (!w || n > MAX_PARAMS) {
        free(w);
        return false;
    }
    w->sql = sql;
    w->n = n;
    bool ok = true;
    for (int i = 0; i < n; i++)
        if (params[i] && !(w->params[i] = strdup(params[i]))) ok = false;
    if (!ok) {
        for (int i = 0; i < n; i++) free(w->params[i]);
        free(w);
        return false;
    }
    pthread_mutex_lock(&s->queue_lock);
    if (s->queue_tail) s->queue_tail->next = w;
    else s->queue_head = w;
    s->queue_tail = w;
    s->queued++;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->queue_lock);
    return true;
}

size_t srv_store_pending(srv_store *s) {
    pthread_mutex_lock(&s->queue_lock);
    size_t n = s->queued;
    pthread_mutex_unlock(&s->queue_lock);
    return n;
}

/* Runs a statement after the queue; `res` (may be NULL) is always initialized. With `queue`,
 * an unreachable database queues a write (behind whatever waits already, so the order of
 * writes holds) and *queued (may be NULL) says so. */
static srv_store_status run_write(srv_store *s, const char *sql, int n, const char *const *params, bool queue,
                                  bool *queued, srv_db_result *res) {
    if (res) memset(res, 0, sizeof *res);
    if (queued) *queued = false;
    flush_queue(s);
    bool behind = srv_store_pending(s) > 0;
    srv_db_status st = behind ? SRV_DB_UNAVAILABLE : srv_db_query(s->db, sql, n, params, res);
    if (st == SRV_DB_UNAVAILABLE && queue) {
        if (!enqueue(s, sql, n, params)) return SRV_STORE_FAILED;
        if (queued) *queued = true;
        return SRV_STORE_OK;
    }
    return store_status(st);
}

static srv_store_status run(srv_store *s, const char *sql, int n, const char *const *params, srv_db_result *res) {
    return run_write(s, sql, n, params, false, NULL, res);
}

void srv_store_close(srv_store *s) {
    if (!s) return;
    if (s->retry_started) {
        pthread_mutex_lock(&s->queue_lock);
        s->closing = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->queue_lock);
        pthread_join(s->retry_thread, NULL);
    }
    if (s->db) flush_queue(s);
    if (s->queued)
        fprintf(stderr, "ember serve: the database is unreachable: %zu queued write%s lost\n", s->queued,
                s->queued == 1 ? "" : "s");
    while (s->queue_head) {
        pending_write *w = s->queue_head;
        s->queue_head = w->next;
        for (int i = 0; i < w->n; i++) free(w->params[i]);
        free(w);
    }
    srv_db_close(s->db);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->queue_lock);
    free(s);
}

/* ---- keys ---- */

static bool valid_name(const char *name) {
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n < 128 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static ember_status db_fail(ember_error *err, const srv_db_result *res) {
    return ember_fail(err, EMBER_ERR_IO, "database: %s", res->message[0] ? res->message : "unreachable");
}

ember_status srv_store_key_add(srv_store *s, const char *name, char *key, size_t key_size, ember_error *err) {
    if (!valid_name(name)) return ember_fail(err, EMBER_ERR_INVALID, "a key name is 1-127 characters of A-Z a-z 0-9 . _ -");
    if (!key || key_size < 64) return ember_fail(err, EMBER_ERR_INVALID, "the key buffer is too small");
    char hex[41];
    if (!srv_random_hex(hex, 20)) return ember_fail(err, EMBER_ERR_IO, "no random bytes from the kernel");
    char text[64];
    snprintf(text, sizeof text, "ember-%s", hex);
    char hash[65], prefix[16], now[24];
    srv_sha256_hex(text, strlen(text), hash);
    snprintf(prefix, sizeof prefix, "%.10s", text);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *params[] = {name, hash, prefix, now};
    srv_db_result res;
    srv_db_status st = srv_db_query(s->db, "INSERT INTO keys (name, hash, prefix, created_at) VALUES (?, ?, ?, ?)", 4,
                                    params, &res);
    ember_status status = EMBER_OK;
    if (st == SRV_DB_CONSTRAINT) status = ember_fail(err, EMBER_ERR_INVALID, "a key named '%s' exists already", name);
    else if (st != SRV_DB_OK) status = db_fail(err, &res);
    srv_db_result_free(&res);
    if (status == EMBER_OK) snprintf(key, key_size, "%s", text);
    return status;
}

ember_status srv_store_key_list(srv_store *s, ember_key_info **keys, size_t *count, ember_error *err) {
    *keys = NULL;
    *count = 0;
    srv_db_result res;
    if (srv_db_query(s->db, "SELECT name, prefix, created_at, last_used FROM keys ORDER BY id", 0, NULL, &res) !=
        SRV_DB_OK) {
        ember_status status = db_fail(err, &res);
        srv_db_result_free(&res);
        return status;
    }
    ember_key_info *list = res.n_rows ? calloc((size_t)res.n_rows, sizeof *list) : NULL;
    if (res.n_rows && !list) {
        srv_db_result_free(&res);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < res.n_rows; i++) {
        snprintf(list[i].name, sizeof list[i].name, "%s", srv_db_text(&res, i, 0));
        snprintf(list[i].prefix, sizeof list[i].prefix, "%s", srv_db_text(&res, i, 1));
        list[i].created_at = srv_db_int(&res, i, 2);
        list[i].last_used = srv_db_int(&res, i, 3);
    }
    *keys = list;
    *count = (size_t)res.n_rows;
    srv_db_result_free(&res);
    return EMBER_OK;
}

ember_status srv_store_key_remove(srv_store *s, const char *name, ember_error *err) {
    if (!valid_name(name)) return ember_fail(err, EMBER_ERR_NOT_FOUND, "no key named '%.130s'", name ? name : "");
    char owner[160];
    snprintf(owner, sizeof owner, "key:%s", name);
    srv_db_result res = {0};
    srv_db_status st = srv_db_begin(s->db, NULL);
    if (st == SRV_DB_OK) st = srv_db_query(s->db, "DELETE FROM keys WHERE name = ?", 1, (const char *[]){name}, &res);
    bool found = st == SRV_DB_OK && res.changes > 0;
    if (found) {
        srv_db_result_free(&res);
        st = srv_db_query(s->db, "DELETE FROM conversations WHERE owner = ?", 1, (const char *[]){owner}, &res);
    }
    ember_status status = EMBER_OK;
    if (st != SRV_DB_OK) status = db_fail(err, &res);
    srv_db_result_free(&res);
    if (srv_db_end(s->db, st == SRV_DB_OK) != SRV_DB_OK && status == EMBER_OK)
        status = ember_fail(err, EMBER_ERR_IO, "database: the deletion could not be committed");
    if (status == EMBER_OK && !found) status = ember_fail(err, EMBER_ERR_NOT_FOUND, "no key named '%s'", name);
    return status;
}

int srv_store_key_count(srv_store *s) {
    srv_db_result res;
    int n = run(s, "SELECT count(*) FROM keys", 0, NULL, &res) == SRV_STORE_OK ? (int)srv_db_int(&res, 0, 0) : -1;
    srv_db_result_free(&res);
    return n;
}

srv_store_status srv_store_key_check(srv_store *s, const char hash_hex[65], char *owner, size_t owner_size) {
    srv_db_result res;
    srv_store_status st = run(s, "SELECT id, name, hash FROM keys", 0, NULL, &res);
    int match = -1;
    for (int i = 0; st == SRV_STORE_OK && i < res.n_rows; i++) {
        const char *hash = srv_db_text(&res, i, 2);
        if (hash && strlen(hash) == 64 && srv_equal_ct(hash, hash_hex, 64)) match = i;
    }
    if (st == SRV_STORE_OK && match < 0) st = SRV_STORE_NOT_FOUND;
    if (st == SRV_STORE_OK) {
        snprintf(owner, owner_size, "key:%s", srv_db_text(&res, match, 1));
        char now[24];
        snprintf(now, sizeof now, "%lld", (long long)time(NULL));
        const char *params[] = {now, srv_db_text(&res, match, 0)};
        run_write(s, "UPDATE keys SET last_used = ? WHERE id = ?", 2, params, true, NULL, NULL);
    }
    srv_db_result_free(&res);
    return st;
}

/* ---- conversations ---- */

static json_t *conv_row(const srv_db_result *res, int row) {
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
                     "id", srv_db_text(res, row, 0),
                     "object", "conversation",
                     "title", srv_db_text(res, row, 1),
                     "created_at", (json_int_t)srv_db_int(res, row, 2),
                     "updated_at", (json_int_t)srv_db_int(res, row, 3),
                     "message_count", (json_int_t)srv_db_int(res, row, 4));
}

#define CONV_COLUMNS                                                                                       \
    "SELECT c.id, c.title, c.created_at, c.updated_at,"                                                  \
    " (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) FROM conversations c "

/* text as a LIKE pattern matching it anywhere, lowercase ('\' escapes % and _). */
static char *like_pattern(const char *text) {
    size_t n = strlen(text);
    char *p = malloc(2 * n + 3);
    if (!p) return NULL;
    size_t k = 0;
    p[k++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '%' || text[i] == '_' || text[i] == '\\') p[k++] = '\\';
        p[k++] = (char)((unsigned char)text[i] < 0x80 ? tolower((unsigned char)text[i]) : text[i]);
    }
    p[k++] = '%';
    p[k] = '\0';
    return p;
}

srv_store_status srv_store_conv_search(srv_store *s, const char *owner, const char *query, json_t **out) {
    *out = NULL;
    srv_db_result res;
    char *pattern = query ? like_pattern(query) : NULL;
    if (query && !pattern) return SRV_STORE_FAILED;
    srv_store_status st =
        query ? run(s, CONV_COLUMNS "WHERE c.owner = ? AND (lower(c.title) LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1"
                                    " FROM messages m WHERE m.conversation_id = c.id AND lower(m.content) LIKE ? ESCAPE '\\'))"
                                    " ORDER BY c.updated_at DESC, c.{order} DESC",
                    3, (const char *[]){owner, pattern, pattern}, &res)
              : run(s, CONV_COLUMNS "WHERE c.owner = ? ORDER BY c.updated_at DESC, c.{order} DESC", 1,
                    (const char *[]){owner}, &res);
    free(pattern);
    if (st == SRV_STORE_OK) {
        json_t *data = json_array();
        for (int i = 0; i < res.n_rows; i++) json_array_append_new(data, conv_row(&res, i));
        *out = json_pack("{s:s, s:o}", "object", "list", "data", data);
    }
    srv_db_result_free(&res);
    return st == SRV_STORE_OK && !*out ? SRV_STORE_FAILED : st;
}

srv_store_status srv_store_conv_list(srv_store *s, const char *owner, json_t **out) {
    return srv_store_conv_search(s, owner, NULL, out);
}

static srv_store_status conv_one(srv_store *s, const char *owner, const char *id, json_t **out) {
    *out = NULL;
    srv_db_result res;
    srv_store_status st = run(s, CONV_COLUMNS "WHERE c.owner = ? AND c.id = ?", 2, (const char *[]){owner, id}, &res);
    if (st == SRV_STORE_OK && res.n_rows == 0) st = SRV_STORE_NOT_FOUND;
    if (st == SRV_STORE_OK && !(*out = conv_row(&res, 0))) st = SRV_STORE_FAILED;
    srv_db_result_free(&res);
    return st;
}

srv_store_status srv_store_conv_create(srv_store *s, const char *owner, const char *title, bool queue, json_t **out) {
    *out = NULL;
    char hex[25], id[32], now[24];
    if (!srv_random_hex(hex, 12)) return SRV_STORE_FAILED;
    snprintf(id, sizeof id, "conv_%s", hex);
    long long t = (long long)time(NULL);
    snprintf(now, sizeof now, "%lld", t);
    if (!title) title = "New conversation";
    const char *params[] = {id, owner, title, now, now};
    srv_store_status st = run_write(s, "INSERT INTO conversations (id, owner, title, created_at, updated_at)"
                                       " VALUES (?, ?, ?, ?, ?)", 5, params, queue, NULL, NULL);
    if (st != SRV_STORE_OK) return st;
    /* Described from what was written: when the write is queued there is nothing to read. */
    *out = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "id", id, "object", "conversation", "title", title,
                     "created_at", (json_int_t)t, "updated_at", (json_int_t)t, "message_count", (json_int_t)0);
    return *out ? SRV_STORE_OK : SRV_STORE_FAILED;
}

srv_store_status srv_store_conv_exists(srv_store *s, const char *owner, const char *id) {
    json_t *conv;
    srv_store_status st = conv_one(s, owner, id, &conv);
    json_decref(conv);
    return st;
}

/* The ids of the messages of conversation id that share `parent` (NULL: the first ones). */
static json_t *siblings(srv_store *s, const char *id, const char *parent) {
    srv_db_result res;
    srv_store_status st = parent ? run(s, "SELECT id FROM messages WHERE conversation_id = ? AND parent_id = CAST(? AS BIGINT)"
                                          " ORDER BY id", 2, (const char *[]){id, parent}, &res)
                                 : run(s, "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS NULL ORDER BY id",
                                       1, (const char *[]){id}, &res);
    json_t *ids = json_array();
    for (int i = 0; st == SRV_STORE_OK && i < res.n_rows; i++) json_array_append_new(ids, json_integer(srv_db_int(&res, i, 0)));
    srv_db_result_free(&res);
    return ids;
}

srv_store_status srv_store_conv_get(srv_store *s, const char *owner, const char *id, json_t **out) {
    json_t *conv;
    srv_store_status st = conv_one(s, owner, id, &conv);
    *out = NULL;
    if (st != SRV_STORE_OK) return st;
    /* the path from the first message to the head (a child's id is always above its parent's) */
    srv_db_result res;
    st = run(s,
             "WITH RECURSIVE path (id) AS ("
             "  SELECT head_id FROM conversations WHERE id = ?"
             "  UNION ALL SELECT m.parent_id FROM messages m JOIN path ON m.id = path.id WHERE m.parent_id IS NOT NULL)"
             " SELECT m.id, m.parent_id, m.role, m.content, m.reasoning, m.ember, m.created_at"
             " FROM messages m JOIN path ON m.id = path.id WHERE m.conversation_id = ? ORDER BY m.id",
             2, (const char *[]){id, id}, &res);
    json_t *messages = json_array();
    long long head = 0;
    for (int i = 0; st == SRV_STORE_OK && i < res.n_rows; i++) {
        const char *parent = srv_db_text(&res, i, 1);
        json_t *m = json_pack("{s:I, s:o, s:s, s:s, s:I, s:o}", "id", (json_int_t)srv_db_int(&res, i, 0),
                              "parent_id", parent ? json_integer(srv_db_int(&res, i, 1)) : json_null(),
                              "role", srv_db_text(&res, i, 2), "content", srv_db_text(&res, i, 3),
                              "created_at", (json_int_t)srv_db_int(&res, i, 6), "siblings", siblings(s, id, parent));
        const char *reasoning = srv_db_text(&res, i, 4);
        const char *ember = srv_db_text(&res, i, 5);
        if (m && reasoning) json_object_set_new(m, "reasoning_content", json_string(reasoning));
        json_t *e = ember ? json_loads(ember, 0, NULL) : NULL;
        if (m && e) json_object_set_new(m, "ember", e);
        else json_decref(e);
        if (m) json_array_append_new(messages, m);
        head = srv_db_int(&res, i, 0);
    }
    srv_db_result_free(&res);
    if (st != SRV_STORE_OK) {
        json_decref(messages);
        json_decref(conv);
        return st;
    }
    json_object_set_new(conv, "head_id", head ? json_integer(head) : json_null());
    json_object_set_new(conv, "messages", messages);
    *out = conv;
    return SRV_STORE_OK;
}

srv_store_status srv_store_conv_has_message(srv_store *s, const char *owner, const char *id, int64_t message_id) {
    char mid[24];
    snprintf(mid, sizeof mid, "%lld", (long long)message_id);
    srv_db_result res;
    srv_store_status st = run(s, "SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                                 " WHERE m.id = CAST(? AS BIGINT) AND c.id = ? AND c.owner = ?",
                              3, (const char *[]){mid, id, owner}, &res);
    if (st == SRV_STORE_OK && res.n_rows == 0) st = SRV_STORE_NOT_FOUND;
    srv_db_result_free(&res);
    return st;
}

srv_store_status srv_store_conv_set_head(srv_store *s, const char *owner, const char *id, int64_t message_id,
                                         json_t **out) {
    *out = NULL;
    srv_store_status st = srv_store_conv_has_message(s, owner, id, message_id);
    if (st != SRV_STORE_OK) return st;
    /* down to the newest leaf below the chosen message: the branch as it was last extended */
    char head[24];
    snprintf(head, sizeof head, "%lld", (long long)message_id);
    for (;;) {
        srv_db_result res;
        st = run(s, "SELECT max(id) FROM messages WHERE parent_id = CAST(? AS BIGINT)", 1, (const char *[]){head}, &res);
        const char *child = st == SRV_STORE_OK ? srv_db_text(&res, 0, 0) : NULL;
        if (child) snprintf(head, sizeof head, "%s", child);
        srv_db_result_free(&res);
        if (st != SRV_STORE_OK) return st;
        if (!child) break;
    }
    st = run(s, "UPDATE conversations SET head_id = CAST(? AS BIGINT) WHERE id = ? AND owner = ?", 3,
             (const char *[]){head, id, owner}, NULL);
    return st == SRV_STORE_OK ? srv_store_conv_get(s, owner, id, out) : st;
}

srv_store_status srv_store_conv_rename(srv_store *s, const char *owner, const char *id, const char *title,
                                       json_t **out) {
    *out = NULL;
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    srv_db_result res;
    srv_store_status st = run(s, "UPDATE conversations SET title = ?, updated_at = ? WHERE owner = ? AND id = ?", 4,
                              (const char *[]){title, now, owner, id}, &res);
    if (st == SRV_STORE_OK && res.changes == 0) st = SRV_STORE_NOT_FOUND;
    srv_db_result_free(&res);
    return st == SRV_STORE_OK ? conv_one(s, owner, id, out) : st;
}

srv_store_status srv_store_conv_delete(srv_store *s, const char *owner, const char *id) {
    srv_db_result res;
    srv_store_status st = run(s, "DELETE FROM conversations WHERE owner = ? AND id = ?", 2, (const char *[]){owner, id},
                              &res);
    if (st == SRV_STORE_OK && res.changes == 0) st = SRV_STORE_NOT_FOUND;
    srv_db_result_free(&res);
    return st;
}

srv_store_status srv_store_conv_append(srv_store *s, const char *owner, const char *id, const char *role,
                                       const char *content, const char *reasoning, json_t *ember, bool queue) {
    return srv_store_conv_append_after(s, owner, id, SRV_STORE_HEAD, role, content, reasoning, ember, queue, NULL);
}

srv_store_status srv_store_conv_append_after(srv_store *s, const char *owner, const char *id, int64_t parent,
                                             const char *role, const char *content, const char *reasoning,
                                             json_t *ember, bool queue, int64_t *message_id) {
    if (message_id) *message_id = 0;
    if (parent > 0) {
        /* a parent of another conversation would graft one tree onto another */
        srv_store_status known = srv_store_conv_has_message(s, owner, id, parent);
        if (known != SRV_STORE_OK) return known;
    }
    char *ember_text = ember ? json_dumps(ember, JSON_COMPACT) : NULL;
    char now[24], after[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    snprintf(after, sizeof after, "%lld", (long long)parent);
    /* One statement that checks the owner, so that a queued write needs no earlier read; the
     * head is read when the write runs. (Static texts: the queue keeps the pointer.) */
#define APPEND_SQL(PARENT)                                                                               \
    "INSERT INTO messages (conversation_id, role, content, reasoning, ember, created_at, parent_id)"    \
    " SELECT id, ?, ?, ?, ?, CAST(? AS BIGINT), " PARENT " FROM conversations WHERE id = ? AND owner = ? RETURNING id"
    static const char *const sql_after_head = APPEND_SQL("head_id"), *const sql_first = APPEND_SQL("NULL"),
                             *const sql_after = APPEND_SQL("CAST(? AS BIGINT)");
#undef APPEND_SQL
    const char *params[] = {role, content ? content : "", reasoning && reasoning[0] ? reasoning : NULL, ember_text,
                            now, parent > 0 ? after : id, parent > 0 ? id : owner, owner};
    srv_db_result res;
    bool queued;
    srv_store_status st = run_write(s, parent > 0 ? sql_after : parent == SRV_STORE_ROOT ? sql_first : sql_after_head,
                                    parent > 0 ? 8 : 7, params, queue, &queued, &res);
    free(ember_text);
    if (st == SRV_STORE_OK && res.changes == 0 && !queued) st = SRV_STORE_NOT_FOUND;
    long long mid = st == SRV_STORE_OK && !queued && res.n_rows ? srv_db_int(&res, 0, 0) : 0;
    srv_db_result_free(&res);
    if (st != SRV_STORE_OK) return st;
    if (message_id) *message_id = mid;
    /* the new message is the head: by id when known, else the newest message (a queued write) */
    if (mid) {
        char m[24];
        snprintf(m, sizeof m, "%lld", mid);
        run_write(s, "UPDATE conversations SET updated_at = CAST(? AS BIGINT), head_id = CAST(? AS BIGINT) WHERE id = ?", 3,
                  (const char *[]){now, m, id}, queue, NULL, NULL);
    } else {
        run_write(s, "UPDATE conversations SET updated_at = CAST(? AS BIGINT), head_id = (SELECT max(m.id) FROM messages m"
                     " WHERE m.conversation_id = conversations.id) WHERE id = ?", 2, (const char *[]){now, id}, queue, NULL, NULL);
    }
    return SRV_STORE_OK;
}
