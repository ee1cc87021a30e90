/* fake_hub.c — see fake_hub.h. */
#include "fake_hub.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE 3
#define MAX_FILES 8

typedef struct fh_file {
    const char *path;
    uint64_t size;
    bool lfs;          /* stored in LFS (sha256 in the tree) rather than git */
    bool directory;    /* a folder entry of the listing */
    uint8_t *data;     /* generated; NULL for the huge file */
    char sha256[65];
    char git_oid[41];
    int requests;
    char last_range[64];
} fh_file;

typedef struct fh_repo {
    const char *id;
    const char *sha;
    bool gated;
    fh_file files[MAX_FILES];
} fh_repo;

struct fake_hub {
    struct MHD_Daemon *daemon;
    char url[64];
    pthread_mutex_t lock;
    fh_repo repos[5];
    int n_repos;
    char drop_path[256];
    uint64_t drop_after;
    char corrupt_path[256];
    bool ignore_range;
    uint64_t throttle;   /* bytes per second for file bodies; 0 = as fast as possible */
    int tree_requests;
};

#define KB 1024u
#define FILE_GIT(p, s) {.path = (p), .size = (s)}
#define FILE_LFS(p, s) {.path = (p), .size = (s), .lfs = true}
#define FOLDER(p) {.path = (p), .directory = true}
static const fh_repo repo_table[] = {
    {.id = "test/Tiny-GGUF", .sha = "1111111111111111111111111111111111111111",
     .files = {FILE_GIT("README.md", 300), FILE_LFS("Tiny-Q4_K_M.gguf", 300 * KB),
               FILE_LFS("Tiny-Q8_0.gguf", 500 * KB), FILE_LFS("mmproj-Tiny-F16.gguf", 64 * KB),
               FILE_LFS("mmproj-Tiny-F32.gguf", 100 * KB)}},
    {.id = "test/Split-GGUF", .sha = "2222222222222222222222222222222222222222",
     .files = {FOLDER("Q4_K_M"), FILE_LFS("Q4_K_M/Split-Q4_K_M-00001-of-00003.gguf", 100 * KB),
               FILE_LFS("Q4_K_M/Split-Q4_K_M-00002-of-00003.gguf", 100 * KB),
               FILE_LFS("Q4_K_M/Split-Q4_K_M-00003-of-00003.gguf", 50 * KB + 7),
               FILE_LFS("Split-Q8_0.gguf", 200 * KB)}},
    {.id = "test/NoQ4-GGUF", .sha = "3333333333333333333333333333333333333333",
     .files = {FILE_LFS("NoQ4-F16.gguf", 20 * KB), FILE_GIT("NoQ4-Q2_K.gguf", 2 * KB),
               FILE_LFS("NoQ4-Q8_0.gguf", 10 * KB)}},
    {.id = "test/Gated-GGUF", .sha = "4444444444444444444444444444444444444444", .gated = true,
     .files = {FILE_LFS("Gated-Q4_K_M.gguf", 40 * KB)}},
    {.id = "test/Huge-GGUF", .sha = "5555555555555555555555555555555555555555",
     .files = {FILE_LFS("Huge-Q4_K_M.gguf", 1ull << 52)}},
};

static void hex(const uint8_t *raw, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[2 * n] = '\0';
}

/* GGUF magic, version 3, then bytes from a generator seeded by the path. */
static void generate(fh_file *f) {
    f->data = malloc(f->size ? f->size : 1);
    uint64_t s = 1469598103934665603ull;
    for (const char *p = f->path; *p; p++) s = (s ^ (uint8_t)*p) * 1099511628211ull;
    for (uint64_t i = 0; i < f->size; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        f->data[i] = (uint8_t)s;
    }
    if (f->size >= 8 && strstr(f->path, ".gguf")) {
        memcpy(f->data, "GGUF", 4);
        f->data[4] = 3;
        f->data[5] = f->data[6] = f->data[7] = 0;
    }
    uint8_t raw[32];
    struct sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, f->size, f->data);
    sha256_digest(&sc, 32, raw);
    hex(raw, 32, f->sha256);
    struct sha1_ctx hc;
    char header[40];
    int n = snprintf(header, sizeof header, "blob %llu", (unsigned long long)f->size);
    sha1_init(&hc);
    sha1_update(&hc, (size_t)n + 1, (const uint8_t *)header);
    sha1_update(&hc, f->size, f->data);
    sha1_digest(&hc, 20, raw);
    hex(raw, 20, f->git_oid);
}

