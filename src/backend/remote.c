/*
 * remote.c — the remote backend (backend.h): an ember engine whose sequences generate on
 * llama-server / vLLM / SGLang replicas (replicas.h) through the adapter table (adapter.h).
 *
 * A remote sequence is text: the rendered prompt plus everything generated and fed since.
 * Generating sends that text as a raw, streamed completion; every streamed token goes to the
 * token callback as in-process (piece, log-probability, mean top-k log-probability for
 * DeepConf, asked of the engine only for sequences whose sampling wants confidence). What the
 * engine's prefix cache keeps replaces KV sharing: a fork copies the text,
 * and its request reuses the cached prefix of whichever replica serves it.
 *   - The callback feeds text (budget forcing: channel close + answer opening) → the stream
 *     is closed and a new request continues from the longer text.
 *   - The callback pauses → the stream is closed (the replica stops generating).
 *   - The stream breaks (replica died, HTTP error) → the replica is marked down and the
 *     request resumes on another from the last text the callback confirmed; only after
 *     REMOTE_RETRIES failures in a row does the sequence go idle with EMBER_ERR_IO.
 * Threads: a generating sequence has a worker thread of its own, which runs its callbacks
 * (the callbacks' "scheduler thread"); the sequence's mutex guards its text and state, never
 * held while a callback runs.
 */
#include "backend/backend.h"
#include "backend/replicas.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/strbuf.h"
#include "core/utf8.h"

#include <curl/curl.h>
#include <nettle/base64.h>
#include <png.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    REMOTE_RETRIES = 6,         /* failed requests in a row before a sequence gives up */
    REMOTE_TOP_LOGPROBS = 5,    /* as the in-process sampler's confidence (CONFIDENCE_TOP_K) */
    REMOTE_EXPECTED = 256,      /* outstanding tokens counted for a request without a limit */
};
static const double ACQUIRE_TIMEOUT_S = 60.0;  /* waiting for a healthy replica with a free slot */

typedef struct remote_engine {
    backend_tag tag;            /* first: backend.h */
    remote_pool pool;
    char chat_format[32];
    int n_ctx;
    const char *const *keep_tokens;
    const char *engine_bos;     /* the format's BOS text, which the engine adds itself: not sent */
    bool vision;                /* every replica takes images */
    pthread_mutex_t mu;         /* guards stats and next_id */
    ember_engine_stats stats;
    int next_id;
} remote_engine;

typedef struct remote_seq {
    backend_tag tag;            /* first: backend.h */
    remote_engine *engine;
    int id;
    ember_sampling sampling;    /* grammar strings owned */
    char *grammar, *grammar_trigger;
    ember_token_fn on_token;
    ember_seq_idle_fn on_idle;
    void *user;

    pthread_mutex_t mu;
    pthread_cond_t idle_cv;
    strbuf text;                /* everything in the sequence */
    bool generating;            /* a worker runs */
    bool joinable;
    pthread_t worker;
    atomic_bool cancel;
    bool fed;                   /* the callback fed text: restart the request */
    ember_status status;        /* why it last went idle */
    char error[256];            /* and what the engine said, when it refused the request */
    char **images;              /* base64 PNGs, one per media marker in text, in order */
    int n_images;
    int n_tokens_known;         /* tokens of text[0, known_len) */
    size_t known_len;
    int n_evaluated;
} remote_seq;

#define ENGINE(e) ((remote_engine *)(void *)(e))
#define SEQ(s) ((remote_seq *)(void *)(s))

/* Special tokens each format's parser needs to see as text. */
/* The end-of-generation tokens are among them: their text is what the in-process engine
 * hands the parser too. */
static const char *const KEEP_MUSE[] = {"<|start|>", "<|message|>", "<|eom|>", "<|eot|>", "<|end_of_text|>",
                                        "<atem:function_calls>", "<atem:invoke", "<atem:parameter",
                                        "</atem:parameter>", "</atem:invoke>", "</atem:function_calls>",
                                        NULL};
static const char *const KEEP_CHATML[] = {"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>",
                                          "<tool_call>", "</tool_call>", NULL};

/* ---- tokens ---- */

