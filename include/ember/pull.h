/*
 * ember/pull.h — the model store and `ember pull` from the Hugging Face Hub.
 * Threads: store functions may run on any thread; two pulls of one repository exclude each
 * other (EMBER_ERR_BUSY), as do a pull and a remove of it.
 */
#ifndef EMBER_PUBLIC_PULL_H
#define EMBER_PUBLIC_PULL_H

#include "ember/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Model store and pull                                                                     */
/*
 * The model store: GGUF models pulled from the Hugging Face Hub (or a mirror with its API).
 *
 *   1. The store is a directory: $EMBER_MODELS, else $XDG_CACHE_HOME/ember/models, else
 *      ~/.cache/ember/models. A pulled model is one quantization of one repository; its name
 *      is "owner/repo:QUANT" (e.g. "unsloth/Muse-Glimmer-30B-GGUF:Q4_K_M").
 *   2. Files keep their repository paths under repos/<owner>/<repo>/ (a projector shared by
 *      two quantizations is stored once); each model has a JSON manifest under
 *      manifests/<owner>/<repo>/<QUANT>.json with its files, sizes, sha256, pulled_at and
 *      last_used. A manifest is written only after every file was verified.
 *   3. A download lands in "<file>.partial" and takes its final name (rename) only after its
 *      size and sha256 match the Hub's. An interrupted pull resumes from the partial file
 *      with an HTTP Range request when the same pull runs again.
 */

typedef struct ember_store_entry {
    char name[384];          /* "owner/repo:QUANT": what resolve, rm and list use */
    char repo[256];          /* "owner/repo" */
    char quant[64];          /* quantization label from the file name, e.g. "Q4_K_M" */
    char model_path[1024];   /* the model GGUF (the first part of a split model) */
    char mmproj_path[1024];  /* the vision projector GGUF, or empty */
    uint64_t size;           /* bytes of all the model's files, the projector included */
    int n_parts;             /* GGUF parts of the model: 1 unless it is split */
    bool has_vision;         /* a projector was pulled with it */
    bool complete;           /* every file is on disk with its recorded size */
    int64_t pulled_at;       /* Unix seconds */
    int64_t last_used;       /* Unix seconds of the last ember_store_resolve; 0 = never */
} ember_store_entry;

/* The store directory (as described above; it may not exist yet). Fails with
 * EMBER_ERR_NOT_FOUND when neither EMBER_MODELS, XDG_CACHE_HOME nor HOME is set. */
EMBER_API ember_status ember_store_dir(char *dir, size_t size, ember_error *err);

/* Finds a model for `name_or_path`. A path to an existing file is copied to model_path as-is
 * (mmproj_path is then empty). Otherwise the name of a pulled model — "owner/repo:QUANT",
 * "owner/repo" when one quantization of it is pulled, or the short "repo[:QUANT]" when that
 * is unique — gives its model file (the first part of a split GGUF, which llama.cpp loads)
 * and its projector (or ""), and records the use in last_used. Searches the store of
 * ember_store_dir(). Fails with EMBER_ERR_NOT_FOUND (no such file or model, or its files are
 * gone), EMBER_ERR_INVALID (the name matches several models; the message lists them, or a
 * buffer is too small). mmproj_path may be NULL. */
EMBER_API ember_status ember_store_resolve(const char *name_or_path, char *model_path,
                                           size_t model_path_size, char *mmproj_path,
                                           size_t mmproj_path_size, ember_error *err);

/* Every pulled model of the store in `models_dir` (NULL = ember_store_dir()), sorted by name,
 * in an array the caller frees with ember_store_list_free. An absent store is empty. */
EMBER_API ember_status ember_store_list(const char *models_dir, ember_store_entry **entries,
                                        size_t *count, ember_error *err);
EMBER_API void ember_store_list_free(ember_store_entry *entries);

