/*
 * store.c — the public model-store API: ember_store_dir, _list, _resolve and _remove.
 * Reads manifests (manifest.c) and never touches the network. Safe to call from any thread;
 * processes coordinate through the per-repository lock that pulls hold.
 */
#include "pull/manifest.h"
#include "pull/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

EMBER_API ember_status ember_store_dir(char *dir, size_t size, ember_error *err) {
    if (!dir || size == 0) return ember_fail(err, EMBER_ERR_INVALID, "no buffer for the directory");
    return pull_store_dir(NULL, dir, size, err);
}

EMBER_API ember_status ember_store_list(const char *models_dir, ember_store_entry **entries,
                                        size_t *count, ember_error *err) {
    if (!entries || !count) return ember_fail(err, EMBER_ERR_INVALID, "entries and count are required");
    *entries = NULL;
    *count = 0;
    char dir[4096];
    ember_status st = pull_store_dir(models_dir, dir, sizeof dir, err);
    if (st != EMBER_OK) return st;
    pull_manifest_set set;
    st = pull_manifest_scan(dir, &set, err);
    if (st != EMBER_OK) return st;
    ember_store_entry *list = calloc(set.count ? set.count : 1, sizeof *list);
    if (!list) {
        pull_manifest_set_free(&set);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory listing models");
    }
    for (size_t i = 0; i < set.count; i++) pull_manifest_entry(dir, &set.items[i], &list[i]);
    *entries = list;
    *count = set.count;
    pull_manifest_set_free(&set);
    return EMBER_OK;
}

EMBER_API void ember_store_list_free(ember_store_entry *entries) { free(entries); }

/* Names that can only be paths: never looked up in the store. */
static bool looks_like_path(const char *s) {
    size_t n = strlen(s);
    return s[0] == '/' || s[0] == '.' || s[0] == '~' || (n > 5 && strcmp(s + n - 5, ".gguf") == 0);
}

EMBER_API ember_status ember_store_resolve(const char *name_or_path, char *model_path,
                                           size_t model_path_size, char *mmproj_path,
                                           size_t mmproj_path_size, ember_error *err) {
    if (!name_or_path || !*name_or_path || !model_path || model_path_size == 0)
        return ember_fail(err, EMBER_ERR_INVALID, "a model name or path and a buffer are required");
    model_path[0] = '\0';
    if (mmproj_path && mmproj_path_size) mmproj_path[0] = '\0';

    struct stat st;
    bool is_dir = false;
    if (stat(name_or_path, &st) == 0) {
        is_dir = S_ISDIR(st.st_mode);
    }
    if (stat(name_or_path, &st) == 0 && !is_dir) {
        if (!pull_format(model_path, model_path_size, "%s", name_or_path))
            return ember_fail(err, EMBER_ERR_INVALID, "model path buffer too small");
        return EMBER_OK;
    }
    if (looks_like_path(name_or_path))
        return ember_fail(err, is_dir ? EMBER_ERR_INVALID : EMBER_ERR_NOT_FOUND,
                         is_dir ? "%s is a directory, not a GGUF file" : "no such file: %s",
                         name_or_path);

    char dir[4096];
    ember_status status = pull_store_dir(NULL, dir, sizeof dir, err);
    if (status != EMBER_OK) return status;
    pull_manifest_set set;
    status = pull_manifest_scan(dir, &set, err);
    if (status != EMBER_OK) return status;
    size_t i;
    status = pull_manifest_match(&set, name_or_path, &i, err);
    if (status == EMBER_ERR_NOT_FOUND) {
        status = ember_fail(err, is_dir ? EMBER_ERR_INVALID : EMBER_ERR_NOT_FOUND,
                           is_dir ? "%s is a directory, not a GGUF file or a pulled model"
                                  : "'%s' is neither a file nor a pulled model (see `ember "
                                    "list`; `ember pull OWNER/REPO[:QUANT]` downloads one)",
                           name_or_path);
    }
    if (status != EMBER_OK) goto done;

    pull_manifest *m = &set.items[i];
    ember_store_entry entry;
    pull_manifest_entry(dir, m, &entry);
    if (!entry.complete) {
        status = ember_fail(err, EMBER_ERR_NOT_FOUND,
                           "files of %s are missing from %s/repos/%s; run `ember pull %s` again",
                           entry.name, dir, m->repo, entry.name);
        goto done;
    }
    if (!pull_format(model_path, model_path_size, "%s", entry.model_path) ||
        (mmproj_path && mmproj_path_size &&
         !pull_format(mmproj_path, mmproj_path_size, "%s", entry.mmproj_path))) {
        status = ember_fail(err, EMBER_ERR_INVALID, "path buffer too small for %s", entry.model_path);
        goto done;
    }

    /* Record the use; skipped (harmlessly) while a pull or rm holds the repository. */
    int lock;
    if (pull_lock(dir, m->repo, &lock, NULL) == EMBER_OK) {
        m->last_used = (int64_t)time(NULL);
        pull_manifest_save(m, set.paths[i], NULL);
        pull_unlock(lock);
    }
done:
    pull_manifest_set_free(&set);
    return status;
}

