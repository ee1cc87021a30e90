/* digest.c — see digest.h. */
#include "pull/digest.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void pull_digest_init(pull_digest *d, pull_digest_kind kind, uint64_t size) {
    memset(d, 0, sizeof *d);
    d->kind = kind;
    if (kind == PULL_DIGEST_SHA256) {
        sha256_init(&d->sha256);
    } else {
        sha1_init(&d->sha1);
        char header[40];
        int n = snprintf(header, sizeof header, "blob %llu", (unsigned long long)size);
        sha1_update(&d->sha1, (size_t)n + 1, (const uint8_t *)header); /* includes the NUL */
    }
}

void pull_digest_update(pull_digest *d, const void *data, size_t len) {
    if (d->kind == PULL_DIGEST_SHA256)
        sha256_update(&d->sha256, len, data);
    else
        sha1_update(&d->sha1, len, data);
}

void pull_digest_hex(pull_digest *d, char hex[65]) {
    uint8_t raw[SHA256_DIGEST_SIZE];
    size_t n;
    if (d->kind == PULL_DIGEST_SHA256) {
        n = SHA256_DIGEST_SIZE;
        sha256_digest(&d->sha256, n, raw);
    } else {
        n = SHA1_DIGEST_SIZE;
        sha1_digest(&d->sha1, n, raw);
    }
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[2 * n] = '\0';
}

bool pull_is_hex(const char *text, size_t n) {
    if (!text || strlen(text) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)text[i])) return false;
    return true;
}
