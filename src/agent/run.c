/*
 * run.c — answering a chat: ember_run_chat (blocking) and ember_run_start/wait/cancel (on a
 * thread of the run's own). Instant and Thinking run one agent here; Contemplating is in
 * contemplate.c. The run owns its sequences and destroys them before it returns.
 */
#include "agent/agent.h"
#include "chat/json_text.h"
#include "agent/contemplate.h"
#include "agent/tool_grammar.h"
#include "agent/tool_round.h"
#include "agent/zoom.h"
#include "core/error.h"

#include <jansson.h>
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
    if (p->mode == EMBER_MODE_CONTEMPLATING && (p->agents < 0 || p->agents > EMBER_AGENTS_MAX))
        return ember_fail(err, EMBER_ERR_INVALID, "agents must be between 1 and %d", EMBER_AGENTS_MAX);
    if (p->first_wave < 0) return ember_fail(err, EMBER_ERR_INVALID, "first_wave must not be negative");
    if ((unsigned)p->tool_choice > EMBER_TOOL_CHOICE_FUNCTION)
        return ember_fail(err, EMBER_ERR_INVALID, "unknown tool_choice");
    bool forced = p->tool_choice == EMBER_TOOL_CHOICE_REQUIRED || p->tool_choice == EMBER_TOOL_CHOICE_FUNCTION;
    if (p->tool_choice == EMBER_TOOL_CHOICE_FUNCTION && (!p->tool_choice_name || !p->tool_choice_name[0]))
        return ember_fail(err, EMBER_ERR_INVALID, "tool_choice names no function");
    if (forced && p->mode == EMBER_MODE_CONTEMPLATING)
        return ember_fail(err, EMBER_ERR_INVALID, "a required or named tool_choice needs Instant or Thinking mode "
                          "(Contemplating's agents call tools on their own)");
    if (forced && p->sampling.grammar)
        return ember_fail(err, EMBER_ERR_INVALID, "a required or named tool_choice cannot be combined with a grammar "
                          "(structured output or ember.grammar)");
    if (p->mode == EMBER_MODE_CONTEMPLATING && p->sampling.grammar && p->synthesis == EMBER_SYNTHESIS_NEVER)
        return ember_fail(err, EMBER_ERR_INVALID, "Contemplating's grammar (structured output) shapes the synthesizer's "
                          "answer, and synthesis 'never' lets an agent's answer stand instead: use 'disputed' or 'always'");
    return EMBER_OK;
}

/* The conversation's images and what they cost; refuses them without a projector. */
static ember_status prepare_images(run_ctx *run, const ember_chat *chat, ember_error *err) {
    size_t n = ember_chat_image_count(chat);
    if (n == 0) return EMBER_OK;
    if (!ember_engine_has_vision(run->engine))
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "the conversation has %zu image(s), but the model was loaded "
                          "without a vision projector: give one with --mmproj (mmproj-*.gguf)", n);
    run->images = calloc(n, sizeof *run->images);
    if (!run->images) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    run->n_images = (int)n;
    for (size_t i = 0; i < n; i++) {
        run->images[i] = ember_chat_image(chat, i);
        int tokens = ember_engine_image_tokens(run->engine, run->images[i]);
        if (tokens > 0) run->result->usage.image_tokens += tokens;
    }
    return EMBER_OK;
}

ember_status run_render(run_ctx *run, const ember_chat *chat, chat_opening opening, strbuf *prompt,
                        chat_images *images, ember_error *err) {
    chat_render_opts opts = {
        .opening = opening,
        .reasoning = run->params.reasoning,
        .system = run->params.system,
        .current_date = run->params.current_date,
        .tools_json = run->tools_json,
        .image_placeholder = EMBER_IMAGE_MARKER,
    };
    if (!run->format->render(chat, &opts, prompt, images) || (images && images->oom))
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory rendering the prompt");
    return EMBER_OK;
}

ember_status run_reset_prompt(run_ctx *run, ember_seq *seq, const ember_chat *chat, chat_opening opening,
                              ember_error *err) {
    strbuf prompt = {0};
    chat_images images = {0};
    int encoded = ember_seq_n_encoded(seq);
    ember_status status = run_render(run, chat, opening, &prompt, &images, err);
    if (status == EMBER_OK)
        status = ember_seq_reset_media(seq, strbuf_str(&prompt), true, images.items, (int)images.n, err);
    run->result->usage.images_encoded += ember_seq_n_encoded(seq) - encoded;
    strbuf_free(&prompt);
    chat_images_free(&images);
    return status;
}