static fh_repo *find_repo(fake_hub *hub, const char *rest, const char **after) {
    for (int i = 0; i < hub->n_repos; i++) {
        size_t n = strlen(hub->repos[i].id);
        if (strncmp(rest, hub->repos[i].id, n) == 0 && (rest[n] == '\0' || rest[n] == '/')) {
            *after = rest + n;
            return &hub->repos[i];
        }
    }
    return NULL;
}

static fh_file *find_file(fh_repo *repo, const char *path) {
    for (int i = 0; i < MAX_FILES && repo->files[i].path; i++)
        if (!repo->files[i].directory && strcmp(repo->files[i].path, path) == 0) return &repo->files[i];
    return NULL;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *body,
                                 const char *content_type, const char *x_code, const char *x_msg) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", content_type);
    if (x_code) MHD_add_response_header(r, "X-Error-Code", x_code);
    if (x_msg) MHD_add_response_header(r, "X-Error-Message", x_msg);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, json_t *value, const char *link) {
    char *text = json_dumps(value, JSON_COMPACT);
    json_decref(value);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (link) MHD_add_response_header(r, "Link", link);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result repo_not_found(struct MHD_Connection *c) {
    bool auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization") != NULL;
    return send_text(c, auth ? 404 : 401, "{\"error\":\"Repository not found\"}",
                     "application/json", "RepoNotFound", "Repository not found");
}

static enum MHD_Result api(fake_hub *hub, struct MHD_Connection *c, const char *rest) {
    const char *after;
    fh_repo *repo = find_repo(hub, rest, &after);
    if (!repo) return repo_not_found(c);
    if (*after == '\0') {
        json_t *info = json_object();
        json_object_set_new(info, "id", json_string(repo->id));
        json_object_set_new(info, "sha", json_string(repo->sha));
        json_object_set_new(info, "gated", repo->gated ? json_string("manual") : json_false());
        json_t *siblings = json_array();
        for (int i = 0; i < MAX_FILES && repo->files[i].path; i++)
            if (!repo->files[i].directory)
                json_array_append_new(siblings, json_pack("{ss}", "rfilename", repo->files[i].path));
        json_object_set_new(info, "siblings", siblings);
        return send_json(c, info, NULL);
    }
    if (strncmp(after, "/tree/", 6) != 0) return send_text(c, 404, "not found", "text/plain", NULL, NULL);
    const char *rev = after + 6;
    const char *cursor = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
    int start = cursor ? atoi(cursor) : 0;
    pthread_mutex_lock(&hub->lock);
    hub->tree_requests++;
    pthread_mutex_unlock(&hub->lock);
    int n = 0;
    while (n < MAX_FILES && repo->files[n].path) n++;
    json_t *page = json_array();
    for (int i = start; i < n && i < start + PAGE; i++) {
        fh_file *f = &repo->files[i];
        json_t *e = json_object();
        json_object_set_new(e, "type", json_string(f->directory ? "directory" : "file"));
        json_object_set_new(e, "oid", json_string(f->directory ? "0000000000000000000000000000000000000000" : f->git_oid));
        json_object_set_new(e, "size", json_integer(f->lfs ? (json_int_t)f->size : (json_int_t)f->size));
        json_object_set_new(e, "path", json_string(f->path));
        if (f->lfs)
            json_object_set_new(e, "lfs", json_pack("{sssIsi}", "oid", f->sha256, "size",
                                                    (json_int_t)f->size, "pointerSize", 134));
        json_array_append_new(page, e);
    }
    char link[512];
    bool more = start + PAGE < n;
    if (more)
        snprintf(link, sizeof link, "<%s/api/models/%s/tree/%s?recursive=true&cursor=%d>; rel=\"next\"",
                 hub->url, repo->id, rev, start + PAGE);
    return send_json(c, page, more ? link : NULL);
}

static enum MHD_Result resolve(fake_hub *hub, struct MHD_Connection *c, fh_repo *repo,
                               const char *after) {
    const char *rev = after + strlen("/resolve/");
    const char *path = strchr(rev, '/');
    if (!path) return send_text(c, 404, "not found", "text/plain", "EntryNotFound", "Entry not found");
    path++;
    if (repo->gated) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!auth)
            return send_text(c, 401, "gated", "text/plain", "GatedRepo",
                             "Access to model is restricted. You must be authenticated.");
        if (strcmp(auth, "Bearer " FAKE_HUB_TOKEN) != 0)
            return send_text(c, 403, "gated", "text/plain", "GatedRepo",
                             "Access to model is restricted and you are not in the authorized list.");
    }
    if (!find_file(repo, path))
        return send_text(c, 404, "not found", "text/plain", "EntryNotFound", "Entry not found");
    char location[1024];
    snprintf(location, sizeof location, "/cdn/%s/%s", repo->id, path);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Location", location);
    char size[32];
    snprintf(size, sizeof size, "%llu", (unsigned long long)find_file(repo, path)->size);
    MHD_add_response_header(r, "X-Linked-Size", size);
    enum MHD_Result ret = MHD_queue_response(c, 302, r);
    MHD_destroy_response(r);
    return ret;
}

