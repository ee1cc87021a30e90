/*
 * completion.c — POST /v1/chat/completions: a request becomes a job, a job becomes a run.
 *
 *   1. The body is parsed (request.c), the chat built, the prompt counted, and the run's
 *      token limit fitted to the context; the job then waits at the gate for a run slot.
 *   2. The run starts. Its event callback (engine scheduler or run thread) copies each event
 *      into the job's queue and signals — nothing else, it must never block.
 *   3. The connection's thread consumes the queue: for a stream it waits for the first
 *      event (errors before any output still get a 4xx/5xx status), then libmicrohttpd pulls
 *      Server-Sent Events through sse_read; otherwise it collects everything and answers
 *      with one chat.completion object.
 *   4. Stop strings are matched on the answer text as it arrives (a possible beginning of
 *      one is held back); a match trims the answer and cancels the run.
 *   5. A client that goes away (its socket closes, a write fails, libmicrohttpd ends the
 *      request) has its run cancelled and joined, its slot freed, at once.
 *
 * Ownership: the job belongs to its connection (srv_conn.job) and, while streaming, also to
 * the libmicrohttpd response; the last of the two to let go frees it.
 */
#include "server/artifacts.h"
#include "server/media.h"
#include "server/server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

enum { TOOL_ARGS_MAX = 1 << 20 };

typedef struct srv_item {
    struct srv_item *next;
    ember_event_type type;
    int agent;
    ember_channel channel;
    char *text;
    char *name;
    char *arguments;
    float confidence;
    int tokens;
    char *stop_reason;
    bool synthesized;
} srv_item;

struct srv_job {
    ember_server *srv;
    srv_conn *conn;               /* NULL once libmicrohttpd ended the request */
    srv_request req;
    ember_chat *chat;
    ember_run *run;
    ember_result *result;
    ember_status run_status;
    ember_error run_error;
    int seqs, cells;              /* reserved at the gate */
    bool admitted;
    bool run_over;                /* the run was joined (and the gate left) */
    /* the event queue: mu/cv guard head, tail and done */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_item *head, *tail;
    bool done;                    /* EMBER_EVENT_DONE was queued */
    int refs;                     /* connection + response */
    /* consumer state: the connection's thread only */
    char id[48];
    int64_t created;
    strbuf reasoning, answer;    /* what the client got */
    strbuf hold;                 /* answer text that may begin a stop string */
    bool stop_hit;
    json_t *calls;                /* OpenAI tool_calls */
    char *error;                  /* the run's error message */
    double t_arrival, t_admitted, t_first, t_last;
    int n_deltas;
    bool seen_done;
    bool completed;               /* job_complete ran */
    bool cancelled_by_client;
    double t_reasoning_first, t_reasoning_last;  /* the main reasoning's first and last delta */
    char *conversation_id;        /* stored here after the run */
    char owner[160];              /* the connection's, for storing after it ended */
    bool stored;                  /* the exchange was stored (or storing was not asked for) */
    int64_t user_message_id, message_id;  /* the stored messages */
    /* streaming */
    strbuf out;                  /* SSE bytes not yet handed to libmicrohttpd */
    bool stream_end;              /* [DONE] is in out */
    double t_last_write;
};

/* ---- the event callback (scheduler / run thread) ---------------------------------------- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void item_free(srv_item *it) {
    free(it->text);
    free(it->name);
    free(it->arguments);
    free(it->stop_reason);
    free(it);
}

static void on_event(const ember_event *ev, void *user) {
    srv_job *job = user;
    if (ev->type == EMBER_EVENT_USAGE) return;
    srv_item *it = calloc(1, sizeof *it);
    if (it) {
        it->type = ev->type;
        it->agent = ev->agent;
        it->channel = ev->channel;
        it->text = dup_or_null(ev->text);
        it->name = dup_or_null(ev->name);
        it->arguments = dup_or_null(ev->arguments);
        it->confidence = ev->confidence;
        it->tokens = ev->tokens;
        it->stop_reason = dup_or_null(ev->stop_reason);
        it->synthesized = ev->synthesized;
    }
    pthread_mutex_lock(&job->mu);
    if (it) {
        if (job->tail) job->tail->next = it;
        else job->head = it;
        job->tail = it;
    }
    if (ev->type == EMBER_EVENT_DONE) job->done = true;
    pthread_cond_signal(&job->cv);
    pthread_mutex_unlock(&job->mu);
}

/* Takes the queued items (waiting up to timeout_ms for one); *done = the run has ended. */
static srv_item *take_items(srv_job *job, int timeout_ms, bool *done) {
    pthread_mutex_lock(&job->mu);
    if (!job->head && !job->done && timeout_ms > 0) {
        struct timespec ts = ember_time_after(CLOCK_MONOTONIC, timeout_ms / 1e3);
        pthread_cond_timedwait(&job->cv, &job->mu, &ts);
    }
    srv_item *items = job->head;
    job->head = job->tail = NULL;
    *done = job->done;
    pthread_mutex_unlock(&job->mu);
    return items;
}

/* Prompt tokens the run did not evaluate (the engine's prompt cache had them), as OpenAI's
 * usage.prompt_tokens_details.cached_tokens. */
static int usage_cached(const ember_usage *u) {
    int cached = u->prompt_tokens - u->prompt_tokens_evaluated;
    return cached > 0 ? cached : 0;
}

