/*
 * media.c — images in sequences, through llama.cpp's mtmd: loading the projector, turning a
 * prompt with image markers into tokens and image spans, encoding images (with an
 * engine-wide cache of recent embeddings), and the scheduler's image decode step.
 *
 * Threads: tokenizing and encoding run on the caller's thread. mtmd_tokenize is thread-safe;
 * the encoder is not, so mtmd_encode_chunk and the read of its output hold `mtmd_mu` — never
 * together with `mu`, so text generation of other sequences goes on while an image is
 * encoded. The cache list and the statistics are guarded by `mu`. Decoding image embeddings
 * into the KV cache (llama_decode) happens only on the scheduler thread (media_step).
 */
#include "engine/engine_internal.h"
#include "engine/inspect.h"
#include "core/clock.h"
#include "vision/vision.h"
#include "core/error.h"
#include "core/utf8.h"

#include <mtmd-helper.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CACHE_MAX_ENTRIES = 16 };
static const size_t CACHE_MAX_BYTES = (size_t)512 << 20;

/* The cache and statistics need mu, which a token callback (on the scheduler) already holds. */
static void lock(ember_engine *e) {
    if (!engine_on_scheduler(e)) engine_lock(e);
}
static void unlock(ember_engine *e) {
    if (!engine_on_scheduler(e)) engine_unlock(e);
}

ember_status media_init(ember_engine *e, const char *path, int n_threads, const ember_engine_params *p,
                        ember_error *err) {
    int image_size = 0;
    ember_status status = inspect_projector(path, &image_size, err);
    if (status != EMBER_OK) return status;
    struct mtmd_context_params mp = mtmd_context_params_default();
    mp.use_gpu = true;   /* used when llama.cpp was built with a GPU backend */
    mp.print_timings = false;
    mp.n_threads = n_threads;
    mp.media_marker = EMBER_IMAGE_MARKER;
    if (p->image_max_tokens > 0) mp.image_max_tokens = p->image_max_tokens;
    if (p->image_min_tokens > 0) mp.image_min_tokens = p->image_min_tokens;
    e->mtmd = mtmd_init_from_file(path, e->model, mp);
    if (!e->mtmd)
        return ember_fail(err, EMBER_ERR_ENGINE,
                          "llama.cpp could not load the projector '%s' (is it this model's? run with --verbose)", path);
    if (!mtmd_support_vision(e->mtmd))
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "the projector '%s' has no vision encoder", path);
    e->n_embd_inp = llama_model_n_embd_inp(e->model);
    e->image_size = image_size;
    return EMBER_OK;
}

static void entry_free(embd_entry *entry) {
    free(entry->data);
    free(entry);
}

void media_release(ember_engine *e, embd_entry *entry) {
    (void)e;
    if (entry && --entry->refs == 0) entry_free(entry);
}

void media_free(ember_engine *e) {
    for (embd_entry *x = e->cache, *next; x; x = next) {
        next = x->next;
        media_release(e, x);
    }
    e->cache = NULL;
    if (e->mtmd) mtmd_free(e->mtmd);
    e->mtmd = NULL;
}

/* With mu held: a referenced cache entry, or NULL. */
static embd_entry *cache_find(ember_engine *e, uint64_t hash, int part, int n_tokens) {
    for (embd_entry *x = e->cache; x; x = x->next) {
        if (x->hash == hash && x->part == part && x->n_tokens == n_tokens) {
            x->refs++;
            x->last_use = ++e->cache_clock;
            return x;
        }
    }
    return NULL;
}

/* With mu held: lists a new entry (the list takes a reference) and evicts the least recently
 * used ones beyond the limits (queued inputs keep theirs alive). */
static void cache_insert(ember_engine *e, embd_entry *entry) {
    entry->refs++;
    entry->last_use = ++e->cache_clock;
    entry->next = e->cache;
    e->cache = entry;
    e->cache_count++;
    e->cache_bytes += sizeof(float) * (size_t)entry->n_tokens * (size_t)e->n_embd_inp;
    while (e->cache_count > CACHE_MAX_ENTRIES || (e->cache_bytes > CACHE_MAX_BYTES && e->cache_count > 1)) {
        embd_entry **oldest = NULL;
        for (embd_entry **x = &e->cache; *x; x = &(*x)->next)
            if (!oldest || (*x)->last_use < (*oldest)->last_use) oldest = x;
        embd_entry *victim = *oldest;
        *oldest = victim->next;
        e->cache_count--;
        e->cache_bytes -= sizeof(float) * (size_t)victim->n_tokens * (size_t)e->n_embd_inp;
        media_release(e, victim);
    }
}

