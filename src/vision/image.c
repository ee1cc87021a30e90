/*
 * image.c — ember_image: loading (format detection, then one of the decoders in decode_*.c),
 * the pixel hash, crop, resize and PNG output. Images are immutable and reference-counted
 * (see vision.h); every function here is safe from any thread.
 */
#include "vision/vision.h"
#include "core/error.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_SIDE = 65535 };

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* A 64-bit hash of the size and pixels: 8 bytes at a time, multiply-xorshift mixed. */
static uint64_t pixel_hash(int w, int h, const uint8_t *rgb) {
    uint64_t acc = mix64(((uint64_t)(uint32_t)w << 32) | (uint32_t)h);
    size_t n = (size_t)w * (size_t)h * 3, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, rgb + i, 8);
        acc = (acc ^ word) * 0x9e3779b97f4a7c15ULL;
        acc ^= acc >> 32;
    }
    uint64_t tail = 0;
    for (size_t k = 0; i < n; i++, k++) tail |= (uint64_t)rgb[i] << (8 * k);
    return mix64(acc ^ tail ^ n);
}

ember_image *vision_image_adopt(int width, int height, uint8_t *rgb, const char *format) {
    ember_image *img = calloc(1, sizeof *img);
    if (!img) {
        free(rgb);
        return NULL;
    }
    atomic_init(&img->refs, 1);
    img->width = width;
    img->height = height;
    img->rgb = rgb;
    img->hash = pixel_hash(width, height, rgb);
    snprintf(img->format, sizeof img->format, "%s", format);
    return img;
}

ember_image *vision_image_ref(const ember_image *image) {
    ember_image *img = (ember_image *)image;
    if (img) atomic_fetch_add(&img->refs, 1);
    return img;
}

void vision_image_id(const ember_image *image, char out[17]) {
    snprintf(out, 17, "%016llx", (unsigned long long)image->hash);
}

void ember_image_destroy(ember_image *image) {
    if (!image || atomic_fetch_sub(&image->refs, 1) != 1) return;
    free(image->rgb);
    free(image);
}

int ember_image_width(const ember_image *image) { return image->width; }
int ember_image_height(const ember_image *image) { return image->height; }
const uint8_t *ember_image_rgb(const ember_image *image) { return image->rgb; }
uint64_t ember_image_hash(const ember_image *image) { return image->hash; }
const char *ember_image_format(const ember_image *image) { return image->format; }

ember_status vision_check_size(const char *format, uint64_t w, uint64_t h, size_t max_pixels, ember_error *err) {
    if (w == 0 || h == 0) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt %s image: it has no pixels (%llux%llu)",
                                            format, (unsigned long long)w, (unsigned long long)h);
    if (max_pixels == 0) max_pixels = EMBER_IMAGE_MAX_PIXELS;
    if (w > MAX_SIDE || h > MAX_SIDE || w * h > max_pixels)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED,
                          "the %s image is too large: %llux%llu pixels (at most %zu pixels and %d per side)", format,
                          (unsigned long long)w, (unsigned long long)h, max_pixels, MAX_SIDE);
    return EMBER_OK;
}

uint8_t *vision_rgba_on_white(const uint8_t *rgba, int w, int h) {
    size_t n = (size_t)w * (size_t)h;
    uint8_t *rgb = malloc(n * 3);
    if (!rgb) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned a = rgba[4 * i + 3];
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = (uint8_t)((rgba[4 * i + c] * a + 255 * (255 - a) + 127) / 255);
    }
    return rgb;
}

/* Which decoder: by the file's signature, never by its name. */
static const char *sniff(const uint8_t *d, size_t n) {
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return "png";
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return "jpeg";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return "webp";
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return "gif";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "bmp";
    return NULL;
}

