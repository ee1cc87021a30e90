/*
 * qwen3_net.h — a qwen3 model as a ggml training graph (internal to src/train).
 *
 * Why ember builds the graph itself: llama_opt_epoch trains through llama.cpp's inference
 * graph, which writes keys and values into the KV cache with ggml_set_rows — an op with no
 * backward pass — so attn_k and attn_v never receive a gradient (measured: after 438 steps
 * their weights had moved 4e-5 on average, attn_q 0.19), and token_embd is excluded by
 * llama_opt_init. Here the same computation (RMSNorm, q/k norms, NEOX RoPE, causal softmax
 * attention, SwiGLU, untied output) is written straight from the weights, every matrix and
 * norm is a parameter, and labels are dense one-hot rows so a zero row masks a position.
 * The optimizer is the one libllama uses: ggml-opt's AdamW, with static graphs.
 *
 * The weights are read from and written to GGUF files whose metadata (architecture,
 * tokenizer, chat template) is carried over unchanged, so llama.cpp runs the result.
 */
#ifndef EMBER_TRAIN_QWEN3_NET_H
#define EMBER_TRAIN_QWEN3_NET_H

#include <ggml-opt.h>
#include <stdint.h>

#include "ember.h"

typedef struct qwen3_net qwen3_net;

typedef struct qwen3_net_params {
    const char *path;       /* F32 qwen3 GGUF (untied output) */
    int ctx;                /* tokens per sequence */
    int batch;              /* sequences per optimizer step */
    int threads;
    ggml_opt_get_optimizer_params get_opt_pars;
    void *get_opt_pars_ud;
} qwen3_net_params;

ember_status qwen3_net_create(const qwen3_net_params *p, qwen3_net **net, ember_error *err);
void qwen3_net_destroy(qwen3_net *net);
int qwen3_net_n_vocab(const qwen3_net *net);
/* One optimizer step on batch*ctx tokens; labels[i] is the target of position i, or -1 for
 * none, weights[i] its loss weight (the label row's value). Reports the step's loss (mean over all positions, masked ones count 0) and the
 * accuracy over the labelled positions. */
ember_status qwen3_net_step(qwen3_net *net, const int32_t *tokens, const int32_t *labels, const float *weights,
                            double *loss,
                            double *accuracy, ember_error *err);
/* Writes the current weights with the source file's metadata; context_length > 0 replaces the
 * file's qwen3.context_length (the KV cells an engine gives all its sequences by default). */
ember_status qwen3_net_save(const qwen3_net *net, const char *path, int context_length, ember_error *err);

#endif
