/*
 * test_vision_images.c — images without a model: every supported format decodes to the same
 * pixels (exactly for the lossless ones), corrupt, truncated, huge and unsupported inputs
 * fail with clear errors, crop and resize take the right pixels, PNG output round-trips, and
 * boxes are read from model text and drawn.
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
#include "fixtures.h"

enum { W = 64, H = 48 };

static ember_image *load(fx_bytes b, ember_status expect, const char *needle) {
    ember_image *img = NULL;
    ember_error err = {0};
    ember_status status = ember_image_load_memory(b.data, b.size, 0, &img, &err);
    if (status != expect) fprintf(stderr, "status %s: %s\n", ember_status_name(status), err.message);
    assert_int_equal(status, expect);
    if (needle) {
        if (!strstr(err.message, needle)) fprintf(stderr, "message: %s\n", err.message);
        assert_non_null(strstr(err.message, needle));
    }
    return img;
}

static void assert_same_pixels(const ember_image *img, const uint8_t *rgb, int tolerance) {
    assert_int_equal(ember_image_width(img), W);
    assert_int_equal(ember_image_height(img), H);
    const uint8_t *got = ember_image_rgb(img);
    int worst = 0;
    double sum = 0;
    for (size_t i = 0; i < (size_t)W * H * 3; i++) {
        int d = abs((int)got[i] - (int)rgb[i]);
        sum += d;
        if (d > worst) worst = d;
    }
    double mean = sum / (W * H * 3);
    if (worst > tolerance || mean > 6) fprintf(stderr, "%s: worst difference %d, mean %.2f\n", ember_image_format(img), worst, mean);
    assert_true(worst <= tolerance);
    assert_true(mean <= 6);
}

static void every_format_decodes(void **state) {
    (void)state;
    uint8_t *rgb = fx_picture(W, H);
    struct { fx_bytes b; const char *format; int tolerance; } cases[] = {
        {fx_png(rgb, W, H), "png", 0},
        {fx_webp(rgb, W, H), "webp", 0},
        {fx_gif(rgb, W, H), "gif", 0},
        {fx_bmp(rgb, W, H, 24), "bmp", 0},
        {fx_bmp(rgb, W, H, 32), "bmp", 0},
        {fx_jpeg(rgb, W, H, 95), "jpeg", 255},  /* lossy: chroma edges ring; the mean stays small */
    };
    uint64_t lossless_hash = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ember_image *img = load(cases[i].b, EMBER_OK, NULL);
        assert_string_equal(ember_image_format(img), cases[i].format);
        assert_same_pixels(img, rgb, cases[i].tolerance);
        if (cases[i].tolerance == 0) {  /* equal pixels, equal hash, whatever the file format */
            if (!lossless_hash) lossless_hash = ember_image_hash(img);
            assert_true(ember_image_hash(img) == lossless_hash);
        }
        /* a flat area of the lossy one is close */
        const uint8_t *p = ember_image_rgb(img) + ((size_t)(H / 2) * W + 4) * 3;
        assert_true(p[0] > 230 && p[1] < 25 && p[2] < 25);
        ember_image_destroy(img);
        free(cases[i].b.data);
    }
    /* from a file, too; the error of a missing file names it */
    fx_bytes png = fx_png(rgb, W, H);
    const char *path = fx_write(png, ".png", 0);
    ember_image *img = NULL;
    assert_int_equal(ember_image_load_file(path, 0, &img, NULL), EMBER_OK);
    assert_true(ember_image_hash(img) == lossless_hash);
    ember_image_destroy(img);
    remove(path);
    ember_error err = {0};
    assert_int_equal(ember_image_load_file("/nonexistent/cat.png", 0, &img, &err), EMBER_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "/nonexistent/cat.png"));
    free(png.data);
    free(rgb);
}

/* A camera's JPEG stored sideways with orientation 6 (rotate 90 degrees clockwise to show):
 * ember hands the model the picture as a viewer shows it. */
