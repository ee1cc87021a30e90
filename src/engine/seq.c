/*
 * seq.c — sequences: creation, feeding, forking, cancelling and freeing, and the KV-cell
 * accounting described in engine_internal.h. A sequence belongs to whoever created it; its
 * callbacks run on the scheduler thread. Every function here takes the engine lock unless it
 * is called from a callback (the scheduler already holds it).
 */
#include "engine/engine_internal.h"
#include "core/error.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

bool seq_is_busy(const ember_seq *seq) { return seq->n_tokens > seq->n_past || seq->generating; }

bool seq_push_tokens(ember_seq *seq, const llama_token *tokens, int n) {
    if (seq->n_tokens + n > seq->cap_tokens) {
        int cap = seq->cap_tokens ? seq->cap_tokens : 256;
        while (cap < seq->n_tokens + n) cap *= 2;
        llama_token *grown = realloc(seq->tokens, sizeof *grown * (size_t)cap);
        if (!grown) return false;
        seq->tokens = grown;
        seq->cap_tokens = cap;
    }
    memcpy(seq->tokens + seq->n_tokens, tokens, sizeof *tokens * (size_t)n);
    seq->n_tokens += n;
    return true;
}

static void stats_cells(ember_engine *e, int delta) {
    e->stats.kv_cells_used += delta;
    if (e->stats.kv_cells_used > e->stats.kv_cells_peak) e->stats.kv_cells_peak = e->stats.kv_cells_used;
}

void seq_account_new_cells(ember_seq *seq, int n) {
    kv_span *last = seq->n_spans ? &seq->spans[seq->n_spans - 1] : NULL;
    if (!last || last->seg->refs > 1 || last->used != last->seg->n_cells) {
        kv_segment *seg = calloc(1, sizeof *seg);
        kv_span *spans = realloc(seq->spans, sizeof *spans * (size_t)(seq->n_spans + 1));
        if (!seg || !spans) {  /* accounting only: losing it must not fail a decode */
            free(seg);
            if (spans) seq->spans = spans;
            return;
        }
        seg->refs = 1;
        seq->spans = spans;
        last = &seq->spans[seq->n_spans++];
        *last = (kv_span){.seg = seg, .used = 0};
    }
    last->seg->n_cells += n;
    last->used += n;
    stats_cells(seq->engine, n);
}

/* A shared segment's cells are the longest view any sequence still has of it: every view is
 * a prefix, a shared segment never grows, and a holder that dropped cells removed its id from
 * them, so the cells past every view are free in llama.cpp too (an adopted cached prompt's
 * tail, once the prompt is evicted). */
static void seg_fit_views(ember_engine *e, kv_segment *seg) {
    int longest = 0;
    for (int i = 0; i < e->n_seq_max; i++) {
        ember_seq *s = e->seqs[i];
        for (int k = 0; s && k < s->n_spans; k++)
            if (s->spans[k].seg == seg && s->spans[k].used > longest) longest = s->spans[k].used;
    }
    if (longest < seg->n_cells) {
        stats_cells(e, longest - seg->n_cells);
        seg->n_cells = longest;
    }
}

/* Drops the sequence's references to its spans [from, n_spans). */
static void drop_spans_from(ember_seq *seq, int from) {
    int n = seq->n_spans;
    seq->n_spans = from;  /* first: its own views no longer count */
    for (int j = from; j < n; j++) {
        kv_segment *seg = seq->spans[j].seg;
        if (--seg->refs > 0) {
            seg_fit_views(seq->engine, seg);
            continue;
        }
        stats_cells(seq->engine, -seg->n_cells);
        free(seg);
    }
}

void seq_release_spans(ember_seq *seq) {
    drop_spans_from(seq, 0);
    free(seq->spans);
    seq->spans = NULL;
}

void seq_truncate_spans(ember_seq *seq, int keep) {
    int seen = 0;
    int i = 0;
    for (; i < seq->n_spans && seen + seq->spans[i].used <= keep; i++) seen += seq->spans[i].used;
    if (i == seq->n_spans) return;
    kv_span *span = &seq->spans[i];
    span->used = keep - seen;
    bool partial = span->used > 0;
    drop_spans_from(seq, partial ? i + 1 : i);
    if (partial) seg_fit_views(seq->engine, span->seg);
}

