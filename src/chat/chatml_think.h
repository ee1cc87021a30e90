/* chatml_think.h — the ChatML + <think> chat format (see chatml_think.c). */
#ifndef EMBER_CHAT_CHATML_THINK_H
#define EMBER_CHAT_CHATML_THINK_H

#include "chat/chat.h"

extern const chat_format chatml_think_format;

#endif