/* ---- the job's life --------------------------------------------------------------------- */

static srv_job *job_create(srv_conn *c) {
    srv_job *job = calloc(1, sizeof *job);
    if (!job) return NULL;
    job->srv = c->srv;
    job->conn = c;
    job->refs = 1;
    pthread_mutex_init(&job->mu, NULL);
    ember_cond_init_monotonic(&job->cv);
    char hex[25] = "000000000000000000000000";
    srv_random_hex(hex, 12);
    snprintf(job->id, sizeof job->id, "chatcmpl-%s", hex);
    job->created = (int64_t)time(NULL);
    job->t_arrival = c->t_start;
    job->calls = json_array();
    return job;
}

static void store_exchange(srv_job *job);

/* Joins the run (cancelling it first when asked), frees its slot, records its numbers. */
static void job_end_run(srv_job *job, bool cancel) {
    if (job->run_over) return;
    job->run_over = true;
    ember_server *s = job->srv;
    if (job->run) {
        if (cancel) ember_run_cancel(job->run);
        job->run_status = ember_run_wait(job->run, &job->result, &job->run_error);
        ember_run_destroy(job->run);
        job->run = NULL;
    }
    if (job->admitted) srv_gate_leave(&s->gate, job->seqs, job->cells);
    job->admitted = false;
    /* a turn the client stopped keeps what it had received, marked stopped */
    if (cancel && job->cancelled_by_client && (job->answer.len || job->reasoning.len)) store_exchange(job);
    if (job->result) {
        const ember_usage *u = ember_result_usage(job->result);
        srv_metrics_tokens(&s->metrics, u->prompt_tokens, usage_cached(u), u->reasoning_tokens, u->answer_tokens);
        if (job->conn) job->conn->tokens = u->prompt_tokens + u->reasoning_tokens + u->answer_tokens;
    }
    if (cancel && job->t_admitted > 0 && !job->seen_done) srv_metrics_cancelled(&s->metrics);
    double now = ember_now_s();
    if (job->t_first > 0) {
        srv_metrics_observe(&s->metrics, SRV_HIST_TTFT, job->t_first - job->t_arrival);
        if (job->n_deltas > 1)
            srv_metrics_observe(&s->metrics, SRV_HIST_TPOT, (job->t_last - job->t_first) / (job->n_deltas - 1));
    }
    if (job->t_admitted > 0) srv_metrics_observe(&s->metrics, SRV_HIST_DURATION, now - job->t_arrival);
}

static void job_release(srv_job *job) {
    pthread_mutex_lock(&job->mu);
    bool last = --job->refs == 0;
    pthread_mutex_unlock(&job->mu);
    if (!last) return;
    job_end_run(job, true);
    srv_item *it = job->head;
    while (it) {
        srv_item *next = it->next;
        item_free(it);
        it = next;
    }
    ember_result_destroy(job->result);
    ember_chat_destroy(job->chat);
    srv_request_free(&job->req);
    strbuf_free(&job->reasoning);
    strbuf_free(&job->answer);
    strbuf_free(&job->hold);
    strbuf_free(&job->out);
    json_decref(job->calls);
    free(job->error);
    free(job->conversation_id);
    pthread_mutex_destroy(&job->mu);
    pthread_cond_destroy(&job->cv);
    free(job);
}

void srv_completion_end(srv_conn *c) {
    srv_job *job = c->job;
    c->job = NULL;
    if (!job) return;
    if (!job->run_over && !job->seen_done) job->cancelled_by_client = true;
    job_end_run(job, !job->seen_done);
    job->conn = NULL;
    job_release(job);
}

/* ---- turning events into the answer ----------------------------------------------------- */

static json_t *chunk_base(srv_job *job) {
    return json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", job->id, "object", "chat.completion.chunk",
                     "created", (json_int_t)job->created, "model", job->srv->model_id,
                     "system_fingerprint", "ember");
}

static void sse_json(srv_job *job, json_t *value) {
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (!text) return;
    strbuf_printf(&job->out, "data: %s\n\n", text);
    free(text);
}

/* A chunk with one choice whose delta is `delta` (stolen). */
static void sse_delta(srv_job *job, json_t *delta, const char *finish_reason) {
    json_t *chunk = chunk_base(job);
    json_t *choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "delta", delta, "logprobs",
                               "finish_reason", finish_reason ? json_string(finish_reason) : json_null());
    json_object_set_new(chunk, "choices", json_pack("[o]", choice));
    sse_json(job, chunk);
}

static void sse_ember(srv_job *job, json_t *ember) {
    json_t *chunk = chunk_base(job);
    json_object_set_new(chunk, "choices", json_array());
    json_object_set_new(chunk, "ember", ember);
    sse_json(job, chunk);
}

static void note_delta(srv_job *job) {
    double now = ember_now_s();
    if (job->t_first == 0) job->t_first = now;
    job->t_last = now;
    job->n_deltas++;
}

static void emit_answer(srv_job *job, const char *text, size_t len) {
    if (!len) return;
    strbuf_append(&job->answer, text, len);
    if (job->req.stream) sse_delta(job, json_pack("{s:o}", "content", srv_json_text(text, len)), NULL);
}

/* The first occurrence of needle in hay (memmem is a GNU extension). */
static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t k) {
    for (size_t i = 0; k && i + k <= n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0) return hay + i;
    return NULL;
}

