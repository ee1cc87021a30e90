/*
 * util.h — small helpers the pull module shares (errors go through core's ember_fail): safe repository paths,
 * directories, timestamps.
 *
 * Invariants: every path that comes from the network passes pull_path_is_safe() before it is
 * joined to a directory; nothing here allocates.
 */
#ifndef EMBER_PULL_UTIL_H
#define EMBER_PULL_UTIL_H

#include "ember.h"
#include "core/error.h"
#include "core/strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when `path` is a relative path made of ordinary components: no "", ".", ".." or
 * hidden ("."-prefixed) components, no backslashes or control characters, at most 1000
 * bytes. Repository paths from the Hub are joined to the store only when this holds. */
bool pull_path_is_safe(const char *path);

/* True when `repo` is "owner/name", each part 1–96 characters of [A-Za-z0-9._-] that do
 * not start with '.' or '-' and contain no "..". */
bool pull_repo_is_valid(const char *repo);

/* snprintf that reports truncation: false when the result did not fit. */
bool pull_format(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* mkdir -p for the directory `path` (mode 0755). */
ember_status pull_mkdirs(const char *path, ember_error *err);
/* mkdir -p for the directory that will contain the file `path`. */
ember_status pull_mkdirs_for(const char *path, ember_error *err);
/* Removes the empty directories from dirname(path) up to, not including, `stop`. */
void pull_rmdirs_up(const char *path, const char *stop);

/* Case-insensitive ASCII comparisons. */
bool pull_ieq(const char *a, const char *b);
bool pull_icontains(const char *haystack, const char *needle);

/* The last path component. */
const char *pull_basename(const char *path);

/* "2025-06-01T12:00:00Z" for a Unix time, and back (-1 when malformed). */
void pull_time_format(int64_t t, char out[32]);
int64_t pull_time_parse(const char *text);

/* A raw HTTP header line (libcurl's header callback: "Name: value\r\n", not NUL-terminated):
 * when it is header `name` (case-insensitive), its trimmed value into out (cut to size). */
bool pull_header_value(const char *line, size_t len, const char *name, char *out, size_t size);

/* "1.5 GB"-style decimal size for messages. */
void pull_size_format(uint64_t bytes, char out[32]);

#endif
