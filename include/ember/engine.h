/*
 * ember/engine.h — models, the engine and its sequences (continuous batching on llama.cpp).
 *
 *   1. An ember_engine owns one model (and optionally its vision projector) and one llama.cpp
 *      context with a unified KV cache shared by many sequences (or a stream per sequence:
 *      kv_seq_cells). A single scheduler thread inside the engine packs one token from every
 *      active sequence into each decode step.
 *   2. An ember_seq is one sequence in that cache. It is fed text (queued, evaluated on the
 *      scheduler's next steps), may generate tokens (each one reported to its token callback
 *      on the scheduler thread), may be forked (the child shares the parent's KV cells, or
 *      copies its stream: the prefix is never recomputed) and is freed at once when destroyed.
 *
 * Threads: the engine's functions may be called from any thread (its getters and stats too).
 * One sequence is driven by one thread at a time (feed, generate, wait, reset); its callbacks
 * run on the scheduler thread; ember_seq_cancel and ember_seq_destroy may come from any thread.
 * Destroy every sequence before the engine.
 */
#ifndef EMBER_PUBLIC_ENGINE_H
#define EMBER_PUBLIC_ENGINE_H

#include "ember/core.h"
#include "ember/vision.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Models on disk                                                                            */

typedef struct ember_model_info {
    char architecture[64];   /* general.architecture, e.g. "muse-glimmer" */
    char name[128];          /* general.name, or the file name */
    char quantization[32];   /* e.g. "Q8_0", from general.file_type or the tensor types */
    char chat_format[32];    /* "muse-glimmer", "chatml-think", or "unknown" */
    uint64_t n_params;       /* total parameters (sum of tensor elements) */
    uint64_t file_size;      /* bytes on disk */
    uint32_t context_length; /* trained context length; 0 if unknown */
    uint32_t n_layers;       /* transformer blocks */
    uint32_t n_embd;         /* hidden size */
    uint32_t n_vocab;        /* tokens in the vocabulary */
    bool has_vision;         /* a projector was found next to the model (or given) */
    char mmproj_path[1024];  /* that projector's path, or empty */
    /* When the file is itself a vision projector (architecture "clip"): */
    bool is_projector;
    char projector_type[32]; /* clip.projector_type, e.g. "qwen3vl_merger"; "" if not given */
    uint32_t image_size;     /* nominal input side in pixels */
    uint32_t patch_size;     /* pixels per patch side */
    uint32_t projection_dim; /* size of the embeddings it hands to the language model */
} ember_model_info;

/* Reads a GGUF's metadata without loading its weights. Fails with EMBER_ERR_NOT_FOUND,
 * EMBER_ERR_FORMAT (not a GGUF) or EMBER_ERR_UNSUPPORTED (an architecture ember cannot chat
 * with is still described; the status says so). A vision projector is described too
 * (is_projector and its fields; n_layers and n_embd are the vision encoder's), with
 * EMBER_ERR_UNSUPPORTED since it is not a model to chat with. Projectors beside a model are
 * found by name: *mmproj*.gguf (see README). */
EMBER_API ember_status ember_model_inspect(const char *path, ember_model_info *info,
                                           ember_error *err);

/* ---------------------------------------------------------------------------------------- */
/* Engine                                                                                    */

typedef struct ember_engine ember_engine;