/* Answer text through the stop strings: emits what can no longer begin one. */
static void answer_text(srv_job *job, const char *text, size_t len, bool flush) {
    if (job->stop_hit) return;
    strbuf_append(&job->hold, text, len);
    const char *h = strbuf_str(&job->hold);
    size_t n = job->hold.len;
    size_t cut = n, keep = 0;
    for (int i = 0; i < job->req.n_stop; i++) {
        const char *stop = job->req.stop[i];
        size_t sl = strlen(stop);
        const char *at = find_bytes(h, n, stop, sl);
        if (at && (size_t)(at - h) < cut) {
            cut = (size_t)(at - h);
            job->stop_hit = true;
        }
        for (size_t k = sl - 1 < n ? sl - 1 : n; k > keep && !flush; k--) {
            if (memcmp(h + n - k, stop, k) == 0) {
                keep = k;
                break;
            }
        }
    }
    if (job->stop_hit) {
        emit_answer(job, h, cut);
        strbuf_clear(&job->hold);
        if (job->run) ember_run_cancel(job->run);
        return;
    }
    emit_answer(job, h, n - keep);
    strbuf_consume(&job->hold, n - keep);
}

static const char *tool_short_name(const char *name) {
    return strncmp(name, "functions.", 10) == 0 ? name + 10 : name;
}

/* A generated tool message → OpenAI tool_calls (appended to job->calls, streamed). Calls to
 * the server's own tools are run by the run itself: they stream as ember events instead. */
static bool has_images(const srv_request *req);

static void tool_call(srv_job *job, const char *recipient, const char *body) {
    /* the run's own zoom (offered with images when reasoning) is no client call either */
    bool zoom = recipient && strcmp(tool_short_name(recipient), "zoom") == 0 && has_images(&job->req) &&
                job->req.mode != EMBER_MODE_INSTANT;
    if (zoom || (job->srv->tools && recipient && ember_tools_is_enabled(job->srv->tools, recipient))) {
        if (job->req.stream && job->req.ember_events)
            sse_ember(job, json_pack("{s:s, s:s, s:o}", "type", "tool.call", "name", recipient,
                                     "arguments", srv_json_text(body ? body : "", body ? strlen(body) : 0)));
        return;
    }
    json_t *parsed = NULL;
    char *calls_json = NULL;
    ember_error err = {0};
    if (ember_tool_calls_parse(job->srv->chat_format, recipient ? recipient : "", body ? body : "",
                               job->req.tools_json, &calls_json, &err) == EMBER_OK)
        parsed = json_loads(calls_json, 0, NULL);
    free(calls_json);
    if (!json_is_array(parsed)) {
        /* not a call the parser understands: hand over the raw body as the arguments */
        json_decref(parsed);
        json_t *raw = json_loads(body ? body : "", 0, NULL);
        parsed = json_pack("[{s:s, s:o}]", "name", recipient ? recipient : "",
                           "arguments", json_is_object(raw) ? raw : json_pack("{s:o}", "raw", srv_json_text(body ? body : "", body ? strlen(body) : 0)));
        if (!json_is_object(raw)) json_decref(raw);
    }
    size_t i;
    json_t *call;
    json_array_foreach(parsed, i, call) {
        const char *name = json_string_value(json_object_get(call, "name"));
        json_t *args = json_object_get(call, "arguments");
        char *args_text = json_is_string(args) ? strdup(json_string_value(args))
                          : json_dumps(args ? args : json_object(), JSON_COMPACT);
        char hex[25] = "000000000000000000000000", id[32];
        srv_random_hex(hex, 12);
        snprintf(id, sizeof id, "call_%s", hex);
        size_t index = json_array_size(job->calls);
        json_t *tc = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function", "function",
                               "name", tool_short_name(name ? name : ""), "arguments", args_text ? args_text : "{}");
        free(args_text);
        if (!tc) continue;
        json_array_append(job->calls, tc);
        if (job->req.stream) {
            json_t *delta_call = json_deep_copy(tc);
            json_object_set_new(delta_call, "index", json_integer((json_int_t)index));
            sse_delta(job, json_pack("{s:[o]}", "tool_calls", delta_call), NULL);
        }
        json_decref(tc);
    }
    json_decref(parsed);
}

static const char *channel_name(ember_channel ch) {
    return ch == EMBER_CHANNEL_REASONING ? "reasoning" : ch == EMBER_CHANNEL_TOOL ? "tool" : "answer";
}

