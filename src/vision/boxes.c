/*
 * boxes.c — bounding boxes written by a model, read into ember_box values.
 *
 * Two notations are recognized anywhere in the text:
 *
 *   1. ember's tag:   <box>x1,y1,x2,y2</box>, optionally <box label="cat" image="2">…</box>,
 *      optionally preceded by <ref>cat</ref> (Qwen-VL's grounding tag); the numbers may be
 *      separated by commas or spaces and wrapped in () or [] ("(10,20),(30,40)" works).
 *   2. Qwen-VL's JSON: {"bbox_2d": [x1, y1, x2, y2], "label": "cat"} (inside code fences or
 *      arrays; "image" may name the picture, 1 = the first).
 *
 * Coordinates: when all four are within 0..1 they are fractions of the image; otherwise tag
 * values are pixels, and bbox_2d values are pixels or, with per_mille, Qwen3-VL's 0..1000
 * grid. Boxes are clamped to the image and their corners ordered; boxes without area, with
 * non-finite numbers, or naming an image that does not exist are skipped.
 */
#include "vision/vision.h"
#include "core/error.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct box_list {
    ember_box *items;
    size_t n, cap;
    bool oom;
} box_list;

/* Reads up to 4 numbers, skipping separators and brackets; returns how many. */
static int read_numbers(const char *p, const char *end, double v[4]) {
    int n = 0;
    while (p < end && n < 4) {
        if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+' || *p == '.') && p + 1 < end &&
                                           (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
            char buf[64];
            size_t len = 0;
            while (p < end && len < sizeof buf - 1 && (isdigit((unsigned char)*p) || strchr("+-.eE", *p)))
                buf[len++] = *p++;
            buf[len] = '\0';
            char *stop;
            double x = strtod(buf, &stop);
            if (stop == buf) return n;
            v[n++] = x;
        } else if (strchr(" \t\r\n,;()[]", *p)) {
            p++;
        } else {
            return n;
        }
    }
    return n;
}

static void add_box(box_list *list, const char *label, size_t label_len, int image, const double v[4], double scale,
                    const ember_image *const *images, int n_images) {
    if (image < 0 || image >= n_images || !images[image]) return;
    for (int i = 0; i < 4; i++)
        if (!isfinite(v[i])) return;
    const ember_image *img = images[image];
    double W = img->width, H = img->height;
    bool fractions = v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0 && v[0] <= 1 && v[1] <= 1 && v[2] <= 1 &&
                     v[3] <= 1;
    double sx = fractions ? W : scale > 0 ? W / scale : 1, sy = fractions ? H : scale > 0 ? H / scale : 1;
    double x1 = fmin(v[0], v[2]) * sx, x2 = fmax(v[0], v[2]) * sx;
    double y1 = fmin(v[1], v[3]) * sy, y2 = fmax(v[1], v[3]) * sy;
    x1 = fmin(fmax(x1, 0), W);
    x2 = fmin(fmax(x2, 0), W);
    y1 = fmin(fmax(y1, 0), H);
    y2 = fmin(fmax(y2, 0), H);
    if (x2 - x1 <= 0 || y2 - y1 <= 0) return;
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        ember_box *items = realloc(list->items, cap * sizeof *items);
        if (!items) {
            list->oom = true;
            return;
        }
        list->items = items;
        list->cap = cap;
    }
    ember_box *b = &list->items[list->n++];
    memset(b, 0, sizeof *b);
    b->image = image;
    if (label_len >= sizeof b->label) label_len = sizeof b->label - 1;
    memcpy(b->label, label ? label : "", label ? label_len : 0);
    b->label[label ? label_len : 0] = '\0';
    b->x1 = x1;
    b->y1 = y1;
    b->x2 = x2;
    b->y2 = y2;
    b->nx1 = x1 / W;
    b->ny1 = y1 / H;
    b->nx2 = x2 / W;
    b->ny2 = y2 / H;
}

/* Value of attribute `name` in the tag [p, end), e.g. label="cat" or image=2. */
static bool tag_attr(const char *p, const char *end, const char *name, const char **val, size_t *len) {
    size_t n = strlen(name);
    for (; p + n < end; p++) {
        if (strncmp(p, name, n) != 0 || p[n] != '=' || (p[-1] != ' ' && p[-1] != '\t')) continue;
        const char *v = p + n + 1;
        if (v < end && (*v == '"' || *v == '\'')) {
            char quote = *v++;
            const char *close = memchr(v, quote, (size_t)(end - v));
            if (!close) return false;
            *val = v;
            *len = (size_t)(close - v);
        } else {
            const char *stop = v;
            while (stop < end && *stop != ' ' && *stop != '>') stop++;
            *val = v;
            *len = (size_t)(stop - v);
        }
        return true;
    }
    return false;
}

