/*
 * ember.h — the one public API of libember: the Muse Spark system, open and local.
 *
 * The data, before the functions:
 *
 *   1. An ember_engine owns one model (and optionally its vision projector) and one llama.cpp
 *      context with a unified KV cache shared by many sequences. A single scheduler thread
 *      inside the engine packs one token from every active sequence into each decode step.
 *   2. An ember_seq is one sequence in that cache. It is fed text (queued, evaluated on the
 *      scheduler's next steps), may generate tokens (each one reported to its token callback
 *      on the scheduler thread), may be forked (the child shares the parent's KV cells: the
 *      prefix is never recomputed) and is freed at once when destroyed.
 *   3. An ember_chat is a conversation: an ordered list of messages.
 *   4. An ember_run answers a chat in one of three modes (Instant, Thinking, Contemplating)
 *      and reports what happens as a stream of typed events (ember_event); when it ends it
 *      holds an ember_result, which also serializes to the JSON that `ember ask --json` prints.
 *
 * Conventions: every type has a create/destroy pair; destroy accepts NULL. Functions that can
 * fail return an ember_status and, when `err` is not NULL, fill it with a readable message.
 * Strings returned by getters are owned by the object they come from and live as long as it.
 * Nothing in the library calls exit() or writes to stdout.
 */
#ifndef EMBER_H
#define EMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EMBER_BUILDING)
#define EMBER_API __attribute__((visibility("default")))
#else
#define EMBER_API
#endif

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                    */

typedef enum ember_status {
    EMBER_OK = 0,
    EMBER_ERR_INVALID,      /* a parameter or request is malformed */
    EMBER_ERR_NOT_FOUND,    /* a file, model, tool or object does not exist */
    EMBER_ERR_FORMAT,       /* a file is not what it claims (not a GGUF, corrupt image, …) */
    EMBER_ERR_UNSUPPORTED,  /* understood, but not supported (architecture, image type, …) */
    EMBER_ERR_CONTEXT,      /* the prompt or generation does not fit the context window */
    EMBER_ERR_NOMEM,        /* an allocation failed */
    EMBER_ERR_ENGINE,       /* llama.cpp failed to load or decode */
    EMBER_ERR_CANCELLED,    /* the caller cancelled the operation */
    EMBER_ERR_IO,           /* a read, write or network operation failed */
    EMBER_ERR_TIMEOUT,      /* an operation ran past its time limit */
    EMBER_ERR_BUSY,         /* no sequence slot is free right now; try again later */
} ember_status;

typedef struct ember_error {
    ember_status status;   /* EMBER_OK when nothing failed */
    char message[512];     /* human-readable, NUL-terminated; empty when status is EMBER_OK */
} ember_error;

/* A short constant name for a status ("invalid", "context", …). */
EMBER_API const char *ember_status_name(ember_status status);

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
} ember_model_info;

/* Reads a GGUF's metadata without loading its weights. Fails with EMBER_ERR_NOT_FOUND,
 * EMBER_ERR_FORMAT (not a GGUF) or EMBER_ERR_UNSUPPORTED (an architecture ember cannot chat
 * with is still described; the status says so). */
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
} ember_engine_params;

EMBER_API void ember_engine_params_init(ember_engine_params *params);
EMBER_API ember_status ember_engine_create(const ember_engine_params *params,
                                           ember_engine **engine, ember_error *err);
/* Stops the scheduler thread; every sequence must have been destroyed. */
EMBER_API void ember_engine_destroy(ember_engine *engine);

EMBER_API const char *ember_engine_chat_format(const ember_engine *engine);
EMBER_API int ember_engine_n_ctx(const ember_engine *engine);
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
    int kv_cells_peak;            /* the most ever held at once */
    int seqs_active;              /* live sequences right now */
    uint64_t encoder_runs;        /* images sent through the vision encoder (cache misses) */
    uint64_t encoder_cache_hits;  /* images whose embeddings were reused from the engine's cache */
    uint64_t image_tokens_evaluated; /* image embeddings decoded into the KV cache */
    double encode_ms;             /* time spent in the vision encoder, in total */
} ember_engine_stats;

/* Safe from any thread, token callbacks included. */
EMBER_API void ember_engine_get_stats(ember_engine *engine, ember_engine_stats *stats);

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
} ember_sampling;

EMBER_API void ember_sampling_init(ember_sampling *sampling);

/* ---------------------------------------------------------------------------------------- */
/* Images                                                                                    */
/*
 * An ember_image is a decoded picture: 8-bit RGB pixels, rows top to bottom, and a 64-bit
 * hash of size and pixels (equal pictures have equal hashes; the engine keys its caches on
 * it). Images are immutable and reference-counted: a chat, a queued sequence input and a run
 * result may hold the same one; ember_image_destroy drops the caller's reference.
 *
 * Loading recognizes the format by its signature: PNG, JPEG (also CMYK), WebP (the first
 * frame of an animation), GIF (the first frame), BMP (uncompressed or bit fields, 1-32 bits).
 * Transparency is blended onto white. Corrupt or truncated data fails with
 * EMBER_ERR_FORMAT; other formats (TIFF, HEIF, AVIF, RLE BMP …) and images above the pixel
 * cap fail with EMBER_ERR_UNSUPPORTED, before any pixel memory is allocated.
 */
typedef struct ember_image ember_image;

#define EMBER_IMAGE_MAX_PIXELS ((size_t)64 * 1024 * 1024)  /* the default cap: 64 Mpx */
/* Where an image goes in message text and in a sequence's prompt (mtmd's media marker). */
#define EMBER_IMAGE_MARKER "<__media__>"

/* max_pixels 0 = EMBER_IMAGE_MAX_PIXELS. Errors name the file. */
EMBER_API ember_status ember_image_load_file(const char *path, size_t max_pixels, ember_image **image,
                                             ember_error *err);
