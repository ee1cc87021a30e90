/*
 * select.h — choosing what to download from a repository listing: the GGUF of one
 * quantization (every part of a split model) and the vision projector that goes with it.
 *
 * The facts it relies on:
 *   1. A GGUF's quantization is a token of its file name, e.g. "Muse-Glimmer-30B-Q4_K_M.gguf"
 *      or "UD-Q4_K_XL" (Unsloth's dynamic quants); tokens are separated by '-' and '.'.
 *   2. A split GGUF is "<stem>-00001-of-00003.gguf" … "<stem>-00003-of-00003.gguf" (five
 *      digits, llama.cpp's gguf-split naming); llama.cpp loads the first part and finds the
 *      others beside it. Parts may live in a folder named after the quantization.
 *   3. A projector is a GGUF whose name contains "mmproj" (e.g. "mmproj-F16.gguf"); it is
 *      never a model candidate. F16 is preferred, then BF16, then Q8_0, then F32, then any.
 *
 * Pure: works on a hub_file_list and never does I/O.
 */
#ifndef EMBER_PULL_SELECT_H
#define EMBER_PULL_SELECT_H

#include "pull/hub.h"

#define PULL_MAX_PARTS 512

typedef struct pull_selection {
    char quant[64];              /* the chosen model's quantization label, e.g. "Q4_K_M" */
    size_t parts[PULL_MAX_PARTS]; /* indices into the list: the model's parts, in order */
    int n_parts;                 /* 1 unless the model is split */
    long mmproj;                 /* index of the projector in the list, or -1 */
} pull_selection;

/* Chooses the model for `quant` (case-insensitive; NULL or "" = Q4_K_M if present, else the
 * first GGUF). A quant equal to a file's label wins; otherwise files whose path contains it.
 * Fails with EMBER_ERR_NOT_FOUND when the repository has no GGUF, or none for that quant (the
 * message lists the available ones); EMBER_ERR_INVALID when several different models match;
 * EMBER_ERR_FORMAT when a split model lacks parts. `repo` is used in messages only. */
ember_status pull_select(const hub_file_list *list, const char *repo, const char *quant,
                         pull_selection *sel, ember_error *err);

/* The quantization label of a GGUF file name (a path or base name, with or without ".gguf"
 * and a split suffix), upper-cased; the bare stem when no token looks like a quantization. */
void pull_quant_label(const char *name, char *out, size_t size);

/* Recognizes "<stem>-NNNNN-of-NNNNN.gguf"; sets the part index (1-based), the part count and
 * the stem's length. False for any other name. */
bool pull_split_info(const char *name, unsigned *index, unsigned *count, size_t *stem_len);

/* True for "*.gguf" (any case). */
bool pull_is_gguf(const char *name);

/* True for a projector file name ("mmproj" anywhere in the base name, any case). */
bool pull_is_mmproj(const char *name);

#endif
