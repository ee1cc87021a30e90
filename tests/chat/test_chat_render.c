/* test_chat_render.c — the renderers produce exactly what the models' templates produce. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ember.h"

static char *render(ember_chat *chat, const char *format, ember_opening opening, ember_reasoning r,
                    const char *system, const char *tools) {
    ember_render_opts o = {.opening = opening, .reasoning = r, .system = system,
                           .current_date = "2026-11-22", .tools_json = tools};
    char *prompt = NULL;
    ember_error err = {0};
    assert_int_equal(ember_chat_render(chat, format, &o, &prompt, &err), EMBER_OK);
    return prompt;
}

static void glimmer_default_system_thinking(void **state) {
    (void)state;
    ember_chat *chat = ember_chat_create();
    ember_chat_add(chat, EMBER_ROLE_USER, "What is 2+2?", NULL);
    char *p = render(chat, "muse-glimmer", EMBER_OPEN_REASONING, EMBER_REASONING_HIGH, NULL, NULL);
    assert_string_equal(p,
        "<|begin_of_text|><|start|>system<|message|>You are a helpful AI assistant.\n"
        "Knowledge cutoff: 2026-01-04.\nCurrent date: 2026-11-22.\n\nReasoning strength: high.\n\n"
        "# Valid recipients: \"self\", \"user\".<|eot|>"
        "<|start|>user<|message|>What is 2+2?<|eot|>"
        "<|start|>assistant to=self<|message|>");
    free(p);
    ember_chat_destroy(chat);
}

static void glimmer_system_message_and_history(void **state) {
    (void)state;
    ember_chat *chat = ember_chat_create();
    ember_chat_add(chat, EMBER_ROLE_SYSTEM, "Be brief. Reasoning effort: low.", NULL);
    ember_chat_add(chat, EMBER_ROLE_USER, "Hi", NULL);
    ember_chat_add_assistant(chat, "greet back", "Hello!", NULL);
    ember_chat_add(chat, EMBER_ROLE_USER, "Bye", NULL);
    char *p = render(chat, "muse-glimmer", EMBER_OPEN_ANSWER, EMBER_REASONING_MEDIUM, NULL, NULL);
    /* "Reasoning effort" is rewritten and, being present, suppresses the generated line. */
    assert_string_equal(p,
        "<|begin_of_text|><|start|>system<|message|>Be brief. Reasoning strength: low.\n\n"
        "# Valid recipients: \"self\", \"user\".<|eot|>"
        "<|start|>user<|message|>Hi<|eot|>"
        "<|start|>assistant to=self<|message|>greet back<|eom|>"
        "<|start|>assistant to=user<|message|>Hello!<|eot|>"
        "<|start|>user<|message|>Bye<|eot|>"
        "<|start|>assistant to=user<|message|>");
    free(p);
    ember_chat_destroy(chat);
}

static void glimmer_tools_and_tool_turn(void **state) {
    (void)state;
    ember_chat *chat = ember_chat_create();
    ember_chat_add(chat, EMBER_ROLE_SYSTEM, "S", NULL);
    ember_chat_add(chat, EMBER_ROLE_USER, "U", NULL);
    ember_chat_add_tool_result(chat, "calc.eval", "4", NULL);
    const char *tools =
        "[{\"type\": \"function\", \"function\": {\"name\": \"calc.eval\", \"description\": \"Evaluate\","
        " \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"string\"}}}}}]";
    char *p = render(chat, "muse-glimmer", EMBER_OPEN_HEADER, EMBER_REASONING_LOW, NULL, tools);
    const char *expect_head =
        "<|begin_of_text|><|start|>system<|message|>S\n\nReasoning strength: low.\n\n"
        "In this environment you have access to a set of tools";
    assert_memory_equal(p, expect_head, strlen(expect_head));
    assert_non_null(strstr(p, "// Tool metadata\n{\"name\": \"calc\", \"description\": \"\"}\n// Function schemas\n"
                              "{\"name\": \"calc.eval\", \"description\": \"Evaluate\", \"parameters\": "
                              "{\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"string\"}}}}\n\n"));
    assert_non_null(strstr(p, "</atem:invoke>\n</atem:function_calls>\n\n# Valid recipients: \"self\", \"calc.*\", \"user\".<|eot|>"));
    assert_non_null(strstr(p, "<|start|>tool calc.eval<|message|><tool_output name=\"calc.eval\">\n4\n</tool_output><|eot|>"
                              "<|start|>assistant"));
    size_t n = strlen(p);
    assert_string_equal(p + n - strlen("<|eot|><|start|>assistant"), "<|eot|><|start|>assistant");
    free(p);
    ember_chat_destroy(chat);
}

static void chatml_modes(void **state) {
    (void)state;
    ember_chat *chat = ember_chat_create();
    ember_chat_add(chat, EMBER_ROLE_USER, "Q", NULL);
    char *p = render(chat, "chatml-think", EMBER_OPEN_REASONING, EMBER_REASONING_HIGH, "Sys", NULL);
    assert_string_equal(p, "<|im_start|>system\nSys<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"
                           "<|im_start|>assistant\n<think>\n");
    free(p);
    p = render(chat, "chatml-think", EMBER_OPEN_ANSWER, EMBER_REASONING_HIGH, NULL, NULL);
    assert_string_equal(p, "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    free(p);
    ember_chat_destroy(chat);
}

static void unknown_format_is_an_error(void **state) {
    (void)state;
    ember_chat *chat = ember_chat_create();
    ember_chat_add(chat, EMBER_ROLE_USER, "Q", NULL);
    ember_render_opts o = {0};
    char *p = (char *)"x";
    ember_error err = {0};
    assert_int_equal(ember_chat_render(chat, "nope", &o, &p, &err), EMBER_ERR_NOT_FOUND);
    assert_null(p);
    assert_non_null(strstr(err.message, "nope"));
    ember_chat_destroy(chat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glimmer_default_system_thinking),
        cmocka_unit_test(glimmer_system_message_and_history),
        cmocka_unit_test(glimmer_tools_and_tool_turn),
        cmocka_unit_test(chatml_modes),
        cmocka_unit_test(unknown_format_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
