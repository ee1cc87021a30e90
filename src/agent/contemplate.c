/*
 * contemplate.c — Contemplating: several agents reason in parallel from one shared prompt and
 * converge.
 *
 *   1. The prompt (reasoning channel opened) is decoded once, in a root sequence.
 *   2. N agents fork the root (sharing its KV cells), each with its own approach written into
 *      its own branch and its own seed; the scheduler steps them together in one batch.
 *   3. Online confidence (DeepConf): each agent's score is the lowest sliding-window mean of
 *      its per-token confidence. With early stop on, once the warm-up agents finish (the
 *      first wave, below; with all agents started at once, the first finishers), their
 *      scores set a threshold and running agents that fall below it stop; once the
 *      confidence-weighted vote of the finished agents reaches the consensus level, with at
 *      least that share of the agents started behind it, the rest stop. A stopped agent's
 *      sequence is destroyed at once, freeing its cells.
 *      Early stop also starts the agents in two waves (first_wave, half by default): agents
 *      that reason alike finish together, so stopping on consensus saves little while they
 *      all run; the second wave starts only when the first reaches no consensus, and meets
 *      the threshold the first set (DeepConf's warm-up traces). The price: a question the
 *      first wave disputes waits for two waves.
 *   4. The finished agents' answers are normalized and voted on, weighted by confidence.
 *   5. When the vote reached the consensus level, the most confident agreeing agent's answer
 *      is the final answer: there is nothing to reconcile. Otherwise (or with synthesis
 *      "always") a synthesizer forked from the root reads the candidates (answers, excerpts
 *      of their reasoning, the vote) and writes the final answer, which is what the user
 *      sees. The brief is cut to the room the context has left after the prompt and the
 *      answer's token limit: with many agents, shorter excerpts, then none, then shorter
 *      answers.
 *
 * Tools: an agent whose round of calls the run can run itself (zoom, calculator, python, every
 * enabled registry tool — tool_round_runnable) pauses its own branch; a worker thread of that
 * agent runs the round (tool_round.c, the single run's tool step), feeds the results to the
 * agent's own sequence as tool turns (its branch only; the shared prompt and the other agents
 * are untouched) and resumes it, up to max_tool_steps rounds per agent. The other agents keep
 * decoding meanwhile, and several agents' rounds run at the same time. Calls to tools the run
 * cannot run (an API client's) end that agent with its calls as its last state.
 *
 * Threads: the hooks (should_stop, on_stop) and the idle callback run on the scheduler thread
 * and own the early-stop state; the run's thread creates and reaps sequences, starts and joins
 * the tool workers, waiting on `cv` for agents to go idle or workers to finish. All agent
 * events are emitted on the scheduler thread (tool results deferred to the agent's next
 * token), so a run's events never overlap.
 */
#include "agent/contemplate.h"
#include "agent/brief.h"
#include "agent/tool_round.h"
#include "agent/vote.h"
#include "core/error.h"
#include "core/utf8.h"

#include <jansson.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const APPROACHES[] = {
    "Solve it directly, step by step.",
    "Work backwards from what is asked.",
    "Check every step, and verify the result at the end.",
    "Consider other readings of the question before answering.",
    "Estimate first, then compute exactly.",
    "Break the problem into smaller parts and solve each.",
    "Look for a simpler equivalent problem first.",
    "Argue for a different answer first, then decide.",
};
enum { N_APPROACHES = sizeof APPROACHES / sizeof APPROACHES[0] };

void ember_contemplate_approach(int index, char *out, size_t size) {
    if (index < 0) index = 0;
    if (index < N_APPROACHES) snprintf(out, size, "%s", APPROACHES[index]);
    else snprintf(out, size, "%s (variant %d)", APPROACHES[index % N_APPROACHES], index / N_APPROACHES + 1);
}

