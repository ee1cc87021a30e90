/*
 * run.c — answering a chat: ember_run_chat (blocking) and ember_run_start/wait/cancel (on a
 * thread of the run's own). Instant and Thinking run one agent here; Contemplating is in
 * contemplate.c. The run owns its sequences and destroys them before it returns.
 */
#include "agent/agent.h"
#include "agent/contemplate.h"
#include "core/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static ember_status validate(const ember_chat *chat, const ember_run_params *p, ember_error *err) {
    if (!chat || chat->n == 0) return ember_fail(err, EMBER_ERR_INVALID, "the conversation is empty");
    if ((unsigned)p->mode > EMBER_MODE_CONTEMPLATING) return ember_fail(err, EMBER_ERR_INVALID, "unknown mode");
    if ((unsigned)p->reasoning > EMBER_REASONING_XHIGH)
        return ember_fail(err, EMBER_ERR_INVALID, "unknown reasoning strength");
    if (p->think_budget < 0 || p->max_tokens < 0)
        return ember_fail(err, EMBER_ERR_INVALID, "budgets and token limits must not be negative");
    if (p->mode == EMBER_MODE_CONTEMPLATING && (p->agents < 0 || p->agents > 64))
        return ember_fail(err, EMBER_ERR_INVALID, "agents must be between 1 and 64");
    return EMBER_OK;
}

ember_status run_render(run_ctx *run, const ember_chat *chat, chat_opening opening, strbuf *prompt,
                        ember_error *err) {
    chat_render_opts opts = {
        .opening = opening,
        .reasoning = run->params.reasoning,
        .system = run->params.system,
        .current_date = run->params.current_date,
    };
    if (!run->format->render(chat, &opts, prompt))
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory rendering the prompt");
    return EMBER_OK;
}

void run_finish_timings(run_ctx *run, int prompt_evaluated, int generated) {
    ember_result *r = run->result;
    double end = run_now_ms();
    double first = run->t_first_token ? run->t_first_token : end;
    r->timings.total_ms = end - run->t_start;
    if (first > run->t_start && prompt_evaluated > 0)
        r->timings.prefill_tokens_per_s = prompt_evaluated / ((first - run->t_start) / 1e3);
    if (generated > 1 && end > first) r->timings.decode_tokens_per_s = (generated - 1) / ((end - first) / 1e3);
    if (run->t_first_answer) r->timings.ttft_ms = run->t_first_answer - run->t_start;
}

void run_track_kv(run_ctx *run) {
    ember_engine_stats stats;
    ember_engine_get_stats(run->engine, &stats);
    if (stats.kv_cells_used > run->kv_cells_peak) run->kv_cells_peak = stats.kv_cells_used;
}

void run_track_kv_hook(agent *a) { run_track_kv(a->run); }

static ember_status run_single(run_ctx *run, const ember_chat *chat, ember_error *err) {
    ember_result *r = run->result;
    chat_opening opening = run->params.mode == EMBER_MODE_INSTANT ? CHAT_OPEN_ANSWER : CHAT_OPEN_REASONING;
    strbuf prompt = {0};
    ember_status status = run_render(run, chat, opening, &prompt, err);
    ember_seq *seq = NULL;
    if (status == EMBER_OK) status = ember_seq_create(run->engine, &run->params.sampling, &seq, err);
    if (status == EMBER_OK) status = ember_seq_feed_text(seq, strbuf_str(&prompt), true, err);
    strbuf_free(&prompt);
    if (status != EMBER_OK) {
        ember_seq_destroy(seq);
        return status;
    }
    r->usage.prompt_tokens = ember_seq_n_tokens(seq);

    agent a;
    if (!agent_init(&a, run, -1, seq, opening, &r->reasoning, &r->answer)) {
        ember_seq_destroy(seq);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory starting the run");
    }
    a.max_tokens = run->params.max_tokens;
    a.on_token = run_track_kv_hook;
    a.think_budget = run->params.mode == EMBER_MODE_THINKING ? run->params.think_budget : 0;
    status = agent_generate(&a, err);
    run_track_kv(run);

    r->usage.reasoning_tokens = a.reasoning_tokens;
    r->usage.answer_tokens = a.answer_tokens;
    r->usage.prompt_tokens_evaluated = a.prompt_evaluated;
    r->usage.kv_cells_peak = run->kv_cells_peak;
    r->budget_reached = a.budget_reached;
    if (a.stop_reason) r->finish_reason = a.stop_reason;
    run_finish_timings(run, r->usage.prompt_tokens_evaluated, a.generated);
    agent_free(&a);
    ember_seq_destroy(seq);
    return status;
}

