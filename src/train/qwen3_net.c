/*
 * qwen3_net.c — see qwen3_net.h. Tensor layout follows llama.cpp's qwen3 loader (ggml order,
 * ne0 = input width): token_embd [E, V], attn_q [E, H*D], attn_k/attn_v [E, Hkv*D],
 * attn_output [H*D, E], ffn_gate/up [E, F], ffn_down [F, E], output [E, V]; q/k norms [D].
 *
 * Shapes in the graph: tokens [T*B] → x [E, T, B]; per layer q,k,v [D, H, T, B], attention
 * [T, T, H, B] per head and sequence, causal by diag_mask_inf; logits [V, T*B].
 */
#include "train/qwen3_net.h"

#include <ggml-alloc.h>
#include <ggml-backend.h>
#include <ggml.h>
#include <gguf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MAX_LAYERS 64

typedef struct layer {
    struct ggml_tensor *attn_norm, *wq, *wk, *wv, *wo, *q_norm, *k_norm, *ffn_norm, *gate, *up, *down;
} layer;

struct qwen3_net {
    struct gguf_context *meta;        /* the source file's metadata (no tensor data) */
    struct ggml_context *meta_ctx;
    struct ggml_context *ctx_w;       /* weights, in a backend buffer */
    ggml_backend_buffer_t buf_w;
    struct ggml_context *ctx_compute; /* the static graph's tensors */
    struct ggml_context *ctx_in;      /* tokens and positions: static graphs need them allocated */
    ggml_backend_buffer_t buf_in;
    ggml_backend_t backend;
    ggml_backend_sched_t sched;
    ggml_opt_context_t opt;
    ggml_opt_result_t result;
    struct ggml_tensor *tok_embd, *out_norm, *output, *tokens, *pos, *sel, *logits;
    int n_sel;                        /* rows of logits the loss sees per step */
    int32_t *sel_host;
    layer layers[MAX_LAYERS];
    int n_layer, n_embd, n_head, n_head_kv, head_dim, n_vocab, ctx, batch;
    float eps, freq_base;
    float *label_rows;                /* host staging for the one-hot labels */
};

static uint32_t meta_u32(const struct gguf_context *g, const char *arch, const char *key, uint32_t def) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, key);
    const int64_t id = gguf_find_key(g, name);
    return id < 0 ? def : gguf_get_val_u32(g, id);
}

static float meta_f32(const struct gguf_context *g, const char *arch, const char *key, float def) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, key);
    const int64_t id = gguf_find_key(g, name);
    return id < 0 ? def : gguf_get_val_f32(g, id);
}

/* A parameter tensor shaped like the file's, named like it; NULL if the file lacks it. */
static struct ggml_tensor *param(qwen3_net *n, const char *fmt, int il) {
    char name[GGML_MAX_NAME];
    snprintf(name, sizeof name, fmt, il);
    struct ggml_tensor *src = ggml_get_tensor(n->meta_ctx, name);
    if (!src || src->type != GGML_TYPE_F32) return NULL;
    struct ggml_tensor *t = ggml_dup_tensor(n->ctx_w, src);
    ggml_set_name(t, name);
    ggml_set_param(t);
    return t;
}

static struct ggml_tensor *norm(struct ggml_context *c, struct ggml_tensor *x, struct ggml_tensor *w, float eps) {
    return ggml_mul(c, ggml_rms_norm(c, x, eps), w);
}

