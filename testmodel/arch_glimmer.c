/* arch_glimmer.c — describes a random-weight "muse-glimmer" text model: the keys and tensors that
 * pinned llama.cpp's src/models/muse-glimmer.cpp reads (see docs/notes/test-models.md), plus
 * its byte-level BPE vocabulary with the Muse Glimmer special tokens.
 *
 * Layer kinds: sliding-window layers use RoPE, global layers use no positional encoding. The
 * pattern written is "every 4th layer global" (llama.cpp's default for this arch) and, so that a
 * tiny model has both kinds, the last layer is always global. */
#include <stdio.h>
#include <stdlib.h>

#include "genmodel.h"

#define GM_CONTROL 3      /* LLAMA_TOKEN_TYPE_CONTROL */
#define GM_USER_DEFINED 4 /* LLAMA_TOKEN_TYPE_USER_DEFINED */

/* Order matters: the ids (first special + index) are written as bos/eos/eot below. */
static const struct gm_special gm_glimmer_specials[] = {
    {"<|begin_of_text|>", GM_CONTROL},          /* 0: BOS */
    {"<|end_of_text|>", GM_CONTROL},            /* 1: EOS (end of generation) */
    {"<|eot|>", GM_CONTROL},                    /* 2: EOT: ends a turn (end of generation) */
    {"<|start|>", GM_CONTROL},                  /* llama.cpp forces USER_DEFINED itself */
    {"<|message|>", GM_CONTROL},                /* llama.cpp forces USER_DEFINED itself */
    {"<|eom|>", GM_CONTROL},                    /* ends a message, NOT end of generation */
    {"<|patch|>", GM_CONTROL},                  /* image placeholder in the prompt format */
    {"<|video|>", GM_CONTROL},
    {"<|image_start|>", GM_CONTROL},            /* mtmd wraps image embeddings in these two */
    {"<|image_end|>", GM_CONTROL},
    {"<atem:function_calls>", GM_USER_DEFINED}, /* ATEM tool-call markup: visible text */
    {"<atem:invoke", GM_USER_DEFINED},
    {"<atem:parameter", GM_USER_DEFINED},
    {"</atem:parameter>", GM_USER_DEFINED},
    {"</atem:invoke>", GM_USER_DEFINED},
    {"</atem:function_calls>", GM_USER_DEFINED},
};

int gm_build_glimmer(const struct gm_opts *o, struct gm_writer *w) {
    const int hd = o->head_dim;
    const int n_q = hd * o->n_head;     /* query / gate / attention-output width */
    const int n_kv = hd * o->n_head_kv; /* key / value width */
    const int n_specials = (int)(sizeof(gm_glimmer_specials) / sizeof(gm_glimmer_specials[0]));

    gm_writer_set_arch(w, "muse-glimmer");
    gm_writer_str(w, "general.type", "model");
    gm_writer_str(w, "general.name", o->name ? o->name : "Muse Glimmer tiny (random weights)");
    gm_writer_u32(w, "general.file_type", gm_file_type(o->type));
    gm_writer_u32(w, "general.quantization_version", 2);

    gm_writer_arch_u32(w, "context_length", (uint32_t)o->n_ctx);
    gm_writer_arch_u32(w, "embedding_length", (uint32_t)o->n_embd);
    gm_writer_arch_u32(w, "block_count", (uint32_t)o->n_layer);
    gm_writer_arch_u32(w, "feed_forward_length", (uint32_t)o->n_ff);
    gm_writer_arch_u32(w, "attention.head_count", (uint32_t)o->n_head);
    gm_writer_arch_u32(w, "attention.head_count_kv", (uint32_t)o->n_head_kv);
    gm_writer_arch_u32(w, "attention.key_length", (uint32_t)hd);
    gm_writer_arch_u32(w, "attention.value_length", (uint32_t)hd);
    gm_writer_arch_f32(w, "attention.layer_norm_rms_epsilon", 1e-5f);
    gm_writer_arch_u32(w, "attention.sliding_window", (uint32_t)o->n_swa);
    gm_writer_arch_f32(w, "rope.freq_base", 500000.0f);
    gm_writer_arch_f32(w, "rope.freq_base_swa", 10000.0f);
    gm_writer_arch_f32(w, "logit_scale", 1.0f);
    gm_writer_arch_f32(w, "final_logit_softcapping", 30.0f);

    bool *swa = malloc((size_t)o->n_layer * sizeof(bool));
    if (!swa) {
        fprintf(stderr, "genmodel: out of memory\n");
        return -1;
    }
    for (int i = 0; i < o->n_layer; i++) {
        swa[i] = (i % 4 != 3) && (i != o->n_layer - 1); /* true = sliding window + RoPE */
    }
    gm_writer_arr_bool(w, "muse-glimmer.attention.sliding_window_pattern", swa, o->n_layer);
    free(swa);

    const int first = gm_vocab_write(w, "llama-bpe", o->n_vocab, gm_glimmer_specials, n_specials);
    if (first < 0) {
        return -1;
    }
    gm_writer_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)first + 0);
    gm_writer_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)first + 1);
    gm_writer_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)first + 2);
    gm_writer_bool(w, "tokenizer.ggml.add_bos_token", true);
    gm_writer_bool(w, "tokenizer.ggml.add_eos_token", false);

    int rc = 0;
    rc |= gm_writer_matrix(w, o->type, o->n_embd, o->n_vocab, "token_embd.weight");
    rc |= gm_writer_norm(w, o->n_embd, 1.0f, "output_norm.weight");
    rc |= gm_writer_matrix(w, o->type, o->n_embd, o->n_vocab, "output.weight");
    for (int i = 0; i < o->n_layer && rc == 0; i++) {
        rc |= gm_writer_norm(w, o->n_embd, 1.0f, "blk.%d.attn_norm.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, n_q, "blk.%d.attn_q.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, n_kv, "blk.%d.attn_k.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, n_kv, "blk.%d.attn_v.weight", i);
        rc |= gm_writer_norm(w, hd, 1.0f, "blk.%d.attn_q_norm.weight", i);
        rc |= gm_writer_norm(w, hd, 1.0f, "blk.%d.attn_k_norm.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, n_q, "blk.%d.attn_gate.weight", i);
        rc |= gm_writer_matrix(w, o->type, n_q, o->n_embd, "blk.%d.attn_output.weight", i);
        rc |= gm_writer_norm(w, o->n_embd, 1.0f, "blk.%d.post_attention_norm.weight", i);
        rc |= gm_writer_norm(w, o->n_embd, 1.0f, "blk.%d.ffn_norm.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, o->n_ff, "blk.%d.ffn_gate.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, o->n_ff, "blk.%d.ffn_up.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_ff, o->n_embd, "blk.%d.ffn_down.weight", i);
        rc |= gm_writer_norm(w, o->n_embd, 1.0f, "blk.%d.post_ffw_norm.weight", i);
    }
    return rc ? -1 : 0;
}