static int tokenize_count(remote_engine *e, const char *text, bool add_special) {
    for (int attempt = 0; attempt < e->pool.n; attempt++) {
        int i = pool_acquire(&e->pool, 0, -1, 10.0);
        if (i < 0) return -1;
        remote_replica *r = &e->pool.replicas[i];
        char url[600];
        snprintf(url, sizeof url, "%s%s", r->url, r->adapter->tokenize_path);
        char *clean = utf8_sanitize(text, strlen(text), NULL);
        json_t *body = clean ? r->adapter->tokenize_request(clean, r->model, add_special) : NULL, *response;
        free(clean);
        int status = remote_http_json(url, body, 30.0, &response);
        json_decref(body);
        int n = status == 200 ? r->adapter->tokenize_count(response) : -1;
        json_decref(response);
        pool_release(&e->pool, i, 0);
        if (n >= 0) return n;
        if (status == 0) pool_mark_failed(&e->pool, i);
    }
    return -1;
}

/* ---- engine ---- */

static void engine_destroy(ember_engine *engine) {
    remote_engine *e = ENGINE(engine);
    pool_free(&e->pool);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static const char *chat_format(const ember_engine *e) { return ENGINE(e)->chat_format; }
static int n_ctx(const ember_engine *e) { return ENGINE(e)->n_ctx; }
static int n_vocab(const ember_engine *e) {
    (void)e;
    return 0;
}
static bool has_vision(const ember_engine *e) { return ENGINE(e)->vision; }
static int image_size(const ember_engine *e) {
    (void)e;
    return 0;
}
/* The remote projector's count is not asked for (no endpoint tells it before a request):
 * an estimate of one token per 28x28 pixels (a 14-pixel patch merged 2x2, as the Glimmer and
 * Qwen-VL projectors do), for admission and context checks. */
static int image_tokens(ember_engine *e, const ember_image *image) {
    if (!ENGINE(e)->vision) return -1;
    long long n = ((long long)ember_image_width(image) + 27) / 28 * (((long long)ember_image_height(image) + 27) / 28);
    return n < 16 ? 16 : n > 4096 ? 4096 : (int)n;
}
static int count_tokens(ember_engine *e, const char *text, bool special) {
    (void)special;
    return tokenize_count(ENGINE(e), text, false);
}
static void get_stats(ember_engine *engine, ember_engine_stats *stats) {
    remote_engine *e = ENGINE(engine);
    pthread_mutex_lock(&e->mu);
    *stats = e->stats;
    pthread_mutex_unlock(&e->mu);
}

/* ---- images: PNG in base64, as llama-server's multimodal_data takes them ---- */

static char *image_base64(const ember_image *image) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)ember_image_width(image);
    png.height = (png_uint_32)ember_image_height(image);
    png.format = PNG_FORMAT_RGB;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&png, NULL, &size, 0, ember_image_rgb(image), 0, NULL)) return NULL;
    uint8_t *data = malloc(size);
    char *text = data ? malloc(BASE64_ENCODE_RAW_LENGTH(size) + 1) : NULL;
    if (text && png_image_write_to_memory(&png, data, &size, 0, ember_image_rgb(image), 0, NULL)) {
        base64_encode_raw(text, size, data);
        text[BASE64_ENCODE_RAW_LENGTH(size)] = '\0';
    } else {
        free(text);
        text = NULL;
    }
    png_image_free(&png);
    free(data);
    return text;
}

static void free_images(char **images, int n) {
    for (int i = 0; i < n; i++) free(images[i]);
    free(images);
}

/* Appends encoded images to the sequence's list (with its mutex held). */
static bool add_images(remote_seq *s, char **encoded, int n) {
    if (n == 0) return true;
    char **grown = realloc(s->images, sizeof *grown * (size_t)(s->n_images + n));
    if (!grown) return false;
    s->images = grown;
    memcpy(s->images + s->n_images, encoded, sizeof *encoded * (size_t)n);
    s->n_images += n;
    return true;
}

static char **encode_all(const ember_image *const *images, int n) {
    char **out = calloc((size_t)(n ? n : 1), sizeof *out);
    for (int i = 0; out && i < n; i++) {
        if (!(out[i] = image_base64(images[i]))) {
            free_images(out, i);
            return NULL;
        }
    }
    return out;
}

/* ---- sequences ---- */

