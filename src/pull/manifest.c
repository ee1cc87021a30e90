/* manifest.c — the store's layout, manifests and locks (see manifest.h). */
#include "pull/manifest.h"
#include "pull/digest.h"
#include "pull/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_FORMAT 1
#define MANIFEST_MAX_BYTES (16u << 20)

void pull_manifest_free(pull_manifest *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_files; i++) free(m->files[i].path);
    free(m->files);
    m->files = NULL;
    m->n_files = 0;
}

static bool copy_str(char *out, size_t size, json_t *value) {
    const char *s = json_string_value(value);
    if (!s || strlen(s) != json_string_length(value)) return false;
    return pull_format(out, size, "%s", s);
}

/* A quant becomes a file name and part of a name: keep it to [A-Za-z0-9_.-]. */
static bool quant_is_valid(const char *q) {
    if (!*q || q[0] == '.' || q[0] == '-') return false;
    for (; *q; q++)
        if (!(isalnum((unsigned char)*q) || *q == '_' || *q == '.' || *q == '-')) return false;
    return true;
}

ember_status pull_manifest_parse(const char *json, size_t len, pull_manifest *m,
                                 ember_error *err) {
    memset(m, 0, sizeof *m);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    ember_status st = EMBER_ERR_FORMAT;
    const char *why = "not a JSON object";
    if (!root || !json_is_object(root)) goto fail;
    why = "unknown format version";
    json_t *format = json_object_get(root, "format");
    if (!json_is_integer(format) || json_integer_value(format) != MANIFEST_FORMAT) goto fail;
    why = "bad repo or quant";
    if (!copy_str(m->repo, sizeof m->repo, json_object_get(root, "repo")) ||
        !pull_repo_is_valid(m->repo) ||
        !copy_str(m->quant, sizeof m->quant, json_object_get(root, "quant")) ||
        !quant_is_valid(m->quant))
        goto fail;
    if (!copy_str(m->revision, sizeof m->revision, json_object_get(root, "revision")))
        snprintf(m->revision, sizeof m->revision, "main");
    if (!copy_str(m->endpoint, sizeof m->endpoint, json_object_get(root, "endpoint")))
        m->endpoint[0] = '\0';
    why = "bad pulled_at";
    m->pulled_at = pull_time_parse(json_string_value(json_object_get(root, "pulled_at")));
    if (m->pulled_at < 0) goto fail;
    json_t *last = json_object_get(root, "last_used");
    m->last_used = json_is_string(last) ? pull_time_parse(json_string_value(last)) : 0;
    if (m->last_used < 0) m->last_used = 0;

    why = "bad files";
    json_t *files = json_object_get(root, "files");
    if (!json_is_array(files) || json_array_size(files) == 0 || json_array_size(files) > 4096)
        goto fail;
    m->files = calloc(json_array_size(files), sizeof *m->files);
    if (!m->files) {
        st = EMBER_ERR_NOMEM;
        why = "out of memory";
        goto fail;
    }
    size_t i;
    json_t *f;
    size_t n_models = 0;
    json_array_foreach(files, i, f) {
        pull_manifest_file *mf = &m->files[m->n_files];
        const char *path = json_string_value(json_object_get(f, "path"));
        const char *role = json_string_value(json_object_get(f, "role"));
        json_t *size = json_object_get(f, "size");
        if (!path || !pull_path_is_safe(path) || !role || !json_is_integer(size) ||
            json_integer_value(size) < 0)
            goto fail;
        if (strcmp(role, "mmproj") == 0)
            mf->mmproj = true;
        else if (strcmp(role, "model") != 0)
            goto fail;
        else if (m->n_files != n_models++)
            goto fail; /* model parts come first */
        mf->size = (uint64_t)json_integer_value(size);
        const char *sha = json_string_value(json_object_get(f, "sha256"));
        const char *oid = json_string_value(json_object_get(f, "git_oid"));
        if (sha && pull_is_hex(sha, 64))
            for (int k = 0; k <= 64; k++) mf->sha256[k] = (char)tolower((unsigned char)sha[k]);
        else if (oid && pull_is_hex(oid, 40))
            for (int k = 0; k <= 40; k++) mf->git_oid[k] = (char)tolower((unsigned char)oid[k]);
        else
            goto fail;
        mf->path = strdup(path);
        if (!mf->path) {
            st = EMBER_ERR_NOMEM;
            why = "out of memory";
            goto fail;
        }
        m->n_files++;
    }
    if (n_models == 0) goto fail;
    json_decref(root);
    return EMBER_OK;

fail:
    json_decref(root);
    pull_manifest_free(m);
    return ember_fail(err, st, "malformed manifest: %s", why);
}