/* One agent of the contemplation and the run's bookkeeping of it. */
typedef struct member {
    agent a;                    /* first: an agent's hooks find their member from it */
    struct contemplation *c;
    bool idle;                  /* guarded by mu */
    bool tools_pending;         /* guarded by mu: idle only for a tool round, to be resumed */
    bool announce;              /* guarded by mu: AGENT_FINISHED to emit on the scheduler thread */
    bool waiting;               /* guarded by mu: of the second wave, not started yet */
    int tool_rounds;            /* its worker only (one at a time) */
    pthread_t worker;           /* the thread running its tool round (run's thread joins it) */
    bool has_worker;            /* run's thread only: `worker` is to be joined */
    bool worker_done;           /* guarded by mu: the worker finished (resumed says how) */
    bool resumed;               /* guarded by mu: the worker resumed the agent */
    atomic_bool stopped;        /* the agent's final state is recorded (set once, by record) */
} member;

typedef struct contemplation {
    run_ctx *run;
    member *m;                  /* n members */
    result_agent *out;          /* = run->result->agents */
    int n;
    int synthesizer_tokens;     /* what the synthesizer generated, reasoning and answer */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* early-stop state: scheduler thread only */
    int n_finished;             /* agents that ended their turn (or hit the token limit) */
    float threshold;
    bool have_threshold;
    atomic_bool consensus;      /* written on the scheduler thread, read by reap too */
    atomic_int started;         /* agents started so far (the first wave, then all) */
} contemplation;

static int agent_index(contemplation *c, agent *a) { return (int)((member *)a - c->m); }

/* Finished agents' normalized answers and weights, for the vote. */
static vote_outcome tally_finished(contemplation *c, bool include_all) {
    const char **answers = calloc((size_t)c->n, sizeof *answers);
    float *weights = calloc((size_t)c->n, sizeof *weights);
    vote_outcome v = {.winner = -1};
    if (answers && weights) {
        for (int i = 0; i < c->n; i++) {
            bool counts = c->out[i].finished || (include_all && !c->out[i].stopped_early);
            answers[i] = counts ? c->out[i].normalized : NULL;
            weights[i] = c->out[i].confidence;
        }
        v = vote_tally(answers, weights, c->n);
    }
    free(answers);
    free(weights);
    return v;
}

/* Records an agent's final state (answer, score) once. */
static void record(contemplation *c, agent *a, const char *reason, bool finished, bool early) {
    int i = agent_index(c, a);
    if (atomic_exchange(&c->m[i].stopped, true)) return;  /* the scheduler and the run's thread may race */
    result_agent *o = &c->out[i];
    o->tokens = a->generated;
    o->confidence = agent_confidence(a);
    o->finished = finished;
    o->stopped_early = early;
    o->stop_reason = reason;
    const char *text = o->answer.len ? strbuf_str(&o->answer) : strbuf_str(&o->reasoning);
    o->normalized = ember_answer_normalize(text);
}

static void emit_finished(contemplation *c, int i) {
    result_agent *o = &c->out[i];
    ember_event ev = {.type = EMBER_EVENT_AGENT_FINISHED, .agent = i, .text = o->normalized ? o->normalized : "",
                      .confidence = o->confidence, .tokens = o->tokens, .stop_reason = o->stop_reason};
    run_emit(c->run, &ev);
}

/* AGENT_FINISHED of agents the run's thread finished (tools it could not resume), emitted on
 * the scheduler thread by the next hook of any agent — or by the run's thread once every agent
 * is reaped — so that a run's events never overlap. */
static void announce_pending(contemplation *c) {
    for (int i = 0; i < c->n; i++) {
        pthread_mutex_lock(&c->mu);
        bool due = c->m[i].announce;
        c->m[i].announce = false;
        pthread_mutex_unlock(&c->mu);
        if (due) emit_finished(c, i);
    }
}

static void on_agent_token(agent *a) {
    announce_pending(a->mode);
    run_track_kv(a->run);
}