/* mtmd bitmaps for the images: placeholders (size only) or with pixels. */
static mtmd_bitmap **make_bitmaps(const ember_image *const *images, int n, bool with_pixels) {
    mtmd_bitmap **bitmaps = calloc(n > 0 ? (size_t)n : 1, sizeof *bitmaps);
    if (!bitmaps) return NULL;
    for (int i = 0; i < n; i++) {
        bitmaps[i] = mtmd_bitmap_init((uint32_t)images[i]->width, (uint32_t)images[i]->height,
                                      with_pixels ? images[i]->rgb : NULL);
        if (!bitmaps[i]) {
            for (int k = 0; k < i; k++) mtmd_bitmap_free(bitmaps[k]);
            free(bitmaps);
            return NULL;
        }
        char hex[17], id[40];  /* "HASH-INDEX": a chunk's id tells which image it came from */
        vision_image_id(images[i], hex);
        snprintf(id, sizeof id, "%s-%d", hex, i);
        mtmd_bitmap_set_id(bitmaps[i], id);
    }
    return bitmaps;
}

static void free_bitmaps(mtmd_bitmap **bitmaps, int n) {
    if (!bitmaps) return;
    for (int i = 0; i < n; i++) mtmd_bitmap_free(bitmaps[i]);
    free(bitmaps);
}

static llama_token placeholder_id(uint64_t hash, int part, int k) {
    uint64_t x = hash ^ ((uint64_t)(part + 1) << 40) ^ (uint64_t)k * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return -1 - (llama_token)(x & 0x3fffffff);
}

/* A prompt as the engine queues it. */
typedef struct media_prompt {
    llama_token *tokens;
    int n;
    seq_image *spans;
    int *span_image;   /* which input image each span belongs to */
    int *span_part;    /* its chunk number within that image */
    int n_spans;
} media_prompt;

static void prompt_free(ember_engine *e, media_prompt *mp) {
    for (int i = 0; i < mp->n_spans; i++) {
        if (mp->spans[i].chunk) mtmd_input_chunk_free(mp->spans[i].chunk);
        if (mp->spans[i].embd) {
            lock(e);
            media_release(e, mp->spans[i].embd);
            unlock(e);
        }
    }
    free(mp->tokens);
    free(mp->spans);
    free(mp->span_image);
    free(mp->span_part);
    memset(mp, 0, sizeof *mp);
}

/* Text with markers + images → tokens with placeholders and image spans (no pixels are
 * processed: mtmd sizes the images from placeholders). */
