/*
 * engine.c — the engine's life: load the model, size one context with a unified KV cache for
 * many sequences, start and stop the scheduler thread, report statistics.
 *
 * llama.cpp's log callback is process-wide; ember routes it through log_sink(), which prints
 * only while at least one verbose engine exists. That counter is the one piece of state the
 * engine keeps outside an engine object.
 */
#include "engine/engine_internal.h"
#include "engine/inspect.h"
#include "core/clock.h"
#include "core/error.h"

#include <mtmd-helper.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int verbose_engines;
static pthread_once_t backend_once = PTHREAD_ONCE_INIT;

static void log_sink(enum ggml_log_level level, const char *text, void *user) {
    (void)level;
    (void)user;
    if (atomic_load(&verbose_engines) > 0) fputs(text, stderr);
}

static void backend_init(void) {
    llama_log_set(log_sink, NULL);
    mtmd_helper_log_set(log_sink, NULL);
    llama_backend_init();
}

void ember_engine_params_init(ember_engine_params *p) {
    memset(p, 0, sizeof *p);
}

void ember_sampling_init(ember_sampling *s) {
    *s = (ember_sampling){.temperature = 0.7f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .seed = 0};
}

bool engine_on_scheduler(const ember_engine *e) { return pthread_equal(pthread_self(), e->thread); }
void engine_lock(ember_engine *e) { pthread_mutex_lock(&e->mu); }
void engine_unlock(ember_engine *e) { pthread_mutex_unlock(&e->mu); }
void engine_lock_unless_scheduler(ember_engine *e) {
    if (!engine_on_scheduler(e)) engine_lock(e);
}
void engine_unlock_unless_scheduler(ember_engine *e) {
    if (!engine_on_scheduler(e)) engine_unlock(e);
}
void engine_wait_not_decoding(ember_engine *e) {
    if (!e->decoding) return;
    e->op_waiters++;
    while (e->decoding) pthread_cond_wait(&e->step_cv, &e->mu);
    /* the scheduler waits on work_cv for the last of us (it cannot run before we unlock) */
    if (--e->op_waiters == 0) pthread_cond_signal(&e->work_cv);
}

static void engine_free(ember_engine *e) {
    if (e->ctx) cache_free_all(e);
    media_free(e);
    if (e->ctx) llama_free(e->ctx);
    if (e->model) llama_model_free(e->model);
    if (e->batch.token) llama_batch_free(e->batch);
    free(e->seqs);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->mtmd_mu);
    pthread_cond_destroy(&e->work_cv);
    pthread_cond_destroy(&e->step_cv);
    if (e->verbose) atomic_fetch_sub(&verbose_engines, 1);
    free(e);
}

