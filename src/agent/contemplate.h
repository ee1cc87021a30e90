/* contemplate.h — Contemplating mode (see contemplate.c). */
#ifndef EMBER_AGENT_CONTEMPLATE_H
#define EMBER_AGENT_CONTEMPLATE_H

#include "agent/agent.h"

ember_status contemplate_run(run_ctx *run, const ember_chat *chat, ember_error *err);

/* Shared with run.c */
ember_status run_render(run_ctx *run, const ember_chat *chat, chat_opening opening, strbuf *prompt, chat_images *images,
                        ember_error *err);
void run_finish_timings(run_ctx *run, int prompt_evaluated, int generated);
void run_track_kv(run_ctx *run);
/* The same as an agent's on_token hook. */
void run_track_kv_hook(agent *a);

#endif
