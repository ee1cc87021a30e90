/* download.c — one resumable, verified file download (see download.h). */
#include "pull/download.h"
#include "core/clock.h"
#include "pull/digest.h"
#include "pull/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HASH_CHUNK (1u << 20)

static bool cancelled(const pull_download *d) {
    return d->client->cancel && *d->client->cancel;
}

static void report(const pull_download *d, ember_pull_stage stage, uint64_t bytes,
                   uint64_t resumed_from, const char *message) {
    if (d->on_bytes) d->on_bytes(d->user, stage, bytes, resumed_from, message);
}

static pull_digest_kind digest_kind(const pull_download *d) {
    return d->sha256[0] ? PULL_DIGEST_SHA256 : PULL_DIGEST_GIT_SHA1;
}

/* Feeds the first `n` bytes of fd into the digest. */
static ember_status hash_prefix(const pull_download *d, int fd, uint64_t n, pull_digest *digest,
                                const char *path, ember_error *err) {
    char *buf = malloc(HASH_CHUNK);
    if (!buf) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory hashing %s", path);
    uint64_t done = 0;
    double last = 0;
    ember_status st = EMBER_OK;
    while (done < n) {
        if (cancelled(d)) {
            st = ember_fail(err, EMBER_ERR_CANCELLED, "cancelled");
            break;
        }
        size_t want = n - done < HASH_CHUNK ? (size_t)(n - done) : HASH_CHUNK;
        ssize_t got = pread(fd, buf, want, (off_t)done);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            st = ember_fail(err, EMBER_ERR_IO, "cannot read %s: %s", path,
                           got < 0 ? strerror(errno) : "unexpected end of file");
            break;
        }
        pull_digest_update(digest, buf, (size_t)got);
        done += (uint64_t)got;
        double now = ember_now_s();
        if (now - last >= 0.1 || done == n) {
            report(d, EMBER_PULL_CHECKING, done, 0, NULL);
            last = now;
        }
    }
    free(buf);
    return st;
}

static bool digest_matches(const pull_download *d, pull_digest *digest, char got[65]) {
    pull_digest_hex(digest, got);
    if (d->sha256[0]) return strcmp(got, d->sha256) == 0;
    if (d->git_oid[0]) return strcmp(got, d->git_oid) == 0;
    return true; /* nothing to compare with: the size had to do */
}

ember_status pull_verify_file(const pull_download *d, ember_error *err) {
    int fd = open(d->final_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ember_fail(err, EMBER_ERR_IO, "cannot read %s: %s", d->final_path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != d->size) {
        close(fd);
        return ember_fail(err, EMBER_ERR_FORMAT, "%s has the wrong size", d->final_path);
    }
    pull_digest digest;
    pull_digest_init(&digest, digest_kind(d), d->size);
    ember_status s = hash_prefix(d, fd, d->size, &digest, d->final_path, err);
    close(fd);
    if (s != EMBER_OK) return s;
    char got[65];
    if (!digest_matches(d, &digest, got))
        return ember_fail(err, EMBER_ERR_FORMAT, "%s does not match the Hub's checksum", d->final_path);
    return EMBER_OK;
}

/* The state of one HTTP attempt. */
typedef struct xfer {
    const pull_download *d;
    int fd;                    /* the partial file */
    pull_digest *digest;       /* of bytes 0..have */
    uint64_t have;             /* bytes in the partial file */
    uint64_t resumed_from;     /* what this attempt started from */
    long code;                 /* status of the current response */
    bool body_started;         /* the final response's body began */
    bool restarted;            /* the server ignored Range: the file restarted at 0 */
    bool range_mismatch;       /* 206 from the wrong offset */
    bool oversize;             /* more bytes than announced */
    int write_errno;           /* a failed write(), or 0 */
    char content_range[128];
    char x_error_code[64];
    char x_error_message[256];
    double last_report;
} xfer;

static size_t on_header(char *data, size_t size, size_t nmemb, void *user) {
    xfer *x = user;
    size_t len = size * nmemb;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', len);
        x->code = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->content_range[0] = x->x_error_code[0] = x->x_error_message[0] = '\0';
        return len;
    }
    if (!pull_header_value(data, len, "Content-Range", x->content_range, sizeof x->content_range) &&
        !pull_header_value(data, len, "X-Error-Code", x->x_error_code, sizeof x->x_error_code))
        pull_header_value(data, len, "X-Error-Message", x->x_error_message, sizeof x->x_error_message);
    return len;
}

