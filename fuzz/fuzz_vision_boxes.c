/*
 * fuzz_vision_boxes.c — boxes read from arbitrary model text (<box> tags, <ref> labels,
 * bbox_2d JSON), for two images. Checks: no crash, leak or undefined behavior; every box
 * names an existing image, lies inside it with ordered corners and a NUL-terminated label;
 * drawing the boxes works.
 */
#include "vision/vision.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t pixels[100 * 80 * 3];
    ember_image *a = NULL, *b = NULL;
    ember_image_from_rgb(100, 80, pixels, &a, NULL);
    ember_image_from_rgb(7, 300, pixels, &b, NULL);
    const ember_image *images[] = {a, b};
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    ember_box *boxes = NULL;
    size_t n = 0;
    if (ember_boxes_parse(text, images, 2, size % 2 == 0, &boxes, &n, NULL) == EMBER_OK) {
        for (size_t i = 0; i < n; i++) {
            const ember_box *x = &boxes[i];
            if (x->image < 0 || x->image > 1) abort();
            const ember_image *img = images[x->image];
            if (!(x->x1 >= 0 && x->x1 < x->x2 && x->x2 <= ember_image_width(img))) abort();
            if (!(x->y1 >= 0 && x->y1 < x->y2 && x->y2 <= ember_image_height(img))) abort();
            if (!memchr(x->label, '\0', sizeof x->label)) abort();
        }
        ember_image *drawn = NULL;
        if (n && ember_image_draw_boxes(a, boxes, n, &drawn, NULL) != EMBER_OK) abort();
        ember_image_destroy(drawn);
    }
    free(boxes);
    free(text);
    ember_image_destroy(a);
    ember_image_destroy(b);
    return 0;
}