static void stop_the_rest(contemplation *c) {
    for (int i = 0; i < c->n; i++) {
        if (c->m[i].stopped) continue;
        /* an agent paused for its tools is idle: no idle callback will come, so finish it here */
        pthread_mutex_lock(&c->mu);
        bool paused = c->m[i].tools_pending, waiting = c->m[i].waiting;
        c->m[i].tools_pending = false;
        c->m[i].waiting = false;
        pthread_mutex_unlock(&c->mu);
        agent_flush(&c->m[i].a);
        record(c, &c->m[i].a, "consensus", false, true);
        if (paused || waiting) emit_finished(c, i);
        else ember_seq_cancel(c->m[i].a.seq);
        if (waiting) {  /* never started: no idle callback will come either */
            pthread_mutex_lock(&c->mu);
            c->m[i].idle = true;
            pthread_cond_signal(&c->cv);
            pthread_mutex_unlock(&c->mu);
        }
    }
}

static bool should_stop(agent *a) {
    contemplation *c = a->mode;
    if (c->m[agent_index(c, a)].stopped) {  /* consensus came while its tools ran */
        a->stop_reason = "consensus";
        return true;
    }
    if (!c->have_threshold || a->window_fill < a->window_size) return false;
    if (agent_confidence(a) >= c->threshold) return false;
    a->stop_reason = "low_confidence";
    return true;
}

/* True when the run can run every call of the agent's round and it has rounds left. */
static bool wants_tools(contemplation *c, agent *a) {
    run_ctx *run = c->run;
    int max_steps = run->params.max_tool_steps > 0 ? run->params.max_tool_steps : 8;
    return a->calls_json && c->m[agent_index(c, a)].tool_rounds < max_steps && tool_round_runnable(run, a->calls_json);
}

/* Agents that start at once: all of them, or with early stop the first wave. */
static int first_wave_size(const ember_run_params *p, int n) {
    if (!p->early_stop || n <= 2) return n;
    int wave = p->first_wave > 0 ? p->first_wave : n / 2;
    if (wave < 2) wave = 2;  /* a consensus needs two supporters */
    return wave < n ? wave : n;
}

static void on_stop(agent *a) {
    contemplation *c = a->mode;
    const char *reason = a->stop_reason;
    if (strcmp(reason, "tool_calls") == 0 && !atomic_load(&c->run->cancelled) && !c->m[agent_index(c, a)].stopped &&
        wants_tools(c, a)) {
        a->tools_wanted = true;  /* not final: its tools run and it resumes */
        return;
    }
    bool finished = strcmp(reason, "stop") == 0 || strcmp(reason, "length") == 0;
    bool early = strcmp(reason, "low_confidence") == 0;
    record(c, a, early ? "low_confidence" : finished ? "finished" : reason, finished, early);
    if (!finished || !c->run->params.early_stop) return;

    c->n_finished++;
    /* the warm-up is the first wave when a second waits: its agents all answer, and the
     * second meets the threshold they set (a threshold from its first two finishers would cut
     * its slower agents, whose answers are the vote's diversity) */
    const int wave = first_wave_size(&c->run->params, c->n);
    int warmup = wave < c->n ? wave : c->n >= 8 ? c->n / 4 : 1;
    if (c->n_finished >= warmup) {
        float scores[64];
        int k = 0;
        for (int i = 0; i < c->n && k < 64; i++)
            if (c->out[i].finished) scores[k++] = c->out[i].confidence;
        c->threshold = vote_quantile(scores, k, 1.0f - c->run->params.keep_fraction);
        c->have_threshold = true;
    }
    /* a consensus of the agents started, not only of the first to finish: two agents that
     * agree early often share a systematic error */
    vote_outcome v = tally_finished(c, false);
    float level = c->run->params.consensus;
    int need = (int)(level * (float)atomic_load(&c->started) + 0.999f);
    if (need < 2) need = 2;
    if (v.supporters >= need && v.share >= level && !atomic_load(&c->consensus)) {
        atomic_store(&c->consensus, true);
        stop_the_rest(c);
    }
}