typedef struct ember_engine_params {
    const char *model_path;   /* GGUF file; required */
    const char *mmproj_path;  /* vision projector GGUF, or NULL */
    int n_ctx;                /* KV cells shared by all sequences; 0 = min(model, 8192) */
    int n_threads;            /* CPU threads; 0 = all cores */
    int n_seq_max;            /* most sequences alive at once; 0 = 32 */
    int n_batch;              /* most tokens per decode step; 0 = 512 */
    bool verbose;             /* forward llama.cpp's log to stderr */
    int image_max_tokens;     /* with a projector: most tokens one image may become (larger
                                 images are scaled down by the projector); 0 = its default */
    int image_min_tokens;     /* fewest tokens for an image (small ones are scaled up); 0 = its default */
    /* Remote engines instead of llama.cpp in-process: URLs of llama-server, vLLM or SGLang
     * servers serving the same model ("vllm+http://…" / "sglang+http://…" name the kind,
     * otherwise it is detected). model_path and mmproj_path are then unused; sequences
     * generate over HTTP (raw completions of ember's own prompts, streamed), spread over the
     * healthy replicas by least outstanding tokens, resuming on another replica from the
     * last confirmed text when one fails. No images yet. */
    const char *const *engine_urls;
    int n_engine_urls;
    /* Prompt cache across sequences: a sequence ended with ember_seq_retire leaves its
     * evaluated cells behind as a cached prompt; the first reset of a later sequence
     * (ember_seq_reset_text/_media on a fresh one) starts from the cached prompt sharing the
     * longest token prefix with it, and evaluates only the rest. Idle cached prompts hold no
     * reservation: the least recently used is evicted whenever cells or sequence ids are
     * needed by live sequences. Off for recurrent and hybrid models (their memory cannot
     * drop a tail), and for remote engines (the replicas cache prompts themselves). */
    bool prompt_cache;
    /* 0: one KV cache of n_ctx cells shared by every sequence; forks and cached prompts share
     * their prefix's cells. N > 0: each sequence gets a stream of its own of N cells (rounded
     * up to 256; llama.cpp's non-unified cache, like llama-server's slots) and n_ctx is unused.
     * A decode step's attention then reads only each sequence's own cells, where the unified
     * cache reads every cell in use: faster when many independent streams run (bench/serve.sh
     * at 64 streams). The price: memory for N cells per sequence id, a fork or a cached prompt
     * copies its whole stream instead of sharing cells, and sequences in one decode step are
     * split into runs of consecutive ids (llama.cpp's equal split). */
    int kv_seq_cells;
} ember_engine_params;

EMBER_API void ember_engine_params_init(ember_engine_params *params);
EMBER_API ember_status ember_engine_create(const ember_engine_params *params,
                                           ember_engine **engine, ember_error *err);
/* Stops the scheduler thread; every sequence must have been destroyed. */
EMBER_API void ember_engine_destroy(ember_engine *engine);

EMBER_API const char *ember_engine_chat_format(const ember_engine *engine);
/* The most tokens one sequence can hold: n_ctx, or kv_seq_cells (rounded) with streams. */
EMBER_API int ember_engine_n_ctx(const ember_engine *engine);
/* The context length the model was trained for (its GGUF's context_length), 0 if unknown. */
EMBER_API int ember_engine_n_ctx_train(const ember_engine *engine);
EMBER_API int ember_engine_n_vocab(const ember_engine *engine);
/* True when a projector was loaded (params.mmproj_path) and it reads images. */
EMBER_API bool ember_engine_has_vision(const ember_engine *engine);
/* The projector's nominal input side in pixels (clip.vision.image_size); 0 without vision.
 * The zoom tool scales small crops up to it. */
EMBER_API int ember_engine_image_size(const ember_engine *engine);

typedef struct ember_engine_stats {
    uint64_t decode_calls;        /* llama_decode calls since creation */
    uint64_t tokens_evaluated;    /* tokens fed through llama_decode */
    uint64_t max_batch_seqs;      /* most distinct sequences packed into one decode step */
    int kv_cells_used;            /* KV cells held by live sequences right now */
    int kv_cells_cached;          /* KV cells held only by idle cached prompts (prompt_cache) */
    int seqs_cached;              /* idle cached prompts kept (each holds a sequence id) */
    uint64_t prompt_tokens_reused; /* tokens sequences took from cached prompts, in total */
    uint64_t prompt_cache_evictions; /* cached prompts dropped to make room */
    int kv_cells_peak;            /* the most ever held at once */
    int seqs_active;              /* live sequences right now */
    uint64_t encoder_runs;        /* images sent through the vision encoder (cache misses) */
    uint64_t encoder_cache_hits;  /* images whose embeddings were reused from the engine's cache */
    uint64_t image_tokens_evaluated; /* image embeddings decoded into the KV cache */
    double encode_ms;             /* time spent in the vision encoder, in total */
    uint64_t preemptions;         /* sequences preempted when the KV cells ran out (their cells freed,
                                     their tokens recomputed later; their output is unchanged) */
    uint64_t seqs_cut;            /* sequences ended (EMBER_ERR_BUSY) when the KV cells ran out */
    /* the scheduler thread's time, in total (ember bench reports them per token) */
    uint64_t tokens_sampled;      /* tokens sampled */
    double sample_ms;             /* in sampling (the sampler chain, grammar, confidence) */
    double callback_ms;           /* in token callbacks (parsing, events) */
    double decode_ms;             /* in llama_decode (text batches) */
} ember_engine_stats;

