/* contemplate.c — Contemplating mode: N agents forked from one prompt, then a synthesis. */
#include "agent/contemplate.h"
#include "core/error.h"

ember_status contemplate_run(run_ctx *run, const ember_chat *chat, ember_error *err) {
    (void)run;
    (void)chat;
    return ember_fail(err, EMBER_ERR_UNSUPPORTED, "contemplating mode is not built yet");
}
