/*
 * ember/core.h — what every part of libember shares: the export macro, statuses and errors.
 *
 * Conventions of every ember header: every type has a create/destroy pair; destroy accepts NULL.
 * Functions that can fail return an ember_status and, when `err` is not NULL, fill it with a
 * readable message. Strings returned by getters are owned by the object they come from and live
 * as long as it. Nothing in the library calls exit() or writes to stdout.
 *
 * Threads: an ember_error belongs to the caller; use one per thread.
 */
#ifndef EMBER_PUBLIC_CORE_H
#define EMBER_PUBLIC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EMBER_BUILDING)
#define EMBER_API __attribute__((visibility("default")))
#else
#define EMBER_API
#endif

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                    */

typedef enum ember_status {
    EMBER_OK = 0,
    EMBER_ERR_INVALID,      /* a parameter or request is malformed */
    EMBER_ERR_NOT_FOUND,    /* a file, model, tool or object does not exist */
    EMBER_ERR_FORMAT,       /* a file is not what it claims (not a GGUF, corrupt image, …) */
    EMBER_ERR_UNSUPPORTED,  /* understood, but not supported (architecture, image type, …) */
    EMBER_ERR_CONTEXT,      /* the prompt or generation does not fit the context window */
    EMBER_ERR_NOMEM,        /* an allocation failed */
    EMBER_ERR_ENGINE,       /* llama.cpp failed to load or decode */
    EMBER_ERR_CANCELLED,    /* the caller cancelled the operation */
    EMBER_ERR_IO,           /* a read, write or network operation failed */
    EMBER_ERR_TIMEOUT,      /* an operation ran past its time limit */
    EMBER_ERR_BUSY,         /* no sequence slot is free right now; try again later */
} ember_status;

typedef struct ember_error {
    ember_status status;   /* EMBER_OK when nothing failed */
    char message[512];     /* human-readable, NUL-terminated; empty when status is EMBER_OK */
} ember_error;

/* A short constant name for a status ("invalid", "context", …). */
EMBER_API const char *ember_status_name(ember_status status);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_PUBLIC_CORE_H */
