/*
 * db.h — the store's database seam: one small driver interface that the embedded SQLite file
 * (the default) and a PostgreSQL server (`--db postgresql://…`, shared by several `ember serve`
 * processes) both implement, so the store's SQL and its migrations are written once.
 *
 *   1. SQL uses `?` placeholders; every value travels as text (NULL = SQL NULL) and every cell
 *      comes back as text, which both engines convert from and to their column types.
 *   2. Where the two dialects differ, the SQL names a token that the driver expands:
 *      `{serial}` (an auto-numbered primary key column), `{order_column}` (the column that
 *      orders rows by insertion, appended to a CREATE TABLE) and `{order}` (that column in a
 *      query). Nothing else differs.
 *   3. A srv_db is one connection behind a recursive mutex: every call is safe from any thread,
 *      and srv_db_begin … srv_db_end hold it for a transaction.
 *   4. SRV_DB_UNAVAILABLE means the database cannot be reached (the server answers 503): the
 *      PostgreSQL driver reconnects on the next call, so nothing needs restarting when it is back.
 */
#ifndef EMBER_SERVER_DB_H
#define EMBER_SERVER_DB_H

#include "ember.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum srv_db_status {
    SRV_DB_OK = 0,
    SRV_DB_CONSTRAINT,   /* a UNIQUE / foreign-key constraint refused the write */
    SRV_DB_ERROR,        /* the statement failed (bad SQL, disk full, …) */
    SRV_DB_UNAVAILABLE,  /* the database cannot be reached right now */
} srv_db_status;

/* A statement's outcome: its rows (all text) and how many rows it changed. */
typedef struct srv_db_result {
    srv_db_status status;
    int n_rows, n_cols;
    char **cells;        /* n_rows * n_cols, row-major; NULL cells are SQL NULL */
    long long changes;   /* rows inserted, updated or deleted */
    char message[256];   /* the driver's error text when status != SRV_DB_OK */
} srv_db_result;

/* One engine. `conn` is the driver's own connection object. */
typedef struct srv_db_driver {
    const char *name;          /* "sqlite", "postgresql" */
    const char *serial;        /* `{serial}` */
    const char *order_column;  /* `{order_column}` ("" when the engine has an implicit one) */
    const char *order;         /* `{order}` */
    const char *begin_schema;  /* begins the migrations' transaction, excluding other processes */
    srv_db_status (*open)(const char *target, void **conn, char *msg, size_t msg_size);
    void (*close)(void *conn);
    /* One statement with n text parameters; fills `res` (rows, changes, status). */
    void (*query)(void *conn, const char *sql, int n, const char *const *params, srv_db_result *res);
} srv_db_driver;

extern const srv_db_driver srv_db_sqlite;
extern const srv_db_driver srv_db_postgresql;

typedef struct srv_db srv_db;

/* Whether `target` names a PostgreSQL database (postgres:// or postgresql://) rather than a file. */
bool srv_db_is_postgresql(const char *target);

/* Opens the database `target` names with the driver it calls for. */
ember_status srv_db_open(const char *target, srv_db **db, ember_error *err);
void srv_db_close(srv_db *db);
const srv_db_driver *srv_db_driver_of(const srv_db *db);

/* Runs one statement (tokens expanded); `res` may be NULL when only the status matters.
 * A result must be released with srv_db_result_free. */
srv_db_status srv_db_query(srv_db *db, const char *sql, int n, const char *const *params, srv_db_result *res);
void srv_db_result_free(srv_db_result *res);
/* The cell (row, col) as text / as an integer (0 for NULL). */
const char *srv_db_text(const srv_db_result *res, int row, int col);
long long srv_db_int(const srv_db_result *res, int row, int col);

/* A transaction: holds the connection until srv_db_end commits (commit=true) or rolls back.
 * `sql` is the statement that begins it (NULL = "BEGIN"). */
srv_db_status srv_db_begin(srv_db *db, const char *sql);
srv_db_status srv_db_end(srv_db *db, bool commit);

/* Brings the schema to the newest of `migrations` (each one SQL text with tokens, statements
 * separated by ';'), numbered from 1; applied versions are kept in `schema_migrations`. */
ember_status srv_db_migrate(srv_db *db, const char *const *migrations, int count, ember_error *err);

#endif
