/*
 * agent.c — driving one sequence: every sampled token goes through the chat parser, whose
 * channel events become ember events; the callback enforces the think budget (budget forcing:
 * inject the channel close and answer opening), the token limit, and stops at the end of the
 * turn or at a tool call.
 */
#include "agent/agent.h"
#include "chat/json_text.h"
#include "core/error.h"
#include "core/utf8.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char BUDGET_CUE[] = "\n\nI have thought enough; I will answer now.";

ember_status run_seq_open(run_ctx *run, ember_seq *parent, const ember_sampling *sampling, ember_seq **seq,
                          ember_error *err) {
    ember_status status = parent ? ember_seq_fork(parent, sampling, seq, err)
                                 : ember_seq_create(run->engine, sampling, seq, err);
    if (status != EMBER_OK) return status;
    pthread_mutex_lock(&run->seqs_mu);
    for (int i = 0; i < RUN_MAX_SEQS; i++) {
        if (!run->seqs[i]) {
            run->seqs[i] = *seq;
            break;
        }
    }
    bool cancelled = atomic_load(&run->cancelled);
    pthread_mutex_unlock(&run->seqs_mu);
    if (cancelled) ember_seq_cancel(*seq);
    return EMBER_OK;
}

void run_seq_close(run_ctx *run, ember_seq *seq) {
    if (!seq) return;
    pthread_mutex_lock(&run->seqs_mu);
    for (int i = 0; i < RUN_MAX_SEQS; i++)
        if (run->seqs[i] == seq) run->seqs[i] = NULL;
    pthread_mutex_unlock(&run->seqs_mu);
    ember_seq_destroy(seq);
}

static void run_seq_forget(run_ctx *run, ember_seq *seq) {
    pthread_mutex_lock(&run->seqs_mu);
    for (int i = 0; i < RUN_MAX_SEQS; i++)
        if (run->seqs[i] == seq) run->seqs[i] = NULL;
    pthread_mutex_unlock(&run->seqs_mu);
}

ember_status run_prompt_seq(run_ctx *run, const ember_sampling *sampling, ember_seq **seq, ember_error *err) {
    *seq = NULL;
    ember_prefix_cache *cache = run->params.prefix_cache;
    ember_seq *kept = NULL;
    run->cache_taken = cache && prefix_cache_take(cache, &kept);
    if (!kept) {
        ember_status status = run_seq_open(run, NULL, sampling, seq, err);
        if (status != EMBER_OK && run->cache_taken) {
            prefix_cache_give(cache, NULL);
            run->cache_taken = false;
        }
        return status;
    }
    ember_status status = ember_seq_set_sampling(kept, sampling, err);
    if (status != EMBER_OK) {
        prefix_cache_give(cache, kept);
        run->cache_taken = false;
        return status;
    }
    pthread_mutex_lock(&run->seqs_mu);
    for (int i = 0; i < RUN_MAX_SEQS; i++) {
        if (!run->seqs[i]) {
            run->seqs[i] = kept;
            break;
        }
    }
    bool cancelled = atomic_load(&run->cancelled);
    pthread_mutex_unlock(&run->seqs_mu);
    if (cancelled) ember_seq_cancel(kept);
    ember_seq_set_callbacks(kept, NULL, NULL, NULL);
    *seq = kept;
    return EMBER_OK;
}

void run_prompt_seq_done(run_ctx *run, ember_seq *seq, bool ok) {
    if (!run->cache_taken) {  /* the engine's prompt cache may keep it for a later run */
        run_seq_forget(run, seq);
        if (ok) ember_seq_retire(seq);
        else ember_seq_destroy(seq);
        return;
    }
    run_seq_forget(run, seq);
    if (seq) ember_seq_set_callbacks(seq, NULL, NULL, NULL);
    if (!ok) {
        ember_seq_destroy(seq);
        seq = NULL;
    }
    prefix_cache_give(run->params.prefix_cache, seq);
    run->cache_taken = false;
}

void run_cancel_all(run_ctx *run) {
    atomic_store(&run->cancelled, true);
    pthread_mutex_lock(&run->seqs_mu);
    for (int i = 0; i < RUN_MAX_SEQS; i++)
        if (run->seqs[i]) ember_seq_cancel(run->seqs[i]);
    pthread_mutex_unlock(&run->seqs_mu);
}