bool seq_copy_prefix(ember_seq *seq, const ember_seq *src, int keep) {
    ember_engine *e = seq->engine;
    llama_memory_t mem = llama_get_memory(e->ctx);
    int end = seq_pos_at(src, keep);
    if (e->kv_split) {  /* streams copy only whole: the copy's tail is dropped at once */
        llama_memory_seq_cp(mem, src->id, seq->id, -1, -1);
        llama_memory_seq_rm(mem, seq->id, end, -1);
        seq_account_new_cells(seq, keep);
        return true;
    }
    kv_span *spans = malloc(sizeof *spans * (size_t)(src->n_spans ? src->n_spans : 1));
    if (!spans) return false;
    llama_memory_seq_cp(mem, src->id, seq->id, 0, end);
    for (int i = 0; i < src->n_spans; i++) {
        spans[i] = src->spans[i];
        spans[i].seg->refs++;
    }
    seq->spans = spans;
    seq->n_spans = src->n_spans;
    seq_truncate_spans(seq, keep);
    return true;
}

int seq_pos_at(const ember_seq *seq, int index) {
    int pos = index;
    for (int i = 0; i < seq->n_images && seq->images[i].start < index; i++)
        if (seq->images[i].start + seq->images[i].n_tokens <= index) pos += seq->images[i].n_pos - seq->images[i].n_tokens;
    return pos;
}

int seq_next_image_start(const ember_seq *seq, int from) {
    for (int i = 0; i < seq->n_images; i++)
        if (seq->images[i].start >= from) return seq->images[i].start;
    return seq->n_tokens;
}

void seq_drop_images_from(ember_seq *seq, int keep) {
    int n = 0;
    for (int i = 0; i < seq->n_images; i++) {
        seq_image *img = &seq->images[i];
        if (img->start < keep) {
            seq->images[n++] = *img;
            continue;
        }
        if (img->chunk) mtmd_input_chunk_free(img->chunk);
        if (img->embd) media_release(seq->engine, img->embd);
    }
    seq->n_images = n;
}

bool seq_add_images(ember_seq *seq, const seq_image *images, int n) {
    if (n <= 0) return true;
    if (seq->n_images + n > seq->cap_images) {
        int cap = seq->cap_images ? seq->cap_images : 4;
        while (cap < seq->n_images + n) cap *= 2;
        seq_image *grown = realloc(seq->images, sizeof *grown * (size_t)cap);
        if (!grown) return false;
        seq->images = grown;
        seq->cap_images = cap;
    }
    memcpy(seq->images + seq->n_images, images, sizeof *images * (size_t)n);
    seq->n_images += n;
    return true;
}

void seq_go_idle(ember_seq *seq, ember_status status) {
    /* on_idle is for the end of a generation (or a failure): input evaluated without generate
     * is not one — Contemplating's zoom resume feeds crops before it generates, and an idle
     * call then made the run resume the agent a second time and destroy it mid-generation */
    bool tell = seq->generating || status != EMBER_OK;
    seq->generating = false;
    seq->cancel_requested = false;
    seq->status = status;
    if (status != EMBER_OK) {  /* drop queued input */
        seq->n_tokens = seq->n_past;
        seq_drop_images_from(seq, seq->n_past);
    }
    if (seq->on_idle && tell) seq->on_idle(seq, status, seq->user);
    pthread_cond_broadcast(&seq->engine->step_cv);
}

