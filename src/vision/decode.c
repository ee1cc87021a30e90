/*
 * decode.c — the image decoders: PNG (libpng's simplified API), JPEG (libjpeg-turbo), WebP
 * (libwebp; the first frame of an animation through libwebpdemux), GIF (giflib; the first
 * frame) and BMP (ember's own reader). Every decoder reads the size from the header and
 * checks it against the pixel cap before allocating, composites transparency onto white,
 * and treats truncated data as an error (never as a partly gray picture).
 */
#include "vision/vision.h"
#include "core/error.h"

#include <stdio.h>  /* before jpeglib.h, which uses FILE */

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

/* ---- PNG --------------------------------------------------------------------------------- */

ember_status vision_decode_png(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h, uint8_t **rgb,
                               ember_error *err) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&png, data, size)) {
        ember_status status = ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated PNG image (%s)", png.message);
        png_image_free(&png);
        return status;
    }
    ember_status status = vision_check_size("PNG", png.width, png.height, max_pixels, err);
    if (status != EMBER_OK) {
        png_image_free(&png);
        return status;
    }
    png.format = PNG_FORMAT_RGB;
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(png));
    if (!buf) {
        png_image_free(&png);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory decoding a PNG image");
    }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&png, &white, buf, 0, NULL)) {
        status = ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated PNG image (%s)", png.message);
        png_image_free(&png);
        free(buf);
        return status;
    }
    *w = (int)png.width;
    *h = (int)png.height;
    *rgb = buf;
    return EMBER_OK;
}

/* ---- JPEG -------------------------------------------------------------------------------- */

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    f->mgr.format_message(cinfo, f->message);
    longjmp(f->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level) {
    if (level < 0) cinfo->err->num_warnings++;  /* corrupt data: counted, judged at the end */
}

/* EXIF orientation (tag 0x0112 of IFD0) from an APP1 "Exif\0\0" payload; 1 when absent. */
static int exif_orientation(const uint8_t *p, size_t n) {
    if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0) return 1;
    p += 6;
    n -= 6;
    bool le = p[0] == 'I' && p[1] == 'I';
    if (!le && !(p[0] == 'M' && p[1] == 'M')) return 1;
#define RD16(q) (le ? (uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 : (uint32_t)(q)[0] << 8 | (uint32_t)(q)[1])
#define RD32(q) (le ? RD16(q) | RD16((q) + 2) << 16 : RD16(q) << 16 | RD16((q) + 2))
    uint32_t ifd = RD32(p + 4);
    if (ifd > n - 2 || ifd < 8) return 1;
    uint32_t count = RD16(p + ifd);
    for (uint32_t i = 0; i < count; i++) {
        size_t at = (size_t)ifd + 2 + (size_t)i * 12;
        if (at + 12 > n) break;
        if (RD16(p + at) == 0x0112) {
            uint32_t v = RD16(p + at + 8);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
#undef RD16
#undef RD32
}

/* Applies an EXIF orientation (2-8) to w x h RGB; swaps w and h for the transposing ones. */
static uint8_t *orient(uint8_t *src, int *w, int *h, int o) {
    if (o <= 1 || o > 8) return src;
    int W = *w, H = *h;
    bool swap = o >= 5;
    int ow = swap ? H : W, oh = swap ? W : H;
    uint8_t *dst = malloc((size_t)W * H * 3);
    if (!dst) return NULL;
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy;  /* the source pixel shown at (x, y) */
            switch (o) {
            case 2: sx = W - 1 - x; sy = y; break;
            case 3: sx = W - 1 - x; sy = H - 1 - y; break;
            case 4: sx = x; sy = H - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = H - 1 - x; break;
            case 7: sx = W - 1 - y; sy = H - 1 - x; break;
            default: sx = W - 1 - y; sy = x; break;  /* 8 */
            }
            memcpy(dst + ((size_t)y * ow + x) * 3, src + ((size_t)sy * W + sx) * 3, 3);
        }
    }
    free(src);
    *w = ow;
    *h = oh;
    return dst;
}

