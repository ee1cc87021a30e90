/*
 * engine_internal.h — the engine's shared state, seen by engine.c, seq.c, scheduler.c and
 * sampler.c only.
 *
 * Threading: `mu` guards every field of the engine and of its sequences. The scheduler thread
 * holds `mu` except while llama_decode runs (`decoding` is then true); a caller that must touch
 * the llama context (seq_rm, seq_cp) waits on `step_cv` until `decoding` is false — and waits
 * BEFORE changing anything, since waiting releases `mu` and the scheduler may pack a batch
 * meanwhile (a half-made fork was once prefilled that way). The handoff cannot starve: such a
 * caller counts itself in `op_waiters`, and the scheduler packs no new batch while the count is
 * above zero, so the caller runs right after the decode step it found running — a sequence
 * operation waits at most one step, never for the engine to go idle. Token and
 * idle callbacks run on the scheduler thread with `mu` held; functions they may call detect
 * that (on_scheduler()) and do not lock again.
 *
 * Images (media.c): an image in a sequence's input is a run of placeholder ids in `tokens`
 * (negative, derived from the image's hash, so prefix matching treats equal images as equal
 * text) plus a seq_image record holding its embeddings until the scheduler decodes them.
 * Embeddings are computed when the image is queued, on the caller's thread under `mtmd_mu`
 * (never `mu`), and kept in a small engine-wide cache keyed by the image hash. The scheduler
 * decodes one queued image per step, like a text batch (`decoding` true, `mu` released).
 * Positions: with M-RoPE an image advances the position by fewer steps than it has
 * embeddings, so a token's position is its index plus the (n_pos - n_tokens) of every image
 * before it (seq_pos_at).
 *
 * KV accounting: llama.cpp shares cells between forked sequences without telling how many are
 * used, so ember counts them itself: a sequence's cells are a list of ref-counted segments; a
 * fork takes a reference on each of its parent's segments, new tokens go to a segment the
 * sequence owns alone, and a segment's cells are released when its last reference goes.
 *
 * Cell pressure (cells.c): when the generating sequences' next tokens do not fit the cells
 * left, the scheduler evicts cached prompts, then preempts the newest-admitted sequence (its
 * own cells dropped, its tokens queued again for recomputation), and ends a sequence
 * (EMBER_ERR_BUSY) only when it cannot be recomputed or nothing at all can progress.
 *
 * Prompt cache (prompt_cache.c): a retired sequence stays in `seqs` as an idle cached prompt
 * (`cached`; no sampler, no callbacks) holding its id, its tokens and its segments. A fresh
 * sequence's first reset copies the cells of the best cached prompt's common prefix
 * (llama_memory_seq_cp: shared cells, nothing recomputed) and takes references on its
 * segments, as a fork does. Cached prompts are never fed or packed (they are idle); one is
 * evicted (llama_memory_seq_rm of its own id only: cells other sequences share stay) when a
 * sequence id or cells are needed, always with `decoding` false.
 */
#ifndef EMBER_ENGINE_INTERNAL_H
#define EMBER_ENGINE_INTERNAL_H

#include "ember.h"
#include "backend/backend.h"

#include <llama.h>
#include <mtmd.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct kv_segment {
    int n_cells;  /* cells created into this segment */
    int refs;     /* sequences holding it (cached prompts included) */
    /* prompt_cache.c's counting pass (cache_cells): */
    unsigned mark, counted;  /* the passes that last reset / counted it */
    int live_used;           /* the longest view of it a live sequence has */
    int cache_used;          /* the longest view of it a cached prompt has */
} kv_segment;

typedef struct kv_span {
    kv_segment *seg;
    int used;     /* cells of seg this sequence sees (a prefix of the segment) */
} kv_span;

typedef struct ember_sampler ember_sampler;

/* One encoded image (or one slice of it) in the engine's cache; guarded by mu. */
typedef struct embd_entry {
    uint64_t hash;            /* the image's hash */
    int part;                 /* which image chunk of it (projectors that tile make several) */
    int n_tokens;             /* embeddings */
    float *data;              /* n_tokens * n_embd_inp floats */
    int refs;                 /* the cache's own reference while listed, plus queued inputs */
    uint64_t last_use;        /* engine->cache_clock at the last use (LRU) */
    struct embd_entry *next;
} embd_entry;

/* An image in a sequence's input. */
typedef struct seq_image {
    int start;                /* index in tokens[] of its first embedding */
    int n_tokens;             /* embeddings = KV cells */
    int n_pos;                /* positions it advances (M-RoPE: fewer than n_tokens) */
    mtmd_input_chunk *chunk;  /* owned; its token layout (positions); NULL once decoded */
    embd_entry *embd;         /* a reference; NULL once decoded */
} seq_image;

