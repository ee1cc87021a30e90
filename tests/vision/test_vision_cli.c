/*
 * test_vision_cli.c — images through `ember ask` and `ember run` on the generated models:
 * every file format is accepted, several images go in one prompt, the projector is found
 * beside the model, bad files and a model without a projector give one clear line, and in
 * `ember run` a second question about the same image neither encodes nor evaluates it again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "test_support.h"

static json_t *ask_json(const char *const *args, test_proc *proc) {
    assert_true(test_run_ember(proc, NULL, args));
    if (proc->status != 0) fprintf(stderr, "ember failed (%d): %s\n", proc->status, proc->err);
    assert_int_equal(proc->status, 0);
    json_t *root = json_loads(proc->out, 0, NULL);
    if (!root) fprintf(stderr, "not JSON: %s\n", proc->out);
    assert_non_null(root);
    return root;
}

static int usage_int(json_t *root, const char *key) {
    return (int)json_integer_value(json_object_get(json_object_get(root, "usage"), key));
}

static void every_format_through_ask(void **state) {
    (void)state;
    uint8_t *rgb = fx_picture(64, 64);
    fx_bytes files[] = {fx_png(rgb, 64, 64), fx_jpeg(rgb, 64, 64, 90), fx_webp(rgb, 64, 64), fx_gif(rgb, 64, 64),
                        fx_bmp(rgb, 64, 64, 24)};
    const char *suffix[] = {".png", ".jpg", ".webp", ".gif", ".bmp"};
    for (int i = 0; i < 5; i++) {
        const char *path = fx_write(files[i], suffix[i], i);
        const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--image", path, "--mode", "instant",
                              "--grammar", "root ::= \"Red and blue.\"", "--seed", "1", "--json", "Describe it.", NULL};
        test_proc proc;
        json_t *root = ask_json(args, &proc);
        assert_string_equal(json_string_value(json_object_get(root, "answer")), "Red and blue.");
        assert_int_equal(usage_int(root, "image_tokens"), 16);
        assert_int_equal(usage_int(root, "images_encoded"), 1);
        assert_true(usage_int(root, "prompt_tokens") > 16);
        json_decref(root);
        test_proc_free(&proc);
        remove(path);
        free(files[i].data);
    }
    free(rgb);
}

static void several_images_and_the_second_family(void **state) {
    (void)state;
    uint8_t *a = fx_picture(64, 64), *b = fx_picture(32, 64);
    fx_bytes pa = fx_png(a, 64, 64), pb = fx_png(b, 32, 64);
    const char *first = fx_write(pa, ".png", 0), *second = fx_write(pb, ".png", 1);
    /* the marker places the images in the text; Qwen3-VL (M-RoPE) */
    const char *args[] = {"ask", "-m", test_model("qwen3vl-tiny.gguf", 0), "--image", first, "--image", second,
                          "--mode", "instant", "--grammar", "root ::= \"Two.\"", "--json",
                          "Compare <__media__> with <__media__>.", NULL};
    test_proc proc;
    json_t *root = ask_json(args, &proc);
    assert_string_equal(json_string_value(json_object_get(root, "answer")), "Two.");
    assert_int_equal(usage_int(root, "image_tokens"), 16 + 8);
    assert_int_equal(usage_int(root, "images_encoded"), 2);
    json_decref(root);
    test_proc_free(&proc);
    /* the same image twice: encoded once */
    const char *same[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--image", first, "--image", first,
                          "--mode", "instant", "--grammar", "root ::= \"Same.\"", "--json", "Same?", NULL};
    root = ask_json(same, &proc);
    assert_int_equal(usage_int(root, "image_tokens"), 32);
    assert_int_equal(usage_int(root, "images_encoded"), 1);
    json_decref(root);
    test_proc_free(&proc);
    remove(first);
    remove(second);
    free(pa.data);
    free(pb.data);
    free(a);
    free(b);
}