static void jpeg_orientation_is_applied(void **state) {
    (void)state;
    uint8_t *rgb = fx_picture(W, H);  /* 64 x 48, green square x in [40, 56), y in [6, 18) */
    int expect[9][2] = {{0}, {W, H}, {W, H}, {W, H}, {W, H}, {H, W}, {H, W}, {H, W}, {H, W}};
    for (int o = 1; o <= 8; o++) {
        fx_bytes b = fx_jpeg_exif(rgb, W, H, 95, o);
        ember_image *img = load(b, EMBER_OK, NULL);
        assert_int_equal(ember_image_width(img), expect[o][0]);
        assert_int_equal(ember_image_height(img), expect[o][1]);
        if (o == 6) {  /* shown at x in [30, 42), y in [40, 56) */
            const uint8_t *p = ember_image_rgb(img) + ((size_t)47 * H + 35) * 3;
            assert_true(p[1] > 200 && p[0] < 60 && p[2] < 60);
        }
        if (o == 3) {  /* upside down: x in [8, 24), y in [30, 42) */
            const uint8_t *p = ember_image_rgb(img) + ((size_t)35 * W + 15) * 3;
            assert_true(p[1] > 200 && p[0] < 60 && p[2] < 60);
        }
        ember_image_destroy(img);
        free(b.data);
    }
    free(rgb);
}

static void truncated_and_corrupt_fail(void **state) {
    (void)state;
    uint8_t *rgb = fx_picture(W, H);
    fx_bytes all[] = {fx_png(rgb, W, H), fx_jpeg(rgb, W, H, 90), fx_webp(rgb, W, H), fx_gif(rgb, W, H),
                      fx_bmp(rgb, W, H, 24)};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        /* cut at several points: never a crash, never a half image */
        size_t cuts[] = {all[i].size / 2, all[i].size * 3 / 4, all[i].size - 16, 20};
        for (size_t k = 0; k < 4; k++) {
            fx_bytes cut = {all[i].data, cuts[k]};
            ember_image *img = NULL;
            ember_error err = {0};
            ember_status status = ember_image_load_memory(cut.data, cut.size, 0, &img, &err);
            if (status == EMBER_OK) fprintf(stderr, "format %zu cut at %zu of %zu decoded\n", i, cuts[k], all[i].size);
            assert_int_equal(status, EMBER_ERR_FORMAT);
            assert_null(img);
            assert_true(strstr(err.message, "corrupt") || strstr(err.message, "truncated"));
        }
        /* garbage in the middle of the data */
        fx_bytes bad = {malloc(all[i].size), all[i].size};
        memcpy(bad.data, all[i].data, bad.size);
        for (size_t k = bad.size / 3; k < bad.size / 3 + 24 && k < bad.size; k++) bad.data[k] ^= 0x5a;
        ember_image *img = NULL;
        ember_status status = ember_image_load_memory(bad.data, bad.size, 0, &img, NULL);
        /* BMP has no checksum: garbled pixels still decode; the others must notice */
        if (i != 4) assert_int_equal(status, EMBER_ERR_FORMAT);
        ember_image_destroy(img);
        free(bad.data);
        free(all[i].data);
    }
    load((fx_bytes){(uint8_t *)"hello, world", 12}, EMBER_ERR_FORMAT, "not an image");
    load((fx_bytes){(uint8_t *)"", 0}, EMBER_ERR_FORMAT, "empty");
    free(rgb);
}

