/* format.c — the registry of chat formats, by the name the engine detects. */
#include "chat/chat.h"
#include "chat/chatml_think.h"
#include "chat/muse_glimmer.h"
#include "core/error.h"

#include <string.h>

const chat_format *chat_format_find(const char *name) {
    static const chat_format *const formats[] = {&muse_glimmer_format, &chatml_think_format};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i]->name, name) == 0) return formats[i];
    return NULL;
}

ember_status ember_chat_render(const ember_chat *chat, const char *format, const ember_render_opts *opts,
                               char **prompt, ember_error *err) {
    *prompt = NULL;
    const chat_format *fmt = chat_format_find(format ? format : "");
    if (!fmt) return ember_fail(err, EMBER_ERR_NOT_FOUND, "unknown chat format '%s'", format ? format : "");
    strbuf out = {0};
    if (!fmt->render(chat, opts, &out, NULL)) {
        strbuf_free(&out);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory rendering the prompt");
    }
    *prompt = strbuf_take(&out);
    return EMBER_OK;
}

ember_status ember_parser_create(const char *format, ember_opening opening, ember_parse_fn on_parse,
                                 void *user, ember_parser **parser, ember_error *err) {
    *parser = NULL;
    const chat_format *fmt = chat_format_find(format ? format : "");
    if (!fmt) return ember_fail(err, EMBER_ERR_NOT_FOUND, "unknown chat format '%s'", format ? format : "");
    *parser = fmt->parser_create(opening, on_parse, user);
    return *parser ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
}

void ember_parser_feed(ember_parser *p, const char *text, size_t len) { chat_parser_feed(p, text, len); }
void ember_parser_finish(ember_parser *p) { chat_parser_finish(p); }
ember_channel ember_parser_channel(const ember_parser *p) { return chat_parser_channel(p); }
bool ember_parser_turn_ended(const ember_parser *p) { return chat_parser_turn_ended(p); }
void ember_parser_destroy(ember_parser *p) { chat_parser_destroy(p); }
