/*
 * conversations.c — the conversations of the caller's key, for a web app:
 *   GET    /v1/conversations         list (newest first); ?q=TEXT keeps those whose title or a
 *                                     message contains TEXT
 *   POST   /v1/conversations         create {"title"?}
 *   GET    /v1/conversations/ID      one, with the messages of the branch it shows (reasoning,
 *                                     ember results, ids, parents and siblings)
 *   PATCH  /v1/conversations/ID      rename {"title"} and/or show a branch {"head_id": MESSAGE}
 *                                     (POST works too)
 *   DELETE /v1/conversations/ID      delete
 * Chat completions add to them with "ember": {"conversation_id": ID} or {"store": true};
 * {"parent_id": MESSAGE} makes the turn follow that stored message instead of the head (0: a
 * first message), a branch — an edited message; with "regenerate": true the request's last
 * message is that stored message itself and only the new answer is stored (a sibling of the
 * earlier answers).
 * Another key's conversation does not exist (404).
 */
#include "server/server.h"

#include <string.h>

/* The "title" of a JSON body: NULL with the error answered when it is wrong. */
static bool body_title(srv_conn *c, bool required, const char **title, json_t **root) {
    *title = NULL;
    *root = NULL;
    if (c->body.len == 0 && !required) return true;
    json_error_t jerr;
    *root = json_loadb(strbuf_str(&c->body), c->body.len, 0, &jerr);
    if (!json_is_object(*root)) {
        srv_respond_errorf(c, 400, "invalid_request_error", "invalid_json", "the body must be a JSON object");
        return false;
    }
    json_t *t = json_object_get(*root, "title");
    if (!t && !required) return true;
    if (!json_is_string(t) || json_string_length(t) == 0 || json_string_length(t) > 200 ||
        memchr(json_string_value(t), 0, json_string_length(t))) {
        srv_respond_errorf(c, 400, "invalid_request_error", NULL, "title must be a string of 1-200 bytes");
        return false;
    }
    *title = json_string_value(t);
    return true;
}

/* The answer for a store call that did not succeed. */
static enum MHD_Result failed(srv_conn *c, srv_store_status st, const char *id) {
    if (st == SRV_STORE_NOT_FOUND)
        return srv_respond_errorf(c, 404, "invalid_request_error", "conversation_not_found", "no conversation '%.64s'",
                                  id);
    return srv_respond_store_error(c, st);
}

enum MHD_Result srv_handle_conversations(srv_conn *c, const char *method, const char *id) {
    srv_store *store = c->srv->store;
    const char *title;
    json_t *root;
    if (!id) {
        if (strcmp(method, "GET") == 0) {
            const char *q = MHD_lookup_connection_value(c->connection, MHD_GET_ARGUMENT_KIND, "q");
            if (q && (!q[0] || strlen(q) > 200)) q = NULL;
            json_t *list;
            srv_store_status st = srv_store_conv_search(store, c->owner, q, &list);
            return st == SRV_STORE_OK ? srv_respond_json(c, 200, list) : failed(c, st, "");
        }
        if (strcmp(method, "POST") == 0) {
            if (!body_title(c, false, &title, &root)) {
                json_decref(root);
                return c->answered ? MHD_YES : MHD_NO;
            }
            json_t *conv;
            srv_store_status st = srv_store_conv_create(store, c->owner, title, false, &conv);
            json_decref(root);
            return st == SRV_STORE_OK ? srv_respond_json(c, 201, conv) : failed(c, st, "");
        }
        return srv_respond_errorf(c, 405, "invalid_request_error", "method_not_allowed", "use GET or POST");
    }
    if (strcmp(method, "GET") == 0) {
        json_t *conv;
        srv_store_status st = srv_store_conv_get(store, c->owner, id, &conv);
        return st == SRV_STORE_OK ? srv_respond_json(c, 200, conv) : failed(c, st, id);
    }
    if (strcmp(method, "PATCH") == 0 || strcmp(method, "POST") == 0) {
        if (!body_title(c, false, &title, &root)) {
            json_decref(root);
            return c->answered ? MHD_YES : MHD_NO;
        }
        json_t *head = json_object_get(root, "head_id");
        long long head_id = json_is_integer(head) ? (long long)json_integer_value(head) : 0;
        if ((!title && !head) || (head && head_id < 1)) {
            json_decref(root);
            return srv_respond_errorf(c, 400, "invalid_request_error", NULL,
                                      "give a title (a string of 1-200 bytes) and/or a head_id (a message id)");
        }
        json_t *conv = NULL;
        srv_store_status st = title ? srv_store_conv_rename(store, c->owner, id, title, &conv) : SRV_STORE_OK;
        json_decref(root);
        if (st == SRV_STORE_OK && head) {
            json_decref(conv);
            st = srv_store_conv_set_head(store, c->owner, id, (int64_t)head_id, &conv);
            if (st == SRV_STORE_NOT_FOUND && srv_store_conv_exists(store, c->owner, id) == SRV_STORE_OK)
                return srv_respond_errorf(c, 404, "invalid_request_error", "message_not_found",
                                          "no message %lld in this conversation", head_id);
        }
        return st == SRV_STORE_OK ? srv_respond_json(c, 200, conv) : failed(c, st, id);
    }
    if (strcmp(method, "DELETE") == 0) {
        srv_store_status st = srv_store_conv_delete(store, c->owner, id);
        if (st != SRV_STORE_OK) return failed(c, st, id);
        return srv_respond_json(c, 200, json_pack("{s:s, s:s, s:b}", "id", id, "object", "conversation.deleted",
                                                  "deleted", 1));
    }
    return srv_respond_errorf(c, 405, "invalid_request_error", "method_not_allowed", "use GET, PATCH or DELETE");
}
