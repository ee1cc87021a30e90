/* mmproj_glimmer.c — describes a random-weight Muse Glimmer vision projector
 * (clip.projector_type = "muse-glimmer"), as read by tools/mtmd/clip.cpp and built by
 * tools/mtmd/models/muse-glimmer.cpp: a ViT with LayerNorm (pre/post), 2-D RoPE, separate q/k/v
 * with biases, erf-GELU MLP, then a 2x2 pixel-shuffle and a 3-matrix MLP (mm.0/1/2, no biases)
 * into the text model's n_embd.
 *
 * Geometry: v.position_embd has grid x grid rows; the grid side is also the sparse-attention
 * window (in patches). The nominal image side written as image_size is grid * patch * 2, and an
 * image of S x S pixels encodes to (S / (2 * patch))^2 tokens — 64 x 64 with patch 8 -> 16. */
#include "genmodel.h"

int gm_build_mmproj_glimmer(const struct gm_opts *o, struct gm_writer *w) {
    const enum ggml_type t = gm_mmproj_type(o);
    const int e = o->v_embd;
    const int mm_hidden = 4 * e; /* adapter width (6144 -> 4096 -> 4096 -> n_embd in the 30B) */

    gm_mmproj_keys(o, w, "muse-glimmer", o->v_grid * o->v_patch * 2, 1e-5f);

    int rc = 0;
    const int64_t patch[4] = {o->v_patch, o->v_patch, 3, e};
    rc |= gm_writer_tensor(w, GGML_TYPE_F32, 4, patch, GM_FILL_NORMAL, GM_WEIGHT_STD,
                           "v.patch_embd.weight");
    rc |= gm_writer_norm(w, e, 0.0f, "v.patch_embd.bias");
    const int64_t pos[2] = {e, (int64_t)o->v_grid * o->v_grid};
    rc |= gm_writer_tensor(w, GGML_TYPE_F32, 2, pos, GM_FILL_NORMAL, GM_WEIGHT_STD,
                           "v.position_embd.weight");
    rc |= gm_writer_norm(w, e, 1.0f, "v.pre_ln.weight");
    rc |= gm_writer_norm(w, e, 0.0f, "v.pre_ln.bias");
    for (int i = 0; i < o->v_layer && rc == 0; i++) {
        rc |= gm_writer_norm(w, e, 1.0f, "v.blk.%d.ln1.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.ln1.bias", i);
        rc |= gm_writer_matrix(w, t, e, e, "v.blk.%d.attn_q.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.attn_q.bias", i);
        rc |= gm_writer_matrix(w, t, e, e, "v.blk.%d.attn_k.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.attn_k.bias", i);
        rc |= gm_writer_matrix(w, t, e, e, "v.blk.%d.attn_v.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.attn_v.bias", i);
        rc |= gm_writer_matrix(w, t, e, e, "v.blk.%d.attn_out.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.attn_out.bias", i);
        rc |= gm_writer_norm(w, e, 1.0f, "v.blk.%d.ln2.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.ln2.bias", i);
        rc |= gm_writer_matrix(w, t, e, o->v_ff, "v.blk.%d.ffn_up.weight", i);
        rc |= gm_writer_norm(w, o->v_ff, 0.0f, "v.blk.%d.ffn_up.bias", i);
        rc |= gm_writer_matrix(w, t, o->v_ff, e, "v.blk.%d.ffn_down.weight", i);
        rc |= gm_writer_norm(w, e, 0.0f, "v.blk.%d.ffn_down.bias", i);
    }
    rc |= gm_writer_norm(w, e, 1.0f, "v.post_ln.weight");
    rc |= gm_writer_norm(w, e, 0.0f, "v.post_ln.bias");
    rc |= gm_writer_matrix(w, t, 4 * e, mm_hidden, "mm.0.weight");
    rc |= gm_writer_matrix(w, t, mm_hidden, mm_hidden, "mm.1.weight");
    rc |= gm_writer_matrix(w, t, mm_hidden, o->n_embd, "mm.2.weight");
    return rc ? -1 : 0;
}
