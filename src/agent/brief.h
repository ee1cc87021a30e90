/*
 * brief.h — what Contemplating's synthesizer is shown: the agents' answers, confidences and
 * reasoning excerpts and the vote, at one of a few sizes (the run uses the longest that fits
 * the context; ember train writes the same text so a small model learns to read it).
 */
#ifndef EMBER_AGENT_BRIEF_H
#define EMBER_AGENT_BRIEF_H

#include "agent/result.h"
#include "agent/vote.h"

enum { BRIEF_N_SIZES = 6 };

/* The brief on n agents at size k (0 = longest, BRIEF_N_SIZES - 1 = shortest); free() it.
 * NULL when out of memory. */
char *brief_write(const result_agent *agents, int n, vote_outcome v, int size);

#endif
