/*
 * brief.h — what Contemplating's synthesizer is shown: the finished agents' distinct answers,
 * heaviest in the vote first, each with its supporters, their best confidence and an excerpt
 * of the most confident one's reasoning; how many agents stopped without an answer; and the
 * vote. One line per distinct answer, not per agent, so 64 agents that mostly agree make a
 * short brief. It ends the reasoning the synthesizer goes on with (checking the candidates),
 * at one of a few sizes (the run uses the longest that fits the context and the model's
 * training context; ember train writes the same text so a small model learns to read it).
 */
#ifndef EMBER_AGENT_BRIEF_H
#define EMBER_AGENT_BRIEF_H

#include "agent/result.h"
#include "agent/vote.h"

enum { BRIEF_N_SIZES = 6 };

/* The brief on n agents at size k (0 = longest, BRIEF_N_SIZES - 1 = shortest); free() it.
 * NULL when out of memory. */
char *brief_write(const result_agent *agents, int n, vote_outcome v, int size);
/* The distinct answers the brief lists, in its order, into answers[] (room for n); their
 * count, or -1 when out of memory. The strings are the agents'. */
int brief_answers(const result_agent *agents, int n, const char **answers);

#endif
