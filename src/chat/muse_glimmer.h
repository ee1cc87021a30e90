/* muse_glimmer.h — the Muse Glimmer chat format (see muse_glimmer.c). */
#ifndef EMBER_CHAT_MUSE_GLIMMER_H
#define EMBER_CHAT_MUSE_GLIMMER_H

#include "chat/chat.h"

extern const chat_format muse_glimmer_format;
/* An ATEM <atem:function_calls> block for one call with JSON-object arguments. */
void muse_glimmer_render_call(strbuf *out, const char *name, const char *arguments);

#endif