EMBER_API ember_status ember_image_load_memory(const void *data, size_t size, size_t max_pixels,
                                               ember_image **image, ember_error *err);
/* An image from width * height * 3 bytes of RGB (copied). */
EMBER_API ember_status ember_image_from_rgb(int width, int height, const uint8_t *rgb, ember_image **image,
                                            ember_error *err);
EMBER_API void ember_image_destroy(ember_image *image);
EMBER_API int ember_image_width(const ember_image *image);
EMBER_API int ember_image_height(const ember_image *image);
EMBER_API const uint8_t *ember_image_rgb(const ember_image *image);
EMBER_API uint64_t ember_image_hash(const ember_image *image);
/* "png", "jpeg", "webp", "gif", "bmp", or "rgb" for images made from pixels. */
EMBER_API const char *ember_image_format(const ember_image *image);
/* The pixels [x0, x1) x [y0, y1) as a new image (EMBER_ERR_INVALID when not inside). */
EMBER_API ember_status ember_image_crop(const ember_image *image, int x0, int y0, int x1, int y1,
                                        ember_image **crop, ember_error *err);
/* Bilinear resampling to width x height. */
EMBER_API ember_status ember_image_resize(const ember_image *image, int width, int height,
                                          ember_image **resized, ember_error *err);
EMBER_API ember_status ember_image_save_png(const ember_image *image, const char *path, ember_error *err);
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
    float logprob;        /* log-probability of the sampled token */
    float top_logprob_mean; /* mean log-probability of the top-k candidates (confidence) */
    bool is_eog;          /* an end-of-generation token */
} ember_token_info;

/* Called on the scheduler thread for every generated token. It may call ember_seq_feed_text
 * on its own sequence (the text is evaluated before the next sampled token). Keep it short:
 * it holds up every other sequence. */
typedef ember_seq_action (*ember_token_fn)(ember_seq *seq, const ember_token_info *tok,
                                           void *user);

/* Called on the scheduler thread when the sequence pauses, whether by its callback, by an
 * error (status != EMBER_OK, e.g. the context is full) or by cancellation. */
typedef void (*ember_seq_idle_fn)(ember_seq *seq, ember_status status, void *user);

EMBER_API ember_status ember_seq_create(ember_engine *engine, const ember_sampling *sampling,
                                        ember_seq **seq, ember_error *err);
/* Frees the sequence's KV cells at once, even while it is generating. */
EMBER_API void ember_seq_destroy(ember_seq *seq);

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
/* Blocks until the sequence has evaluated its queued input (and, if generating, paused). */
EMBER_API ember_status ember_seq_wait_idle(ember_seq *seq, ember_error *err);
/* A new sequence that shares every cell of `parent` (which must be idle) and continues from
 * its last token with its own sampler. The parent stays usable. */
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

/* ---------------------------------------------------------------------------------------- */
/* Conversations                                                                             */

typedef enum ember_role {
    EMBER_ROLE_SYSTEM,
    EMBER_ROLE_USER,
    EMBER_ROLE_ASSISTANT,
    EMBER_ROLE_TOOL,
} ember_role;

typedef struct ember_chat ember_chat;

EMBER_API ember_chat *ember_chat_create(void);
EMBER_API void ember_chat_destroy(ember_chat *chat);
/* Appends a message; text is copied. For EMBER_ROLE_TOOL, `name` is the tool's name. */
EMBER_API ember_status ember_chat_add(ember_chat *chat, ember_role role, const char *text,
                                      ember_error *err);
/* Appends an assistant message with its reasoning (either may be NULL). */
EMBER_API ember_status ember_chat_add_assistant(ember_chat *chat, const char *reasoning,
                                                const char *answer, ember_error *err);
EMBER_API ember_status ember_chat_add_tool_result(ember_chat *chat, const char *tool_name,
                                                  const char *output, ember_error *err);
/* Adds a tool call to the conversation: to the last message when it is an assistant message
 * without answer text, else to a new assistant message. `arguments` is a JSON object as text;
 * `id` (may be NULL) is the client's call id. */
EMBER_API ember_status ember_chat_add_tool_call(ember_chat *chat, const char *name,
                                                const char *arguments, const char *id,
                                                ember_error *err);
/* Attaches an image to the last message, which must be the user's (or a tool result). The
 * i-th EMBER_IMAGE_MARKER in the message's text is where the i-th image goes; images beyond
 * the markers go before the text, in order. The chat takes its own reference. */
EMBER_API ember_status ember_chat_add_image(ember_chat *chat, const ember_image *image, ember_error *err);
/* Images of the whole conversation, in prompt order (the zoom tool's and boxes' "image N"
 * counts from 1 in this order). */
EMBER_API size_t ember_chat_image_count(const ember_chat *chat);
EMBER_API const ember_image *ember_chat_image(const ember_chat *chat, size_t index);
/* Removes the last message (e.g. a user turn that could not be answered). */
EMBER_API void ember_chat_pop(ember_chat *chat);
EMBER_API void ember_chat_clear(ember_chat *chat);
EMBER_API size_t ember_chat_count(const ember_chat *chat);

/* ---------------------------------------------------------------------------------------- */
/* Modes                                                                                     */

typedef enum ember_mode {
    EMBER_MODE_INSTANT,        /* answer at once, no reasoning channel */
    EMBER_MODE_THINKING,       /* one reasoning chain, then the answer */
    EMBER_MODE_CONTEMPLATING,  /* several agents reason in parallel, then converge */
} ember_mode;

typedef enum ember_reasoning {
    EMBER_REASONING_LOW,
    EMBER_REASONING_MEDIUM,
    EMBER_REASONING_HIGH,
    EMBER_REASONING_XHIGH,
} ember_reasoning;

