/*
 * test_vision_render.c — images in conversations: where each format puts them (Muse
 * Glimmer's <|patch|>, Qwen3-VL's <|vision_start|><|image_pad|><|vision_end|>, the media marker
 * in runs), marker placement and image-then-text, stray markers dropped, the conversation's
 * image order, and that a chat holds its own references.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ember.h"

static ember_image *solid(int w, int h, uint8_t v) {
    uint8_t *rgb = malloc((size_t)w * h * 3);
    memset(rgb, v, (size_t)w * h * 3);
    ember_image *img = NULL;
    assert_int_equal(ember_image_from_rgb(w, h, rgb, &img, NULL), EMBER_OK);
    free(rgb);
    return img;
}

static char *render(const ember_chat *chat, const char *format, const char *placeholder) {
    ember_render_opts o = {.opening = EMBER_OPEN_ANSWER, .current_date = "2026-01-01", .image_placeholder = placeholder};
    char *prompt = NULL;
    assert_int_equal(ember_chat_render(chat, format, &o, &prompt, NULL), EMBER_OK);
    return prompt;
}

static void images_are_placed(void **state) {
    (void)state;
    ember_image *a = solid(8, 8, 10), *b = solid(8, 8, 200);
    ember_chat *chat = ember_chat_create();
    ember_error err = {0};
    /* an image needs a message to go with */
    assert_int_equal(ember_chat_add_image(chat, a, &err), EMBER_ERR_INVALID);
    assert_int_equal(ember_chat_add(chat, EMBER_ROLE_USER, "Compare " EMBER_IMAGE_MARKER " and that.", NULL), EMBER_OK);
    assert_int_equal(ember_chat_add_image(chat, a, NULL), EMBER_OK);
    assert_int_equal(ember_chat_add_image(chat, b, NULL), EMBER_OK);  /* beyond the markers: first */
    ember_image_destroy(a);  /* the chat keeps its own references */
    ember_image_destroy(b);

    char *glimmer = render(chat, "muse-glimmer", NULL);
    assert_non_null(strstr(glimmer, "<|start|>user<|message|><|patch|>Compare <|patch|> and that.<|eot|>"));
    free(glimmer);
    char *qwen = render(chat, "chatml-think", NULL);
    assert_non_null(strstr(qwen, "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Compare "
                                 "<|vision_start|><|image_pad|><|vision_end|> and that.<|im_end|>"));
    free(qwen);
    char *run = render(chat, "chatml-think", EMBER_IMAGE_MARKER);
    assert_non_null(strstr(run, "user\n" EMBER_IMAGE_MARKER "Compare " EMBER_IMAGE_MARKER " and that."));
    free(run);
    /* prompt order: the unmarked image (b) first, then the marked one (a) */
    assert_int_equal(ember_chat_image_count(chat), 2);
    assert_int_equal(ember_image_rgb(ember_chat_image(chat, 0))[0], 200);
    assert_int_equal(ember_image_rgb(ember_chat_image(chat, 1))[0], 10);
    assert_null(ember_chat_image(chat, 2));

    /* a marker without an image is dropped; a tool result may hold an image */
    assert_int_equal(ember_chat_add_assistant(chat, NULL, "ok", NULL), EMBER_OK);
    assert_int_equal(ember_chat_add(chat, EMBER_ROLE_USER, "no image " EMBER_IMAGE_MARKER "here", NULL), EMBER_OK);
    assert_int_equal(ember_chat_add_tool_result(chat, "zoom", "crop:\n" EMBER_IMAGE_MARKER, NULL), EMBER_OK);
    ember_image *c = solid(4, 4, 99);
    assert_int_equal(ember_chat_add_image(chat, c, NULL), EMBER_OK);
    ember_image_destroy(c);
    glimmer = render(chat, "muse-glimmer", NULL);
    assert_non_null(strstr(glimmer, "<|start|>user<|message|>no image here<|eot|>"));
    assert_non_null(strstr(glimmer, "<tool_output name=\"zoom\">\ncrop:\n<|patch|>\n</tool_output>"));
    free(glimmer);
    assert_int_equal(ember_chat_image_count(chat), 3);
    ember_chat_pop(chat);
    assert_int_equal(ember_chat_image_count(chat), 2);
    ember_chat_destroy(chat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(images_are_placed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
