/* select.c — see select.h. */
#include "pull/select.h"
#include "pull/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pull_is_gguf(const char *name) {
    size_t n = strlen(name);
    return n > 5 && pull_ieq(name + n - 5, ".gguf");
}

bool pull_is_mmproj(const char *name) {
    return pull_icontains(pull_basename(name), "mmproj");
}

bool pull_split_info(const char *name, unsigned *index, unsigned *count, size_t *stem_len) {
    /* "-00001-of-00003.gguf" is 20 characters */
    size_t n = strlen(name);
    if (n <= 20 || !pull_is_gguf(name)) return false;
    const char *s = name + n - 20;
    if (s[0] != '-' || strncmp(s + 6, "-of-", 4) != 0) return false;
    unsigned a = 0, b = 0;
    for (int i = 0; i < 5; i++) {
        if (!isdigit((unsigned char)s[1 + i]) || !isdigit((unsigned char)s[10 + i])) return false;
        a = a * 10 + (unsigned)(s[1 + i] - '0');
        b = b * 10 + (unsigned)(s[10 + i] - '0');
    }
    if (a == 0 || b == 0 || a > b) return false;
    *index = a;
    *count = b;
    *stem_len = n - 20;
    return true;
}

static bool is_quant_token(const char *t, size_t n) {
    char u[32];
    if (n == 0 || n >= sizeof u) return false;
    for (size_t i = 0; i < n; i++) u[i] = (char)toupper((unsigned char)t[i]);
    u[n] = '\0';
    if ((u[0] == 'I' || u[0] == 'T') && u[1] == 'Q' && isdigit((unsigned char)u[2])) return true;
    if (u[0] == 'Q' && isdigit((unsigned char)u[1])) return true;
    static const char *const floats[] = {"F16", "F32", "F64", "BF16", "FP16", "FP32", "FP8"};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        if (strcmp(u, floats[i]) == 0) return true;
    if ((strncmp(u, "MXFP", 4) == 0 || strncmp(u, "NVFP", 4) == 0) && isdigit((unsigned char)u[4]))
        return true;
    return false;
}

void pull_quant_label(const char *name, char *out, size_t size) {
    if (size == 0) return;
    const char *base = pull_basename(name);
    size_t n = strlen(base);
    unsigned idx, cnt;
    size_t stem_len;
    if (pull_split_info(base, &idx, &cnt, &stem_len))
        n = stem_len;
    else if (pull_is_gguf(base))
        n -= 5;

    /* scan tokens from the end for one that looks like a quantization */
    size_t end = n;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && base[start - 1] != '-' && base[start - 1] != '.') start--;
        if (is_quant_token(base + start, end - start)) {
            size_t from = start;
            /* Unsloth's dynamic quants: "UD-Q4_K_XL" */
            if (start >= 3 && toupper((unsigned char)base[start - 3]) == 'U' &&
                toupper((unsigned char)base[start - 2]) == 'D' &&
                (start == 3 || base[start - 4] == '-' || base[start - 4] == '.'))
                from = start - 3;
            size_t len = end - from;
            if (len >= size) len = size - 1;
            for (size_t i = 0; i < len; i++) {
                char c = base[from + i];
                out[i] = c == '.' ? '-' : (char)toupper((unsigned char)c);
            }
            out[len] = '\0';
            return;
        }
        if (start == 0) break;
        end = start - 1;
    }
    if (n >= size) n = size - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

/* A model candidate: one GGUF, or the parts of a split one. */
typedef struct group {
    const char *stem;        /* points into the first file's path */
    size_t stem_len;         /* the stem, or the whole path minus ".gguf" for single files */
    bool split;
    unsigned count;          /* declared parts (split), or 1 */
    size_t first;            /* listing index of the file that created the group */
    size_t parts[PULL_MAX_PARTS];
    unsigned part_index[PULL_MAX_PARTS];
    int n_parts;
    bool consistent;         /* every part declares the same count, no index repeats */
    char label[64];
} group;

static int find_group(group *groups, int n, const char *stem, size_t stem_len, bool split) {
    for (int i = 0; i < n; i++)
        if (groups[i].split == split && groups[i].stem_len == stem_len &&
            strncmp(groups[i].stem, stem, stem_len) == 0)
            return i;
    return -1;
}

/* "Q4_K_M, Q8_0, F16" (distinct labels in listing order) */
static void list_labels(const group *groups, int n, char *out, size_t size) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            if (strcmp(groups[j].label, groups[i].label) == 0) seen = true;
        if (seen) continue;
        int w = snprintf(out + len, size - len, "%s%s", len ? ", " : "", groups[i].label);
        if (w < 0 || (size_t)w >= size - len) {
            if (size > 5) strcpy(out + size - 5, "...");
            return;
        }
        len += (size_t)w;
    }
}

static int mmproj_rank(const char *path) {
    char label[64];
    pull_quant_label(path, label, sizeof label);
    static const char *const order[] = {"F16", "BF16", "Q8_0", "F32"};
    for (int i = 0; i < 4; i++)
        if (strcmp(label, order[i]) == 0) return i;
    return 4;
}

static void dir_of(const char *path, char *out, size_t size) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= size) n = size - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