/* ---------------------------------------------------------------------------------------- */
/* Chat formats: prompt rendering and incremental output parsing                             */
/* The run API uses these itself; they are public for remote engines (which return raw text), */
/* for tools that inspect prompts, and for tests.                                             */

typedef enum ember_channel {
    EMBER_CHANNEL_REASONING,
    EMBER_CHANNEL_ANSWER,
    EMBER_CHANNEL_TOOL,
} ember_channel;

typedef enum ember_opening {
    EMBER_OPEN_HEADER,     /* a bare assistant turn: the model writes its own channel header */
    EMBER_OPEN_REASONING,  /* the reasoning channel is opened by the prompt (Thinking) */
    EMBER_OPEN_ANSWER,     /* the answer channel is opened by the prompt (Instant) */
} ember_opening;

typedef struct ember_render_opts {
    ember_opening opening;
    ember_reasoning reasoning;
    const char *system;        /* overrides the chat's system message; NULL = none */
    const char *current_date;  /* "YYYY-MM-DD", or NULL for today */
    const char *tools_json;    /* JSON array of OpenAI-style tool definitions, or NULL */
    const char *image_placeholder; /* written where an image goes; NULL = the format's own
                                      (Muse Glimmer <|patch|>, ChatML <|vision_start|><|image_pad|>
                                      <|vision_end|>); runs use EMBER_IMAGE_MARKER */
} ember_render_opts;

/* Renders the chat to the prompt text of `format` ("muse-glimmer", "chatml-think");
 * *prompt is the caller's to free(). */
EMBER_API ember_status ember_chat_render(const ember_chat *chat, const char *format,
                                         const ember_render_opts *opts, char **prompt,
                                         ember_error *err);

typedef enum ember_parse_event {
    EMBER_PARSE_REASONING,   /* text on the reasoning channel */
    EMBER_PARSE_ANSWER,      /* text on the answer channel */
    EMBER_PARSE_TOOL_CALL,   /* a whole tool message: recipient (may be "") and raw body */
    EMBER_PARSE_TURN_END,    /* the model ended its turn */
} ember_parse_event;

typedef void (*ember_parse_fn)(void *user, ember_parse_event kind, const char *text, size_t len,
                               const char *recipient);

typedef struct ember_parser ember_parser;

EMBER_API ember_status ember_parser_create(const char *format, ember_opening opening,
                                           ember_parse_fn on_parse, void *user,
                                           ember_parser **parser, ember_error *err);
/* Feeds generated text in pieces of any size; markers split across pieces are held back. */
EMBER_API void ember_parser_feed(ember_parser *parser, const char *text, size_t len);
/* Flushes held-back text at the end of generation. */
EMBER_API void ember_parser_finish(ember_parser *parser);
EMBER_API ember_channel ember_parser_channel(const ember_parser *parser);
EMBER_API bool ember_parser_turn_ended(const ember_parser *parser);
EMBER_API void ember_parser_destroy(ember_parser *parser);

/* ---------------------------------------------------------------------------------------- */
/* Runs: modes, events, results                                                              */

EMBER_API const char *ember_mode_name(ember_mode mode);
EMBER_API const char *ember_reasoning_name(ember_reasoning reasoning);
/* Parse "instant"/"thinking"/"contemplating" and "low"/…/"xhigh"; false if unknown. */
EMBER_API bool ember_mode_parse(const char *text, ember_mode *mode);
EMBER_API bool ember_reasoning_parse(const char *text, ember_reasoning *reasoning);

typedef struct ember_run_params {
    ember_mode mode;
    ember_reasoning reasoning;   /* strength written into the system block */
    int think_budget;            /* most reasoning tokens before the channel is closed; 0 = none */
    bool budget_cue;             /* before closing, inject a one-line "conclude now" cue */
    int max_tokens;              /* most generated tokens (reasoning + answer); 0 = to context */
    ember_sampling sampling;
    const char *system;          /* system prompt, or NULL for the model's default */
    const char *current_date;    /* "YYYY-MM-DD" for the system block, or NULL for today */
    /* Contemplating */
    int agents;                  /* parallel agents; 0 = 4 */
    bool early_stop;             /* confidence threshold and consensus stopping */
    float keep_fraction;         /* agents scoring below this quantile of finishers stop (0.9) */
    float consensus;             /* stop everyone once the weighted vote share reaches this (0.75) */
    int confidence_window;       /* tokens in the sliding confidence window (0 = 64) */
    const char *agent_grammar;   /* GBNF for every agent's generation, or NULL */
    /* Tools */
    struct ember_tools *tools;   /* built-in/MCP tools the run may call itself, or NULL */
    const char *tools_json;      /* more tool definitions (a JSON array) whose calls end the run
                                    with finish_reason "tool_calls" for the caller to run */
    int max_tool_steps;          /* most generate → tools → continue rounds (0 = 8) */
    double tool_timeout_s;       /* per call (0 = the registry's default) */
    /* Vision */
    bool no_zoom;                /* do not offer the built-in zoom tool (offered in Thinking and
                                    Contemplating when the chat has images and the engine has
                                    vision) */
    struct ember_prefix_cache *prefix_cache; /* keep the prompt's sequence between runs of one
                                    conversation (see ember_prefix_cache_create), or NULL */
} ember_run_params;

EMBER_API void ember_run_params_init(ember_run_params *params);