static ember_status find_manifest(const char *dir, const char *name, pull_manifest_set *set,
                                  size_t *index, ember_error *err) {
    ember_status st = pull_manifest_scan(dir, set, err);
    if (st != EMBER_OK) return st;
    st = pull_manifest_match(set, name, index, err);
    if (st != EMBER_OK) pull_manifest_set_free(set);
    return st;
}

static ember_status unlink_quiet(const char *path, ember_error *err) {
    if (unlink(path) != 0 && errno != ENOENT)
        return ember_fail(err, EMBER_ERR_IO, "cannot delete %s: %s", path, strerror(errno));
    return EMBER_OK;
}

EMBER_API ember_status ember_store_remove(const char *models_dir, const char *name,
                                          ember_store_entry *removed, ember_error *err) {
    if (!name || !*name) return ember_fail(err, EMBER_ERR_INVALID, "a model name is required");
    if (removed) memset(removed, 0, sizeof *removed);
    char dir[4096];
    ember_status st = pull_store_dir(models_dir, dir, sizeof dir, err);
    if (st != EMBER_OK) return st;
    pull_manifest_set set;
    size_t i;
    st = find_manifest(dir, name, &set, &i, err);
    if (st != EMBER_OK) return st;
    char repo[256];
    snprintf(repo, sizeof repo, "%s", set.items[i].repo);
    pull_manifest_set_free(&set);

    int lock;
    st = pull_lock(dir, repo, &lock, err);
    if (st != EMBER_OK) return st;
    st = find_manifest(dir, name, &set, &i, err); /* again, now that nobody else changes it */
    if (st != EMBER_OK) {
        pull_unlock(lock);
        return st;
    }
    const pull_manifest *m = &set.items[i];
    if (removed) pull_manifest_entry(dir, m, removed);

    /* The manifest goes first: a model is never listed with files missing on purpose. */
    st = unlink_quiet(set.paths[i], err);
    if (st == EMBER_OK) {
        char stop[4200];
        snprintf(stop, sizeof stop, "%s/manifests", dir);
        pull_rmdirs_up(set.paths[i], stop);
        snprintf(stop, sizeof stop, "%s/repos", dir);
        for (size_t f = 0; f < m->n_files && st == EMBER_OK; f++) {
            bool shared = false;
            for (size_t j = 0; j < set.count && !shared; j++) {
                if (j == i || strcmp(set.items[j].repo, m->repo) != 0) continue;
                for (size_t k = 0; k < set.items[j].n_files; k++)
                    if (strcmp(set.items[j].files[k].path, m->files[f].path) == 0) shared = true;
            }
            if (shared) continue;
            char path[4096], partial[4200];
            if (!pull_repo_file_path(dir, m->repo, m->files[f].path, path, sizeof path)) continue;
            snprintf(partial, sizeof partial, "%s.partial", path);
            st = unlink_quiet(path, err);
            if (st == EMBER_OK) st = unlink_quiet(partial, err);
            pull_rmdirs_up(path, stop);
        }
    }
    pull_manifest_set_free(&set);
    pull_unlock(lock);
    return st;
}
