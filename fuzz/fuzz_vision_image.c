/*
 * fuzz_vision_image.c — image decoding on arbitrary bytes (every format ember reads is
 * reachable by its signature). Checks: no crash, leak or undefined behavior; a decoded image
 * has a size within the cap and its hash is a function of its pixels; a crop of it works.
 */
#include "vision/vision.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ember_image *img = NULL;
    if (ember_image_load_memory(data, size, 1u << 20, &img, NULL) != EMBER_OK) {
        if (img) abort();
        return 0;
    }
    int w = ember_image_width(img), h = ember_image_height(img);
    if (w <= 0 || h <= 0 || (size_t)w * (size_t)h > (1u << 20)) abort();
    ember_image *copy = NULL;
    if (ember_image_from_rgb(w, h, ember_image_rgb(img), &copy, NULL) != EMBER_OK) abort();
    if (ember_image_hash(copy) != ember_image_hash(img)) abort();
    ember_image *crop = NULL;
    if (ember_image_crop(img, w / 4, h / 4, w / 4 + (w + 1) / 2, h / 4 + (h + 1) / 2, &crop, NULL) != EMBER_OK) abort();
    ember_image_destroy(crop);
    ember_image_destroy(copy);
    ember_image_destroy(img);
    return 0;
}