typedef enum ember_event_type {
    EMBER_EVENT_REASONING_DELTA,  /* text on the reasoning channel */
    EMBER_EVENT_ANSWER_DELTA,     /* text on the answer channel */
    EMBER_EVENT_TOOL_CALL,        /* a complete tool call: name, arguments (JSON) */
    EMBER_EVENT_TOOL_RESULT,      /* a tool's output: name, text */
    EMBER_EVENT_AGENT_STARTED,    /* agent index, approach */
    EMBER_EVENT_AGENT_DELTA,      /* agent index, text, channel */
    EMBER_EVENT_AGENT_FINISHED,   /* agent index, answer, confidence, tokens, stop reason */
    EMBER_EVENT_VOTE,             /* the winning answer and its weighted share */
    EMBER_EVENT_BUDGET_REACHED,   /* the think budget closed the reasoning channel */
    EMBER_EVENT_USAGE,            /* token counts so far */
    EMBER_EVENT_ERROR,            /* a recoverable or final error; text holds the message */
    EMBER_EVENT_DONE,             /* the run ended; nothing follows */
} ember_event_type;

typedef struct ember_usage {
    int prompt_tokens;            /* tokens in the rendered prompt */
    int prompt_tokens_evaluated;  /* prompt tokens actually decoded (forks share, caches hit) */
    int reasoning_tokens;         /* tokens generated on reasoning channels (all agents) */
    int answer_tokens;            /* tokens generated on the answer channel */
    int tokens_saved;             /* Contemplating: tokens early stop avoided (estimated) */
    int kv_cells_peak;            /* most KV cells the run held at once */
    int image_tokens;             /* image embeddings in the prompt and zoomed crops */
    int images_encoded;           /* images the run sent through the encoder (not cached) */
} ember_usage;

typedef struct ember_timings {
    double prefill_tokens_per_s;
    double decode_tokens_per_s;
    double ttft_ms;               /* start of the run to the first answer token */
    double total_ms;
} ember_timings;

typedef struct ember_event {
    ember_event_type type;
    int agent;                    /* agent index in Contemplating, -1 otherwise */
    ember_channel channel;        /* for deltas */
    const char *text;             /* delta text, answer, tool output, error message, approach */
    const char *name;             /* tool name */
    const char *arguments;        /* tool arguments as JSON */
    float confidence;             /* agent score, vote share */
    int tokens;                   /* agent tokens */
    const char *stop_reason;      /* "finished", "low_confidence", "consensus", "cancelled", "budget" */
    const ember_usage *usage;     /* for EMBER_EVENT_USAGE and EMBER_EVENT_DONE */
} ember_event;

/* Called on the engine's scheduler thread (deltas) or the run's thread (tools, done);
 * never concurrently for one run. The event and its strings live only during the call. */
typedef void (*ember_event_fn)(const ember_event *event, void *user);

typedef struct ember_run ember_run;
typedef struct ember_result ember_result;

/* Answers as Contemplating votes on them: the final answer is taken from the text (a \boxed{},
 * "the answer is …", "Answer: …", or the last line), then normalized: case and whitespace
 * folded, surrounding punctuation dropped, numbers canonical (1,000.50 -> 1000.5; a unit after
 * a number dropped), choice letters reduced ("(B)", "option b" -> "b"). free() the result. */
EMBER_API char *ember_answer_normalize(const char *text);

/* A generated tool message → calls. `format` is the chat format, `recipient` the message's
 * recipient (Muse Glimmer's to=NAME, may be "" for ChatML), `body` its raw text (ATEM markup
 * or ChatML's JSON), `tools_json` the offered definitions (NULL = none; string-typed
 * parameters then stay strings). On success *calls_json is a JSON array of
 * {"name", "arguments": {…}}; free() it. EMBER_ERR_FORMAT when the body is not a call. */
/* A lazy grammar that makes every tool call the model starts well-formed for the offered
 * tools (see ember_sampling.grammar_trigger). Runs apply it by themselves when tools are
 * offered and no grammar is given; it is public for remote engines and tests. free() both. */
EMBER_API ember_status ember_tool_grammar(const char *format, const char *tools_json,
                                          char **grammar, char **trigger, ember_error *err);

EMBER_API ember_status ember_tool_calls_parse(const char *format, const char *recipient,
                                              const char *body, const char *tools_json,
                                              char **calls_json, ember_error *err);

/* Answers the chat (whose last message is the user's) and blocks until done. The result is
 * the caller's to destroy; it exists even when the run failed part-way (what was generated
 * is kept), in which case the status says why. */
EMBER_API ember_status ember_run_chat(ember_engine *engine, const ember_chat *chat,
                                      const ember_run_params *params, ember_event_fn on_event,
                                      void *user, ember_result **result, ember_error *err);

/* The same, on a thread of its own; ember_run_wait joins it. */
EMBER_API ember_status ember_run_start(ember_engine *engine, const ember_chat *chat,
                                       const ember_run_params *params, ember_event_fn on_event,
                                       void *user, ember_run **run, ember_error *err);
/* Stops generation of every sequence of the run soon; what was generated is kept. */
EMBER_API void ember_run_cancel(ember_run *run);
EMBER_API ember_status ember_run_wait(ember_run *run, ember_result **result, ember_error *err);
EMBER_API void ember_run_destroy(ember_run *run);

/* A conversation's prompt cache. A run normally frees its sequences when it ends; with a
 * prefix cache (ember_run_params.prefix_cache) it leaves the prompt's sequence in the cache
 * instead, and the next run of the same conversation starts from it: only what follows the
 * common prefix (the new turn) is evaluated, and images in the prefix are neither encoded nor
 * evaluated again. Contemplating's agents fork that sequence. One run uses a cache at a time
 * (a second, concurrent run simply does without). The cache holds KV cells until cleared or
 * destroyed; destroy it before its engine. */
typedef struct ember_prefix_cache ember_prefix_cache;
EMBER_API ember_status ember_prefix_cache_create(ember_engine *engine, ember_prefix_cache **cache,
                                                 ember_error *err);
