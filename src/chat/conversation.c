/*
 * conversation.c — ember_chat: an ordered list of messages, each owning copies of its text.
 */
#include "chat/chat.h"
#include "core/error.h"
#include "vision/vision.h"

#include <stdlib.h>
#include <string.h>

ember_chat *ember_chat_create(void) { return calloc(1, sizeof(ember_chat)); }

static void message_free(chat_message *m) {
    free(m->content);
    free(m->reasoning);
    free(m->name);
    for (int i = 0; i < m->n_calls; i++) {
        free(m->calls[i].name);
        free(m->calls[i].arguments);
        free(m->calls[i].id);
    }
    free(m->calls);
    for (int i = 0; i < m->n_images; i++) ember_image_destroy(m->images[i]);
    free(m->images);
}

void ember_chat_clear(ember_chat *chat) {
    for (size_t i = 0; i < chat->n; i++) message_free(&chat->msgs[i]);
    chat->n = 0;
}

void ember_chat_pop(ember_chat *chat) {
    if (chat->n > 0) message_free(&chat->msgs[--chat->n]);
}

void ember_chat_destroy(ember_chat *chat) {
    if (!chat) return;
    ember_chat_clear(chat);
    free(chat->msgs);
    free(chat);
}

size_t ember_chat_count(const ember_chat *chat) { return chat->n; }

static chat_message *append(ember_chat *chat, ember_role role, ember_error *err) {
    if (chat->n == chat->cap) {
        size_t cap = chat->cap ? chat->cap * 2 : 8;
        chat_message *msgs = realloc(chat->msgs, sizeof *msgs * cap);
        if (!msgs) {
            ember_fail(err, EMBER_ERR_NOMEM, "out of memory adding a message");
            return NULL;
        }
        chat->msgs = msgs;
        chat->cap = cap;
    }
    chat_message *m = &chat->msgs[chat->n];
    memset(m, 0, sizeof *m);
    m->role = role;
    return m;
}

static ember_status commit(ember_chat *chat, chat_message *m, bool ok, ember_error *err) {
    if (!ok || !m->content) {
        message_free(m);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory adding a message");
    }
    chat->n++;
    return EMBER_OK;
}

ember_status ember_chat_add(ember_chat *chat, ember_role role, const char *text, ember_error *err) {
    if ((unsigned)role > EMBER_ROLE_TOOL) return ember_fail(err, EMBER_ERR_INVALID, "unknown role");
    chat_message *m = append(chat, role, err);
    if (!m) return EMBER_ERR_NOMEM;
    m->content = strdup(text ? text : "");
    return commit(chat, m, true, err);
}

ember_status ember_chat_add_assistant(ember_chat *chat, const char *reasoning, const char *answer,
                                      ember_error *err) {
    chat_message *m = append(chat, EMBER_ROLE_ASSISTANT, err);
    if (!m) return EMBER_ERR_NOMEM;
    m->content = strdup(answer ? answer : "");
    bool ok = true;
    if (reasoning && reasoning[0]) ok = (m->reasoning = strdup(reasoning)) != NULL;
    return commit(chat, m, ok, err);
}

ember_status ember_chat_add_tool_result(ember_chat *chat, const char *tool_name, const char *output,
                                        ember_error *err) {
    if (!tool_name || !tool_name[0]) return ember_fail(err, EMBER_ERR_INVALID, "a tool result needs the tool's name");
    chat_message *m = append(chat, EMBER_ROLE_TOOL, err);
    if (!m) return EMBER_ERR_NOMEM;
    m->content = strdup(output ? output : "");
    bool ok = (m->name = strdup(tool_name)) != NULL;
    return commit(chat, m, ok, err);
}

ember_status ember_chat_add_tool_call(ember_chat *chat, const char *name, const char *arguments, const char *id,
                                      ember_error *err) {
    if (!name || !name[0]) return ember_fail(err, EMBER_ERR_INVALID, "a tool call needs a name");
    chat_message *m = chat->n ? &chat->msgs[chat->n - 1] : NULL;
    if (!m || m->role != EMBER_ROLE_ASSISTANT || m->content[0]) {
        ember_status status = ember_chat_add_assistant(chat, NULL, "", err);
        if (status != EMBER_OK) return status;
        m = &chat->msgs[chat->n - 1];
    }
    chat_tool_call *calls = realloc(m->calls, sizeof *calls * (size_t)(m->n_calls + 1));
    if (!calls) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    m->calls = calls;
    chat_tool_call *c = &calls[m->n_calls];
    c->name = strdup(name);
    c->arguments = strdup(arguments && arguments[0] ? arguments : "{}");
    c->id = id ? strdup(id) : NULL;
    if (!c->name || !c->arguments) {
        free(c->name);
        free(c->arguments);
        free(c->id);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    m->n_calls++;
    return EMBER_OK;
}

ember_status ember_chat_add_image(ember_chat *chat, const ember_image *image, ember_error *err) {
    if (!image) return ember_fail(err, EMBER_ERR_INVALID, "no image");
    chat_message *m = chat->n ? &chat->msgs[chat->n - 1] : NULL;
    if (!m || (m->role != EMBER_ROLE_USER && m->role != EMBER_ROLE_TOOL))
        return ember_fail(err, EMBER_ERR_INVALID, "an image goes with a user message (or a tool result): add the text first");
    ember_image **images = realloc(m->images, sizeof *images * (size_t)(m->n_images + 1));
    if (!images) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    m->images = images;
    m->images[m->n_images++] = vision_image_ref(image);
    return EMBER_OK;
}

static size_t count_markers(const char *text) {
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, EMBER_IMAGE_MARKER)); p += strlen(EMBER_IMAGE_MARKER)) n++;
    return n;
}