static void consume_item(srv_job *job, srv_item *it) {
    const char *text = it->text ? it->text : "";
    bool stream = job->req.stream;
    switch (it->type) {
    case EMBER_EVENT_REASONING_DELTA:
        note_delta(job);
        job->t_reasoning_last = ember_now_s();
        if (job->t_reasoning_first == 0) job->t_reasoning_first = job->t_reasoning_last;
        strbuf_puts(&job->reasoning, text);
        if (stream) sse_delta(job, json_pack("{s:o}", "reasoning_content", srv_json_text(text, strlen(text))), NULL);
        break;
    case EMBER_EVENT_ANSWER_DELTA:
        note_delta(job);
        answer_text(job, text, strlen(text), false);
        break;
    case EMBER_EVENT_TOOL_CALL:
        note_delta(job);
        if (it->agent >= 0) {  /* a Contemplating agent's call: its own, never the client's tool_calls */
            if (stream && job->req.ember_events)
                sse_ember(job, json_pack("{s:s, s:i, s:s, s:o}", "type", "tool.call", "agent", it->agent, "name",
                                         it->name ? it->name : "", "arguments",
                                         srv_json_text(it->arguments ? it->arguments : "", it->arguments ? strlen(it->arguments) : 0)));
            break;
        }
        tool_call(job, it->name, it->arguments ? it->arguments : it->text);
        break;
    case EMBER_EVENT_ERROR:
        free(job->error);
        job->error = strdup(text);
        break;
    case EMBER_EVENT_TOOL_RESULT:
        if (stream && job->req.ember_events) {
            json_t *ev = json_pack("{s:s, s:s, s:o}", "type", "tool.result", "name", it->name ? it->name : "",
                                   "output", srv_json_text(text, strlen(text)));
            if (it->agent >= 0) json_object_set_new(ev, "agent", json_integer(it->agent));
            sse_ember(job, ev);
        }
        break;
    case EMBER_EVENT_AGENT_STARTED:
        if (stream && job->req.ember_events)
            sse_ember(job, json_pack("{s:s, s:i, s:o}", "type", "agent.started", "agent", it->agent,
                                     "approach", srv_json_text(text, strlen(text))));
        break;
    case EMBER_EVENT_AGENT_DELTA:
        if (job->t_first == 0) job->t_first = ember_now_s();
        if (stream && job->req.ember_events)
            sse_ember(job, json_pack("{s:s, s:i, s:s, s:o}", "type", "agent.delta", "agent", it->agent,
                                     "channel", channel_name(it->channel), "text", srv_json_text(text, strlen(text))));
        break;
    case EMBER_EVENT_AGENT_FINISHED:
        if (stream && job->req.ember_events)
            sse_ember(job, json_pack("{s:s, s:i, s:o, s:f, s:i, s:s}", "type", "agent.finished", "agent", it->agent,
                                     "answer", srv_json_text(text, strlen(text)), "confidence", (double)it->confidence,
                                     "tokens", it->tokens, "stop_reason", it->stop_reason ? it->stop_reason : "finished"));
        break;
    case EMBER_EVENT_VOTE:
        if (stream && job->req.ember_events)
            sse_ember(job, json_pack("{s:s, s:o, s:f, s:b}", "type", "vote", "answer", srv_json_text(text, strlen(text)),
                                     "share", (double)it->confidence, "synthesized", it->synthesized));
        break;
    case EMBER_EVENT_BUDGET_REACHED:
        if (stream && job->req.ember_events)
            sse_ember(job, json_pack("{s:s, s:i}", "type", "budget_reached", "tokens", it->tokens));
        break;
    case EMBER_EVENT_DONE:
        job->seen_done = true;
        break;
    case EMBER_EVENT_USAGE:
        break;
    }
}

static void consume(srv_job *job, srv_item *items) {
    while (items) {
        srv_item *next = items->next;
        consume_item(job, items);
        item_free(items);
        items = next;
    }
}

/* ---- the end of a run: finish reason, usage, ember's extras, storage -------------------- */

static json_t *usage_json(srv_job *job) {
    ember_usage u = {0};
    if (job->result) u = *ember_result_usage(job->result);
    int completion = u.reasoning_tokens + u.answer_tokens;
    return json_pack("{s:i, s:i, s:i, s:{s:i}, s:{s:i}}", "prompt_tokens", u.prompt_tokens,
                     "completion_tokens", completion, "total_tokens", u.prompt_tokens + completion,
                     "prompt_tokens_details", "cached_tokens", usage_cached(&u),
                     "completion_tokens_details", "reasoning_tokens", u.reasoning_tokens);
}

/* The engine ended the run's generation after output had begun: the context of the sequence
 * was full, or the KV cells ran out and it was the newest (EMBER_ERR_BUSY, engine/cells.c).
 * The answer so far stands, finished for "length"; ember.finish_detail says why. */
static bool cut_short(const srv_job *job) {
    return job->n_deltas > 0 && (job->run_status == EMBER_ERR_CONTEXT || job->run_status == EMBER_ERR_BUSY);
}

/* ember's own result fields (mode, timings, agents, vote …) from the result's JSON. */
static json_t *ember_json(srv_job *job) {
    json_t *out = json_object();
    char *text = job->result ? ember_result_json(job->result) : NULL;
    json_t *r = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    static const char *const keys[] = {"mode", "timings", "agents", "vote", "think_budget_reached", "usage",
                                       "zooms", "boxes"};
    for (size_t i = 0; r && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(r, keys[i]);
        if (v) json_object_set(out, keys[i], v);
    }
    /* the server's own tools: their calls with outputs */
    if (job->srv->tools && json_object_get(r, "tool_calls")) json_object_set(out, "tools", json_object_get(r, "tool_calls"));
    json_t *saved = json_object_get(json_object_get(r, "usage"), "tokens_saved");
    if (saved) json_object_set(out, "tokens_saved", saved);
    json_decref(r);
    if (job->req.artifacts) {
        json_t *artifacts = srv_artifacts_extract(strbuf_str(&job->answer), job->answer.len);
        if (json_array_size(artifacts)) json_object_set_new(out, "artifacts", artifacts);
        else json_decref(artifacts);
    }
    if (job->cancelled_by_client) json_object_set_new(out, "stopped", json_true());
    if (cut_short(job)) {
        const char *why = job->run_error.message[0] ? job->run_error.message : job->error;
        json_object_set_new(out, "finish_detail", json_string(why ? why : ember_status_name(job->run_status)));
    }
    if (job->t_reasoning_first > 0)
        json_object_set_new(out, "reasoning_ms", json_real((job->t_reasoning_last - job->t_reasoning_first) * 1e3));
    if (job->conversation_id) json_object_set_new(out, "conversation_id", json_string(job->conversation_id));
    if (job->message_id) json_object_set_new(out, "message_id", json_integer(job->message_id));
    if (job->user_message_id) json_object_set_new(out, "user_message_id", json_integer(job->user_message_id));
    return out;
}

