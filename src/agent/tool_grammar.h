/*
 * tool_grammar.h — forcing a tool call (OpenAI's tool_choice "required" or a named function).
 *
 * The lazy grammar (ember_tool_grammar) waits for the model to open a call; a forced round
 * instead constrains generation from its first token. Instant: the prompt opens where a call
 * begins (Muse Glimmer: a bare "<|start|>assistant" header; ChatML: the empty think block) and
 * the grammar allows only calls. Thinking: the reasoning channel stays open first, as both
 * formats put the call after it (Muse Glimmer: its own message after the reasoning's <|eom|>;
 * ChatML: in the answer after </think>); the grammar allows reasoning text (without the
 * format's closing marker), then the close, then only calls. When the think budget closes the
 * reasoning, the agent feeds `close` itself and switches to `call_grammar`.
 * Owned by the run; free with tool_force_free.
 */
#ifndef EMBER_AGENT_TOOL_GRAMMAR_H
#define EMBER_AGENT_TOOL_GRAMMAR_H

#include "ember.h"

typedef struct tool_force {
    char *grammar;              /* GBNF for the whole forced round, from its first token */
    char *call_grammar;         /* GBNF for the calls alone (after `close` was fed) */
    const char *close;          /* Thinking: text that ends the reasoning and leads to a call;
                                   NULL in Instant */
    const char *reasoning_end;  /* Thinking: the marker whose first appearance in the generated
                                   text ends the reasoning (the grammar allows it nowhere else) */
    ember_opening opening;      /* where the forced round's prompt opens */
} tool_force;

/* The forced round for `format` and the offered tools: any of them (`name` NULL) or the one
 * named. EMBER_ERR_INVALID when `name` is not offered or nothing is. */
ember_status tool_force_plan(const char *format, const char *tools_json, const char *name, bool reasoning,
                             tool_force *out, ember_error *err);
void tool_force_free(tool_force *f);

#endif
