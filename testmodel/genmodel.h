/* genmodel.h — the shared vocabulary of ember-genmodel, the generator of tiny random-weight GGUF
 * models of real architectures (muse-glimmer, qwen3, qwen3vl) and their vision projectors.
 *
 * Data flows one way: main.c parses the command line into a struct gm_opts; an architecture file
 * (arch_*.c, mmproj_*.c) describes one GGUF — its key/value pairs and its tensors, each with a
 * fill rule — into a struct gm_writer (writer.c); the writer streams the file to disk, generating
 * and quantizing the weights row by row, so even a 0.5B-parameter model never sits in memory.
 * verify.c loads the result back through llama.cpp (llama.h, mtmd.h) and checks it.
 *
 * Every function that can fail prints one line saying why on stderr and returns non-zero (or
 * NULL / -1 where it returns a value); nothing here calls exit() except main.c.
 * Single-threaded API; the writer spreads weight generation over worker threads internally. */
#ifndef EMBER_GENMODEL_H
#define EMBER_GENMODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "ggml.h"

/* The text architectures the generator knows. */
enum gm_arch {
    GM_ARCH_GLIMMER, /* "muse-glimmer": ATEM format, gated attention, SWA/global layers */
    GM_ARCH_QWEN3,   /* "qwen3": ChatML with <think>, text only, tied embeddings */
    GM_ARCH_QWEN3VL, /* "qwen3vl": Qwen3-VL text half (IMROPE, deepstack), pairs with qwen3vl_merger */
};

/* Everything the command line can set. Zero in a size field means "use the default". */
struct gm_opts {
    enum gm_arch arch;
    int n_embd;           /* hidden size */
    int n_layer;          /* transformer blocks */
    int n_head;           /* query heads */
    int n_head_kv;        /* key/value heads (GQA) */
    int head_dim;         /* per-head size; 0 = n_embd / n_head */
    int n_ff;             /* feed-forward hidden size */
    int n_ctx;            /* trained context length written to the file */
    int n_vocab;          /* total vocabulary size: 256 bytes + merges + special tokens */
    int n_swa;            /* sliding-window size (muse-glimmer) */
    enum ggml_type type;  /* type of 2-D weight matrices: F32, F16 or Q8_0; norms stay F32 */
    uint64_t seed;        /* same seed and options -> byte-identical files */
    const char *out;      /* text model path */
    const char *mmproj;   /* projector path, or NULL */
    const char *name;     /* general.name, or NULL for a default */
    int v_embd;           /* vision: hidden size */
    int v_layer;          /* vision: blocks */
    int v_head;           /* vision: heads (head size must be a multiple of 4 for 2-D RoPE) */
    int v_ff;             /* vision: feed-forward size */
    int v_patch;          /* vision: patch side in pixels */
    int v_grid;           /* vision: position-embedding grid side (nominal image = grid*patch*2) */
    int n_threads;        /* worker threads for weight generation; 0 = online CPUs */
    bool untied;          /* qwen3: write output.weight instead of tying it to token_embd */
    float rope_base;      /* qwen3: RoPE frequency base; 0 = Qwen3's 1e6 */
};

/* Name of an architecture as written in general.architecture. */
const char *gm_arch_name(enum gm_arch arch);

/* --- rng.c: counter-based random numbers (value i of a stream depends only on seed and i) --- */

/* A stream seed for one tensor: mixes the file seed with the tensor's name. */
uint64_t gm_rng_stream(uint64_t seed, const char *name);

/* Fills dst[0..n) with approximately normal values of mean 0 and standard deviation std:
 * dst[k] is element (first + k) of the stream. */
void gm_rng_normal(float *dst, int64_t n, uint64_t stream, uint64_t first, float std);

/* --- writer.c: one GGUF file being described, then streamed to disk --- */

struct gm_writer;

/* How a tensor's values are generated. */
enum gm_fill {
    GM_FILL_NORMAL, /* normal(0, value) from the tensor's own stream */
    GM_FILL_CONST,  /* every element = value (norm weights: 1) */
};

/* Creates an empty description; NULL on out-of-memory. */
struct gm_writer *gm_writer_new(void);
void gm_writer_free(struct gm_writer *w);

/* Sets general.architecture and the prefix used by gm_writer_arch_*(). */
void gm_writer_set_arch(struct gm_writer *w, const char *arch);

