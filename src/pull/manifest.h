/*
 * manifest.h — the model store on disk.
 *
 * Layout under the store directory D (see ember_store_dir):
 *   D/repos/<owner>/<name>/<path>                files, at their repository paths
 *   D/repos/<owner>/<name>/<path>.partial        a download in progress (resumable)
 *   D/manifests/<owner>/<name>/<QUANT>.json      one manifest per pulled model
 *   D/locks/<owner>/<name>.lock                  flock()ed while a pull or rm works on a repo
 *
 * A manifest is JSON:
 *   {"format": 1, "name": "owner/name:QUANT", "repo": "owner/name", "quant": "QUANT",
 *    "revision": "<commit>", "endpoint": "https://huggingface.co",
 *    "files": [{"path": "...", "role": "model"|"mmproj", "size": N,
 *               "sha256": "<hex>" | "git_oid": "<hex>"}, ...],
 *    "size": N, "pulled_at": "2025-06-01T12:00:00Z", "last_used": "…" | null}
 * Model parts come first, in order; the projector (if any) last. A manifest is written (by
 * rename, atomically) only after every file it lists was verified, so a manifest always
 * describes a complete model; files may be shared by manifests of the same repository.
 */
#ifndef EMBER_PULL_MANIFEST_H
#define EMBER_PULL_MANIFEST_H

#include "ember.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pull_manifest_file {
    char *path;          /* repository path; owned; pull_path_is_safe() holds */
    bool mmproj;         /* the vision projector (else a model part) */
    uint64_t size;       /* bytes */
    char sha256[65];     /* lowercase hex, or "" */
    char git_oid[41];    /* lowercase hex, or "" (used when there is no sha256) */
} pull_manifest_file;

typedef struct pull_manifest {
    char repo[256];          /* "owner/name" */
    char quant[64];          /* "Q4_K_M" */
    char revision[48];       /* commit the files came from, or "main" */
    char endpoint[512];      /* where they came from */
    pull_manifest_file *files; /* owned */
    size_t n_files;
    int64_t pulled_at;       /* Unix seconds */
    int64_t last_used;       /* Unix seconds; 0 = never */
} pull_manifest;

void pull_manifest_free(pull_manifest *m);

/* Parses a manifest (untrusted: fuzzed). EMBER_ERR_FORMAT when malformed. */
ember_status pull_manifest_parse(const char *json, size_t len, pull_manifest *m,
                                 ember_error *err);
/* The manifest as JSON; the caller frees it. NULL on allocation failure. */
char *pull_manifest_dump(const pull_manifest *m);

/* Reads a manifest file; writes one atomically (temporary file, fsync, rename). */
ember_status pull_manifest_load(const char *path, pull_manifest *m, ember_error *err);
ember_status pull_manifest_save(const pull_manifest *m, const char *path, ember_error *err);

/* The store directory: `override` if given, else $EMBER_MODELS, else
 * $XDG_CACHE_HOME/ember/models, else $HOME/.cache/ember/models. */
ember_status pull_store_dir(const char *override, char *out, size_t size, ember_error *err);

/* Paths inside the store; false when they do not fit. */
bool pull_manifest_path(const char *dir, const char *repo, const char *quant, char *out,
                        size_t size);
bool pull_repo_file_path(const char *dir, const char *repo, const char *rel, char *out,
                         size_t size);

/* Takes the repository's lock without waiting; EMBER_ERR_BUSY when another process holds it.
 * Release with pull_unlock (closing the descriptor). */
ember_status pull_lock(const char *dir, const char *repo, int *fd, ember_error *err);
void pull_unlock(int fd);

/* Every readable manifest of the store, sorted by name; unreadable ones are skipped. */
typedef struct pull_manifest_set {
    pull_manifest *items;   /* owned */
    char **paths;           /* the file each item was read from; owned */
    size_t count;
} pull_manifest_set;

ember_status pull_manifest_scan(const char *dir, pull_manifest_set *set, ember_error *err);
void pull_manifest_set_free(pull_manifest_set *set);

/* Finds the one manifest `name` designates: "owner/name:QUANT", "owner/name" (when only one
 * quantization is pulled), or the short forms "name[:QUANT]" and, for repositories ending in
 * "-GGUF", the name without it — all case-insensitive. EMBER_ERR_NOT_FOUND when none,
 * EMBER_ERR_INVALID when several match (the message lists them). */
ember_status pull_manifest_match(const pull_manifest_set *set, const char *name, size_t *index,
                                 ember_error *err);

/* Describes a manifest as a store entry (paths under `dir`; `complete` checks the files). */
void pull_manifest_entry(const char *dir, const pull_manifest *m, ember_store_entry *entry);

#endif
