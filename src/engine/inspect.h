/* inspect.h — GGUF metadata helpers shared by ember_model_inspect and the engine. */
#ifndef EMBER_ENGINE_INSPECT_H
#define EMBER_ENGINE_INSPECT_H

#include "ember.h"

#include <stddef.h>

/* "muse-glimmer", "chatml-think" or "unknown". */
const char *inspect_chat_format(const char *architecture, const char *chat_template);
/* The model's vision projector in its directory (see inspect.c), or "" when there is none. */
void inspect_find_mmproj(const char *model_path, char *out, size_t size);
/* Checks that `path` is a projector GGUF (architecture "clip") and reads its nominal image
 * side (clip.vision.image_size, 0 if absent). */
ember_status inspect_projector(const char *path, int *image_size, ember_error *err);

#endif
