/* mmproj_common.c — the part every random-weight clip projector file shares: general.* keys
 * (general.architecture = "clip", general.type = "mmproj") and the clip.vision.* sizes that
 * tools/mtmd/clip.cpp reads for any projector type (see load_hparams there). */
#include "genmodel.h"

void gm_mmproj_keys(const struct gm_opts *o, struct gm_writer *w, const char *projector,
                    int image_size, float eps) {
    static const float half[3] = {0.5f, 0.5f, 0.5f};
    const enum ggml_type t = gm_mmproj_type(o);

    gm_writer_set_arch(w, "clip");
    gm_writer_str(w, "general.type", "mmproj");
    gm_writer_str(w, "general.name", o->name ? o->name : "tiny projector (random weights)");
    gm_writer_u32(w, "general.file_type", gm_file_type(t));
    gm_writer_str(w, "clip.projector_type", projector);
    gm_writer_bool(w, "clip.has_vision_encoder", true);
    gm_writer_u32(w, "clip.vision.projection_dim", (uint32_t)o->n_embd);
    gm_writer_u32(w, "clip.vision.image_size", (uint32_t)image_size);
    gm_writer_u32(w, "clip.vision.patch_size", (uint32_t)o->v_patch);
    gm_writer_u32(w, "clip.vision.embedding_length", (uint32_t)o->v_embd);
    gm_writer_u32(w, "clip.vision.feed_forward_length", (uint32_t)o->v_ff);
    gm_writer_u32(w, "clip.vision.block_count", (uint32_t)o->v_layer);
    gm_writer_u32(w, "clip.vision.attention.head_count", (uint32_t)o->v_head);
    gm_writer_f32(w, "clip.vision.attention.layer_norm_epsilon", eps);
    gm_writer_arr_f32(w, "clip.vision.image_mean", half, 3);
    gm_writer_arr_f32(w, "clip.vision.image_std", half, 3);
    gm_writer_u32(w, "clip.vision.spatial_merge_size", 2);
}

enum ggml_type gm_mmproj_type(const struct gm_opts *o) {
    return o->type == GGML_TYPE_F32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
}