char *pull_manifest_dump(const pull_manifest *m) {
    json_t *root = json_object();
    json_t *files = json_array();
    uint64_t total = 0;
    char name[384], pulled[32], used[32];
    snprintf(name, sizeof name, "%s:%s", m->repo, m->quant);
    pull_time_format(m->pulled_at, pulled);
    pull_time_format(m->last_used, used);
    for (size_t i = 0; i < m->n_files; i++) {
        const pull_manifest_file *f = &m->files[i];
        json_t *jf = json_object();
        json_object_set_new(jf, "path", json_string(f->path));
        json_object_set_new(jf, "role", json_string(f->mmproj ? "mmproj" : "model"));
        json_object_set_new(jf, "size", json_integer((json_int_t)f->size));
        if (f->sha256[0])
            json_object_set_new(jf, "sha256", json_string(f->sha256));
        else
            json_object_set_new(jf, "git_oid", json_string(f->git_oid));
        json_array_append_new(files, jf);
        total += f->size;
    }
    json_object_set_new(root, "format", json_integer(MANIFEST_FORMAT));
    json_object_set_new(root, "name", json_string(name));
    json_object_set_new(root, "repo", json_string(m->repo));
    json_object_set_new(root, "quant", json_string(m->quant));
    json_object_set_new(root, "revision", json_string(m->revision));
    json_object_set_new(root, "endpoint", json_string(m->endpoint));
    json_object_set_new(root, "files", files);
    json_object_set_new(root, "size", json_integer((json_int_t)total));
    json_object_set_new(root, "pulled_at", json_string(pulled));
    json_object_set_new(root, "last_used", m->last_used > 0 ? json_string(used) : json_null());
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

ember_status pull_manifest_load(const char *path, pull_manifest *m, ember_error *err) {
    memset(m, 0, sizeof *m);
    FILE *fp = fopen(path, "rb");
    if (!fp) return ember_fail(err, errno == ENOENT ? EMBER_ERR_NOT_FOUND : EMBER_ERR_IO,
                              "cannot read %s: %s", path, strerror(errno));
    strbuf buf = {.limit = MANIFEST_MAX_BYTES};
    char chunk[8192];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, fp)) > 0) ok = strbuf_append(&buf, chunk, n);
    bool read_error = ferror(fp);
    fclose(fp);
    if (!ok || read_error) {
        strbuf_free(&buf);
        return ember_fail(err, EMBER_ERR_IO, "cannot read %s", path);
    }
    ember_status st = pull_manifest_parse(buf.data ? buf.data : "", buf.len, m, err);
    strbuf_free(&buf);
    if (st != EMBER_OK && err) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        ember_fail(err, st, "%s: %s", path, msg);
    }
    return st;
}

ember_status pull_manifest_save(const pull_manifest *m, const char *path, ember_error *err) {
    ember_status st = pull_mkdirs_for(path, err);
    if (st != EMBER_OK) return st;
    char *text = pull_manifest_dump(m);
    if (!text) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory writing a manifest");
    char tmp[4200];
    if (!pull_format(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid())) {
        free(text);
        return ember_fail(err, EMBER_ERR_INVALID, "path too long: %s", path);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(text);
        return ember_fail(err, EMBER_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    }
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    int saved = errno;
    free(text);
    bool ok = done == len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (!ok) saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        unlink(tmp);
        return ember_fail(err, EMBER_ERR_IO, "cannot write %s: %s", path, strerror(saved));
    }
    return EMBER_OK;
}