static void on_idle(ember_seq *seq, ember_status status, void *user) {
    agent *a = user;
    contemplation *c = a->mode;
    int i = agent_index(c, a);
    (void)seq;
    announce_pending(c);
    if (a->tools_wanted && status == EMBER_OK) {
        pthread_mutex_lock(&c->mu);
        c->m[i].idle = true;
        c->m[i].tools_pending = true;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    a->tools_wanted = false;
    if (!c->m[i].stopped) {  /* stopped from outside: cancelled run, context full, engine error */
        agent_flush(a);
        /* the engine ended it for want of KV cells (cells.c): cut like a token limit */
        bool cut = status == EMBER_ERR_BUSY;
        record(c, a, status == EMBER_ERR_CANCELLED ? "cancelled" : status == EMBER_OK ? "finished" : cut ? "length" : "error",
               status == EMBER_OK || cut, false);
    }
    emit_finished(c, i);
    pthread_mutex_lock(&c->mu);
    c->m[i].idle = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static ember_sampling agent_sampling(const run_ctx *run, int i) {
    ember_sampling s = run->params.sampling;
    s.seed = run->params.sampling.seed + 1000003u * (uint32_t)(i + 1);
    s.grammar = run->params.agent_grammar;
    s.grammar_trigger = NULL;
    s.confidence = true;   /* DeepConf: early stop and the vote's weights */
    return s;
}

/* On agent i's worker, the agent idle after a round of calls: run them, feed the results to
 * its own sequence as tool turns (a zoom's crop as an image), and resume it. False when it
 * cannot go on. */
static bool resume_with_tools(contemplation *c, int i) {
    run_ctx *run = c->run;
    agent *a = &c->m[i].a;
    tool_round *round = tool_round_run(run, i, a->calls_json);
    size_t n = tool_round_count(round);
    chat_message *results = calloc(n ? n : 1, sizeof *results);
    ember_image **crops = calloc(n ? n : 1, sizeof *crops);
    bool ok = round && results && crops && n > 0;
    for (size_t k = 0; ok && k < n; k++) {
        const tool_round_call *call = tool_round_get(round, k);
        agent_defer_result(a, call->name, call->arguments, call->text);
        crops[k] = call->crop;
        results[k] = (chat_message){.role = EMBER_ROLE_TOOL, .name = (char *)call->name, .content = call->text,
                                    .images = call->crop ? &crops[k] : NULL, .n_images = call->crop ? 1 : 0};
    }
    strbuf feed = {0};
    chat_images images = {0};
    chat_render_opts opts = {.opening = CHAT_OPEN_REASONING, .reasoning = run->params.reasoning,
                             .image_placeholder = EMBER_IMAGE_MARKER};
    ok = ok && run->format->render_continuation(results, n, &opts, &feed, &images) && !images.oom;
    /* the text up to each marker, then that image; agents feed images one at a time, so that
     * equal crops are encoded once (the engine's cache lookup and its encode are two steps) */
    const char *p = strbuf_str(&feed);
    if (images.n) pthread_mutex_lock(&run->result_mu);
    int encoded = ember_seq_n_encoded(a->seq);
    for (size_t k = 0; ok && k <= images.n; k++) {
        const char *hit = k < images.n ? strstr(p, EMBER_IMAGE_MARKER) : NULL;
        size_t len = hit ? (size_t)(hit - p) : strlen(p);
        char *part = strndup(p, len);
        ok = part && (len == 0 || ember_seq_feed_text(a->seq, part, true, NULL) == EMBER_OK);
        free(part);
        if (ok && hit) ok = ember_seq_feed_image(a->seq, images.items[k], NULL) == EMBER_OK;
        p = hit ? hit + strlen(EMBER_IMAGE_MARKER) : p + len;
    }
    if (!images.n) pthread_mutex_lock(&run->result_mu);
    run->result->usage.images_encoded += ember_seq_n_encoded(a->seq) - encoded;
    pthread_mutex_unlock(&run->result_mu);
    c->m[i].tool_rounds++;
    ember_sampling s = agent_sampling(run, i);
    /* consensus or a cancel may have come while the tools ran: then it stays paused */
    ok = ok && !atomic_load(&run->cancelled) && !atomic_load(&c->consensus) &&
         ember_seq_set_sampling(a->seq, &s, NULL) == EMBER_OK && agent_restart(a, CHAT_OPEN_REASONING) &&
         ember_seq_generate(a->seq, NULL) == EMBER_OK;
    strbuf_free(&feed);
    chat_images_free(&images);
    free(results);
    free(crops);
    tool_round_free(round);
    return ok;
}

static void *tools_worker(void *arg) {
    member *m = arg;
    contemplation *c = m->c;
    int i = (int)(m - c->m);
    bool resumed = !atomic_load(&c->run->cancelled) && !atomic_load(&c->consensus) && resume_with_tools(c, i);
    pthread_mutex_lock(&c->mu);
    m->resumed = resumed;
    m->worker_done = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static ember_status start_agents(contemplation *c, ember_seq *root, ember_error *err) {
    run_ctx *run = c->run;
    for (int i = 0; i < c->n; i++) {
        result_agent *o = &c->out[i];
        char approach[160];
        ember_contemplate_approach(i, approach, sizeof approach);
        o->approach = strdup(approach);
        ember_sampling s = agent_sampling(run, i);
        ember_seq *seq = NULL;
        ember_status status = run_seq_open(run, root, &s, &seq, err);
        if (status != EMBER_OK) return status;
        char branch[256];
        snprintf(branch, sizeof branch, "Approach: %s\n", approach);
        status = ember_seq_feed_text(seq, branch, false, err);
        if (status != EMBER_OK || !agent_init(&c->m[i].a, run, i, seq, CHAT_OPEN_REASONING, &o->reasoning, &o->answer)) {
            run_seq_close(run, seq);
            return status != EMBER_OK ? status : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
        }
        agent *a = &c->m[i].a;
        c->m[i].c = c;
        a->mode = c;
        a->max_tokens = run->params.max_tokens;
        a->think_budget = run->params.think_budget;
        a->on_token = on_agent_token;
        a->on_stop = on_stop;
        if (run->params.early_stop) a->should_stop = should_stop;
    }
    return EMBER_OK;
}

/* With mu held: joins member i's worker (mu is released meanwhile). */
static void join_worker(contemplation *c, int i) {
    member *m = &c->m[i];
    if (!m->has_worker) return;
    pthread_mutex_unlock(&c->mu);
    pthread_join(m->worker, NULL);
    pthread_mutex_lock(&c->mu);
    m->has_worker = false;
    m->worker_done = false;
}

/* With mu held: an agent paused for tools that will not resume; its calls are its last state
 * (AGENT_FINISHED is emitted on the scheduler thread, or by reap at the end). */
static void finish_paused(contemplation *c, int i) {
    pthread_mutex_unlock(&c->mu);
    agent *a = &c->m[i].a;
    agent_flush(a);
    bool consensus = atomic_load(&c->consensus);
    record(c, a, atomic_load(&c->run->cancelled) ? "cancelled" : consensus ? "consensus" : "tool_calls", false, consensus);
    pthread_mutex_lock(&c->mu);
    c->m[i].announce = true;
    c->m[i].idle = true;
}

static void start_agent(contemplation *c, int i) {
    agent_set_idle(&c->m[i].a, on_idle);
    ember_seq_generate(c->m[i].a.seq, NULL);
}

/* With mu held: true when the second wave waits and every other agent is reaped. */
static bool second_wave_due(const contemplation *c, const bool *done) {
    bool waiting = false;
    for (int i = 0; i < c->n; i++) {
        if (!c->m[i].waiting && !done[i]) return false;
        waiting = waiting || c->m[i].waiting;
    }
    return waiting;
}

/* With mu held: the first wave reached no consensus (one would have stopped the second wave),
 * so the second starts — unless the run was cancelled meanwhile. */
static void start_second_wave(contemplation *c) {
    atomic_store(&c->started, c->n);
    for (int i = 0; i < c->n; i++) {
        if (!c->m[i].waiting) continue;
        c->m[i].waiting = false;
        pthread_mutex_unlock(&c->mu);
        if (atomic_load(&c->run->cancelled)) {
            record(c, &c->m[i].a, "cancelled", false, false);
            pthread_mutex_lock(&c->mu);
            c->m[i].announce = true;
            c->m[i].idle = true;
            continue;
        }
        start_agent(c, i);
        pthread_mutex_lock(&c->mu);
    }
}

/* The run's thread: starts a tool worker for each agent that paused for its tools, joins them,
 * and destroys each agent's sequence as soon as it is finally idle: its cells are freed at
 * once. */
static void reap(contemplation *c) {
    int reaped = 0;
    bool done[EMBER_AGENTS_MAX] = {false};
    pthread_mutex_lock(&c->mu);
    while (reaped < c->n) {
        int ready = -1;
        bool joined = false;
        for (int i = 0; i < c->n && ready < 0; i++)
            if (c->m[i].worker_done) ready = i, joined = true;
        for (int i = 0; i < c->n && ready < 0; i++)
            if (c->m[i].idle && !done[i]) ready = i;
        if (ready < 0 && second_wave_due(c, done)) {
            start_second_wave(c);
            continue;
        }
        if (ready < 0) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        member *m = &c->m[ready];
        if (joined) {
            bool resumed = m->resumed;
            join_worker(c, ready);
            if (!resumed) {
                m->idle = false;  /* finish_paused sets it again, with the final state */
                finish_paused(c, ready);
            }
            continue;
        }
        if (m->tools_pending) {
            m->idle = false;
            m->tools_pending = false;
            join_worker(c, ready);  /* the previous round's worker, if it is still ending */
            m->worker_done = false;
            m->has_worker = pthread_create(&m->worker, NULL, tools_worker, m) == 0;
            if (!m->has_worker) finish_paused(c, ready);
            continue;
        }
        join_worker(c, ready);
        pthread_mutex_unlock(&c->mu);
        run_seq_close(c->run, m->a.seq);
        m->a.seq = NULL;
        done[ready] = true;
        reaped++;
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    announce_pending(c);  /* every agent is reaped: nothing else emits now */
}

/* The tokens the brief must leave the synthesizer (reasoning and answer): its limit, or 256
 * without one. */
static int synthesizer_limit(const run_ctx *run) {
    return run->params.max_tokens > 0 ? run->params.max_tokens : 256;
}

/* The longest brief that fits within the model's training context (text past the positions a
 * model was trained on is noise to it, and a small model's is short), else the shortest that
 * fits the run's context (the least past it), or NULL with an error that names the synthesis
 * stage. */
static char *brief_to_fit(contemplation *c, ember_seq *root, vote_outcome v, ember_error *err) {
    run_ctx *run = c->run;
    int n_ctx = ember_engine_n_ctx(run->engine), trained = ember_engine_n_ctx_train(run->engine);
    /* beside the brief: the prompt, the synthesizer's limit and the channel's close */
    int close = ember_engine_count_tokens(run->engine, run->format->close_reasoning, true);
    int reserve = ember_seq_n_tokens(root) + synthesizer_limit(run) + (close > 0 ? close : 0);
    int room = (trained > 0 && trained < n_ctx ? trained : n_ctx) - reserve, room_ctx = n_ctx - reserve;
    int need = 0;
    for (int k = 0; k < BRIEF_N_SIZES; k++) {
        char *text = brief_write(c->out, c->n, v, k);
        need = text ? ember_engine_count_tokens(run->engine, text, false) : -1;
        bool last = k == BRIEF_N_SIZES - 1;
        if (need >= 0 && (need <= room || (last && need <= room_ctx))) return text;
        free(text);
        if (need < 0) break;
    }
    ember_fail(err, EMBER_ERR_CONTEXT,
               "Contemplating's synthesis: the brief on %d agents needs %d tokens at its shortest, but the context "
               "(%d) has %d left after the prompt (%d) and the synthesizer's limit (%d); raise -c/--ctx or use fewer agents",
               c->n, need, n_ctx, room_ctx > 0 ? room_ctx : 0, ember_seq_n_tokens(root), synthesizer_limit(run));
    return NULL;
}

/* The synthesizer: forked from the prompt with the reasoning channel open, it reads the brief
 * as its own reasoning so far and goes on reasoning (checking the candidates) before it
 * answers; it always answers, as Thinking does, and its reasoning is the run's (its tokens
 * count as reasoning tokens). */
static ember_status synthesize(contemplation *c, ember_seq *root, const char *text, ember_error *err) {
    run_ctx *run = c->run;
    ember_result *r = run->result;
    ember_seq *seq = NULL;
    ember_status status = run_seq_open(run, root, &run->params.sampling, &seq, err);
    if (status != EMBER_OK) return status;
    status = ember_seq_feed_text(seq, text, false, err);  /* the agents' words: none is a control token */
    agent a;
    if (status == EMBER_OK && !agent_init(&a, run, -1, seq, CHAT_OPEN_REASONING, &r->synthesis_reasoning, &r->answer))
        status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    if (status == EMBER_OK) {
        a.max_tokens = run->params.max_tokens;
        /* the run's think budget, or three quarters of its token limit: room is left to answer */
        a.think_budget = run->params.think_budget > 0 ? run->params.think_budget : a.max_tokens - a.max_tokens / 4;
        a.on_token = run_track_kv_hook;
        status = agent_generate(&a, err);
        if (status == EMBER_OK) status = agent_ensure_answer(&a, &r->answer_forced, err);
        r->usage.reasoning_tokens += a.reasoning_tokens;
        r->usage.answer_tokens = a.answer_tokens;
        r->budget_reached = r->budget_reached || a.budget_reached;
        c->synthesizer_tokens = a.generated;
        if (a.stop_reason) r->finish_reason = a.stop_reason;
        agent_free(&a);
    }
    run_seq_close(run, seq);
    if (status != EMBER_OK && status != EMBER_ERR_CANCELLED && err) {  /* say which stage failed */
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err->message);
        snprintf(err->message, sizeof err->message, "Contemplating's synthesis: %.480s", why);
    }
    return status;
}

/* The answer of the most confident finished agent behind the winning answer, when the vote
 * reached the consensus level (or the run never synthesizes) and the run does not synthesize
 * every vote; NULL otherwise. A grammar for the final answer (response_format) binds only the
 * synthesizer, so with one the synthesizer always writes the answer. */
static const char *agreed_answer(const contemplation *c, vote_outcome v) {
    const ember_run_params *p = &c->run->params;
    if (p->synthesis == EMBER_SYNTHESIS_ALWAYS || v.winner < 0) return NULL;
    if (p->sampling.grammar && p->synthesis != EMBER_SYNTHESIS_NEVER) return NULL;
    if (p->synthesis == EMBER_SYNTHESIS_DISPUTED && (v.supporters < 2 || v.share < p->consensus)) return NULL;
    const char *won = c->out[v.winner].normalized;
    int best = -1;
    for (int i = 0; i < c->n; i++) {
        const result_agent *o = &c->out[i];
        if (!o->finished || !o->answer.len || !o->normalized || strcmp(o->normalized, won) != 0) continue;
        if (best < 0 || o->confidence > c->out[best].confidence) best = i;
    }
    return best >= 0 ? strbuf_str(&c->out[best].answer) : NULL;
}

/* The agreed answer as the final one, streamed as the synthesizer's would be. */
static void take_agreed_answer(run_ctx *run, const char *text) {
    strbuf_puts(&run->result->answer, text);
    char *clean = utf8_sanitize(text, strlen(text), NULL);
    ember_event ev = {.type = EMBER_EVENT_ANSWER_DELTA, .agent = -1, .channel = EMBER_CHANNEL_ANSWER,
                      .text = clean ? clean : ""};
    run_emit(run, &ev);
    free(clean);
}

ember_status contemplate_run(run_ctx *run, const ember_chat *chat, ember_error *err) {
    ember_result *r = run->result;
    int n = run->params.agents;
    contemplation c = {.run = run, .n = n};
    r->agents = calloc((size_t)n, sizeof *r->agents);
    c.m = calloc((size_t)n, sizeof *c.m);
    if (!r->agents || !c.m) {
        free(c.m);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    r->n_agents = n;
    c.out = r->agents;
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);

    /* 1. the shared prompt (images included), decoded once — or only its new part, when the
     *    prefix cache kept the conversation's earlier prompt */
    ember_seq *root = NULL;
    ember_status status = run_prompt_seq(run, &run->params.sampling, &root, err);
    int evaluated_before = root ? ember_seq_n_evaluated(root) : 0;
    if (status == EMBER_OK) status = run_reset_prompt(run, root, chat, CHAT_OPEN_REASONING, err);
    if (status == EMBER_OK) status = ember_seq_wait_idle(root, err);
    if (status == EMBER_OK) {
        r->usage.prompt_tokens = ember_seq_n_tokens(root);
        r->usage.prompt_tokens_evaluated = ember_seq_n_evaluated(root) - evaluated_before;
        run->t_first_token = ember_now_ms();
    }

    /* 2. the agents, forked and stepped together */
    int started = 0;
    if (status == EMBER_OK) {
        status = start_agents(&c, root, err);
        for (int i = 0; i < n && c.m[i].a.seq; i++) started = i + 1;
    }
    if (status == EMBER_OK) {
        for (int i = 0; i < n; i++) {
            ember_event ev = {.type = EMBER_EVENT_AGENT_STARTED, .agent = i, .text = r->agents[i].approach};
            run_emit(run, &ev);
        }
        int wave = first_wave_size(&run->params, n);
        for (int i = wave; i < n; i++) c.m[i].waiting = true;  /* before any hook can run */
        atomic_store(&c.started, wave);
        for (int i = 0; i < wave; i++) start_agent(&c, i);
        reap(&c);
    } else {
        for (int i = 0; i < started; i++) run_seq_close(run, c.m[i].a.seq);
    }

    /* 3-4. vote */
    int generated = 0, natural_total = 0, natural_count = 0;
    for (int i = 0; i < started; i++) {
        r->usage.reasoning_tokens += r->agents[i].tokens;
        generated += r->agents[i].tokens;
        if (r->agents[i].finished) {
            natural_total += r->agents[i].tokens;
            natural_count++;
        }
    }
    if (status == EMBER_OK) {
        int expected = natural_count ? natural_total / natural_count : run->params.max_tokens;
        for (int i = 0; i < n; i++)
            if (r->agents[i].stopped_early && expected > r->agents[i].tokens)
                r->usage.tokens_saved += expected - r->agents[i].tokens;
        vote_outcome v = tally_finished(&c, true);
        if (v.winner >= 0) {
            r->vote_answer = strdup(r->agents[v.winner].normalized);
            r->vote_share = v.share;
            r->vote_agents = v.supporters;
            strbuf_puts(&r->reasoning, strbuf_str(&r->agents[v.winner].reasoning));
        }
        const char *agreed = agreed_answer(&c, v);
        r->synthesized = !agreed && run->params.synthesis != EMBER_SYNTHESIS_NEVER;
        ember_event ev = {.type = EMBER_EVENT_VOTE, .agent = -1, .text = r->vote_answer ? r->vote_answer : "",
                          .confidence = v.share, .tokens = v.supporters, .synthesized = r->synthesized};
        run_emit(run, &ev);

        /* 5. the agreed answer, or a synthesis */
        if (atomic_load(&run->cancelled)) status = ember_fail(err, EMBER_ERR_CANCELLED, "cancelled");
        else if (agreed) take_agreed_answer(run, agreed);
        else if (run->params.synthesis == EMBER_SYNTHESIS_NEVER) take_agreed_answer(run, r->vote_answer ? r->vote_answer : "");
        else if (!(r->synthesis_brief = brief_to_fit(&c, root, v, err))) status = err ? err->status : EMBER_ERR_CONTEXT;
        else status = synthesize(&c, root, r->synthesis_brief, err);
    }
    run_finish_timings(run, r->usage.prompt_tokens_evaluated, generated + c.synthesizer_tokens);
    r->usage.kv_cells_peak = run->kv_cells_peak;

    for (int i = 0; i < started; i++) agent_free(&c.m[i].a);
    if (root) run_prompt_seq_done(run, root, status == EMBER_OK || status == EMBER_ERR_CANCELLED);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
    free(c.m);
    return status;
}