/* Frees the kept sequence (e.g. when the conversation is cleared). */
EMBER_API void ember_prefix_cache_clear(ember_prefix_cache *cache);
EMBER_API void ember_prefix_cache_destroy(ember_prefix_cache *cache);

/* A box the model drew: see ember_boxes_parse. */
typedef struct ember_box {
    int image;                    /* 0-based index into the conversation's images */
    char label[128];              /* "" when the model gave none */
    double x1, y1, x2, y2;        /* pixels of that image; x1 < x2, y1 < y2, inside it */
    double nx1, ny1, nx2, ny2;    /* the same as fractions of its width and height */
} ember_box;

/* Reads the boxes in model text. Notations: <box>x1,y1,x2,y2</box> with optional attributes
 * label="…" and image="N" (N = 1 is the first image), optionally after <ref>label</ref>;
 * numbers may sit in () or []; and Qwen-VL's JSON {"bbox_2d": [x1,y1,x2,y2], "label": "…"}.
 * Four values within 0..1 are fractions of the image; otherwise pixels, except bbox_2d
 * values when per_mille (Qwen3-VL's 0..1000 grid). Boxes are clamped to their image; empty
 * ones and ones naming a missing image are skipped. *boxes is the caller's to free(). */
EMBER_API ember_status ember_boxes_parse(const char *text, const ember_image *const *images, int n_images,
                                         bool per_mille, ember_box **boxes, size_t *count,
                                         ember_error *err);
/* A copy of the image with the boxes outlined and labelled. */
EMBER_API ember_status ember_image_draw_boxes(const ember_image *image, const ember_box *boxes, size_t n,
                                              ember_image **drawn, ember_error *err);

/* One use of the built-in zoom tool. */
typedef struct ember_zoom {
    int agent;                    /* -1 for the main answer, else the Contemplating agent */
    int image;                    /* 0-based index into the conversation's images */
    double x1, y1, x2, y2;        /* the region in pixels of the original image */
    int tokens;                   /* image tokens the crop took in the context */
    const ember_image *crop;      /* the crop as the model saw it (small ones scaled up);
                                     owned by the result */
} ember_zoom;

EMBER_API void ember_result_destroy(ember_result *result);
EMBER_API const char *ember_result_answer(const ember_result *result);
EMBER_API const char *ember_result_reasoning(const ember_result *result);
EMBER_API ember_mode ember_result_mode(const ember_result *result);
/* "stop", "length", "tool_calls", "cancelled" or "error". */
EMBER_API const char *ember_result_finish_reason(const ember_result *result);
EMBER_API const ember_usage *ember_result_usage(const ember_result *result);
EMBER_API const ember_timings *ember_result_timings(const ember_result *result);
/* The zooms the run made, in order, and the boxes read from the final answer. */
EMBER_API size_t ember_result_zoom_count(const ember_result *result);
EMBER_API const ember_zoom *ember_result_zoom(const ember_result *result, size_t index);
EMBER_API size_t ember_result_box_count(const ember_result *result);
EMBER_API const ember_box *ember_result_box(const ember_result *result, size_t index);
/* The result as JSON (answer, reasoning, mode, usage, timings, and per mode agents, vote,
 * synthesis); the caller frees the string with free(). */
EMBER_API char *ember_result_json(const ember_result *result);

/* ---------------------------------------------------------------------------------------- */
/* Tools (section owned by src/tools/)                                                       */
/* @@tools-api@@ */
/*
 * The tools the model can call, and the registry the agent loop calls them through.
 *
 *   1. An ember_tools registry knows every tool it can offer: the built-ins — calculator,
 *      python (in a bubblewrap sandbox), web_fetch, web_search (only with a search
 *      endpoint) — and the tools of the stdio MCP servers named in its config, as
 *      "SERVER.TOOL". Creating the registry starts those servers (initialize, tools/list).
 *   2. Tools are offered once enabled. Their definitions are a JSON array of OpenAI-style
 *      {"type":"function","function":{"name","description","parameters"}} objects that
 *      the chat layer renders into the prompt.
 *   3. A call names a tool, passes its arguments as JSON text and a time limit, and always
 *      yields an ember_tool_result: an unknown tool, bad arguments, a failure or a timeout
 *      is a result with an error, never a crash. Results serialize to JSON:
 *        {"name", "ok", "output", "error"?, "status"?, "exit_status"?, …tool fields…,
 *         "duration_ms" (whole milliseconds)}
 *      (python adds "stdout", "stderr", "truncated"; web_fetch "url", "final_url",
 *      "http_status", "content_type", "title", "truncated"; web_search "query", "results").
 *
 * Threads: enable before calling; after that any number of ember_tools_call may run at
 * once from any threads (calls to one MCP server take turns). Destroy when no call runs.
 */
typedef struct ember_tools ember_tools;
typedef struct ember_tool_result ember_tool_result;