static ember_status prompt_tokenize(ember_engine *e, const char *text, bool special, const ember_image *const *images,
                                    int n_images, media_prompt *mp, ember_error *err) {
    memset(mp, 0, sizeof *mp);
    mtmd_bitmap **bitmaps = make_bitmaps(images, n_images, false);
    mtmd_input_chunks *chunks = mtmd_input_chunks_init();
    size_t clean_len = 0;
    char *clean = utf8_sanitize(text, strlen(text), &clean_len);  /* llama.cpp throws on non-UTF-8 (seq.c) */
    if (!bitmaps || !chunks || !clean) {
        free_bitmaps(bitmaps, n_images);
        if (chunks) mtmd_input_chunks_free(chunks);
        free(clean);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    mtmd_input_text in = {.text = clean, .text_len = clean_len, .add_special = false, .parse_special = special};
    int32_t rc = mtmd_tokenize(e->mtmd, chunks, &in, (const mtmd_bitmap *const *)bitmaps, (size_t)n_images);
    free(clean);
    free_bitmaps(bitmaps, n_images);
    if (rc != 0) {
        mtmd_input_chunks_free(chunks);
        return ember_fail(err, rc == 1 ? EMBER_ERR_INVALID : EMBER_ERR_FORMAT,
                          "the prompt could not be tokenized with its %d image(s): each image needs one %s in the "
                          "text (mtmd error %d)", n_images, EMBER_IMAGE_MARKER, (int)rc);
    }
    size_t n_chunks = mtmd_input_chunks_size(chunks);
    size_t total = mtmd_helper_get_n_tokens(chunks);
    mp->tokens = malloc(sizeof *mp->tokens * (total ? total : 1));
    mp->spans = calloc(n_chunks ? n_chunks : 1, sizeof *mp->spans);
    mp->span_image = calloc(n_chunks ? n_chunks : 1, sizeof *mp->span_image);
    mp->span_part = calloc(n_chunks ? n_chunks : 1, sizeof *mp->span_part);
    ember_status status = mp->tokens && mp->spans && mp->span_image && mp->span_part
                              ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    int image = -1, part = 0;
    for (size_t c = 0; c < n_chunks && status == EMBER_OK; c++) {
        const mtmd_input_chunk *chunk = mtmd_input_chunks_get(chunks, c);
        if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
            size_t n = 0;
            const llama_token *t = mtmd_input_chunk_get_tokens_text(chunk, &n);
            memcpy(mp->tokens + mp->n, t, sizeof *t * n);
            mp->n += (int)n;
            continue;
        }
        if (mtmd_input_chunk_get_type(chunk) != MTMD_INPUT_CHUNK_TYPE_IMAGE) {
            status = ember_fail(err, EMBER_ERR_UNSUPPORTED, "only images are supported");
            break;
        }
        /* the chunk's id is "HASH-INDEX" (make_bitmaps): which image, and its hash */
        const char *id = mtmd_input_chunk_get_id(chunk);
        const char *dash = id ? strchr(id, '-') : NULL;
        uint64_t hash = id ? strtoull(id, NULL, 16) : 0;
        int which = dash ? atoi(dash + 1) : -1;
        if (which < 0 || which >= n_images || which < image) {
            status = ember_fail(err, EMBER_ERR_INVALID, "an image chunk does not match the images given");
            break;
        }
        part = which == image ? part + 1 : 0;
        image = which;
        int n_tok = (int)mtmd_input_chunk_get_n_tokens(chunk);
        seq_image *span = &mp->spans[mp->n_spans];
        span->start = mp->n;
        span->n_tokens = n_tok;
        span->n_pos = (int)mtmd_input_chunk_get_n_pos(chunk);
        span->chunk = mtmd_input_chunk_copy(chunk);
        mp->span_image[mp->n_spans] = image;
        mp->span_part[mp->n_spans] = part;
        mp->n_spans++;
        if (!span->chunk) status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
        for (int k = 0; k < n_tok; k++) mp->tokens[mp->n + k] = placeholder_id(hash, part, k);
        mp->n += n_tok;
    }
    mtmd_input_chunks_free(chunks);
    if (status != EMBER_OK) prompt_free(e, mp);
    return status;
}