ember_status ember_engine_create(const ember_engine_params *p, ember_engine **out, ember_error *err) {
    *out = NULL;
    if (p && p->n_engine_urls > 0) return remote_engine_create(p, out, err);
    if (!p || !p->model_path) return ember_fail(err, EMBER_ERR_INVALID, "no model given (-m MODEL.gguf)");
    if (p->n_ctx < 0 || p->n_threads < 0 || p->n_seq_max < 0 || p->n_batch < 0 || p->kv_seq_cells < 0)
        return ember_fail(err, EMBER_ERR_INVALID, "context, threads, sequences and batch must not be negative");
    if (p->image_max_tokens < 0 || p->image_min_tokens < 0 ||
        (p->image_max_tokens && p->image_min_tokens > p->image_max_tokens))
        return ember_fail(err, EMBER_ERR_INVALID, "image token limits must not be negative, nor the minimum above the maximum");

    ember_model_info info;
    ember_status status = ember_model_inspect(p->model_path, &info, err);
    if (status != EMBER_OK) return status;

    pthread_once(&backend_once, backend_init);
    ember_engine *e = calloc(1, sizeof *e);
    if (!e) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->mtmd_mu, NULL);
    ember_cond_init_monotonic(&e->work_cv);  /* timed waits while input waits for cells */
    pthread_cond_init(&e->step_cv, NULL);
    e->verbose = p->verbose;
    if (e->verbose) atomic_fetch_add(&verbose_engines, 1);
    snprintf(e->chat_format, sizeof e->chat_format, "%s", info.chat_format);

    struct llama_model_params mp = llama_model_default_params();
    e->model = llama_model_load_from_file(p->model_path, mp);
    if (!e->model) {
        engine_free(e);
        return ember_fail(err, EMBER_ERR_ENGINE,
                          "llama.cpp could not load '%s' (architecture '%s'); run with --verbose for its log",
                          p->model_path, info.architecture);
    }
    e->vocab = llama_model_get_vocab(e->model);
    e->n_vocab = llama_vocab_n_tokens(e->vocab);

    int trained = llama_model_n_ctx_train(e->model);
    e->n_ctx = p->n_ctx ? p->n_ctx : (trained > 0 && trained < 8192 ? trained : 8192);
    e->n_seq_max = p->n_seq_max ? p->n_seq_max : 32;
    e->kv_split = p->kv_seq_cells > 0;
    if (e->kv_split) {  /* llama.cpp gives each stream n_ctx / n_seq_max cells, padded to 256 */
        int per_seq = (p->kv_seq_cells + 255) / 256 * 256;
        if ((long long)per_seq * e->n_seq_max > INT32_MAX / 2) {
            engine_free(e);
            return ember_fail(err, EMBER_ERR_INVALID, "%d sequences of %d cells are too many cells", e->n_seq_max,
                              per_seq);
        }
        e->n_ctx = per_seq * e->n_seq_max;
    }
    e->n_batch = p->n_batch ? p->n_batch : 512;
    /* a recurrent state cannot drop a tail: there is no prefix to share */
    e->prompt_cache = p->prompt_cache && !llama_model_is_recurrent(e->model) && !llama_model_is_hybrid(e->model);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = p->n_threads ? p->n_threads : (int)(cores > 0 ? cores : 1);

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)e->n_ctx;
    cp.n_batch = (uint32_t)e->n_batch;
    cp.n_ubatch = (uint32_t)e->n_batch;
    cp.n_seq_max = (uint32_t)e->n_seq_max;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.kv_unified = !e->kv_split;  /* unified: forks share prefix cells, Contemplating's way */
    cp.swa_full = true;     /* forked sequences must keep their shared sliding-window cells */
    cp.no_perf = true;
    e->ctx = llama_init_from_model(e->model, cp);
    if (!e->ctx) {
        engine_free(e);
        return ember_fail(err, EMBER_ERR_ENGINE, "llama.cpp could not create a context of %d tokens", e->n_ctx);
    }
    e->n_ctx_seq = e->kv_split ? (int)llama_n_ctx_seq(e->ctx) : e->n_ctx;
    if (p->mmproj_path) {
        status = media_init(e, p->mmproj_path, threads, p, err);
        if (status != EMBER_OK) {
            engine_free(e);
            return status;
        }
    }
    e->seqs = calloc((size_t)e->n_seq_max, sizeof *e->seqs);
    e->batch = llama_batch_init(e->n_batch, 0, 1);
    if (!e->seqs || !e->batch.token) {
        engine_free(e);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    if (pthread_create(&e->thread, NULL, scheduler_main, e) != 0) {
        engine_free(e);
        return ember_fail(err, EMBER_ERR_NOMEM, "cannot start the scheduler thread");
    }
    *out = e;
    return EMBER_OK;
}

void ember_engine_destroy(ember_engine *e) {
    if (e) BACKEND_DISPATCH_VOID(e, engine_destroy, e);
    if (!e) return;
    engine_lock(e);
    e->stop = true;
    pthread_cond_signal(&e->work_cv);
    engine_unlock(e);
    pthread_join(e->thread, NULL);
    engine_free(e);
}

const char *ember_engine_chat_format(const ember_engine *e) {
    BACKEND_DISPATCH(e, chat_format, e);
    return e->chat_format;
}
int ember_engine_n_ctx(const ember_engine *e) {
    BACKEND_DISPATCH(e, n_ctx, e);
    return e->n_ctx_seq;
}
int ember_engine_n_ctx_train(const ember_engine *e) {
    if (BACKEND_OPS(e)) return 0;  /* a remote engine's model is not ours to read */
    int trained = llama_model_n_ctx_train(e->model);
    return trained > 0 ? trained : 0;
}
int ember_engine_n_vocab(const ember_engine *e) {
    BACKEND_DISPATCH(e, n_vocab, e);
    return e->n_vocab;
}

void ember_engine_get_stats(ember_engine *e, ember_engine_stats *stats) {
    BACKEND_DISPATCH_VOID(e, get_stats, e, stats);
    engine_lock_unless_scheduler(e);
    *stats = e->stats;
    stats->kv_cells_cached = cache_cells(e);
    stats->kv_cells_used -= stats->kv_cells_cached;
    stats->seqs_cached = e->n_cached;
    engine_unlock_unless_scheduler(e);
}