ember_status pull_store_dir(const char *override, char *out, size_t size, ember_error *err) {
    bool ok;
    const char *env;
    if (override && *override)
        ok = pull_format(out, size, "%s", override);
    else if ((env = getenv("EMBER_MODELS")) && *env)
        ok = pull_format(out, size, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
        ok = pull_format(out, size, "%s/ember/models", env);
    else if ((env = getenv("HOME")) && *env)
        ok = pull_format(out, size, "%s/.cache/ember/models", env);
    else
        return ember_fail(err, EMBER_ERR_NOT_FOUND,
                         "no model directory: set EMBER_MODELS (or HOME)");
    if (!ok) return ember_fail(err, EMBER_ERR_INVALID, "the model directory's path is too long");
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/') out[--n] = '\0';
    return EMBER_OK;
}

bool pull_manifest_path(const char *dir, const char *repo, const char *quant, char *out,
                        size_t size) {
    return pull_format(out, size, "%s/manifests/%s/%s.json", dir, repo, quant);
}

bool pull_repo_file_path(const char *dir, const char *repo, const char *rel, char *out,
                         size_t size) {
    return pull_format(out, size, "%s/repos/%s/%s", dir, repo, rel);
}

ember_status pull_lock(const char *dir, const char *repo, int *fd, ember_error *err) {
    char path[4096];
    *fd = -1;
    if (!pull_format(path, sizeof path, "%s/locks/%s.lock", dir, repo))
        return ember_fail(err, EMBER_ERR_INVALID, "path too long");
    ember_status st = pull_mkdirs_for(path, err);
    if (st != EMBER_OK) return st;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) return ember_fail(err, EMBER_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(f);
        if (e == EWOULDBLOCK)
            return ember_fail(err, EMBER_ERR_BUSY,
                             "another ember process is pulling or removing %s; wait for it", repo);
        return ember_fail(err, EMBER_ERR_IO, "cannot lock %s: %s", path, strerror(e));
    }
    *fd = f;
    return EMBER_OK;
}

void pull_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing releases the flock */
}

static int compare_names(const void *a, const void *b) {
    const pull_manifest *x = a, *y = b;
    int c = strcmp(x->repo, y->repo);
    return c ? c : strcmp(x->quant, y->quant);
}

/* Lists the entries of a directory that are valid repository-name parts. */
static char **list_dir(const char *path, bool want_dirs, size_t *count) {
    *count = 0;
    DIR *d = opendir(path);
    if (!d) return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char full[4096];
        struct stat st;
        if (!pull_format(full, sizeof full, "%s/%s", path, e->d_name) || stat(full, &st) != 0)
            continue;
        if (want_dirs != S_ISDIR(st.st_mode)) continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) break;
            names = grown;
        }
        names[*count] = strdup(e->d_name);
        if (names[*count]) (*count)++;
    }
    closedir(d);
    return names;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

ember_status pull_manifest_scan(const char *dir, pull_manifest_set *set, ember_error *err) {
    memset(set, 0, sizeof *set);
    char root[4096];
    if (!pull_format(root, sizeof root, "%s/manifests", dir))
        return ember_fail(err, EMBER_ERR_INVALID, "path too long");
    size_t cap = 0;
    size_t n_owners;
    char **owners = list_dir(root, true, &n_owners);
    for (size_t o = 0; o < n_owners; o++) {
        char owner_dir[4096];
        if (!pull_format(owner_dir, sizeof owner_dir, "%s/%s", root, owners[o])) continue;
        size_t n_repos;
        char **repos = list_dir(owner_dir, true, &n_repos);
        for (size_t r = 0; r < n_repos; r++) {
            char repo_dir[4096];
            if (!pull_format(repo_dir, sizeof repo_dir, "%s/%s", owner_dir, repos[r])) continue;
            size_t n_files;
            char **files = list_dir(repo_dir, false, &n_files);
            for (size_t f = 0; f < n_files; f++) {
                size_t len = strlen(files[f]);
                if (len < 6 || strcmp(files[f] + len - 5, ".json") != 0) continue;
                char path[4096];
                if (!pull_format(path, sizeof path, "%s/%s", repo_dir, files[f])) continue;
                pull_manifest m;
                if (pull_manifest_load(path, &m, NULL) != EMBER_OK) continue;
                /* the manifest must live where its own name says */
                char expect[4096];
                if (!pull_manifest_path(dir, m.repo, m.quant, expect, sizeof expect) ||
                    strcmp(expect, path) != 0) {
                    pull_manifest_free(&m);
                    continue;
                }
                if (set->count == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    pull_manifest *items = realloc(set->items, ncap * sizeof *items);
                    if (items) set->items = items;
                    char **paths = items ? realloc(set->paths, ncap * sizeof *paths) : NULL;
                    if (paths) set->paths = paths;
                    if (!items || !paths) {
                        pull_manifest_free(&m);
                        free_names(files, n_files);
                        free_names(repos, n_repos);
                        free_names(owners, n_owners);
                        pull_manifest_set_free(set);
                        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory listing models");
                    }
                    cap = ncap;
                }
                set->paths[set->count] = strdup(path);
                set->items[set->count++] = m;
            }
            free_names(files, n_files);
        }
        free_names(repos, n_repos);
    }
    free_names(owners, n_owners);

    /* sort items and paths together (few entries: insertion sort) */
    for (size_t i = 1; i < set->count; i++) {
        for (size_t j = i; j > 0 && compare_names(&set->items[j - 1], &set->items[j]) > 0; j--) {
            pull_manifest tm = set->items[j];
            set->items[j] = set->items[j - 1];
            set->items[j - 1] = tm;
            char *tp = set->paths[j];
            set->paths[j] = set->paths[j - 1];
            set->paths[j - 1] = tp;
        }
    }
    return EMBER_OK;
}