/* Encodes image `image` (every chunk of it) and lists the results in the cache. */
static ember_status encode_image(ember_engine *e, const ember_image *image, ember_error *err) {
    const ember_image *one[1] = {image};
    mtmd_bitmap **bitmaps = make_bitmaps(one, 1, true);
    mtmd_input_chunks *chunks = mtmd_input_chunks_init();
    if (!bitmaps || !chunks) {
        free_bitmaps(bitmaps, 1);
        if (chunks) mtmd_input_chunks_free(chunks);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    mtmd_input_text in = {.text = EMBER_IMAGE_MARKER, .text_len = strlen(EMBER_IMAGE_MARKER),
                          .add_special = false, .parse_special = true};
    int32_t rc = mtmd_tokenize(e->mtmd, chunks, &in, (const mtmd_bitmap *const *)bitmaps, 1);
    free_bitmaps(bitmaps, 1);
    ember_status status = rc == 0 ? EMBER_OK : ember_fail(err, EMBER_ERR_FORMAT, "the projector could not preprocess "
                                                          "a %dx%d image", image->width, image->height);
    int part = 0;
    for (size_t c = 0; status == EMBER_OK && c < mtmd_input_chunks_size(chunks); c++) {
        const mtmd_input_chunk *chunk = mtmd_input_chunks_get(chunks, c);
        if (mtmd_input_chunk_get_type(chunk) != MTMD_INPUT_CHUNK_TYPE_IMAGE) continue;
        int n_tok = (int)mtmd_input_chunk_get_n_tokens(chunk);
        embd_entry *entry = calloc(1, sizeof *entry);
        size_t floats = (size_t)n_tok * (size_t)e->n_embd_inp;
        if (entry) entry->data = malloc(sizeof(float) * (floats ? floats : 1));
        if (!entry || !entry->data) {
            if (entry) entry_free(entry);
            status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory for image embeddings");
            break;
        }
        entry->refs = 1;  /* ours until the cache takes it */
        entry->hash = image->hash;
        entry->part = part++;
        entry->n_tokens = n_tok;
        double t0 = ember_now_ms();
        pthread_mutex_lock(&e->mtmd_mu);
        rc = mtmd_encode_chunk(e->mtmd, chunk);
        if (rc == 0) memcpy(entry->data, mtmd_get_output_embd(e->mtmd), sizeof(float) * floats);
        pthread_mutex_unlock(&e->mtmd_mu);
        double ms = ember_now_ms() - t0;
        if (rc != 0) {
            entry_free(entry);
            status = ember_fail(err, EMBER_ERR_ENGINE, "the vision encoder failed on a %dx%d image", image->width,
                                image->height);
            break;
        }
        lock(e);
        e->stats.encoder_runs++;
        e->stats.encode_ms += ms;
        cache_insert(e, entry);
        media_release(e, entry);  /* the cache holds it now */
        unlock(e);
    }
    mtmd_input_chunks_free(chunks);
    return status;
}

/* Attaches embeddings to every span at or after `from`: from the cache, else by encoding its
 * image (once per image). */
static ember_status prompt_embed(ember_engine *e, media_prompt *mp, const ember_image *const *images, int from,
                                 int *encoded, ember_error *err) {
    for (int i = 0; i < mp->n_spans; i++) {
        seq_image *span = &mp->spans[i];
        if (span->start < from || span->embd) continue;
        if (mtmd_decode_use_non_causal(e->mtmd, span->chunk) && span->n_tokens > e->n_batch)
            return ember_fail(err, EMBER_ERR_INVALID, "an image of %d tokens must be decoded in one batch of at most %d",
                              span->n_tokens, e->n_batch);
        const ember_image *image = images[mp->span_image[i]];
        for (int attempt = 0; attempt < 2 && !span->embd; attempt++) {
            lock(e);
            span->embd = cache_find(e, image->hash, mp->span_part[i], span->n_tokens);
            if (span->embd && attempt == 0) e->stats.encoder_cache_hits++;
            unlock(e);
            if (span->embd || attempt == 1) break;
            ember_status status = encode_image(e, image, err);
            if (status != EMBER_OK) return status;
            if (encoded) (*encoded)++;
        }
        if (!span->embd)  /* evicted at once: more images in flight than the cache holds */
            return ember_fail(err, EMBER_ERR_NOMEM, "the image cache could not hold an image's embeddings");
    }
    return EMBER_OK;
}

static ember_status need_vision(ember_engine *e, int n_images, ember_error *err) {
    if (n_images > 0 && !e->mtmd)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED,
                          "this model was loaded without a vision projector: give one with --mmproj");
    if (n_images < 0) return ember_fail(err, EMBER_ERR_INVALID, "negative image count");
    return EMBER_OK;
}

ember_status ember_seq_reset_media(ember_seq *seq, const char *text, bool special, const ember_image *const *images,
                                   int n_images, ember_error *err) {
    BACKEND_DISPATCH(seq, seq_reset_media, seq, text, special, images, n_images, err);
    ember_engine *e = seq->engine;
    ember_status status = need_vision(e, n_images, err);
    if (status != EMBER_OK) return status;
    if (n_images == 0) return ember_seq_reset_text(seq, text, special, err);
    media_prompt mp;
    status = prompt_tokenize(e, text, special, images, n_images, &mp, err);
    if (status != EMBER_OK) return status;
    if (mp.n > e->n_ctx_seq) {
        status = ember_fail(err, EMBER_ERR_CONTEXT, "the prompt has %d tokens (images included); the context holds %d "
                            "(raise -c/--ctx)", mp.n, e->n_ctx_seq);
    } else {
        lock(e);
        /* a fresh sequence takes its cached prefix first: the images in it are then neither
         * encoded nor looked up (and no eviction can take them away meanwhile) */
        if (e->n_cached > 0 && !seq_is_busy(seq) && seq->n_past == 0 && seq->n_spans == 0) {
            if (!engine_on_scheduler(e)) engine_wait_not_decoding(e);
            if (e->n_cached > 0 && !seq_is_busy(seq) && seq->n_past == 0 && seq->n_spans == 0)
                cache_adopt(seq, mp.tokens, mp.n, mp.spans, mp.n_spans);
        }
        int keep = seq_keep_prefix(seq, mp.tokens, mp.n, mp.spans, mp.n_spans);
        unlock(e);
        int encoded = 0;
        status = prompt_embed(e, &mp, images, keep, &encoded, err);
        atomic_fetch_add(&seq->n_encoded, encoded);
        if (status == EMBER_OK) status = seq_reset_input(seq, mp.tokens, mp.n, mp.spans, mp.n_spans, err);
    }
    prompt_free(e, &mp);
    return status;
}

