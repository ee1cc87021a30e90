/*
 * sampler.c — one sequence's sampler, on a logits row that llama.cpp owns. The hot path is one
 * pass over the vocabulary: the top-k candidates (1 for greedy) are selected from the row
 * (select_top), and only they go through llama.cpp's chain (top-p, min-p, temperature, dist).
 * A grammar is asked about those candidates, then (on a large vocabulary) about the 256
 * largest, and masks the whole row only when fewer than k of them are allowed. Either way a sequence samples exactly what llama.cpp's chain with top-k
 * (grammar first) would, with the same random draws (ties apart). Contemplating's per-token confidence numbers (log-probability of the pick
 * and the mean log-probability of the top-5, under the model's unmodified distribution) cost
 * two more passes and are computed only for sequences that asked (sampling.confidence).
 * Owned by its sequence; used only on the scheduler thread after creation.
 */
#include "engine/engine_internal.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    CONFIDENCE_TOP_K = 5,
    GRAMMAR_WIDE = 256,   /* candidates the grammar is asked about before it masks the whole row */
};

struct ember_sampler {
    const struct llama_vocab *vocab;
    struct llama_sampler *grammar;  /* NULL without a grammar */
    struct llama_sampler *chain;    /* after the selection: top-p, min-p, temperature, dist; NULL = greedy */
    int top_k;                      /* candidates the chain sees: 1 greedy, 0 = the whole row */
    llama_token_data *top;          /* top_k entries, the selection */
    llama_token_data *candidates;   /* n_vocab entries: the whole row (top_k 0, or the grammar's pass) */
    float *masked;                  /* n_vocab: the row after the grammar, for the selection */
    int n_vocab;
    llama_token *banned;            /* ignore_eos: the vocabulary's end-of-generation tokens */
    int n_banned;
    bool confidence;                /* compute logprob and top_logprob_mean */
    char piece[256];
};

ember_sampler *sampler_create(ember_engine *engine, const ember_sampling *s, ember_error *err) {
    ember_sampler *sampler = calloc(1, sizeof *sampler);
    if (!sampler) return NULL;
    sampler->vocab = engine->vocab;
    sampler->n_vocab = engine->n_vocab;
    sampler->confidence = s->confidence;
    bool greedy = s->temperature <= 0.0f;
    sampler->top_k = greedy ? 1 : s->top_k > 0 && s->top_k < engine->n_vocab ? s->top_k : 0;
    bool grammar = s->grammar && s->grammar[0];
    int top_cap = grammar && sampler->top_k < GRAMMAR_WIDE ? GRAMMAR_WIDE : sampler->top_k;
    if (sampler->top_k > 0) sampler->top = malloc(sizeof *sampler->top * (size_t)top_cap);
    if (!greedy) {
        struct llama_sampler_chain_params cp = llama_sampler_chain_default_params();
        cp.no_perf = true;
        sampler->chain = llama_sampler_chain_init(cp);
    }
    if (s->ignore_eos) {
        for (int i = 0; i < engine->n_vocab; i++) {
            if (!llama_vocab_is_eog(engine->vocab, i)) continue;
            llama_token *grown = realloc(sampler->banned, sizeof *grown * (size_t)(sampler->n_banned + 1));
            if (!grown) goto nomem;
            sampler->banned = grown;
            sampler->banned[sampler->n_banned++] = i;
        }
    }
    if (grammar || sampler->top_k == 0) {
        sampler->candidates = malloc(sizeof *sampler->candidates * (size_t)engine->n_vocab);
        if (!sampler->candidates) goto nomem;
    }
    if (grammar && sampler->top_k > 0 && !(sampler->masked = malloc(sizeof *sampler->masked * (size_t)engine->n_vocab)))
        goto nomem;
    if ((sampler->top_k > 0 && !sampler->top) || (!greedy && !sampler->chain)) goto nomem;
    if (grammar) {
        const char *trigger = s->grammar_trigger;
        sampler->grammar = trigger && trigger[0]
                               ? llama_sampler_init_grammar_lazy_patterns(engine->vocab, s->grammar, "root", &trigger, 1, NULL, 0)
                               : llama_sampler_init_grammar(engine->vocab, s->grammar, "root");
        if (!sampler->grammar) {
            sampler_destroy(sampler);
            ember_fail(err, EMBER_ERR_INVALID, "the grammar does not parse (GBNF, root rule 'root')");
            return NULL;
        }
    }
    if (greedy) return sampler;
    /* top-k is the selection itself (select_top); the rest of llama.cpp's usual order follows */
    if (s->top_p > 0.0f && s->top_p < 1.0f) llama_sampler_chain_add(sampler->chain, llama_sampler_init_top_p(s->top_p, 1));
    if (s->min_p > 0.0f) llama_sampler_chain_add(sampler->chain, llama_sampler_init_min_p(s->min_p, 1));
    llama_sampler_chain_add(sampler->chain, llama_sampler_init_temp(s->temperature));
    llama_sampler_chain_add(sampler->chain, llama_sampler_init_dist(s->seed));
    return sampler;
nomem:
    sampler_destroy(sampler);
    ember_fail(err, EMBER_ERR_NOMEM, "out of memory creating a sampler");
    return NULL;
}