static ember_status copy_sampling(remote_seq *s, const ember_sampling *sampling, ember_error *err) {
    ember_sampling base;
    ember_sampling_init(&base);
    if (!sampling) sampling = &base;
    char *grammar = sampling->grammar ? strdup(sampling->grammar) : NULL;
    char *trigger = sampling->grammar_trigger ? strdup(sampling->grammar_trigger) : NULL;
    if ((sampling->grammar && !grammar) || (sampling->grammar_trigger && !trigger)) {
        free(grammar);
        free(trigger);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    free(s->grammar);
    free(s->grammar_trigger);
    s->sampling = *sampling;
    s->grammar = grammar;
    s->grammar_trigger = trigger;
    s->sampling.grammar = grammar;
    s->sampling.grammar_trigger = trigger;
    return EMBER_OK;
}

extern const ember_backend_ops remote_ops;

static remote_seq *seq_new(remote_engine *e) {
    remote_seq *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->tag.ops = &remote_ops;
    s->engine = e;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    pthread_mutex_lock(&e->mu);
    s->id = e->next_id++;
    e->stats.seqs_active++;
    pthread_mutex_unlock(&e->mu);
    return s;
}

static ember_status seq_create(ember_engine *engine, const ember_sampling *sampling, ember_seq **out,
                               ember_error *err) {
    *out = NULL;
    remote_seq *s = seq_new(ENGINE(engine));
    if (!s) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    ember_status status = copy_sampling(s, sampling, err);
    if (status != EMBER_OK) {
        ember_seq_destroy((ember_seq *)(void *)s);
        return status;
    }
    *out = (ember_seq *)(void *)s;
    return EMBER_OK;
}

static void join_worker(remote_seq *s) {
    pthread_mutex_lock(&s->mu);
    bool joinable = s->joinable;
    s->joinable = false;
    pthread_mutex_unlock(&s->mu);
    if (joinable) pthread_join(s->worker, NULL);
}

static void seq_destroy(ember_seq *seq) {
    remote_seq *s = SEQ(seq);
    atomic_store(&s->cancel, true);
    join_worker(s);
    pthread_mutex_lock(&s->engine->mu);
    s->engine->stats.seqs_active--;
    pthread_mutex_unlock(&s->engine->mu);
    strbuf_free(&s->text);
    free_images(s->images, s->n_images);
    free(s->grammar);
    free(s->grammar_trigger);
    pthread_cond_destroy(&s->idle_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void seq_set_callbacks(ember_seq *seq, ember_token_fn on_token, ember_seq_idle_fn on_idle, void *user) {
    remote_seq *s = SEQ(seq);
    pthread_mutex_lock(&s->mu);
    s->on_token = on_token;
    s->on_idle = on_idle;
    s->user = user;
    pthread_mutex_unlock(&s->mu);
}

static bool on_worker(const remote_seq *s) { return s->generating && pthread_equal(pthread_self(), s->worker); }

static ember_status seq_feed_text(ember_seq *seq, const char *text, bool special, ember_error *err) {
    (void)special;
    remote_seq *s = SEQ(seq);
    pthread_mutex_lock(&s->mu);
    bool ok = strbuf_puts(&s->text, text);
    if (ok && on_worker(s)) s->fed = true;
    pthread_mutex_unlock(&s->mu);
    return ok ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
}

static ember_status seq_feed_image(ember_seq *seq, const ember_image *image, ember_error *err) {
    remote_seq *s = SEQ(seq);
    if (!s->engine->vision)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "the remote engines take no images (llama-server --mmproj)");
    char **one = encode_all(&image, 1);
    if (!one) return ember_fail(err, EMBER_ERR_NOMEM, "cannot encode the image");
    pthread_mutex_lock(&s->mu);
    bool ok = strbuf_puts(&s->text, EMBER_IMAGE_MARKER) && add_images(s, one, 1);
    pthread_mutex_unlock(&s->mu);
    if (!ok) free_images(one, 1);
    else free(one);
    return ok ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
}

static ember_status seq_feed_tokens(ember_seq *seq, const int32_t *tokens, int n, ember_error *err) {
    (void)seq;
    (void)tokens;
    (void)n;
    return ember_fail(err, EMBER_ERR_UNSUPPORTED, "a remote engine takes text, not token ids");
}

static ember_status seq_reset_media(ember_seq *seq, const char *text, bool special, const ember_image *const *images,
                                    int n_images, ember_error *err) {
    (void)special;
    remote_seq *s = SEQ(seq);
    if (n_images > 0 && !s->engine->vision)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "the remote engines take no images (llama-server --mmproj)");
    char **encoded = encode_all(images, n_images);
    if (!encoded) return ember_fail(err, EMBER_ERR_NOMEM, "cannot encode the images");
    pthread_mutex_lock(&s->mu);
    if (s->generating) {
        pthread_mutex_unlock(&s->mu);
        return ember_fail(err, EMBER_ERR_BUSY, "the sequence is generating");
    }
    size_t common = 0;
    size_t len = strlen(text);
    while (common < s->text.len && common < len && s->text.data[common] == text[common]) common++;
    if (common < s->known_len) s->known_len = 0, s->n_tokens_known = 0;
    strbuf_clear(&s->text);
    free_images(s->images, s->n_images);
    s->images = NULL;
    s->n_images = 0;
    bool ok = strbuf_append(&s->text, text, len) && add_images(s, encoded, n_images);
    pthread_mutex_unlock(&s->mu);
    if (!ok) free_images(encoded, n_images);
    else free(encoded);
    return ok ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
}

static ember_status seq_set_sampling(ember_seq *seq, const ember_sampling *sampling, ember_error *err) {
    remote_seq *s = SEQ(seq);
    pthread_mutex_lock(&s->mu);
    ember_status status = copy_sampling(s, sampling, err);
    pthread_mutex_unlock(&s->mu);
    return status;
}

/* ---- streaming one request ---- */

typedef struct stream_ctx {
    remote_seq *seq;
    remote_replica *replica;
    int replica_index;
    strbuf line;                /* the SSE line being received */
    bool got_token;             /* at least one token arrived on this request */
    remote_finish finish;
    bool stop;                  /* the callback paused, or cancel */
    bool restart;               /* the callback fed text */
    char error[256];
} stream_ctx;

/* One streamed event: tokens to the callback. Returns false to close the stream. */
static bool handle_event(stream_ctx *c, const char *data) {
    remote_seq *s = c->seq;
    remote_engine *e = s->engine;
    json_t *ev = json_loads(data, 0, NULL);
    remote_event out;
    if (!ev || !c->replica->adapter->parse_event(ev, &out)) {
        json_decref(ev);
        return true;  /* not an event of ours (keep-alive, comments) */
    }
    if (out.error) {
        snprintf(c->error, sizeof c->error, "%s", out.error);
        json_decref(ev);
        return false;
    }
    if (out.prompt_evaluated >= 0 && !c->got_token) {
        pthread_mutex_lock(&s->mu);
        s->n_evaluated += out.prompt_evaluated;
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_lock(&e->mu);
        e->stats.tokens_evaluated += (uint64_t)out.prompt_evaluated;
        pthread_mutex_unlock(&e->mu);
    }
    bool keep_going = true;
    for (int i = 0; i < out.n_tokens && keep_going; i++) {
        const remote_token *t = &out.tokens[i];
        pthread_mutex_lock(&s->mu);
        if (!c->got_token && out.prompt_tokens >= 0) {
            s->n_tokens_known = out.prompt_tokens;
            s->known_len = s->text.len;
        }
        strbuf_puts(&s->text, t->piece);
        s->n_tokens_known++;
        s->known_len = s->text.len;
        s->n_evaluated++;
        ember_token_fn fn = s->on_token;
        void *user = s->user;
        pthread_mutex_unlock(&s->mu);
        c->got_token = true;
        pool_count_token(&e->pool, c->replica_index);
        pthread_mutex_lock(&e->mu);
        e->stats.decode_calls++;
        pthread_mutex_unlock(&e->mu);
        ember_token_info info = {.token = t->id, .piece = t->piece, .logprob = t->logprob,
                                 .top_logprob_mean = t->top_logprob_mean, .is_eog = false};
        ember_seq_action action = fn ? fn((ember_seq *)(void *)s, &info, user) : EMBER_SEQ_CONTINUE;
        pthread_mutex_lock(&s->mu);
        bool fed = s->fed;
        s->fed = false;
        pthread_mutex_unlock(&s->mu);
        if (action == EMBER_SEQ_PAUSE || atomic_load(&s->cancel)) {
            c->stop = true;
            keep_going = false;
        } else if (fed) {
            c->restart = true;
            keep_going = false;
        }
    }
    if (keep_going && out.finish != REMOTE_FINISH_NONE) {
        c->finish = out.finish;
        keep_going = false;
    }
    json_decref(ev);
    return keep_going;
}

static size_t on_data(char *data, size_t size, size_t n, void *user) {
    stream_ctx *c = user;
    size_t total = size * n;
    if (atomic_load(&c->seq->cancel)) {
        c->stop = true;
        return 0;
    }
    for (size_t i = 0; i < total; i++) {
        if (data[i] != '\n') {
            if (!strbuf_append(&c->line, data + i, 1)) return 0;
            continue;
        }
        const char *line = strbuf_str(&c->line);
        bool go = true;
        if (strncmp(line, "data: ", 6) == 0 && strcmp(line + 6, "[DONE]") != 0) go = handle_event(c, line + 6);
        else if (strncmp(line, "error: ", 7) == 0) {
            snprintf(c->error, sizeof c->error, "%.200s", line + 7);
            go = false;
        } else if (line[0] == '{') {
            go = handle_event(c, line);  /* a plain JSON error body */
        }
        strbuf_clear(&c->line);
        if (!go) return 0;  /* closes the stream: the replica stops this request */
    }
    return total;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    stream_ctx *c = user;
    return atomic_load(&c->seq->cancel) ? 1 : 0;
}

/* `prompt` with each EMBER_IMAGE_MARKER replaced by the replica's media marker. */
static char *replace_markers(const char *prompt, const char *marker) {
    strbuf out = {0};
    size_t n = strlen(EMBER_IMAGE_MARKER);
    for (const char *p = prompt, *hit; *p; p = hit + n) {
        hit = strstr(p, EMBER_IMAGE_MARKER);
        if (!hit) {
            strbuf_puts(&out, p);
            break;
        }
        strbuf_append(&out, p, (size_t)(hit - p));
        strbuf_puts(&out, marker);
    }
    if (out.failed) {
        strbuf_free(&out);
        return NULL;
    }
    return out.data ? strbuf_take(&out) : strdup("");
}

/* One request from the sequence's current text. Returns EMBER_OK when it ended as planned
 * (finish, pause or restart), EMBER_ERR_IO when the replica failed. */
static ember_status stream_once(remote_seq *s, int replica_index, stream_ctx *c) {
    remote_engine *e = s->engine;
    remote_replica *r = &e->pool.replicas[replica_index];
    memset(c, 0, sizeof *c);
    c->seq = s;
    c->replica = r;
    c->replica_index = replica_index;
    /* JSON carries UTF-8 only: a byte the model produced alone (or an excerpt cut inside a
     * character) travels as U+FFFD. */
    pthread_mutex_lock(&s->mu);
    const char *rendered = strbuf_str(&s->text);
    size_t skip = e->engine_bos && strncmp(rendered, e->engine_bos, strlen(e->engine_bos)) == 0 ? strlen(e->engine_bos) : 0;
    char *prompt = utf8_sanitize(rendered + skip, s->text.len - skip, NULL);
    ember_sampling sampling = s->sampling;
    /* the images' text is immutable once encoded: the request may point at it unlocked */
    const char **images = s->n_images ? calloc((size_t)s->n_images, sizeof *images) : NULL;
    int n_images = images ? s->n_images : 0;
    for (int i = 0; i < n_images; i++) images[i] = s->images[i];
    pthread_mutex_unlock(&s->mu);
    if (prompt && n_images && strcmp(r->media_marker, EMBER_IMAGE_MARKER) != 0) {
        char *marked = replace_markers(prompt, r->media_marker);
        free(prompt);
        prompt = marked;
    }
    if (!prompt) {
        free(images);
        return EMBER_ERR_NOMEM;
    }
    remote_request req = {.prompt = prompt, .model = r->model, .sampling = &sampling, .max_tokens = 0,
                          .top_logprobs = sampling.confidence ? REMOTE_TOP_LOGPROBS : 0, .keep_tokens = e->keep_tokens,
                          .images_base64 = images, .n_images = n_images};
    if (!r->adapter->lazy_grammar && sampling.grammar_trigger) sampling.grammar = NULL;
    json_t *body = r->adapter->request(&req);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(prompt);
    free(images);
    if (!text) return EMBER_ERR_NOMEM;
    char url[600];
    snprintf(url, sizeof url, "%s%s", r->url, r->adapter->completions_path);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: text/event-stream");
    long status = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (curl) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        /* a replica that stops sending for this long is taken for dead */
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 120L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
        rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        /* an error body is one JSON object without a newline */
        if (rc == CURLE_OK && c->line.len && strbuf_str(&c->line)[0] == '{') handle_event(c, strbuf_str(&c->line));
        curl_easy_cleanup(curl);
    }
    curl_slist_free_all(headers);
    free(text);
    strbuf_free(&c->line);
    if (c->stop || c->restart || c->finish != REMOTE_FINISH_NONE) return EMBER_OK;
    /* The replica answered and refused this request (too long for its context, a bad
     * grammar): another replica would refuse it too. */
    if (status >= 400 && status < 500) {
        if (!c->error[0]) snprintf(c->error, sizeof c->error, "HTTP %ld", status);
        return EMBER_ERR_INVALID;
    }
    if (!c->error[0])
        snprintf(c->error, sizeof c->error, "%s: %s (HTTP %ld)", r->url,
                 rc == CURLE_OK ? "the stream ended early" : curl_easy_strerror(rc), status);
    return EMBER_ERR_IO;
}

