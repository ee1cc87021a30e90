/*
 * replicas.h — the remote engines behind one ember engine: each URL's adapter (given as
 * "vllm+http://…" / "sglang+http://…" / "llama-server+http://…", else detected), its health
 * (checked every second by a thread of the pool, and marked down at once by a failed
 * request), its concurrency limit (llama-server's slot count, else 8), and the work it has in
 * flight. A request takes the healthy replica with the fewest outstanding tokens (tokens its
 * streams may still produce) and a free slot, waiting while every one is busy.
 * Thread-safe; counters feed ember_engine_replicas (per-replica metrics).
 */
#ifndef EMBER_BACKEND_REPLICAS_H
#define EMBER_BACKEND_REPLICAS_H

#include "backend/adapter.h"

#include <pthread.h>
#include <stdint.h>

typedef struct remote_replica {
    char url[512];               /* base URL, no trailing '/' */
    const remote_adapter *adapter;
    char model[256];             /* the served model's name */
    int slots;                   /* most requests at once */
    int n_ctx;                   /* context per request (0 = unknown) */
    bool vision;                 /* takes images with the raw prompt (llama-server --mmproj) */
    char media_marker[64];       /* where an image goes in its prompt (llama-server's /props) */
    int active;                  /* requests in flight */
    long long outstanding;       /* tokens its streams may still produce */
    bool healthy;
    uint64_t requests, failures, tokens;
} remote_replica;

typedef struct remote_pool {
    remote_replica *replicas;
    int n;
    pthread_mutex_t mu;
    pthread_cond_t changed;      /* a slot freed or health changed (monotonic clock) */
    pthread_t health_thread;
    bool health_started, stopping;
} remote_pool;

/* Probes every URL (detecting its adapter, model, slots and context) and starts the health
 * thread. Fails when a URL is malformed or no replica answers. */
ember_status pool_init(remote_pool *pool, const char *const *urls, int n, ember_error *err);
void pool_free(remote_pool *pool);

/* A healthy replica with a free slot and the fewest outstanding tokens, preferring any but
 * `avoid` (-1 = none); waits up to timeout_s. Returns its index, or -1. */
int pool_acquire(remote_pool *pool, long long expected_tokens, int avoid, double timeout_s);
/* The request ended; `unused` of its expected tokens never came. */
void pool_release(remote_pool *pool, int index, long long unused);
void pool_count_token(remote_pool *pool, int index);
/* A request failed on this replica: down until a health check finds it back. */
void pool_mark_failed(remote_pool *pool, int index);

/* POST (body non-NULL) or GET `url`; a JSON response in *response. Returns the HTTP status,
 * or 0 when the connection failed. */
int remote_http_json(const char *url, json_t *body, double timeout_s, json_t **response);

#endif
