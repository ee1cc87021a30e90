/* stream_parser.c — marker scanning with hold-back (see stream_parser.h). */
#include "chat/stream_parser.h"

#include <stdlib.h>
#include <string.h>

chat_parser *stream_parser_create(const stream_rules *rules, int state, ember_channel channel,
                                  chat_emit_fn emit, void *user) {
    chat_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->rules = rules;
    p->state = state;
    p->channel = channel;
    p->channel_fresh = true;
    p->emit = emit;
    p->user = user;
    return p;
}

void chat_parser_destroy(chat_parser *p) {
    if (!p) return;
    strbuf_free(&p->pending);
    strbuf_free(&p->header);
    strbuf_free(&p->body);
    free(p);
}

ember_channel chat_parser_channel(const chat_parser *p) { return p->channel; }
bool chat_parser_turn_ended(const chat_parser *p) { return p->turn_ended; }

void stream_parser_emit_text(chat_parser *p, const char *text, size_t len) {
    if (len == 0) return;
    if (p->channel == EMBER_CHANNEL_TOOL) {
        strbuf_append(&p->body, text, len);
        return;
    }
    p->channel_fresh = false;
    p->emit(p->user, p->channel == EMBER_CHANNEL_REASONING ? CHAT_EVENT_REASONING : CHAT_EVENT_ANSWER,
            text, len, NULL);
}

void stream_parser_end_tool(chat_parser *p) {
    p->emit(p->user, CHAT_EVENT_TOOL_CALL, strbuf_str(&p->body), p->body.len, p->recipient);
    strbuf_clear(&p->body);
}

/* Earliest complete marker in text: its index in the list, or -1; *at is its offset. */
static int find_marker(const char *const *markers, const char *text, size_t len, size_t *at) {
    int best = -1;
    size_t best_at = len;
    for (int i = 0; markers[i]; i++) {
        size_t mlen = strlen(markers[i]);
        for (size_t j = 0; j + mlen <= len && j < best_at; j++) {
            if (memcmp(text + j, markers[i], mlen) == 0) {
                best = i;
                best_at = j;
                break;
            }
        }
    }
    *at = best_at;
    return best;
}

/* Length of the longest suffix of text that is a proper prefix of some marker. */
static size_t held_suffix(const char *const *markers, const char *text, size_t len) {
    size_t hold = 0;
    for (int i = 0; markers[i]; i++) {
        size_t mlen = strlen(markers[i]);
        for (size_t k = mlen - 1; k > hold; k--) {
            if (k <= len && memcmp(text + len - k, markers[i], k) == 0) {
                hold = k;
                break;
            }
        }
    }
    return hold;
}

static void consume(chat_parser *p, bool final) {
    size_t pos = 0;
    for (;;) {
        const char *text = strbuf_str(&p->pending) + pos;
        size_t len = p->pending.len - pos;
        if (len == 0) break;
        const char *const *markers = p->rules->markers(p->state);
        size_t at;
        int index = find_marker(markers, text, len, &at);
        if (index >= 0) {
            const char *marker = markers[index];
            int state = p->state;
            p->rules->on_text(p, text, at);
            pos += at + strlen(marker);
            /* The text may have moved the parser on (a header that was no header); a marker
             * the new state does not know is plain text there. */
            bool known = state == p->state;
            for (const char *const *m = p->rules->markers(p->state); !known && *m; m++) known = strcmp(*m, marker) == 0;
            if (known) p->rules->on_marker(p, marker);
            else p->rules->on_text(p, marker, strlen(marker));
            continue;
        }
        size_t safe = final ? len : len - held_suffix(markers, text, len);
        p->rules->on_text(p, text, safe);
        pos += safe;
        break;
    }
    /* keep only the held-back tail */
    size_t rest = p->pending.len - pos;
    memmove(p->pending.data, p->pending.data + pos, rest);
    p->pending.len = rest;
    if (p->pending.data) p->pending.data[rest] = '\0';
}

void chat_parser_feed(chat_parser *p, const char *text, size_t len) {
    if (!len) return;
    strbuf_append(&p->pending, text, len);
    consume(p, false);
}

void chat_parser_finish(chat_parser *p) {
    if (p->pending.len) consume(p, true);
}