/* Safe from any thread, token callbacks included. */
EMBER_API void ember_engine_get_stats(ember_engine *engine, ember_engine_stats *stats);

/* One remote replica of an engine made with engine_urls. */
typedef struct ember_replica_stats {
    char url[256];
    char engine[16];              /* "llama-server", "vllm", "sglang" */
    bool healthy;                 /* the last health check or request succeeded */
    int active;                   /* requests in flight */
    int slots;                    /* most requests at once */
    long long outstanding_tokens; /* tokens its streams may still produce */
    uint64_t requests;            /* requests sent */
    uint64_t failures;            /* requests that failed (connection, HTTP error, broken stream) */
    uint64_t tokens;              /* tokens received */
} ember_replica_stats;

/* Fills up to `max` replicas' stats; returns how many the engine has (0 when in-process). */
EMBER_API int ember_engine_replicas(ember_engine *engine, ember_replica_stats *stats, int max);

/* ---------------------------------------------------------------------------------------- */
/* Sampling                                                                                  */

typedef struct ember_sampling {
    float temperature;      /* 0 = greedy */
    int top_k;              /* 0 = off */
    float top_p;            /* 1 = off */
    float min_p;            /* 0 = off */
    uint32_t seed;          /* fixed seed for reproducible sampling */
    const char *grammar;    /* GBNF text constraining generation, or NULL */
    const char *grammar_trigger; /* with a grammar: a regex; the grammar stays off until the
                                    generated text matches it, then constrains from its first
                                    capture group on (lazy grammar), NULL = always on */
    bool ignore_eos;        /* never sample an end-of-generation token and do not stop at the
                               end of the turn: generation runs to the token limit (benchmarks
                               of equal work, like llama-server's and vLLM's ignore_eos) */
    bool confidence;        /* fill ember_token_info's logprob and top_logprob_mean: one more
                               pass over the vocabulary per token (Contemplating's agents) */
} ember_sampling;

EMBER_API void ember_sampling_init(ember_sampling *sampling);


/* Image tokens the engine's projector makes of this image (what it costs in the context);
 * -1 without vision. */
EMBER_API int ember_engine_image_tokens(ember_engine *engine, const ember_image *image);

/* ---------------------------------------------------------------------------------------- */
/* Sequences                                                                                 */

typedef struct ember_seq ember_seq;

/* What a token callback tells the scheduler to do with its sequence next. */
typedef enum ember_seq_action {
    EMBER_SEQ_CONTINUE,  /* generate another token */
    EMBER_SEQ_PAUSE,     /* stop generating; the sequence keeps its cells and can be resumed */
} ember_seq_action;

typedef struct ember_token_info {
    int32_t token;        /* the sampled token id */
    const char *piece;    /* its text (special tokens rendered), NUL-terminated */
    float logprob;        /* log-probability of the sampled token; 0 unless sampling.confidence */
    float top_logprob_mean; /* mean log-probability of the top-k candidates (DeepConf's token
                               confidence); 0 unless sampling.confidence */
    bool is_eog;          /* an end-of-generation token */
} ember_token_info;

/* Called on the scheduler thread for every generated token. It may call ember_seq_feed_text
 * on its own sequence (the text is evaluated before the next sampled token). Keep it short:
 * it holds up every other sequence. */
typedef ember_seq_action (*ember_token_fn)(ember_seq *seq, const ember_token_info *tok,
                                           void *user);

/* Called on the scheduler thread when the sequence pauses, whether by its callback, by an
 * error (status != EMBER_OK, e.g. the context is full) or by cancellation. Not called when
 * input fed without ember_seq_generate has been evaluated (ember_seq_wait_idle sees that). */
typedef void (*ember_seq_idle_fn)(ember_seq *seq, ember_status status, void *user);

EMBER_API ember_status ember_seq_create(ember_engine *engine, const ember_sampling *sampling,
                                        ember_seq **seq, ember_error *err);
/* Frees the sequence's KV cells at once, even while it is generating. */
EMBER_API void ember_seq_destroy(ember_seq *seq);
/* Ends the sequence like ember_seq_destroy; with params.prompt_cache, an idle sequence's
 * evaluated cells stay behind as a cached prompt for later sequences (see there). A busy
 * sequence, or one of an engine without the cache, is destroyed. */
EMBER_API void ember_seq_retire(ember_seq *seq);

