/*
 * server.h — what the server's files share: the server object, the per-connection state and
 * the response helpers. server.c owns the daemon, routing and authentication;
 * completion.c answers chat completions; conversations.c the conversation REST API; info.c
 * what the server offers (/v1/ember/info).
 *
 * Threads: libmicrohttpd runs one thread per connection, and every handler runs on its
 * connection's thread and may block there (waiting for a run slot, or for a run's events).
 * The engine calls a run's event callback on its scheduler thread: that callback only
 * copies the event into the job's queue and signals (completion.c).
 */
#ifndef EMBER_SERVER_SERVER_H
#define EMBER_SERVER_SERVER_H

#include "ember.h"
#include "core/clock.h"
#include "core/strbuf.h"
#include "server/gate.h"
#include "server/metrics.h"
#include "server/request.h"
#include "server/store.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdatomic.h>

typedef struct srv_job srv_job;

struct ember_server {
    ember_engine *engine;
    const char *chat_format;      /* the engine's */
    char *model_id;
    char *host;
    char *web_dir;                /* static files of the web app, or NULL */
    struct ember_tools *tools;    /* server-side tools (not owned), or NULL */
    int port;
    int n_ctx, n_seq_max, parallel, max_agents, default_max_tokens;
    bool kv_split;              /* n_ctx is each sequence's own stream (params.kv_split) */
    size_t max_body;
    bool log_requests;
    bool loopback;                /* host is 127.0.0.0/8 or ::1 */
    int64_t created;              /* Unix seconds */
    struct MHD_Daemon *daemon;
    srv_gate gate;
    srv_metrics metrics;
    srv_store *store;
    char (*file_keys)[65];        /* SHA-256 of the --api-keys keys */
    int n_file_keys;
    atomic_bool stopping;
};

/* One HTTP request on a connection (libmicrohttpd's per-request pointer). */
typedef struct srv_conn {
    ember_server *srv;
    struct MHD_Connection *connection;
    strbuf body;                 /* the upload so far */
    bool too_large;               /* more than max_body arrived: answer 413 */
    bool answered;
    int status;                   /* the status queued, for metrics and the log */
    int tokens;                   /* a completion's prompt + generated tokens, for the log */
    char method[8];               /* for the log */
    char path[160];
    double t_start;               /* monotonic seconds */
    char owner[160];              /* whose conversations (after authentication): the key's name,
                                     "file:HASH" for --api-keys keys, "local" without keys */
    srv_job *job;                 /* a chat completion in flight, or NULL */
} srv_conn;

/* True once the client has closed its end (or the server is stopping). */
bool srv_conn_gone(srv_conn *c);

/* Queues a prepared response (and destroys the caller's reference), recording the status for
 * the log and metrics. */
enum MHD_Result srv_queue(srv_conn *c, int status, struct MHD_Response *r);
/* Queue a response; take ownership of body (malloc'd). Always MHD_YES unless MHD refuses. */
enum MHD_Result srv_respond(srv_conn *c, int status, const char *content_type, char *body);
enum MHD_Result srv_respond_json(srv_conn *c, int status, json_t *value);   /* steals value */
enum MHD_Result srv_respond_error(srv_conn *c, const srv_error *err);
/* 503 when the database is unreachable, 500 when it failed. */
enum MHD_Result srv_respond_store_error(srv_conn *c, srv_store_status st);
enum MHD_Result srv_respond_errorf(srv_conn *c, int status, const char *type, const char *code,
                                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A JSON string of possibly invalid UTF-8 (bad bytes become U+FFFD). */
json_t *srv_json_text(const char *text, size_t len);

/* POST /v1/chat/completions, once the body is complete. */
enum MHD_Result srv_handle_completion(srv_conn *c);
/* Called when libmicrohttpd ends the request: cancels and frees a run still going. */
void srv_completion_end(srv_conn *c);
/* GET /v1/ember/info (info.c). */
enum MHD_Result srv_handle_info(srv_conn *c);
/* /v1/conversations and /v1/conversations/ID. */
enum MHD_Result srv_handle_conversations(srv_conn *c, const char *method, const char *id);

#endif
