/*
 * prefix_cache.c — ember_prefix_cache: one conversation's prompt sequence, kept between runs.
 *
 * A run takes the sequence (or learns there is none yet), resets it to its own prompt — which
 * keeps the longest common prefix, images included — and gives it back when it ends. Only one
 * run holds it at a time; a run that finds it taken goes without. `mu` guards the fields; a
 * clear while a run holds the sequence takes effect when the run gives it back.
 */
#include "agent/agent.h"
#include "core/error.h"

#include <pthread.h>
#include <stdlib.h>

struct ember_prefix_cache {
    ember_engine *engine;
    pthread_mutex_t mu;
    ember_seq *seq;        /* the kept sequence, or NULL */
    bool taken;            /* a run holds it */
    bool stale;            /* cleared while taken: do not keep it when it comes back */
};

ember_status ember_prefix_cache_create(ember_engine *engine, ember_prefix_cache **out, ember_error *err) {
    *out = NULL;
    if (!engine) return ember_fail(err, EMBER_ERR_INVALID, "no engine");
    ember_prefix_cache *c = calloc(1, sizeof *c);
    if (!c) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    c->engine = engine;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return EMBER_OK;
}

void ember_prefix_cache_clear(ember_prefix_cache *c) {
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    ember_seq *old = c->taken ? NULL : c->seq;
    if (c->taken) c->stale = true;
    else c->seq = NULL;
    pthread_mutex_unlock(&c->mu);
    ember_seq_destroy(old);
}

void ember_prefix_cache_destroy(ember_prefix_cache *c) {
    if (!c) return;
    ember_seq_destroy(c->seq);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

bool prefix_cache_take(ember_prefix_cache *c, ember_seq **seq) {
    *seq = NULL;
    pthread_mutex_lock(&c->mu);
    bool ok = !c->taken;
    if (ok) {
        c->taken = true;
        c->stale = false;
        *seq = c->seq;
        c->seq = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void prefix_cache_give(ember_prefix_cache *c, ember_seq *seq) {
    pthread_mutex_lock(&c->mu);
    ember_seq *drop = c->stale ? seq : NULL;
    if (!c->stale) c->seq = seq;
    c->taken = false;
    c->stale = false;
    pthread_mutex_unlock(&c->mu);
    ember_seq_destroy(drop);
}
