/*
 * pull.c — ember_pull: from "owner/repo[:QUANT]" to a verified model in the store.
 *
 *   resolve (model info, then the file tree at its commit) → choose files (select.c) →
 *   lock the repository → check disk space → for each file: keep it if already verified,
 *   else download it (download.c) → write the manifest → unlock.
 *
 * Blocking, on the caller's thread; progress is reported there too. Several pulls may run in
 * one process on different repositories; pulls of one repository exclude each other (lock).
 */
#include "pull/download.h"
#include "core/clock.h"
#include "pull/hub.h"
#include "pull/manifest.h"
#include "pull/select.h"
#include "pull/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

EMBER_API void ember_pull_params_init(ember_pull_params *params) {
    if (params) memset(params, 0, sizeof *params);
}

/* One file of the plan. */
typedef struct plan_file {
    const hub_file *hub;      /* from the listing */
    bool mmproj;
    char path[4096];          /* final path in the store */
    bool present;             /* the final file exists with the right size */
    bool trusted;             /* …and a manifest already vouches for its checksum */
    uint64_t partial;         /* bytes of a usable partial file */
} plan_file;

/* Progress bookkeeping for one pull. */
typedef struct pull_run {
    const ember_pull_params *params;
    ember_pull_progress p;    /* what the next report says */
    uint64_t done_before;     /* bytes of the files before the current one */
    double speed_t;           /* when the speed window started */
    uint64_t speed_bytes;     /* file bytes at that moment */
    uint64_t last_file_bytes; /* for the window when a file restarts */
} pull_run;

static void emit(pull_run *run) {
    if (run->params && run->params->on_progress) run->params->on_progress(&run->p, run->params->user);
}

static void on_file_bytes(void *user, ember_pull_stage stage, uint64_t file_bytes,
                          uint64_t resumed_from, const char *message) {
    pull_run *run = user;
    run->p.stage = stage;
    run->p.file_bytes = file_bytes;
    run->p.resumed_from = resumed_from;
    run->p.total_bytes = run->done_before + file_bytes;
    run->p.message = message;
    if (stage == EMBER_PULL_DOWNLOADING) {
        double now = ember_now_s();
        if (run->speed_t == 0 || file_bytes < run->last_file_bytes) {
            run->speed_t = now;
            run->speed_bytes = file_bytes;
        } else if (now - run->speed_t >= 0.5) {
            double inst = (double)(file_bytes - run->speed_bytes) / (now - run->speed_t);
            run->p.bytes_per_s = run->p.bytes_per_s > 0 ? 0.7 * run->p.bytes_per_s + 0.3 * inst : inst;
            run->speed_t = now;
            run->speed_bytes = file_bytes;
        }
        run->last_file_bytes = file_bytes;
    } else if (stage == EMBER_PULL_RETRYING) {
        run->speed_t = 0;
        run->p.bytes_per_s = 0;
    }
    emit(run);
    run->p.message = NULL;
}

/* "hf.co/owner/repo:Q4_K_M" → repo "owner/repo", quant "Q4_K_M" ("" when absent). */
static ember_status parse_spec(const char *spec, char *repo, size_t repo_size, char *quant,
                               size_t quant_size, ember_error *err) {
    static const char *const prefixes[] = {"https://huggingface.co/", "https://hf.co/",
                                           "huggingface.co/", "hf.co/"};
    const char *s = spec;
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncasecmp(s, prefixes[i], n) == 0) {
            s += n;
            break;
        }
    }
    const char *colon = strrchr(s, ':');
    size_t repo_len = colon ? (size_t)(colon - s) : strlen(s);
    quant[0] = '\0';
    if (repo_len >= repo_size) goto bad;
    memcpy(repo, s, repo_len);
    repo[repo_len] = '\0';
    if (!pull_repo_is_valid(repo)) goto bad;
    if (colon) {
        const char *q = colon + 1;
        if (!*q || strlen(q) >= quant_size || q[0] == '.' || q[0] == '-') goto bad;
        for (const char *c = q; *c; c++)
            if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.')) goto bad;
        snprintf(quant, quant_size, "%s", q);
    }
    return EMBER_OK;
bad:
    return ember_fail(err, EMBER_ERR_INVALID,
                     "'%s' is not a model to pull: expected OWNER/REPO[:QUANT], e.g. "
                     "unsloth/Muse-Glimmer-30B-GGUF:Q4_K_M",
                     spec);
}