static const char *finish_reason(srv_job *job) {
    if (json_array_size(job->calls) > 0) return "tool_calls";
    if (job->stop_hit) return "stop";
    char *text = job->result ? ember_result_json(job->result) : NULL;
    json_t *r = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    const char *fr = json_string_value(json_object_get(r, "finish_reason"));
    const char *out = "stop";
    if (fr && strcmp(fr, "length") == 0) out = "length";
    else if (cut_short(job)) out = "length";
    json_decref(r);
    return out;
}

/* A run that failed before producing anything is answered with an HTTP error. */
static bool failed_early(srv_job *job, srv_error *err) {
    ember_status st = job->run_status;
    if (st == EMBER_OK || st == EMBER_ERR_CANCELLED) return false;
    if (cut_short(job)) return false;
    const char *msg = job->run_error.message[0] ? job->run_error.message : job->error ? job->error : ember_status_name(st);
    switch (st) {
    case EMBER_ERR_CONTEXT:
        srv_fail(err, 400, "invalid_request_error", "context_length_exceeded", "messages", "%s", msg);
        break;
    case EMBER_ERR_INVALID:
    case EMBER_ERR_UNSUPPORTED:
    case EMBER_ERR_FORMAT:
        srv_fail(err, 400, "invalid_request_error", NULL, NULL, "%s", msg);
        break;
    case EMBER_ERR_BUSY:
        srv_fail(err, 429, "rate_limit_error", "overloaded", NULL, "%s", msg);
        break;
    default:
        srv_fail(err, 500, "server_error", NULL, NULL, "%s", msg);
        break;
    }
    return true;
}

/* Keeps the exchange in the conversation asked for (or a new one with ember.store): the
 * request's last message (unless it is a stored one answered again) and the answer, after
 * ember.parent_id or the conversation's head. Once per job. */
static void store_exchange(srv_job *job) {
    ember_server *s = job->srv;
    if (job->stored || (!job->req.store && !job->req.conversation_id)) return;
    job->stored = true;
    const srv_message *last = &job->req.messages[job->req.n_messages - 1];
    if (job->req.conversation_id) {
        job->conversation_id = strdup(job->req.conversation_id);
    } else {
        char title[64];
        size_t n = strlen(last->content);
        if (n > 60) {
            n = 60;
            while (n > 0 && ((unsigned char)last->content[n] & 0xC0) == 0x80) n--;
        }
        snprintf(title, sizeof title, "%.*s", (int)n, last->content);
        for (char *p = title; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
        json_t *conv = NULL;
        srv_store_conv_create(s->store, job->owner, title[0] ? title : "New conversation", true, &conv);
        const char *id = json_string_value(json_object_get(conv, "id"));
        job->conversation_id = id ? strdup(id) : NULL;
        json_decref(conv);
    }
    if (!job->conversation_id) return;
    /* Queued when the database is away: the answer was given, its record must not be lost
     * (a queued write has no id yet: the answer then follows the head, the question) */
    int64_t parent = job->req.parent_id > 0 ? job->req.parent_id : job->req.parent_id < 0 ? SRV_STORE_ROOT : SRV_STORE_HEAD;
    if (!job->req.regenerate) {
        json_t *images = srv_message_images_json(last);
        json_t *extra = images ? json_pack("{s:o}", "images", images) : NULL;
        srv_store_status st = srv_store_conv_append_after(s->store, job->owner, job->conversation_id, parent,
                                                          last->role == EMBER_ROLE_TOOL ? "tool" : "user", last->content,
                                                          NULL, extra, true, &job->user_message_id);
        json_decref(extra);
        if (st != SRV_STORE_OK) return;
        parent = job->user_message_id ? job->user_message_id : SRV_STORE_HEAD;
    }
    json_t *ember = ember_json(job);
    json_object_del(ember, "conversation_id");
    json_object_del(ember, "user_message_id");
    if (json_array_size(job->calls)) json_object_set(ember, "tool_calls", job->calls);
    srv_store_conv_append_after(s->store, job->owner, job->conversation_id, parent, "assistant", strbuf_str(&job->answer),
                                strbuf_str(&job->reasoning), ember, true, &job->message_id);
    json_decref(ember);
}

/* After DONE: flush held text, join the run, store — once, though both the first wait and
 * the collecting loop may see DONE (a run whose events all came in one take). */
static void job_complete(srv_job *job) {
    if (job->completed) return;
    job->completed = true;
    answer_text(job, "", 0, true);
    job_end_run(job, false);
    if (job->run_status == EMBER_OK || job->run_status == EMBER_ERR_CANCELLED || job->n_deltas > 0) store_exchange(job);
}

static json_t *completion_json(srv_job *job) {
    bool has_calls = json_array_size(job->calls) > 0;
    json_t *message = json_pack("{s:s, s:o, s:n}", "role", "assistant", "content",
                                has_calls && job->answer.len == 0 ? json_null() : srv_json_text(strbuf_str(&job->answer), job->answer.len),
                                "refusal");
    if (job->reasoning.len)
        json_object_set_new(message, "reasoning_content", srv_json_text(strbuf_str(&job->reasoning), job->reasoning.len));
    if (has_calls) json_object_set(message, "tool_calls", job->calls);
    json_t *choice = json_pack("{s:i, s:o, s:n, s:s}", "index", 0, "message", message, "logprobs",
                               "finish_reason", finish_reason(job));
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:[o], s:o, s:o}", "id", job->id, "object", "chat.completion",
                     "created", (json_int_t)job->created, "model", job->srv->model_id, "system_fingerprint", "ember",
                     "choices", choice, "usage", usage_json(job), "ember", ember_json(job));
}

