/*
 * download.h — fetching one file into the store, resumably and verified.
 *
 * The protocol, for a file F of `size` bytes:
 *   1. Bytes go to "F.partial". When it exists with n < size bytes, those bytes are hashed
 *      first and the request asks for "Range: bytes=n-". A 206 answer must start at n
 *      (Content-Range) and is appended; a 200 answer means the server ignored the range: the
 *      partial file is truncated and refilled from byte 0. A 416 answer means there is
 *      nothing left to send.
 *   2. A network failure keeps the partial file; with retries left, the request is repeated
 *      from where it stopped after a pause, else the error says to run the pull again.
 *   3. At `size` bytes the digest must match: then the partial is fsync()ed and renamed to F.
 *      On a mismatch (or more bytes than announced) the partial file is deleted. When the
 *      mismatching file had been resumed (its kept bytes may come from an older revision),
 *      it is downloaded once more from byte 0 before the mismatch is reported.
 *
 * Blocking; calls `on_bytes` on the calling thread.
 */
#ifndef EMBER_PULL_DOWNLOAD_H
#define EMBER_PULL_DOWNLOAD_H

#include "pull/hub.h"

/* Progress from one file: `stage` is CHECKING, DOWNLOADING, RETRYING or VERIFIED. */
typedef void (*pull_bytes_fn)(void *user, ember_pull_stage stage, uint64_t file_bytes,
                              uint64_t resumed_from, const char *message);

typedef struct pull_download {
    const hub_client *client;   /* endpoint, token, cancel flag */
    const char *repo;           /* "owner/name", for messages */
    const char *file;           /* repository path, for messages */
    const char *url;            /* where to GET it */
    const char *final_path;     /* where it ends up */
    uint64_t size;              /* bytes the Hub announced */
    const char *sha256;         /* expected lowercase hex, or "" */
    const char *git_oid;        /* expected git blob id when there is no sha256, or "" */
    int retries;                /* automatic resumes after network failures */
    double retry_pause;         /* seconds before the first retry (doubles each time) */
    pull_bytes_fn on_bytes;     /* may be NULL */
    void *user;
} pull_download;

/* Runs the protocol above. Fails with EMBER_ERR_IO (network or disk; the partial file is
 * kept and the message says to run the pull again), EMBER_ERR_FORMAT (checksum mismatch or
 * oversized file; the partial file is deleted), EMBER_ERR_CANCELLED, or the Hub errors of
 * hub_http_error. */
ember_status pull_download_file(const pull_download *d, ember_error *err);

/* Checks a file already at its final path: EMBER_OK when its size and digest match,
 * EMBER_ERR_FORMAT when they do not, EMBER_ERR_CANCELLED or EMBER_ERR_IO. Reports
 * CHECKING progress. */
ember_status pull_verify_file(const pull_download *d, ember_error *err);

#endif
