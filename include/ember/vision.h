/*
 * ember/vision.h — images: decoding, pixels, crops, and the boxes a model draws on them.
 *
 * Threads: an ember_image is immutable once made, so any thread may read it; its reference count
 * is atomic, so references may be dropped from any thread. Box parsing and drawing keep no state.
 */
#ifndef EMBER_PUBLIC_VISION_H
#define EMBER_PUBLIC_VISION_H

#include "ember/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Images                                                                                    */
/*
 * An ember_image is a decoded picture: 8-bit RGB pixels, rows top to bottom, and a 64-bit
 * hash of size and pixels (equal pictures have equal hashes; the engine keys its caches on
 * it). Images are immutable and reference-counted: a chat, a queued sequence input and a run
 * result may hold the same one; ember_image_destroy drops the caller's reference.
 *
 * Loading recognizes the format by its signature: PNG, JPEG (also CMYK), WebP (the first
 * frame of an animation), GIF (the first frame), BMP (uncompressed or bit fields, 1-32 bits).
 * Transparency is blended onto white. Corrupt or truncated data fails with
 * EMBER_ERR_FORMAT; other formats (TIFF, HEIF, AVIF, RLE BMP …) and images above the pixel
 * cap fail with EMBER_ERR_UNSUPPORTED, before any pixel memory is allocated.
 */
typedef struct ember_image ember_image;

#define EMBER_IMAGE_MAX_PIXELS ((size_t)64 * 1024 * 1024)  /* the default cap: 64 Mpx */
/* Where an image goes in message text and in a sequence's prompt (mtmd's media marker). */
#define EMBER_IMAGE_MARKER "<__media__>"

/* max_pixels 0 = EMBER_IMAGE_MAX_PIXELS. Errors name the file. */
EMBER_API ember_status ember_image_load_file(const char *path, size_t max_pixels, ember_image **image,
                                             ember_error *err);
EMBER_API ember_status ember_image_load_memory(const void *data, size_t size, size_t max_pixels,
                                               ember_image **image, ember_error *err);
/* An image from width * height * 3 bytes of RGB (copied). */
EMBER_API ember_status ember_image_from_rgb(int width, int height, const uint8_t *rgb, ember_image **image,
                                            ember_error *err);
EMBER_API void ember_image_destroy(ember_image *image);
EMBER_API int ember_image_width(const ember_image *image);
EMBER_API int ember_image_height(const ember_image *image);
EMBER_API const uint8_t *ember_image_rgb(const ember_image *image);
EMBER_API uint64_t ember_image_hash(const ember_image *image);
/* "png", "jpeg", "webp", "gif", "bmp", or "rgb" for images made from pixels. */
EMBER_API const char *ember_image_format(const ember_image *image);
/* The pixels [x0, x1) x [y0, y1) as a new image (EMBER_ERR_INVALID when not inside). */
EMBER_API ember_status ember_image_crop(const ember_image *image, int x0, int y0, int x1, int y1,
                                        ember_image **crop, ember_error *err);
/* Bilinear resampling to width x height. */
EMBER_API ember_status ember_image_resize(const ember_image *image, int width, int height,
                                          ember_image **resized, ember_error *err);
EMBER_API ember_status ember_image_save_png(const ember_image *image, const char *path, ember_error *err);

/* A box the model drew: see ember_boxes_parse. */
typedef struct ember_box {
    int image;                    /* 0-based index into the conversation's images */
    char label[128];              /* "" when the model gave none */
    double x1, y1, x2, y2;        /* pixels of that image; x1 < x2, y1 < y2, inside it */
    double nx1, ny1, nx2, ny2;    /* the same as fractions of its width and height */
} ember_box;

/* Reads the boxes in model text. Notations: <box>x1,y1,x2,y2</box> with optional attributes
 * label="…" and image="N" (N = 1 is the first image), optionally after <ref>label</ref>;
 * numbers may sit in () or []; and Qwen-VL's JSON {"bbox_2d": [x1,y1,x2,y2], "label": "…"}.
 * Four values within 0..1 are fractions of the image; otherwise pixels, except bbox_2d
 * values when per_mille (Qwen3-VL's 0..1000 grid). Boxes are clamped to their image; empty
 * ones and ones naming a missing image are skipped. *boxes is the caller's to free(). */
EMBER_API ember_status ember_boxes_parse(const char *text, const ember_image *const *images, int n_images,
                                         bool per_mille, ember_box **boxes, size_t *count,
                                         ember_error *err);
/* A copy of the image with the boxes outlined and labelled. */
EMBER_API ember_status ember_image_draw_boxes(const ember_image *image, const ember_box *boxes, size_t n,
                                              ember_image **drawn, ember_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_PUBLIC_VISION_H */