static void build_graph(qwen3_net *n) {
    struct ggml_context *c = n->ctx_compute;
    const int T = n->ctx, B = n->batch, E = n->n_embd, D = n->head_dim;
    struct ggml_tensor *x = ggml_reshape_3d(c, ggml_get_rows(c, n->tok_embd, n->tokens), E, T, B);
    for (int il = 0; il < n->n_layer; il++) {
        const layer *L = &n->layers[il];
        struct ggml_tensor *h = norm(c, x, L->attn_norm, n->eps);
        struct ggml_tensor *q = ggml_reshape_4d(c, ggml_mul_mat(c, L->wq, h), D, n->n_head, T, B);
        struct ggml_tensor *k = ggml_reshape_4d(c, ggml_mul_mat(c, L->wk, h), D, n->n_head_kv, T, B);
        struct ggml_tensor *v = ggml_reshape_4d(c, ggml_mul_mat(c, L->wv, h), D, n->n_head_kv, T, B);
        q = ggml_rope_ext(c, norm(c, q, L->q_norm, n->eps), n->pos, NULL, D, GGML_ROPE_TYPE_NEOX, 0, n->freq_base,
                          1.0f, 0.0f, 1.0f, 32.0f, 1.0f);
        k = ggml_rope_ext(c, norm(c, k, L->k_norm, n->eps), n->pos, NULL, D, GGML_ROPE_TYPE_NEOX, 0, n->freq_base,
                          1.0f, 0.0f, 1.0f, 32.0f, 1.0f);
        struct ggml_tensor *qp = ggml_permute(c, q, 0, 2, 1, 3);                 /* [D, T, H, B] */
        struct ggml_tensor *kp = ggml_cont(c, ggml_permute(c, k, 0, 2, 1, 3));   /* [D, T, H, B] */
        struct ggml_tensor *kq = ggml_mul_mat(c, kp, qp);                        /* [Tk, Tq, H, B] */
        kq = ggml_soft_max_ext(c, ggml_diag_mask_inf(c, kq, 0), NULL, 1.0f / sqrtf((float)D), 0.0f);
        struct ggml_tensor *vt = ggml_cont(c, ggml_permute(c, v, 1, 2, 0, 3));   /* [T, D, H, B] */
        struct ggml_tensor *o = ggml_mul_mat(c, vt, kq);                         /* [D, Tq, H, B] */
        o = ggml_cont(c, ggml_permute(c, o, 0, 2, 1, 3));                        /* [D, H, T, B] */
        o = ggml_reshape_3d(c, o, D * n->n_head, T, B);
        x = ggml_add(c, x, ggml_mul_mat(c, L->wo, o));
        h = norm(c, x, L->ffn_norm, n->eps);
        struct ggml_tensor *g = ggml_silu(c, ggml_mul_mat(c, L->gate, h));
        h = ggml_mul(c, g, ggml_mul_mat(c, L->up, h));
        x = ggml_add(c, x, ggml_mul_mat(c, L->down, h));
    }
    x = norm(c, x, n->out_norm, n->eps);
    /* the loss sees only the positions that have targets: ggml's cross-entropy gradient is
     * softmax - label, so an all-zero label row would still push its logits */
    struct ggml_tensor *all = ggml_reshape_2d(c, ggml_mul_mat(c, n->output, x), n->n_vocab, (int64_t)T * B);
    n->logits = ggml_get_rows(c, all, n->sel);
    ggml_set_name(n->logits, "logits");
    ggml_set_output(n->logits);
}

static ember_status load_weights(qwen3_net *n, const char *path, ember_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ember_fail(err, EMBER_ERR_NOT_FOUND, "cannot open %s", path);
    const size_t data_offset = gguf_get_data_offset(n->meta);
    ember_status st = EMBER_OK;
    for (struct ggml_tensor *t = ggml_get_first_tensor(n->ctx_w); t && st == EMBER_OK; t = ggml_get_next_tensor(n->ctx_w, t)) {
        const int64_t id = gguf_find_tensor(n->meta, ggml_get_name(t));
        const size_t size = ggml_nbytes(t);
        void *buf = malloc(size);
        if (!buf || id < 0 || fseek(f, (long)(data_offset + gguf_get_tensor_offset(n->meta, id)), SEEK_SET) != 0 ||
            fread(buf, 1, size, f) != size) {
            st = ember_fail(err, EMBER_ERR_FORMAT, "%s: cannot read tensor %s", path, ggml_get_name(t));
        } else {
            ggml_backend_tensor_set(t, buf, 0, size);
        }
        free(buf);
    }
    fclose(f);
    return st;
}

int qwen3_net_n_vocab(const qwen3_net *net) {
    return net->n_vocab;
}