typedef struct ember_tools_options {
    /* python */
    const char *python_path;        /* interpreter, under /usr; NULL = /usr/bin/python3 */
    int python_cpu_seconds;         /* CPU time per run (RLIMIT_CPU); 0 = 10 */
    size_t python_memory_bytes;     /* address space (RLIMIT_AS); 0 = 1 GiB */
    int python_max_processes;       /* tasks a run may add (RLIMIT_NPROC; as root the sandbox
                                       runs as uid 65534, whose runs share it); 0 = 64 */
    size_t python_output_bytes;     /* stdout and stderr kept, each; the rest is cut; 0 = 64 KiB */
    size_t python_file_bytes;       /* largest file it may write (RLIMIT_FSIZE); 0 = 64 MiB */
    /* web_fetch */
    size_t fetch_max_bytes;         /* body bytes downloaded at most; 0 = 4 MiB */
    int fetch_max_redirects;        /* redirects followed; 0 = 5, negative = none */
    size_t fetch_max_chars;         /* text bytes returned at most; 0 = 100000 */
    bool fetch_allow_loopback;      /* for tests: allow 127/8 and ::1 (nothing else private) */
    const char *user_agent;         /* NULL = "ember/0.1 (+tools)" */
    /* web_search */
    const char *search_url;         /* SearxNG-compatible endpoint, queried as
                                       URL?q=…&format=json; NULL or "" = web_search off */
    int search_max_results;         /* 0 = 8 */
    /* MCP */
    const char *mcp_config_path;    /* {"mcpServers": {…}} file; NULL = no MCP servers */
    double mcp_start_timeout;       /* seconds for a server's start and handshake; 0 = 20 */
    /* calls */
    double default_timeout;         /* seconds for calls that pass timeout 0; 0 = 60 */
} ember_tools_options;

EMBER_API void ember_tools_options_init(ember_tools_options *options);

/* Creates a registry with nothing enabled; options may be NULL for the defaults. Starts the
 * configured MCP servers: fails with EMBER_ERR_NOT_FOUND (no config file, no such command),
 * EMBER_ERR_FORMAT or EMBER_ERR_UNSUPPORTED (a bad config, a non-stdio server) and
 * EMBER_ERR_IO / EMBER_ERR_TIMEOUT when a server does not start; the message names it. */
EMBER_API ember_status ember_tools_create(const ember_tools_options *options,
                                          ember_tools **tools, ember_error *err);
EMBER_API void ember_tools_destroy(ember_tools *tools);

/* Enables a comma-separated list: "calculator", "python", "web_fetch", "web_search",
 * "SERVER.TOOL", "SERVER.*" (all of a server's tools), "mcp" (every MCP tool), "all"
 * (every built-in that is configured, and every MCP tool), "none" (disables everything).
 * All or nothing: an unknown name fails with EMBER_ERR_NOT_FOUND, web_search without an
 * endpoint with EMBER_ERR_UNSUPPORTED, and nothing changes. */
EMBER_API ember_status ember_tools_enable(ember_tools *tools, const char *list, ember_error *err);

/* Enabled tools, in registry order (built-ins, then MCP servers in config order). */
EMBER_API size_t ember_tools_count(const ember_tools *tools);
EMBER_API const char *ember_tools_name(const ember_tools *tools, size_t index);
EMBER_API bool ember_tools_is_enabled(const ember_tools *tools, const char *name);

/* The enabled tools' definitions as a JSON array (see above); caller frees with free(). */
EMBER_API char *ember_tools_definitions_json(const ember_tools *tools);

/* Calls an enabled tool. `arguments` is a JSON object as text (NULL or "" = {});
 * timeout_s <= 0 uses the default. Returns EMBER_OK with a result whenever the call was
 * attempted — check ember_tool_result_status for the tool's own outcome — and fails only
 * for NULL parameters (EMBER_ERR_INVALID) or out of memory. */
EMBER_API ember_status ember_tools_call(ember_tools *tools, const char *name,
                                        const char *arguments, double timeout_s,
                                        ember_tool_result **result, ember_error *err);

/* The tool's outcome: EMBER_OK, or EMBER_ERR_NOT_FOUND (no such tool or not enabled),
 * EMBER_ERR_INVALID (bad arguments, a syntax or domain error, a refused URL),
 * EMBER_ERR_UNSUPPORTED (the tool cannot run here: no sandbox, no search endpoint, binary
 * content), EMBER_ERR_TIMEOUT (time or CPU limit), EMBER_ERR_IO (the tool failed while
 * running: network, HTTP error status, server error, MCP tool error). */
EMBER_API ember_status ember_tool_result_status(const ember_tool_result *result);
EMBER_API const char *ember_tool_result_name(const ember_tool_result *result);
/* The text for the model (python: stdout, then a labeled stderr and notes); never NULL. */
EMBER_API const char *ember_tool_result_output(const ember_tool_result *result);
/* A readable message when the status is not EMBER_OK, else NULL. */
EMBER_API const char *ember_tool_result_error(const ember_tool_result *result);
/* True (and *exit_status set) when the tool ran a process: exit code, or 128 + signal. */
EMBER_API bool ember_tool_result_exit_status(const ember_tool_result *result, int *exit_status);
EMBER_API double ember_tool_result_duration_ms(const ember_tool_result *result);
/* The result as one JSON object (see above); caller frees with free(). */
EMBER_API char *ember_tool_result_json(const ember_tool_result *result);
EMBER_API void ember_tool_result_destroy(ember_tool_result *result);

/* ---------------------------------------------------------------------------------------- */
/* Model store and pull (section owned by src/pull/)                                         */
/* @@pull-api@@ */
/*
 * The model store: GGUF models pulled from the Hugging Face Hub (or a mirror with its API).
 *
 *   1. The store is a directory: $EMBER_MODELS, else $XDG_CACHE_HOME/ember/models, else
 *      ~/.cache/ember/models. A pulled model is one quantization of one repository; its name
 *      is "owner/repo:QUANT" (e.g. "unsloth/Muse-Glimmer-30B-GGUF:Q4_K_M").
 *   2. Files keep their repository paths under repos/<owner>/<repo>/ (a projector shared by
 *      two quantizations is stored once); each model has a JSON manifest under
 *      manifests/<owner>/<repo>/<QUANT>.json with its files, sizes, sha256, pulled_at and
 *      last_used. A manifest is written only after every file was verified.
 *   3. A download lands in "<file>.partial" and takes its final name (rename) only after its
 *      size and sha256 match the Hub's. An interrupted pull resumes from the partial file
 *      with an HTTP Range request when the same pull runs again.
 */