ember_status pull_select(const hub_file_list *list, const char *repo, const char *quant,
                         pull_selection *sel, ember_error *err) {
    memset(sel, 0, sizeof *sel);
    sel->mmproj = -1;
    enum { MAX_GROUPS = 256 };
    group *groups = calloc(MAX_GROUPS, sizeof *groups);
    if (!groups) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory choosing files");
    int n_groups = 0;
    ember_status st = EMBER_OK;

    for (size_t i = 0; i < list->count; i++) {
        const char *path = list->items[i].path;
        if (!pull_is_gguf(path) || pull_is_mmproj(path)) continue;
        unsigned idx = 1, cnt = 1;
        size_t stem_len;
        bool split = pull_split_info(path, &idx, &cnt, &stem_len);
        if (!split) stem_len = strlen(path) - 5;
        int g = find_group(groups, n_groups, path, stem_len, split);
        if (g < 0) {
            if (n_groups == MAX_GROUPS) continue; /* more candidates than anyone will browse */
            g = n_groups++;
            groups[g].stem = path;
            groups[g].stem_len = stem_len;
            groups[g].split = split;
            groups[g].count = cnt;
            groups[g].first = i;
            groups[g].consistent = true;
            pull_quant_label(path, groups[g].label, sizeof groups[g].label);
        }
        group *gr = &groups[g];
        if (gr->n_parts == PULL_MAX_PARTS || cnt != gr->count) {
            gr->consistent = false;
            continue;
        }
        for (int p = 0; p < gr->n_parts; p++)
            if (gr->part_index[p] == idx) gr->consistent = false;
        gr->parts[gr->n_parts] = i;
        gr->part_index[gr->n_parts] = idx;
        gr->n_parts++;
    }

    if (n_groups == 0) {
        st = ember_fail(err, EMBER_ERR_NOT_FOUND,
                       "%s has no GGUF model files (ember pulls GGUF repositories, often named "
                       "*-GGUF)", repo);
        goto done;
    }

    int chosen = -1;
    bool by_label = true;
    if (!quant || !*quant) {
        for (int g = 0; g < n_groups && chosen < 0; g++)
            if (strcmp(groups[g].label, "Q4_K_M") == 0) chosen = g;
        if (chosen < 0) chosen = 0;
    } else {
        int matches[MAX_GROUPS], n_matches = 0;
        for (int g = 0; g < n_groups; g++)
            if (pull_ieq(groups[g].label, quant)) matches[n_matches++] = g;
        if (n_matches == 0) {
            by_label = false;
            for (int g = 0; g < n_groups; g++) {
                char stem[1024];
                size_t n = groups[g].stem_len < sizeof stem - 1 ? groups[g].stem_len : sizeof stem - 1;
                memcpy(stem, groups[g].stem, n);
                stem[n] = '\0';
                if (pull_icontains(stem, quant)) matches[n_matches++] = g;
            }
        }
        if (n_matches == 0) {
            char avail[300];
            list_labels(groups, n_groups, avail, sizeof avail);
            st = ember_fail(err, EMBER_ERR_NOT_FOUND,
                           "%s has no GGUF for quantization '%s'; available: %s", repo, quant,
                           avail);
            goto done;
        }
        if (n_matches > 1) {
            char names[300];
            size_t len = 0;
            names[0] = '\0';
            for (int m = 0; m < n_matches && len < sizeof names; m++) {
                const group *gr = &groups[matches[m]];
                int w = snprintf(names + len, sizeof names - len, "%s%s", m ? ", " : "",
                                 pull_basename(list->items[gr->parts[0]].path));
                if (w < 0) break;
                len += (size_t)w;
            }
            st = ember_fail(err, EMBER_ERR_INVALID,
                           "'%s' matches several models in %s (%s); give a longer part of the "
                           "file name after ':'",
                           quant, repo, names);
            goto done;
        }
        chosen = matches[0];
    }

    group *gr = &groups[chosen];
    if (!gr->consistent || (unsigned)gr->n_parts != gr->count) {
        st = ember_fail(err, EMBER_ERR_FORMAT,
                       "the split model %.*s in %s is incomplete: %d of %u parts are listed",
                       (int)gr->stem_len, gr->stem, repo, gr->n_parts, gr->count);
        goto done;
    }
    /* parts in index order: part k has index k+1 (consistent + count match guarantee it) */
    for (int p = 0; p < gr->n_parts; p++) sel->parts[gr->part_index[p] - 1] = gr->parts[p];
    sel->n_parts = gr->n_parts;
    if (by_label) {
        snprintf(sel->quant, sizeof sel->quant, "%s", gr->label);
    } else {
        size_t n = strlen(quant);
        if (n >= sizeof sel->quant) n = sizeof sel->quant - 1;
        for (size_t i = 0; i < n; i++) sel->quant[i] = (char)toupper((unsigned char)quant[i]);
        sel->quant[n] = '\0';
    }

    /* the quant names a manifest file and is part of a name: keep it to [A-Za-z0-9_.-] */
    for (char *c = sel->quant; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-') ||
            (c == sel->quant && (*c == '.' || *c == '-')))
            *c = '_';

    /* the projector: best rank, then the one beside the model, then listing order */
    char model_dir[1024];
    dir_of(list->items[sel->parts[0]].path, model_dir, sizeof model_dir);
    int best_rank = 99;
    bool best_near = false;
    for (size_t i = 0; i < list->count; i++) {
        const char *path = list->items[i].path;
        if (!pull_is_gguf(path) || !pull_is_mmproj(path)) continue;
        char dir[1024];
        dir_of(path, dir, sizeof dir);
        bool near = strcmp(dir, model_dir) == 0;
        int rank = mmproj_rank(path);
        if (rank < best_rank || (rank == best_rank && near && !best_near)) {
            best_rank = rank;
            best_near = near;
            sel->mmproj = (long)i;
        }
    }

done:
    free(groups);
    return st;
}
