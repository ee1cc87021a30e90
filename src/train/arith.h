/*
 * arith.h — the arithmetic task family ember-nano is trained on (internal to src/train).
 *
 * A problem is 2–4 integer operands (0..999) joined by + and −, with at most one × whose two
 * operands are at most 99; standard precedence, no parentheses; the answer is an integer,
 * possibly negative. Problems are drawn deterministically from (seed, index) so a dataset is
 * reproducible from its seed alone. Train and held-out problems are disjoint by construction:
 * a problem's split is a hash of its canonical expression, and each generator rejects the
 * other split's problems.
 */
#ifndef EMBER_TRAIN_ARITH_H
#define EMBER_TRAIN_ARITH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "ember/train.h"

#define ARITH_MAX_OPERANDS 4

typedef struct arith_problem {
    int n;                           /* operands, 2..4 */
    int v[ARITH_MAX_OPERANDS];       /* operands, 0..999 */
    char op[ARITH_MAX_OPERANDS - 1]; /* '+', '-', '*' between v[i] and v[i+1] */
} arith_problem;

/* splitmix64: the one random source of the task family (stateless, so any index is O(1)). */
uint64_t arith_mix(uint64_t x);

/* The problem at `index` of a split (held_out false = train). */
void arith_problem_at(uint64_t seed, uint64_t index, bool held_out, arith_problem *p);
bool arith_is_held_out(const arith_problem *p);
long arith_answer(const arith_problem *p);
/* "47 + 385 - 12", "5 + 23 * 17" (ASCII, spaced). */
void arith_canonical(const arith_problem *p, strbuf *out);
/* The problem as a person might ask it: one of many phrasings and operator spellings
 * (+ or plus; - or minus; ×, *, x or times), chosen by `variant`. */
void arith_question(const arith_problem *p, uint64_t variant, strbuf *out);
/* The same value in another order: each product's factors swapped, the added terms (the
 * first operand's included) last to first, then the subtracted ones last to first. */
void arith_reordered(const arith_problem *p, arith_problem *q);
/* Whether the Contemplating agent with approach `approach_index` works the reordered
 * expression (style.reorder_agents: the odd-numbered ones). */
bool arith_agent_reorders(ember_trace_style style, int approach_index);
/* The step-by-step reasoning trace: the expression restated, the product first by partial
 * products, then left to right with digit-wise sums and differences (carries and borrows
 * written out), ending in the value, in the layout `style` asks for (`variant` draws which
 * blocks go on one line). `reordered`: the restated expression is followed by
 * "=" and arith_reordered's, which the rest of the trace works. */
void arith_reasoning(const arith_problem *p, ember_trace_style style, uint64_t variant, bool reordered,
                     strbuf *out);
/* The answer text: "47 + 385 - 12 = 420". */
void arith_answer_text(const arith_problem *p, strbuf *out);

/* Contemplating's synthesizer checking the agents' answers: the expression restated, its
 * product worked with the factors swapped (another path than the agents'), its added terms
 * summed ("plus 145") and its subtracted ones ("minus 258"), then each candidate in turn,
 * "check c", the side that c completes ("258+87"), and "345 vs 145 no" or "yes"; the first
 * candidate that checks is the answer ("answer -113"), else `fallback` after "none". Every
 * step is addition or a single product, which a small model gets right far more often than
 * the sign decisions of the expression itself. Returns the chosen value. */
long arith_verification(const arith_problem *p, const long *candidates, int n, long fallback, ember_trace_style style,
                        uint64_t variant, strbuf *out);

/* What one trace line states: no step (headers, restatements, "=N", "ok N"), a false step, a
 * true digit column ("7+5+1=13", "1a-b-1=c", "a*b+k=c", read after a "rest op rest:" and
 * before "|digits") or a true one-line block ("47+385=432"). */
typedef enum arith_step { ARITH_NO_STEP, ARITH_FALSE_STEP, ARITH_COLUMN, ARITH_BLOCK } arith_step;
arith_step arith_step_of(const char *line);

/* Whether every step a trace states is true: each digit column ("7+5+1=13", "1a-b-1=c",
 * "a*b+k=c", read after a "rest op rest:" and before "|digits") and each one-line block
 * ("47+385=432"). A sampled trace can reach the right answer over a false step (a check
 * computed wrong, then "ok" anyway); training on it would teach the false step. */
bool arith_trace_is_true(const char *reasoning);

#endif
