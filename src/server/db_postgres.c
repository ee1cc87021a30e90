/*
 * db_postgres.c — the PostgreSQL store driver (libpq): `--db postgresql://USER@HOST/DB?…`, any
 * libpq connection URI. Several `ember serve` processes share one database this way.
 *
 * `?` placeholders become $1, $2 … (outside quoted literals); parameters go as untyped text
 * and the server infers their types. A connection that broke (the server restarted or was
 * stopped) is reset before the next statement; a statement that fails because the connection
 * is gone reports SRV_DB_UNAVAILABLE. Connecting gives up after 5 s unless the URI says
 * otherwise (connect_timeout).
 */
#include "server/db.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static srv_db_status connection_failure(PGconn *pg, char *msg, size_t msg_size) {
    const char *text = pg ? PQerrorMessage(pg) : "out of memory";
    snprintf(msg, msg_size, "%.*s", (int)strcspn(text, "\n"), text);
    return SRV_DB_UNAVAILABLE;
}

static void ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static srv_db_status pg_open(const char *uri, void **conn, char *msg, size_t msg_size) {
    /* The URI comes last so that its own connect_timeout overrides the default. */
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {"5", uri, NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        srv_db_status st = connection_failure(pg, msg, msg_size);
        PQfinish(pg);
        return st;
    }
    PQsetNoticeProcessor(pg, ignore_notice, NULL);  /* "relation exists, skipping" is not news */
    *conn = pg;
    return SRV_DB_OK;
}

static void pg_close(void *conn) { PQfinish(conn); }

/* sql with each `?` outside '…' and "…" replaced by $N. */
static char *numbered(const char *sql) {
    size_t n = 0;
    for (const char *p = sql; *p; p++) n += *p == '?';
    char *out = malloc(strlen(sql) + n * 5 + 1), *w = out;
    if (!out) return NULL;
    char quote = 0;
    int index = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote) quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?') {
            w += sprintf(w, "$%d", ++index);
            continue;
        }
        *w++ = *p;
    }
    *w = '\0';
    return out;
}

static PGresult *run(PGconn *pg, const char *sql, int n, const char *const *params) {
    return n == 0 ? PQexec(pg, sql) : PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
}

static void pg_query(void *conn, const char *sql, int n, const char *const *params, srv_db_result *res) {
    PGconn *pg = conn;
    bool in_transaction = PQtransactionStatus(pg) == PQTRANS_INTRANS || PQtransactionStatus(pg) == PQTRANS_INERROR;
    if (PQstatus(pg) != CONNECTION_OK) PQreset(pg);
    if (PQstatus(pg) != CONNECTION_OK) {
        res->status = connection_failure(pg, res->message, sizeof res->message);
        return;
    }
    char *text = n > 0 ? numbered(sql) : NULL;
    if (n > 0 && !text) {
        res->status = SRV_DB_ERROR;
        snprintf(res->message, sizeof res->message, "out of memory");
        return;
    }
    PGresult *r = run(pg, text ? text : sql, n, params);
    /* The server went away since the last statement: reconnect and try once more, unless a
     * transaction was open (it is gone with the connection; its owner must start again). */
    if (PQstatus(pg) == CONNECTION_BAD && !in_transaction) {
        PQclear(r);
        PQreset(pg);
        r = PQstatus(pg) == CONNECTION_OK ? run(pg, text ? text : sql, n, params) : NULL;
    }
    free(text);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        res->status = SRV_DB_OK;
        res->changes = strtoll(PQcmdTuples(r), NULL, 10);
        int rows = PQntuples(r), cols = PQnfields(r);
        if (rows > 0 && cols > 0) {
            res->cells = calloc((size_t)rows * (size_t)cols, sizeof *res->cells);
            if (!res->cells) {
                res->status = SRV_DB_ERROR;
                snprintf(res->message, sizeof res->message, "out of memory");
            }
            for (int i = 0; res->cells && i < rows; i++)
                for (int c = 0; c < cols; c++)
                    if (!PQgetisnull(r, i, c)) res->cells[i * cols + c] = strdup(PQgetvalue(r, i, c));
            if (res->cells) {
                res->n_rows = rows;
                res->n_cols = cols;
            }
        }
    } else if (PQstatus(pg) == CONNECTION_BAD) {
        res->status = connection_failure(pg, res->message, sizeof res->message);
    } else {
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        /* Class 23: integrity constraint violation; class 08 / 57P: connection or shutdown. */
        if (state && strncmp(state, "23", 2) == 0) res->status = SRV_DB_CONSTRAINT;
        else if (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)) res->status = SRV_DB_UNAVAILABLE;
        else res->status = SRV_DB_ERROR;
        const char *text_err = r ? PQresultErrorMessage(r) : PQerrorMessage(pg);
        snprintf(res->message, sizeof res->message, "%.*s", (int)strcspn(text_err, "\n"), text_err);
    }
    PQclear(r);
}

const srv_db_driver srv_db_postgresql = {
    .name = "postgresql",
    .serial = "BIGSERIAL PRIMARY KEY",
    .order_column = ", seq BIGSERIAL",
    .order = "seq",
    .begin_schema = "BEGIN; SELECT pg_advisory_xact_lock(7206414)",
    .open = pg_open,
    .close = pg_close,
    .query = pg_query,
};