static void bad_inputs_are_one_line(void **state) {
    (void)state;
    fx_bytes junk = {(uint8_t *)"GIF89a\x10\x00\x10\x00", 10};
    const char *path = fx_write(junk, ".gif", 0);
    struct { const char *model, *image, *needle; int status; } cases[] = {
        {"glimmer-tiny.gguf", path, "corrupt", 1},
        {"glimmer-tiny.gguf", "/nonexistent/x.png", "/nonexistent/x.png", 1},
        {"qwen3-tiny.gguf", NULL, "--mmproj", 1},   /* a model without a projector */
    };
    uint8_t *rgb = fx_picture(64, 64);
    fx_bytes png = fx_png(rgb, 64, 64);
    const char *good = fx_write(png, ".png", 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[] = {"ask", "-m", test_model(cases[i].model, 0), "--image", cases[i].image ? cases[i].image : good,
                              "q", NULL};
        test_proc proc;
        assert_true(test_run_ember(&proc, NULL, args));
        assert_int_equal(proc.status, cases[i].status);
        assert_non_null(strstr(proc.err, cases[i].needle));
        assert_null(strchr(strchr(proc.err, '\n') + 1, '\n'));  /* one line */
        test_proc_free(&proc);
    }
    const char *usage[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--image-max-tokens", "0", "q", NULL};
    test_proc proc;
    assert_true(test_run_ember(&proc, NULL, usage));
    assert_int_equal(proc.status, 2);
    test_proc_free(&proc);
    remove(path);
    remove(good);
    free(png.data);
    free(rgb);
}

/* Reads "key=value" from the n-th "[stats]" line. */
static double stat_of(const char *err, int n, const char *key) {
    const char *line = err;
    for (int i = 0; i <= n; i++) {
        line = strstr(line, "[stats]");
        assert_non_null(line);
        if (i < n) line++;
    }
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s=", key);
    const char *at = strstr(line, pattern);
    assert_non_null(at);
    return atof(at + strlen(pattern));
}

static void run_reuses_the_image_across_turns(void **state) {
    (void)state;
    uint8_t *rgb = fx_picture(64, 64);
    fx_bytes png = fx_png(rgb, 64, 64);
    const char *path = fx_write(png, ".png", 0);
    char input[512];
    snprintf(input, sizeof input, "/image %s\nWhat is in it?\nAnd which colors?\n/image /nonexistent.png\n/exit\n", path);
    const char *args[] = {"run", "-m", test_model("glimmer-tiny.gguf", 0), "--mode", "instant", "--grammar",
                          "root ::= \"Red.\"", "--stats", NULL};
    test_proc proc;
    assert_true(test_run_ember(&proc, input, args));
    if (proc.status) fprintf(stderr, "%s\n", proc.err);
    assert_int_equal(proc.status, 0);
    assert_non_null(strstr(proc.out, "(image 64x64 attached to the next message)"));
    assert_non_null(strstr(proc.out, "/nonexistent.png"));
    assert_int_equal((int)stat_of(proc.err, 0, "images_encoded"), 1);
    assert_int_equal((int)stat_of(proc.err, 0, "image_tokens"), 16);
    assert_int_equal((int)stat_of(proc.err, 1, "images_encoded"), 0);
    /* the second turn evaluated only its own text: far less than the first prompt */
    double first = stat_of(proc.err, 0, "prompt_evaluated"), second = stat_of(proc.err, 1, "prompt_evaluated");
    assert_true(first > 100);
    assert_true(second > 0 && second < 60);  /* "Red." and the new turn; not the image */
    assert_true(stat_of(proc.err, 1, "prompt_tokens") > first);
    test_proc_free(&proc);
    remove(path);
    free(png.data);
    free(rgb);
}

static const char ZOOM_GRAMMAR[] =
    "root ::= \"a\"{3} <|eom|> <|start|> \"assistant\" (call | answer)\n"
    "call ::= \" to=zoom\" <|message|> \"<atem:function_calls>\\n<atem:invoke name=\\\"zoom\\\">\\n"
    "<atem:parameter name=\\\"image\\\">1</atem:parameter>\\n"
    "<atem:parameter name=\\\"box\\\">[0.625, 0.125, 0.875, 0.375]</atem:parameter>\\n"
    "</atem:invoke>\\n</atem:function_calls>\"\n"
    "answer ::= \" to=user\" <|message|> \"There: <box label=\\\"square\\\">0.625,0.125,0.875,0.375</box>\"\n";

static void zoom_crops_and_boxes_are_written(void **state) {
    (void)state;
    uint8_t *rgb = fx_picture(64, 64);
    fx_bytes png = fx_png(rgb, 64, 64);
    const char *path = fx_write(png, ".png", 0);
    const char *grammar = test_temp_file(ZOOM_GRAMMAR, 0);
    char dir[] = "/tmp/ember-crops-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char drawn[128], crop[160];
    snprintf(drawn, sizeof drawn, "%s/boxes.png", dir);
    snprintf(crop, sizeof crop, "%s/crop-1.png", dir);
    const char *args[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--image", path, "--grammar-file", grammar,
                          "--seed", "2", "--json", "--save-crops", dir, "--draw-boxes", drawn, "Where is green?", NULL};
    test_proc proc;
    json_t *root = ask_json(args, &proc);
    json_t *zooms = json_object_get(root, "zooms");
    assert_true(json_array_size(zooms) >= 1);
    json_t *z = json_array_get(zooms, 0);
    assert_int_equal(json_integer_value(json_object_get(z, "image")), 1);
    assert_true(json_number_value(json_array_get(json_object_get(z, "box"), 0)) == 40);
    json_t *box = json_array_get(json_object_get(root, "boxes"), 0);
    assert_string_equal(json_string_value(json_object_get(box, "label")), "square");
    assert_true(json_real_value(json_array_get(json_object_get(box, "box_normalized"), 2)) == 0.875);
    /* the crop on disk is the green square, scaled up */
    FILE *f = fopen(crop, "rb");
    assert_non_null(f);
    fclose(f);
    json_decref(root);
    test_proc_free(&proc);
    const char *show_crop[] = {"ask", "-m", test_model("glimmer-tiny.gguf", 0), "--image", crop, "--mode", "instant",
                               "--grammar", "root ::= \"ok\"", "--json", "q", NULL};
    root = ask_json(show_crop, &proc);   /* and it reads back as an image */
    json_decref(root);
    test_proc_free(&proc);
    f = fopen(drawn, "rb");
    assert_non_null(f);
    fclose(f);
    remove(crop);
    remove(drawn);
    for (int k = 2; k < 9; k++) {
        snprintf(crop, sizeof crop, "%s/crop-%d.png", dir, k);
        remove(crop);
    }
    rmdir(dir);
    remove(grammar);
    remove(path);
    free(png.data);
    free(rgb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_format_through_ask),
        cmocka_unit_test(several_images_and_the_second_family),
        cmocka_unit_test(bad_inputs_are_one_line),
        cmocka_unit_test(run_reuses_the_image_across_turns),
        cmocka_unit_test(zoom_crops_and_boxes_are_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
