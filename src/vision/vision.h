/*
 * vision.h — images inside libember (internal): the ember_image object, its decoders, and
 * pixel operations. Public functions are declared in ember.h; this header adds what the
 * engine, chat and agent layers share.
 *
 * An ember_image is immutable once made and reference-counted: a chat, a run result and a
 * queued sequence input may all hold the same image; ember_image_destroy drops one
 * reference. Pixels are 8-bit RGB, rows top to bottom, no padding.
 */
#ifndef EMBER_VISION_H
#define EMBER_VISION_H

#include "ember.h"

#include <stdatomic.h>

struct ember_image {
    atomic_int refs;       /* owners; the image is freed when the last one lets go */
    int width;             /* pixels */
    int height;
    uint8_t *rgb;          /* width * height * 3 bytes */
    uint64_t hash;         /* of the size and the pixels: equal images, equal hash */
    char format[8];        /* "png", "jpeg", "webp", "gif", "bmp", or "rgb" (made in memory) */
};

/* Takes one more reference; returns the image. */
ember_image *vision_image_ref(const ember_image *image);
/* A new image that owns `rgb` (malloc'd, width * height * 3 bytes); computes the hash.
 * Frees rgb and returns NULL when out of memory. */
ember_image *vision_image_adopt(int width, int height, uint8_t *rgb, const char *format);
/* The hash as 16 lowercase hex digits (the id given to mtmd for its bitmap). */
void vision_image_id(const ember_image *image, char out[17]);

/* Decoders: bytes → malloc'd RGB. Each checks the size in the header against max_pixels
 * before allocating, and fails with EMBER_ERR_FORMAT (corrupt, truncated) or
 * EMBER_ERR_UNSUPPORTED (a variant ember does not decode, too many pixels). */
ember_status vision_decode_png(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h,
                               uint8_t **rgb, ember_error *err);
ember_status vision_decode_jpeg(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h,
                                uint8_t **rgb, ember_error *err);
ember_status vision_decode_webp(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h,
                                uint8_t **rgb, ember_error *err);
ember_status vision_decode_gif(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h,
                               uint8_t **rgb, ember_error *err);
ember_status vision_decode_bmp(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h,
                               uint8_t **rgb, ember_error *err);
/* Fails with EMBER_ERR_UNSUPPORTED when w * h exceeds max_pixels or a side exceeds 65535. */
ember_status vision_check_size(const char *format, uint64_t w, uint64_t h, size_t max_pixels, ember_error *err);
/* Blends an RGBA buffer onto white into a new RGB buffer (NULL when out of memory). */
uint8_t *vision_rgba_on_white(const uint8_t *rgba, int w, int h);

#endif