/* Deletes a pulled model (named as for ember_store_resolve): its manifest and the files no
 * other pulled model shares. `removed` (may be NULL) receives what it was. Fails with
 * EMBER_ERR_NOT_FOUND, EMBER_ERR_INVALID (ambiguous name), EMBER_ERR_BUSY (a pull of the same
 * repository is running) or EMBER_ERR_IO. */
EMBER_API ember_status ember_store_remove(const char *models_dir, const char *name,
                                          ember_store_entry *removed, ember_error *err);

typedef enum ember_pull_stage {
    EMBER_PULL_RESOLVING,    /* asking the Hub for the repository's files */
    EMBER_PULL_CHECKING,     /* hashing bytes already on disk (a partial or present file) */
    EMBER_PULL_DOWNLOADING,  /* receiving a file */
    EMBER_PULL_RETRYING,     /* the connection failed; resuming after a pause (message says) */
    EMBER_PULL_VERIFIED,     /* a file matched its sha256 and took its final name */
    EMBER_PULL_DONE,         /* every file is in place and the manifest is written */
} ember_pull_stage;

typedef struct ember_pull_progress {
    ember_pull_stage stage;
    const char *name;        /* "owner/repo:QUANT" once the files are chosen, else the request */
    const char *file;        /* repository path of the current file; NULL before there is one */
    const char *message;     /* for EMBER_PULL_RETRYING: why; else NULL */
    int file_index;          /* 0-based index of the current file */
    int file_count;          /* files this pull needs */
    uint64_t file_bytes;     /* bytes of the current file on disk (or hashed, when checking) */
    uint64_t file_size;      /* its full size */
    uint64_t resumed_from;   /* bytes of it that were already on disk when it started */
    uint64_t total_bytes;    /* bytes of all files on disk */
    uint64_t total_size;     /* bytes of all files */
    double bytes_per_s;      /* recent download speed; 0 when unknown */
} ember_pull_progress;

/* Called on the pulling thread, at most ~10 times a second per file plus once per stage
 * change. The struct and its strings live only during the call. */
typedef void (*ember_pull_progress_fn)(const ember_pull_progress *progress, void *user);

typedef struct ember_pull_params {
    const char *models_dir;     /* store directory; NULL = ember_store_dir() */
    const char *endpoint;       /* Hub URL; NULL = $HF_ENDPOINT, else https://huggingface.co */
    const char *token;          /* access token; NULL = $HF_TOKEN; sent to the endpoint only */
    int retries;                /* automatic resumes after a network failure (0 = none) */
    ember_pull_progress_fn on_progress; /* may be NULL */
    void *user;                 /* passed to on_progress */
    const volatile int *cancel; /* may be NULL; when *cancel becomes nonzero (e.g. from a
                                   SIGINT handler) the pull stops soon with
                                   EMBER_ERR_CANCELLED, keeping partial files to resume */
} ember_pull_params;

EMBER_API void ember_pull_params_init(ember_pull_params *params);

/* Downloads "owner/repo[:QUANT]" into the store: the GGUF of that quantization (QUANT
 * matched case-insensitively against the quantization in the file names; default Q4_K_M if
 * present, else the first GGUF; every part of a split GGUF) and the matching projector, if
 * the repository has one. Checks free disk space first, resumes partial files, verifies every
 * file's sha256, then writes the manifest; files already verified are not downloaded again.
 * `pulled` (may be NULL) receives the model's store entry. Fails with EMBER_ERR_NOT_FOUND
 * (no such repository, or no file for that quantization: the message lists the available
 * ones), EMBER_ERR_INVALID (a malformed name; authentication required or refused: set
 * HF_TOKEN), EMBER_ERR_IO (network failure: run the same pull again to resume; not enough
 * disk space), EMBER_ERR_FORMAT (a checksum mismatch: the file was deleted), EMBER_ERR_BUSY
 * (another pull of the repository runs) or EMBER_ERR_CANCELLED. */
EMBER_API ember_status ember_pull(const char *spec, const ember_pull_params *params,
                                  ember_store_entry *pulled, ember_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_PUBLIC_PULL_H */