static void go_idle(remote_seq *s, ember_status status) {
    pthread_mutex_lock(&s->mu);
    s->status = status;
    ember_seq_idle_fn fn = s->on_idle;
    void *user = s->user;
    pthread_mutex_unlock(&s->mu);
    if (fn) fn((ember_seq *)(void *)s, status, user);
    pthread_mutex_lock(&s->mu);
    s->generating = false;
    pthread_cond_broadcast(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
}

/* The sequence's worker: requests until the callback pauses, the model ends its turn, or the
 * replicas fail REMOTE_RETRIES times in a row. */
static void *worker_main(void *arg) {
    remote_seq *s = arg;
    remote_engine *e = s->engine;
    int failures = 0, avoid = -1;
    ember_status status = EMBER_OK;
    stream_ctx c;
    for (;;) {
        if (atomic_load(&s->cancel)) {
            status = EMBER_ERR_CANCELLED;
            break;
        }
        int index = pool_acquire(&e->pool, REMOTE_EXPECTED, avoid, ACQUIRE_TIMEOUT_S);
        if (index < 0) {
            status = EMBER_ERR_IO;
            break;
        }
        uint64_t before = e->pool.replicas[index].tokens;
        ember_status st = stream_once(s, index, &c);
        long long used = (long long)(e->pool.replicas[index].tokens - before);
        pool_release(&e->pool, index, used < REMOTE_EXPECTED ? REMOTE_EXPECTED - used : 0);
        if (st == EMBER_ERR_NOMEM || st == EMBER_ERR_INVALID) {
            status = st == EMBER_ERR_INVALID ? EMBER_ERR_ENGINE : st;
            pthread_mutex_lock(&s->mu);
            snprintf(s->error, sizeof s->error, "%s: %s", e->pool.replicas[index].url, c.error);
            pthread_mutex_unlock(&s->mu);
            break;
        }
        if (st != EMBER_OK) {
            if (atomic_load(&s->cancel)) {
                status = EMBER_ERR_CANCELLED;
                break;
            }
            pool_mark_failed(&e->pool, index);
            avoid = index;
            if (c.got_token) failures = 0;
            if (++failures >= REMOTE_RETRIES) {
                status = EMBER_ERR_IO;
                break;
            }
            continue;  /* resume from the last confirmed text on another replica */
        }
        failures = 0;
        if (c.stop) {
            status = atomic_load(&s->cancel) ? EMBER_ERR_CANCELLED : EMBER_OK;
            break;
        }
        if (c.restart || c.finish == REMOTE_FINISH_LENGTH) continue;
        if (c.finish == REMOTE_FINISH_EOS || c.finish == REMOTE_FINISH_OTHER) {
            /* the end of the turn, as the in-process engine reports it: an end-of-generation token */
            pthread_mutex_lock(&s->mu);
            ember_token_fn fn = s->on_token;
            void *user = s->user;
            pthread_mutex_unlock(&s->mu);
            ember_token_info info = {.token = -1, .piece = "", .is_eog = c.finish == REMOTE_FINISH_EOS};
            ember_seq_action action = fn ? fn((ember_seq *)(void *)s, &info, user) : EMBER_SEQ_PAUSE;
            pthread_mutex_lock(&s->mu);
            bool fed = s->fed;
            s->fed = false;
            pthread_mutex_unlock(&s->mu);
            if (action == EMBER_SEQ_CONTINUE && fed) continue;
            break;
        }
    }
    go_idle(s, status);
    return NULL;
}

static ember_status seq_generate(ember_seq *seq, ember_error *err) {
    remote_seq *s = SEQ(seq);
    join_worker(s);
    pthread_mutex_lock(&s->mu);
    if (s->generating) {
        pthread_mutex_unlock(&s->mu);
        return ember_fail(err, EMBER_ERR_BUSY, "the sequence is generating already");
    }
    s->generating = true;
    s->fed = false;
    s->status = EMBER_OK;
    s->error[0] = '\0';
    int rc = pthread_create(&s->worker, NULL, worker_main, s);
    if (rc != 0) s->generating = false;
    else s->joinable = true;
    pthread_mutex_unlock(&s->mu);
    return rc == 0 ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "cannot start the sequence's thread");
}

