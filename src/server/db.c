/*
 * db.c — see db.h: picks the driver, expands the dialect tokens, serializes the connection
 * and runs the migrations.
 */
#include "server/db.h"
#include "core/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct srv_db {
    const srv_db_driver *driver;
    void *conn;
    pthread_mutex_t lock;  /* recursive: a transaction holds it across its statements */
};

bool srv_db_is_postgresql(const char *target) {
    return target && (strncasecmp(target, "postgresql://", 13) == 0 || strncasecmp(target, "postgres://", 11) == 0);
}

ember_status srv_db_open(const char *target, srv_db **out, ember_error *err) {
    *out = NULL;
    if (!target || !target[0]) return ember_fail(err, EMBER_ERR_INVALID, "no database given");
    srv_db *db = calloc(1, sizeof *db);
    if (!db) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    db->driver = srv_db_is_postgresql(target) ? &srv_db_postgresql : &srv_db_sqlite;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&db->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    char msg[300] = "";
    srv_db_status st = db->driver->open(target, &db->conn, msg, sizeof msg);
    if (st != SRV_DB_OK) {
        pthread_mutex_destroy(&db->lock);
        free(db);
        return ember_fail(err, st == SRV_DB_UNAVAILABLE ? EMBER_ERR_IO : EMBER_ERR_INVALID, "cannot open the database: %s",
                    msg);
    }
    *out = db;
    return EMBER_OK;
}

void srv_db_close(srv_db *db) {
    if (!db) return;
    db->driver->close(db->conn);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

const srv_db_driver *srv_db_driver_of(const srv_db *db) { return db->driver; }

/* `sql` with the driver's tokens expanded (malloc'd; NULL when out of memory). */
static char *expand(const srv_db_driver *d, const char *sql) {
    static const char *const names[] = {"{serial}", "{order_column}", "{order}"};
    const char *values[] = {d->serial, d->order_column, d->order};
    size_t cap = strlen(sql) + 1;
    for (const char *p = strchr(sql, '{'); p; p = strchr(p + 1, '{')) cap += 64;
    char *out = malloc(cap), *w = out;
    if (!out) return NULL;
    for (const char *p = sql; *p;) {
        bool replaced = false;
        for (size_t i = 0; *p == '{' && i < sizeof names / sizeof names[0]; i++) {
            size_t n = strlen(names[i]);
            if (strncmp(p, names[i], n) == 0 && strlen(values[i]) <= 64) {
                memcpy(w, values[i], strlen(values[i]));
                w += strlen(values[i]);
                p += n;
                replaced = true;
                break;
            }
        }
        if (!replaced) *w++ = *p++;
    }
    *w = '\0';
    return out;
}

srv_db_status srv_db_query(srv_db *db, const char *sql, int n, const char *const *params, srv_db_result *res) {
    srv_db_result local;
    srv_db_result *r = res ? res : &local;
    memset(r, 0, sizeof *r);
    char *text = strchr(sql, '{') ? expand(db->driver, sql) : NULL;
    if (strchr(sql, '{') && !text) {
        r->status = SRV_DB_ERROR;
        snprintf(r->message, sizeof r->message, "out of memory");
        return r->status;
    }
    pthread_mutex_lock(&db->lock);
    db->driver->query(db->conn, text ? text : sql, n, params, r);
    pthread_mutex_unlock(&db->lock);
    free(text);
    srv_db_status status = r->status;
    if (!res) srv_db_result_free(&local);
    return status;
}

void srv_db_result_free(srv_db_result *res) {
    if (!res) return;
    for (int i = 0; i < res->n_rows * res->n_cols; i++) free(res->cells[i]);
    free(res->cells);
    res->cells = NULL;
    res->n_rows = res->n_cols = 0;
}

const char *srv_db_text(const srv_db_result *res, int row, int col) {
    if (row < 0 || row >= res->n_rows || col < 0 || col >= res->n_cols) return NULL;
    return res->cells[row * res->n_cols + col];
}

long long srv_db_int(const srv_db_result *res, int row, int col) {
    const char *t = srv_db_text(res, row, col);
    return t ? strtoll(t, NULL, 10) : 0;
}

srv_db_status srv_db_begin(srv_db *db, const char *sql) {
    pthread_mutex_lock(&db->lock);
    srv_db_status st = srv_db_query(db, sql ? sql : "BEGIN", 0, NULL, NULL);
    if (st != SRV_DB_OK) pthread_mutex_unlock(&db->lock);
    return st;
}

srv_db_status srv_db_end(srv_db *db, bool commit) {
    srv_db_status st = srv_db_query(db, commit ? "COMMIT" : "ROLLBACK", 0, NULL, NULL);
    if (st != SRV_DB_OK && commit) srv_db_query(db, "ROLLBACK", 0, NULL, NULL);
    pthread_mutex_unlock(&db->lock);
    return st;
}

/* Runs the ';'-separated statements of one migration (no ';' inside literals). */
static srv_db_status run_script(srv_db *db, const char *script, srv_db_result *res) {
    char *copy = strdup(script);
    if (!copy) {
        res->status = SRV_DB_ERROR;
        snprintf(res->message, sizeof res->message, "out of memory");
        return res->status;
    }
    srv_db_status st = SRV_DB_OK;
    char *save = NULL;
    for (char *stmt = strtok_r(copy, ";", &save); stmt && st == SRV_DB_OK; stmt = strtok_r(NULL, ";", &save)) {
        if (strspn(stmt, " \t\r\n") == strlen(stmt)) continue;
        srv_db_result_free(res);
        st = srv_db_query(db, stmt, 0, NULL, res);
    }
    free(copy);
    return st;
}

ember_status srv_db_migrate(srv_db *db, const char *const *migrations, int count, ember_error *err) {
    srv_db_result res = {0};
    if (srv_db_begin(db, db->driver->begin_schema) != SRV_DB_OK)
        return ember_fail(err, EMBER_ERR_IO, "cannot lock the database schema (%s)", db->driver->name);
    srv_db_status st = srv_db_query(db,
                                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
                                    0, NULL, &res);
    srv_db_result_free(&res);
    long long have = 0;
    if (st == SRV_DB_OK && (st = srv_db_query(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL,
                                              &res)) == SRV_DB_OK)
        have = srv_db_int(&res, 0, 0);
    srv_db_result_free(&res);
    if (st == SRV_DB_OK && have > count) {
        srv_db_end(db, false);
        char v[64];
        snprintf(v, sizeof v, "%lld > %d", have, count);
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "the database schema is newer than this ember (version %s)", v);
    }
    for (long long v = have + 1; st == SRV_DB_OK && v <= count; v++) {
        st = run_script(db, migrations[v - 1], &res);
        if (st != SRV_DB_OK) break;
        srv_db_result_free(&res);
        char version[24], now[24];
        snprintf(version, sizeof version, "%lld", v);
        snprintf(now, sizeof now, "%lld", (long long)time(NULL));
        const char *params[] = {version, now};
        st = srv_db_query(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", 2, params, &res);
    }
    char message[256];
    snprintf(message, sizeof message, "%s", res.message);
    srv_db_result_free(&res);
    if (st != SRV_DB_OK) {
        srv_db_end(db, false);
        return ember_fail(err, st == SRV_DB_UNAVAILABLE ? EMBER_ERR_IO : EMBER_ERR_FORMAT,
                    "cannot set up the database schema: %s", message);
    }
    if (srv_db_end(db, true) != SRV_DB_OK)
        return ember_fail(err, EMBER_ERR_IO, "cannot set up the database schema (%s: commit failed)", db->driver->name);
    return EMBER_OK;
}