void sampler_destroy(ember_sampler *sampler) {
    if (!sampler) return;
    if (sampler->grammar) llama_sampler_free(sampler->grammar);
    if (sampler->chain) llama_sampler_free(sampler->chain);
    free(sampler->top);
    free(sampler->candidates);
    free(sampler->masked);
    free(sampler->banned);
    free(sampler);
}

static bool is_banned(const ember_sampler *sampler, int id) {
    for (int i = 0; i < sampler->n_banned; i++)
        if (sampler->banned[i] == id) return true;
    return false;
}

/* The k largest entries of the row, largest first, banned tokens left out: one pass in which
 * a value is compared with the smallest kept and, rarely, inserted (a partial selection, not
 * a sort of the vocabulary). Returns how many were kept (k, unless the row is shorter). */
static int select_top(const ember_sampler *sampler, const float *row, int k) {
    llama_token_data *top = sampler->top;
    int n = 0;
    for (int i = 0; i < sampler->n_vocab; i++) {
        float x = row[i];
        if (n == k && !(x > top[k - 1].logit)) continue;
        if (sampler->n_banned && is_banned(sampler, i)) continue;
        int j = n < k ? n++ : k - 1;
        while (j > 0 && top[j - 1].logit < x) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = (llama_token_data){.id = i, .logit = x, .p = 0.0f};
    }
    return n;
}

/* Runs the chain (greedy: none) over `cur`; -1 when nothing may be sampled. */
static llama_token finish_pick(ember_sampler *sampler, llama_token_data_array *cur) {
    if (cur->size == 0) return -1;
    cur->selected = 0;  /* greedy: the selection's first */
    if (sampler->chain) {
        cur->selected = -1;
        llama_sampler_apply(sampler->chain, cur);
    }
    /* A grammar that allows nothing here (e.g. it names an end-of-generation token, which
     * llama.cpp only permits once the grammar is complete) leaves every logit at -inf;
     * accepting a token then would throw inside llama.cpp. */
    if (cur->selected < 0 || isinf(cur->data[cur->selected].logit)) return -1;
    return cur->data[cur->selected].id;
}

/* The selection as the chain's input. */
static llama_token_data_array selected(ember_sampler *sampler, int n) {
    return (llama_token_data_array){.data = sampler->top, .size = (size_t)n, .selected = -1, .sorted = true};
}

/* Samples from `row` (the model's logits, or the grammar's masked copy) without the grammar. */
static llama_token pick(ember_sampler *sampler, const float *row) {
    if (sampler->top_k > 0) {
        llama_token_data_array cur = selected(sampler, select_top(sampler, row, sampler->top_k));
        return finish_pick(sampler, &cur);
    }
    for (int i = 0; i < sampler->n_vocab; i++)
        sampler->candidates[i] = (llama_token_data){.id = i, .logit = row[i], .p = 0.0f};
    for (int i = 0; i < sampler->n_banned; i++) sampler->candidates[sampler->banned[i]].logit = -INFINITY;
    llama_token_data_array cur = {.data = sampler->candidates, .size = (size_t)sampler->n_vocab, .selected = -1,
                                  .sorted = false};
    return finish_pick(sampler, &cur);
}

/* Samples under the grammar: the whole row through it, then the selection and the chain. */
static llama_token pick_constrained(ember_sampler *sampler, const float *logits) {
    for (int i = 0; i < sampler->n_vocab; i++)
        sampler->candidates[i] = (llama_token_data){.id = i, .logit = logits[i], .p = 0.0f};
    llama_token_data_array cur = {.data = sampler->candidates, .size = (size_t)sampler->n_vocab, .selected = -1,
                                  .sorted = false};
    llama_sampler_apply(sampler->grammar, &cur);  /* masks in place, in vocabulary order */
    if (sampler->top_k == 0) {  /* not greedy (its top_k is 1): there is a chain */
        for (int i = 0; i < sampler->n_banned; i++) sampler->candidates[sampler->banned[i]].logit = -INFINITY;
        return finish_pick(sampler, &cur);
    }
    for (int i = 0; i < sampler->n_vocab; i++) sampler->masked[i] = sampler->candidates[i].logit;
    return pick(sampler, sampler->masked);
}

/* Samples under the grammar, asking it about the largest candidates only. When it allows the
 * top k, they are also the top k of the masked row; otherwise, when at least k of the
 * GRAMMAR_WIDE largest are allowed, the k largest of those are (every token left out is smaller
 * than all of them). Either way the chain (and its random draw) sees exactly what it would
 * after masking the whole vocabulary, which is done only when neither holds. For greedy (k = 1):
 * the most likely token the grammar allows among the 256 most likely. */