static void unsupported_and_huge_are_refused(void **state) {
    (void)state;
    load((fx_bytes){(uint8_t *)"II*\0\x08\0\0\0", 8}, EMBER_ERR_UNSUPPORTED, "TIFF");
    load((fx_bytes){(uint8_t *)"\0\0\0\x20" "ftypheic\0\0\0\0", 16}, EMBER_ERR_UNSUPPORTED, "HEIF");
    /* a BMP header claiming 100000 x 100000 pixels: refused before any allocation */
    uint8_t *rgb = fx_picture(4, 4);
    fx_bytes bmp = fx_bmp(rgb, 4, 4, 24);
    bmp.data[18] = 0xa0; bmp.data[19] = 0x86; bmp.data[20] = 0x01; bmp.data[21] = 0;  /* 100000 */
    bmp.data[22] = 0xa0; bmp.data[23] = 0x86; bmp.data[24] = 0x01; bmp.data[25] = 0;
    load(bmp, EMBER_ERR_UNSUPPORTED, "too large");
    /* PNG and GIF headers claiming 60000 x 60000 pixels: refused from the header alone */
    fx_bytes big_png = fx_png(rgb, 4, 4);
    big_png.data[16] = 0; big_png.data[17] = 0; big_png.data[18] = 0xea; big_png.data[19] = 0x60;
    big_png.data[20] = 0; big_png.data[21] = 0; big_png.data[22] = 0xea; big_png.data[23] = 0x60;
    ember_image *none = NULL;
    ember_status st = ember_image_load_memory(big_png.data, big_png.size, 0, &none, NULL);
    assert_true(st == EMBER_ERR_UNSUPPORTED || st == EMBER_ERR_FORMAT);  /* the IHDR CRC no longer matches */
    assert_null(none);
    fx_bytes big_gif = fx_gif(rgb, 4, 4);
    big_gif.data[6] = 0x60; big_gif.data[7] = 0xea; big_gif.data[8] = 0x60; big_gif.data[9] = 0xea;
    load(big_gif, EMBER_ERR_UNSUPPORTED, "too large");
    free(big_png.data);
    free(big_gif.data);
    /* a PNG above a caller's cap */
    fx_bytes png = fx_png(rgb, 4, 4);
    ember_image *img = NULL;
    ember_error err = {0};
    assert_int_equal(ember_image_load_memory(png.data, png.size, 15, &img, &err), EMBER_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "too large"));
    assert_int_equal(ember_image_load_memory(png.data, png.size, 16, &img, &err), EMBER_OK);
    ember_image_destroy(img);
    /* run-length encoded BMP */
    fx_bytes rle = fx_bmp(rgb, 4, 4, 24);
    rle.data[28] = 8;
    rle.data[30] = 1;
    load(rle, EMBER_ERR_UNSUPPORTED, "run-length");
    free(rle.data);
    free(png.data);
    free(bmp.data);
    free(rgb);
}

static void crop_and_resize_take_the_right_pixels(void **state) {
    (void)state;
    uint8_t *rgb = fx_picture(W, H);
    ember_image *img = NULL;
    assert_int_equal(ember_image_from_rgb(W, H, rgb, &img, NULL), EMBER_OK);
    /* the green square: x in [40, 56), y in [6, 18) */
    ember_image *crop = NULL;
    assert_int_equal(ember_image_crop(img, 40, 6, 56, 18, &crop, NULL), EMBER_OK);
    assert_int_equal(ember_image_width(crop), 16);
    assert_int_equal(ember_image_height(crop), 12);
    for (int i = 0; i < 16 * 12; i++) {
        const uint8_t *p = ember_image_rgb(crop) + i * 3;
        assert_true(p[0] == 0 && p[1] == 255 && p[2] == 0);
    }
    ember_image *big = NULL;
    assert_int_equal(ember_image_resize(crop, 64, 48, &big, NULL), EMBER_OK);
    assert_int_equal(ember_image_width(big), 64);
    const uint8_t *c = ember_image_rgb(big) + ((size_t)20 * 64 + 30) * 3;
    assert_true(c[0] == 0 && c[1] == 255 && c[2] == 0);
    ember_error err = {0};
    ember_image *none = NULL;
    assert_int_equal(ember_image_crop(img, 50, 0, 70, 10, &none, &err), EMBER_ERR_INVALID);
    assert_int_equal(ember_image_crop(img, 10, 10, 10, 20, &none, &err), EMBER_ERR_INVALID);
    /* PNG out and back: the same pixels */
    char path[] = "/tmp/ember-vision-crop-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ember_image_save_png(big, path, NULL), EMBER_OK);
    ember_image *back = NULL;
    assert_int_equal(ember_image_load_file(path, 0, &back, NULL), EMBER_OK);
    assert_true(ember_image_hash(back) == ember_image_hash(big));
    remove(path);
    ember_image_destroy(back);
    ember_image_destroy(big);
    ember_image_destroy(crop);
    ember_image_destroy(img);
    free(rgb);
}

