/*
 * adapter.c — the engine table of adapter.h. Fields follow each engine's documented API:
 *   llama-server  POST /completion: prompt (string, or {prompt_string, multimodal_data}),
 *                 n_predict, n_probs (top log-probabilities, pre-sampling), grammar +
 *                 grammar_lazy + grammar_triggers, preserved_tokens (special tokens shown as
 *                 text), cache_prompt, timings_per_token; events {content, stop, stop_type
 *                 "eos"|"limit"|"word", completion_probabilities[{id, logprob, top_logprobs}],
 *                 tokens_evaluated, timings.prompt_n}. POST /tokenize {content,
 *                 parse_special}. GET /health.
 *   vLLM          POST /v1/completions (OpenAI): model, prompt, max_tokens, logprobs (top-k),
 *                 skip_special_tokens=false, spaces_between_special_tokens=false,
 *                 guided_grammar (xgrammar reads GBNF); events {choices[0]: {text, logprobs:
 *                 {tokens, token_logprobs, top_logprobs[{token: logprob}]}, finish_reason
 *                 "stop"|"length"}, usage}. POST /tokenize {model, prompt,
 *                 add_special_tokens=false}. GET /health.
 *   SGLang        as vLLM for /v1/completions, grammar in `ebnf`; GET /health.
 * "ignore_eos" (all three) only when the sampling asks for it (equal-work benchmarks).
 */
#include "backend/adapter.h"

#include <string.h>
#include <strings.h>

/* ---- shared pieces ---- */

static void add_sampling(json_t *body, const ember_sampling *s) {
    json_object_set_new(body, "temperature", json_real(s->temperature));
    if (s->top_k > 0) json_object_set_new(body, "top_k", json_integer(s->top_k));
    json_object_set_new(body, "top_p", json_real(s->top_p > 0 ? s->top_p : 1.0));
    json_object_set_new(body, "min_p", json_real(s->min_p));
    json_object_set_new(body, "seed", json_integer(s->seed));
    if (s->ignore_eos) json_object_set_new(body, "ignore_eos", json_true());
}

/* Clears `out`; true when the event is an error report (then in out->error). */
static bool event_start(json_t *ev, remote_event *out) {
    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->prompt_evaluated = -1;
    json_t *error = json_object_get(ev, "error");
    if (!error) return false;
    const char *msg = json_string_value(json_object_get(error, "message"));
    out->error = msg ? msg : "the engine reported an error";
    return true;
}

/* How a stream ended, from the engine's word for "end of turn" and for "token limit". */
static remote_finish finish_of(const char *reason, const char *eos, const char *length) {
    if (reason && strcmp(reason, eos) == 0) return REMOTE_FINISH_EOS;
    if (reason && strcmp(reason, length) == 0) return REMOTE_FINISH_LENGTH;
    return REMOTE_FINISH_OTHER;
}

static float mean_of(const float *values, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += values[i];
    return n ? (float)(sum / n) : 0.0f;
}

/* ---- llama-server ---- */

static json_t *llama_request(const remote_request *r) {
    json_t *body = json_object();
    if (r->n_images > 0) {
        json_t *media = json_array();
        for (int i = 0; i < r->n_images; i++) json_array_append_new(media, json_string(r->images_base64[i]));
        json_object_set_new(body, "prompt",
                            json_pack("{s:s, s:o}", "prompt_string", r->prompt, "multimodal_data", media));
    } else {
        json_object_set_new(body, "prompt", json_string(r->prompt));
    }
    json_object_set_new(body, "stream", json_true());
    json_object_set_new(body, "cache_prompt", json_true());
    json_object_set_new(body, "timings_per_token", json_true());
    json_object_set_new(body, "n_predict", json_integer(r->max_tokens > 0 ? r->max_tokens : -1));
    if (r->top_logprobs > 0) json_object_set_new(body, "n_probs", json_integer(r->top_logprobs));
    add_sampling(body, r->sampling);
    json_t *keep = json_array();
    for (const char *const *t = r->keep_tokens; t && *t; t++) json_array_append_new(keep, json_string(*t));
    json_object_set_new(body, "preserved_tokens", keep);
    if (r->sampling->grammar) {
        json_object_set_new(body, "grammar", json_string(r->sampling->grammar));
        if (r->sampling->grammar_trigger) {
            json_object_set_new(body, "grammar_lazy", json_true());
            /* type 2: a regex over the generated text (common_grammar_trigger_type PATTERN) */
            json_object_set_new(body, "grammar_triggers",
                                json_pack("[{s:i, s:s}]", "type", 2, "value", r->sampling->grammar_trigger));
        }
    }
    return body;
}