static bool images_push(chat_images *images, const ember_image *image) {
    if (!images) return true;
    if (images->n == images->cap) {
        size_t cap = images->cap ? images->cap * 2 : 8;
        const ember_image **items = realloc(images->items, sizeof *items * cap);
        if (!items) {
            images->oom = true;
            return false;
        }
        images->items = items;
        images->cap = cap;
    }
    images->items[images->n++] = image;
    return true;
}

void chat_images_free(chat_images *images) {
    free(images->items);
    memset(images, 0, sizeof *images);
}

void chat_put_content(strbuf *out, const chat_message *m, const chat_render_opts *opts, const char *image_text,
                      chat_images *images) {
    const char *placeholder = opts && opts->image_placeholder ? opts->image_placeholder : image_text;
    size_t markers = count_markers(m->content), n = (size_t)m->n_images;
    for (size_t i = markers; i < n; i++) {  /* images without a marker come first */
        strbuf_puts(out, placeholder);
        images_push(images, m->images[i]);
    }
    const char *p = m->content;
    size_t k = 0;
    const char *hit;
    while ((hit = strstr(p, EMBER_IMAGE_MARKER))) {
        strbuf_append(out, p, (size_t)(hit - p));
        if (k < n) {
            strbuf_puts(out, placeholder);
            images_push(images, m->images[k]);
        }
        k++;
        p = hit + strlen(EMBER_IMAGE_MARKER);
    }
    strbuf_puts(out, p);
}

size_t ember_chat_image_count(const ember_chat *chat) {
    size_t n = 0;
    for (size_t i = 0; i < chat->n; i++) n += (size_t)chat->msgs[i].n_images;
    return n;
}

const ember_image *ember_chat_image(const ember_chat *chat, size_t index) {
    for (size_t i = 0; i < chat->n; i++) {
        const chat_message *m = &chat->msgs[i];
        if (index >= (size_t)m->n_images) {
            index -= (size_t)m->n_images;
            continue;
        }
        size_t markers = count_markers(m->content), n = (size_t)m->n_images;
        size_t extra = n > markers ? n - markers : 0;  /* unmarked images come first */
        return index < extra ? m->images[markers + index] : m->images[index - extra];
    }
    return NULL;
}

/* Sets the reasoning of the last assistant message (the run's own tool rounds). */
ember_status chat_set_last_reasoning(ember_chat *chat, const char *reasoning) {
    if (!chat->n || chat->msgs[chat->n - 1].role != EMBER_ROLE_ASSISTANT || !reasoning || !reasoning[0]) return EMBER_OK;
    chat_message *m = &chat->msgs[chat->n - 1];
    char *copy = strdup(reasoning);
    if (!copy) return EMBER_ERR_NOMEM;
    free(m->reasoning);
    m->reasoning = copy;
    return EMBER_OK;
}

ember_chat *chat_clone(const ember_chat *chat) {
    ember_chat *copy = ember_chat_create();
    if (!copy) return NULL;
    for (size_t i = 0; i < chat->n; i++) {
        const chat_message *m = &chat->msgs[i];
        ember_status status;
        if (m->role == EMBER_ROLE_ASSISTANT) status = ember_chat_add_assistant(copy, m->reasoning, m->content, NULL);
        else if (m->role == EMBER_ROLE_TOOL) status = ember_chat_add_tool_result(copy, m->name, m->content, NULL);
        else status = ember_chat_add(copy, m->role, m->content, NULL);
        for (int c = 0; c < m->n_calls && status == EMBER_OK; c++)
            status = ember_chat_add_tool_call(copy, m->calls[c].name, m->calls[c].arguments, m->calls[c].id, NULL);
        for (int k = 0; k < m->n_images && status == EMBER_OK; k++)
            status = ember_chat_add_image(copy, m->images[k], NULL);
        if (status != EMBER_OK) {
            ember_chat_destroy(copy);
            return NULL;
        }
    }
    return copy;
}
