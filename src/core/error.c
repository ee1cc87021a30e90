/* error.c — status names and ember_error formatting. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const status_names[] = {
    [EMBER_OK] = "ok",
    [EMBER_ERR_INVALID] = "invalid",
    [EMBER_ERR_NOT_FOUND] = "not_found",
    [EMBER_ERR_FORMAT] = "format",
    [EMBER_ERR_UNSUPPORTED] = "unsupported",
    [EMBER_ERR_CONTEXT] = "context_overflow",
    [EMBER_ERR_NOMEM] = "out_of_memory",
    [EMBER_ERR_ENGINE] = "engine",
    [EMBER_ERR_CANCELLED] = "cancelled",
    [EMBER_ERR_IO] = "io",
    [EMBER_ERR_TIMEOUT] = "timeout",
    [EMBER_ERR_BUSY] = "busy",
};

const char *ember_status_name(ember_status status) {
    if ((unsigned)status >= sizeof status_names / sizeof status_names[0]) return "unknown";
    return status_names[status];
}

ember_status ember_fail(ember_error *err, ember_status status, const char *fmt, ...) {
    if (err) {
        err->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

void ember_error_clear(ember_error *err) {
    if (err) {
        err->status = EMBER_OK;
        err->message[0] = '\0';
    }
}