static json_t *llama_tokenize_request(const char *text, const char *model, bool add_special) {
    (void)model;
    return json_pack("{s:s, s:b, s:b}", "content", text, "parse_special", 1, "add_special", add_special);
}

static int count_tokens_array(json_t *response) {
    json_t *tokens = json_object_get(response, "tokens");
    return json_is_array(tokens) ? (int)json_array_size(tokens) : -1;
}

static bool llama_parse_event(json_t *ev, remote_event *out) {
    if (event_start(ev, out)) return true;
    json_t *content = json_object_get(ev, "content");
    if (!json_is_string(content)) return false;
    json_t *probs = json_object_get(ev, "completion_probabilities");
    json_t *first = json_array_get(probs, 0);
    const char *text = json_string_value(content);
    if (text[0] || first) {
        remote_token *t = &out->tokens[out->n_tokens++];
        t->piece = text;
        t->id = -1;
        if (first) {
            json_t *id = json_object_get(first, "id");
            if (json_is_integer(id)) t->id = (int32_t)json_integer_value(id);
            t->logprob = (float)json_number_value(json_object_get(first, "logprob"));
            json_t *top = json_object_get(first, "top_logprobs");
            float values[64];
            int n = 0;
            for (size_t i = 0; i < json_array_size(top) && n < 64; i++)
                values[n++] = (float)json_number_value(json_object_get(json_array_get(top, i), "logprob"));
            t->top_logprob_mean = mean_of(values, n);
        }
    }
    json_t *evaluated = json_object_get(ev, "tokens_evaluated");
    if (json_is_integer(evaluated)) out->prompt_tokens = (int)json_integer_value(evaluated);
    json_t *prompt_n = json_object_get(json_object_get(ev, "timings"), "prompt_n");
    if (json_is_integer(prompt_n)) out->prompt_evaluated = (int)json_integer_value(prompt_n);
    if (json_is_true(json_object_get(ev, "stop")))
        out->finish = finish_of(json_string_value(json_object_get(ev, "stop_type")), "eos", "limit");
    return true;
}

const remote_adapter remote_llama_server = {
    .name = "llama-server",
    .completions_path = "/completion",
    .tokenize_path = "/tokenize",
    .health_path = "/health",
    .images = true,
    .lazy_grammar = true,
    .request = llama_request,
    .tokenize_request = llama_tokenize_request,
    .tokenize_count = count_tokens_array,
    .parse_event = llama_parse_event,
};

/* ---- OpenAI-style completions: vLLM and SGLang ---- */

static json_t *openai_request(const remote_request *r, const char *grammar_field) {
    json_t *body = json_object();
    json_object_set_new(body, "model", json_string(r->model ? r->model : ""));
    json_object_set_new(body, "prompt", json_string(r->prompt));
    json_object_set_new(body, "stream", json_true());
    json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    if (r->max_tokens > 0) json_object_set_new(body, "max_tokens", json_integer(r->max_tokens));
    if (r->top_logprobs > 0) json_object_set_new(body, "logprobs", json_integer(r->top_logprobs));
    add_sampling(body, r->sampling);
    json_object_set_new(body, "skip_special_tokens", json_false());
    json_object_set_new(body, "spaces_between_special_tokens", json_false());
    /* No lazy grammars here: a grammar with a trigger (tool arguments) is left off. */
    if (r->sampling->grammar && !r->sampling->grammar_trigger)
        json_object_set_new(body, grammar_field, json_string(r->sampling->grammar));
    return body;
}