static ember_seq *seq_alloc(ember_engine *e, const ember_sampling *sampling, ember_error *err) {
    int id = -1;
    for (int i = 0; i < e->n_seq_max; i++) {
        if (!e->seqs[i]) { id = i; break; }
    }
    if (id < 0 && e->n_cached > 0) {  /* a cached prompt gives its id up */
        if (!engine_on_scheduler(e)) engine_wait_not_decoding(e);  /* it unlocks: look again */
        for (int i = 0; i < e->n_seq_max && id < 0; i++)
            if (!e->seqs[i]) id = i;
        if (id < 0 && cache_evict_lru(e))
            for (int i = 0; i < e->n_seq_max && id < 0; i++)
                if (!e->seqs[i]) id = i;
    }
    if (id < 0) {
        ember_fail(err, EMBER_ERR_BUSY, "all %d sequence slots are in use", e->n_seq_max);
        return NULL;
    }
    ember_seq *seq = calloc(1, sizeof *seq);
    if (!seq) {
        ember_fail(err, EMBER_ERR_NOMEM, "out of memory creating a sequence");
        return NULL;
    }
    seq->engine = e;
    seq->id = id;
    seq->sampler = sampler_create(e, sampling, err);
    seq->logits = malloc(sizeof *seq->logits * (size_t)e->n_vocab);
    if (!seq->sampler || !seq->logits) {
        sampler_destroy(seq->sampler);
        free(seq->logits);
        free(seq);
        if (err && err->status == EMBER_OK) ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
        return NULL;
    }
    seq->born = ++e->seq_clock;
    seq->admitted = seq->born;
    e->seqs[id] = seq;
    e->stats.seqs_active++;
    return seq;
}

ember_status ember_seq_create(ember_engine *e, const ember_sampling *sampling, ember_seq **out,
                              ember_error *err) {
    BACKEND_DISPATCH(e, seq_create, e, sampling, out, err);
    ember_sampling defaults;
    if (!sampling) {
        ember_sampling_init(&defaults);
        sampling = &defaults;
    }
    engine_lock_unless_scheduler(e);
    ember_seq *seq = seq_alloc(e, sampling, err);
    engine_unlock_unless_scheduler(e);
    *out = seq;
    return seq ? EMBER_OK : err ? err->status : EMBER_ERR_NOMEM;
}

void ember_seq_destroy(ember_seq *seq) {
    if (seq) BACKEND_DISPATCH_VOID(seq, seq_destroy, seq);
    if (!seq) return;
    ember_engine *e = seq->engine;
    engine_lock(e);
    engine_wait_not_decoding(e);
    llama_memory_seq_rm(llama_get_memory(e->ctx), seq->id, -1, -1);
    seq_release_spans(seq);
    seq_drop_images_from(seq, 0);
    e->seqs[seq->id] = NULL;
    e->stats.seqs_active--;
    pthread_cond_broadcast(&e->step_cv);
    pthread_cond_signal(&e->work_cv);  /* freed cells: input waiting for them may go on */
    engine_unlock(e);
    sampler_destroy(seq->sampler);
    free(seq->logits);
    free(seq->tokens);
    free(seq->images);
    free(seq);
}

void ember_seq_set_callbacks(ember_seq *seq, ember_token_fn on_token, ember_seq_idle_fn on_idle,
                             void *user) {
    BACKEND_DISPATCH_VOID(seq, seq_set_callbacks, seq, on_token, on_idle, user);
    engine_lock_unless_scheduler(seq->engine);
    seq->on_token = on_token;
    seq->on_idle = on_idle;
    seq->user = user;
    engine_unlock_unless_scheduler(seq->engine);
}

/* llama.cpp's tokenizers throw a C++ exception (which would abort the process through C) on
 * bytes that decode to no code point, e.g. F7 BF BF BF above U+10FFFF; model output fed back
 * (Contemplating's brief, tool rounds) can hold such bytes. Invalid sequences become U+FFFD. */
int seq_tokenize(ember_engine *e, const char *raw, bool special, llama_token **out) {
    size_t clean_len = 0;
    char *text = utf8_sanitize(raw, strlen(raw), &clean_len);
    if (!text || clean_len > INT32_MAX / 2) {
        free(text);
        return -1;
    }
    int len = (int)clean_len;
    int cap = len + 8;
    llama_token *tokens = malloc(sizeof *tokens * (size_t)cap);
    if (!tokens) {
        free(text);
        return -1;
    }
    int n = llama_tokenize(e->vocab, text, len, tokens, cap, false, special);
    if (n < 0) {
        cap = -n;
        llama_token *grown = realloc(tokens, sizeof *tokens * (size_t)cap);
        if (!grown) { free(tokens); free(text); return -1; }
        tokens = grown;
        n = llama_tokenize(e->vocab, text, len, tokens, cap, false, special);
    }
    free(text);
    if (n < 0) { free(tokens); return -1; }
    *out = tokens;
    return n;
}

