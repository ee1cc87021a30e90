/*
 * cells.c — what the scheduler does when the KV cells (the context's n_ctx, shared by every
 * sequence) run short. Admission does not reserve a request's worst case (the server's gate
 * counts its prompt), so long generations together may outgrow the cells. Before each step:
 *
 *   1. idle cached prompts are evicted first (prompt_cache.c: they reserve nothing);
 *   2. while the next tokens of the generating sequences still do not fit, the newest-admitted
 *      busy sequence that holds cells of its own is preempted: the cells no other sequence
 *      shares are dropped and its tokens queued again, so the scheduler recomputes them once
 *      there is room (vLLM's recompute preemption). Its stream pauses; its text does not
 *      change (the sampler never sees the recomputation) and no other sequence's cells are
 *      touched;
 *   3. queued input (new prompts, preempted sequences) gets the cells left, oldest admitted
 *      first (scheduler.c's pack_batch).
 *
 * A sequence whose dropped range holds a decoded image cannot be recomputed (its embeddings
 * are gone): it is ended instead, with EMBER_ERR_BUSY (ember_seq_wait_idle says why; the server
 * answers finish_reason "length" with that reason once output has begun). When nothing at all
 * can be packed — no sequence decodes and the queued input finds no free cell, because idle
 * sequences hold the rest — the scheduler waits up to CELLS_STALL_GRACE_S for cells to be
 * freed (a finished run destroys its sequences a moment after its last token), then ends the
 * newest waiting sequence the same way, one per grace period: progress never depends on an
 * idle owner.
 *
 * A sequence's admission is its creation; a fork inherits its parent's, so a request's agents
 * are as old as the request (the newest of them goes first). With mu held, `decoding` false,
 * on the scheduler thread.
 */
#include "engine/engine_internal.h"

#include <string.h>

int cells_free(const ember_engine *e) { return e->n_ctx - e->stats.kv_cells_used; }

/* Leading tokens whose cells another sequence (a parent, a sibling, a cached prompt) shares:
 * dropping them would free nothing. Never inside an image. */
static int shared_prefix(const ember_seq *seq) {
    int keep = 0;
    for (int i = 0; i < seq->n_spans && seq->spans[i].seg->refs > 1; i++) keep += seq->spans[i].used;
    if (keep > seq->n_past) keep = seq->n_past;
    for (int i = 0; i < seq->n_images; i++)
        if (seq->images[i].start < keep && keep < seq->images[i].start + seq->images[i].n_tokens)
            keep = seq->images[i].start;
    return keep;
}

static bool decoded_image_from(const ember_seq *seq, int keep) {
    for (int i = 0; i < seq->n_images; i++)
        if (seq->images[i].start >= keep && seq->images[i].start < seq->n_past && !seq->images[i].chunk) return true;
    return false;
}

/* Drops the sequence's cells at `keep` and after (its view and, in llama.cpp, its id). */
static void rewind_to(ember_engine *e, ember_seq *seq, int keep) {
    llama_memory_seq_rm(llama_get_memory(e->ctx), seq->id, seq_pos_at(seq, keep), -1);
    seq_truncate_spans(seq, keep);
    seq->n_past = keep;
    seq->has_logits = false;
}

static bool newer(const ember_seq *a, const ember_seq *b) {
    return !b || a->admitted > b->admitted || (a->admitted == b->admitted && a->born > b->born);
}

/* The newest-admitted busy sequence; with `own_cells`, only one that holds cells of its own,
 * else only one with input waiting. */
static ember_seq *newest_busy(ember_engine *e, bool own_cells) {
    ember_seq *best = NULL;
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *s = e->seqs[i];
        if (!s || s->cached || !seq_is_busy(s) || s->cancel_requested) continue;
        if (own_cells ? s->n_past <= shared_prefix(s) : s->n_tokens <= s->n_past) continue;
        if (newer(s, best)) best = s;
    }
    return best;
}

/* Ends `seq` for want of cells: its own cells are freed at once, its queued input dropped. */
static void end_for_cells(ember_engine *e, ember_seq *seq) {
    rewind_to(e, seq, shared_prefix(seq));
    e->stats.seqs_cut++;
    seq_go_idle(seq, EMBER_ERR_BUSY);
}

bool cells_preempt_newest(ember_engine *e) {
    ember_seq *seq = newest_busy(e, true);
    if (!seq) return false;
    int keep = shared_prefix(seq);
    if (decoded_image_from(seq, keep)) {
        end_for_cells(e, seq);
        return true;
    }
    seq->n_evaluated -= seq->n_past - keep;  /* evaluated again, not anew */
    rewind_to(e, seq, keep);
    e->stats.preemptions++;
    return true;
}

bool cells_end_newest_waiting(ember_engine *e) {
    ember_seq *seq = newest_busy(e, false);
    if (!seq) return false;
    end_for_cells(e, seq);
    return true;
}

/* Sequences whose next token is ready to decode (pack_batch's first pass). */
static int decode_steps(const ember_engine *e) {
    int n = 0;
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *s = e->seqs[i];
        if (s && !s->in_batch && s->generating && s->n_tokens - s->n_past == 1 &&
            seq_next_image_start(s, s->n_past) > s->n_past)
            n++;
    }
    return n;
}

/* Queued text of sequences in prefill (pack_batch's second pass), at most `cap`. */
static int prefill_wanted(const ember_engine *e, int cap) {
    int n = 0;
    for (int i = 0; i < e->n_seq_max && n < cap; i++) {
        ember_seq *s = e->seqs[i];
        if (!s || s->in_batch) continue;
        int text = seq_next_image_start(s, s->n_past) - s->n_past;
        if (text > 0 && !(s->generating && s->n_tokens - s->n_past == 1)) n += text;
    }
    return n < cap ? n : cap;
}

int cells_make_room(ember_engine *e) {
    int decodes = decode_steps(e);
    /* all the queued input: a prefill starts only when all of it fits (pack_batch) */
    cache_make_room(e, decodes + prefill_wanted(e, e->n_ctx));
    while (decodes > cells_free(e) && cells_preempt_newest(e)) decodes = decode_steps(e);
    int room = cells_free(e);
    return room > 0 ? room : 0;
}