void run_finish_timings(run_ctx *run, int prompt_evaluated, int generated) {
    ember_result *r = run->result;
    double end = ember_now_ms();
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

bool run_is_zoom(const run_ctx *run, const char *name) {
    return run->zoom && name && strcmp(name, "zoom") == 0 &&
           !(run->params.tools && ember_tools_is_enabled(run->params.tools, "zoom"));
}

ember_status run_zoom(run_ctx *run, int agent_index, const char *arguments, zoom_outcome *out, char **text) {
    ember_error zerr = {0};
    ember_status status = zoom_execute(run->engine, run->images, run->n_images, arguments, out, &zerr);
    if (status != EMBER_OK) {
        *text = strdup(zerr.message);
        return status;
    }
    ember_zoom z = {.agent = agent_index, .image = out->image, .x1 = out->x1, .y1 = out->y1, .x2 = out->x2,
                    .y2 = out->y2, .tokens = out->tokens, .crop = out->crop};
    pthread_mutex_lock(&run->result_mu);  /* agents' rounds may zoom at the same time */
    result_add_zoom(run->result, &z);
    if (out->tokens > 0) run->result->usage.image_tokens += out->tokens;
    pthread_mutex_unlock(&run->result_mu);
    *text = strdup(out->text);
    return EMBER_OK;
}

/* Runs one round's calls (tool_round.c), emits their results and appends the round to the
 * conversation (a zoom's result holds its crop). Returns false when a call names a tool the
 * run cannot run itself: the caller (an API client) runs those. */
static bool run_tools(run_ctx *run, ember_chat *chat, const char *calls_json, const char *reasoning) {
    if (!tool_round_runnable(run, calls_json)) return false;
    tool_round *round = tool_round_run(run, -1, calls_json);
    if (!round) return false;
    size_t n = tool_round_count(round);
    for (size_t i = 0; i < n; i++) {
        const tool_round_call *call = tool_round_get(round, i);
        ember_chat_add_tool_call(chat, call->name, call->arguments, NULL, NULL);
    }
    chat_set_last_reasoning(chat, reasoning);
    ember_result *r = run->result;
    for (size_t i = 0; i < n; i++) {
        const tool_round_call *call = tool_round_get(round, i);
        ember_chat_add_tool_result(chat, call->name, call->text, NULL);
        if (call->crop) ember_chat_add_image(chat, call->crop, NULL);
        /* this round's calls are the last n the agent recorded */
        int index = r->n_calls - (int)n + (int)i;
        if (index >= 0 && !r->calls[index].output) r->calls[index].output = strdup(call->text);
        ember_event ev = {.type = EMBER_EVENT_TOOL_RESULT, .agent = -1, .channel = EMBER_CHANNEL_TOOL,
                          .name = call->name, .arguments = call->arguments, .text = call->text};
        run_emit(run, &ev);
    }
    tool_round_free(round);
    return true;
}

/* Instant and Thinking: generate; while the model calls tools the run can run, run them,
 * append the round and continue (the sequence keeps the shared prefix: only the new turn is
 * evaluated). */
static ember_status run_single(run_ctx *run, const ember_chat *chat_in, ember_error *err) {
    ember_result *r = run->result;
    chat_opening opening = run->params.mode == EMBER_MODE_INSTANT ? CHAT_OPEN_ANSWER : CHAT_OPEN_REASONING;
    ember_chat *chat = chat_clone(chat_in);
    if (!chat) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    int max_steps = run->params.max_tool_steps > 0 ? run->params.max_tool_steps : 8;
    /* offered tools and no grammar of the caller's: constrain calls as they are written */
    char *tool_grammar = NULL, *tool_trigger = NULL;
    if (run->tools_json && !run->params.sampling.grammar &&
        ember_tool_grammar(run->format->name, run->tools_json, &tool_grammar, &tool_trigger, NULL) == EMBER_OK) {
        run->params.sampling.grammar = tool_grammar;
        run->params.sampling.grammar_trigger = tool_trigger;
    }
    /* tool_choice required or named: the first round is constrained from its first token */
    tool_force force = {0};
    ember_sampling first = run->params.sampling, call_sampling = run->params.sampling;
    ember_status status = EMBER_OK;
    bool forced = run->params.tool_choice == EMBER_TOOL_CHOICE_REQUIRED ||
                  run->params.tool_choice == EMBER_TOOL_CHOICE_FUNCTION;
    if (forced) {
        status = tool_force_plan(run->format->name, run->tools_json,
                                 run->params.tool_choice == EMBER_TOOL_CHOICE_FUNCTION ? run->params.tool_choice_name : NULL,
                                 run->params.mode != EMBER_MODE_INSTANT, &force, err);
        first.grammar = force.grammar;
        first.grammar_trigger = NULL;
        call_sampling.grammar = force.call_grammar;
        call_sampling.grammar_trigger = NULL;
    }
    ember_seq *seq = NULL;
    if (status == EMBER_OK) status = run_prompt_seq(run, &first, &seq, err);
    int generated = 0, budget_left = run->params.max_tokens;
    for (int step = 0; status == EMBER_OK && step < max_steps; step++) {
        /* read before the reset: the scheduler may evaluate a short suffix before it returns */
        int evaluated_before = ember_seq_n_evaluated(seq);
        chat_opening round_opening = forced && step == 0 ? force.opening : opening;
        status = run_reset_prompt(run, seq, chat, round_opening, err);
        /* each round samples afresh: a grammar constrains one generation, not the conversation */
        if (status == EMBER_OK && step > 0) status = ember_seq_set_sampling(seq, &run->params.sampling, err);
        if (status != EMBER_OK) break;
        if (step == 0) r->usage.prompt_tokens = ember_seq_n_tokens(seq);

        strbuf reasoning = {0};
        agent a;
        if (!agent_init(&a, run, -1, seq, round_opening, &reasoning, &r->answer)) {
            status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory starting the run");
            strbuf_free(&reasoning);
            break;
        }
        if (forced && step == 0 && force.close) agent_force_call(&a, force.close, force.reasoning_end, &call_sampling);
        a.max_tokens = run->params.max_tokens ? budget_left : 0;
        a.on_token = run_track_kv_hook;
        a.think_budget = run->params.mode == EMBER_MODE_THINKING ? run->params.think_budget : 0;
        status = agent_generate(&a, err);
        /* Thinking always answers, as the think budget would make it */
        if (status == EMBER_OK && run->params.mode == EMBER_MODE_THINKING)
            status = agent_ensure_answer(&a, &r->answer_forced, err);
        strbuf_append(&r->reasoning, strbuf_str(&reasoning), reasoning.len);
        r->usage.reasoning_tokens += a.reasoning_tokens;
        r->usage.answer_tokens += a.answer_tokens;
        r->usage.prompt_tokens_evaluated += a.prompt_evaluated - evaluated_before;
        r->budget_reached = r->budget_reached || a.budget_reached;
        generated += a.generated;
        budget_left -= a.generated;
        if (a.stop_reason) r->finish_reason = a.stop_reason;
        bool more = status == EMBER_OK && a.calls_json && strcmp(r->finish_reason, "tool_calls") == 0 &&
                    !atomic_load(&run->cancelled) && (!run->params.max_tokens || budget_left > 0) &&
                    run_tools(run, chat, a.calls_json, strbuf_str(&reasoning));
        agent_free(&a);
        strbuf_free(&reasoning);
        if (!more) break;
        if (step + 1 == max_steps) r->finish_reason = "length";
    }
    run_track_kv(run);
    r->usage.kv_cells_peak = run->kv_cells_peak;
    run_finish_timings(run, r->usage.prompt_tokens_evaluated, generated);
    if (seq) run_prompt_seq_done(run, seq, status == EMBER_OK || status == EMBER_ERR_CANCELLED);
    ember_chat_destroy(chat);
    if (tool_grammar) {
        run->params.sampling.grammar = NULL;
        run->params.sampling.grammar_trigger = NULL;
    }
    free(tool_grammar);
    free(tool_trigger);
    tool_force_free(&force);
    return status;
}

static ember_status run_chat(run_ctx *run, const ember_chat *chat, ember_error *err) {
    ember_status status;
    if (run->params.mode == EMBER_MODE_CONTEMPLATING) status = contemplate_run(run, chat, err);
    else status = run_single(run, chat, err);
    ember_result *r = run->result;
    if (run->n_images > 0 && r->answer.len) {  /* boxes the answer drew on the images */
        bool per_mille = strcmp(run->format->name, "chatml-think") == 0;  /* Qwen3-VL's bbox_2d grid */
        ember_boxes_parse(strbuf_str(&r->answer), run->images, run->n_images, per_mille, &r->boxes, &r->n_boxes, NULL);
    }
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

/* The registry's enabled tools, the run's zoom and the caller's definitions, as one array. */
static char *merge_tools(const ember_run_params *p, bool zoom) {
    json_t *all = json_array();
    if (zoom) json_array_append_new(all, json_loads(ZOOM_TOOL_JSON, 0, NULL));
    if (p->tools) {
        char *defs = ember_tools_definitions_json(p->tools);
        json_t *arr = defs ? json_loads(defs, 0, NULL) : NULL;
        if (json_is_array(arr)) json_array_extend(all, arr);
        json_decref(arr);
        free(defs);
    }
    if (p->tools_json) {
        json_t *arr = json_loads(p->tools_json, 0, NULL);
        if (json_is_array(arr)) json_array_extend(all, arr);
        json_decref(arr);
    }
    char *text = json_array_size(all) ? json_dumps(all, JSON_PRESERVE_ORDER) : NULL;
    json_decref(all);
    return text;
}

static ember_status run_prepare(run_ctx *run, ember_engine *engine, const ember_chat *chat,
                                const ember_run_params *params, ember_event_fn on_event, void *user,
                                ember_error *err) {
    memset(run, 0, sizeof *run);
    pthread_mutex_init(&run->seqs_mu, NULL);
    pthread_mutex_init(&run->result_mu, NULL);
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
    run->t_start = ember_now_ms();
    /* zoom is for reasoning: offered in Thinking and Contemplating when there are images */
    if (params->tool_choice == EMBER_TOOL_CHOICE_NONE) {  /* nothing offered: no definitions, no calls run */
        run->params.tools = NULL;
        run->params.tools_json = NULL;
    }
    run->zoom = !params->no_zoom && params->tool_choice != EMBER_TOOL_CHOICE_NONE && params->mode != EMBER_MODE_INSTANT &&
                ember_engine_has_vision(engine) && ember_chat_image_count(chat) > 0;
    run->tools_json = merge_tools(&run->params, run->zoom);
    run->result = result_create(params->mode);
    if (!run->result) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    status = prepare_images(run, chat, err);
    if (status != EMBER_OK) {
        ember_result_destroy(run->result);
        run->result = NULL;
        free(run->tools_json);
        run->tools_json = NULL;
    }
    return status;
}

ember_status ember_run_chat(ember_engine *engine, const ember_chat *chat, const ember_run_params *params,
                            ember_event_fn on_event, void *user, ember_result **result, ember_error *err) {
    *result = NULL;
    run_ctx run;
    ember_status status = run_prepare(&run, engine, chat, params, on_event, user, err);
    if (status != EMBER_OK) return status;
    status = run_chat(&run, chat, err);
    free(run.tools_json);
    free(run.images);
    pthread_mutex_destroy(&run.seqs_mu);
    pthread_mutex_destroy(&run.result_mu);
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
    char *grammar_trigger;
    char *agent_grammar;
    char *tools_json;
    char *tool_choice_name;
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
    run->grammar_trigger = dup_or_null(params->sampling.grammar_trigger);
    run->agent_grammar = dup_or_null(params->agent_grammar);
    run->tools_json = dup_or_null(run->ctx.params.tools_json);
    run->tool_choice_name = dup_or_null(params->tool_choice_name);
    run->ctx.params.system = run->system;
    run->ctx.params.current_date = run->current_date;
    run->ctx.params.sampling.grammar = run->grammar;
    run->ctx.params.sampling.grammar_trigger = run->grammar_trigger;
    run->ctx.params.agent_grammar = run->agent_grammar;
    run->ctx.params.tools_json = run->tools_json;
    run->ctx.params.tool_choice_name = run->tool_choice_name;
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
    if (run) run_cancel_all(&run->ctx);
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
    free(run->ctx.tools_json);
    free(run->ctx.images);
    pthread_mutex_destroy(&run->ctx.seqs_mu);
    pthread_mutex_destroy(&run->ctx.result_mu);
    ember_result_destroy(run->ctx.result);
    free(run->system);
    free(run->current_date);
    free(run->grammar);
    free(run->grammar_trigger);
    free(run->agent_grammar);
    free(run->tools_json);
    free(run->tool_choice_name);
    free(run);
}
