/* arch_qwen3.c — describes a random-weight Qwen3 text model: "qwen3" (text only) or "qwen3vl"
 * (the text half of Qwen3-VL: interleaved M-RoPE sections and deepstack input, to pair with a
 * qwen3vl_merger projector). Tensors follow pinned llama.cpp's src/models/qwen3.cpp and
 * qwen3vl.cpp; embeddings are tied (no output.weight) as in the small Qwen3 checkpoints.
 *
 * The vocabulary is byte-level BPE with pre-tokenizer "qwen2" and the ChatML / think / tool /
 * vision specials; the chat template below is ember's own short ChatML-with-<think>, there so
 * that format detection sees <|im_start|> and <think>. */
#include <stdio.h>

#include "genmodel.h"

#define GM_CONTROL 3      /* LLAMA_TOKEN_TYPE_CONTROL */
#define GM_USER_DEFINED 4 /* LLAMA_TOKEN_TYPE_USER_DEFINED */

/* Order matters: ids (first special + index) are written as bos/eos/eot/pad below. */
static const struct gm_special gm_qwen3_specials[] = {
    {"<|endoftext|>", GM_CONTROL},   /* 0: BOS id and padding (end of generation) */
    {"<|im_start|>", GM_CONTROL},    /* 1 */
    {"<|im_end|>", GM_CONTROL},      /* 2: EOS and EOT (end of generation) */
    {"<|vision_start|>", GM_CONTROL}, /* mtmd wraps image embeddings in vision_start/end */
    {"<|vision_end|>", GM_CONTROL},
    {"<|image_pad|>", GM_CONTROL},
    {"<|video_pad|>", GM_CONTROL},
    {"<tool_call>", GM_USER_DEFINED}, /* Qwen3 marks these four non-special: visible text */
    {"</tool_call>", GM_USER_DEFINED},
    {"<think>", GM_USER_DEFINED},
    {"</think>", GM_USER_DEFINED},
    {"<tool_response>", GM_USER_DEFINED},
    {"</tool_response>", GM_USER_DEFINED},
};

static const char gm_qwen3_template[] =
    "{%- if tools -%}"
    "{{- '<|im_start|>system\\n' -}}"
    "{%- if messages[0].role == 'system' -%}{{- messages[0].content + '\\n\\n' -}}{%- endif -%}"
    "{{- '# Tools\\n\\n<tools>' -}}"
    "{%- for tool in tools -%}{{- '\\n' + (tool | tojson) -}}{%- endfor -%}"
    "{{- '\\n</tools>\\n\\nCall a tool with <tool_call>\\n{\"name\": <name>, \"arguments\": "
    "<args>}\\n</tool_call><|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if message.role == 'system' and tools -%}"
    "{%- elif message.role == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if message.reasoning_content -%}"
    "{{- '<think>\\n' + message.reasoning_content + '\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- if message.content is string -%}{{- message.content -}}{%- endif -%}"
    "{%- for tc in message.tool_calls or [] -%}"
    "{%- if message.content or not loop.first -%}{{- '\\n' -}}{%- endif -%}"
    "{{- '<tool_call>\\n{\"name\": \"' + tc.function.name + '\", \"arguments\": ' + "
    "(tc.function.arguments if tc.function.arguments is string else "
    "(tc.function.arguments | tojson)) + '}\\n</tool_call>' -}}"
    "{%- endfor -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- elif message.role == 'tool' -%}"
    "{{- '<|im_start|>user\\n<tool_response>\\n' + message.content + "
    "'\\n</tool_response><|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message.role + '\\n' -}}"
    "{%- if message.content is string -%}{{- message.content -}}"
    "{%- else -%}{%- for part in message.content -%}"
    "{%- if part.type == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif part.type == 'text' -%}{{- part.text -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}";

int gm_build_qwen3(const struct gm_opts *o, struct gm_writer *w) {
    const bool vl = o->arch == GM_ARCH_QWEN3VL;
    const int hd = o->head_dim;
    const int n_q = hd * o->n_head;
    const int n_kv = hd * o->n_head_kv;
    const int n_specials = (int)(sizeof(gm_qwen3_specials) / sizeof(gm_qwen3_specials[0]));

    gm_writer_set_arch(w, gm_arch_name(o->arch));
    gm_writer_str(w, "general.type", "model");
    gm_writer_str(w, "general.name", o->name ? o->name
                                     : vl   ? "Qwen3-VL tiny (random weights)"
                                            : "Qwen3 tiny (random weights)");
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
    gm_writer_arch_f32(w, "attention.layer_norm_rms_epsilon", 1e-6f);
    gm_writer_arch_f32(w, "rope.freq_base", o->rope_base > 0 ? o->rope_base : 1000000.0f);
    if (vl) {
        /* IMROPE sections over head_dim/2 rotary pairs: time, height, width (24/20/20 of 64
         * in the real 128-wide heads), scaled to this head size */
        const int pairs = hd / 2;
        const int t = pairs * 3 / 8;
        const int h = (pairs - t) / 2;
        const int32_t sections[4] = {t, h, pairs - t - h, 0};
        gm_writer_arr_i32(w, "qwen3vl.rope.dimension_sections", sections, 4);
        gm_writer_arch_u32(w, "n_deepstack_layers", GM_QWEN3VL_DEEPSTACK);
    }

    const int first = gm_vocab_write(w, "qwen2", o->n_vocab, gm_qwen3_specials, n_specials);
    if (first < 0) {
        return -1;
    }
    gm_writer_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)first + 0);
    gm_writer_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)first + 2);
    gm_writer_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)first + 2);
    gm_writer_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)first + 0);
    gm_writer_bool(w, "tokenizer.ggml.add_bos_token", false);
    gm_writer_str(w, "tokenizer.chat_template", gm_qwen3_template);

    int rc = 0;
    rc |= gm_writer_matrix(w, o->type, o->n_embd, o->n_vocab, "token_embd.weight");
    rc |= gm_writer_norm(w, o->n_embd, 1.0f, "output_norm.weight");
    if (o->untied) {
        rc |= gm_writer_matrix(w, o->type, o->n_embd, o->n_vocab, "output.weight");
    }
    for (int i = 0; i < o->n_layer && rc == 0; i++) {
        rc |= gm_writer_norm(w, o->n_embd, 1.0f, "blk.%d.attn_norm.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, n_q, "blk.%d.attn_q.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, n_kv, "blk.%d.attn_k.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, n_kv, "blk.%d.attn_v.weight", i);
        rc |= gm_writer_matrix(w, o->type, n_q, o->n_embd, "blk.%d.attn_output.weight", i);
        rc |= gm_writer_norm(w, hd, 1.0f, "blk.%d.attn_q_norm.weight", i);
        rc |= gm_writer_norm(w, hd, 1.0f, "blk.%d.attn_k_norm.weight", i);
        rc |= gm_writer_norm(w, o->n_embd, 1.0f, "blk.%d.ffn_norm.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, o->n_ff, "blk.%d.ffn_gate.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_embd, o->n_ff, "blk.%d.ffn_up.weight", i);
        rc |= gm_writer_matrix(w, o->type, o->n_ff, o->n_embd, "blk.%d.ffn_down.weight", i);
    }
    return rc ? -1 : 0;
}
