/*
 * backend.h — the seam between ember's sequence interface (ember.h: ember_engine_*,
 * ember_seq_*) and what generates tokens. The in-process llama.cpp engine (src/engine) is
 * one backend; remote engines over HTTP (remote.c: llama-server, vLLM, SGLang replicas) are
 * another.
 *
 * Every engine and every sequence object begins with a backend_tag. The in-process engine
 * leaves it NULL (calloc) and runs its own code; any other backend sets `ops`, and each public
 * ember_engine_* / ember_seq_* function hands the call to it first thing (BACKEND_DISPATCH).
 * So src/engine keeps its internals to itself and a new backend touches none of them.
 *
 * A backend keeps the sequence contract of ember.h: token callbacks may feed text to their
 * own sequence (budget forcing) and return PAUSE; the idle callback fires once per
 * generate; fork copies the sequence's content; destroy works at any time.
 */
#ifndef EMBER_BACKEND_H
#define EMBER_BACKEND_H

#include "ember.h"

typedef struct ember_backend_ops {
    const char *name;
    /* engine */
    void (*engine_destroy)(ember_engine *engine);
    const char *(*chat_format)(const ember_engine *engine);
    int (*n_ctx)(const ember_engine *engine);
    int (*n_vocab)(const ember_engine *engine);
    bool (*has_vision)(const ember_engine *engine);
    int (*image_size)(const ember_engine *engine);
    int (*image_tokens)(ember_engine *engine, const ember_image *image);
    int (*count_tokens)(ember_engine *engine, const char *text, bool special);
    void (*get_stats)(ember_engine *engine, ember_engine_stats *stats);
    /* sequences */
    ember_status (*seq_create)(ember_engine *engine, const ember_sampling *sampling, ember_seq **seq,
                               ember_error *err);
    void (*seq_destroy)(ember_seq *seq);
    void (*seq_set_callbacks)(ember_seq *seq, ember_token_fn on_token, ember_seq_idle_fn on_idle, void *user);
    ember_status (*seq_feed_text)(ember_seq *seq, const char *text, bool special, ember_error *err);
    ember_status (*seq_feed_image)(ember_seq *seq, const ember_image *image, ember_error *err);
    ember_status (*seq_feed_tokens)(ember_seq *seq, const int32_t *tokens, int n, ember_error *err);
    ember_status (*seq_generate)(ember_seq *seq, ember_error *err);
    ember_status (*seq_wait_idle)(ember_seq *seq, ember_error *err);
    ember_status (*seq_fork)(ember_seq *parent, const ember_sampling *sampling, ember_seq **child, ember_error *err);
    void (*seq_cancel)(ember_seq *seq);
    ember_status (*seq_set_sampling)(ember_seq *seq, const ember_sampling *sampling, ember_error *err);
    ember_status (*seq_reset_media)(ember_seq *seq, const char *text, bool special, const ember_image *const *images,
                                    int n_images, ember_error *err);
    int (*seq_n_tokens)(const ember_seq *seq);
    int (*seq_n_evaluated)(const ember_seq *seq);
    int (*seq_n_encoded)(const ember_seq *seq);
    int (*seq_id)(const ember_seq *seq);
} ember_backend_ops;

/* The first member of every engine and sequence object: NULL ops = the in-process engine. */
typedef struct backend_tag {
    const ember_backend_ops *ops;
} backend_tag;

#define BACKEND_OPS(object) (((const backend_tag *)(const void *)(object))->ops)

/* At the top of a public function: hand the call to the object's backend, if it has one. */
#define BACKEND_DISPATCH(object, fn, ...)                                                           \
    do {                                                                                            \
        if (BACKEND_OPS(object)) return BACKEND_OPS(object)->fn(__VA_ARGS__);                       \
    } while (0)
#define BACKEND_DISPATCH_VOID(object, fn, ...)                                                      \
    do {                                                                                            \
        if (BACKEND_OPS(object)) {                                                                  \
            BACKEND_OPS(object)->fn(__VA_ARGS__);                                                   \
            return;                                                                                 \
        }                                                                                           \
    } while (0)

/* remote.c: an engine whose sequences generate on the remote servers `params->engine_urls`. */
ember_status remote_engine_create(const ember_engine_params *params, ember_engine **engine, ember_error *err);

#endif
