/* writer.c — one GGUF file being described and then streamed to disk (struct gm_writer).
 *
 * Owns: a gguf_context holding the key/value pairs, and a list of tensor descriptions (name,
 * type, shape, fill rule). Nothing is generated until gm_writer_write(): it creates the tensor
 * metadata in a no_alloc ggml context, writes the GGUF header + KV + tensor infos with
 * gguf_write_to_file_ptr(only_meta), then appends each tensor's data in order, generated and
 * converted (F32 / F16 / ggml_quantize_chunk) in chunks of rows by worker threads, zero-padded
 * to the file's alignment exactly as gguf.h lays it out. Peak memory is two chunk buffers.
 *
 * The file appears atomically: data goes to "<path>.tmp", renamed over <path> on success and
 * removed on failure. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "genmodel.h"
#include "gguf.h"

struct gm_tensor {
    char name[GGML_MAX_NAME];
    enum ggml_type type;
    int n_dims;
    int64_t ne[4];
    enum gm_fill fill;
    float value; /* std for NORMAL, the constant for CONST */
};

struct gm_writer {
    struct gguf_context *gguf; /* key/value pairs */
    char arch[64];             /* prefix for gm_writer_arch_*() */
    struct gm_tensor *tensors;
    int n_tensors;
    int cap_tensors;
    bool failed; /* a key could not be set (out of memory): gm_writer_write refuses */
};

struct gm_writer *gm_writer_new(void) {
    struct gm_writer *w = calloc(1, sizeof(*w));
    if (!w) {
        return NULL;
    }
    w->gguf = gguf_init_empty();
    if (!w->gguf) {
        free(w);
        return NULL;
    }
    return w;
}

void gm_writer_free(struct gm_writer *w) {
    if (!w) {
        return;
    }
    gguf_free(w->gguf);
    free(w->tensors);
    free(w);
}

void gm_writer_set_arch(struct gm_writer *w, const char *arch) {
    snprintf(w->arch, sizeof(w->arch), "%s", arch);
    gguf_set_val_str(w->gguf, "general.architecture", arch);
}

void gm_writer_str(struct gm_writer *w, const char *key, const char *value) {
    gguf_set_val_str(w->gguf, key, value);
}
void gm_writer_u32(struct gm_writer *w, const char *key, uint32_t value) {
    gguf_set_val_u32(w->gguf, key, value);
}
void gm_writer_i32(struct gm_writer *w, const char *key, int32_t value) {
    gguf_set_val_i32(w->gguf, key, value);
}
void gm_writer_f32(struct gm_writer *w, const char *key, float value) {
    gguf_set_val_f32(w->gguf, key, value);
}
void gm_writer_bool(struct gm_writer *w, const char *key, bool value) {
    gguf_set_val_bool(w->gguf, key, value);
}
void gm_writer_arr_i32(struct gm_writer *w, const char *key, const int32_t *v, int n) {
    gguf_set_arr_data(w->gguf, key, GGUF_TYPE_INT32, v, (size_t)n);
}
void gm_writer_arr_f32(struct gm_writer *w, const char *key, const float *v, int n) {
    gguf_set_arr_data(w->gguf, key, GGUF_TYPE_FLOAT32, v, (size_t)n);
}
void gm_writer_arr_bool(struct gm_writer *w, const char *key, const bool *v, int n) {
    /* GGUF stores bools as int8 */
    int8_t *b = malloc((size_t)n + 1);
    if (!b) {
        fprintf(stderr, "genmodel: out of memory writing %s\n", key);
        w->failed = true;
        return;
    }
    for (int i = 0; i < n; i++) {
        b[i] = v[i] ? 1 : 0;
    }
    gguf_set_arr_data(w->gguf, key, GGUF_TYPE_BOOL, b, (size_t)n);
    free(b);
}
void gm_writer_arr_str(struct gm_writer *w, const char *key, const char **v, int n) {
    gguf_set_arr_str(w->gguf, key, v, (size_t)n);
}

static void gm_arch_key(const struct gm_writer *w, char *key, size_t size, const char *suffix) {
    snprintf(key, size, "%s.%s", w->arch, suffix);
}
void gm_writer_arch_u32(struct gm_writer *w, const char *suffix, uint32_t value) {
    char key[256];
    gm_arch_key(w, key, sizeof(key), suffix);
    gguf_set_val_u32(w->gguf, key, value);
}
void gm_writer_arch_f32(struct gm_writer *w, const char *suffix, float value) {
    char key[256];
    gm_arch_key(w, key, sizeof(key), suffix);
    gguf_set_val_f32(w->gguf, key, value);
}

