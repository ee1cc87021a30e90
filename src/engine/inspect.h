/* inspect.h — GGUF metadata helpers shared by ember_model_inspect and the engine. */
#ifndef EMBER_ENGINE_INSPECT_H
#define EMBER_ENGINE_INSPECT_H

#include "ember.h"

#include <stddef.h>

/* "muse-glimmer", "chatml-think" or "unknown". */
const char *inspect_chat_format(const char *architecture, const char *chat_template);
/* The first mmproj-*.gguf in the model's directory, or "" when there is none. */
void inspect_find_mmproj(const char *model_path, char *out, size_t size);

#endif
