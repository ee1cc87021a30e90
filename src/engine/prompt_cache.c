/*
 * prompt_cache.c — the engine's prompt cache across sequences (ember_engine_params.prompt_cache),
 * like llama-server's cache_prompt: a follow-up request of a conversation starts from the
 * cells its previous request left behind instead of evaluating the whole prompt again.
 *
 * A retired sequence stays in the engine's table as an idle cached prompt: its id, its tokens
 * (all evaluated), its image records (decoded: no embeddings) and its segment references.
 * The first reset of a fresh sequence looks for the cached prompt with the longest common
 * prefix (seq_keep_prefix: never inside an image, and one token short of a full match, whose
 * logits are needed again) and copies those cells to the new id (llama_memory_seq_cp shares
 * them, as a fork does; ember_seq_reset_media does this before it encodes the prompt's images,
 * so the images inside the prefix are not even looked up). The cached prompt stays, so two conversations that share a system
 * prompt, or two branches of one, both find it; a retired sequence replaces the cached
 * prompts whose tokens it extends.
 *
 * Cached prompts reserve nothing: the server's admission never counts them. The least
 * recently used one is evicted when a sequence id is needed (seq_alloc) or when a decode
 * step would not fit the cells left (the scheduler). Evicting removes only the cached
 * prompt's own id from its cells, so cells a running sequence shares stay where they are:
 * eviction cannot corrupt a stream. Every function here runs with `mu` held and `decoding`
 * false (the scheduler between steps, or a caller after engine_wait_not_decoding).
 */
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

static void cache_evict(ember_engine *e, ember_seq *c) {
    llama_memory_seq_rm(llama_get_memory(e->ctx), c->id, -1, -1);
    seq_release_spans(c);
    seq_drop_images_from(c, 0);
    e->seqs[c->id] = NULL;
    e->n_cached--;
    free(c->tokens);
    free(c->images);
    free(c);
}

bool cache_evict_lru(ember_engine *e) {
    ember_seq *oldest = NULL;
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *c = e->seqs[i];
        if (c && c->cached && (!oldest || c->cache_use < oldest->cache_use)) oldest = c;
    }
    if (!oldest) return false;
    cache_evict(e, oldest);
    e->stats.prompt_cache_evictions++;
    return true;
}

void cache_make_room(ember_engine *e, int n) {
    while (e->n_cached > 0 && e->stats.kv_cells_used + n > e->n_ctx && cache_evict_lru(e)) {}
}

int cache_adopt(ember_seq *seq, const llama_token *tokens, int n, const seq_image *images, int n_images) {
    ember_engine *e = seq->engine;
    ember_seq *best = NULL;
    int keep = 0;
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *c = e->seqs[i];
        if (!c || !c->cached) continue;
        int k = seq_keep_prefix(c, tokens, n, images, n_images);
        if (k > keep || (k == keep && best && c->cache_use > best->cache_use)) best = c, keep = k;
    }
    if (!best || keep == 0) return 0;
    int n_images_kept = 0;
    while (n_images_kept < best->n_images && best->images[n_images_kept].start < keep) n_images_kept++;
    llama_memory_seq_rm(llama_get_memory(e->ctx), seq->id, -1, -1);
    if (!seq_push_tokens(seq, best->tokens, keep) || !seq_add_images(seq, best->images, n_images_kept) ||
        !seq_copy_prefix(seq, best, keep)) {
        seq->n_tokens = 0;
        seq->n_images = 0;
        return 0;  /* out of memory: the prompt is evaluated in full, nothing else is lost */
    }
    seq->n_past = keep;
    best->cache_use = ++e->cache_clock;
    e->stats.prompt_tokens_reused += (uint64_t)keep;
    return keep;
}

/* Cells only cached prompts see. Every view of a segment is a prefix of it, so the cells of
 * a segment past the longest live view and within the longest cached one are the cache's
 * alone (an adopted prefix shares the front of a cached prompt's segment, not its tail). */
int cache_cells(ember_engine *e) {
    if (e->n_cached == 0) return 0;
    unsigned pass = ++e->mark_epoch;
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *s = e->seqs[i];
        for (int k = 0; s && k < s->n_spans; k++) {
            kv_segment *seg = s->spans[k].seg;
            if (seg->mark != pass) seg->mark = pass, seg->live_used = 0, seg->cache_used = 0;
            int *used = s->cached ? &seg->cache_used : &seg->live_used;
            if (s->spans[k].used > *used) *used = s->spans[k].used;
        }
    }
    int cells = 0;
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *c = e->seqs[i];
        if (!c || !c->cached) continue;
        for (int k = 0; k < c->n_spans; k++) {
            kv_segment *seg = c->spans[k].seg;
            if (seg->counted == pass) continue;
            seg->counted = pass;
            if (seg->cache_used > seg->live_used) cells += seg->cache_used - seg->live_used;
        }
    }
    return cells;
}

void cache_free_all(ember_engine *e) {
    for (int i = 0; e->seqs && i < e->n_seq_max; i++)
        if (e->seqs[i] && e->seqs[i]->cached) cache_evict(e, e->seqs[i]);
}

/* True when `c`'s tokens are a prefix of (or equal to) `seq`'s evaluated tokens. */
static bool covered_by(const ember_seq *c, const ember_seq *seq) {
    return c->n_past <= seq->n_past && memcmp(c->tokens, seq->tokens, sizeof *c->tokens * (size_t)c->n_past) == 0;
}

void ember_seq_retire(ember_seq *seq) {
    if (!seq) return;
    if (BACKEND_OPS(seq)) {
        ember_seq_destroy(seq);
        return;
    }
    ember_engine *e = seq->engine;
    engine_lock(e);
    engine_wait_not_decoding(e);  /* before any change: it unlocks */
    bool keep = e->prompt_cache && !seq->cached && !seq_is_busy(seq) && !seq->in_batch && !seq->cancel_requested &&
                seq->n_past > 0 && seq->n_tokens == seq->n_past;
    if (!keep) {
        engine_unlock(e);
        ember_seq_destroy(seq);
        return;
    }
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *c = e->seqs[i];
        if (c && c->cached && covered_by(c, seq)) cache_evict(e, c);
    }
    ember_sampler *sampler = seq->sampler;
    float *logits = seq->logits;
    seq->sampler = NULL;
    seq->logits = NULL;
    seq->has_logits = false;
    seq->on_token = NULL;
    seq->on_idle = NULL;
    seq->user = NULL;
    seq->cached = true;
    seq->cache_use = ++e->cache_clock;
    e->n_cached++;
    e->stats.seqs_active--;
    pthread_cond_broadcast(&e->step_cv);
    pthread_cond_signal(&e->work_cv);  /* its cells may be evicted for input waiting for them */
    engine_unlock(e);
    sampler_destroy(sampler);
    free(logits);
}
