/* test_support.c — see test_support.h. */
#include "test_support.h"

#include <curl/curl.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *test_model(const char *name, int slot) {
    static char paths[4][1024];
    const char *dir = getenv("EMBER_TEST_MODELS");
    snprintf(paths[slot & 3], sizeof paths[0], "%s/%s", dir ? dir : ".", name);
    return paths[slot & 3];
}

const char *test_temp_file(const char *text, int slot) {
    static char paths[4][64];
    char *path = paths[slot & 3];
    snprintf(path, sizeof paths[0], "/tmp/ember-test-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len) path[0] = '\0';
    close(fd);
    return path;
}

static void drain(int fd, char **buf, size_t *len, size_t *cap) {
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return;
    if (*len + (size_t)n + 1 > *cap) {
        while (*len + (size_t)n + 1 > *cap) *cap *= 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, chunk, (size_t)n);
    *len += (size_t)n;
    (*buf)[*len] = '\0';
}

bool test_run_ember(test_proc *proc, const char *input, const char *const *argv) {
    memset(proc, 0, sizeof *proc);
    const char *bin = getenv("EMBER_BIN");
    if (!bin) return false;
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err)) return false;
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[1]);
        close(out[0]);
        close(err[0]);
        int n = 0;
        while (argv[n]) n++;
        const char **args = calloc((size_t)n + 2, sizeof *args);
        args[0] = bin;
        for (int i = 0; i < n; i++) args[i + 1] = argv[i];
        execv(bin, (char *const *)args);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    signal(SIGPIPE, SIG_IGN);
    if (input) {
        size_t len = strlen(input);
        if (write(in[1], input, len) != (ssize_t)len) { /* the child may exit early */ }
    }
    close(in[1]);
    size_t olen = 0, ocap = 4096, elen = 0, ecap = 4096;
    proc->out = calloc(1, ocap);
    proc->err = calloc(1, ecap);
    struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
    int open_fds = 2;
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) break;
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP))) continue;
            size_t before = k == 0 ? olen : elen;
            if (k == 0) drain(fds[k].fd, &proc->out, &olen, &ocap);
            else drain(fds[k].fd, &proc->err, &elen, &ecap);
            if ((k == 0 ? olen : elen) == before) {
                close(fds[k].fd);
                fds[k].fd = -1;
                open_fds--;
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    proc->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

void test_proc_free(test_proc *proc) {
    free(proc->out);
    free(proc->err);
}

typedef struct http_reply {
    char *data;
    size_t len;
} http_reply;

static size_t http_collect(char *data, size_t size, size_t n, void *user) {
    http_reply *r = user;
    char *grown = realloc(r->data, r->len + size * n + 1);
    if (!grown) return 0;
    memcpy(grown + r->len, data, size * n);
    r->len += size * n;
    grown[r->len] = '\0';
    r->data = grown;
    return size * n;
}

long test_http(int port, const char *path, const char *body, char **out) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *h = curl_easy_init();
    http_reply r = {0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    if (body) {
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (out) *out = r.data;
    else free(r.data);
    return status;
}