ember_status qwen3_net_create(const qwen3_net_params *p, qwen3_net **out, ember_error *err) {
    *out = NULL;
    qwen3_net *n = calloc(1, sizeof *n);
    if (!n) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    n->ctx = p->ctx;
    n->batch = p->batch;
    struct gguf_init_params gp = {.no_alloc = true, .ctx = &n->meta_ctx};
    n->meta = gguf_init_from_file(p->path, gp);
    ember_status st = EMBER_OK;
    if (!n->meta) {
        st = ember_fail(err, EMBER_ERR_FORMAT, "%s is not a readable GGUF", p->path);
        goto fail;
    }
    const int64_t arch_id = gguf_find_key(n->meta, "general.architecture");
    const char *arch = arch_id < 0 ? "" : gguf_get_val_str(n->meta, arch_id);
    if (strcmp(arch, "qwen3") != 0) {
        st = ember_fail(err, EMBER_ERR_UNSUPPORTED, "%s: ember trains the qwen3 architecture, not '%s'%s", p->path, arch,
                        strcmp(arch, "muse-glimmer") == 0 ? " (ggml has no backward pass for its sigmoid gate and tanh softcap)" : "");
        goto fail;
    }
    n->n_layer = (int)meta_u32(n->meta, arch, "block_count", 0);
    n->n_embd = (int)meta_u32(n->meta, arch, "embedding_length", 0);
    n->n_head = (int)meta_u32(n->meta, arch, "attention.head_count", 0);
    n->n_head_kv = (int)meta_u32(n->meta, arch, "attention.head_count_kv", (uint32_t)n->n_head);
    n->head_dim = (int)meta_u32(n->meta, arch, "attention.key_length", n->n_head ? (uint32_t)(n->n_embd / n->n_head) : 0);
    n->eps = meta_f32(n->meta, arch, "attention.layer_norm_rms_epsilon", 1e-6f);
    n->freq_base = meta_f32(n->meta, arch, "rope.freq_base", 1e6f);
    if (n->n_layer < 1 || n->n_layer > MAX_LAYERS || n->n_head < 1 || n->head_dim < 2) {
        st = ember_fail(err, EMBER_ERR_FORMAT, "%s: unusable qwen3 sizes", p->path);
        goto fail;
    }
    if (n->n_head_kv != n->n_head) {
        st = ember_fail(err, EMBER_ERR_UNSUPPORTED, "%s: training needs as many key/value heads as query heads "
                        "(%d vs %d)", p->path, n->n_head_kv, n->n_head);
        goto fail;
    }
    struct ggml_init_params wp = {.mem_size = (size_t)(16 + 11 * n->n_layer) * ggml_tensor_overhead(), .no_alloc = true};
    n->ctx_w = ggml_init(wp);
    n->tok_embd = param(n, "token_embd.weight", 0);
    n->out_norm = param(n, "output_norm.weight", 0);
    n->output = param(n, "output.weight", 0);
    bool complete = n->tok_embd && n->out_norm && n->output;
    for (int il = 0; il < n->n_layer && complete; il++) {
        layer *L = &n->layers[il];
        L->attn_norm = param(n, "blk.%d.attn_norm.weight", il);
        L->wq = param(n, "blk.%d.attn_q.weight", il);
        L->wk = param(n, "blk.%d.attn_k.weight", il);
        L->wv = param(n, "blk.%d.attn_v.weight", il);
        L->wo = param(n, "blk.%d.attn_output.weight", il);
        L->q_norm = param(n, "blk.%d.attn_q_norm.weight", il);
        L->k_norm = param(n, "blk.%d.attn_k_norm.weight", il);
        L->ffn_norm = param(n, "blk.%d.ffn_norm.weight", il);
        L->gate = param(n, "blk.%d.ffn_gate.weight", il);
        L->up = param(n, "blk.%d.ffn_up.weight", il);
        L->down = param(n, "blk.%d.ffn_down.weight", il);
        complete = L->attn_norm && L->wq && L->wk && L->wv && L->wo && L->q_norm && L->k_norm && L->ffn_norm &&
                   L->gate && L->up && L->down;
    }
    if (!complete) {
        st = ember_fail(err, EMBER_ERR_UNSUPPORTED,
                        "%s: every weight must be F32 and the output untied (output.weight); "
                        "write one with ember-genmodel --arch qwen3 --untied --type f32", p->path);
        goto fail;
    }
    n->n_vocab = (int)n->tok_embd->ne[1];
    n->backend = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    if (!n->backend) {
        st = ember_fail(err, EMBER_ERR_ENGINE, "no CPU backend");
        goto fail;
    }
    if (p->threads > 0) {
        ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(n->backend));
        ggml_backend_set_n_threads_t set_threads =
            (ggml_backend_set_n_threads_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
        if (set_threads) set_threads(n->backend, p->threads);
    }
    n->buf_w = ggml_backend_alloc_ctx_tensors(n->ctx_w, n->backend);
    if (!n->buf_w) {
        st = ember_fail(err, EMBER_ERR_NOMEM, "cannot allocate the weights");
        goto fail;
    }
    if ((st = load_weights(n, p->path, err)) != EMBER_OK) goto fail;

    /* ggml-opt builds the forward, backward and optimizer graphs and their gradient tensors in
     * this context too: room for several graphs of the default size */
    struct ggml_init_params cp = {.mem_size = (size_t)(1024 + 256 * n->n_layer) * ggml_tensor_overhead() +
                                              4 * ggml_graph_overhead_custom(GGML_DEFAULT_GRAPH_SIZE, true),
                                  .no_alloc = true};
    n->ctx_compute = ggml_init(cp);
    struct ggml_init_params ip = {.mem_size = 4 * ggml_tensor_overhead(), .no_alloc = true};
    n->ctx_in = ggml_init(ip);
    n->tokens = ggml_new_tensor_1d(n->ctx_in, GGML_TYPE_I32, (int64_t)n->ctx * n->batch);
    ggml_set_name(n->tokens, "tokens");
    ggml_set_input(n->tokens);
    n->pos = ggml_new_tensor_1d(n->ctx_in, GGML_TYPE_I32, n->ctx);
    ggml_set_name(n->pos, "pos");
    ggml_set_input(n->pos);
    n->n_sel = n->ctx * n->batch * 4 / 5;
    n->sel = ggml_new_tensor_1d(n->ctx_in, GGML_TYPE_I32, n->n_sel);
    ggml_set_name(n->sel, "sel");
    ggml_set_input(n->sel);
    n->buf_in = ggml_backend_alloc_ctx_tensors(n->ctx_in, n->backend);
    int32_t *positions = n->buf_in ? malloc((size_t)n->ctx * sizeof *positions) : NULL;
    if (!positions) {
        st = ember_fail(err, EMBER_ERR_NOMEM, "cannot allocate the inputs");
        goto fail;
    }
    for (int i = 0; i < n->ctx; i++) positions[i] = i; /* every window starts at 0 */
    ggml_backend_tensor_set(n->pos, positions, 0, (size_t)n->ctx * sizeof *positions);
    free(positions);
    build_graph(n);
    n->sched = ggml_backend_sched_new(&n->backend, NULL, 1, GGML_DEFAULT_GRAPH_SIZE * 4, false, false);
    struct ggml_opt_params op = ggml_opt_default_params(n->sched, GGML_OPT_LOSS_TYPE_CROSS_ENTROPY);
    op.ctx_compute = n->ctx_compute;
    op.inputs = n->tokens;
    op.outputs = n->logits;
    op.opt_period = 1;
    op.get_opt_pars = p->get_opt_pars;
    op.get_opt_pars_ud = p->get_opt_pars_ud;
    op.optimizer = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    n->opt = ggml_opt_init(op);
    n->result = ggml_opt_result_init();
    n->label_rows = calloc((size_t)n->n_vocab * n->n_sel, sizeof *n->label_rows);
    n->sel_host = calloc((size_t)n->n_sel, sizeof *n->sel_host);
    if (!n->opt || !n->result || !n->label_rows || !n->sel_host) {
        st = ember_fail(err, EMBER_ERR_NOMEM, "cannot set up the optimizer");
        goto fail;
    }
    *out = n;
    return EMBER_OK;
fail:
    qwen3_net_destroy(n);
    return st;
}

