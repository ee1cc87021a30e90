/* modes.c — names of modes and reasoning strengths, and run parameter defaults. */
#include "ember.h"

#include <string.h>

static const char *const mode_names[] = {"instant", "thinking", "contemplating"};
static const char *const reasoning_names[] = {"low", "medium", "high", "xhigh"};

const char *ember_mode_name(ember_mode mode) {
    return (unsigned)mode < 3 ? mode_names[mode] : "unknown";
}

const char *ember_reasoning_name(ember_reasoning r) {
    return (unsigned)r < 4 ? reasoning_names[r] : "unknown";
}

bool ember_mode_parse(const char *text, ember_mode *mode) {
    for (int i = 0; i < 3; i++) {
        if (text && strcmp(text, mode_names[i]) == 0) {
            *mode = (ember_mode)i;
            return true;
        }
    }
    return false;
}

bool ember_reasoning_parse(const char *text, ember_reasoning *r) {
    for (int i = 0; i < 4; i++) {
        if (text && strcmp(text, reasoning_names[i]) == 0) {
            *r = (ember_reasoning)i;
            return true;
        }
    }
    return false;
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
