/* result.c — ember_result: getters and the JSON that `ember ask --json` prints. */
#include "agent/result.h"
#include "agent/vote.h"
#include "core/utf8.h"
#include "vision/vision.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

ember_result *result_create(ember_mode mode) {
    ember_result *r = calloc(1, sizeof *r);
    if (r) {
        r->mode = mode;
        r->finish_reason = "stop";
    }
    return r;
}

bool result_add_call(ember_result *r, int agent, const char *name, const char *arguments) {
    result_tool_call *calls = realloc(r->calls, sizeof *calls * (size_t)(r->n_calls + 1));
    if (!calls) return false;
    r->calls = calls;
    calls[r->n_calls].agent = agent;
    calls[r->n_calls].name = strdup(name);
    calls[r->n_calls].arguments = strdup(arguments);
    calls[r->n_calls].output = NULL;
    r->n_calls++;
    return true;
}

void result_set_output(ember_result *r, int agent, const char *name, const char *output) {
    for (int i = 0; i < r->n_calls; i++) {
        result_tool_call *c = &r->calls[i];
        if (c->agent != agent || c->output || !c->name || strcmp(c->name, name) != 0) continue;
        c->output = strdup(output);
        return;
    }
}

bool result_add_zoom(ember_result *r, const ember_zoom *z) {
    ember_zoom *zooms = realloc(r->zooms, sizeof *zooms * (size_t)(r->n_zooms + 1));
    if (!zooms) return false;
    r->zooms = zooms;
    zooms[r->n_zooms] = *z;
    zooms[r->n_zooms].crop = vision_image_ref(z->crop);
    r->n_zooms++;
    return true;
}

size_t ember_result_zoom_count(const ember_result *r) { return (size_t)r->n_zooms; }
const ember_zoom *ember_result_zoom(const ember_result *r, size_t i) {
    return i < (size_t)r->n_zooms ? &r->zooms[i] : NULL;
}
size_t ember_result_box_count(const ember_result *r) { return r->n_boxes; }
const ember_box *ember_result_box(const ember_result *r, size_t i) { return i < r->n_boxes ? &r->boxes[i] : NULL; }

void ember_result_destroy(ember_result *r) {
    if (!r) return;
    for (int i = 0; i < r->n_zooms; i++) ember_image_destroy((ember_image *)r->zooms[i].crop);
    free(r->zooms);
    free(r->boxes);
    strbuf_free(&r->answer);
    strbuf_free(&r->reasoning);
    free(r->error);
    for (int i = 0; i < r->n_calls; i++) {
        free(r->calls[i].name);
        free(r->calls[i].arguments);
        free(r->calls[i].output);
    }
    free(r->calls);
    for (int i = 0; i < r->n_agents; i++) {
        free(r->agents[i].approach);
        strbuf_free(&r->agents[i].reasoning);
        strbuf_free(&r->agents[i].answer);
        free(r->agents[i].normalized);
    }
    free(r->agents);
    free(r->vote_answer);
    free(r->synthesis_brief);
    strbuf_free(&r->synthesis_reasoning);
    free(r);
}

const char *ember_result_answer(const ember_result *r) { return strbuf_str(&r->answer); }
const char *ember_result_reasoning(const ember_result *r) { return strbuf_str(&r->reasoning); }
ember_mode ember_result_mode(const ember_result *r) { return r->mode; }
const char *ember_result_finish_reason(const ember_result *r) { return r->finish_reason; }
const ember_usage *ember_result_usage(const ember_result *r) { return &r->usage; }
const ember_timings *ember_result_timings(const ember_result *r) { return &r->timings; }

/* A JSON string of model text, repaired to valid UTF-8. */
static json_t *text_json(const char *text) {
    char *clean = utf8_sanitize(text, strlen(text), NULL);
    json_t *value = json_string(clean ? clean : "");
    free(clean);
    return value;
}

static json_t *usage_json(const ember_usage *u) {
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
                     "prompt_tokens", u->prompt_tokens,
                     "reasoning_tokens", u->reasoning_tokens,
                     "answer_tokens", u->answer_tokens,
                     "completion_tokens", u->reasoning_tokens + u->answer_tokens,
                     "prompt_tokens_evaluated", u->prompt_tokens_evaluated,
                     "kv_cells_peak", u->kv_cells_peak,
                     "tokens_saved", u->tokens_saved,
                     "image_tokens", u->image_tokens,
                     "images_encoded", u->images_encoded);
}

static json_t *timings_json(const ember_timings *t) {
    return json_pack("{s:f, s:f, s:f, s:f}",
                     "prefill_tokens_per_s", t->prefill_tokens_per_s,
                     "decode_tokens_per_s", t->decode_tokens_per_s,
                     "ttft_ms", t->ttft_ms,
                     "total_ms", t->total_ms);
}

/* Each agent's answer: what it wrote on the answer channel, or, for an agent that never left
 * its reasoning, the answer read from the reasoning (answer_from says which) — the text the
 * vote normalized. */
