/*
 * ember/server.h — `ember serve`: the OpenAI-compatible HTTP server and its API keys.
 * Threads: the server runs requests on its own threads; create and destroy it from one thread.
 * Key functions open the database themselves and may run while a server uses it (SQLite WAL).
 */
#ifndef EMBER_PUBLIC_SERVER_H
#define EMBER_PUBLIC_SERVER_H

#include "ember/core.h"
#include "ember/engine.h"

struct ember_tools;  /* ember/tools.h */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Server                                                                                   */
/*
 * `ember serve`: an OpenAI-compatible HTTP API over one engine (libmicrohttpd, one thread per
 * connection; src/server/ owns it and uses nothing but this header).
 *
 *   1. Endpoints: POST /v1/chat/completions (one object, or Server-Sent Events when "stream"
 *      is true), GET /v1/models, GET /health, GET /metrics (Prometheus text), and
 *      /v1/conversations[/ID] (GET list or one, POST create, PATCH rename, DELETE) where a web
 *      app keeps its conversations. Errors are OpenAI error objects with 4xx/5xx statuses.
 *   2. All requests share the engine. A run is admitted while fewer than `parallel` run and
 *      its sequences and KV cells (prompt + token limit) fit the engine; up to `queue` more
 *      wait in arrival order, beyond that the answer is 429 with Retry-After. A client that
 *      disconnects has its run cancelled and freed at once.
 *   3. API keys are stored hashed (SHA-256) in the database `db_path` (a SQLite file in WAL mode,
 *      or a PostgreSQL database named by a postgresql:// URI that several servers share),
 *      beside the conversations, which belong to the key that wrote them. While the database
 *      cannot be reached, requests that need it get 503 (code database_unavailable); answers
 *      finished meanwhile are kept in memory and written once it is back. With no key configured and a
 *      loopback host, requests need no key; otherwise every request but GET /health needs
 *      "Authorization: Bearer KEY" and gets 401 without a valid one.
 */
typedef struct ember_server ember_server;

typedef struct ember_server_params {
    ember_engine_params engine; /* the model; n_seq_max 0 = parallel + max_agents + 1;
                                   prompt_cache on (ember_server_params_init) */
    const char *host;           /* numeric IPv4 or IPv6 address to listen on; NULL = 127.0.0.1 */
    int port;                   /* TCP port (8080 after init); 0 = any free port */
    int parallel;               /* runs generating at once; 0 = 4 */
    int queue;                  /* requests waiting for a run; 0 = 64, negative = none */
    const char *db_path;        /* SQLite file or postgresql:// URI; NULL = ember_server_default_db() */
    const char *api_keys_file;  /* more keys, one per line ('#' starts a comment); NULL = none */
    const char *model_id;       /* the model's id in the API; NULL = the model file's name */
    size_t max_body_bytes;      /* larger request bodies get 413; 0 = 8 MiB */
    int max_agents;             /* most Contemplating agents a request may ask for;
                                   0 = EMBER_AGENTS_MAX, also the most allowed */
    int default_max_tokens;     /* limit for requests that set none; 0 = the run's share of
                                   the context (n_ctx / parallel, less the prompt) */
    bool log_requests;          /* one line per request on stderr */
    bool kv_split;              /* each sequence a KV stream of its own of n_ctx / parallel cells
                                   (engine.kv_seq_cells, unless set), like llama-server's slots:
                                   faster with many independent streams; each request then
                                   holds at most that many tokens, and agents copy the prompt */
    const char *web_dir;        /* static files of the web app, served at / without a key
                                   (index.html for /); NULL = none */
    struct ember_tools *tools;  /* built-in/MCP tools every request may use, run inside the
                                   server (their calls and results stream as ember events);
                                   NULL = none (the default). Not owned. */
} ember_server_params;

EMBER_API void ember_server_params_init(ember_server_params *params);

/* Loads the model, opens the database, reads the key file and starts listening; requests
 * are then served on the server's own threads until ember_server_destroy. Fails with
 * EMBER_ERR_INVALID (bad parameters or host), EMBER_ERR_IO (the address is in use, the
 * database or key file cannot be read) or the engine's own errors. */
EMBER_API ember_status ember_server_create(const ember_server_params *params,
                                           ember_server **server, ember_error *err);
/* The port the server listens on (the one chosen when params.port was 0). */
EMBER_API int ember_server_port(const ember_server *server);
/* Stops listening, cancels every run, waits for the connections to end, unloads the model. */
EMBER_API void ember_server_destroy(ember_server *server);

/* $EMBER_DB, else $XDG_DATA_HOME/ember/ember.db, else ~/.local/share/ember/ember.db.
 * Fails with EMBER_ERR_NOT_FOUND when neither is set, EMBER_ERR_INVALID when too long. */
EMBER_API ember_status ember_server_default_db(char *path, size_t size, ember_error *err);

typedef struct ember_key_info {
    char name[128];        /* unique, given at creation */
    char prefix[16];       /* the key's first characters, to recognize it */
    int64_t created_at;    /* Unix seconds */
    int64_t last_used;     /* Unix seconds of the last authenticated request; 0 = never */
} ember_key_info;

/* Creates a key named `name` (1-127 bytes of [A-Za-z0-9._-]) in the database at db_path
 * (NULL = the default; created with its folder if missing) and writes the key text, which
 * is never stored, into key (at least 64 bytes). Fails with EMBER_ERR_INVALID (a bad or
 * taken name) or EMBER_ERR_IO. */
EMBER_API ember_status ember_keys_add(const char *db_path, const char *name, char *key,
                                      size_t key_size, ember_error *err);
/* Every key, oldest first; free the array with free(). */
EMBER_API ember_status ember_keys_list(const char *db_path, ember_key_info **keys, size_t *count,
                                       ember_error *err);
/* Deletes a key (its conversations go with it). EMBER_ERR_NOT_FOUND when there is none. */
EMBER_API ember_status ember_keys_remove(const char *db_path, const char *name, ember_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_PUBLIC_SERVER_H */
