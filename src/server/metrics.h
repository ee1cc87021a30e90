/*
 * metrics.h — the server's counters and histograms, rendered as Prometheus text for
 * GET /metrics. Every function is safe from any thread (one mutex).
 */
#ifndef EMBER_SERVER_METRICS_H
#define EMBER_SERVER_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include "core/strbuf.h"

enum { SRV_HIST_BUCKETS = 14 };

typedef struct srv_histogram {
    const char *name;                       /* metric name, e.g. "ember_ttft_seconds" */
    const char *help;
    const double *bounds;                   /* upper bounds, ascending; +Inf is implicit */
    int n_bounds;
    uint64_t counts[SRV_HIST_BUCKETS + 1];  /* non-cumulative, last = above every bound */
    double sum;
    uint64_t count;
} srv_histogram;

typedef enum srv_hist_kind {
    SRV_HIST_TTFT,          /* request arrival to the first generated text, seconds */
    SRV_HIST_TPOT,          /* mean time between output deltas of a request, seconds */
    SRV_HIST_DURATION,      /* whole request, seconds */
    SRV_HIST_QUEUE_WAIT,    /* time waiting for a run slot, seconds */
    SRV_HIST_COUNT,
} srv_hist_kind;

typedef struct srv_metrics {
    pthread_mutex_t mu;
    uint64_t requests[600];             /* by HTTP status */
    uint64_t prompt_tokens;
    uint64_t prompt_tokens_cached;      /* of those, taken from the prompt cache */
    uint64_t completion_tokens;         /* reasoning + answer */
    uint64_t reasoning_tokens;
    uint64_t runs_cancelled;            /* clients that went away mid-run */
    uint64_t rejected_overload;         /* 429s for a full queue */
    srv_histogram hist[SRV_HIST_COUNT];
} srv_metrics;

/* The gauges sampled at scrape time. */
typedef struct srv_gauges {
    int queue_depth;          /* requests waiting for a run */
    int runs_active;          /* runs generating */
    int seqs_active;          /* engine sequences alive */
    int seqs_reserved;        /* sequences the admitted runs may use */
    int kv_cells_used;
    int kv_cells_cached;      /* held only by idle cached prompts */
    int seqs_cached;          /* idle cached prompts */
    uint64_t prompt_cache_evictions; /* cached prompts dropped to make room */
    uint64_t preemptions;     /* sequences preempted when the cells ran out (recomputed later) */
    uint64_t seqs_cut;        /* sequences ended when the cells ran out */
    int kv_cells_reserved;    /* cells the admitted runs may use */
    int n_ctx;
    int parallel;
    uint64_t decode_calls;
    uint64_t tokens_evaluated;
    uint64_t tokens_sampled;
    double sample_seconds;    /* the scheduler thread's time in sampling */
    double callback_seconds;  /* ... in token callbacks (parsing, events) */
    double decode_seconds;    /* ... in llama_decode */
    uint64_t max_batch_seqs;  /* most sequences one decode step has held */
} srv_gauges;

void srv_metrics_init(srv_metrics *m);
void srv_metrics_destroy(srv_metrics *m);
void srv_metrics_request(srv_metrics *m, int status);
void srv_metrics_observe(srv_metrics *m, srv_hist_kind kind, double value);
void srv_metrics_tokens(srv_metrics *m, int prompt, int cached, int reasoning, int answer);
void srv_metrics_cancelled(srv_metrics *m);
void srv_metrics_overload(srv_metrics *m);
/* Appends the Prometheus text exposition. */
void srv_metrics_render(srv_metrics *m, const srv_gauges *g, strbuf *out);

#endif