/* The closing SSE events: the finish chunk (with usage and ember's extras), the usage chunk
 * when asked for, [DONE]. */
static void sse_finish(srv_job *job) {
    if (job->run_status != EMBER_OK && job->run_status != EMBER_ERR_CANCELLED && !cut_short(job)) {
        srv_error err = {0};
        const char *msg = job->run_error.message[0] ? job->run_error.message : job->error ? job->error : "the run failed";
        srv_fail(&err, 500, "server_error", NULL, NULL, "%s", msg);
        char *text = srv_error_json(&err);
        if (text) strbuf_printf(&job->out, "data: %s\n\n", text);
        free(text);
    } else {
        json_t *chunk = chunk_base(job);
        json_t *choice = json_pack("{s:i, s:{}, s:n, s:s}", "index", 0, "delta", "logprobs", "finish_reason",
                                   finish_reason(job));
        json_object_set_new(chunk, "choices", json_pack("[o]", choice));
        json_object_set_new(chunk, "usage", usage_json(job));
        json_object_set_new(chunk, "ember", ember_json(job));
        sse_json(job, chunk);
        if (job->req.include_usage) {
            json_t *u = chunk_base(job);
            json_object_set_new(u, "choices", json_array());
            json_object_set_new(u, "usage", usage_json(job));
            sse_json(job, u);
        }
    }
    strbuf_puts(&job->out, "data: [DONE]\n\n");
    job->stream_end = true;
}

/* ---- streaming: libmicrohttpd pulls SSE bytes ------------------------------------------- */

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    srv_job *job = cls;
    for (;;) {
        if (job->out.len) {
            size_t n = job->out.len < max ? job->out.len : max;
            memcpy(buf, job->out.data, n);
            strbuf_consume(&job->out, n);
            job->t_last_write = ember_now_s();
            return (ssize_t)n;
        }
        if (job->stream_end) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!job->conn || srv_conn_gone(job->conn)) {
            if (!job->seen_done) job->cancelled_by_client = true;
            job_end_run(job, !job->seen_done);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        bool done = false;
        srv_item *items = take_items(job, 100, &done);
        consume(job, items);
        if (job->seen_done) {
            job_complete(job);
            sse_finish(job);
        } else if (!job->out.len && ember_now_s() - job->t_last_write > 5.0) {
            strbuf_puts(&job->out, ": keep-alive\n\n");
        }
    }
}

static void sse_free(void *cls) { job_release(cls); }

/* ---- the handler ------------------------------------------------------------------------ */

static bool gone(void *user) { return srv_conn_gone(user); }

static ember_status build_chat(srv_job *job, ember_error *err) {
    job->chat = ember_chat_create();
    if (!job->chat) return EMBER_ERR_NOMEM;
    for (int i = 0; i < job->req.n_messages; i++) {
        const srv_message *m = &job->req.messages[i];
        ember_status st;
        if (m->role == EMBER_ROLE_ASSISTANT) {
            st = ember_chat_add_assistant(job->chat, m->reasoning, m->content, err);
            for (int k = 0; k < m->n_calls && st == EMBER_OK; k++)
                st = ember_chat_add_tool_call(job->chat, m->calls[k].name, m->calls[k].arguments, m->calls[k].id, err);
        } else if (m->role == EMBER_ROLE_TOOL) {
            st = ember_chat_add_tool_result(job->chat, m->tool_name, m->content, err);
        } else {
            st = ember_chat_add(job->chat, m->role, m->content, err);
        }
        for (int k = 0; k < m->n_images && st == EMBER_OK; k++) {
            ember_image *image = NULL;
            st = ember_image_load_memory(m->images[k].data, m->images[k].len, 0, &image, err);
            if (st == EMBER_OK) st = ember_chat_add_image(job->chat, image, err);
            ember_image_destroy(image);
            if (st != EMBER_OK) {
                char why[sizeof err->message];
                snprintf(why, sizeof why, "%s", err->message);
                snprintf(err->message, sizeof err->message, "messages[%d]: image %d: %.400s", i, k + 1, why);
            }
        }
        if (st != EMBER_OK) return st;
    }
    return EMBER_OK;
}

static bool has_images(const srv_request *req) {
    for (int i = 0; i < req->n_messages; i++)
        if (req->messages[i].n_images) return true;
    return false;
}