static void boxes_are_read_from_text(void **state) {
    (void)state;
    uint8_t *rgb = fx_picture(200, 100);
    ember_image *a = NULL, *b = NULL;
    ember_image_from_rgb(200, 100, rgb, &a, NULL);
    ember_image_from_rgb(100, 50, rgb, &b, NULL);
    const ember_image *images[] = {a, b};
    const char *text =
        "The cat is <box label=\"cat\">0.1, 0.2, 0.5, 0.6</box> and the dog <ref>dog</ref><box>(20,10),(60,40)</box>.\n"
        "In the second picture: <box image=\"2\" label='ball'>[50, 25, 10, 5]</box>\n"
        "```json\n[{\"bbox_2d\": [500, 0, 1000, 500], \"label\": \"sun\"}, {\"bbox_2d\": [1, 2], \"label\": \"bad\"}]\n```\n"
        "<box>0,0,0,0</box> <box image=9>1,2,3,4</box> <box>nan, 1, 2, 3</box> <boxes>1,2,3,4</boxes>";
    ember_box *boxes = NULL;
    size_t n = 0;
    assert_int_equal(ember_boxes_parse(text, images, 2, true, &boxes, &n, NULL), EMBER_OK);
    assert_int_equal(n, 4);
    assert_string_equal(boxes[0].label, "cat");
    assert_int_equal(boxes[0].image, 0);
    assert_true(boxes[0].x1 == 20 && boxes[0].y1 == 20 && boxes[0].x2 == 100 && boxes[0].y2 == 60);
    assert_string_equal(boxes[1].label, "dog");
    assert_true(boxes[1].x1 == 20 && boxes[1].y1 == 10 && boxes[1].x2 == 60 && boxes[1].y2 == 40);
    assert_true(boxes[1].nx2 == 0.3);
    assert_string_equal(boxes[2].label, "ball");
    assert_int_equal(boxes[2].image, 1);
    assert_true(boxes[2].x1 == 10 && boxes[2].y1 == 5 && boxes[2].x2 == 50 && boxes[2].y2 == 25);  /* corners ordered */
    assert_string_equal(boxes[3].label, "sun");       /* Qwen3-VL's 0..1000 grid */
    assert_true(boxes[3].x1 == 100 && boxes[3].y1 == 0 && boxes[3].x2 == 200 && boxes[3].y2 == 50);

    /* drawn: the outline takes the box's color, the inside keeps the picture */
    ember_image *drawn = NULL;
    assert_int_equal(ember_image_draw_boxes(a, boxes, 2, &drawn, NULL), EMBER_OK);
    const uint8_t *edge = ember_image_rgb(drawn) + ((size_t)40 * 200 + 20) * 3;
    const uint8_t *inside = ember_image_rgb(drawn) + ((size_t)45 * 200 + 60) * 3;
    assert_false(edge[0] == 255 && edge[1] == 0 && edge[2] == 0);
    assert_true(inside[0] == 255 && inside[1] == 0 && inside[2] == 0);
    assert_true(ember_image_hash(drawn) != ember_image_hash(a));
    ember_image_destroy(drawn);
    free(boxes);

    /* no images, no boxes */
    assert_int_equal(ember_boxes_parse(text, images, 0, false, &boxes, &n, NULL), EMBER_OK);
    assert_int_equal(n, 0);
    ember_image_destroy(a);
    ember_image_destroy(b);
    free(rgb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_format_decodes),
        cmocka_unit_test(jpeg_orientation_is_applied),
        cmocka_unit_test(truncated_and_corrupt_fail),
        cmocka_unit_test(unsupported_and_huge_are_refused),
        cmocka_unit_test(crop_and_resize_take_the_right_pixels),
        cmocka_unit_test(boxes_are_read_from_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