struct ember_seq {
    backend_tag tag;          /* NULL ops: this engine's own (backend.h); must stay first */
    ember_engine *engine;
    int id;                   /* llama seq id, index into engine->seqs */
    ember_sampler *sampler;

    llama_token *tokens;      /* every token of the sequence: [0, n_past) in KV, then queued */
    int n_tokens;             /* evaluated + queued */
    int cap_tokens;
    int n_past;               /* tokens already in the KV cache */
    int n_evaluated;          /* tokens this sequence itself decoded */

    kv_span *spans;           /* KV accounting, see above */
    int n_spans;

    seq_image *images;        /* images in tokens[], by start */
    int n_images;
    int cap_images;
    atomic_int n_encoded;     /* images its inputs sent through the encoder (cache misses) */

    bool generating;          /* sample after the queued input is evaluated */
    bool cancel_requested;
    bool in_batch;            /* part of the decode step now running */
    float *logits;            /* the last output row, kept when it was not sampled at once */
    bool has_logits;

    ember_token_fn on_token;
    ember_seq_idle_fn on_idle;
    void *user;
    ember_status status;      /* why it last went idle */

    uint64_t admitted;        /* admission order (cells.c): its creation; a fork inherits its parent's */
    uint64_t born;            /* creation order */

    bool cached;              /* an idle cached prompt (prompt_cache.c), no longer its owner's */
    uint64_t cache_use;       /* engine->cache_clock when it was retired or last reused (LRU) */
};

struct ember_engine {
    backend_tag tag;             /* NULL ops: this engine's own (backend.h); must stay first */
    struct llama_model *model;
    const struct llama_vocab *vocab;
    struct llama_context *ctx;
    int n_vocab;
    int n_ctx;                   /* KV cells in all (with streams: n_seq_max of n_ctx_seq) */
    int n_ctx_seq;               /* the most one sequence holds: n_ctx, or its stream's cells */
    bool kv_split;               /* a stream per sequence (kv_seq_cells): forks copy, not share */
    int n_batch;
    int n_seq_max;
    char chat_format[32];
    struct mtmd_context *mtmd;   /* NULL without a projector */
    pthread_mutex_t mtmd_mu;     /* serializes the vision encoder (mtmd_encode_chunk) */
    int n_embd_inp;              /* floats per image embedding */
    int image_size;              /* the projector's nominal input side (pixels) */
    bool verbose;                /* counted in the log sink's verbose_engines */
    embd_entry *cache;           /* recently encoded images (guarded by mu) */
    int cache_count;
    size_t cache_bytes;
    uint64_t cache_clock;
    int media_next;              /* where the scheduler looks first for a queued image */
    bool prompt_cache;           /* keep retired sequences as cached prompts */
    int n_cached;                /* cached prompts in seqs[] */
    unsigned mark_epoch;         /* prompt_cache.c's counting passes */

    pthread_mutex_t mu;
    pthread_cond_t work_cv;      /* scheduler waits here for work */
    pthread_cond_t step_cv;      /* a decode step ended, or a sequence went idle */
    pthread_t thread;
    bool stop;
    bool decoding;
    int op_waiters;              /* callers waiting for the running step to end (see above) */
    uint64_t seq_clock;          /* sequences created (admitted / born) */
    double stall_since;          /* when steps began finding no cell for any waiting input; 0 = not stalled */
    bool stall_wait;             /* the last step packed nothing for want of cells: wait for a change */

    ember_seq **seqs;            /* by llama seq id; NULL = free id */
    struct llama_batch batch;

    ember_engine_stats stats;
};

/* True on the engine's scheduler thread (inside token/idle callbacks). */
bool engine_on_scheduler(const ember_engine *engine);
void engine_lock(ember_engine *engine);
void engine_unlock(ember_engine *engine);
/* The same, skipped on the scheduler thread (its callbacks already hold the lock). */
void engine_lock_unless_scheduler(ember_engine *engine);
void engine_unlock_unless_scheduler(ember_engine *engine);
/* With mu held: wait until the running decode step (if any) ends; the scheduler starts no
 * other until this caller has had the lock. */
void engine_wait_not_decoding(ember_engine *engine);

void *scheduler_main(void *arg);

