/* fixtures.c — see fixtures.h. */
#include "fixtures.h"

#include <stdbool.h>
#include <stdio.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <webp/encode.h>

uint8_t *fx_picture(int w, int h) {
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            bool green = x >= w * 5 / 8 && x < w * 7 / 8 && y >= h / 8 && y < h * 3 / 8;
            p[0] = green ? 0 : x < w / 2 ? 255 : 0;
            p[1] = green ? 255 : 0;
            p[2] = green ? 0 : x < w / 2 ? 0 : 255;
        }
    }
    return rgb;
}

fx_bytes fx_png(const uint8_t *rgb, int w, int h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGB;
    png_alloc_size_t size = 0;
    png_image_write_to_memory(&img, NULL, &size, 0, rgb, 0, NULL);
    fx_bytes b = {malloc(size), size};
    png_image_write_to_memory(&img, b.data, &size, 0, rgb, 0, NULL);
    b.size = size;
    return b;
}

fx_bytes fx_jpeg(const uint8_t *rgb, int w, int h, int quality) { return fx_jpeg_exif(rgb, w, h, quality, 0); }

fx_bytes fx_jpeg_exif(const uint8_t *rgb, int w, int h, int quality, int orientation) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &out, &size);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (orientation > 0) {  /* APP1: "Exif\0\0", little-endian TIFF header, IFD0 with tag 0x0112 */
        static const uint8_t head[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 0x2a, 0, 8, 0, 0, 0, 1, 0,
                                       0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        uint8_t exif[sizeof head];
        memcpy(exif, head, sizeof head);
        exif[24] = (uint8_t)orientation;  /* the entry's value field */
        jpeg_write_marker(&c, JPEG_APP0 + 1, exif, sizeof exif);
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fx_bytes b = {malloc(size), size};
    memcpy(b.data, out, size);
    free(out);
    return b;
}

fx_bytes fx_webp(const uint8_t *rgb, int w, int h) {
    uint8_t *out = NULL;
    size_t size = WebPEncodeLosslessRGB(rgb, w, h, w * 3, &out);
    fx_bytes b = {malloc(size), size};
    memcpy(b.data, out, size);
    WebPFree(out);
    return b;
}

typedef struct gif_sink {
    fx_bytes *b;
    size_t cap;
} gif_sink;

static int gif_write(GifFileType *gif, const GifByteType *buf, int len) {
    gif_sink *s = gif->UserData;
    if (s->b->size + (size_t)len > s->cap) {
        while (s->b->size + (size_t)len > s->cap) s->cap = s->cap ? s->cap * 2 : 4096;
        s->b->data = realloc(s->b->data, s->cap);
    }
    memcpy(s->b->data + s->b->size, buf, (size_t)len);
    s->b->size += (size_t)len;
    return len;
}

fx_bytes fx_gif(const uint8_t *rgb, int w, int h) {
    fx_bytes b = {0};
    gif_sink sink = {&b, 0};
    int err = 0;
    GifFileType *gif = EGifOpen(&sink, gif_write, &err);
    GifColorType colors[256];
    int n = 0;
    GifPixelType *pixels = malloc((size_t)w * h);
    for (int i = 0; i < w * h; i++) {
        const uint8_t *p = rgb + (size_t)i * 3;
        int k = 0;
        while (k < n && !(colors[k].Red == p[0] && colors[k].Green == p[1] && colors[k].Blue == p[2])) k++;
        if (k == n && n < 256) colors[n++] = (GifColorType){p[0], p[1], p[2]};
        pixels[i] = (GifPixelType)(k < n ? k : 0);
    }
    while (n < 4 || (n & (n - 1))) colors[n++] = (GifColorType){0, 0, 0};  /* a power of two */
    ColorMapObject *map = GifMakeMapObject(n, colors);
    EGifSetGifVersion(gif, true);
    EGifPutScreenDesc(gif, w, h, 8, 0, map);
    EGifPutImageDesc(gif, 0, 0, w, h, false, NULL);
    for (int y = 0; y < h; y++) EGifPutLine(gif, pixels + (size_t)y * w, w);
    EGifCloseFile(gif, &err);
    GifFreeMapObject(map);
    free(pixels);
    return b;
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, unsigned v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

fx_bytes fx_bmp(const uint8_t *rgb, int w, int h, int bpp) {
    size_t stride = ((size_t)w * bpp + 31) / 32 * 4, size = 54 + stride * h;
    fx_bytes b = {calloc(1, size), size};
    uint8_t *d = b.data;
    d[0] = 'B';
    d[1] = 'M';
    put32(d + 2, (unsigned)size);
    put32(d + 10, 54);
    put32(d + 14, 40);
    put32(d + 18, (unsigned)w);
    put32(d + 22, (unsigned)h);
    put16(d + 26, 1);
    put16(d + 28, (unsigned)bpp);
    for (int y = 0; y < h; y++) {
        uint8_t *row = d + 54 + stride * (size_t)(h - 1 - y);
        for (int x = 0; x < w; x++) {
            const uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            uint8_t *q = row + (size_t)x * (bpp / 8);
            q[0] = p[2];
            q[1] = p[1];
            q[2] = p[0];
        }
    }
    return b;
}

const char *fx_write(fx_bytes b, const char *suffix, int slot) {
    static char paths[8][64];
    char *path = paths[slot & 7];
    snprintf(path, sizeof paths[0], "/tmp/ember-vision-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    if (fd < 0) return NULL;
    if (write(fd, b.data, b.size) != (ssize_t)b.size) path[0] = '\0';
    close(fd);
    return path;
}
