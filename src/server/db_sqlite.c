/*
 * db_sqlite.c — the default store driver: one SQLite file (WAL, foreign keys on), created with
 * its folder when missing and readable by its owner only. Statements are prepared per call.
 */
#include "server/db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static srv_db_status sqlite_open(const char *path, void **conn, char *msg, size_t msg_size) {
    make_parent(path);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc == SQLITE_OK) {
        chmod(path, 0600);
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        snprintf(msg, msg_size, "%.200s: %.90s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return SRV_DB_ERROR;
    }
    *conn = db;
    return SRV_DB_OK;
}

static void sqlite_close(void *conn) { sqlite3_close(conn); }

static void sqlite_query(void *conn, const char *sql, int n, const char *const *params, srv_db_result *res) {
    sqlite3 *db = conn;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    for (int i = 0; rc == SQLITE_OK && i < n; i++)
        rc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i + 1);
    int cols = st ? sqlite3_column_count(st) : 0;
    size_t cap = 0;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) break;
        if ((size_t)(res->n_rows + 1) * (size_t)cols > cap) {
            size_t grown = cap ? cap * 2 : (size_t)cols * 8;
            char **cells = realloc(res->cells, grown * sizeof *cells);
            if (!cells) {
                rc = SQLITE_NOMEM;
                break;
            }
            res->cells = cells;
            cap = grown;
        }
        for (int c = 0; c < cols; c++) {
            const char *t = (const char *)sqlite3_column_text(st, c);
            res->cells[res->n_rows * cols + c] = t ? strdup(t) : NULL;
        }
        res->n_rows++;
        res->n_cols = cols;
    }
    if (rc == SQLITE_DONE) {
        res->status = SRV_DB_OK;
        res->changes = sqlite3_changes(db);
    } else {
        res->status = (rc & 0xff) == SQLITE_CONSTRAINT ? SRV_DB_CONSTRAINT : SRV_DB_ERROR;
        snprintf(res->message, sizeof res->message, "%s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
}

const srv_db_driver srv_db_sqlite = {
    .name = "sqlite",
    .serial = "INTEGER PRIMARY KEY",
    .order_column = "",
    .order = "rowid",
    .begin_schema = "BEGIN IMMEDIATE",
    .open = sqlite_open,
    .close = sqlite_close,
    .query = sqlite_query,
};
