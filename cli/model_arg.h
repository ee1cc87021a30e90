/*
 * model_arg.h — what commands that name models share: turning a MODEL argument (a GGUF path
 * or the name of a pulled model) into file paths, and printing sizes and ages.
 */
#ifndef EMBER_CLI_MODEL_ARG_H
#define EMBER_CLI_MODEL_ARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Resolves `arg` with ember_store_resolve; on failure prints "ember COMMAND: why" to stderr
 * and returns false. `mmproj` may be NULL; it is left empty when the model has none (or when
 * `arg` was a path). */
bool cli_model_resolve(const char *command, const char *arg, char *model, size_t model_size,
                       char *mmproj, size_t mmproj_size);

/* "364 KB", "18.6 GB" (decimal units). */
void cli_format_size(uint64_t bytes, char out[32]);
/* "just now", "5 minutes ago", "3 days ago", "never" (t == 0). */
void cli_format_ago(int64_t t, int64_t now, char out[32]);
/* "1:05:09" or "4:09"; "--:--" when unknown (negative or absurd). */
void cli_format_duration(double seconds, char out[32]);

#endif