void pull_manifest_set_free(pull_manifest_set *set) {
    for (size_t i = 0; i < set->count; i++) {
        pull_manifest_free(&set->items[i]);
        if (set->paths) free(set->paths[i]);
    }
    free(set->items);
    free(set->paths);
    memset(set, 0, sizeof *set);
}

/* "owner/Name-GGUF" → does `base` name it in short form? */
static bool short_name_matches(const char *repo, const char *base) {
    const char *name = strchr(repo, '/') + 1;
    if (pull_ieq(name, base)) return true;
    size_t n = strlen(name);
    if (n > 5 && pull_ieq(name + n - 5, "-GGUF") && strlen(base) == n - 5)
        return strncasecmp(name, base, n - 5) == 0;
    return false;
}

ember_status pull_manifest_match(const pull_manifest_set *set, const char *name, size_t *index,
                                 ember_error *err) {
    char base[400];
    if (!pull_format(base, sizeof base, "%s", name) || !*name)
        return ember_fail(err, EMBER_ERR_INVALID, "model name too long or empty");
    /* accept the pull spellings hf.co/owner/repo and huggingface.co/owner/repo */
    static const char *const prefixes[] = {"hf.co/", "huggingface.co/"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncasecmp(base, prefixes[i], n) == 0) memmove(base, base + n, strlen(base + n) + 1);
    }
    char *colon = strrchr(base, ':');
    const char *quant = NULL;
    if (colon) {
        *colon = '\0';
        quant = colon + 1;
    }
    bool full = strchr(base, '/') != NULL;
    size_t matches[8], n_matches = 0;
    for (size_t i = 0; i < set->count; i++) {
        const pull_manifest *m = &set->items[i];
        bool repo_ok = full ? pull_ieq(m->repo, base) : short_name_matches(m->repo, base);
        if (!repo_ok || (quant && !pull_ieq(m->quant, quant))) continue;
        if (n_matches < 8) matches[n_matches] = i;
        n_matches++;
    }
    if (n_matches == 1) {
        *index = matches[0];
        return EMBER_OK;
    }
    if (n_matches == 0)
        return ember_fail(err, EMBER_ERR_NOT_FOUND,
                         "no pulled model named '%s' (see `ember list`; `ember pull "
                         "OWNER/REPO[:QUANT]` downloads one)", name);
    char names[400];
    size_t len = 0;
    names[0] = '\0';
    for (size_t k = 0; k < n_matches && k < 8; k++) {
        const pull_manifest *m = &set->items[matches[k]];
        int w = snprintf(names + len, sizeof names - len, "%s%s:%s", k ? ", " : "", m->repo,
                         m->quant);
        if (w < 0 || (size_t)w >= sizeof names - len) break;
        len += (size_t)w;
    }
    return ember_fail(err, EMBER_ERR_INVALID, "'%s' names several pulled models: %s%s; say which",
                     name, names, n_matches > 8 ? ", ..." : "");
}

void pull_manifest_entry(const char *dir, const pull_manifest *m, ember_store_entry *e) {
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s:%s", m->repo, m->quant);
    snprintf(e->repo, sizeof e->repo, "%s", m->repo);
    snprintf(e->quant, sizeof e->quant, "%s", m->quant);
    e->pulled_at = m->pulled_at;
    e->last_used = m->last_used;
    e->complete = true;
    for (size_t i = 0; i < m->n_files; i++) {
        const pull_manifest_file *f = &m->files[i];
        char path[4096];
        bool fits = pull_repo_file_path(dir, m->repo, f->path, path, sizeof path);
        e->size += f->size;
        if (f->mmproj) {
            e->has_vision = true;
            if (!fits || !pull_format(e->mmproj_path, sizeof e->mmproj_path, "%s", path))
                e->complete = false;
        } else {
            if (e->n_parts == 0 &&
                (!fits || !pull_format(e->model_path, sizeof e->model_path, "%s", path)))
                e->complete = false;
            e->n_parts++;
        }
        struct stat st;
        if (!fits || stat(path, &st) != 0 || (uint64_t)st.st_size != f->size) e->complete = false;
    }
}
