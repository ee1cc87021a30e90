/*
 * artifacts.h — artifacts: complete HTML or SVG documents in an answer (a mini game, a
 * dashboard, an interactive nutrition display …) that the web app runs live in a sandboxed
 * frame. When a request asks for them ("ember": {"artifacts": true}) the model is told how to
 * write one (a short section of the system prompt), and the finished answer's documents are
 * returned in the response's ember object as [{"type", "title", "content"}] and stored with
 * the conversation.
 *
 * An artifact is a fenced code block (``` or ~~~) whose language is html (holding a whole
 * document: <!doctype html> or <html>) or svg (an <svg> element), closed before the answer
 * ends; its title is the fence's title="…", else the document's <title>, else a default.
 * Extraction reads any bytes (model output is untrusted; fuzz_server_artifacts).
 */
#ifndef EMBER_SERVER_ARTIFACTS_H
#define EMBER_SERVER_ARTIFACTS_H

#include "server/request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum { SRV_ARTIFACTS_MAX = 16 };   /* artifacts returned per answer, at most */

/* The system-prompt section that tells the model how to write artifacts. */
const char *srv_artifacts_prompt(void);
/* Adds that section to the request's first system message (or a new one before the first
 * message). False when out of memory (the request is unchanged). */
bool srv_artifacts_add_prompt(srv_request *req);
/* The artifacts of an answer (a JSON array, possibly empty; NULL only when out of memory). */
json_t *srv_artifacts_extract(const char *answer, size_t len);

#endif
