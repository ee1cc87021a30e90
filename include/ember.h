/*
 * ember.h — the public API of libember, the Muse Spark system, open and local: one header per
 * concern under include/ember/, all included here (include a sub-header to depend on less).
 *
 * The data, before the functions:
 *
 *   1. An ember_engine owns one model (and optionally its vision projector) and one llama.cpp
 *      context with a unified KV cache shared by many sequences (or a stream per sequence:
 *      ember_engine_params.kv_seq_cells). A single scheduler thread
 *      inside the engine packs one token from every active sequence into each decode step.
 *   2. An ember_seq is one sequence in that cache. It is fed text (queued, evaluated on the
 *      scheduler's next steps), may generate tokens (each one reported to its token callback
 *      on the scheduler thread), may be forked (the child shares the parent's KV cells, or
 *      copies its stream: the prefix is never recomputed) and is freed at once when destroyed.
 *   3. An ember_chat is a conversation: an ordered list of messages.
 *   4. An ember_run answers a chat in one of three modes (Instant, Thinking, Contemplating)
 *      and reports what happens as a stream of typed events (ember_event); when it ends it
 *      holds an ember_result, which also serializes to the JSON that `ember ask --json` prints.
 *
 * Conventions: every type has a create/destroy pair; destroy accepts NULL. Functions that can
 * fail return an ember_status and, when `err` is not NULL, fill it with a readable message.
 * Strings returned by getters are owned by the object they come from and live as long as it.
 * Nothing in the library calls exit() or writes to stdout.
 */
#ifndef EMBER_H
#define EMBER_H

#include "ember/core.h"     /* EMBER_API, statuses, errors */
#include "ember/vision.h"   /* images, boxes */
#include "ember/engine.h"   /* models, engine, sampling, sequences */
#include "ember/chat.h"     /* conversations, chat formats, parsers, tool-call notation */
#include "ember/run.h"      /* modes, runs, events, results, prefix cache */
#include "ember/tools.h"    /* tool registry: built-ins and MCP */
#include "ember/pull.h"     /* model store and pull */
#include "ember/server.h"   /* ember serve and API keys */
#include "ember/train.h"    /* ember train: the training loop and the arithmetic task family */
#include "ember/eval.h"     /* ember eval: datasets, scoring, plots */

#endif /* EMBER_H */