/* A body served piecewise: it breaks off after `stop` bytes (closing the connection) and
 * trickles at `throttle` bytes per second when that is set. */
typedef struct dropping {
    const uint8_t *data;
    uint64_t len;
    uint64_t stop;
    uint64_t throttle;
} dropping;

static void drop_free(void *cls) {
    dropping *d = cls;
    free((void *)d->data);
    free(d);
}

static ssize_t drop_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    dropping *d = cls;
    if (pos >= d->stop) return MHD_CONTENT_READER_END_WITH_ERROR;
    uint64_t n = d->stop - pos;
    if (n > max) n = max;
    if (d->throttle) {
        uint64_t slice = d->throttle / 20 ? d->throttle / 20 : 1;
        if (n > slice) n = slice;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    memcpy(buf, d->data + pos, (size_t)n);
    return (ssize_t)n;
}

static enum MHD_Result cdn(fake_hub *hub, struct MHD_Connection *c, fh_repo *repo, const char *path) {
    fh_file *f = find_file(repo, path);
    if (!f) return send_text(c, 404, "not found", "text/plain", NULL, NULL);
    if (!f->data) return send_text(c, 500, "too big to serve", "text/plain", NULL, NULL);
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");

    pthread_mutex_lock(&hub->lock);
    f->requests++;
    snprintf(f->last_range, sizeof f->last_range, "%s", range ? range : "");
    bool corrupt = strcmp(hub->corrupt_path, path) == 0;
    bool ignore = hub->ignore_range;
    uint64_t throttle = hub->throttle;
    uint64_t drop = 0;
    if (strcmp(hub->drop_path, path) == 0) {
        drop = hub->drop_after;
        hub->drop_path[0] = '\0';
    }
    pthread_mutex_unlock(&hub->lock);

    uint64_t start = 0;
    if (range && !ignore) {
        unsigned long long v;
        if (sscanf(range, "bytes=%llu-", &v) != 1)
            return send_text(c, 400, "bad range", "text/plain", NULL, NULL);
        start = v;
        if (start >= f->size) {
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)f->size);
            struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(r, "Content-Range", cr);
            enum MHD_Result ret = MHD_queue_response(c, 416, r);
            MHD_destroy_response(r);
            return ret;
        }
    }
    uint64_t len = f->size - start;
    uint8_t *body = malloc(len ? len : 1);
    memcpy(body, f->data + start, len);
    if (corrupt && f->size / 2 >= start) body[f->size / 2 - start] ^= 0x5a;

    struct MHD_Response *r;
    if (drop > start || throttle) {
        dropping *d = malloc(sizeof *d);
        d->data = body;
        d->len = len;
        d->stop = drop > start ? drop - start : len;
        d->throttle = throttle;
        r = MHD_create_response_from_callback(len, 32 * 1024, drop_reader, d, drop_free);
    } else {
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    }
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    MHD_add_response_header(r, "Content-Type", "application/octet-stream");
    unsigned code = 200;
    if (range && !ignore) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)(f->size - 1), (unsigned long long)f->size);
        MHD_add_response_header(r, "Content-Range", cr);
        code = 206;
    }
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
    fake_hub *hub = cls;
    if (strcmp(method, "GET") != 0) return send_text(c, 405, "GET only", "text/plain", NULL, NULL);
    if (strncmp(url, "/api/models/", 12) == 0) return api(hub, c, url + 12);
    const char *after;
    if (strncmp(url, "/cdn/", 5) == 0) {
        fh_repo *repo = find_repo(hub, url + 5, &after);
        if (!repo || *after != '/') return send_text(c, 404, "not found", "text/plain", NULL, NULL);
        return cdn(hub, c, repo, after + 1);
    }
    fh_repo *repo = find_repo(hub, url + 1, &after);
    if (!repo) return repo_not_found(c);
    if (strncmp(after, "/resolve/", 9) == 0) return resolve(hub, c, repo, after);
    return send_text(c, 404, "not found", "text/plain", NULL, NULL);
}

