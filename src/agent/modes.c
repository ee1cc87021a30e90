/* modes.c — names of modes, reasoning strengths and synthesis policies, and run parameter
 * defaults. */
#include "ember.h"

#include <string.h>

static const char *const mode_names[] = {"instant", "thinking", "contemplating"};
static const char *const reasoning_names[] = {"low", "medium", "high", "xhigh"};
static const char *const synthesis_names[] = {"disputed", "always", "never"};

/* Index of text in names, or -1. */
static int name_index(const char *text, const char *const *names, int n) {
    for (int i = 0; text && i < n; i++)
        if (strcmp(text, names[i]) == 0) return i;
    return -1;
}

const char *ember_mode_name(ember_mode mode) {
    return (unsigned)mode < 3 ? mode_names[mode] : "unknown";
}

const char *ember_reasoning_name(ember_reasoning r) {
    return (unsigned)r < 4 ? reasoning_names[r] : "unknown";
}

bool ember_mode_parse(const char *text, ember_mode *mode) {
    int i = name_index(text, mode_names, 3);
    if (i >= 0) *mode = (ember_mode)i;
    return i >= 0;
}

bool ember_reasoning_parse(const char *text, ember_reasoning *r) {
    int i = name_index(text, reasoning_names, 4);
    if (i >= 0) *r = (ember_reasoning)i;
    return i >= 0;
}

bool ember_synthesis_parse(const char *text, ember_synthesis *s) {
    int i = name_index(text, synthesis_names, 3);
    if (i >= 0) *s = (ember_synthesis)i;
    return i >= 0;
}

void ember_run_params_init(ember_run_params *p) {
    memset(p, 0, sizeof *p);
    p->mode = EMBER_MODE_THINKING;
    p->reasoning = EMBER_REASONING_HIGH;  /* Muse Glimmer's template default */
    ember_sampling_init(&p->sampling);
    p->agents = 4;
    p->early_stop = true;
    p->keep_fraction = 0.9f;
    p->consensus = 1.0f;
    p->confidence_window = 64;
}
