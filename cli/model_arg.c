/* model_arg.c — see model_arg.h. */
#include "model_arg.h"

#include "ember.h"

#include <stdio.h>

bool cli_model_resolve(const char *command, const char *arg, char *model, size_t model_size,
                       char *mmproj, size_t mmproj_size) {
    ember_error err = {0};
    if (ember_store_resolve(arg, model, model_size, mmproj, mmproj_size, &err) == EMBER_OK) return true;
    fprintf(stderr, "ember %s: %s\n", command, err.message);
    return false;
}

void cli_format_size(uint64_t bytes, char out[32]) {
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
        snprintf(out, 32, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void cli_format_ago(int64_t t, int64_t now, char out[32]) {
    if (t <= 0) {
        snprintf(out, 32, "never");
        return;
    }
    int64_t d = now - t;
    if (d < 60) {
        snprintf(out, 32, "just now");
        return;
    }
    static const struct { int64_t secs; const char *name; } steps[] = {
        {365 * 86400, "year"}, {30 * 86400, "month"}, {7 * 86400, "week"},
        {86400, "day"}, {3600, "hour"}, {60, "minute"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int64_t n = d / steps[i].secs;
        if (n >= 1) {
            snprintf(out, 32, "%lld %s%s ago", (long long)n, steps[i].name, n == 1 ? "" : "s");
            return;
        }
    }
}

void cli_format_duration(double seconds, char out[32]) {
    if (!(seconds >= 0) || seconds > 99 * 3600.0) {
        snprintf(out, 32, "--:--");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, 32, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, 32, "%ld:%02ld", s / 60, s % 60);
}
