/* util.c — see util.h. */
#include "pull/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool pull_path_is_safe(const char *path) {
    if (!path || !*path || strlen(path) > 1000 || path[0] == '/') return false;
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || p[0] == '.') return false; /* "", ".", "..", ".hidden" */
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            if (c < 0x20 || c == 0x7f || c == '\\') return false;
        }
        if (!end) break;
        p = end + 1;
        if (!*p) return false; /* trailing slash */
    }
    return true;
}

static bool repo_part_is_valid(const char *s, size_t n) {
    if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-')) return false;
        if (c == '.' && i + 1 < n && s[i + 1] == '.') return false;
    }
    return true;
}

bool pull_repo_is_valid(const char *repo) {
    if (!repo) return false;
    const char *slash = strchr(repo, '/');
    if (!slash || strchr(slash + 1, '/')) return false;
    return repo_part_is_valid(repo, (size_t)(slash - repo)) &&
           repo_part_is_valid(slash + 1, strlen(slash + 1));
}

bool pull_format(char *out, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

ember_status pull_mkdirs(const char *path, ember_error *err) {
    char buf[4096];
    if (!pull_format(buf, sizeof buf, "%s", path))
        return ember_fail(err, EMBER_ERR_INVALID, "path too long: %s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return ember_fail(err, EMBER_ERR_IO, "cannot create directory %s: %s", buf,
                                 strerror(errno));
            *p = saved;
            if (saved == '\0') break;
        }
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return ember_fail(err, EMBER_ERR_IO, "%s is not a directory", buf);
    return EMBER_OK;
}

ember_status pull_mkdirs_for(const char *path, ember_error *err) {
    char dir[4096];
    if (!pull_format(dir, sizeof dir, "%s", path))
        return ember_fail(err, EMBER_ERR_INVALID, "path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return EMBER_OK;
    *slash = '\0';
    return pull_mkdirs(dir, err);
}

void pull_rmdirs_up(const char *path, const char *stop) {
    char dir[4096];
    if (!pull_format(dir, sizeof dir, "%s", path)) return;
    size_t stop_len = strlen(stop);
    while (stop_len && stop[stop_len - 1] == '/') stop_len--;
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash) return;
        *slash = '\0';
        if (strlen(dir) <= stop_len || strncmp(dir, stop, stop_len) != 0) return;
        if (rmdir(dir) != 0) return; /* not empty, or gone: stop climbing */
    }
}

bool pull_ieq(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
    return *a == *b;
}

bool pull_icontains(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    if (n == 0) return true;
    for (const char *h = haystack; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return true;
    }
    return false;
}

const char *pull_basename(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void pull_time_format(int64_t t, char out[32]) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        snprintf(out, 32, "1970-01-01T00:00:00Z");
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t pull_time_parse(const char *text) {
    if (!text) return -1;
    struct tm tm = {0};
    char z = 0;
    int n = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) != 7 || z != 'Z' || text[n] != '\0')
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 59 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

void pull_size_format(uint64_t bytes, char out[32]) {
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000.0 && u < 6) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(out, 32, "%llu B", (unsigned long long)bytes);
    else
        snprintf(out, 32, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

bool pull_header_value(const char *line, size_t len, const char *name, char *out, size_t size) {
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0) return false;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    size_t vlen = (size_t)(end - v) < size ? (size_t)(end - v) : size - 1;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return true;
}