static llama_token pick_grammar(ember_sampler *sampler, const float *logits) {
    int k = sampler->top_k;
    if (k == 0) return pick_constrained(sampler, logits);
    /* widening pays only on a large vocabulary, and (for k > 1) when the grammar allowed some
     * of the top k: one that forces a text allows a single token, never k of 256 */
    bool widen = k < GRAMMAR_WIDE && sampler->n_vocab >= 8 * GRAMMAR_WIDE;
    for (int width = k;; width = GRAMMAR_WIDE) {
        int n = select_top(sampler, logits, width);
        if (n < k) break;  /* the whole row is smaller than k: mask it */
        llama_token_data_array cur = selected(sampler, n);
        llama_sampler_apply(sampler->grammar, &cur);  /* refused candidates become -inf */
        int allowed = 0;  /* compacted in place, still largest first */
        for (int i = 0; i < n; i++)
            if (!isinf(sampler->top[i].logit)) sampler->top[allowed++] = sampler->top[i];
        if (allowed >= k) {
            cur = selected(sampler, k);
            return finish_pick(sampler, &cur);
        }
        if (width == GRAMMAR_WIDE || !widen || (k > 1 && allowed == 0)) break;
    }
    return pick_constrained(sampler, logits);
}

/* e^x for x <= 0, to about 2e-7 relative: x = n ln2 + y with |y| <= ln2/2, e^y by its Taylor
 * series to y^6, 2^n by the exponent bits. Plain arithmetic without branches, so the compiler
 * vectorizes the loop that calls it (libm's expf it does not): 3x faster on 150k logits. x is
 * clamped at -87 (e^-87 is near the smallest normal float) on its bits: for x <= 0 a larger
 * pattern is a more negative value, and an integer minimum does not become a branch as a
 * float comparison does. */
static inline float exp_nonpositive(float x) {
    uint32_t x_bits;
    memcpy(&x_bits, &x, sizeof x_bits);
    if (x_bits > 0xC2AE0000u) x_bits = 0xC2AE0000u;  /* -87.0f */
    memcpy(&x, &x_bits, sizeof x);
    float n = x * 1.44269504f + 12582912.0f;  /* round to nearest through the float mantissa */
    n -= 12582912.0f;
    float y = x - n * 0.693147181f;
    float p = 1.0f + y * (1.0f + y * (0.5f + y * (1.0f / 6 + y * (1.0f / 24 + y * (1.0f / 120 + y * (1.0f / 720))))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* log Z of the row, and the mean log-probability of its CONFIDENCE_TOP_K largest logits. One
 * selection pass (a value enters the top list only when it beats its smallest), then a float
 * sum of exponentials in vector lanes (terms are <= 1: float keeps ~6 digits of a sum of up
 * to 150k of them, plenty for a confidence score). */
static void row_stats(const float *logits, int n, float *log_z, float *top_mean) {
    float top[CONFIDENCE_TOP_K];
    int n_top = 0;
    for (int i = 0; i < n; i++) {
        float x = logits[i];
        if (n_top == CONFIDENCE_TOP_K && x <= top[CONFIDENCE_TOP_K - 1]) continue;
        int j = n_top < CONFIDENCE_TOP_K ? n_top++ : CONFIDENCE_TOP_K - 1;
        while (j > 0 && top[j - 1] < x) { top[j] = top[j - 1]; j--; }
        top[j] = x;
    }
    float max = n_top ? top[0] : 0.0f;
    enum { LANES = 8 };  /* independent partial sums: the order C fixes still lets them run as one vector */
    float part[LANES] = {0};
    int at = 0;
    for (; at + LANES <= n; at += LANES)
        for (int j = 0; j < LANES; j++) part[j] += exp_nonpositive(logits[at + j] - max);
    float sum = 0.0f;
    for (; at < n; at++) sum += exp_nonpositive(logits[at] - max);
    for (int j = 0; j < LANES; j++) sum += part[j];
    *log_z = max + logf(sum);
    float mean = 0.0f;
    for (int i = 0; i < n_top; i++) mean += top[i] - *log_z;
    *top_mean = n_top ? mean / (float)n_top : 0.0f;
}

llama_token sampler_sample(ember_sampler *sampler, const float *logits, ember_token_info *tok) {
    llama_token token = sampler->grammar ? pick_grammar(sampler, logits) : pick(sampler, logits);
    if (token < 0) return -1;
    if (sampler->grammar) llama_sampler_accept(sampler->grammar, token);
    if (sampler->chain) llama_sampler_accept(sampler->chain, token);

    float log_z = 0.0f, top_mean = 0.0f;
    if (sampler->confidence) row_stats(logits, sampler->n_vocab, &log_z, &top_mean);
    int n = llama_token_to_piece(sampler->vocab, token, sampler->piece, sizeof sampler->piece - 1, 0, true);
    sampler->piece[n > 0 ? n : 0] = '\0';
    *tok = (ember_token_info){
        .token = token,
        .piece = sampler->piece,
        .logprob = sampler->confidence ? logits[token] - log_z : 0.0f,
        .top_logprob_mean = top_mean,
        .is_eog = llama_vocab_is_eog(sampler->vocab, token),
    };
    return token;
}