void qwen3_net_destroy(qwen3_net *n) {
    if (!n) return;
    if (n->result) ggml_opt_result_free(n->result);
    if (n->opt) ggml_opt_free(n->opt);
    if (n->sched) ggml_backend_sched_free(n->sched);
    if (n->ctx_compute) ggml_free(n->ctx_compute);
    if (n->buf_in) ggml_backend_buffer_free(n->buf_in);
    if (n->ctx_in) ggml_free(n->ctx_in);
    if (n->buf_w) ggml_backend_buffer_free(n->buf_w);
    if (n->ctx_w) ggml_free(n->ctx_w);
    if (n->backend) ggml_backend_free(n->backend);
    if (n->meta) gguf_free(n->meta);
    if (n->meta_ctx) ggml_free(n->meta_ctx);
    free(n->label_rows);
    free(n->sel_host);
    free(n);
}

/* Fills the selection: every labelled position round(weight) times (a weight of 4 counts a
 * target four times in the mean loss), then stretched or thinned evenly to the fixed n_sel
 * rows the static graph has. Returns how many distinct positions carry a target. */
static int64_t select_targets(qwen3_net *n, const int32_t *labels, const float *weights, int64_t N) {
    int64_t total = 0, distinct = 0;
    for (int64_t i = 0; i < N; i++) {
        if (labels[i] < 0 || labels[i] >= n->n_vocab) continue;
        const int copies = weights ? (int)lroundf(weights[i]) : 1;
        total += copies > 0 ? copies : 0;
        distinct += copies > 0;
    }
    if (total == 0) return 0;
    /* the k-th selected row takes the floor(k * total / n_sel)-th entry of the expanded list */
    int64_t k = 0, seen = 0;
    for (int64_t i = 0; i < N && k < n->n_sel; i++) {
        if (labels[i] < 0 || labels[i] >= n->n_vocab) continue;
        const int copies = weights ? (int)lroundf(weights[i]) : 1;
        for (int c = 0; c < copies; c++, seen++) {
            while (k < n->n_sel && (k * total) / n->n_sel == seen) n->sel_host[k++] = (int32_t)i;
        }
    }
    while (k < n->n_sel) n->sel_host[k] = n->sel_host[k - 1], k++;
    return distinct;
}