/* Formats ember recognizes but does not decode, for a clearer message than "not an image". */
static const char *known_unsupported(const uint8_t *d, size_t n) {
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0)) return "TIFF";
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        if (memcmp(d + 8, "avif", 4) == 0 || memcmp(d + 8, "avis", 4) == 0) return "AVIF";
        if (memcmp(d + 8, "heic", 4) == 0 || memcmp(d + 8, "heix", 4) == 0 || memcmp(d + 8, "mif1", 4) == 0)
            return "HEIF";
        return "an MP4/QuickTime file";
    }
    if (n >= 4 && memcmp(d, "8BPS", 4) == 0) return "PSD";
    if (n >= 4 && memcmp(d, "\0\0\1\0", 4) == 0) return "ICO";
    if (n >= 12 && memcmp(d, "\0\0\0\x0cjP  ", 8) == 0) return "JPEG 2000";
    if (n >= 2 && d[0] == 0xff && d[1] == 0x0a) return "JPEG XL";
    if (n >= 5 && (memcmp(d, "<?xml", 5) == 0 || memcmp(d, "<svg", 4) == 0)) return "SVG";
    return NULL;
}

ember_status ember_image_load_memory(const void *data, size_t size, size_t max_pixels, ember_image **out,
                                     ember_error *err) {
    *out = NULL;
    if (!data || size == 0) return ember_fail(err, EMBER_ERR_FORMAT, "the image is empty");
    const uint8_t *d = data;
    const char *format = sniff(d, size);
    if (!format) {
        const char *other = known_unsupported(d, size);
        if (other)
            return ember_fail(err, EMBER_ERR_UNSUPPORTED, "%s images are not supported (PNG, JPEG, WebP, GIF, BMP are)",
                              other);
        return ember_fail(err, EMBER_ERR_FORMAT, "not an image ember can read: unknown signature "
                                                 "(PNG, JPEG, WebP, GIF and BMP are supported)");
    }
    int w = 0, h = 0;
    uint8_t *rgb = NULL;
    ember_status status;
    if (strcmp(format, "png") == 0) status = vision_decode_png(d, size, max_pixels, &w, &h, &rgb, err);
    else if (strcmp(format, "jpeg") == 0) status = vision_decode_jpeg(d, size, max_pixels, &w, &h, &rgb, err);
    else if (strcmp(format, "webp") == 0) status = vision_decode_webp(d, size, max_pixels, &w, &h, &rgb, err);
    else if (strcmp(format, "gif") == 0) status = vision_decode_gif(d, size, max_pixels, &w, &h, &rgb, err);
    else status = vision_decode_bmp(d, size, max_pixels, &w, &h, &rgb, err);
    if (status != EMBER_OK) return status;
    *out = vision_image_adopt(w, h, rgb, format);
    return *out ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
}

ember_status ember_image_load_file(const char *path, size_t max_pixels, ember_image **out, ember_error *err) {
    *out = NULL;
    if (!path) return ember_fail(err, EMBER_ERR_INVALID, "no image path");
    FILE *f = fopen(path, "rb");
    if (!f) return ember_fail(err, errno == ENOENT ? EMBER_ERR_NOT_FOUND : EMBER_ERR_IO, "cannot open image '%s': %s",
                              path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ember_fail(err, EMBER_ERR_FORMAT, "'%s' is not a regular file", path);
    }
    /* compressed data is far smaller than pixels: a file above 1 GiB is refused unread */
    if (st.st_size > (1 << 30)) {
        fclose(f);
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "image file '%s' is too large (%lld bytes)", path,
                          (long long)st.st_size);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(f);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory reading '%s'", path);
    }
    size_t got = fread(buf, 1, size, f);
    fclose(f);
    if (got != size) {
        free(buf);
        return ember_fail(err, EMBER_ERR_IO, "cannot read image '%s'", path);
    }
    ember_status status = ember_image_load_memory(buf, size, max_pixels, out, err);
    free(buf);
    if (status != EMBER_OK && err) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        ember_fail(err, status, "%s: %s", path, msg);
    }
    return status;
}