/* Key/value pairs. `key` is used as is; the arch_* forms prepend "<arch>.". */
void gm_writer_str(struct gm_writer *w, const char *key, const char *value);
void gm_writer_u32(struct gm_writer *w, const char *key, uint32_t value);
void gm_writer_i32(struct gm_writer *w, const char *key, int32_t value);
void gm_writer_f32(struct gm_writer *w, const char *key, float value);
void gm_writer_bool(struct gm_writer *w, const char *key, bool value);
void gm_writer_arr_i32(struct gm_writer *w, const char *key, const int32_t *v, int n);
void gm_writer_arr_f32(struct gm_writer *w, const char *key, const float *v, int n);
void gm_writer_arr_bool(struct gm_writer *w, const char *key, const bool *v, int n);
void gm_writer_arr_str(struct gm_writer *w, const char *key, const char **v, int n);
void gm_writer_arch_u32(struct gm_writer *w, const char *suffix, uint32_t value);
void gm_writer_arch_f32(struct gm_writer *w, const char *suffix, float value);

/* Adds a tensor of up to 4 dimensions (ggml order: ne[0] is the contiguous row). `fmt` is a
 * printf format for the name. Returns 0, or -1 if the name is too long, duplicated or the row
 * length does not fit the type's block size. */
int gm_writer_tensor(struct gm_writer *w, enum ggml_type type, int n_dims, const int64_t *ne,
                     enum gm_fill fill, float value, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Shorthands: a 1-D F32 constant (norm weight, bias) and a 2-D random weight matrix whose type
 * falls back to F16 when ne0 does not fit the requested quantization block. */
int gm_writer_norm(struct gm_writer *w, int64_t n, float value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int gm_writer_matrix(struct gm_writer *w, enum ggml_type type, int64_t ne0, int64_t ne1,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Number of elements over all tensors added so far. */
int64_t gm_writer_n_params(const struct gm_writer *w);


/* Writes the file: metadata first, then every tensor generated from `seed`. Writes to
 * "<path>.tmp" and renames it over `path` on success, so a reader never sees half a file.
 * Returns 0 or -1. */
int gm_writer_write(struct gm_writer *w, const char *path, uint64_t seed, int n_threads);

/* Weight standard deviation used for every random matrix. */
#define GM_WEIGHT_STD 0.02f

/* --- vocab.c: a byte-level BPE vocabulary (GPT-2 byte mapping + systematic merges) --- */

/* A special token appended after the byte and merge tokens. */
struct gm_special {
    const char *text;
    int32_t type; /* LLAMA_TOKEN_TYPE_CONTROL (3) or LLAMA_TOKEN_TYPE_USER_DEFINED (4) */
};

/* Writes tokenizer.ggml.{model=gpt2, pre, tokens, scores, token_type, merges} for a vocabulary
 * of exactly n_vocab tokens: ids 0..255 are the bytes, then merges, then the specials in order.
 * Returns the id of specials[0] (special i has that id + i), or -1 if n_vocab cannot hold them. */
int gm_vocab_write(struct gm_writer *w, const char *pre, int n_vocab,
                   const struct gm_special *specials, int n_specials);

/* --- architecture builders: describe one GGUF into an empty writer; 0 or -1 --- */

/* Deepstack layers of the qwen3vl pair: the text model's n_deepstack_layers and the number of
 * vision blocks carrying v.deepstack.N.* tensors must agree (mtmd checks n_embd_inp). */
#define GM_QWEN3VL_DEEPSTACK 1

int gm_build_glimmer(const struct gm_opts *o, struct gm_writer *w);
int gm_build_qwen3(const struct gm_opts *o, struct gm_writer *w);
int gm_build_mmproj_glimmer(const struct gm_opts *o, struct gm_writer *w);
int gm_build_mmproj_qwen3vl(const struct gm_opts *o, struct gm_writer *w);

/* general.file_type for a weight type (LLAMA_FTYPE_*). */
uint32_t gm_file_type(enum ggml_type type);

/* --- mmproj_common.c: what every clip projector file carries --- */

/* Writes general.* and the clip.vision.* keys shared by all projectors: sizes from `o`,
 * projection_dim = the text model's n_embd. */
void gm_mmproj_keys(const struct gm_opts *o, struct gm_writer *w, const char *projector,
                    int image_size, float eps);

/* Type of vision weight matrices: F32 if the text model is F32, else F16 (as mmproj files
 * usually are). */
enum ggml_type gm_mmproj_type(const struct gm_opts *o);

/* --- verify.c: load through llama.cpp and check; 0 if every check passed, 1 otherwise --- */

int gm_verify(const char *model_path, const char *mmproj_path, int n_threads, bool verbose);

#endif