static json_t *vllm_request(const remote_request *r) { return openai_request(r, "guided_grammar"); }
static json_t *sglang_request(const remote_request *r) { return openai_request(r, "ebnf"); }

static json_t *openai_tokenize_request(const char *text, const char *model, bool add_special) {
    return json_pack("{s:s, s:s, s:b}", "model", model ? model : "", "prompt", text, "add_special_tokens", add_special);
}

static int openai_tokenize_count(json_t *response) {
    json_t *count = json_object_get(response, "count");
    return json_is_integer(count) ? (int)json_integer_value(count) : count_tokens_array(response);
}

static bool openai_parse_event(json_t *ev, remote_event *out) {
    if (event_start(ev, out)) return true;
    json_t *usage = json_object_get(ev, "usage");
    json_t *prompt = json_object_get(usage, "prompt_tokens");
    if (json_is_integer(prompt)) out->prompt_tokens = (int)json_integer_value(prompt);
    json_t *choices = json_object_get(ev, "choices");
    if (!json_is_array(choices)) return usage != NULL;
    json_t *choice = json_array_get(choices, 0);
    if (!choice) return true;
    const char *text = json_string_value(json_object_get(choice, "text"));
    json_t *lp = json_object_get(choice, "logprobs");
    json_t *tokens = json_object_get(lp, "tokens");
    size_t n = json_array_size(tokens);
    if (n > 0 && n <= sizeof out->tokens / sizeof out->tokens[0]) {
        /* one entry per token: their texts concatenate to `text` */
        for (size_t i = 0; i < n; i++) {
            remote_token *t = &out->tokens[out->n_tokens++];
            t->piece = json_string_value(json_array_get(tokens, i));
            if (!t->piece) t->piece = "";
            t->id = -1;
            t->logprob = (float)json_number_value(json_array_get(json_object_get(lp, "token_logprobs"), i));
            json_t *top = json_array_get(json_object_get(lp, "top_logprobs"), i);
            float values[64];
            int k = 0;
            const char *key;
            json_t *value;
            json_object_foreach(top, key, value) {
                if (k < 64 && json_is_number(value)) values[k++] = (float)json_number_value(value);
            }
            t->top_logprob_mean = mean_of(values, k);
        }
    } else if (text && text[0]) {
        out->tokens[out->n_tokens++] = (remote_token){.piece = text, .id = -1};
    }
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    /* "stop" without a stop string of ours is the model's end of turn */
    if (finish) out->finish = finish_of(finish, "stop", "length");
    return true;
}

const remote_adapter remote_vllm = {
    .name = "vllm",
    .completions_path = "/v1/completions",
    .tokenize_path = "/tokenize",
    .health_path = "/health",
    .images = false,
    .lazy_grammar = false,
    .request = vllm_request,
    .tokenize_request = openai_tokenize_request,
    .tokenize_count = openai_tokenize_count,
    .parse_event = openai_parse_event,
};

const remote_adapter remote_sglang = {
    .name = "sglang",
    .completions_path = "/v1/completions",
    .tokenize_path = "/tokenize",
    .health_path = "/health",
    .images = false,
    .lazy_grammar = false,
    .request = sglang_request,
    .tokenize_request = openai_tokenize_request,
    .tokenize_count = openai_tokenize_count,
    .parse_event = openai_parse_event,
};

const remote_adapter *remote_adapter_find(const char *name) {
    static const remote_adapter *const all[] = {&remote_llama_server, &remote_vllm, &remote_sglang};
    if (name && strcasecmp(name, "llama.cpp") == 0) return &remote_llama_server;
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (strcasecmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}