static ember_status run_chat(run_ctx *run, const ember_chat *chat, ember_error *err) {
    ember_status status;
    if (run->params.mode == EMBER_MODE_CONTEMPLATING) status = contemplate_run(run, chat, err);
    else status = run_single(run, chat, err);
    ember_result *r = run->result;
    if (status == EMBER_ERR_CANCELLED) {
        r->finish_reason = "cancelled";
    } else if (status != EMBER_OK) {
        r->finish_reason = "error";
        r->error = strdup(err && err->message[0] ? err->message : ember_status_name(status));
        ember_event ev = {.type = EMBER_EVENT_ERROR, .agent = -1, .text = r->error};
        run_emit(run, &ev);
    }
    ember_event done = {.type = EMBER_EVENT_DONE, .agent = -1, .usage = &r->usage, .stop_reason = r->finish_reason};
    run_emit(run, &done);
    return status;
}

static ember_status run_prepare(run_ctx *run, ember_engine *engine, const ember_chat *chat,
                                const ember_run_params *params, ember_event_fn on_event, void *user,
                                ember_error *err) {
    memset(run, 0, sizeof *run);
    ember_status status = validate(chat, params, err);
    if (status != EMBER_OK) return status;
    run->engine = engine;
    run->format = chat_format_find(ember_engine_chat_format(engine));
    if (!run->format)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "no chat format '%s'", ember_engine_chat_format(engine));
    run->params = *params;
    if (run->params.agents == 0) run->params.agents = 4;
    run->on_event = on_event;
    run->user = user;
    run->t_start = run_now_ms();
    run->result = result_create(params->mode);
    if (!run->result) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    return EMBER_OK;
}

ember_status ember_run_chat(ember_engine *engine, const ember_chat *chat, const ember_run_params *params,
                            ember_event_fn on_event, void *user, ember_result **result, ember_error *err) {
    *result = NULL;
    run_ctx run;
    ember_status status = run_prepare(&run, engine, chat, params, on_event, user, err);
    if (status != EMBER_OK) return status;
    status = run_chat(&run, chat, err);
    *result = run.result;
    return status;
}

/* ---- asynchronous runs ------------------------------------------------------------------ */

struct ember_run {
    run_ctx ctx;
    const ember_chat *chat;
    pthread_t thread;
    ember_status status;
    ember_error error;
    char *system;         /* copies of the caller's strings */
    char *current_date;
    char *grammar;
    char *agent_grammar;
};

static void *run_thread(void *arg) {
    ember_run *run = arg;
    run->status = run_chat(&run->ctx, run->chat, &run->error);
    return NULL;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

ember_status ember_run_start(ember_engine *engine, const ember_chat *chat, const ember_run_params *params,
                             ember_event_fn on_event, void *user, ember_run **out, ember_error *err) {
    *out = NULL;
    ember_run *run = calloc(1, sizeof *run);
    if (!run) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    ember_status status = run_prepare(&run->ctx, engine, chat, params, on_event, user, err);
    if (status != EMBER_OK) {
        free(run);
        return status;
    }
    run->chat = chat;
    run->system = dup_or_null(params->system);
    run->current_date = dup_or_null(params->current_date);
    run->grammar = dup_or_null(params->sampling.grammar);
    run->agent_grammar = dup_or_null(params->agent_grammar);
    run->ctx.params.system = run->system;
    run->ctx.params.current_date = run->current_date;
    run->ctx.params.sampling.grammar = run->grammar;
    run->ctx.params.agent_grammar = run->agent_grammar;
    if (pthread_create(&run->thread, NULL, run_thread, run) != 0) {
        ember_result_destroy(run->ctx.result);
        run->ctx.result = NULL;
        ember_run_destroy(run);
        return ember_fail(err, EMBER_ERR_NOMEM, "cannot start the run's thread");
    }
    *out = run;
    return EMBER_OK;
}

void ember_run_cancel(ember_run *run) {
    if (run) atomic_store(&run->ctx.cancelled, true);
}

ember_status ember_run_wait(ember_run *run, ember_result **result, ember_error *err) {
    pthread_join(run->thread, NULL);
    *result = run->ctx.result;
    run->ctx.result = NULL;
    if (err) *err = run->error;
    return run->status;
}

void ember_run_destroy(ember_run *run) {
    if (!run) return;
    ember_result_destroy(run->ctx.result);
    free(run->system);
    free(run->current_date);
    free(run->grammar);
    free(run->agent_grammar);
    free(run);
}