ember_status ember_image_from_rgb(int width, int height, const uint8_t *rgb, ember_image **out, ember_error *err) {
    *out = NULL;
    if (!rgb) return ember_fail(err, EMBER_ERR_INVALID, "no pixels");
    ember_status status = vision_check_size("RGB", (uint64_t)(width > 0 ? width : 0),
                                            (uint64_t)(height > 0 ? height : 0), 0, err);
    if (status != EMBER_OK) return status;
    size_t n = (size_t)width * (size_t)height * 3;
    uint8_t *copy = malloc(n);
    if (!copy) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    memcpy(copy, rgb, n);
    *out = vision_image_adopt(width, height, copy, "rgb");
    return *out ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
}

ember_status ember_image_crop(const ember_image *src, int x0, int y0, int x1, int y1, ember_image **out,
                              ember_error *err) {
    *out = NULL;
    if (x0 < 0 || y0 < 0 || x1 > src->width || y1 > src->height || x0 >= x1 || y0 >= y1)
        return ember_fail(err, EMBER_ERR_INVALID, "crop [%d,%d)-[%d,%d) is not inside the %dx%d image", x0, x1, y0,
                          y1, src->width, src->height);
    int w = x1 - x0, h = y1 - y0;
    uint8_t *rgb = malloc((size_t)w * (size_t)h * 3);
    if (!rgb) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    for (int y = 0; y < h; y++)
        memcpy(rgb + (size_t)y * w * 3, src->rgb + ((size_t)(y0 + y) * src->width + x0) * 3, (size_t)w * 3);
    *out = vision_image_adopt(w, h, rgb, src->format);
    return *out ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
}

/* Bilinear resampling with pixel centers aligned (the usual half-pixel convention). */
ember_status ember_image_resize(const ember_image *src, int w, int h, ember_image **out, ember_error *err) {
    *out = NULL;
    ember_status status = vision_check_size("resized", (uint64_t)(w > 0 ? w : 0), (uint64_t)(h > 0 ? h : 0), 0, err);
    if (status != EMBER_OK) return status;
    uint8_t *rgb = malloc((size_t)w * (size_t)h * 3);
    if (!rgb) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    double sx = (double)src->width / w, sy = (double)src->height / h;
    for (int y = 0; y < h; y++) {
        double fy = (y + 0.5) * sy - 0.5;
        if (fy < 0) fy = 0;
        int y0 = (int)fy;
        if (y0 > src->height - 1) y0 = src->height - 1;
        int y1 = y0 + 1 < src->height ? y0 + 1 : y0;
        double ty = fy - y0;
        for (int x = 0; x < w; x++) {
            double fx = (x + 0.5) * sx - 0.5;
            if (fx < 0) fx = 0;
            int x0 = (int)fx;
            if (x0 > src->width - 1) x0 = src->width - 1;
            int x1 = x0 + 1 < src->width ? x0 + 1 : x0;
            double tx = fx - x0;
            const uint8_t *p00 = src->rgb + ((size_t)y0 * src->width + x0) * 3;
            const uint8_t *p01 = src->rgb + ((size_t)y0 * src->width + x1) * 3;
            const uint8_t *p10 = src->rgb + ((size_t)y1 * src->width + x0) * 3;
            const uint8_t *p11 = src->rgb + ((size_t)y1 * src->width + x1) * 3;
            for (int c = 0; c < 3; c++) {
                double top = p00[c] + (p01[c] - p00[c]) * tx, bottom = p10[c] + (p11[c] - p10[c]) * tx;
                double v = top + (bottom - top) * ty;
                rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)(v + 0.5);
            }
        }
    }
    *out = vision_image_adopt(w, h, rgb, src->format);
    return *out ? EMBER_OK : ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
}

ember_status ember_image_save_png(const ember_image *image, const char *path, ember_error *err) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)image->width;
    png.height = (png_uint_32)image->height;
    png.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&png, path, 0, image->rgb, 0, NULL)) {
        ember_status status = ember_fail(err, EMBER_ERR_IO, "cannot write '%s': %s", path, png.message);
        png_image_free(&png);
        return status;
    }
    return EMBER_OK;
}