static int gm_writer_vtensor(struct gm_writer *w, enum ggml_type type, int n_dims,
                             const int64_t *ne, enum gm_fill fill, float value, const char *fmt,
                             va_list ap) {
    char name[GGML_MAX_NAME];
    const int len = vsnprintf(name, sizeof(name), fmt, ap);
    if (len < 0 || len >= (int)sizeof(name)) {
        fprintf(stderr, "genmodel: tensor name too long: %s\n", name);
        return -1;
    }
    if (n_dims < 1 || n_dims > 4 || ne[0] % ggml_blck_size(type) != 0) {
        fprintf(stderr, "genmodel: tensor %s: row of %lld does not fit type %s\n", name,
                (long long)ne[0], ggml_type_name(type));
        return -1;
    }
    for (int i = 0; i < w->n_tensors; i++) {
        if (strcmp(w->tensors[i].name, name) == 0) {
            fprintf(stderr, "genmodel: duplicate tensor %s\n", name);
            return -1;
        }
    }
    if (w->n_tensors == w->cap_tensors) {
        const int cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        struct gm_tensor *t = realloc(w->tensors, (size_t)cap * sizeof(*t));
        if (!t) {
            fprintf(stderr, "genmodel: out of memory\n");
            return -1;
        }
        w->tensors = t;
        w->cap_tensors = cap;
    }
    struct gm_tensor *t = &w->tensors[w->n_tensors++];
    memcpy(t->name, name, sizeof(name));
    t->type = type;
    t->n_dims = n_dims;
    for (int i = 0; i < 4; i++) {
        t->ne[i] = i < n_dims ? ne[i] : 1;
    }
    t->fill = fill;
    t->value = value;
    return 0;
}

int gm_writer_tensor(struct gm_writer *w, enum ggml_type type, int n_dims, const int64_t *ne,
                     enum gm_fill fill, float value, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const int rc = gm_writer_vtensor(w, type, n_dims, ne, fill, value, fmt, ap);
    va_end(ap);
    return rc;
}

int gm_writer_norm(struct gm_writer *w, int64_t n, float value, const char *fmt, ...) {
    const int64_t ne[1] = {n};
    va_list ap;
    va_start(ap, fmt);
    const int rc = gm_writer_vtensor(w, GGML_TYPE_F32, 1, ne, GM_FILL_CONST, value, fmt, ap);
    va_end(ap);
    return rc;
}

int gm_writer_matrix(struct gm_writer *w, enum ggml_type type, int64_t ne0, int64_t ne1,
                     const char *fmt, ...) {
    const int64_t ne[2] = {ne0, ne1};
    if (ne0 % ggml_blck_size(type) != 0) {
        type = GGML_TYPE_F16; /* as llama-quantize does for rows that do not fit the block */
    }
    va_list ap;
    va_start(ap, fmt);
    const int rc =
        gm_writer_vtensor(w, type, 2, ne, GM_FILL_NORMAL, GM_WEIGHT_STD, fmt, ap);
    va_end(ap);
    return rc;
}

int64_t gm_writer_n_params(const struct gm_writer *w) {
    int64_t n = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        const struct gm_tensor *t = &w->tensors[i];
        n += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    }
    return n;
}

/* --- streaming the data --- */

/* One worker's share of a chunk: rows [row0, row1) of the tensor, relative to `chunk_row0`. */
struct gm_job {
    const struct gm_tensor *t;
    uint64_t stream;     /* the tensor's random stream */
    int64_t chunk_row0;  /* first row of the chunk within the tensor */
    int64_t row0, row1;  /* rows of this job, relative to the chunk */
    float *src;          /* chunk's f32 buffer */
    char *dst;           /* chunk's converted buffer */
};

static void *gm_job_run(void *arg) {
    const struct gm_job *j = arg;
    const struct gm_tensor *t = j->t;
    const int64_t n_per_row = t->ne[0];
    const int64_t n_rows = j->row1 - j->row0;
    if (n_rows <= 0) {
        return NULL;
    }
    float *src = j->src + j->row0 * n_per_row;
    const int64_t n = n_rows * n_per_row;
    if (t->fill == GM_FILL_NORMAL) {
        const uint64_t first = (uint64_t)((j->chunk_row0 + j->row0) * n_per_row);
        gm_rng_normal(src, n, j->stream, first, t->value);
    } else {
        for (int64_t k = 0; k < n; k++) {
            src[k] = t->value;
        }
    }
    const size_t row_size = ggml_row_size(t->type, n_per_row);
    char *dst = j->dst + (size_t)j->row0 * row_size;
    switch (t->type) {
    case GGML_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        break;
    case GGML_TYPE_F16:
        ggml_fp32_to_fp16_row(src, (ggml_fp16_t *)dst, n);
        break;
    default:
        ggml_quantize_chunk(t->type, src, dst, 0, n_rows, n_per_row, NULL);
        break;
    }
    return NULL;
}

#define GM_MAX_THREADS 64
#define GM_CHUNK_ELEMS (1 << 21) /* f32 elements per chunk: 8 MiB */

