/*
 * examples.c — renders training examples with ember's chat format ("chatml-think", the format
 * of the qwen3 architecture ember trains). The prompt part comes from ember_chat_render with the
 * opening a run would use (Thinking opens <think>, Instant an empty think block); the assistant
 * part is what the stream parser expects back (reasoning, the format's channel close, the
 * answer, <|im_end|>). A tool example is rendered as the tool loop re-renders a conversation
 * after a call: the call as the renderer writes it (trained), the tool's turn and the next
 * opening (not trained), then the rest of the answer (trained).
 */
#include "train/examples.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"

#define FORMAT "chatml-think"

ember_status train_kit_init(train_kit *kit, ember_error *err) {
    memset(kit, 0, sizeof *kit);
    ember_status st = ember_tools_create(NULL, &kit->calculator, err);
    if (st == EMBER_OK) st = ember_tools_enable(kit->calculator, "calculator", err);
    if (st == EMBER_OK) {
        kit->tools_json = ember_tools_definitions_json(kit->calculator);
        if (!kit->tools_json) st = ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    if (st != EMBER_OK) train_kit_free(kit);
    return st;
}

void train_kit_free(train_kit *kit) {
    ember_tools_destroy(kit->calculator);
    free(kit->tools_json);
    memset(kit, 0, sizeof *kit);
}

void train_example_free(train_example *ex) {
    for (int i = 0; i < ex->n; i++) free(ex->seg[i].text);
    memset(ex, 0, sizeof *ex);
}

static bool add(train_example *ex, char *text, float weight) {
    if (!text || ex->n == TRAIN_MAX_SEGMENTS) {
        free(text);
        return false;
    }
    ex->seg[ex->n++] = (train_segment){text, weight};
    return true;
}

static char *dup_range(const char *s, size_t len) {
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

static ember_status render(const ember_chat *chat, ember_opening opening, const char *tools_json,
                           char **prompt, ember_error *err) {
    ember_render_opts o = {.opening = opening, .reasoning = EMBER_REASONING_MEDIUM,
                           .tools_json = tools_json};
    return ember_chat_render(chat, FORMAT, &o, prompt, err);
}

ember_status train_render_question(const char *question, ember_opening opening, char **prompt, ember_error *err) {
    ember_chat *chat = ember_chat_create();
    ember_status st = chat ? ember_chat_add(chat, EMBER_ROLE_USER, question, err)
                           : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    if (st == EMBER_OK) st = render(chat, opening, NULL, prompt, err);
    ember_chat_destroy(chat);
    return st;
}

/* The assistant's final part: reasoning (Thinking) and the answer, ending the turn; with
 * `restate`, the reasoning's first line (and the "=" line of a reordered expression after it)
 * is a segment of its own (TRAIN_RESTATE_WEIGHT). */
static bool add_final_part(train_example *ex, const char *reasoning, const char *answer, bool restate) {
    strbuf sb = {0};
    if (reasoning) {
        const char *nl = restate ? strchr(reasoning, '\n') : NULL;
        if (nl && nl[1] == '=') nl = strchr(nl + 1, '\n'); /* and the reordered expression */
        if (nl) {
            if (!add(ex, dup_range(reasoning, (size_t)(nl + 1 - reasoning)), TRAIN_RESTATE_WEIGHT)) return false;
            reasoning = nl + 1;
        }
        strbuf_puts(&sb, reasoning);
        strbuf_puts(&sb, TRAIN_CLOSE_REASONING);
    }
    strbuf_puts(&sb, answer);
    strbuf_puts(&sb, TRAIN_TURN_END);
    return add(ex, strbuf_take(&sb), 1.0f);
}

/* `approach`: a Contemplating agent's branch line ("Approach: …", fed by the run, not written
 * by the model), shown between the prompt and the reasoning; NULL for none. */
static ember_status plain_example(const char *question, const char *approach, const char *reasoning,
                                  const char *answer, bool restate, train_example *ex, ember_error *err) {
    char *prompt = NULL;
    ember_status st = train_render_question(question, reasoning ? EMBER_OPEN_REASONING : EMBER_OPEN_ANSWER, &prompt, err);
    if (st != EMBER_OK) return st;
    bool ok = add(ex, prompt, 0.0f);
    if (ok && approach && reasoning) {
        strbuf line = {0};
        strbuf_printf(&line, "Approach: %s\n", approach);
        ok = add(ex, strbuf_take(&line), 0.0f);
    }
    if (!ok || !add_final_part(ex, reasoning, answer, restate)) {
        train_example_free(ex);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    return EMBER_OK;
}

/* Calls the calculator for real, so the example shows exactly what a run would append. */
static ember_status tool_example(const train_kit *kit, const char *question, const char *expression,
                                 long value, bool thinking, train_example *ex, ember_error *err) {
    json_t *args = json_pack("{s:s}", "expression", expression);
    char *args_text = args ? json_dumps(args, JSON_COMPACT) : NULL;
    json_decref(args);
    ember_tool_result *res = NULL;
    ember_chat *chat = ember_chat_create();
    char *prompt = NULL, *full = NULL;
    strbuf r1 = {0}, r2 = {0}, answer = {0};
    ember_status st = !args_text || !chat ? ember_fail(err, EMBER_ERR_NOMEM, "out of memory")
                                          : ember_tools_call(kit->calculator, "calculator", args_text, 0, &res, err);
    if (st == EMBER_OK && ember_tool_result_status(res) != EMBER_OK)
        st = ember_fail(err, EMBER_ERR_INVALID, "calculator: %s", ember_tool_result_error(res));
    if (thinking) {
        strbuf_printf(&r1, "The calculator is exact: I will use it for %s.", expression);
        strbuf_printf(&r2, "The calculator gives %s.", st == EMBER_OK ? ember_tool_result_output(res) : "");
    }
    strbuf_printf(&answer, "%s = %ld", expression, value);
    if (st == EMBER_OK) st = ember_chat_add(chat, EMBER_ROLE_USER, question, err);
    const ember_opening opening = thinking ? EMBER_OPEN_REASONING : EMBER_OPEN_ANSWER;
    if (st == EMBER_OK) st = render(chat, opening, kit->tools_json, &prompt, err);
    if (st == EMBER_OK) st = ember_chat_add_assistant(chat, thinking ? strbuf_str(&r1) : NULL, "", err);
    if (st == EMBER_OK) st = ember_chat_add_tool_call(chat, "calculator", args_text, NULL, err);
    if (st == EMBER_OK) st = ember_chat_add_tool_result(chat, "calculator", ember_tool_result_output(res), err);
    if (st == EMBER_OK) st = render(chat, opening, kit->tools_json, &full, err);
    if (st == EMBER_OK) {
        /* full = prompt + the call (up to its turn end) + the tool's turn + the next opening.
         * Instant's empty think block is not part of the re-rendered history, so there the
         * continuation is a sequence of its own, as the run's prefix reset makes it. */
        const size_t n_prompt = strlen(prompt);
        const bool extends = strncmp(full, prompt, n_prompt) == 0;
        const char *end = extends ? strstr(full + n_prompt, TRAIN_TURN_END) : NULL;
        if (extends && !end) {
            st = ember_fail(err, EMBER_ERR_FORMAT, "the rendered call has no turn end");
        } else {
            strbuf call = {0};
            if (!extends) {
                strbuf_printf(&call, "<tool_call>\n{\"name\": \"calculator\", \"arguments\": %s}\n</tool_call>%s",
                              args_text, TRAIN_TURN_END);
            }
            if (end) end += strlen(TRAIN_TURN_END);
            char *first = extends ? dup_range(full + n_prompt, (size_t)(end - full) - n_prompt) : strbuf_take(&call);
            char *rest = strdup(extends ? end : full);
            const bool ok = add(ex, prompt, 0.0f) && add(ex, first, 1.0f) && add(ex, rest, 0.0f) &&
                            add_final_part(ex, thinking ? strbuf_str(&r2) : NULL, strbuf_str(&answer), false);
            prompt = NULL;
            ex->restart = extends ? 0 : 2;
            strbuf_free(&call);
            if (!ok) {
                train_example_free(ex);
                st = ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
            }
        }
    }
    free(prompt);
    free(full);
    free(args_text);
    strbuf_free(&r1);
    strbuf_free(&r2);
    strbuf_free(&answer);
    ember_tool_result_destroy(res);
    ember_chat_destroy(chat);
    return st;
}

ember_status train_example_arith(const train_kit *kit, const arith_problem *p, uint64_t variant,
                                 train_style style, train_example *ex, ember_error *err) {
    strbuf question = {0}, reasoning = {0}, answer = {0}, expr = {0};
    memset(ex, 0, sizeof *ex);
    arith_question(p, variant, &question);
    arith_answer_text(p, &answer);
    ember_status st;
    if (style == TRAIN_STYLE_TOOL) {
        arith_canonical(p, &expr);
        st = tool_example(kit, strbuf_str(&question), strbuf_str(&expr), arith_answer(p),
                          arith_mix(variant) % 2 == 0, ex, err);
    } else {
        /* a third of the traces open as a Contemplating agent's do, with its approach line */
        char approach[160];
        const uint64_t r = arith_mix(variant ^ 0xC0FFEEull);
        const bool as_agent = style == TRAIN_STYLE_THINKING && r % 3 == 0;
        const int approach_index = (int)((r >> 8) % 16);
        if (as_agent) ember_contemplate_approach(approach_index, approach, sizeof approach);
        const bool reordered = as_agent && arith_agent_reorders(kit->trace, approach_index);
        if (style == TRAIN_STYLE_THINKING) arith_reasoning(p, kit->trace, variant, reordered, &reasoning);
        st = plain_example(strbuf_str(&question), as_agent ? approach : NULL,
                           style == TRAIN_STYLE_THINKING ? strbuf_str(&reasoning) : NULL, strbuf_str(&answer), true, ex,
                           err);
    }
    strbuf_free(&question);
    strbuf_free(&reasoning);
    strbuf_free(&answer);
    strbuf_free(&expr);
    return st;
}

ember_status train_example_json(const json_t *obj, train_example *ex, ember_error *err) {
    memset(ex, 0, sizeof *ex);
    const char *question = json_string_value(json_object_get(obj, "question"));
    const char *answer = json_string_value(json_object_get(obj, "answer"));
    const char *reasoning = json_string_value(json_object_get(obj, "reasoning"));
    const char *mode = json_string_value(json_object_get(obj, "mode"));
    if (!question || !answer)
        return ember_fail(err, EMBER_ERR_FORMAT, "an example needs \"question\" and \"answer\" strings");
    if (mode && strcmp(mode, "instant") == 0) reasoning = NULL;
    else if (mode && strcmp(mode, "thinking") != 0)
        return ember_fail(err, EMBER_ERR_FORMAT, "unknown \"mode\" \"%s\" (instant or thinking)", mode);
    const char *approach = json_string_value(json_object_get(obj, "approach"));
    return plain_example(question, approach, reasoning, answer, false, ex, err);
}