ember_status vision_decode_jpeg(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h, uint8_t **rgb,
                                ember_error *err) {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&failure.mgr);
    failure.mgr.error_exit = jpeg_on_error;
    failure.mgr.emit_message = jpeg_quiet;
    failure.message[0] = '\0';
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile row = NULL;
    if (setjmp(failure.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated JPEG image (%s)", failure.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);  /* EXIF, for the orientation */
    jpeg_read_header(&cinfo, TRUE);
    int orientation = 1;
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && orientation == 1) orientation = exif_orientation(m->data, m->data_length);
    ember_status status = vision_check_size("JPEG", cinfo.image_width, cinfo.image_height, max_pixels, err);
    if (status != EMBER_OK) {
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int width = (int)cinfo.output_width, height = (int)cinfo.output_height, comps = cinfo.output_components;
    pixels = malloc((size_t)width * (size_t)height * 3);
    row = malloc((size_t)width * (size_t)comps);
    if (!pixels || !row) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory decoding a JPEG image");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[1] = {row};
        int y = (int)cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) break;
        uint8_t *dst = pixels + (size_t)y * width * 3;
        for (int x = 0; x < width; x++) {
            if (cmyk) {  /* Adobe writes CMYK inverted: the stored values are 255 - ink */
                unsigned c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                dst[3 * x] = (uint8_t)(c * k / 255);
                dst[3 * x + 1] = (uint8_t)(m * k / 255);
                dst[3 * x + 2] = (uint8_t)(yy * k / 255);
            } else {
                memcpy(dst + 3 * x, row + 3 * x, 3);
            }
        }
    }
    bool complete = cinfo.output_scanline == cinfo.output_height;
    jpeg_finish_decompress(&cinfo);
    long warnings = failure.mgr.num_warnings;
    jpeg_destroy_decompress(&cinfo);
    free(row);
    if (!complete || warnings > 0) {
        free(pixels);
        return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated JPEG image (the data ends early or is damaged)");
    }
    uint8_t *upright = orient(pixels, &width, &height, orientation);  /* as a viewer shows it */
    if (!upright) {
        free(pixels);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory decoding a JPEG image");
    }
    *w = width;
    *h = height;
    *rgb = upright;
    return EMBER_OK;
}

/* ---- WebP -------------------------------------------------------------------------------- */

static ember_status webp_first_frame(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h,
                                     uint8_t **rgb, ember_error *err) {
    WebPAnimDecoderOptions opts;
    if (!WebPAnimDecoderOptionsInit(&opts)) return ember_fail(err, EMBER_ERR_ENGINE, "libwebp version mismatch");
    opts.color_mode = MODE_RGBA;
    opts.use_threads = 0;
    WebPData wd = {.bytes = data, .size = size};
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&wd, &opts);
    if (!dec) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated animated WebP image");
    WebPAnimInfo info;
    ember_status status = EMBER_OK;
    if (!WebPAnimDecoderGetInfo(dec, &info)) status = ember_fail(err, EMBER_ERR_FORMAT, "corrupt animated WebP image");
    if (status == EMBER_OK) status = vision_check_size("WebP", info.canvas_width, info.canvas_height, max_pixels, err);
    uint8_t *frame = NULL;
    int ts = 0;
    if (status == EMBER_OK && !WebPAnimDecoderGetNext(dec, &frame, &ts))
        status = ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated animated WebP image (no first frame)");
    if (status == EMBER_OK) {
        *rgb = vision_rgba_on_white(frame, (int)info.canvas_width, (int)info.canvas_height);
        *w = (int)info.canvas_width;
        *h = (int)info.canvas_height;
        if (!*rgb) status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory decoding a WebP image");
    }
    WebPAnimDecoderDelete(dec);
    return status;
}

ember_status vision_decode_webp(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h, uint8_t **rgb,
                                ember_error *err) {
    WebPBitstreamFeatures f;
    if (WebPGetFeatures(data, size, &f) != VP8_STATUS_OK)
        return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated WebP image");
    if (f.has_animation) return webp_first_frame(data, size, max_pixels, w, h, rgb, err);
    ember_status status = vision_check_size("WebP", (uint64_t)f.width, (uint64_t)f.height, max_pixels, err);
    if (status != EMBER_OK) return status;
    int width = 0, height = 0;
    uint8_t *rgba = WebPDecodeRGBA(data, size, &width, &height);
    if (!rgba) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated WebP image");
    *rgb = vision_rgba_on_white(rgba, width, height);
    WebPFree(rgba);
    if (!*rgb) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory decoding a WebP image");
    *w = width;
    *h = height;
    return EMBER_OK;
}

/* ---- GIF --------------------------------------------------------------------------------- */

typedef struct gif_source {
    const uint8_t *data;
    size_t size;
    size_t pos;
} gif_source;

static int gif_read(GifFileType *gif, GifByteType *buf, int len) {
    gif_source *s = gif->UserData;
    size_t n = len > 0 ? (size_t)len : 0;
    if (n > s->size - s->pos) n = s->size - s->pos;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (int)n;
}