static int gm_write_tensor_data(FILE *f, const struct gm_tensor *t, uint64_t seed, int n_threads,
                                float *src, char *dst, size_t alignment) {
    const int64_t n_per_row = t->ne[0];
    const int64_t n_rows = t->ne[1] * t->ne[2] * t->ne[3];
    const size_t row_size = ggml_row_size(t->type, n_per_row);
    int64_t rows_per_chunk = GM_CHUNK_ELEMS / n_per_row;
    if (rows_per_chunk < 1) {
        rows_per_chunk = 1;
    }
    const uint64_t stream = gm_rng_stream(seed, t->name);
    for (int64_t r = 0; r < n_rows; r += rows_per_chunk) {
        const int64_t rows = n_rows - r < rows_per_chunk ? n_rows - r : rows_per_chunk;
        int nt = n_threads;
        if (rows * n_per_row < (1 << 16) || rows < nt) {
            nt = 1; /* not worth a thread */
        }
        struct gm_job jobs[GM_MAX_THREADS];
        pthread_t tids[GM_MAX_THREADS];
        for (int i = 0; i < nt; i++) {
            jobs[i] = (struct gm_job){t, stream, r, rows * i / nt, rows * (i + 1) / nt, src, dst};
        }
        int started = 0;
        for (int i = 1; i < nt; i++) {
            if (pthread_create(&tids[i], NULL, gm_job_run, &jobs[i]) != 0) {
                break;
            }
            started = i;
        }
        gm_job_run(&jobs[0]);
        for (int i = started + 1; i < nt; i++) {
            gm_job_run(&jobs[i]); /* thread creation failed: do the rest here */
        }
        for (int i = 1; i <= started; i++) {
            pthread_join(tids[i], NULL);
        }
        const size_t bytes = (size_t)rows * row_size;
        if (fwrite(dst, 1, bytes, f) != bytes) {
            return -1;
        }
    }
    static const char zeros[256];
    const size_t nbytes = (size_t)n_rows * row_size;
    size_t pad = (alignment - nbytes % alignment) % alignment;
    while (pad > 0) {
        const size_t k = pad < sizeof(zeros) ? pad : sizeof(zeros);
        if (fwrite(zeros, 1, k, f) != k) {
            return -1;
        }
        pad -= k;
    }
    return 0;
}

int gm_writer_write(struct gm_writer *w, const char *path, uint64_t seed, int n_threads) {
    if (w->failed) {
        return -1;
    }
    if (n_threads <= 0) {
        const long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (n_threads > GM_MAX_THREADS) {
        n_threads = GM_MAX_THREADS;
    }

    /* tensor infos go into the gguf context through ggml tensors without data */
    struct ggml_init_params params = {
        .mem_size = (size_t)(w->n_tensors + 1) * ggml_tensor_overhead(),
        .mem_buffer = NULL,
        .no_alloc = true,
    };
    struct ggml_context *meta = ggml_init(params);
    if (!meta) {
        fprintf(stderr, "genmodel: ggml_init failed\n");
        return -1;
    }
    int64_t max_row_elems = 1;
    size_t max_row_bytes = 1;
    for (int i = 0; i < w->n_tensors; i++) {
        const struct gm_tensor *t = &w->tensors[i];
        struct ggml_tensor *g = ggml_new_tensor(meta, t->type, t->n_dims, t->ne);
        ggml_set_name(g, t->name);
        gguf_add_tensor(w->gguf, g);
        if (t->ne[0] > max_row_elems) {
            max_row_elems = t->ne[0];
        }
        const size_t rs = ggml_row_size(t->type, t->ne[0]);
        if (rs > max_row_bytes) {
            max_row_bytes = rs;
        }
    }
    ggml_free(meta);

    /* chunk buffers: at least one row of the widest tensor */
    const int64_t chunk_elems = max_row_elems > GM_CHUNK_ELEMS ? max_row_elems : GM_CHUNK_ELEMS;
    /* no converted row is larger than its f32 source; one extra row covers rounding */
    const size_t chunk_bytes = (size_t)chunk_elems * sizeof(float) + max_row_bytes;
    float *src = malloc((size_t)chunk_elems * sizeof(float));
    char *dst = malloc(chunk_bytes);

    const size_t tmp_len = strlen(path) + 5;
    char *tmp = malloc(tmp_len);
    FILE *f = NULL;
    int rc = -1;
    if (!src || !dst || !tmp) {
        fprintf(stderr, "genmodel: out of memory\n");
        goto done;
    }
    snprintf(tmp, tmp_len, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "genmodel: cannot create %s: %s\n", tmp, strerror(errno));
        goto done;
    }
    if (!gguf_write_to_file_ptr(w->gguf, f, /*only_meta=*/true)) {
        fprintf(stderr, "genmodel: writing metadata of %s failed\n", tmp);
        goto done;
    }
    const size_t alignment = gguf_get_alignment(w->gguf);
    for (int i = 0; i < w->n_tensors; i++) {
        if (gm_write_tensor_data(f, &w->tensors[i], seed, n_threads, src, dst, alignment) != 0) {
            fprintf(stderr, "genmodel: writing %s failed: %s\n", tmp, strerror(errno));
            goto done;
        }
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "genmodel: closing %s failed: %s\n", tmp, strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "genmodel: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (f) {
        fclose(f);
    }
    if (rc != 0 && tmp) {
        remove(tmp);
    }
    free(tmp);
    free(src);
    free(dst);
    return rc;
}