void run_emit(run_ctx *run, const ember_event *ev) {
    if (run->on_event) run->on_event(ev, run->user);
}

static void emit_delta(agent *a, ember_channel channel, const char *text, size_t len) {
    if (!len) return;
    char *clean = utf8_sanitize(text, len, NULL);
    if (!clean) return;
    ember_event ev = {
        .type = a->index >= 0 ? EMBER_EVENT_AGENT_DELTA
              : channel == EMBER_CHANNEL_REASONING ? EMBER_EVENT_REASONING_DELTA : EMBER_EVENT_ANSWER_DELTA,
        .agent = a->index,
        .channel = channel,
        .text = clean,
    };
    run_emit(a->run, &ev);
    free(clean);
}

/* Emits whole UTF-8 characters only; a character split over tokens waits for its rest. */
static void flush_hold(agent *a, bool all) {
    size_t n = all ? a->hold.len : utf8_complete_prefix(strbuf_str(&a->hold), a->hold.len);
    if (n == 0) return;
    emit_delta(a, a->hold_channel, strbuf_str(&a->hold), n);
    memmove(a->hold.data, a->hold.data + n, a->hold.len - n);
    a->hold.len -= n;
    if (a->hold.data) a->hold.data[a->hold.len] = '\0';
}

/* A whole tool message: parse it into calls, record and announce each. A message that is
 * not a call (random text addressed to a tool) is delivered as answer text instead. */
static void agent_on_tool_message(agent *a, const char *recipient, const char *text, size_t len) {
    char *body = utf8_sanitize(text, len, NULL);
    char *calls = NULL;
    if (body && ember_tool_calls_parse(a->run->format->name, recipient ? recipient : "", body, a->run->tools_json,
                                       &calls, NULL) == EMBER_OK) {
        json_t *arr = json_loads(calls, 0, NULL);
        size_t i;
        json_t *call;
        json_array_foreach(arr, i, call) {
            char *args = json_text_dump(json_object_get(call, "arguments"), true);
            const char *name = json_string_value(json_object_get(call, "name"));
            if (args && name) {
                result_add_call(a->run->result, a->index, name, args);
                ember_event ev = {.type = EMBER_EVENT_TOOL_CALL, .agent = a->index, .channel = EMBER_CHANNEL_TOOL,
                                  .name = name, .arguments = args, .text = body};
                run_emit(a->run, &ev);
            }
            free(args);
        }
        json_decref(arr);
        if (!a->calls_json) {
            a->calls_json = calls;
            calls = NULL;
        } else {  /* a second tool message in one round: append its calls */
            json_t *all = json_loads(a->calls_json, 0, NULL), *more = json_loads(calls, 0, NULL);
            json_array_extend(all, more);
            free(a->calls_json);
            a->calls_json = json_text_dump(all, true);
            json_decref(all);
            json_decref(more);
        }
        a->saw_tool_call = true;
    } else if (body) {
        strbuf_append(a->answer, body, strlen(body));
        emit_delta(a, EMBER_CHANNEL_ANSWER, body, strlen(body));
    }
    free(calls);
    free(body);
}

static void on_chat_event(void *user, chat_event_kind kind, const char *text, size_t len,
                          const char *recipient) {
    agent *a = user;
    switch (kind) {
    case CHAT_EVENT_REASONING:
    case CHAT_EVENT_ANSWER: {
        ember_channel ch = kind == CHAT_EVENT_REASONING ? EMBER_CHANNEL_REASONING : EMBER_CHANNEL_ANSWER;
        strbuf_append(ch == EMBER_CHANNEL_REASONING ? a->reasoning : a->answer, text, len);
        if (ch == EMBER_CHANNEL_ANSWER && a->index < 0 && a->run->t_first_answer == 0)
            a->run->t_first_answer = ember_now_ms();
        if (a->hold.len && a->hold_channel != ch) flush_hold(a, true);
        a->hold_channel = ch;
        strbuf_append(&a->hold, text, len);
        flush_hold(a, false);
        break;
    }
    case CHAT_EVENT_TOOL_CALL:
        agent_on_tool_message(a, recipient, text, len);
        break;
    case CHAT_EVENT_TURN_END:
        break;
    }
}