static ember_status seq_wait_idle(ember_seq *seq, ember_error *err) {
    remote_seq *s = SEQ(seq);
    pthread_mutex_lock(&s->mu);
    while (s->generating) pthread_cond_wait(&s->idle_cv, &s->mu);
    ember_status status = s->status;
    char error[256];
    snprintf(error, sizeof error, "%s", s->error);
    pthread_mutex_unlock(&s->mu);
    join_worker(s);
    if (status == EMBER_ERR_ENGINE) return ember_fail(err, status, "the remote engine refused the request: %s", error);
    if (status == EMBER_ERR_IO) return ember_fail(err, status, "no remote engine could finish the generation");
    if (status == EMBER_ERR_CANCELLED) return ember_fail(err, status, "cancelled");
    return status;
}

static ember_status seq_fork(ember_seq *parent, const ember_sampling *sampling, ember_seq **out, ember_error *err) {
    remote_seq *p = SEQ(parent);
    *out = NULL;
    remote_seq *s = seq_new(p->engine);
    if (!s) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&p->mu);
    bool ok = strbuf_append(&s->text, p->text.data ? p->text.data : "", p->text.len);
    s->n_tokens_known = p->n_tokens_known;
    s->known_len = p->known_len;
    for (int i = 0; ok && i < p->n_images; i++) {
        char *copy = strdup(p->images[i]);
        ok = copy && add_images(s, &copy, 1);
        if (!ok) free(copy);
    }
    pthread_mutex_unlock(&p->mu);
    ember_status status = ok ? copy_sampling(s, sampling, err) : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    if (status != EMBER_OK) {
        seq_destroy((ember_seq *)(void *)s);
        return status;
    }
    *out = (ember_seq *)(void *)s;
    return EMBER_OK;
}

