/* format.c — the registry of chat formats, by the name the engine detects. */
#include "chat/chat.h"
#include "chat/chatml_think.h"
#include "chat/muse_glimmer.h"

#include <string.h>

const chat_format *chat_format_find(const char *name) {
    static const chat_format *const formats[] = {&muse_glimmer_format, &chatml_think_format};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i]->name, name) == 0) return formats[i];
    return NULL;
}