/* seq.c: with mu held */
bool seq_is_busy(const ember_seq *seq);
bool seq_push_tokens(ember_seq *seq, const llama_token *tokens, int n);
void seq_account_new_cells(ember_seq *seq, int n);
/* Drops every segment reference of the sequence (cells whose last reference goes are freed). */
void seq_release_spans(ember_seq *seq);
/* Drops cells at positions >= keep from the sequence's view. */
void seq_truncate_spans(ember_seq *seq, int keep);
/* Gives `seq` (which holds no cells) the KV cells of the first `keep` tokens of `src`, and its
 * view of them: unified, they are shared (references on src's segments); with streams, src's
 * stream is copied (on the next step) and the tail dropped, cells of its own. False, with
 * nothing changed, when out of memory. */
bool seq_copy_prefix(ember_seq *seq, const ember_seq *src, int keep);
/* Appends image records (their starts already in the sequence's indices). */
bool seq_add_images(ember_seq *seq, const seq_image *images, int n);
void seq_go_idle(ember_seq *seq, ember_status status);
/* The position of the token at `index` (index plus the M-RoPE shortfall of earlier images). */
int seq_pos_at(const ember_seq *seq, int index);
/* Index of the first queued image at or after `from`, or n_tokens when there is none. */
int seq_next_image_start(const ember_seq *seq, int from);
/* llama_tokenize into a malloc'd array; returns the count or -1. */
int seq_tokenize(ember_engine *engine, const char *text, bool special, llama_token **tokens);
/* With mu held: how many evaluated tokens a reset to `tokens` keeps (see seq.c). */
int seq_keep_prefix(const ember_seq *seq, const llama_token *tokens, int n, const seq_image *images, int n_images);
/* Drops the images that start at or after `keep` (their embeddings are released). */
void seq_drop_images_from(ember_seq *seq, int keep);
/* Replaces the input after the longest common prefix with `tokens` and `images` (spans whose
 * embeddings are attached; ownership moves to the sequence on success). */
ember_status seq_reset_input(ember_seq *seq, const llama_token *tokens, int n, seq_image *images, int n_images,
                             ember_error *err);
/* Appends tokens and images (starts relative to the appended tokens) to the queued input;
 * the images' embeddings move to the sequence on success. */
ember_status seq_append_input(ember_seq *seq, const llama_token *tokens, int n, seq_image *images, int n_images,
                              ember_error *err);

/* prompt_cache.c: with mu held and `decoding` false */
/* Before the first reset of a fresh sequence: starts it from the cached prompt sharing the
 * longest prefix with `tokens` (same rules as seq_keep_prefix); returns the tokens taken. */
int cache_adopt(ember_seq *seq, const llama_token *tokens, int n, const seq_image *images, int n_images);
/* Evicts the least recently used cached prompt; false when there is none. */
bool cache_evict_lru(ember_engine *engine);
/* Evicts cached prompts until `n` more cells fit the context (or none is left). */
void cache_make_room(ember_engine *engine, int n);
/* Cells held by cached prompts and by no live sequence. */
int cache_cells(ember_engine *engine);
/* At engine destruction (scheduler stopped): frees every cached prompt. */
void cache_free_all(ember_engine *engine);

/* cells.c: with mu held and `decoding` false, on the scheduler thread */
/* Cells no sequence (nor cached prompt) holds. */
int cells_free(const ember_engine *engine);
/* Before packing: evicts cached prompts and preempts the newest sequences until the next
 * token of every generating sequence fits; returns the cells the step may fill. */
int cells_make_room(ember_engine *engine);
/* Preempts (or, if it cannot be recomputed, ends) the newest busy sequence holding cells of
 * its own; false when there is none. */
bool cells_preempt_newest(ember_engine *engine);
/* Ends the newest sequence whose input waits for cells (EMBER_ERR_BUSY); false if none. */
bool cells_end_newest_waiting(ember_engine *engine);
enum { CELLS_STALL_GRACE_MS = 500 };

/* media.c */
ember_status media_init(ember_engine *engine, const char *mmproj_path, int n_threads,
                        const ember_engine_params *params, ember_error *err);
void media_free(ember_engine *engine);
/* With mu held, on the scheduler thread: decodes one image whose turn has come; true if it did. */
bool media_step(ember_engine *engine);
/* With mu held: drops one reference to an embedding entry. */
void media_release(ember_engine *engine, embd_entry *entry);

/* sampler.c */
ember_sampler *sampler_create(ember_engine *engine, const ember_sampling *sampling,
                              ember_error *err);
void sampler_destroy(ember_sampler *sampler);
/* Samples from one logits row; fills tok (piece points into the sampler's buffer). Returns
 * -1 when the constraints allow no token at all. */
llama_token sampler_sample(ember_sampler *sampler, const float *logits, ember_token_info *tok);

#endif
