/* mmproj_qwen3vl.c — describes a random-weight Qwen3-VL vision projector
 * (clip.projector_type = "qwen3vl_merger"), as read by tools/mtmd/clip.cpp and built by
 * tools/mtmd/models/qwen3vl.cpp: two conv patch embeddings (the temporal halves of the 3-D conv)
 * plus bias, learned position embeddings, a ViT with fused qkv (+bias), LayerNorm and GELU MLP,
 * the 2x2 merger MLP mm.0 / mm.2 (with biases), and GM_QWEN3VL_DEEPSTACK deepstack mergers whose
 * outputs are concatenated after the main one — so the embedding mtmd hands the text model is
 * n_embd * (1 + GM_QWEN3VL_DEEPSTACK) wide, matching the qwen3vl text model's n_embd_inp.
 *
 * Geometry: v.position_embd has grid x grid rows, one per patch of the nominal image, whose side
 * (image_size) is grid * patch; an image of S x S pixels encodes to (S / (2 * patch))^2 tokens. */
#include <stdio.h>

#include "genmodel.h"

int gm_build_mmproj_qwen3vl(const struct gm_opts *o, struct gm_writer *w) {
    const enum ggml_type t = gm_mmproj_type(o);
    const int e = o->v_embd;
    const int merged = 4 * e; /* 2x2 merge concatenates four patches */
    if (o->v_layer < GM_QWEN3VL_DEEPSTACK) {
        fprintf(stderr, "genmodel: qwen3vl projector needs at least %d vision layers\n",
                GM_QWEN3VL_DEEPSTACK);
        return -1;
    }

    gm_mmproj_keys(o, w, "qwen3vl_merger", o->v_grid * o->v_patch, 1e-6f);
    gm_writer_bool(w, "clip.use_gelu", true);
    bool deepstack[64] = {0};
    for (int i = 0; i < o->v_layer && i < 64; i++) {
        deepstack[i] = i < GM_QWEN3VL_DEEPSTACK;
    }
    gm_writer_arr_bool(w, "clip.vision.is_deepstack_layers", deepstack,
                       o->v_layer < 64 ? o->v_layer : 64);

    int rc = 0;
    const int64_t patch[4] = {o->v_patch, o->v_patch, 3, e};
    rc |= gm_writer_tensor(w, GGML_TYPE_F32, 4, patch, GM_FILL_NORMAL, GM_WEIGHT_STD,
                           "v.patch_embd.weight");
    rc |= gm_writer_tensor(w, GGML_TYPE_F32, 4, patch, GM_FILL_NORMAL, GM_WEIGHT_STD,
                           "v.patch_embd.weight.1");
    rc |= gm_writer_norm(w, e, 0.0f, "v.patch_embd.bias");
    const int64_t pos[2] = {e, (int64_t)o->v_grid * o->v_grid};
    rc |= gm_writer_tensor(w, GGML_TYPE_F32, 2, pos, GM_FILL_NORMAL, GM_WEIGHT_STD,
                           "v.position_embd.weight");
    for (int i = 0; i < o->v_layer && rc == 0; i++) {
        rc |= gm_writer_norm(w, e, 1.0f, "v.blk.%d.ln1.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.ln1.bias", i);
        rc |= gm_writer_matrix(w, t, e, 3 * e, "v.blk.%d.attn_qkv.weight", i);
        rc |= gm_writer_norm(w, 3 * e, 0.0f, "v.blk.%d.attn_qkv.bias", i);
        rc |= gm_writer_matrix(w, t, e, e, "v.blk.%d.attn_out.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.attn_out.bias", i);
        rc |= gm_writer_norm(w, e, 1.0f, "v.blk.%d.ln2.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.ln2.bias", i);
        rc |= gm_writer_matrix(w, t, e, o->v_ff, "v.blk.%d.ffn_up.weight", i);
        rc |= gm_writer_norm(w, o->v_ff, 0.0f, "v.blk.%d.ffn_up.bias", i);
        rc |= gm_writer_matrix(w, t, o->v_ff, e, "v.blk.%d.ffn_down.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.ffn_down.bias", i);
        if (i < GM_QWEN3VL_DEEPSTACK) {
            rc |= gm_writer_norm(w, merged, 1.0f, "v.deepstack.%d.norm.weight", i);
            rc |= gm_writer_norm(w, merged, 0.0f, "v.deepstack.%d.norm.bias", i);
            rc |= gm_writer_matrix(w, t, merged, merged, "v.deepstack.%d.fc1.weight", i);
            rc |= gm_writer_norm(w, merged, 0.0f, "v.deepstack.%d.fc1.bias", i);
            rc |= gm_writer_matrix(w, t, merged, o->n_embd, "v.deepstack.%d.fc2.weight", i);
            rc |= gm_writer_norm(w, o->n_embd, 0.0f, "v.deepstack.%d.fc2.bias", i);
        }
    }
    rc |= gm_writer_norm(w, e, 1.0f, "v.post_ln.weight");
    rc |= gm_writer_norm(w, e, 0.0f, "v.post_ln.bias");
    rc |= gm_writer_matrix(w, t, merged, merged, "mm.0.weight");
    rc |= gm_writer_norm(w, merged, 0.0f, "mm.0.bias");
    rc |= gm_writer_matrix(w, t, merged, o->n_embd, "mm.2.weight");
    rc |= gm_writer_norm(w, o->n_embd, 0.0f, "mm.2.bias");
    return rc ? -1 : 0;
}