fake_hub *fake_hub_start(void) {
    fake_hub *hub = calloc(1, sizeof *hub);
    pthread_mutex_init(&hub->lock, NULL);
    hub->n_repos = (int)(sizeof repo_table / sizeof repo_table[0]);
    for (int r = 0; r < hub->n_repos; r++) {
        hub->repos[r] = repo_table[r];
        for (int i = 0; i < MAX_FILES && hub->repos[r].files[i].path; i++) {
            fh_file *f = &hub->repos[r].files[i];
            if (f->directory) continue;
            if (f->size <= (16u << 20)) {
                generate(f);
            } else {
                memset(f->sha256, 'a', 64);
                f->sha256[64] = '\0';
            }
        }
    }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    hub->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, hub,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!hub->daemon) {
        fake_hub_stop(hub);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(hub->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(hub->url, sizeof hub->url, "http://127.0.0.1:%u", (unsigned)info->port);
    return hub;
}

void fake_hub_stop(fake_hub *hub) {
    if (!hub) return;
    if (hub->daemon) MHD_stop_daemon(hub->daemon);
    for (int r = 0; r < hub->n_repos; r++)
        for (int i = 0; i < MAX_FILES; i++) free(hub->repos[r].files[i].data);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

const char *fake_hub_url(const fake_hub *hub) { return hub->url; }

const uint8_t *fake_hub_content(const fake_hub *hub, const char *repo, const char *path,
                                size_t *size) {
    for (int r = 0; r < hub->n_repos; r++) {
        if (strcmp(hub->repos[r].id, repo) != 0) continue;
        fh_file *f = find_file((fh_repo *)&hub->repos[r], path);
        if (!f) return NULL;
        *size = (size_t)f->size;
        return f->data;
    }
    return NULL;
}

void fake_hub_drop_after(fake_hub *hub, const char *path, uint64_t bytes) {
    pthread_mutex_lock(&hub->lock);
    snprintf(hub->drop_path, sizeof hub->drop_path, "%s", path);
    hub->drop_after = bytes;
    pthread_mutex_unlock(&hub->lock);
}

void fake_hub_corrupt(fake_hub *hub, const char *path, bool on) {
    pthread_mutex_lock(&hub->lock);
    snprintf(hub->corrupt_path, sizeof hub->corrupt_path, "%s", on ? path : "");
    pthread_mutex_unlock(&hub->lock);
}

void fake_hub_ignore_range(fake_hub *hub, bool on) {
    pthread_mutex_lock(&hub->lock);
    hub->ignore_range = on;
    pthread_mutex_unlock(&hub->lock);
}

void fake_hub_throttle(fake_hub *hub, uint64_t bytes_per_s) {
    pthread_mutex_lock(&hub->lock);
    hub->throttle = bytes_per_s;
    pthread_mutex_unlock(&hub->lock);
}

void fake_hub_reset(fake_hub *hub) {
    pthread_mutex_lock(&hub->lock);
    hub->drop_path[0] = hub->corrupt_path[0] = '\0';
    hub->ignore_range = false;
    hub->throttle = 0;
    hub->tree_requests = 0;
    for (int r = 0; r < hub->n_repos; r++)
        for (int i = 0; i < MAX_FILES; i++) {
            hub->repos[r].files[i].requests = 0;
            hub->repos[r].files[i].last_range[0] = '\0';
        }
    pthread_mutex_unlock(&hub->lock);
}

static fh_file *any_file(fake_hub *hub, const char *path) {
    for (int r = 0; r < hub->n_repos; r++) {
        fh_file *f = find_file(&hub->repos[r], path);
        if (f) return f;
    }
    return NULL;
}

int fake_hub_requests(fake_hub *hub, const char *path) {
    pthread_mutex_lock(&hub->lock);
    fh_file *f = any_file(hub, path);
    int n = f ? f->requests : -1;
    pthread_mutex_unlock(&hub->lock);
    return n;
}

void fake_hub_last_range(fake_hub *hub, const char *path, char *out, size_t size) {
    pthread_mutex_lock(&hub->lock);
    fh_file *f = any_file(hub, path);
    snprintf(out, size, "%s", f ? f->last_range : "");
    pthread_mutex_unlock(&hub->lock);
}

int fake_hub_tree_requests(fake_hub *hub) {
    pthread_mutex_lock(&hub->lock);
    int n = hub->tree_requests;
    pthread_mutex_unlock(&hub->lock);
    return n;
}
