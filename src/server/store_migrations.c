/*
 * store_migrations.c — the store's schema, as numbered migrations shared by both drivers
 * (db.h explains the {tokens}). Append a migration to change the schema; never edit one that
 * has shipped: databases remember which versions they have applied. No ';' inside literals.
 */
#include "server/store.h"

const char *const srv_store_migrations[] = {
    /* 1: keys (SHA-256 hashes only), conversations and their messages. IF NOT EXISTS: the
     * SQLite files of ember before migrations existed already hold these tables. */
    "CREATE TABLE IF NOT EXISTS keys ("
    "  id {serial}, name TEXT UNIQUE NOT NULL, hash TEXT UNIQUE NOT NULL,"
    "  prefix TEXT NOT NULL, created_at BIGINT NOT NULL, last_used BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS conversations ("
    "  id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL {order_column});"
    "CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated_at);"
    "CREATE TABLE IF NOT EXISTS messages ("
    "  id {serial},"
    "  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL, content TEXT NOT NULL, reasoning TEXT, ember TEXT,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id, id);",
    /* 2: branches. Every message follows a parent (NULL: the first of its conversation);
     * editing a message or regenerating an answer adds a sibling. A conversation shows the
     * path from its first message to its head. Existing conversations become one path. */
    "ALTER TABLE messages ADD COLUMN parent_id BIGINT REFERENCES messages (id) ON DELETE CASCADE;"
    "ALTER TABLE conversations ADD COLUMN head_id BIGINT;"
    "UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p"
    "  WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id);"
    "UPDATE conversations SET head_id = (SELECT max(m.id) FROM messages m WHERE m.conversation_id = conversations.id);"
    "CREATE INDEX IF NOT EXISTS messages_parent ON messages (conversation_id, parent_id, id);",
};

const int srv_store_n_migrations = (int)(sizeof srv_store_migrations / sizeof srv_store_migrations[0]);
