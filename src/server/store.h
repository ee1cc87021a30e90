/*
 * store.h — the server's SQLite database (WAL): API keys, stored as SHA-256 hashes only, and
 * the conversations of each key (messages with reasoning and ember's own results).
 *
 * An owner is a string naming whose conversations these are: "key:NAME" for a database key,
 * "file:HASHPREFIX" for a key from --api-keys, "local" when no key is needed. One
 * connection in serialized mode: every function is safe from any thread.
 */
#ifndef EMBER_SERVER_STORE_H
#define EMBER_SERVER_STORE_H

#include "ember.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct srv_store srv_store;

/* Opens (creating the file, its folder and the tables when missing). */
ember_status srv_store_open(const char *path, srv_store **store, ember_error *err);
void srv_store_close(srv_store *store);

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
/* Whether a key with this hash exists (every row compared in constant time); on a match
 * writes its owner and records the use. */
bool srv_store_key_check(srv_store *store, const char hash_hex[65], char *owner, size_t owner_size);

/* ---- conversations (JSON objects as the API returns them; NULL = not found / failed) ---- */
json_t *srv_store_conv_list(srv_store *store, const char *owner);
json_t *srv_store_conv_create(srv_store *store, const char *owner, const char *title);
/* With its messages. */
json_t *srv_store_conv_get(srv_store *store, const char *owner, const char *id);
bool srv_store_conv_exists(srv_store *store, const char *owner, const char *id);
json_t *srv_store_conv_rename(srv_store *store, const char *owner, const char *id, const char *title);
bool srv_store_conv_delete(srv_store *store, const char *owner, const char *id);
/* Appends a message; `ember` (may be NULL) is a JSON object of ember's results. */
bool srv_store_conv_append(srv_store *store, const char *owner, const char *id, const char *role,
                           const char *content, const char *reasoning, json_t *ember);

#endif