/* "bytes 100-199/200" → start 100 */
static bool range_start(const char *content_range, uint64_t *start) {
    if (strncasecmp(content_range, "bytes ", 6) != 0) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(content_range + 6, &end, 10);
    if (errno || end == content_range + 6 || *end != '-') return false;
    *start = v;
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    xfer *x = user;
    const pull_download *d = x->d;
    size_t len = size * nmemb;
    if (cancelled(d)) return 0;
    if (x->code != 200 && x->code != 206) return len; /* an error page or a redirect's body */
    if (!x->body_started) {
        x->body_started = true;
        if (x->code == 206) {
            uint64_t start;
            if (!range_start(x->content_range, &start) || start != x->have) {
                x->range_mismatch = true;
                return 0;
            }
        } else if (x->have > 0) { /* 200: the server ignored our Range */
            if (ftruncate(x->fd, 0) != 0) {
                x->write_errno = errno;
                return 0;
            }
            pull_digest_init(x->digest, digest_kind(d), d->size);
            x->have = 0;
            x->resumed_from = 0;
            x->restarted = true;
        }
    }
    if (x->have + len > d->size) {
        x->oversize = true;
        return 0;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(x->fd, data + done, len - done, (off_t)(x->have + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            x->write_errno = w < 0 ? errno : EIO;
            return 0;
        }
        done += (size_t)w;
    }
    pull_digest_update(x->digest, data, len);
    x->have += len;
    double now = ember_now_s();
    if (now - x->last_report >= 0.1 || x->have == d->size) {
        report(d, EMBER_PULL_DOWNLOADING, x->have, x->resumed_from, NULL);
        x->last_report = now;
    }
    return len;
}

static int on_xferinfo(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    const xfer *x = user;
    return cancelled(x->d) ? 1 : 0;
}

/* One GET from x->have. Returns the curl code; x records the rest. */
static CURLcode attempt(xfer *x, char *curl_err) {
    const pull_download *d = x->d;
    hub_curl_global_init();
    CURL *curl = curl_easy_init();
    if (!curl) return CURLE_OUT_OF_MEMORY;
    struct curl_slist *headers = NULL;
    if (!hub_curl_setup(d->client, curl, &headers)) {
        curl_easy_cleanup(curl);
        return CURLE_OUT_OF_MEMORY;
    }
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, NULL); /* bytes as stored, for Range */
    char range[64];
    if (x->have > 0) {
        snprintf(range, sizeof range, "%" PRIu64 "-", x->have);
        curl_easy_setopt(curl, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(curl, CURLOPT_URL, d->url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    x->code = 0;
    x->body_started = x->range_mismatch = x->oversize = false;
    x->write_errno = 0;
    x->resumed_from = x->have;
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (code) x->code = code;
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    return rc;
}

/* Waits `seconds`, waking early when cancelled. */
static void pause_for(const pull_download *d, double seconds) {
    double until = ember_now_s() + seconds;
    while (!cancelled(d) && ember_now_s() < until) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* One pass of the protocol; *resumed tells whether it started from a partial file. */
static ember_status download_once(const pull_download *d, bool *resumed, ember_error *err) {
    char partial[4200];
    if (!pull_format(partial, sizeof partial, "%s.partial", d->final_path))
        return ember_fail(err, EMBER_ERR_INVALID, "path too long: %s", d->final_path);
    ember_status st = pull_mkdirs_for(partial, err);
    if (st != EMBER_OK) return st;
    int fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ember_fail(err, EMBER_ERR_IO, "cannot write %s: %s", partial, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return ember_fail(err, EMBER_ERR_IO, "cannot stat %s: %s", partial, strerror(errno));
    }
    uint64_t have = (uint64_t)sb.st_size;
    if (have > d->size) { /* from another revision: start over */
        if (ftruncate(fd, 0) != 0) {
            close(fd);
            return ember_fail(err, EMBER_ERR_IO, "cannot truncate %s: %s", partial, strerror(errno));
        }
        have = 0;
    }
    *resumed = have > 0;
    pull_digest digest;
    pull_digest_init(&digest, digest_kind(d), d->size);
    if (have > 0) {
        st = hash_prefix(d, fd, have, &digest, partial, err);
        if (st != EMBER_OK) {
            close(fd);
            return st;
        }
    }

    xfer x = {.d = d, .fd = fd, .digest = &digest, .have = have};
    double pause = d->retry_pause > 0 ? d->retry_pause : 1.0;
    char problem[CURL_ERROR_SIZE + 128] = "";
    for (int tries = 0; x.have < d->size; tries++) { /* nothing to do when already complete */
        char curl_err[CURL_ERROR_SIZE] = "";
        CURLcode rc = attempt(&x, curl_err);
        if (cancelled(d)) {
            close(fd);
            return ember_fail(err, EMBER_ERR_CANCELLED,
                             "cancelled; %s keeps %" PRIu64 " of %" PRIu64
                             " bytes: run the same command again to resume",
                             partial, x.have, d->size);
        }
        if (x.write_errno) {
            close(fd);
            return ember_fail(err, EMBER_ERR_IO, "cannot write %s: %s%s", partial,
                             strerror(x.write_errno),
                             x.write_errno == ENOSPC ? " (the disk is full)" : "");
        }
        if (x.oversize) {
            close(fd);
            unlink(partial);
            return ember_fail(err, EMBER_ERR_FORMAT,
                             "%s sent more than the %" PRIu64 " bytes the Hub announced; the "
                             "partial file was deleted", d->file, d->size);
        }
        bool transient;
        if (x.range_mismatch) {
            /* the server answered a different range than asked: start this file over */
            if (ftruncate(fd, 0) != 0) {
                close(fd);
                return ember_fail(err, EMBER_ERR_IO, "cannot truncate %s: %s", partial, strerror(errno));
            }
            pull_digest_init(&digest, digest_kind(d), d->size);
            x.have = 0;
            snprintf(problem, sizeof problem, "the server answered another byte range (%s)",
                     x.content_range);
            transient = true;
        } else if (x.code == 416) {
            if (x.have == d->size) break;
            if (ftruncate(fd, 0) != 0) {
                close(fd);
                return ember_fail(err, EMBER_ERR_IO, "cannot truncate %s: %s", partial, strerror(errno));
            }
            pull_digest_init(&digest, digest_kind(d), d->size);
            x.have = 0;
            snprintf(problem, sizeof problem, "the server refused to resume (HTTP 416)");
            transient = true;
        } else if (rc == CURLE_OK && (x.code == 200 || x.code == 206)) {
            if (x.have == d->size) break;
            snprintf(problem, sizeof problem, "the connection closed early");
            transient = true;
        } else if (x.code >= 400 && x.code != 408 && x.code != 429 && x.code < 500) {
            close(fd);
            return hub_http_error(d->client, d->repo, d->file, x.code, x.x_error_code,
                                  x.x_error_message, err);
        } else if (x.code >= 300 && x.code < 400 && rc == CURLE_OK) {
            close(fd);
            return ember_fail(err, EMBER_ERR_IO, "too many redirects downloading %s", d->file);
        } else {
            if (rc != CURLE_OK)
                snprintf(problem, sizeof problem, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
            else
                snprintf(problem, sizeof problem, "HTTP %ld", x.code);
            transient = true;
        }
        if (transient && tries >= d->retries) {
            char have_s[32], size_s[32];
            pull_size_format(x.have, have_s);
            pull_size_format(d->size, size_s);
            close(fd);
            return ember_fail(err, EMBER_ERR_IO,
                             "the download of %s stopped at %s of %s (%s). The partial file is "
                             "kept: run the same command again to resume",
                             d->file, have_s, size_s, problem);
        }
        char msg[sizeof problem + 64];
        snprintf(msg, sizeof msg, "%s; resuming in %.0f s", problem, pause);
        report(d, EMBER_PULL_RETRYING, x.have, x.have, msg);
        pause_for(d, pause);
        pause = pause * 2 < 60 ? pause * 2 : 60;
    }

    char got[65];
    if (!digest_matches(d, &digest, got)) {
        close(fd);
        unlink(partial);
        return ember_fail(err, EMBER_ERR_FORMAT,
                         "checksum mismatch for %s: the Hub says %s %s, the download has %s. "
                         "The corrupted file was deleted; run the same command again to "
                         "download it anew",
                         d->file, d->sha256[0] ? "sha256" : "git oid",
                         d->sha256[0] ? d->sha256 : d->git_oid, got);
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return ember_fail(err, EMBER_ERR_IO, "cannot flush %s: %s", partial, strerror(e));
    }
    close(fd);
    if (rename(partial, d->final_path) != 0)
        return ember_fail(err, EMBER_ERR_IO, "cannot rename %s to %s: %s", partial,
                         d->final_path, strerror(errno));
    report(d, EMBER_PULL_VERIFIED, d->size, x.resumed_from, NULL);
    return EMBER_OK;
}

ember_status pull_download_file(const pull_download *d, ember_error *err) {
    bool resumed = false;
    ember_status st = download_once(d, &resumed, err);
    if (st == EMBER_ERR_FORMAT && resumed && !cancelled(d)) {
        /* The kept bytes may come from an older revision of the file: start over, once. */
        report(d, EMBER_PULL_RETRYING, 0, 0,
               "the resumed download did not match its checksum; downloading it again from "
               "the start");
        st = download_once(d, &resumed, err);
    }
    return st;
}