static void confidence_push(agent *a, float token_confidence) {
    if (a->window_fill == a->window_size) {
        a->window_sum -= a->window[a->window_pos];
    } else {
        a->window_fill++;
    }
    a->window[a->window_pos] = token_confidence;
    a->window_sum += token_confidence;
    a->window_pos = (a->window_pos + 1) % a->window_size;
    if (a->window_fill == a->window_size) {
        float mean = (float)(a->window_sum / a->window_size);
        if (mean < a->lowest) a->lowest = mean;
    }
}

float agent_confidence(const agent *a) {
    if (a->lowest < 1e30f) return a->lowest;
    return a->window_fill ? (float)(a->window_sum / a->window_fill) : 0.0f;
}

void agent_force_call(agent *a, const char *close, const char *reasoning_end, const ember_sampling *call_sampling) {
    a->call_close = close;
    a->reasoning_end = reasoning_end;
    a->call_sampling = call_sampling;
}

/* A forced call's reasoning ends where reasoning_end first appears (its grammar allows it
 * nowhere else); the marker may be split over tokens, so the last bytes are kept. */
static void watch_reasoning_end(agent *a, const char *piece) {
    char joined[sizeof a->tail + 256];
    snprintf(joined, sizeof joined, "%s%s", a->tail, piece);
    if (strstr(joined, a->reasoning_end)) a->reasoning_closed = true;
    size_t len = strlen(joined), keep = sizeof a->tail - 1;
    snprintf(a->tail, sizeof a->tail, "%s", len > keep ? joined + len - keep : joined);
}

/* Closes the reasoning channel: optional cue, then the format's close-and-open text — or, when
 * the round must call a tool, the text that leads to the call and the grammar of the call. */
static void force_answer(agent *a) {
    if (a->call_close && a->reasoning_closed) return;
    strbuf inject = {0};
    if (a->run->params.budget_cue) strbuf_puts(&inject, BUDGET_CUE);
    strbuf_puts(&inject, a->call_close ? a->call_close : a->run->format->close_reasoning);
    if (ember_seq_feed_text(a->seq, strbuf_str(&inject), true, NULL) == EMBER_OK &&
        (!a->call_close || ember_seq_set_sampling(a->seq, a->call_sampling, NULL) == EMBER_OK)) {
        a->reasoning_closed = a->call_close != NULL;
        chat_parser_feed(a->parser, strbuf_str(&inject), inject.len);
        a->budget_reached = true;
        ember_event ev = {.type = EMBER_EVENT_BUDGET_REACHED, .agent = a->index, .tokens = a->reasoning_tokens};
        run_emit(a->run, &ev);
    }
    strbuf_free(&inject);
}

/* The agent stops itself: flush what the parser holds, then let the mode know. */
static ember_seq_action stop(agent *a, const char *reason) {
    a->stop_reason = reason;
    agent_flush(a);
    if (a->on_stop) a->on_stop(a);
    return EMBER_SEQ_PAUSE;
}

/* The results of the agent's last tool round: recorded with its calls (both here, on the
 * scheduler thread) and announced before its next token. */
static void emit_deferred(agent *a) {
    for (int i = 0; i < a->n_deferred; i++) {
        result_set_output(a->run->result, a->index, a->deferred[i].name, a->deferred[i].text);
        run_emit(a->run, &a->deferred[i]);
        free((char *)a->deferred[i].name);
        free((char *)a->deferred[i].arguments);
        free((char *)a->deferred[i].text);
    }
    free(a->deferred);
    a->deferred = NULL;
    a->n_deferred = 0;
}

void agent_defer_result(agent *a, const char *name, const char *arguments, const char *text) {
    ember_event *grown = realloc(a->deferred, sizeof *grown * (size_t)(a->n_deferred + 1));
    if (!grown) return;
    a->deferred = grown;
    a->deferred[a->n_deferred++] = (ember_event){.type = EMBER_EVENT_TOOL_RESULT, .agent = a->index,
                                                 .channel = EMBER_CHANNEL_TOOL, .name = strdup(name),
                                                 .arguments = strdup(arguments ? arguments : "{}"),
                                                 .text = strdup(text ? text : "")};
}

bool agent_restart(agent *a, chat_opening opening) {
    chat_parser_destroy(a->parser);
    a->parser = a->run->format->parser_create(opening, on_chat_event, a);
    free(a->calls_json);
    a->calls_json = NULL;
    a->saw_tool_call = false;
    a->stop_reason = NULL;
    a->tools_wanted = false;
    return a->parser != NULL;
}

