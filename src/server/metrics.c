/* metrics.c — see metrics.h. */
#include "server/metrics.h"

#include <string.h>

static const double LATENCY_BOUNDS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
static const double TOKEN_BOUNDS[] = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};

static void hist_init(srv_histogram *h, const char *name, const char *help, const double *bounds, int n) {
    memset(h, 0, sizeof *h);
    h->name = name;
    h->help = help;
    h->bounds = bounds;
    h->n_bounds = n;
}

void srv_metrics_init(srv_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    hist_init(&m->hist[SRV_HIST_TTFT], "ember_ttft_seconds",
              "Time from a request's arrival to its first generated text.", LATENCY_BOUNDS, 14);
    hist_init(&m->hist[SRV_HIST_TPOT], "ember_decode_seconds_per_delta",
              "Mean time between a request's output deltas (decode speed as seen by the client).", TOKEN_BOUNDS, 12);
    hist_init(&m->hist[SRV_HIST_DURATION], "ember_request_duration_seconds",
              "Time from a chat completion's arrival to its end.", LATENCY_BOUNDS, 14);
    hist_init(&m->hist[SRV_HIST_QUEUE_WAIT], "ember_queue_wait_seconds",
              "Time a request waited for a run slot.", LATENCY_BOUNDS, 14);
}

void srv_metrics_destroy(srv_metrics *m) { pthread_mutex_destroy(&m->mu); }

void srv_metrics_request(srv_metrics *m, int status) {
    if (status < 100 || status >= 600) return;
    pthread_mutex_lock(&m->mu);
    m->requests[status]++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_observe(srv_metrics *m, srv_hist_kind kind, double value) {
    if ((unsigned)kind >= SRV_HIST_COUNT || !(value >= 0)) return;
    pthread_mutex_lock(&m->mu);
    srv_histogram *h = &m->hist[kind];
    int i = 0;
    while (i < h->n_bounds && value > h->bounds[i]) i++;
    h->counts[i]++;
    h->sum += value;
    h->count++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_tokens(srv_metrics *m, int prompt, int cached, int reasoning, int answer) {
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += prompt > 0 ? (uint64_t)prompt : 0;
    m->prompt_tokens_cached += cached > 0 ? (uint64_t)cached : 0;
    m->reasoning_tokens += reasoning > 0 ? (uint64_t)reasoning : 0;
    m->completion_tokens += (reasoning > 0 ? (uint64_t)reasoning : 0) + (answer > 0 ? (uint64_t)answer : 0);
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_cancelled(srv_metrics *m) {
    pthread_mutex_lock(&m->mu);
    m->runs_cancelled++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_overload(srv_metrics *m) {
    pthread_mutex_lock(&m->mu);
    m->rejected_overload++;
    pthread_mutex_unlock(&m->mu);
}

static void counter(strbuf *out, const char *name, const char *help, uint64_t value) {
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)value);
}

static void counter_seconds(strbuf *out, const char *name, const char *help, double value) {
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %.6f\n", name, help, name, name, value);
}

static void gauge(strbuf *out, const char *name, const char *help, double value) {
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, value);
}

void srv_metrics_render(srv_metrics *m, const srv_gauges *g, strbuf *out) {
    pthread_mutex_lock(&m->mu);
    strbuf_puts(out, "# HELP ember_http_requests_total HTTP requests answered, by status code.\n"
                      "# TYPE ember_http_requests_total counter\n");
    for (int code = 100; code < 600; code++)
        if (m->requests[code]) strbuf_printf(out, "ember_http_requests_total{code=\"%d\"} %llu\n", code,
                                              (unsigned long long)m->requests[code]);
    counter(out, "ember_prompt_tokens_total", "Prompt tokens of finished chat completions.", m->prompt_tokens);
    counter(out, "ember_prompt_tokens_cached_total",
            "Prompt tokens of finished chat completions taken from the prompt cache (not evaluated).",
            m->prompt_tokens_cached);
    counter(out, "ember_completion_tokens_total", "Generated tokens (reasoning and answer).", m->completion_tokens);
    counter(out, "ember_reasoning_tokens_total", "Generated reasoning tokens.", m->reasoning_tokens);
    counter(out, "ember_runs_cancelled_total", "Runs cancelled because their client went away.", m->runs_cancelled);
    counter(out, "ember_rejected_overload_total", "Requests refused with 429 because the queue was full.",
            m->rejected_overload);
    for (int k = 0; k < SRV_HIST_COUNT; k++) {
        const srv_histogram *h = &m->hist[k];
        strbuf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
        uint64_t cumulative = 0;
        for (int i = 0; i < h->n_bounds; i++) {
            cumulative += h->counts[i];
            strbuf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[i], (unsigned long long)cumulative);
        }
        cumulative += h->counts[h->n_bounds];
        strbuf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", h->name,
                       (unsigned long long)cumulative, h->name, h->sum, h->name, (unsigned long long)h->count);
    }
    pthread_mutex_unlock(&m->mu);
    gauge(out, "ember_queue_depth", "Requests waiting for a run slot.", g->queue_depth);
    gauge(out, "ember_runs_active", "Runs generating now.", g->runs_active);
    gauge(out, "ember_parallel", "Most runs generating at once (--parallel).", g->parallel);
    gauge(out, "ember_sequences_active", "Engine sequences alive now.", g->seqs_active);
    gauge(out, "ember_sequences_reserved", "Sequences the admitted runs may use.", g->seqs_reserved);
    gauge(out, "ember_kv_cells_used", "KV cells held by live sequences.", g->kv_cells_used);
    gauge(out, "ember_kv_cells_cached", "KV cells held only by idle cached prompts (evicted when needed).",
          g->kv_cells_cached);
    gauge(out, "ember_sequences_cached", "Idle cached prompts kept for later requests.", g->seqs_cached);
    counter(out, "ember_prompt_cache_evictions_total", "Cached prompts evicted to make room for live sequences.",
            g->prompt_cache_evictions);
    counter(out, "ember_preemptions_total",
            "Sequences preempted when the KV cells ran out (their cells freed, recomputed later).", g->preemptions);
    counter(out, "ember_sequences_cut_total", "Sequences ended (finish_reason length) when the KV cells ran out.",
            g->seqs_cut);
    gauge(out, "ember_kv_cells_reserved", "KV cells the admitted runs reserved (their prompts).", g->kv_cells_reserved);
    gauge(out, "ember_kv_cells_total", "KV cells of the context (-c).", g->n_ctx);
    counter(out, "ember_decode_calls_total", "llama_decode calls since start.", g->decode_calls);
    counter(out, "ember_tokens_evaluated_total", "Tokens sent through llama_decode since start.", g->tokens_evaluated);
    counter(out, "ember_tokens_sampled_total", "Tokens sampled by the scheduler since start.", g->tokens_sampled);
    counter_seconds(out, "ember_scheduler_sample_seconds_total", "The scheduler thread's time in sampling.",
                    g->sample_seconds);
    counter_seconds(out, "ember_scheduler_callback_seconds_total",
                    "The scheduler thread's time in token callbacks (parsing, events).", g->callback_seconds);
    counter_seconds(out, "ember_scheduler_decode_seconds_total", "The scheduler thread's time in llama_decode.",
                    g->decode_seconds);
    gauge(out, "ember_batch_sequences_max", "Most sequences decoded together in one step since start.",
          (double)g->max_batch_seqs);
}