int ember_engine_count_tokens(ember_engine *e, const char *text, bool special) {
    BACKEND_DISPATCH(e, count_tokens, e, text, special);
    llama_token *tokens = NULL;
    int n = seq_tokenize(e, text, special, &tokens);
    free(tokens);
    return n;
}

ember_status ember_seq_feed_tokens(ember_seq *seq, const int32_t *tokens, int n, ember_error *err) {
    BACKEND_DISPATCH(seq, seq_feed_tokens, seq, tokens, n, err);
    ember_engine *e = seq->engine;
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= e->n_vocab)
            return ember_fail(err, EMBER_ERR_INVALID, "token %d is outside the vocabulary (%d)", tokens[i], e->n_vocab);
    ember_status status = EMBER_OK;
    engine_lock_unless_scheduler(e);
    if (seq->n_tokens + n > e->n_ctx_seq) {
        status = ember_fail(err, EMBER_ERR_CONTEXT,
                            "%d tokens do not fit the context: %d of %d are in use (raise -c/--ctx)",
                            n, seq->n_tokens, e->n_ctx_seq);
    } else if (!seq_push_tokens(seq, tokens, n)) {
        status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory queueing %d tokens", n);
    } else {
        seq->has_logits = false;
        pthread_cond_signal(&e->work_cv);
    }
    engine_unlock_unless_scheduler(e);
    return status;
}

ember_status ember_seq_feed_text(ember_seq *seq, const char *text, bool special, ember_error *err) {
    BACKEND_DISPATCH(seq, seq_feed_text, seq, text, special, err);
    llama_token *tokens = NULL;
    int n = seq_tokenize(seq->engine, text, special, &tokens);
    if (n < 0) return ember_fail(err, EMBER_ERR_INVALID, "the text could not be tokenized");
    ember_status status = ember_seq_feed_tokens(seq, tokens, n, err);
    free(tokens);
    return status;
}

ember_status ember_seq_generate(ember_seq *seq, ember_error *err) {
    BACKEND_DISPATCH(seq, seq_generate, seq, err);
    ember_engine *e = seq->engine;
    engine_lock_unless_scheduler(e);
    ember_status status = EMBER_OK;
    if (seq->n_tokens == 0) {
        status = ember_fail(err, EMBER_ERR_INVALID, "a sequence needs input before it can generate");
    } else {
        seq->generating = true;
        seq->status = EMBER_OK;
        pthread_cond_signal(&e->work_cv);
    }
    engine_unlock_unless_scheduler(e);
    return status;
}

ember_status ember_seq_wait_idle(ember_seq *seq, ember_error *err) {
    BACKEND_DISPATCH(seq, seq_wait_idle, seq, err);
    ember_engine *e = seq->engine;
    if (engine_on_scheduler(e))
        return ember_fail(err, EMBER_ERR_INVALID, "ember_seq_wait_idle called from a callback");
    engine_lock(e);
    while (seq_is_busy(seq) && seq->status == EMBER_OK) pthread_cond_wait(&e->step_cv, &e->mu);
    ember_status status = seq->status;
    engine_unlock(e);
    switch (status) {
    case EMBER_OK: return EMBER_OK;
    case EMBER_ERR_CONTEXT:
        return ember_fail(err, status, "the context is full (%d tokens); raise -c/--ctx", e->n_ctx_seq);
    case EMBER_ERR_INVALID:
        return ember_fail(err, status, "the grammar allows no token at this point (a grammar cannot name an "
                                       "end-of-generation token such as <|eot|>: end the grammar there instead)");
    case EMBER_ERR_CANCELLED: return ember_fail(err, status, "cancelled");
    case EMBER_ERR_BUSY:
        return ember_fail(err, status,
                          "the KV cache ran out of cells (%d, shared by every sequence): this sequence, the newest, "
                          "was ended so that the older ones could go on (raise -c/--ctx or run fewer at once)",
                          e->n_ctx);
    default: return ember_fail(err, status, "llama.cpp failed to decode (%s)", ember_status_name(status));
    }
}