/* Reads the first image of the file onto a white canvas of the screen's size. */
static ember_status gif_first_frame(GifFileType *gif, uint8_t *canvas, ember_error *err) {
    int transparent = -1;
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(gif, &type) == GIF_ERROR) break;
        if (type == EXTENSION_RECORD_TYPE) {
            int code;
            GifByteType *ext = NULL;
            if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR) break;
            if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1)) transparent = ext[4];
            while (ext)
                if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR) return ember_fail(err, EMBER_ERR_FORMAT,
                                                                                    "corrupt or truncated GIF image");
            continue;
        }
        if (type == TERMINATE_RECORD_TYPE) return ember_fail(err, EMBER_ERR_FORMAT, "the GIF image holds no picture");
        if (type != IMAGE_DESC_RECORD_TYPE) continue;
        if (DGifGetImageDesc(gif) == GIF_ERROR) break;
        GifImageDesc *d = &gif->Image;
        ColorMapObject *map = d->ColorMap ? d->ColorMap : gif->SColorMap;
        if (!map || d->Width <= 0 || d->Height <= 0 || d->Width > 65535 || d->Height > 65535)
            return ember_fail(err, EMBER_ERR_FORMAT, "corrupt GIF image (no color table or an empty frame)");
        GifPixelType *line = malloc((size_t)d->Width);
        if (!line) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory decoding a GIF image");
        static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
        int passes = d->Interlace ? 4 : 1;
        for (int p = 0; p < passes; p++) {
            for (int y = d->Interlace ? start[p] : 0; y < d->Height; y += d->Interlace ? step[p] : 1) {
                if (DGifGetLine(gif, line, d->Width) == GIF_ERROR) {
                    free(line);
                    return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated GIF image");
                }
                int cy = d->Top + y;
                if (cy < 0 || cy >= gif->SHeight) continue;
                for (int x = 0; x < d->Width; x++) {
                    int cx = d->Left + x;
                    if (cx < 0 || cx >= gif->SWidth || line[x] == transparent) continue;
                    GifColorType c = line[x] < map->ColorCount ? map->Colors[line[x]] : (GifColorType){0, 0, 0};
                    uint8_t *px = canvas + ((size_t)cy * gif->SWidth + cx) * 3;
                    px[0] = c.Red;
                    px[1] = c.Green;
                    px[2] = c.Blue;
                }
            }
        }
        free(line);
        return EMBER_OK;
    }
    return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated GIF image (%s)", GifErrorString(gif->Error));
}

ember_status vision_decode_gif(const uint8_t *data, size_t size, size_t max_pixels, int *w, int *h, uint8_t **rgb,
                               ember_error *err) {
    gif_source src = {.data = data, .size = size};
    int code = 0;
    GifFileType *gif = DGifOpen(&src, gif_read, &code);
    if (!gif) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated GIF image (%s)", GifErrorString(code));
    ember_status status = vision_check_size("GIF", (uint64_t)(gif->SWidth > 0 ? gif->SWidth : 0),
                                            (uint64_t)(gif->SHeight > 0 ? gif->SHeight : 0), max_pixels, err);
    uint8_t *canvas = NULL;
    if (status == EMBER_OK) {
        size_t n = (size_t)gif->SWidth * (size_t)gif->SHeight * 3;
        canvas = malloc(n);
        if (!canvas) status = ember_fail(err, EMBER_ERR_NOMEM, "out of memory decoding a GIF image");
        else memset(canvas, 255, n);
    }
    if (status == EMBER_OK) status = gif_first_frame(gif, canvas, err);
    if (status == EMBER_OK) {
        *w = gif->SWidth;
        *h = gif->SHeight;
        *rgb = canvas;
    } else {
        free(canvas);
    }
    DGifCloseFile(gif, &code);
    return status;
}

/* ---- BMP --------------------------------------------------------------------------------- */

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

typedef struct bmp_field {
    uint32_t mask;
    int shift;
    uint32_t max;   /* mask >> shift */
} bmp_field;

static bmp_field bmp_field_of(uint32_t mask) {
    bmp_field f = {.mask = mask};
    if (!mask) return f;
    while (!(mask & 1)) {
        mask >>= 1;
        f.shift++;
    }
    f.max = mask;
    return f;
}

static uint8_t bmp_extract(const bmp_field *f, uint32_t v) {
    if (!f->mask) return 0;
    uint64_t x = (v & f->mask) >> f->shift;
    return (uint8_t)(x * 255 / f->max);
}