static json_t *agents_json(const ember_result *r) {
    json_t *agents = json_array();
    for (int i = 0; i < r->n_agents; i++) {
        const result_agent *a = &r->agents[i];
        bool own = a->answer.len > 0;
        char *answer = own ? strdup(strbuf_str(&a->answer)) : vote_answer_extract(strbuf_str(&a->reasoning));
        json_array_append_new(agents, json_pack("{s:i, s:s, s:o, s:i, s:f, s:o, s:s, s:o, s:b, s:s}",
            "index", i,
            "approach", a->approach ? a->approach : "",
            "reasoning", text_json(strbuf_str(&a->reasoning)),
            "tokens", a->tokens,
            "confidence", (double)a->confidence,
            "answer", text_json(answer ? answer : ""),
            "answer_from", own ? "answer" : "reasoning",
            "normalized_answer", text_json(a->normalized ? a->normalized : ""),
            "stopped_early", a->stopped_early,
            "stop_reason", a->stop_reason ? a->stop_reason : "finished"));
        free(answer);
    }
    return agents;
}

/* The agents whose normalized answer is the winning one (those the vote counted for it). */
static json_t *vote_agents_json(const ember_result *r) {
    json_t *list = json_array();
    for (int i = 0; r->vote_answer && i < r->n_agents; i++) {
        const result_agent *a = &r->agents[i];
        bool counted = a->finished || !a->stopped_early;
        if (counted && a->normalized && strcmp(a->normalized, r->vote_answer) == 0)
            json_array_append_new(list, json_integer(i));
    }
    return list;
}

char *ember_result_json(const ember_result *r) {
    json_t *root = json_pack("{s:o, s:o, s:s, s:s, s:o, s:o}",
                             "answer", text_json(strbuf_str(&r->answer)),
                             "reasoning", text_json(strbuf_str(&r->reasoning)),
                             "mode", ember_mode_name(r->mode),
                             "finish_reason", r->finish_reason,
                             "usage", usage_json(&r->usage),
                             "timings", timings_json(&r->timings));
    if (!root) return NULL;
    if (r->error) json_object_set_new(root, "error", text_json(r->error));
    if (r->budget_reached) json_object_set_new(root, "think_budget_reached", json_true());
    if (r->answer_forced) json_object_set_new(root, "answer_forced", json_true());
    if (r->n_calls) {
        json_t *calls = json_array();
        for (int i = 0; i < r->n_calls; i++) {
            json_t *args = json_loads(r->calls[i].arguments, JSON_DECODE_ANY, NULL);
            json_t *call = json_pack("{s:s, s:o}", "name", r->calls[i].name,
                                     "arguments", args ? args : text_json(r->calls[i].arguments));
            if (r->calls[i].output) json_object_set_new(call, "output", text_json(r->calls[i].output));
            if (r->calls[i].agent >= 0) json_object_set_new(call, "agent", json_integer(r->calls[i].agent));
            json_array_append_new(calls, call);
        }
        json_object_set_new(root, "tool_calls", calls);
    }
    if (r->n_zooms) {
        json_t *zooms = json_array();
        for (int i = 0; i < r->n_zooms; i++) {
            const ember_zoom *z = &r->zooms[i];
            json_array_append_new(zooms, json_pack("{s:i, s:i, s:[f,f,f,f], s:[i,i], s:i}", "agent", z->agent,
                                                   "image", z->image + 1, "box", z->x1, z->y1, z->x2, z->y2, "crop",
                                                   z->crop->width, z->crop->height, "tokens", z->tokens));
        }
        json_object_set_new(root, "zooms", zooms);
    }
    if (r->n_boxes) {
        json_t *boxes = json_array();
        for (size_t i = 0; i < r->n_boxes; i++) {
            const ember_box *b = &r->boxes[i];
            json_array_append_new(boxes, json_pack("{s:i, s:o, s:[f,f,f,f], s:[f,f,f,f]}", "image", b->image + 1,
                                                   "label", text_json(b->label), "box", b->x1, b->y1, b->x2, b->y2,
                                                   "box_normalized", b->nx1, b->ny1, b->nx2, b->ny2));
        }
        json_object_set_new(root, "boxes", boxes);
    }
    if (r->mode == EMBER_MODE_CONTEMPLATING) {
        json_object_set_new(root, "agents", agents_json(r));
        json_object_set_new(root, "vote", json_pack("{s:o, s:f, s:o, s:i, s:b}",
                                                    "answer", text_json(r->vote_answer ? r->vote_answer : ""),
                                                    "share", (double)r->vote_share,
                                                    "agents", vote_agents_json(r),
                                                    "count", r->vote_agents, "synthesized", r->synthesized));
        json_object_set_new(root, "synthesis",
                            json_pack("{s:o, s:o, s:o}", "answer", text_json(strbuf_str(&r->answer)),
                                      "brief", text_json(r->synthesis_brief ? r->synthesis_brief : ""),
                                      "reasoning", text_json(strbuf_str(&r->synthesis_reasoning))));
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(root);
    return text;
}