/* Prompt tokens of the chat as the run will render it; -1 on failure. */
static int count_prompt(srv_job *job, const ember_run_params *rp) {
    ember_render_opts opts = {
        .opening = rp->mode == EMBER_MODE_INSTANT ? EMBER_OPEN_ANSWER : EMBER_OPEN_REASONING,
        .reasoning = rp->reasoning,
        .tools_json = rp->tools_json,
    };
    char *prompt = NULL;
    if (ember_chat_render(job->chat, job->srv->chat_format, &opts, &prompt, NULL) != EMBER_OK) return -1;
    int n = ember_engine_count_tokens(job->srv->engine, prompt, true);
    free(prompt);
    /* each image adds its embeddings (its marker's few text tokens stay counted: a margin) */
    for (size_t i = 0; n >= 0 && i < ember_chat_image_count(job->chat); i++) {
        int t = ember_engine_image_tokens(job->srv->engine, ember_chat_image(job->chat, i));
        n = t < 0 ? -1 : n + t;
    }
    return n;
}

/* Fits the token limit to the context and sets the seats and cells the run reserves. */
static bool plan(srv_job *job, ember_run_params *rp, int prompt, srv_error *err) {
    ember_server *s = job->srv;
    int n_ctx = s->n_ctx;
    bool contemplate = rp->mode == EMBER_MODE_CONTEMPLATING;
    int agents = contemplate ? rp->agents : 0;
    /* per generating branch: its tokens plus what the mode injects (budget close, approach,
     * the synthesizer's brief) */
    int overhead = contemplate ? 64 + 200 : 16;
    int branches = contemplate ? agents + 1 : 1;
    /* with streams every branch holds a copy of the prompt in a context of its own */
    int room = s->kv_split ? n_ctx - prompt - overhead : (n_ctx - prompt) / branches - overhead;
    if (prompt >= n_ctx || room < 1)
        return srv_fail(err, 400, "invalid_request_error", "context_length_exceeded", "messages",
                        "the prompt has %d tokens; this server's context holds %d%s", prompt, n_ctx,
                        s->kv_split ? " per sequence" : contemplate ? " (shared by the agents)" : "");
    int max = job->req.max_tokens;
    if (max == 0) {
        max = s->default_max_tokens;
        if (max == 0) {
            int share = s->kv_split ? room : (n_ctx / s->parallel - prompt) / branches - overhead;
            max = share >= 256 ? share : (room < 256 ? room : 256);
        }
    }
    if (max > room) max = room;
    rp->max_tokens = max;
    job->seqs = contemplate ? agents + 2 : 1;
    /* the prompt and what the mode injects, not the worst case of max_tokens: a request asking
     * for nearly the whole context must not serialize everyone. When generations together
     * outgrow the cells, the engine preempts the newest (engine/cells.c). */
    if (s->kv_split) {
        job->cells = job->seqs * n_ctx;  /* each sequence's stream, exactly */
    } else {
        job->cells = prompt + branches * overhead;
        if (job->cells > n_ctx) job->cells = n_ctx;
    }
    if (job->seqs > s->n_seq_max)
        return srv_fail(err, 400, "invalid_request_error", NULL, "ember.agents",
                        "%d agents need %d sequences; this server has %d", agents, job->seqs, s->n_seq_max);
    return true;
}

static void run_params(srv_job *job, ember_run_params *rp) {
    const srv_request *r = &job->req;
    ember_run_params_init(rp);
    rp->mode = r->mode;
    rp->reasoning = r->reasoning;
    rp->think_budget = r->think_budget;
    rp->budget_cue = r->budget_cue;
    if (r->has_temperature) rp->sampling.temperature = r->temperature;
    if (r->has_top_p) rp->sampling.top_p = r->top_p;
    if (r->has_seed) rp->sampling.seed = r->seed;
    else if (getrandom(&rp->sampling.seed, sizeof rp->sampling.seed, 0) != sizeof rp->sampling.seed)
        rp->sampling.seed = (uint32_t)time(NULL);
    rp->sampling.grammar = r->grammar;
    rp->sampling.ignore_eos = r->ignore_eos;
    rp->agent_grammar = r->agent_grammar;
    if (r->agents) rp->agents = r->agents;
    rp->early_stop = r->early_stop;
    if (r->consensus > 0) rp->consensus = r->consensus;
    if (r->first_wave > 0) rp->first_wave = r->first_wave;
    rp->synthesis = r->synthesis;
    rp->tools_json = r->tools_json;
    if (r->tool_choice != SRV_TOOLS_NONE) rp->tools = job->srv->tools;
    rp->tool_choice = r->tool_choice == SRV_TOOLS_REQUIRED   ? EMBER_TOOL_CHOICE_REQUIRED
                    : r->tool_choice == SRV_TOOLS_FUNCTION ? EMBER_TOOL_CHOICE_FUNCTION
                    : r->tool_choice == SRV_TOOLS_NONE     ? EMBER_TOOL_CHOICE_NONE : EMBER_TOOL_CHOICE_AUTO;
    rp->tool_choice_name = r->tool_choice_name;
}

/* Waits until the job has something to say (or the run ended); false if the client left. */
static bool wait_first(srv_job *job, srv_conn *c) {
    for (;;) {
        bool done = false;
        srv_item *items = take_items(job, 100, &done);
        if (items) {
            /* errors alone do not count: they come with DONE */
            bool output = false;
            for (srv_item *it = items; it; it = it->next) output = output || (it->type != EMBER_EVENT_ERROR && it->type != EMBER_EVENT_DONE);
            consume(job, items);
            if (output || job->seen_done) return true;
        }
        if (done) {
            consume(job, take_items(job, 0, &done));
            return true;
        }
        if (srv_conn_gone(c)) return false;
    }
}