ember_status ember_seq_fork(ember_seq *parent, const ember_sampling *sampling, ember_seq **out,
                            ember_error *err) {
    BACKEND_DISPATCH(parent, seq_fork, parent, sampling, out, err);
    ember_engine *e = parent->engine;
    ember_sampling defaults;
    if (!sampling) {
        ember_sampling_init(&defaults);
        sampling = &defaults;
    }
    *out = NULL;
    engine_lock_unless_scheduler(e);
    /* Wait out a running decode first: waiting releases the lock, and a half-made child in
     * the table would be packed into the next batch as prefill. */
    if (!engine_on_scheduler(e)) engine_wait_not_decoding(e);
    ember_status status = EMBER_OK;
    ember_seq *child = NULL;
    if (seq_is_busy(parent) || !parent->has_logits) {
        status = ember_fail(err, EMBER_ERR_INVALID,
                            "only an idle sequence whose input is evaluated can be forked");
    } else if (!(child = seq_alloc(e, sampling, err))) {
        status = err ? err->status : EMBER_ERR_NOMEM;
    } else if (!seq_push_tokens(child, parent->tokens, parent->n_tokens) ||
               !seq_add_images(child, parent->images, parent->n_images) ||
               /* the parent is idle: its images are decoded, the records hold no embeddings */
               !seq_copy_prefix(child, parent, parent->n_past)) {
        status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory forking a sequence");
    } else {
        child->n_past = parent->n_past;
        child->admitted = parent->admitted;  /* as old as its request (cells.c) */
        memcpy(child->logits, parent->logits, sizeof *child->logits * (size_t)e->n_vocab);
        child->has_logits = true;
    }
    if (status != EMBER_OK && child) {
        e->seqs[child->id] = NULL;
        e->stats.seqs_active--;
        sampler_destroy(child->sampler);
        free(child->logits);
        free(child->tokens);
        free(child->images);
        free(child);
        child = NULL;
    }
    engine_unlock_unless_scheduler(e);
    *out = child;
    return status;
}

void ember_seq_cancel(ember_seq *seq) {
    BACKEND_DISPATCH_VOID(seq, seq_cancel, seq);
    engine_lock_unless_scheduler(seq->engine);
    if (seq_is_busy(seq)) {
        seq->cancel_requested = true;
        pthread_cond_signal(&seq->engine->work_cv);
    }
    engine_unlock_unless_scheduler(seq->engine);
}

ember_status ember_seq_set_sampling(ember_seq *seq, const ember_sampling *sampling, ember_error *err) {
    BACKEND_DISPATCH(seq, seq_set_sampling, seq, sampling, err);
    ember_sampler *fresh = sampler_create(seq->engine, sampling, err);
    if (!fresh) return err ? err->status : EMBER_ERR_NOMEM;
    engine_lock_unless_scheduler(seq->engine);
    ember_sampler *old = seq->sampler;
    seq->sampler = fresh;
    engine_unlock_unless_scheduler(seq->engine);
    sampler_destroy(old);
    return EMBER_OK;
}

/* How much of the sequence's evaluated input `tokens` keeps: the longest common prefix, less
 * the last token when everything matches (its logits are needed again), never ending inside
 * an image of either side. With mu held. */
int seq_keep_prefix(const ember_seq *seq, const llama_token *tokens, int n, const seq_image *images, int n_images) {
    int keep = 0;
    while (keep < seq->n_past && keep < n && seq->tokens[keep] == tokens[keep]) keep++;
    if (keep == n && keep > 0) keep--;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < seq->n_images; i++)
            if (seq->images[i].start < keep && keep < seq->images[i].start + seq->images[i].n_tokens)
                keep = seq->images[i].start;
        for (int i = 0; i < n_images; i++)
            if (images[i].start < keep && keep < images[i].start + images[i].n_tokens) keep = images[i].start;
    }
    return keep;
}

