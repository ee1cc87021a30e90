/*
 * replicas.c — see replicas.h. HTTP through libcurl (one easy handle per call: calls are few
 * next to the tokens they carry).
 */
#include "backend/replicas.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/strbuf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t collect(char *data, size_t size, size_t n, void *user) {
    strbuf *sb = user;
    return strbuf_append(sb, data, size * n) ? size * n : 0;
}

int remote_http_json(const char *url, json_t *body, double timeout_s, json_t **response) {
    *response = NULL;
    CURL *curl = curl_easy_init();
    if (!curl) return 0;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    strbuf out = {.limit = 16u << 20};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_s * 1000));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    if (text) {
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    }
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status && out.len) *response = json_loadb(strbuf_str(&out), out.len, 0, NULL);
    strbuf_free(&out);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(text);
    return (int)status;
}

static bool check_health(remote_replica *r) {
    char url[600];
    snprintf(url, sizeof url, "%s%s", r->url, r->adapter ? r->adapter->health_path : "/health");
    json_t *response;
    int status = remote_http_json(url, NULL, 2.0, &response);
    json_decref(response);
    return status == 200;
}

/* The adapter, model, slots and context of one replica. */
static bool probe(remote_replica *r, const remote_adapter *forced) {
    char url[600];
    json_t *props = NULL, *models = NULL;
    snprintf(url, sizeof url, "%s/props", r->url);
    if ((!forced || forced == &remote_llama_server) && remote_http_json(url, NULL, 5.0, &props) == 200 &&
        json_object_get(props, "default_generation_settings")) {
        r->adapter = &remote_llama_server;
        json_t *slots = json_object_get(props, "total_slots");
        r->slots = json_is_integer(slots) ? (int)json_integer_value(slots) : 1;
        json_t *ctx = json_object_get(json_object_get(props, "default_generation_settings"), "n_ctx");
        r->n_ctx = json_is_integer(ctx) ? (int)json_integer_value(ctx) : 0;
        r->vision = json_is_true(json_object_get(json_object_get(props, "modalities"), "vision"));
        const char *marker = json_string_value(json_object_get(props, "media_marker"));
        snprintf(r->media_marker, sizeof r->media_marker, "%s", marker ? marker : "<__media__>");
        const char *alias = json_string_value(json_object_get(props, "model_alias"));
        snprintf(r->model, sizeof r->model, "%s", alias ? alias : "");
    }
    json_decref(props);
    if (!r->adapter) {
        snprintf(url, sizeof url, "%s/v1/models", r->url);
        if (remote_http_json(url, NULL, 5.0, &models) != 200) {
            json_decref(models);
            return false;
        }
        json_t *m = json_array_get(json_object_get(models, "data"), 0);
        const char *id = json_string_value(json_object_get(m, "id"));
        const char *owner = json_string_value(json_object_get(m, "owned_by"));
        snprintf(r->model, sizeof r->model, "%s", id ? id : "");
        json_t *len = json_object_get(m, "max_model_len");
        r->n_ctx = json_is_integer(len) ? (int)json_integer_value(len) : 0;
        r->adapter = forced ? forced : owner && strcasecmp(owner, "vllm") == 0 ? &remote_vllm : &remote_sglang;
        r->slots = 8;
        json_decref(models);
    }
    r->healthy = check_health(r);
    return r->healthy;
}

