/* zoom.h — the run's built-in zoom tool (see zoom.c). */
#ifndef EMBER_AGENT_ZOOM_H
#define EMBER_AGENT_ZOOM_H

#include "ember.h"

/* The tool's definition, an OpenAI-style JSON object. */
extern const char ZOOM_TOOL_JSON[];

typedef struct zoom_outcome {
    ember_image *crop;      /* the crop as shown (scaled up when small); owned */
    int image;              /* 0-based */
    double x1, y1, x2, y2;  /* the cropped pixels of the original */
    int tokens;             /* image tokens the crop takes */
    char *text;             /* the tool result for the model: a line and EMBER_IMAGE_MARKER */
} zoom_outcome;

/* Crops as the arguments say. Fails with EMBER_ERR_INVALID (the message is for the model)
 * for bad arguments; *out is empty then. */
ember_status zoom_execute(ember_engine *engine, const ember_image *const *images, int n_images,
                          const char *arguments, zoom_outcome *out, ember_error *err);
void zoom_outcome_free(zoom_outcome *z);

#endif