ember_status seq_reset_input(ember_seq *seq, const llama_token *tokens, int n, seq_image *images, int n_images,
                             ember_error *err) {
    ember_engine *e = seq->engine;
    if (n > e->n_ctx_seq)
        return ember_fail(err, EMBER_ERR_CONTEXT, "the prompt has %d tokens; the context holds %d (raise -c/--ctx)",
                          n, e->n_ctx_seq);
    engine_lock_unless_scheduler(e);
    if (!engine_on_scheduler(e)) engine_wait_not_decoding(e);  /* before any change: it unlocks */
    ember_status status = EMBER_OK;
    int keep = 0;
    if (seq_is_busy(seq)) {
        status = ember_fail(err, EMBER_ERR_INVALID, "the sequence is busy");
    } else {
        if (e->n_cached > 0 && seq->n_past == 0 && seq->n_spans == 0) cache_adopt(seq, tokens, n, images, n_images);
        keep = seq_keep_prefix(seq, tokens, n, images, n_images);
        for (int i = 0; i < n_images; i++)
            if (images[i].start >= keep && !images[i].embd)
                status = ember_fail(err, EMBER_ERR_INVALID, "an image of the prompt has no embeddings");
    }
    if (status == EMBER_OK) {
        llama_memory_seq_rm(llama_get_memory(e->ctx), seq->id, seq_pos_at(seq, keep), -1);
        seq_truncate_spans(seq, keep);
        seq_drop_images_from(seq, keep);
        seq->n_past = keep;
        seq->n_tokens = keep;
        seq->has_logits = false;
        int first_new = 0;
        while (first_new < n_images && images[first_new].start < keep) first_new++;
        if (!seq_push_tokens(seq, tokens + keep, n - keep) ||
            !seq_add_images(seq, images + first_new, n_images - first_new)) {
            seq->n_tokens = keep;
            seq_drop_images_from(seq, keep);
            status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory queueing the prompt");
        } else {
            for (int i = first_new; i < n_images; i++) images[i].chunk = NULL, images[i].embd = NULL;  /* moved */
        }
        pthread_cond_signal(&e->work_cv);
    }
    engine_unlock_unless_scheduler(e);
    return status;
}

ember_status seq_append_input(ember_seq *seq, const llama_token *tokens, int n, seq_image *images, int n_images,
                              ember_error *err) {
    ember_engine *e = seq->engine;
    engine_lock_unless_scheduler(e);
    ember_status status = EMBER_OK;
    int base = seq->n_tokens;
    if (base + n > e->n_ctx_seq) {
        status = ember_fail(err, EMBER_ERR_CONTEXT, "%d tokens do not fit the context: %d of %d are in use (raise -c/--ctx)",
                            n, base, e->n_ctx_seq);
    } else {
        for (int i = 0; i < n_images; i++) images[i].start += base;
        if (!seq_push_tokens(seq, tokens, n) || !seq_add_images(seq, images, n_images)) {
            seq->n_tokens = base;
            seq_drop_images_from(seq, base);
            status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory queueing an image");
        } else {
            for (int i = 0; i < n_images; i++) images[i].chunk = NULL, images[i].embd = NULL;  /* moved */
            seq->has_logits = false;
            pthread_cond_signal(&e->work_cv);
        }
        for (int i = 0; i < n_images; i++) images[i].start -= base;
    }
    engine_unlock_unless_scheduler(e);
    return status;
}

/* Keeps the longest common prefix of the sequence and `text`, drops the rest from the KV
 * cache and queues the remainder: a conversation's next turn re-evaluates only what is new. */
ember_status ember_seq_reset_text(ember_seq *seq, const char *text, bool special, ember_error *err) {
    BACKEND_DISPATCH(seq, seq_reset_media, seq, text, special, NULL, 0, err);
    llama_token *tokens = NULL;
    int n = seq_tokenize(seq->engine, text, special, &tokens);
    if (n < 0) return ember_fail(err, EMBER_ERR_INVALID, "the text could not be tokenized");
    ember_status status = seq_reset_input(seq, tokens, n, NULL, 0, err);
    free(tokens);
    return status;
}

int ember_seq_n_tokens(const ember_seq *seq) {
    BACKEND_DISPATCH(seq, seq_n_tokens, seq);
    return seq->n_tokens;
}
int ember_seq_n_evaluated(const ember_seq *seq) {
    BACKEND_DISPATCH(seq, seq_n_evaluated, seq);
    return seq->n_evaluated;
}
int ember_seq_id(const ember_seq *seq) {
    BACKEND_DISPATCH(seq, seq_id, seq);
    return seq->id;
}