/* 1-based image number in text → 0-based index (0 also means the first image). */
static int image_index(const char *v, size_t len) {
    char buf[16];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, v, len);
    buf[len] = '\0';
    long n = strtol(buf, NULL, 10);
    return n <= 1 ? 0 : (int)(n > 1000000 ? 1000000 : n - 1);
}

static void parse_tags(const char *text, box_list *list, const ember_image *const *images, int n_images) {
    const char *p = text;
    while ((p = strstr(p, "<box"))) {
        const char *tag_end = strchr(p, '>');
        if (!tag_end) break;
        if (p[4] != '>' && p[4] != ' ') {
            p += 4;
            continue;
        }
        const char *body = tag_end + 1, *close = strstr(body, "</box>");
        if (!close) break;
        const char *label = NULL, *img = NULL;
        size_t label_len = 0, img_len = 0;
        tag_attr(p + 4, tag_end, "label", &label, &label_len);
        int image = tag_attr(p + 4, tag_end, "image", &img, &img_len) ? image_index(img, img_len) : 0;
        if (!label) {  /* <ref>label</ref> right before the box */
            const char *ref_end = p;
            while (ref_end > text && isspace((unsigned char)ref_end[-1])) ref_end--;
            if (ref_end - text >= 6 && strncmp(ref_end - 6, "</ref>", 6) == 0) {
                const char *r = ref_end - 6, *open = r;
                while (open > text && strncmp(open, "<ref>", 5) != 0) open--;
                if (strncmp(open, "<ref>", 5) == 0) {
                    label = open + 5;
                    label_len = (size_t)(r - label);
                }
            }
        }
        double v[4];
        if (read_numbers(body, close, v) == 4) add_box(list, label, label_len, image, v, 0, images, n_images);
        p = close + 6;
    }
}

/* The JSON object around each "bbox_2d": scan back for its '{', then parse to the matching '}'. */
static void parse_json(const char *text, box_list *list, const ember_image *const *images, int n_images,
                       bool per_mille) {
    const char *p = text;
    while ((p = strstr(p, "\"bbox_2d\""))) {
        const char *open = p;
        int depth = 0;
        while (open > text) {
            open--;
            if (*open == '}') depth++;
            else if (*open == '{' && depth-- == 0) break;
        }
        p += 9;
        if (*open != '{') continue;
        json_error_t jerr;
        json_t *obj = json_loadb(open, strlen(open), JSON_DISABLE_EOF_CHECK, &jerr);
        json_t *arr = json_object_get(obj, "bbox_2d");
        if (json_is_array(arr) && json_array_size(arr) == 4) {
            double v[4];
            bool ok = true;
            for (size_t i = 0; i < 4; i++) {
                json_t *x = json_array_get(arr, i);
                ok = ok && json_is_number(x);
                v[i] = ok ? json_number_value(x) : 0;
            }
            const char *label = json_string_value(json_object_get(obj, "label"));
            json_t *img = json_object_get(obj, "image");
            int image = json_is_integer(img) && json_integer_value(img) > 1
                            ? (int)(json_integer_value(img) > 1000000 ? 1000000 : json_integer_value(img) - 1)
                            : 0;
            if (ok) add_box(list, label, label ? strlen(label) : 0, image, v, per_mille ? 1000 : 0, images, n_images);
        }
        json_decref(obj);
    }
}

ember_status ember_boxes_parse(const char *text, const ember_image *const *images, int n_images, bool per_mille,
                               ember_box **boxes, size_t *count, ember_error *err) {
    *boxes = NULL;
    *count = 0;
    if (!text || n_images <= 0 || !images) return EMBER_OK;
    box_list list = {0};
    parse_tags(text, &list, images, n_images);
    parse_json(text, &list, images, n_images, per_mille);
    if (list.oom) {
        free(list.items);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory reading boxes");
    }
    *boxes = list.items;
    *count = list.n;
    return EMBER_OK;
}