ember_status vision_decode_bmp(const uint8_t *d, size_t size, size_t max_pixels, int *w, int *h, uint8_t **rgb,
                               ember_error *err) {
    if (size < 26) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated BMP image (no header)");
    uint32_t offset = le32(d + 10), hdr = le32(d + 14);
    if (hdr != 12 && (hdr < 40 || hdr > 1024) ) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt BMP image (header size %u)", hdr);
    if (14 + (size_t)hdr > size) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated BMP image (header)");
    const uint8_t *ih = d + 14;
    int64_t width, height;
    uint32_t bpp, compression = 0, colors_used = 0;
    bool core = hdr == 12;
    if (core) {
        width = le16(ih + 4);
        height = le16(ih + 6);
        bpp = le16(ih + 10);
    } else {
        width = (int32_t)le32(ih + 4);
        height = (int32_t)le32(ih + 8);
        bpp = le16(ih + 14);
        compression = le32(ih + 16);
        colors_used = le32(ih + 32);
    }
    bool top_down = height < 0;
    if (top_down) height = -height;
    if (width <= 0 || height <= 0) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt BMP image (size %lldx%lld)",
                                                     (long long)width, (long long)height);
    if (compression == 1 || compression == 2)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "run-length encoded BMP images are not supported");
    if (compression != 0 && compression != 3 && compression != 6)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED, "BMP compression %u is not supported", compression);
    if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
        return ember_fail(err, EMBER_ERR_FORMAT, "corrupt BMP image (%u bits per pixel)", bpp);
    if (compression != 0 && bpp != 16 && bpp != 32)
        return ember_fail(err, EMBER_ERR_FORMAT, "corrupt BMP image (bit fields with %u bits per pixel)", bpp);
    ember_status status = vision_check_size("BMP", (uint64_t)width, (uint64_t)height, max_pixels, err);
    if (status != EMBER_OK) return status;

    /* masks: in the header from V2 on, else (BI_BITFIELDS with a 40-byte header) right after it */
    size_t table = 14 + (size_t)hdr;
    uint32_t rm, gm, bm;
    if (compression == 0) {
        if (bpp == 16) rm = 0x7c00, gm = 0x03e0, bm = 0x001f;
        else rm = 0x00ff0000, gm = 0x0000ff00, bm = 0x000000ff;
    } else {
        const uint8_t *m = ih + 40;
        if (hdr < 52) {
            size_t n_masks = compression == 6 ? 4 : 3;
            if (table + 4 * n_masks > size) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated BMP image (bit fields)");
            m = d + table;
            table += 4 * n_masks;
        }
        rm = le32(m);
        gm = le32(m + 4);
        bm = le32(m + 8);
    }
    bmp_field fr = bmp_field_of(rm), fg = bmp_field_of(gm), fb = bmp_field_of(bm);

    uint8_t palette[256][3];
    memset(palette, 0, sizeof palette);
    if (bpp <= 8) {
        size_t entry = core ? 3 : 4;
        size_t n = colors_used ? colors_used : (size_t)1 << bpp;
        if (n > 256) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt BMP image (%zu palette colors)", n);
        if (table + n * entry > size) return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated BMP image (palette)");
        for (size_t i = 0; i < n; i++) {
            const uint8_t *e = d + table + i * entry;
            palette[i][0] = e[2];
            palette[i][1] = e[1];
            palette[i][2] = e[0];
        }
    }
    uint64_t stride = ((uint64_t)width * bpp + 31) / 32 * 4;
    if (offset > size || stride * (uint64_t)height > size - offset)
        return ember_fail(err, EMBER_ERR_FORMAT, "corrupt or truncated BMP image (pixel data ends early)");

    uint8_t *out = malloc((size_t)width * (size_t)height * 3);
    if (!out) return ember_fail(err, EMBER_ERR_NOMEM, "out of memory decoding a BMP image");
    for (int64_t y = 0; y < height; y++) {
        const uint8_t *row = d + offset + stride * (uint64_t)(top_down ? y : height - 1 - y);
        uint8_t *dst = out + (size_t)y * (size_t)width * 3;
        for (int64_t x = 0; x < width; x++, dst += 3) {
            if (bpp <= 8) {
                uint64_t bit = (uint64_t)x * bpp;
                unsigned idx = (row[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
                memcpy(dst, palette[idx], 3);
            } else if (bpp == 24) {
                dst[0] = row[3 * x + 2];
                dst[1] = row[3 * x + 1];
                dst[2] = row[3 * x];
            } else {
                uint32_t v = bpp == 16 ? le16(row + 2 * x) : le32(row + 4 * x);
                dst[0] = bmp_extract(&fr, v);
                dst[1] = bmp_extract(&fg, v);
                dst[2] = bmp_extract(&fb, v);
            }
        }
    }
    *w = (int)width;
    *h = (int)height;
    *rgb = out;
    return EMBER_OK;
}
