/*
 * fuzz_eval_dataset.c — a dataset file of arbitrary bytes through ember eval's loader, and its
 * questions' gold answers matched against arbitrary answer text. Checks: no crash, leak or
 * undefined behavior; a loaded dataset has a question and a non-empty gold answer per item.
 */
#include "eval/eval_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/fuzz-eval-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    eval_item *items = NULL;
    int n = 0;
    if (eval_items_load(path, 0, &items, &n, NULL) == EMBER_OK) {
        char *text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        for (int i = 0; i < n; i++) {
            if (!items[i].question || !items[i].gold || !items[i].gold[0]) abort();
            (void)ember_eval_answer_matches(items[i].gold, text);
            (void)ember_eval_answer_matches(text, items[i].gold);
        }
        free(text);
        eval_items_free(items, n);
    }
    unlink(path);
    return 0;
}
