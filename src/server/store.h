/*
 * store.h — the server's database: API keys, stored as SHA-256 hashes only, and the
 * conversations of each key (messages with reasoning and ember's own results). A SQLite file
 * (WAL) by default, or a PostgreSQL database (`postgresql://…`) that several `ember serve`
 * processes share; both through db.h, with the same schema (store_migrations.c).
 *
 * An owner is a string naming whose conversations these are: "key:NAME" for a database key,
 * "file:HASHPREFIX" for a key from --api-keys, "local" when no key is needed. Every function
 * is safe from any thread.
 *
 * When the database cannot be reached, calls answer SRV_STORE_UNAVAILABLE (the server says
 * 503), except writes made with `queue`: those wait in memory, in order, and are written by
 * the first store call that finds the database back, so an answer finished during an outage
 * is not lost.
 */
#ifndef EMBER_SERVER_STORE_H
#define EMBER_SERVER_STORE_H

#include "ember.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct srv_store srv_store;

typedef enum srv_store_status {
    SRV_STORE_OK = 0,
    SRV_STORE_NOT_FOUND,    /* no such conversation / key for this owner */
    SRV_STORE_UNAVAILABLE,  /* the database cannot be reached: try again later (503) */
    SRV_STORE_FAILED,       /* the database refused or failed the statement (500) */
} srv_store_status;

/* The migrations of store_migrations.c. */
extern const char *const srv_store_migrations[];
extern const int srv_store_n_migrations;

/* Opens `target` (a file path, created with its folder, or a postgresql:// URI) and brings its
 * schema up to date. */
ember_status srv_store_open(const char *target, srv_store **store, ember_error *err);
/* Writes what is still queued if it can (the rest is lost: close says so on stderr). */
void srv_store_close(srv_store *store);
/* Writes waiting for the database. */
size_t srv_store_pending(srv_store *store);

/* ---- keys ---- */
/* SHA-256 of text as 64 lowercase hex digits. */
void srv_sha256_hex(const char *text, size_t len, char hex[65]);
/* Equal, in time that depends only on n. */
bool srv_equal_ct(const char *a, const char *b, size_t n);
/* n random bytes from the kernel as 2n hex digits. */
bool srv_random_hex(char *out, size_t n_bytes);

ember_status srv_store_key_add(srv_store *store, const char *name, char *key, size_t key_size, ember_error *err);
ember_status srv_store_key_list(srv_store *store, ember_key_info **keys, size_t *count, ember_error *err);
ember_status srv_store_key_remove(srv_store *store, const char *name, ember_error *err);
/* Keys in the database; -1 when it cannot be read. */
int srv_store_key_count(srv_store *store);
/* Whether a key with this hash exists (every row compared in constant time; NOT_FOUND when
 * none); on a match writes its owner and records the use. */
srv_store_status srv_store_key_check(srv_store *store, const char hash_hex[65], char *owner, size_t owner_size);

/* ---- conversations: JSON objects as the API returns them, in *out on SRV_STORE_OK ----
 * Messages form a tree (migration 2): each follows a parent (none for a first message);
 * editing or regenerating adds a sibling, and a conversation shows the path from its first
 * message to its head. Message ids are positive integers. */
srv_store_status srv_store_conv_list(srv_store *store, const char *owner, json_t **out);
/* The list, keeping conversations whose title or a message contains `query` (any case; NULL =
 * all). */
srv_store_status srv_store_conv_search(srv_store *store, const char *owner, const char *query, json_t **out);
srv_store_status srv_store_conv_create(srv_store *store, const char *owner, const char *title, bool queue,
                                       json_t **out);
/* With "head_id" and the messages of the path it shows, each with "id", "parent_id" and
 * "siblings" (the ids of the messages sharing its parent, itself included, oldest first). */
srv_store_status srv_store_conv_get(srv_store *store, const char *owner, const char *id, json_t **out);
srv_store_status srv_store_conv_exists(srv_store *store, const char *owner, const char *id);
/* Whether message_id is a message of this conversation of this owner (NOT_FOUND if not). */
srv_store_status srv_store_conv_has_message(srv_store *store, const char *owner, const char *id, int64_t message_id);
srv_store_status srv_store_conv_rename(srv_store *store, const char *owner, const char *id, const char *title,
                                       json_t **out);
/* Shows the branch through message_id: the head becomes the newest leaf below it; *out is the
 * conversation as srv_store_conv_get gives it. */
srv_store_status srv_store_conv_set_head(srv_store *store, const char *owner, const char *id, int64_t message_id,
                                         json_t **out);
srv_store_status srv_store_conv_delete(srv_store *store, const char *owner, const char *id);
/* Appends a message after the head and makes it the head; `ember` (may be NULL) is a JSON
 * object of ember's results. */
srv_store_status srv_store_conv_append(srv_store *store, const char *owner, const char *id, const char *role,
                                       const char *content, const char *reasoning, json_t *ember, bool queue);
/* Appends after `parent` (a message of this conversation; SRV_STORE_HEAD = after the head,
 * SRV_STORE_ROOT = as a first message) and makes it the head. *message_id (may be NULL) is the
 * new message's id, 0 when the write was queued. */
enum { SRV_STORE_HEAD = 0, SRV_STORE_ROOT = -1 };
srv_store_status srv_store_conv_append_after(srv_store *store, const char *owner, const char *id, int64_t parent,
                                             const char *role, const char *content, const char *reasoning,
                                             json_t *ember, bool queue, int64_t *message_id);

#endif