static void seq_cancel(ember_seq *seq) { atomic_store(&SEQ(seq)->cancel, true); }

static int seq_n_tokens(const ember_seq *seq) {
    remote_seq *s = SEQ(seq);
    pthread_mutex_lock(&s->mu);
    int known = s->n_tokens_known;
    char *rest = s->known_len < s->text.len ? strdup(s->text.data + s->known_len) : NULL;
    pthread_mutex_unlock(&s->mu);
    int more = rest ? tokenize_count(s->engine, rest, false) : 0;
    free(rest);
    return known + (more > 0 ? more : 0);
}

static int seq_n_evaluated(const ember_seq *seq) {
    remote_seq *s = SEQ(seq);
    pthread_mutex_lock(&s->mu);
    int n = s->n_evaluated;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int seq_n_encoded(const ember_seq *seq) {
    (void)seq;
    return 0;
}

static int seq_id(const ember_seq *seq) { return SEQ(seq)->id; }

const ember_backend_ops remote_ops = {
    .name = "remote",
    .engine_destroy = engine_destroy,
    .chat_format = chat_format,
    .n_ctx = n_ctx,
    .n_vocab = n_vocab,
    .has_vision = has_vision,
    .image_size = image_size,
    .image_tokens = image_tokens,
    .count_tokens = count_tokens,
    .get_stats = get_stats,
    .seq_create = seq_create,
    .seq_destroy = seq_destroy,
    .seq_set_callbacks = seq_set_callbacks,
    .seq_feed_text = seq_feed_text,
    .seq_feed_image = seq_feed_image,
    .seq_feed_tokens = seq_feed_tokens,
    .seq_generate = seq_generate,
    .seq_wait_idle = seq_wait_idle,
    .seq_fork = seq_fork,
    .seq_cancel = seq_cancel,
    .seq_set_sampling = seq_set_sampling,
    .seq_reset_media = seq_reset_media,
    .seq_n_tokens = seq_n_tokens,
    .seq_n_evaluated = seq_n_evaluated,
    .seq_n_encoded = seq_n_encoded,
    .seq_id = seq_id,
};

/* The chat format of the served model: which format's markers are single tokens. */
static bool detect_format(remote_engine *e, ember_error *err) {
    static const struct {
        const char *marker, *format, *bos;
        const char *const *keep;
    } formats[] = {{"<|message|>", "muse-glimmer", "<|begin_of_text|>", KEEP_MUSE},
                   {"<|im_start|>", "chatml-think", NULL, KEEP_CHATML}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        int n = tokenize_count(e, formats[i].marker, false);
        if (n < 0) {
            ember_fail(err, EMBER_ERR_IO, "the remote engine does not tokenize (%s)", e->pool.replicas[0].url);
            return false;
        }
        if (n == 1) {
            snprintf(e->chat_format, sizeof e->chat_format, "%s", formats[i].format);
            e->keep_tokens = formats[i].keep;
            /* The rendered prompt opens with the format's BOS; an engine that adds one to
             * every prompt (llama-server for a model with add_bos, vLLM and SGLang by default)
             * would read two. (Probed on a plain character: the BOS text itself would make
             * llama-server log a double-BOS warning.) */
            const char *bos = formats[i].bos;
            if (bos && tokenize_count(e, bos, false) == 1 &&
                tokenize_count(e, "x", true) == tokenize_count(e, "x", false) + 1)
                e->engine_bos = bos;
            return true;
        }
    }
    ember_fail(err, EMBER_ERR_UNSUPPORTED, "the remote model's vocabulary matches no chat format ember knows "
               "(muse-glimmer, chatml-think)");
    return false;
}

ember_status remote_engine_create(const ember_engine_params *p, ember_engine **out, ember_error *err) {
    *out = NULL;
    remote_engine *e = calloc(1, sizeof *e);
    if (!e) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    e->tag.ops = &remote_ops;
    pthread_mutex_init(&e->mu, NULL);
    ember_status status = pool_init(&e->pool, p->engine_urls, p->n_engine_urls, err);
    if (status == EMBER_OK && !detect_format(e, err)) status = err ? err->status : EMBER_ERR_IO;
    if (status != EMBER_OK) {
        engine_destroy((ember_engine *)(void *)e);
        return status;
    }
    e->vision = true;
    for (int i = 0; i < e->pool.n; i++) {
        e->vision = e->vision && e->pool.replicas[i].vision && e->pool.replicas[i].adapter->images;
        int c = e->pool.replicas[i].n_ctx;
        if (c > 0 && (e->n_ctx == 0 || c < e->n_ctx)) e->n_ctx = c;
    }
    if (p->n_ctx > 0 && (e->n_ctx == 0 || p->n_ctx < e->n_ctx)) e->n_ctx = p->n_ctx;
    if (e->n_ctx == 0) e->n_ctx = 8192;
    *out = (ember_engine *)(void *)e;
    return EMBER_OK;
}

int ember_engine_replicas(ember_engine *engine, ember_replica_stats *stats, int max) {
    if (!engine || BACKEND_OPS(engine) != &remote_ops) return 0;
    remote_engine *e = ENGINE(engine);
    pthread_mutex_lock(&e->pool.mu);
    int n = e->pool.n < max ? e->pool.n : max;
    for (int i = 0; i < n; i++) {
        const remote_replica *r = &e->pool.replicas[i];
        stats[i] = (ember_replica_stats){.healthy = r->healthy, .active = r->active, .slots = r->slots,
                                         .outstanding_tokens = r->outstanding, .requests = r->requests,
                                         .failures = r->failures, .tokens = r->tokens};
        snprintf(stats[i].url, sizeof stats[i].url, "%s", r->url);
        snprintf(stats[i].engine, sizeof stats[i].engine, "%s", r->adapter->name);
    }
    pthread_mutex_unlock(&e->pool.mu);
    return e->pool.n;
}