enum MHD_Result srv_handle_completion(srv_conn *c) {
    ember_server *s = c->srv;
    srv_error err = {0};
    srv_request_limits limits = {.chat_format = s->chat_format, .max_agents = s->max_agents, .n_ctx = s->n_ctx};
    srv_job *job = job_create(c);
    if (!job) return srv_respond_errorf(c, 500, "server_error", NULL, "out of memory");
    c->job = job;
    snprintf(job->owner, sizeof job->owner, "%s", c->owner);
    if (!srv_request_parse(strbuf_str(&c->body), c->body.len, &limits, &job->req, &err))
        return srv_respond_error(c, &err);
    if (job->req.artifacts && !srv_artifacts_add_prompt(&job->req))
        return srv_respond_errorf(c, 500, "server_error", NULL, "out of memory");
    srv_store_status known = job->req.conversation_id
                                 ? srv_store_conv_exists(s->store, c->owner, job->req.conversation_id)
                                 : SRV_STORE_OK;
    if (known == SRV_STORE_NOT_FOUND)
        return srv_respond_errorf(c, 404, "invalid_request_error", "conversation_not_found",
                                  "no conversation '%.64s'", job->req.conversation_id);
    if (known == SRV_STORE_OK && job->req.parent_id > 0)
        known = srv_store_conv_has_message(s->store, c->owner, job->req.conversation_id, job->req.parent_id);
    if (known == SRV_STORE_NOT_FOUND)
        return srv_respond_errorf(c, 404, "invalid_request_error", "message_not_found",
                                  "no message %lld in conversation '%.64s'", (long long)job->req.parent_id,
                                  job->req.conversation_id);
    if (known != SRV_STORE_OK) return srv_respond_store_error(c, known);
    if (has_images(&job->req) && !ember_engine_has_vision(s->engine))
        return srv_respond_errorf(c, 400, "invalid_request_error", "unsupported_content",
                                  "this model has no vision projector: images are not supported (ember serve --mmproj)");
    ember_error eerr = {0};
    if (build_chat(job, &eerr) != EMBER_OK)
        return srv_respond_errorf(c, 400, "invalid_request_error", NULL, "%s", eerr.message);
    char *server_tools = s->tools ? ember_tools_definitions_json(s->tools) : NULL;
    bool choice_ok = srv_request_check_tool_choice(&job->req, server_tools, &err);
    free(server_tools);
    if (!choice_ok) return srv_respond_error(c, &err);
    ember_run_params rp;
    run_params(job, &rp);
    int prompt = count_prompt(job, &rp);
    if (prompt < 0) return srv_respond_errorf(c, 400, "invalid_request_error", NULL, "the messages cannot be rendered");
    if (!plan(job, &rp, prompt, &err)) return srv_respond_error(c, &err);

    switch (srv_gate_enter(&s->gate, job->seqs, job->cells, gone, c)) {
    case SRV_GATE_FULL:
        srv_metrics_overload(&s->metrics);
        return srv_respond_errorf(c, 429, "rate_limit_error", "overloaded",
                                  "the server is busy (%d running, queue full); retry shortly", s->parallel);
    case SRV_GATE_GONE:
        c->status = 499;
        return MHD_NO;
    case SRV_GATE_ENTERED:
        break;
    }
    job->admitted = true;
    job->t_admitted = ember_now_s();
    srv_metrics_observe(&s->metrics, SRV_HIST_QUEUE_WAIT, job->t_admitted - job->t_arrival);

    if (ember_run_start(s->engine, job->chat, &rp, on_event, job, &job->run, &eerr) != EMBER_OK) {
        job->run_status = eerr.status;
        job->run_error = eerr;
        job_end_run(job, false);
        failed_early(job, &err);
        return srv_respond_error(c, &err);
    }

    if (!wait_first(job, c)) {
        job->cancelled_by_client = true;
        job_end_run(job, true);
        c->status = 499;
        return MHD_NO;
    }
    if (job->seen_done) {
        job_complete(job);
        if (failed_early(job, &err)) return srv_respond_error(c, &err);
    }
    if (!job->req.stream) {
        while (!job->seen_done) {
            bool done = false;
            consume(job, take_items(job, 100, &done));
            if (!job->seen_done && srv_conn_gone(c)) {
                job->cancelled_by_client = true;
                job_end_run(job, true);
                c->status = 499;
                return MHD_NO;
            }
        }
        job_complete(job);
        if (failed_early(job, &err)) return srv_respond_error(c, &err);
        return srv_respond_json(c, 200, completion_json(job));
    }

    /* the stream: the role first, then whatever came already, then sse_read */
    strbuf early = job->out;
    job->out = (strbuf){0};
    sse_delta(job, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL);
    strbuf_append(&job->out, strbuf_str(&early), early.len);
    strbuf_free(&early);
    if (job->seen_done) sse_finish(job);
    job->t_last_write = ember_now_s();
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, sse_read, job, sse_free);
    if (!r) return srv_respond_errorf(c, 500, "server_error", NULL, "out of memory");
    pthread_mutex_lock(&job->mu);
    job->refs++;
    pthread_mutex_unlock(&job->mu);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return srv_queue(c, 200, r);
}