typedef struct ember_store_entry {
    char name[384];          /* "owner/repo:QUANT": what resolve, rm and list use */
    char repo[256];          /* "owner/repo" */
    char quant[64];          /* quantization label from the file name, e.g. "Q4_K_M" */
    char model_path[1024];   /* the model GGUF (the first part of a split model) */
    char mmproj_path[1024];  /* the vision projector GGUF, or empty */
    uint64_t size;           /* bytes of all the model's files, the projector included */
    int n_parts;             /* GGUF parts of the model: 1 unless it is split */
    bool has_vision;         /* a projector was pulled with it */
    bool complete;           /* every file is on disk with its recorded size */
    int64_t pulled_at;       /* Unix seconds */
    int64_t last_used;       /* Unix seconds of the last ember_store_resolve; 0 = never */
} ember_store_entry;

/* The store directory (as described above; it may not exist yet). Fails with
 * EMBER_ERR_NOT_FOUND when neither EMBER_MODELS, XDG_CACHE_HOME nor HOME is set. */
EMBER_API ember_status ember_store_dir(char *dir, size_t size, ember_error *err);

/* Finds a model for `name_or_path`. A path to an existing file is copied to model_path as-is
 * (mmproj_path is then empty). Otherwise the name of a pulled model — "owner/repo:QUANT",
 * "owner/repo" when one quantization of it is pulled, or the short "repo[:QUANT]" when that
 * is unique — gives its model file (the first part of a split GGUF, which llama.cpp loads)
 * and its projector (or ""), and records the use in last_used. Searches the store of
 * ember_store_dir(). Fails with EMBER_ERR_NOT_FOUND (no such file or model, or its files are
 * gone), EMBER_ERR_INVALID (the name matches several models; the message lists them, or a
 * buffer is too small). mmproj_path may be NULL. */
EMBER_API ember_status ember_store_resolve(const char *name_or_path, char *model_path,
                                           size_t model_path_size, char *mmproj_path,
                                           size_t mmproj_path_size, ember_error *err);

/* Every pulled model of the store in `models_dir` (NULL = ember_store_dir()), sorted by name,
 * in an array the caller frees with ember_store_list_free. An absent store is empty. */
EMBER_API ember_status ember_store_list(const char *models_dir, ember_store_entry **entries,
                                        size_t *count, ember_error *err);
EMBER_API void ember_store_list_free(ember_store_entry *entries);

/* Deletes a pulled model (named as for ember_store_resolve): its manifest and the files no
 * other pulled model shares. `removed` (may be NULL) receives what it was. Fails with
 * EMBER_ERR_NOT_FOUND, EMBER_ERR_INVALID (ambiguous name), EMBER_ERR_BUSY (a pull of the same
 * repository is running) or EMBER_ERR_IO. */
EMBER_API ember_status ember_store_remove(const char *models_dir, const char *name,
                                          ember_store_entry *removed, ember_error *err);

typedef enum ember_pull_stage {
    EMBER_PULL_RESOLVING,    /* asking the Hub for the repository's files */
    EMBER_PULL_CHECKING,     /* hashing bytes already on disk (a partial or present file) */
    EMBER_PULL_DOWNLOADING,  /* receiving a file */
    EMBER_PULL_RETRYING,     /* the connection failed; resuming after a pause (message says) */
    EMBER_PULL_VERIFIED,     /* a file matched its sha256 and took its final name */
    EMBER_PULL_DONE,         /* every file is in place and the manifest is written */
} ember_pull_stage;

typedef struct ember_pull_progress {
    ember_pull_stage stage;
    const char *name;        /* "owner/repo:QUANT" once the files are chosen, else the request */
    const char *file;        /* repository path of the current file; NULL before there is one */
    const char *message;     /* for EMBER_PULL_RETRYING: why; else NULL */
    int file_index;          /* 0-based index of the current file */
    int file_count;          /* files this pull needs */
    uint64_t file_bytes;     /* bytes of the current file on disk (or hashed, when checking) */
    uint64_t file_size;      /* its full size */
    uint64_t resumed_from;   /* bytes of it that were already on disk when it started */
    uint64_t total_bytes;    /* bytes of all files on disk */
    uint64_t total_size;     /* bytes of all files */
    double bytes_per_s;      /* recent download speed; 0 when unknown */
} ember_pull_progress;

/* Called on the pulling thread, at most ~10 times a second per file plus once per stage
 * change. The struct and its strings live only during the call. */
typedef void (*ember_pull_progress_fn)(const ember_pull_progress *progress, void *user);

typedef struct ember_pull_params {
    const char *models_dir;     /* store directory; NULL = ember_store_dir() */
    const char *endpoint;       /* Hub URL; NULL = $HF_ENDPOINT, else https://huggingface.co */
    const char *token;          /* access token; NULL = $HF_TOKEN; sent to the endpoint only */
    int retries;                /* automatic resumes after a network failure (0 = none) */
    ember_pull_progress_fn on_progress; /* may be NULL */
    void *user;                 /* passed to on_progress */
    const volatile int *cancel; /* may be NULL; when *cancel becomes nonzero (e.g. from a
                                   SIGINT handler) the pull stops soon with
                                   EMBER_ERR_CANCELLED, keeping partial files to resume */
} ember_pull_params;

EMBER_API void ember_pull_params_init(ember_pull_params *params);

