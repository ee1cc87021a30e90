/*
 * digest.h — the checksums a pulled file is verified against, computed while it streams.
 *
 * The Hub records two kinds: LFS files carry the SHA-256 of their bytes (lfs.oid); small
 * files kept in git carry only their git blob id, the SHA-1 of "blob <size>\0" followed by
 * the bytes. A pull_digest computes whichever one the file has. Backed by nettle.
 */
#ifndef EMBER_PULL_DIGEST_H
#define EMBER_PULL_DIGEST_H

#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pull_digest_kind {
    PULL_DIGEST_SHA256,   /* plain SHA-256 of the bytes (the Hub's lfs.oid) */
    PULL_DIGEST_GIT_SHA1, /* git blob id: SHA-1 over "blob <size>\0" + bytes */
} pull_digest_kind;

typedef struct pull_digest {
    pull_digest_kind kind;
    struct sha256_ctx sha256;
    struct sha1_ctx sha1;
} pull_digest;

/* Starts a digest; `size` is the file's full size (part of the git blob header). */
void pull_digest_init(pull_digest *d, pull_digest_kind kind, uint64_t size);
void pull_digest_update(pull_digest *d, const void *data, size_t len);
/* Writes the lowercase hex digest (64 or 40 characters) and a NUL into `hex`. */
void pull_digest_hex(pull_digest *d, char hex[65]);

/* True when `text` is exactly `n` hex digits (either case). */
bool pull_is_hex(const char *text, size_t n);

#endif