ember_status qwen3_net_step(qwen3_net *n, const int32_t *tokens, const int32_t *labels, const float *weights,
                            double *loss, double *accuracy, ember_error *err) {
    (void)err;
    const int64_t N = (int64_t)n->ctx * n->batch;
    *loss = 0;
    *accuracy = 0;
    if (select_targets(n, labels, weights, N) == 0) return EMBER_OK; /* nothing to learn here */
    ggml_opt_alloc(n->opt, true);
    ggml_backend_tensor_set(ggml_opt_inputs(n->opt), tokens, 0, (size_t)N * sizeof *tokens);
    ggml_backend_tensor_set(n->sel, n->sel_host, 0, (size_t)n->n_sel * sizeof *n->sel_host);
    memset(n->label_rows, 0, (size_t)n->n_sel * n->n_vocab * sizeof *n->label_rows);
    for (int k = 0; k < n->n_sel; k++) n->label_rows[(size_t)k * n->n_vocab + labels[n->sel_host[k]]] = 1.0f;
    ggml_backend_tensor_set(ggml_opt_labels(n->opt), n->label_rows, 0, (size_t)n->n_sel * n->n_vocab * sizeof *n->label_rows);
    ggml_opt_result_reset(n->result);
    ggml_opt_eval(n->opt, n->result);
    double l = 0;
    ggml_opt_result_loss(n->result, &l, NULL);
    *loss = l;
    double acc = 0;
    ggml_opt_result_accuracy(n->result, &acc, NULL);
    *accuracy = acc;
    return EMBER_OK;
}

ember_status qwen3_net_save(const qwen3_net *n, const char *path, int context_length, ember_error *err) {
    struct gguf_context *out = gguf_init_empty();
    if (!out) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    gguf_set_kv(out, n->meta);
    if (context_length > 0) gguf_set_val_u32(out, "qwen3.context_length", (uint32_t)context_length);
    /* host copies of the trained weights, in the source file's tensor order */
    const int64_t n_tensors = gguf_get_n_tensors(n->meta);
    struct ggml_init_params hp = {.mem_size = (size_t)(n_tensors + 1) * ggml_tensor_overhead() + ggml_backend_buffer_get_size(n->buf_w) + 4096,
                                  .no_alloc = false};
    struct ggml_context *host = ggml_init(hp);
    ember_status st = host ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n_tensors && st == EMBER_OK; i++) {
        const char *name = gguf_get_tensor_name(n->meta, i);
        struct ggml_tensor *w = ggml_get_tensor(n->ctx_w, name);
        if (!w) {
            st = ember_fail(err, EMBER_ERR_FORMAT, "tensor %s was not trained", name);
            break;
        }
        struct ggml_tensor *h = ggml_dup_tensor(host, w);
        ggml_set_name(h, name);
        ggml_backend_tensor_get(w, h->data, 0, ggml_nbytes(w));
        gguf_add_tensor(out, h);
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (st == EMBER_OK && (!gguf_write_to_file(out, tmp, false) || rename(tmp, path) != 0))
        st = ember_fail(err, EMBER_ERR_IO, "cannot write %s", path);
    if (host) ggml_free(host);
    gguf_free(out);
    return st;
}
