/*
 * scheduler.c — the engine's one decode thread (continuous batching).
 *
 * Each step: sequences that may sample from kept logits do so; cells.c makes room (evicting
 * cached prompts, preempting the newest sequences) for the next token of every generating
 * sequence; then one batch is chosen, those tokens first (so decoding latency does not wait
 * on prefill) and then chunks of queued input, oldest admitted first, up to n_batch tokens
 * and the cells left, and written in sequence-id order; llama_decode runs without the lock;
 * every sequence whose queued input is now exhausted either samples its next token
 * (calling its token callback) or keeps its logits row for a later fork or generate.
 * Queued images are decoded one per step before the text batch (media_step); text is packed
 * only up to a sequence's next queued image.
 */
#include "engine/engine_internal.h"
#include "core/clock.h"

#include <string.h>

/* Samples one token for `seq` from `logits` and acts on the callback's answer. */
static void sample_next(ember_engine *e, ember_seq *seq, const float *logits) {
    ember_token_info tok;
    double t0 = ember_now_ms();
    llama_token token = sampler_sample(seq->sampler, logits, &tok);
    double t1 = ember_now_ms();
    e->stats.sample_ms += t1 - t0;
    e->stats.tokens_sampled++;
    seq->has_logits = false;
    if (token < 0) {
        seq_go_idle(seq, EMBER_ERR_INVALID);
        return;
    }
    ember_seq_action action = seq->on_token ? seq->on_token(seq, &tok, seq->user) : EMBER_SEQ_CONTINUE;
    e->stats.callback_ms += ember_now_ms() - t1;
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
    if (seq->n_tokens + 1 > e->n_ctx_seq || !seq_push_tokens(seq, &token, 1)) {
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

/* Sequence indexes in admission order, oldest first (cells.c): queued input is packed in
 * that order, so a preempted sequence gets its cells back before newer prompts. */
static void by_admission(const ember_engine *e, int *order) {
    int n = 0;
    for (int i = 0; i < e->n_seq_max; i++) {
        const ember_seq *s = e->seqs[i];
        int j = n++;
        for (; j > 0; j--) {
            const ember_seq *t = e->seqs[order[j - 1]];
            bool before = s && (!t || s->admitted < t->admitted || (s->admitted == t->admitted && s->born < t->born));
            if (!before) break;
            order[j] = order[j - 1];
        }
        order[j] = i;
    }
}

/* Writes the chosen tokens into the batch by sequence id: llama.cpp's equal split (a stream
 * per sequence) puts only runs of consecutive ids into one micro-batch, so admission order
 * would cut one step's decodes into several passes over the weights. */
static void write_batch(ember_engine *e, int *start, const int *taken) {
    struct llama_batch *b = &e->batch;
    b->n_tokens = 0;
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *seq = e->seqs[i];
        int n = taken[i];
        if (n == 0) continue;
        int pos = seq_pos_at(seq, seq->n_past);
        start[i] = b->n_tokens;
        for (int t = 0; t < n; t++) {
            int j = b->n_tokens++;
            b->token[j] = seq->tokens[seq->n_past + t];
            b->pos[j] = pos + t;
            b->n_seq_id[j] = 1;
            b->seq_id[j][0] = seq->id;
            b->logits[j] = (t == n - 1 && n == seq->n_tokens - seq->n_past);
        }
    }
}

/* Chooses the batch within `room` cells (cells_make_room has made room for every decode
 * step), decodes first, then queued input oldest admitted first; returns the number of
 * tokens in it. *starved: queued input got no cell. */
static int pack_batch(ember_engine *e, int room, int *start, int *taken, bool *starved) {
    *starved = false;
    int n_seqs = 0, decodes = 0, n_tokens = 0;
    int order[e->n_seq_max];
    by_admission(e, order);
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < e->n_seq_max && n_tokens < e->n_batch; k++) {
            int i = order[k];
            ember_seq *seq = e->seqs[i];
            if (!seq || seq->in_batch) continue;
            int queued = seq->n_tokens - seq->n_past;
            int text = seq_next_image_start(seq, seq->n_past) - seq->n_past;  /* text before an image */
            if (text <= 0) continue;
            bool decoding_step = seq->generating && queued == 1;
            if ((pass == 0) != decoding_step) continue;
            /* input starts only when all of it fits beside the next step's decodes: a prefill
             * that would be preempted again before it ends only wastes the steps */
            if (pass == 1 && text > room - n_tokens - decodes) {
                *starved = true;
                continue;
            }
            int n = text;
            if (n > e->n_batch - n_tokens) n = e->n_batch - n_tokens;
            if (n > room - n_tokens) n = room - n_tokens;
            if (n <= 0) {
                *starved = true;
                continue;
            }
            taken[i] = n;
            n_tokens += n;
            seq->in_batch = true;
            n_seqs++;
        }
        if (pass == 0) decodes = n_seqs;
    }
    if ((uint64_t)n_seqs > e->stats.max_batch_seqs) e->stats.max_batch_seqs = (uint64_t)n_seqs;
    write_batch(e, start, taken);
    return n_tokens;
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

    if (e->mtmd && media_step(e)) {
        e->stall_since = 0;
        return;
    }

    int start[e->n_seq_max], taken[e->n_seq_max];
    memset(taken, 0, sizeof taken);
    bool starved = false;
    int n_batch = pack_batch(e, cells_make_room(e), start, taken, &starved);
    if (n_batch == 0) {
        if (!starved) {
            e->stall_since = 0;
        } else {  /* input waits for cells that idle sequences hold (cells.c) */
            if (e->stall_since == 0) e->stall_since = ember_now_s();
            e->stall_wait = true;
        }
        return;
    }
    e->stall_since = 0;

    e->decoding = true;
    engine_unlock(e);
    double t0 = ember_now_ms();
    int rc = llama_decode(e->ctx, e->batch);
    double t1 = ember_now_ms();
    engine_lock(e);
    e->stats.decode_ms += t1 - t0;
    e->decoding = false;
    pthread_cond_broadcast(&e->step_cv);

    /* no slot (fragmentation, or cells ember does not count): nothing was decoded, pack again */
    if (rc == 1 && (cache_evict_lru(e) || cells_preempt_newest(e))) {
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
            if (e->op_waiters == 0) e->stall_since = 0, e->stall_wait = false;  /* nothing waits */
            pthread_cond_wait(&e->work_cv, &e->mu);
            continue;
        }
        if (e->stall_wait) {  /* wait for freed cells (any sequence operation signals), at most the grace */
            double left = e->stall_since + CELLS_STALL_GRACE_MS / 1e3 - ember_now_s();
            if (left > 0) {
                struct timespec until = ember_time_after(CLOCK_MONOTONIC, left);
                pthread_cond_timedwait(&e->work_cv, &e->mu, &until);
            }
            e->stall_wait = false;
            if (ember_now_s() - e->stall_since >= CELLS_STALL_GRACE_MS / 1e3) {
                cells_end_newest_waiting(e);
                e->stall_since = 0;
            }
            continue;
        }
        step(e);
    }
    engine_unlock(e);
    return NULL;
}