ember_status ember_seq_feed_image(ember_seq *seq, const ember_image *image, ember_error *err) {
    BACKEND_DISPATCH(seq, seq_feed_image, seq, image, err);
    ember_engine *e = seq->engine;
    ember_status status = need_vision(e, image ? 1 : -1, err);
    if (status != EMBER_OK) return status;
    const ember_image *one[1] = {image};
    media_prompt mp;
    status = prompt_tokenize(e, EMBER_IMAGE_MARKER, true, one, 1, &mp, err);
    int encoded = 0;
    if (status == EMBER_OK) status = prompt_embed(e, &mp, one, 0, &encoded, err);
    atomic_fetch_add(&seq->n_encoded, encoded);
    if (status != EMBER_OK) {
        prompt_free(e, &mp);
        return status;
    }
    status = seq_append_input(seq, mp.tokens, mp.n, mp.spans, mp.n_spans, err);
    prompt_free(e, &mp);
    return status;
}

int ember_engine_image_tokens(ember_engine *e, const ember_image *image) {
    BACKEND_DISPATCH(e, image_tokens, e, image);
    if (!e->mtmd || !image) return -1;
    const ember_image *one[1] = {image};
    media_prompt mp;
    if (prompt_tokenize(e, EMBER_IMAGE_MARKER, true, one, 1, &mp, NULL) != EMBER_OK) return -1;
    int n = 0;
    for (int i = 0; i < mp.n_spans; i++) n += mp.spans[i].n_tokens;
    prompt_free(e, &mp);
    return n;
}

bool ember_engine_has_vision(const ember_engine *e) {
    BACKEND_DISPATCH(e, has_vision, e);
    return e->mtmd != NULL;
}
int ember_seq_n_encoded(const ember_seq *seq) {
    BACKEND_DISPATCH(seq, seq_n_encoded, seq);
    return atomic_load(&((ember_seq *)seq)->n_encoded);
}
int ember_engine_image_size(const ember_engine *e) {
    BACKEND_DISPATCH(e, image_size, e);
    return e->mtmd ? e->image_size : 0;
}

bool media_step(ember_engine *e) {
    for (int k = 0; k < e->n_seq_max; k++) {
        int i = (e->media_next + k) % e->n_seq_max;
        ember_seq *seq = e->seqs[i];
        if (!seq || seq->in_batch || seq->cancel_requested || seq->n_tokens <= seq->n_past) continue;
        int index = -1;
        for (int m = 0; m < seq->n_images; m++)
            if (seq->images[m].start == seq->n_past && seq->images[m].chunk) index = m;
        if (index < 0) continue;
        e->media_next = (i + 1) % e->n_seq_max;
        seq_image img = seq->images[index];  /* a copy: the array may grow while unlocked */
        llama_pos pos0 = seq_pos_at(seq, seq->n_past), new_pos = pos0;
        cache_make_room(e, img.n_tokens);
        e->decoding = true;
        engine_unlock(e);
        int32_t rc = mtmd_helper_decode_image_chunk(e->mtmd, e->ctx, img.chunk, img.embd->data, pos0, seq->id,
                                                    e->n_batch, &new_pos, NULL, NULL);
        engine_lock(e);
        e->decoding = false;
        pthread_cond_broadcast(&e->step_cv);
        if (rc != 0) {
            llama_memory_seq_rm(llama_get_memory(e->ctx), seq->id, pos0, -1);
            seq_go_idle(seq, rc == 1 ? EMBER_ERR_CONTEXT : EMBER_ERR_ENGINE);
            return true;
        }
        seq_image *done = &seq->images[index];
        mtmd_input_chunk_free(done->chunk);
        media_release(e, done->embd);
        done->chunk = NULL;
        done->embd = NULL;
        seq->n_past += img.n_tokens;
        seq->n_evaluated += img.n_tokens;
        seq_account_new_cells(seq, img.n_tokens);
        e->stats.image_tokens_evaluated += (uint64_t)img.n_tokens;
        e->stats.decode_calls++;
        if (seq->n_tokens == seq->n_past) {  /* nothing after the image: no logits to sample from */
            seq->has_logits = false;
            seq_go_idle(seq, seq->generating ? EMBER_ERR_INVALID : EMBER_OK);
        }
        return true;
    }
    return false;
}
