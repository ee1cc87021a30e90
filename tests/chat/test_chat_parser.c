/*
 * test_chat_parser.c — the incremental parsers give the same channels however the text is
 * cut into pieces: every split point, and one byte at a time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

typedef struct collected {
    char reasoning[4096];
    char answer[4096];
    char tools[4096];   /* "recipient|body;" per call */
    int turn_ends;
} collected;

static void cat(char *dst, size_t cap, const char *text, size_t len) {
    size_t n = strlen(dst);
    assert_true(n + len < cap);
    memcpy(dst + n, text, len);
    dst[n + len] = '\0';
}

static void on_parse(void *user, ember_parse_event kind, const char *text, size_t len, const char *recipient) {
    collected *c = user;
    switch (kind) {
    case EMBER_PARSE_REASONING: cat(c->reasoning, sizeof c->reasoning, text, len); break;
    case EMBER_PARSE_ANSWER: cat(c->answer, sizeof c->answer, text, len); break;
    case EMBER_PARSE_TOOL_CALL:
        cat(c->tools, sizeof c->tools, recipient, strlen(recipient));
        cat(c->tools, sizeof c->tools, "|", 1);
        cat(c->tools, sizeof c->tools, text, len);
        cat(c->tools, sizeof c->tools, ";", 1);
        break;
    case EMBER_PARSE_TURN_END: c->turn_ends++; break;
    }
}

/* Parses text fed as pieces cut at `cuts` (sorted offsets); step 1 = byte by byte. */
static void parse_split(const char *format, ember_opening opening, const char *text, size_t cut, bool bytewise,
                        collected *out) {
    memset(out, 0, sizeof *out);
    ember_parser *p = NULL;
    assert_int_equal(ember_parser_create(format, opening, on_parse, out, &p, NULL), EMBER_OK);
    size_t len = strlen(text);
    if (bytewise) {
        for (size_t i = 0; i < len; i++) ember_parser_feed(p, text + i, 1);
    } else {
        ember_parser_feed(p, text, cut);
        ember_parser_feed(p, text + cut, len - cut);
    }
    ember_parser_finish(p);
    ember_parser_destroy(p);
}

static void check_all_splits(const char *format, ember_opening opening, const char *text, const char *reasoning,
                             const char *answer, const char *tools, int turn_ends) {
    size_t len = strlen(text);
    for (size_t cut = 0; cut <= len + 1; cut++) {
        collected c;
        parse_split(format, opening, text, cut > len ? 0 : cut, cut > len, &c);
        if (strcmp(c.reasoning, reasoning) || strcmp(c.answer, answer) || strcmp(c.tools, tools) ||
            c.turn_ends != turn_ends) {
            fprintf(stderr, "cut %zu: reasoning '%s' answer '%s' tools '%s' ends %d\n", cut, c.reasoning, c.answer,
                    c.tools, c.turn_ends);
        }
        assert_string_equal(c.reasoning, reasoning);
        assert_string_equal(c.answer, answer);
        assert_string_equal(c.tools, tools);
        assert_int_equal(c.turn_ends, turn_ends);
    }
}

static void glimmer_thinking_then_answer(void **state) {
    (void)state;
    check_all_splits("muse-glimmer", EMBER_OPEN_REASONING,
                     "Let me add: 2+2=4.<|eom|><|start|>assistant to=user<|message|>The answer is 4.<|eot|>",
                     "Let me add: 2+2=4.", "The answer is 4.", "", 1);
}

static void glimmer_header_opening(void **state) {
    (void)state;
    check_all_splits("muse-glimmer", EMBER_OPEN_HEADER,
                     " to=self<|message|>think<|eom|><|start|>assistant to=user<|message|>ok<|eot|>",
                     "think", "ok", "", 1);
    /* a model that skips reasoning and writes no recipient */
    check_all_splits("muse-glimmer", EMBER_OPEN_HEADER, "<|message|>direct<|eot|>", "", "direct", "", 1);
}

static void glimmer_tool_call_after_reasoning(void **state) {
    (void)state;
    const char *body = "<atem:function_calls>\n<atem:invoke name=\"calculator\">\n"
                       "<atem:parameter name=\"expression\">2^100</atem:parameter>\n"
                       "</atem:invoke>\n</atem:function_calls>";
    char text[1024], tools[1024];
    snprintf(text, sizeof text, "need math<|eom|><|start|>assistant to=calculator<|message|>%s<|eom|>", body);
    snprintf(tools, sizeof tools, "calculator|%s;", body);
    check_all_splits("muse-glimmer", EMBER_OPEN_REASONING, text, "need math", "", tools, 0);
}

static void glimmer_stray_text_is_delivered(void **state) {
    (void)state;
    /* random-weight output: text outside any channel structure still reaches the answer */
    check_all_splits("muse-glimmer", EMBER_OPEN_HEADER, "garbage <|eom|> more", "", "garbage  more", "", 0);
    check_all_splits("muse-glimmer", EMBER_OPEN_ANSWER, "a <|mess b<|eot|>", "", "a <|mess b", "", 1);
    check_all_splits("muse-glimmer", EMBER_OPEN_REASONING, "r<|", "r<|", "", "", 0);
}

/* Found by fuzz_chat_output: a header that overflows into answer text, then a marker of the
 * header's list, in one piece. */
static void overlong_header_then_marker(void **state) {
    (void)state;
    char text[512];
    memset(text, 'h', 200);
    strcpy(text + 200, "<|start|>assistant to=user<|message|>ok<|eot|>");
    collected c;
    parse_split("muse-glimmer", EMBER_OPEN_HEADER, text, strlen(text), false, &c);
    assert_int_equal(strspn(c.answer, "h"), 200);
    assert_string_equal(c.answer + 200, "ok");
    assert_int_equal(c.turn_ends, 1);
}

static void chatml_reasoning_answer_tool(void **state) {
    (void)state;
    check_all_splits("chatml-think", EMBER_OPEN_REASONING, "hmm\n</think>\n\nIt is 4.<|im_end|>", "hmm\n", "It is 4.",
                     "", 1);
    check_all_splits("chatml-think", EMBER_OPEN_HEADER,
                     "<think>\nplan\n</think>\n\nCalling.<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call><|im_end|>",
                     "plan\n", "Calling.", "|\n{\"name\": \"f\", \"arguments\": {}}\n;", 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glimmer_thinking_then_answer),
        cmocka_unit_test(glimmer_header_opening),
        cmocka_unit_test(glimmer_tool_call_after_reasoning),
        cmocka_unit_test(glimmer_stray_text_is_delivered),
        cmocka_unit_test(overlong_header_then_marker),
        cmocka_unit_test(chatml_reasoning_answer_tool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
