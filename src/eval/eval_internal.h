/*
 * eval_internal.h — what src/eval's files share: a dataset's items and answer scoring.
 */
#ifndef EMBER_EVAL_INTERNAL_H
#define EMBER_EVAL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "ember/eval.h"

typedef struct eval_item {
    char *question;   /* as the model is asked (choices appended as "A) …" lines) */
    char *gold;       /* the gold answer: a number, a letter or text */
    char *image;      /* image path, or NULL */
} eval_item;

/* Loads a JSONL dataset (see ember/eval.h for the accepted shapes); limit 0 = all. */
ember_status eval_items_load(const char *path, int limit, eval_item **items, int *n, ember_error *err);
void eval_items_free(eval_item *items, int n);

bool eval_answer_number(const char *text, double *value);

#endif
