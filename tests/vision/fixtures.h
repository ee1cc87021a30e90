/*
 * fixtures.h — images the vision tests make themselves: a picture with known colored
 * regions, written as PNG (libpng), JPEG (libjpeg), WebP (libwebp), GIF (giflib) and BMP
 * (hand-built bytes), into memory or a temporary file.
 */
#ifndef EMBER_TEST_VISION_FIXTURES_H
#define EMBER_TEST_VISION_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

typedef struct fx_bytes {
    uint8_t *data;   /* malloc'd */
    size_t size;
} fx_bytes;

/* The test picture (w x h RGB, malloc'd): the left half red (255,0,0), the right half blue
 * (0,0,255), and a green (0,255,0) square covering x in [w*5/8, w*7/8), y in [h/8, h*3/8). */
uint8_t *fx_picture(int w, int h);

fx_bytes fx_png(const uint8_t *rgb, int w, int h);
fx_bytes fx_jpeg(const uint8_t *rgb, int w, int h, int quality);
/* With an EXIF orientation tag (1-8) in APP1, as cameras write it. */
fx_bytes fx_jpeg_exif(const uint8_t *rgb, int w, int h, int quality, int orientation);
fx_bytes fx_webp(const uint8_t *rgb, int w, int h);          /* lossless */
fx_bytes fx_gif(const uint8_t *rgb, int w, int h);           /* palette of the picture's colors */
fx_bytes fx_bmp(const uint8_t *rgb, int w, int h, int bpp);  /* 24 or 32 bits, bottom-up */
/* Writes bytes to a fresh file under /tmp with the given suffix; returns a static path (slot 0..7). */
const char *fx_write(fx_bytes b, const char *suffix, int slot);

#endif
