/*
 * error.h — filling ember_error. Every fallible library function reports through
 * ember_fail(), which formats the message once and returns the status so that call sites
 * read `return ember_fail(err, EMBER_ERR_INVALID, "…");`.
 */
#ifndef EMBER_CORE_ERROR_H
#define EMBER_CORE_ERROR_H

#include "ember.h"

ember_status ember_fail(ember_error *err, ember_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ember_error_clear(ember_error *err);

#endif
