/*
 * zoom.c — the run's built-in `zoom` tool (visual chain of thought): the model names an
 * image of the conversation and a box; the run crops the ORIGINAL pixels, scales a small
 * crop up to the projector's nominal input size (so the detail gets the encoder's full
 * resolution), and shows it back as a tool result holding the image. Offered when the
 * conversation has images and the engine has vision; handled by the run, not the registry.
 *
 * Arguments: {"image": N (1 = the first image; default 1), "box": [x1, y1, x2, y2]}; the box
 * is fractions of the image when all four are within 0..1, else pixels. "bbox_2d", or keys
 * x1/y1/x2/y2, are accepted for the box too.
 */
#include "agent/zoom.h"
#include "core/error.h"
#include "vision/vision.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ZOOM_TOOL_JSON[] =
    "{\"type\": \"function\", \"function\": {\"name\": \"zoom\", \"description\": \"Look closer at a region of an "
    "image: crops it from the original picture and shows it to you enlarged. Use it while reasoning when a detail is "
    "too small to read or see.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"image\": {\"type\": "
    "\"integer\", \"description\": \"which image: 1 is the first of the conversation\"}, \"box\": {\"type\": "
    "\"array\", \"items\": {\"type\": \"number\"}, \"description\": \"[x1, y1, x2, y2]: the region, as fractions of "
    "the width and height (0 to 1) or in pixels\"}}, \"required\": [\"box\"]}}}";

enum { MIN_SIDE = 8 };

void zoom_outcome_free(zoom_outcome *z) {
    ember_image_destroy(z->crop);
    free(z->text);
    memset(z, 0, sizeof *z);
}

static bool read_box(json_t *args, double v[4]) {
    json_t *box = json_object_get(args, "box");
    if (!box) box = json_object_get(args, "bbox_2d");
    if (!box) box = json_object_get(args, "bbox");
    json_t *parsed = NULL;
    if (json_is_string(box)) box = parsed = json_loads(json_string_value(box), JSON_DECODE_ANY, NULL);
    bool ok = false;
    if (json_is_array(box) && json_array_size(box) == 4) {
        ok = true;
        for (size_t i = 0; i < 4; i++) {
            json_t *x = json_array_get(box, i);
            ok = ok && json_is_number(x);
            v[i] = ok ? json_number_value(x) : 0;
        }
    } else if (!box) {
        static const char *const keys[] = {"x1", "y1", "x2", "y2"};
        ok = true;
        for (int i = 0; i < 4; i++) {
            json_t *x = json_object_get(args, keys[i]);
            ok = ok && json_is_number(x);
            v[i] = ok ? json_number_value(x) : 0;
        }
    }
    json_decref(parsed);
    for (int i = 0; ok && i < 4; i++) ok = isfinite(v[i]);
    return ok;
}

ember_status zoom_execute(ember_engine *engine, const ember_image *const *images, int n_images,
                          const char *arguments, zoom_outcome *out, ember_error *err) {
    memset(out, 0, sizeof *out);
    json_t *args = json_loads(arguments && arguments[0] ? arguments : "{}", 0, NULL);
    ember_status status = EMBER_OK;
    double v[4];
    json_t *img = json_object_get(args, "image");
    if (json_is_string(img)) {
        char *end;
        long n = strtol(json_string_value(img), &end, 10);
        img = *end ? NULL : json_integer(n);
        if (img) json_object_set_new(args, "image", img);
    }
    long index = json_is_integer(img) ? (long)json_integer_value(img) : 1;
    if (index == 0) index = 1;
    if (!json_is_object(args))
        status = ember_fail(err, EMBER_ERR_INVALID, "zoom takes a JSON object: {\"image\": 1, \"box\": [x1, y1, x2, y2]}");
    else if (index < 1 || index > n_images)
        status = ember_fail(err, EMBER_ERR_INVALID, "zoom: there is no image %ld (the conversation has %d)", index,
                            n_images);
    else if (!read_box(args, v))
        status = ember_fail(err, EMBER_ERR_INVALID, "zoom: \"box\" must be four numbers [x1, y1, x2, y2]");
    json_decref(args);
    if (status != EMBER_OK) return status;

    const ember_image *src = images[index - 1];
    double W = src->width, H = src->height;
    bool fractions = v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0 && v[0] <= 1 && v[1] <= 1 && v[2] <= 1 && v[3] <= 1;
    double sx = fractions ? W : 1, sy = fractions ? H : 1;
    double x1 = fmax(0, fmin(v[0], v[2]) * sx), x2 = fmin(W, fmax(v[0], v[2]) * sx);
    double y1 = fmax(0, fmin(v[1], v[3]) * sy), y2 = fmin(H, fmax(v[1], v[3]) * sy);
    if (x2 <= x1 || y2 <= y1)
        return ember_fail(err, EMBER_ERR_INVALID, "zoom: the box [%g, %g, %g, %g] holds no part of the %dx%d image", v[0],
                          v[1], v[2], v[3], src->width, src->height);
    int px0 = (int)floor(x1), py0 = (int)floor(y1), px1 = (int)ceil(x2), py1 = (int)ceil(y2);
    /* at least MIN_SIDE pixels a side (centered, inside the image) */
    int min_w = src->width < MIN_SIDE ? src->width : MIN_SIDE, min_h = src->height < MIN_SIDE ? src->height : MIN_SIDE;
    if (px1 - px0 < min_w) {
        px0 = (px0 + px1 - min_w) / 2;
        if (px0 < 0) px0 = 0;
        if (px0 + min_w > src->width) px0 = src->width - min_w;
        px1 = px0 + min_w;
    }
    if (py1 - py0 < min_h) {
        py0 = (py0 + py1 - min_h) / 2;
        if (py0 < 0) py0 = 0;
        if (py0 + min_h > src->height) py0 = src->height - min_h;
        py1 = py0 + min_h;
    }
    ember_image *crop = NULL;
    status = ember_image_crop(src, px0, py0, px1, py1, &crop, err);
    if (status != EMBER_OK) return status;
    int target = ember_engine_image_size(engine);
    int w = px1 - px0, h = py1 - py0, longest = w > h ? w : h;
    if (target > 0 && longest < target) {
        double scale = (double)target / longest;
        int nw = (int)lround(w * scale), nh = (int)lround(h * scale);
        ember_image *big = NULL;
        status = ember_image_resize(crop, nw > 0 ? nw : 1, nh > 0 ? nh : 1, &big, err);
        ember_image_destroy(crop);
        if (status != EMBER_OK) return status;
        crop = big;
    }
    out->crop = crop;
    out->image = (int)index - 1;
    out->x1 = px0;
    out->y1 = py0;
    out->x2 = px1;
    out->y2 = py1;
    out->tokens = ember_engine_image_tokens(engine, crop);
    char text[512];
    snprintf(text, sizeof text,
             "Zoomed into image %ld at [%d, %d, %d, %d] (pixels of the %dx%d original); the region, shown at %dx%d:\n%s",
             index, px0, py0, px1, py1, src->width, src->height, crop->width, crop->height, EMBER_IMAGE_MARKER);
    out->text = strdup(text);
    if (!out->text) {
        zoom_outcome_free(out);
        return ember_fail(err, EMBER_ERR_NOMEM, "out of memory");
    }
    return EMBER_OK;
}