/* Does any manifest of the repository already vouch for this file's content? */
static bool vouched(const pull_manifest_set *set, const char *repo, const hub_file *f) {
    for (size_t i = 0; i < set->count; i++) {
        if (strcmp(set->items[i].repo, repo) != 0) continue;
        for (size_t k = 0; k < set->items[i].n_files; k++) {
            const pull_manifest_file *mf = &set->items[i].files[k];
            if (strcmp(mf->path, f->path) != 0 || mf->size != f->size) continue;
            if (f->sha256[0] ? strcmp(mf->sha256, f->sha256) == 0
                             : (f->git_oid[0] && strcmp(mf->git_oid, f->git_oid) == 0))
                return true;
        }
    }
    return false;
}

static ember_status check_space(const char *dir, uint64_t need, ember_error *err) {
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0) return EMBER_OK; /* unknown: let the writes tell */
    uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    if (need <= avail) return EMBER_OK;
    char need_s[32], avail_s[32];
    pull_size_format(need, need_s);
    pull_size_format(avail, avail_s);
    return ember_fail(err, EMBER_ERR_IO,
                     "not enough disk space in %s: the model needs %s more, %s are free (free "
                     "some space or set EMBER_MODELS to a larger disk)",
                     dir, need_s, avail_s);
}

/* The parts of a pull after the file list is known, with the repository locked. */
static ember_status pull_files(pull_run *run, const hub_client *client, const char *dir,
                               const char *repo, const char *revision, const hub_file_list *list,
                               const pull_selection *sel, ember_store_entry *pulled,
                               ember_error *err) {
    int n = sel->n_parts + (sel->mmproj >= 0 ? 1 : 0);
    plan_file *plan = calloc((size_t)n, sizeof *plan);
    if (!plan) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory planning the pull");
    pull_manifest_set known;
    ember_status st = pull_manifest_scan(dir, &known, err);
    if (st != EMBER_OK) {
        free(plan);
        return st;
    }

    uint64_t total = 0, on_disk = 0, need = 0;
    for (int i = 0; i < n; i++) {
        plan_file *pf = &plan[i];
        pf->mmproj = i >= sel->n_parts;
        pf->hub = &list->items[pf->mmproj ? (size_t)sel->mmproj : sel->parts[i]];
        if (!pull_repo_file_path(dir, repo, pf->hub->path, pf->path, sizeof pf->path - 16)) {
            st = ember_fail(err, EMBER_ERR_INVALID, "path too long for %s", pf->hub->path);
            goto done;
        }
        struct stat sb;
        char partial[4200];
        snprintf(partial, sizeof partial, "%s.partial", pf->path);
        total += pf->hub->size;
        if (stat(pf->path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == pf->hub->size) {
            pf->present = true;
            pf->trusted = vouched(&known, repo, pf->hub);
            on_disk += pf->hub->size;
            continue;
        }
        if (stat(partial, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size <= pf->hub->size)
            pf->partial = (uint64_t)sb.st_size;
        on_disk += pf->partial;
        need += pf->hub->size - pf->partial;
    }
    st = check_space(dir, need, err);
    if (st != EMBER_OK) goto done;

    run->p.file_count = n;
    run->p.total_size = total;
    run->p.total_bytes = on_disk;
    run->done_before = 0;
    for (int i = 0; i < n; i++) {
        plan_file *pf = &plan[i];
        pull_download d = {
            .client = client,
            .repo = repo,
            .file = pf->hub->path,
            .final_path = pf->path,
            .size = pf->hub->size,
            .sha256 = pf->hub->sha256,
            .git_oid = pf->hub->git_oid,
            .retries = run->params ? run->params->retries : 0,
            .on_bytes = on_file_bytes,
            .user = run,
        };
        char url[4096];
        if (!hub_resolve_url(client, repo, revision, pf->hub->path, url, sizeof url)) {
            st = ember_fail(err, EMBER_ERR_INVALID, "URL too long for %s", pf->hub->path);
            goto done;
        }
        d.url = url;
        run->p.file = pf->hub->path;
        run->p.file_index = i;
        run->p.file_size = pf->hub->size;
        run->p.bytes_per_s = 0;
        run->speed_t = 0;
        run->last_file_bytes = 0;

        bool ok = false;
        if (pf->present && pf->trusted) {
            ok = true;
        } else if (pf->present) {
            ember_error verr = {0};
            st = pull_verify_file(&d, &verr);
            if (st == EMBER_OK)
                ok = true;
            else if (st != EMBER_ERR_FORMAT) {
                if (err) *err = verr;
                goto done;
            }
            /* a stale copy: downloading replaces it by rename */
        }
        if (!ok) {
            st = pull_download_file(&d, err);
            if (st != EMBER_OK) goto done;
        } else {
            on_file_bytes(run, EMBER_PULL_VERIFIED, pf->hub->size, pf->hub->size, NULL);
        }
        run->done_before += pf->hub->size;
    }

    /* every file is verified: record the model */
    pull_manifest m = {0};
    snprintf(m.repo, sizeof m.repo, "%s", repo);
    snprintf(m.quant, sizeof m.quant, "%s", sel->quant);
    snprintf(m.revision, sizeof m.revision, "%s", revision);
    snprintf(m.endpoint, sizeof m.endpoint, "%s", client->endpoint);
    m.pulled_at = (int64_t)time(NULL);
    for (size_t k = 0; k < known.count; k++)
        if (strcmp(known.items[k].repo, repo) == 0 && strcmp(known.items[k].quant, sel->quant) == 0)
            m.last_used = known.items[k].last_used;
    m.files = calloc((size_t)n, sizeof *m.files);
    if (!m.files) {
        st = ember_fail(err, EMBER_ERR_NOMEM, "out of memory writing the manifest");
        goto done;
    }
    m.n_files = (size_t)n;
    for (int i = 0; i < n; i++) {
        m.files[i].path = plan[i].hub->path; /* borrowed: not freed below */
        m.files[i].mmproj = plan[i].mmproj;
        m.files[i].size = plan[i].hub->size;
        memcpy(m.files[i].sha256, plan[i].hub->sha256, sizeof m.files[i].sha256);
        memcpy(m.files[i].git_oid, plan[i].hub->git_oid, sizeof m.files[i].git_oid);
    }
    char manifest_path[4096];
    if (!pull_manifest_path(dir, repo, sel->quant, manifest_path, sizeof manifest_path))
        st = ember_fail(err, EMBER_ERR_INVALID, "path too long for the manifest");
    else
        st = pull_manifest_save(&m, manifest_path, err);
    if (st == EMBER_OK && pulled) pull_manifest_entry(dir, &m, pulled);
    free(m.files);
    if (st == EMBER_OK) {
        run->p.stage = EMBER_PULL_DONE;
        run->p.file = NULL;
        run->p.total_bytes = total;
        emit(run);
    }
done:
    pull_manifest_set_free(&known);
    free(plan);
    return st;
}

EMBER_API ember_status ember_pull(const char *spec, const ember_pull_params *params,
                                  ember_store_entry *pulled, ember_error *err) {
    if (!spec) return ember_fail(err, EMBER_ERR_INVALID, "a model to pull is required");
    if (pulled) memset(pulled, 0, sizeof *pulled);
    if (err) {
        err->status = EMBER_OK;
        err->message[0] = '\0';
    }
    char repo[256], quant[64];
    ember_status st = parse_spec(spec, repo, sizeof repo, quant, sizeof quant, err);
    if (st != EMBER_OK) return st;
    hub_client client;
    st = hub_client_init(&client, params ? params->endpoint : NULL, params ? params->token : NULL,
                         params ? params->cancel : NULL, err);
    if (st != EMBER_OK) return st;
    char dir[4096];
    st = pull_store_dir(params ? params->models_dir : NULL, dir, sizeof dir, err);
    if (st != EMBER_OK) return st;

    pull_run run = {.params = params};
    run.p.stage = EMBER_PULL_RESOLVING;
    run.p.name = spec;
    emit(&run);

    hub_model_info info;
    st = hub_get_model_info(&client, repo, &info, err);
    if (st != EMBER_OK) return st;
    if (info.gated && !client.auth_header[0])
        return hub_http_error(&client, repo, "repository", 401, "GatedRepo", "", err);
    const char *revision = info.sha[0] ? info.sha : "main";
    hub_file_list list = {0};
    st = hub_get_tree(&client, repo, revision, &list, err);
    if (st != EMBER_OK) {
        hub_file_list_free(&list);
        return st;
    }
    pull_selection *sel = malloc(sizeof *sel);
    if (!sel) {
        hub_file_list_free(&list);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    st = pull_select(&list, repo, quant, sel, err);
    if (st == EMBER_OK) st = pull_mkdirs(dir, err);
    int lock = -1;
    if (st == EMBER_OK) st = pull_lock(dir, repo, &lock, err);
    if (st == EMBER_OK) {
        char name[384];
        snprintf(name, sizeof name, "%s:%s", repo, sel->quant);
        run.p.name = name;
        st = pull_files(&run, &client, dir, repo, revision, &list, sel, pulled, err);
        run.p.name = spec;
    }
    pull_unlock(lock);
    free(sel);
    hub_file_list_free(&list);
    return st;
}