/* Downloads "owner/repo[:QUANT]" into the store: the GGUF of that quantization (QUANT
 * matched case-insensitively against the quantization in the file names; default Q4_K_M if
 * present, else the first GGUF; every part of a split GGUF) and the matching projector, if
 * the repository has one. Checks free disk space first, resumes partial files, verifies every
 * file's sha256, then writes the manifest; files already verified are not downloaded again.
 * `pulled` (may be NULL) receives the model's store entry. Fails with EMBER_ERR_NOT_FOUND
 * (no such repository, or no file for that quantization: the message lists the available
 * ones), EMBER_ERR_INVALID (a malformed name; authentication required or refused: set
 * HF_TOKEN), EMBER_ERR_IO (network failure: run the same pull again to resume; not enough
 * disk space), EMBER_ERR_FORMAT (a checksum mismatch: the file was deleted), EMBER_ERR_BUSY
 * (another pull of the repository runs) or EMBER_ERR_CANCELLED. */
EMBER_API ember_status ember_pull(const char *spec, const ember_pull_params *params,
                                  ember_store_entry *pulled, ember_error *err);

/* ---------------------------------------------------------------------------------------- */
/* Server (section owned by src/server/)                                                     */
/* @@server-api@@ */
/*
 * `ember serve`: an OpenAI-compatible HTTP API over one engine (libmicrohttpd, one thread per
 * connection; src/server/ owns it and uses nothing but this header).
 *
 *   1. Endpoints: POST /v1/chat/completions (one object, or Server-Sent Events when "stream"
 *      is true), GET /v1/models, GET /health, GET /metrics (Prometheus text), and
 *      /v1/conversations[/ID] (GET list or one, POST create, PATCH rename, DELETE) where a web
 *      app keeps its conversations. Errors are OpenAI error objects with 4xx/5xx statuses.
 *   2. All requests share the engine. A run is admitted while fewer than `parallel` run and
 *      its sequences and KV cells (prompt + token limit) fit the engine; up to `queue` more
 *      wait in arrival order, beyond that the answer is 429 with Retry-After. A client that
 *      disconnects has its run cancelled and freed at once.
 *   3. API keys are stored hashed (SHA-256) in the SQLite database `db_path` (WAL), beside the
 *      conversations, which belong to the key that wrote them. With no key configured and a
 *      loopback host, requests need no key; otherwise every request but GET /health needs
 *      "Authorization: Bearer KEY" and gets 401 without a valid one.
 */
typedef struct ember_server ember_server;

typedef struct ember_server_params {
    ember_engine_params engine; /* the model; n_seq_max 0 = parallel + max_agents + 1 */
    const char *host;           /* numeric IPv4 or IPv6 address to listen on; NULL = 127.0.0.1 */
    int port;                   /* TCP port (8080 after init); 0 = any free port */
    int parallel;               /* runs generating at once; 0 = 4 */
    int queue;                  /* requests waiting for a run; 0 = 64, negative = none */
    const char *db_path;        /* SQLite database; NULL = ember_server_default_db() */
    const char *api_keys_file;  /* more keys, one per line ('#' starts a comment); NULL = none */
    const char *model_id;       /* the model's id in the API; NULL = the model file's name */
    size_t max_body_bytes;      /* larger request bodies get 413; 0 = 8 MiB */
    int max_agents;             /* most Contemplating agents a request may ask for; 0 = 8 */
    int default_max_tokens;     /* limit for requests that set none; 0 = the run's share of
                                   the context (n_ctx / parallel, less the prompt) */
    bool log_requests;          /* one line per request on stderr */
    const char *web_dir;        /* static files of the web app, served at / without a key
                                   (index.html for /); NULL = none */
    struct ember_tools *tools;  /* built-in/MCP tools every request may use, run inside the
                                   server (their calls and results stream as ember events);
                                   NULL = none (the default). Not owned. */
} ember_server_params;

EMBER_API void ember_server_params_init(ember_server_params *params);

/* Loads the model, opens the database, reads the key file and starts listening; requests
 * are then served on the server's own threads until ember_server_destroy. Fails with
 * EMBER_ERR_INVALID (bad parameters or host), EMBER_ERR_IO (the address is in use, the
 * database or key file cannot be read) or the engine's own errors. */
EMBER_API ember_status ember_server_create(const ember_server_params *params,
                                           ember_server **server, ember_error *err);
/* The port the server listens on (the one chosen when params.port was 0). */
EMBER_API int ember_server_port(const ember_server *server);
/* Stops listening, cancels every run, waits for the connections to end, unloads the model. */
EMBER_API void ember_server_destroy(ember_server *server);

/* $EMBER_DB, else $XDG_DATA_HOME/ember/ember.db, else ~/.local/share/ember/ember.db.
 * Fails with EMBER_ERR_NOT_FOUND when neither is set, EMBER_ERR_INVALID when too long. */
EMBER_API ember_status ember_server_default_db(char *path, size_t size, ember_error *err);

typedef struct ember_key_info {
    char name[128];        /* unique, given at creation */
    char prefix[16];       /* the key's first characters, to recognize it */
    int64_t created_at;    /* Unix seconds */
    int64_t last_used;     /* Unix seconds of the last authenticated request; 0 = never */
} ember_key_info;

/* Creates a key named `name` (1-127 bytes of [A-Za-z0-9._-]) in the database at db_path
 * (NULL = the default; created with its folder if missing) and writes the key text, which
 * is never stored, into key (at least 64 bytes). Fails with EMBER_ERR_INVALID (a bad or
 * taken name) or EMBER_ERR_IO. */
EMBER_API ember_status ember_keys_add(const char *db_path, const char *name, char *key,
                                      size_t key_size, ember_error *err);
/* Every key, oldest first; free the array with free(). */
EMBER_API ember_status ember_keys_list(const char *db_path, ember_key_info **keys, size_t *count,
                                       ember_error *err);
/* Deletes a key (its conversations go with it). EMBER_ERR_NOT_FOUND when there is none. */
EMBER_API ember_status ember_keys_remove(const char *db_path, const char *name, ember_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_H */