static void *health_main(void *arg) {
    remote_pool *pool = arg;
    pthread_mutex_lock(&pool->mu);
    while (!pool->stopping) {
        struct timespec until = ember_time_after(CLOCK_MONOTONIC, 1.0);
        pthread_cond_timedwait(&pool->changed, &pool->mu, &until);
        if (pool->stopping) break;
        for (int i = 0; i < pool->n && !pool->stopping; i++) {
            remote_replica copy = pool->replicas[i];
            pthread_mutex_unlock(&pool->mu);
            bool ok = check_health(&copy);
            pthread_mutex_lock(&pool->mu);
            if (ok != pool->replicas[i].healthy) {
                pool->replicas[i].healthy = ok;
                pthread_cond_broadcast(&pool->changed);
            }
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

ember_status pool_init(remote_pool *pool, const char *const *urls, int n, ember_error *err) {
    memset(pool, 0, sizeof *pool);
    pthread_mutex_init(&pool->mu, NULL);
    ember_cond_init_monotonic(&pool->changed);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pool->replicas = calloc((size_t)n, sizeof *pool->replicas);
    if (!pool->replicas) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    pool->n = n;
    int up = 0;
    for (int i = 0; i < n; i++) {
        remote_replica *r = &pool->replicas[i];
        const char *url = urls[i];
        const remote_adapter *forced = NULL;
        const char *plus = strstr(url, "+http");
        if (plus) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)(plus - url), url);
            forced = remote_adapter_find(name);
            if (!forced) return ember_fail(err, EMBER_ERR_INVALID, "--engine %s: unknown engine '%s' (llama-server, vllm, sglang)", url, name);
            url = plus + 1;
        }
        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
            return ember_fail(err, EMBER_ERR_INVALID, "--engine %s: not an http:// or https:// URL", urls[i]);
        snprintf(r->url, sizeof r->url, "%s", url);
        size_t len = strlen(r->url);
        while (len && r->url[len - 1] == '/') r->url[--len] = '\0';
        if (probe(r, forced)) up++;
        if (!r->adapter) r->adapter = forced ? forced : &remote_llama_server;
        if (r->slots <= 0) r->slots = 1;
    }
    if (up == 0) return ember_fail(err, EMBER_ERR_IO, "no engine answers at %s%s", urls[0], n > 1 ? " (nor the others)" : "");
    pool->health_started = pthread_create(&pool->health_thread, NULL, health_main, pool) == 0;
    return EMBER_OK;
}

void pool_free(remote_pool *pool) {
    if (pool->health_started) {
        pthread_mutex_lock(&pool->mu);
        pool->stopping = true;
        pthread_cond_broadcast(&pool->changed);
        pthread_mutex_unlock(&pool->mu);
        pthread_join(pool->health_thread, NULL);
    }
    free(pool->replicas);
    pthread_cond_destroy(&pool->changed);
    pthread_mutex_destroy(&pool->mu);
}

int pool_acquire(remote_pool *pool, long long expected_tokens, int avoid, double timeout_s) {
    struct timespec until = ember_time_after(CLOCK_MONOTONIC, timeout_s);
    pthread_mutex_lock(&pool->mu);
    int best = -1;
    for (;;) {
        for (int pass = 0; pass < 2 && best < 0; pass++) {
            for (int i = 0; i < pool->n; i++) {
                remote_replica *r = &pool->replicas[i];
                if (!r->healthy || r->active >= r->slots || (pass == 0 && i == avoid)) continue;
                if (best < 0 || r->outstanding < pool->replicas[best].outstanding) best = i;
            }
        }
        if (best >= 0 || pool->stopping) break;
        if (pthread_cond_timedwait(&pool->changed, &pool->mu, &until) != 0) break;
    }
    if (best >= 0) {
        remote_replica *r = &pool->replicas[best];
        r->active++;
        r->requests++;
        r->outstanding += expected_tokens;
    }
    pthread_mutex_unlock(&pool->mu);
    return best;
}

void pool_release(remote_pool *pool, int index, long long unused) {
    pthread_mutex_lock(&pool->mu);
    remote_replica *r = &pool->replicas[index];
    r->active--;
    r->outstanding -= unused;
    if (r->outstanding < 0) r->outstanding = 0;
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->mu);
}

void pool_count_token(remote_pool *pool, int index) {
    pthread_mutex_lock(&pool->mu);
    remote_replica *r = &pool->replicas[index];
    r->tokens++;
    if (r->outstanding > 0) r->outstanding--;
    pthread_mutex_unlock(&pool->mu);
}

void pool_mark_failed(remote_pool *pool, int index) {
    pthread_mutex_lock(&pool->mu);
    pool->replicas[index].failures++;
    pool->replicas[index].healthy = false;
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->mu);
}
