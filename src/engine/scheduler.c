/*
 * scheduler.c — the engine's one decode thread (continuous batching).
 *
 * Each step: sequences that may sample from kept logits do so; then one batch is packed with
 * the next token of every generating sequence first (so decoding latency does not wait on
 * prefill) and then chunks of queued input, up to n_batch tokens; llama_decode runs without
 * the lock; every sequence whose queued input is now exhausted either samples its next token
 * (calling its token callback) or keeps its logits row for a later fork or generate.
 * Queued images are decoded one per step before the text batch (media_step); text is packed
 * only up to a sequence's next queued image.
 */
#include "engine/engine_internal.h"

#include <string.h>

/* Samples one token for `seq` from `logits` and acts on the callback's answer. */
static void sample_next(ember_engine *e, ember_seq *seq, const float *logits) {
    ember_token_info tok;
    llama_token token = sampler_sample(seq->sampler, logits, &tok);
    seq->has_logits = false;
    if (token < 0) {
        seq_go_idle(seq, EMBER_ERR_INVALID);
        return;
    }
    ember_seq_action action = seq->on_token ? seq->on_token(seq, &tok, seq->user) : EMBER_SEQ_CONTINUE;
    if (seq->cancel_requested) {
        seq_go_idle(seq, EMBER_ERR_CANCELLED);
        return;
    }
    if (action == EMBER_SEQ_PAUSE || !seq->generating) {
        /* Keep the logits so that generate() after a feed-less pause resamples the same row. */
        memcpy(seq->logits, logits, sizeof *logits * (size_t)e->n_vocab);
        seq->has_logits = seq->n_tokens == seq->n_past;
        seq_go_idle(seq, EMBER_OK);
        return;
    }
    /* The sampled token goes in front of anything the callback queued (e.g. an injected
     * channel close), so the text stays in the order the model and the callback produced. */
    int queued = seq->n_tokens - seq->n_past;
    if (seq->n_tokens + 1 > e->n_ctx || !seq_push_tokens(seq, &token, 1)) {
        seq_go_idle(seq, EMBER_ERR_CONTEXT);
        return;
    }
    if (queued > 0) {
        memmove(seq->tokens + seq->n_past + 1, seq->tokens + seq->n_past, sizeof token * (size_t)queued);
        seq->tokens[seq->n_past] = token;
        for (int i = 0; i < seq->n_images; i++)
            if (seq->images[i].start >= seq->n_past) seq->images[i].start++;
    }
}

static bool any_work(ember_engine *e) {
    for (int i = 0; i < e->n_seq_max; i++) {
        if (e->seqs[i] && (seq_is_busy(e->seqs[i]) || e->seqs[i]->cancel_requested)) return true;
    }
    return false;
}

/* Packs the batch; returns the number of tokens in it. */
static int pack_batch(ember_engine *e, int *start, int *taken) {
    struct llama_batch *b = &e->batch;
    b->n_tokens = 0;
    int n_seqs = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < e->n_seq_max && b->n_tokens < e->n_batch; i++) {
            ember_seq *seq = e->seqs[i];
            if (!seq || seq->in_batch) continue;
            int queued = seq->n_tokens - seq->n_past;
            int text = seq_next_image_start(seq, seq->n_past) - seq->n_past;  /* text before an image */
            if (text <= 0) continue;
            bool decoding_step = seq->generating && queued == 1;
            if ((pass == 0) != decoding_step) continue;
            int n = text;
            if (n > e->n_batch - b->n_tokens) n = e->n_batch - b->n_tokens;
            int pos = seq_pos_at(seq, seq->n_past);
            for (int k = 0; k < n; k++) {
                int j = b->n_tokens++;
                b->token[j] = seq->tokens[seq->n_past + k];
                b->pos[j] = pos + k;
                b->n_seq_id[j] = 1;
                b->seq_id[j][0] = seq->id;
                b->logits[j] = (k == n - 1 && n == queued);
            }
            start[i] = b->n_tokens - n;
            taken[i] = n;
            seq->in_batch = true;
            n_seqs++;
        }
    }
    if ((uint64_t)n_seqs > e->stats.max_batch_seqs) e->stats.max_batch_seqs = (uint64_t)n_seqs;
    return b->n_tokens;
}

static void fail_batch(ember_engine *e, ember_status status) {
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *seq = e->seqs[i];
        if (!seq || !seq->in_batch) continue;
        seq->in_batch = false;
        llama_memory_seq_rm(llama_get_memory(e->ctx), seq->id, seq_pos_at(seq, seq->n_past), -1);
        seq_go_idle(seq, status);
    }
}

static void step(ember_engine *e) {
    /* Sequences that were told to generate while holding an unsampled row. */
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *seq = e->seqs[i];
        if (!seq) continue;
        if (seq->cancel_requested) { seq_go_idle(seq, EMBER_ERR_CANCELLED); continue; }
        if (seq->generating && seq->has_logits && seq->n_tokens == seq->n_past)
            sample_next(e, seq, seq->logits);
    }

    if (e->mtmd && media_step(e)) return;

    int start[e->n_seq_max], taken[e->n_seq_max];
    memset(taken, 0, sizeof taken);
    int n_batch = pack_batch(e, start, taken);
    if (n_batch == 0) return;
    cache_make_room(e, n_batch);

    e->decoding = true;
    engine_unlock(e);
    int rc = llama_decode(e->ctx, e->batch);
    engine_lock(e);
    e->decoding = false;
    pthread_cond_broadcast(&e->step_cv);

    if (rc == 1 && cache_evict_lru(e)) {  /* no slot (fragmentation): nothing was decoded, pack again */
        for (int i = 0; i < e->n_seq_max; i++)
            if (e->seqs[i]) e->seqs[i]->in_batch = false;
        return;
    }
    if (rc != 0) {
        fail_batch(e, rc == 1 ? EMBER_ERR_CONTEXT : EMBER_ERR_ENGINE);
        return;
    }
    e->stats.decode_calls++;
    e->stats.tokens_evaluated += (uint64_t)e->batch.n_tokens;

    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *seq = e->seqs[i];
        if (!seq || !seq->in_batch) continue;
        seq->in_batch = false;
        int n = taken[i];
        seq->n_past += n;
        seq->n_evaluated += n;
        seq_account_new_cells(seq, n);
        if (seq->n_tokens > seq->n_past) continue;  /* more input queued */
        const float *logits = llama_get_logits_ith(e->ctx, start[i] + n - 1);
        if (seq->cancel_requested) {
            seq_go_idle(seq, EMBER_ERR_CANCELLED);
        } else if (seq->generating) {
            sample_next(e, seq, logits);
        } else {
            memcpy(seq->logits, logits, sizeof *logits * (size_t)e->n_vocab);
            seq->has_logits = true;
            seq_go_idle(seq, EMBER_OK);
        }
    }
}

void *scheduler_main(void *arg) {
    ember_engine *e = arg;
    engine_lock(e);
    while (!e->stop) {
        /* callers that found a step running go first: no starving them (engine_internal.h) */
        if (e->op_waiters > 0 || !any_work(e)) {
            pthread_cond_wait(&e->work_cv, &e->mu);
            continue;
        }
        step(e);
    }
    engine_unlock(e);
    return NULL;
}