static ember_seq_action on_token(ember_seq *seq, const ember_token_info *tok, void *user) {
    agent *a = user;
    run_ctx *run = a->run;
    if (a->n_deferred) emit_deferred(a);
    if (run->t_first_token == 0) run->t_first_token = ember_now_ms();
    if (a->generated == 0) a->prompt_evaluated = ember_seq_n_evaluated(seq);
    ember_channel channel = chat_parser_channel(a->parser);
    if (channel == EMBER_CHANNEL_REASONING) a->reasoning_tokens++;
    else a->answer_tokens++;
    a->generated++;
    confidence_push(a, -tok->top_logprob_mean);
    if (a->call_close && !a->reasoning_closed) watch_reasoning_end(a, tok->piece);
    chat_parser_feed(a->parser, tok->piece, strlen(tok->piece));
    if (a->on_token) a->on_token(a);

    if (atomic_load(&run->cancelled)) return stop(a, "cancelled");
    /* Calls may come several in a turn, separated by <|eom|>: the turn's end ends the round
     * (unless the sampling ignores the end: a run of fixed length). */
    if ((tok->is_eog || chat_parser_turn_ended(a->parser)) && !a->ignore_eos) {
        a->ended_in_reasoning = channel == EMBER_CHANNEL_REASONING && !a->saw_tool_call;
        return stop(a, a->saw_tool_call ? "tool_calls" : "stop");
    }
    if (a->max_tokens > 0 && a->generated >= a->max_tokens) return stop(a, "length");
    if (a->should_stop && a->should_stop(a)) return stop(a, a->stop_reason ? a->stop_reason : "stopped");
    if (a->think_budget > 0 && !a->budget_reached &&
        chat_parser_channel(a->parser) == EMBER_CHANNEL_REASONING && a->reasoning_tokens >= a->think_budget)
        force_answer(a);
    return EMBER_SEQ_CONTINUE;
}

bool agent_init(agent *a, run_ctx *run, int index, ember_seq *seq, chat_opening opening,
                strbuf *reasoning, strbuf *answer) {
    memset(a, 0, sizeof *a);
    a->run = run;
    a->index = index;
    a->seq = seq;
    a->reasoning = reasoning;
    a->answer = answer;
    a->lowest = 1e38f;
    a->ignore_eos = run->params.sampling.ignore_eos;
    a->window_size = run->params.confidence_window > 0 ? run->params.confidence_window : 64;
    a->window = calloc((size_t)a->window_size, sizeof *a->window);
    a->parser = run->format->parser_create(opening, on_chat_event, a);
    if (!a->window || !a->parser) {
        agent_free(a);
        return false;
    }
    ember_seq_set_callbacks(seq, on_token, NULL, a);
    return true;
}

void agent_set_idle(agent *a, ember_seq_idle_fn on_idle) {
    ember_seq_set_callbacks(a->seq, on_token, on_idle, a);
}

void agent_free(agent *a) {
    for (int i = 0; i < a->n_deferred; i++) {
        free((char *)a->deferred[i].name);
        free((char *)a->deferred[i].arguments);
        free((char *)a->deferred[i].text);
    }
    free(a->deferred);
    a->deferred = NULL;
    a->n_deferred = 0;
    free(a->calls_json);
    a->calls_json = NULL;
    chat_parser_destroy(a->parser);
    a->parser = NULL;
    free(a->window);
    a->window = NULL;
    strbuf_free(&a->hold);
}

ember_status agent_generate(agent *a, ember_error *err) {
    ember_status status = ember_seq_generate(a->seq, err);
    if (status == EMBER_OK) status = ember_seq_wait_idle(a->seq, err);
    agent_flush(a);
    if (status == EMBER_ERR_CANCELLED) a->stop_reason = "cancelled";
    return status;
}

ember_status agent_ensure_answer(agent *a, bool *forced, ember_error *err) {
    if (!a->ended_in_reasoning || atomic_load(&a->run->cancelled) || (a->max_tokens && a->generated >= a->max_tokens))
        return EMBER_OK;
    *forced = true;
    ember_status status = ember_seq_feed_text(a->seq, a->run->format->close_reasoning, true, err);
    if (status != EMBER_OK) return status;
    if (!agent_restart(a, CHAT_OPEN_ANSWER)) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    a->ended_in_reasoning = false;
    return agent_generate(a, err);
}

void agent_flush(agent *a) {
    chat_parser_finish(a->parser);
    flush_hold(a, true);
}