EMBER_API void ember_seq_set_callbacks(ember_seq *seq, ember_token_fn on_token,
                                       ember_seq_idle_fn on_idle, void *user);
/* Queues text for evaluation; special tokens (<|start|> …) are parsed when `special`.
 * When the queued text is not followed by generation, the sampler still sees it. Fails with
 * EMBER_ERR_CONTEXT when the sequence would outgrow the context. */
EMBER_API ember_status ember_seq_feed_text(ember_seq *seq, const char *text, bool special,
                                           ember_error *err);
/* Queues an image (the engine needs vision): mtmd's text around it (e.g. <|image_start|> …
 * <|image_end|>) and its embeddings. The image is encoded now, on the calling thread (or
 * taken from the engine's cache of recent embeddings), and decoded into the KV cache by the
 * scheduler in order with the text queued before and after it. Fails with
 * EMBER_ERR_UNSUPPORTED (no vision), EMBER_ERR_CONTEXT, EMBER_ERR_ENGINE (the encoder failed). */
EMBER_API ember_status ember_seq_feed_image(ember_seq *seq, const ember_image *image, ember_error *err);
/* Queues token ids (each in [0, ember_engine_n_vocab)); for benchmarks and exact replays. */
EMBER_API ember_status ember_seq_feed_tokens(ember_seq *seq, const int32_t *tokens, int n,
                                             ember_error *err);
/* Starts (or resumes) generation after the queued input. Callbacks fire on the scheduler. */
EMBER_API ember_status ember_seq_generate(ember_seq *seq, ember_error *err);
/* Blocks until the sequence has evaluated its queued input (and, if generating, paused).
 * When the KV cells run out, the scheduler preempts the newest-admitted sequences (their own
 * cells freed, their tokens recomputed later: a pause, the output unchanged); one that cannot
 * be recomputed (a decoded image in the dropped part), or whose input finds no free cell while
 * no sequence decodes, is ended with EMBER_ERR_BUSY (its cells freed at once). */
EMBER_API ember_status ember_seq_wait_idle(ember_seq *seq, ember_error *err);
/* A new sequence that shares every cell of `parent` (which must be idle; with kv_seq_cells it
 * gets a copy of the parent's stream) and continues from its last token with its own sampler.
 * The parent stays usable. */
EMBER_API ember_status ember_seq_fork(ember_seq *parent, const ember_sampling *sampling,
                                      ember_seq **child, ember_error *err);
/* Asks the scheduler to pause the sequence after the current step (the idle callback fires). */
EMBER_API void ember_seq_cancel(ember_seq *seq);
/* Replaces the sequence's sampler (e.g. to switch a grammar on for a tool call). */
EMBER_API ember_status ember_seq_set_sampling(ember_seq *seq, const ember_sampling *sampling,
                                              ember_error *err);
/* Replaces the sequence's input by `text`, keeping the longest common prefix already in the
 * KV cache (only the new suffix is evaluated): the next turn of a conversation. The sequence
 * must be idle. */
EMBER_API ember_status ember_seq_reset_text(ember_seq *seq, const char *text, bool special,
                                           ember_error *err);
/* ember_seq_reset_text for a prompt with images: `text` holds EMBER_IMAGE_MARKER once per
 * image, in order. The kept prefix may contain images (an image is kept whole or not at all):
 * a next turn about the same image neither encodes nor evaluates it again. Only the images
 * after the kept prefix are encoded (or taken from the engine's cache). */
EMBER_API ember_status ember_seq_reset_media(ember_seq *seq, const char *text, bool special,
                                            const ember_image *const *images, int n_images,
                                            ember_error *err);
/* Tokens in the sequence (evaluated or queued; an image counts its embeddings). */
EMBER_API int ember_seq_n_tokens(const ember_seq *seq);
/* Tokens this sequence sent through llama_decode itself (shared prefixes are not counted). */
EMBER_API int ember_seq_n_evaluated(const ember_seq *seq);
/* Images this sequence's feeds and resets sent through the vision encoder (not cached). */
EMBER_API int ember_seq_n_encoded(const ember_seq *seq);
EMBER_API int ember_seq_id(const ember_seq *seq);

/* Tokenizes text with the engine's vocabulary; returns the count, or -1 on error. */
EMBER_API int ember_engine_count_tokens(ember_engine *engine, const char *text, bool special);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_PUBLIC_ENGINE_H */
