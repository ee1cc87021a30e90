/*
 * sampler.c — one sequence's sampler: a llama.cpp sampler chain (grammar first, so every
 * later stage sees only allowed tokens) applied to a logits row that ember owns, plus the
 * per-token confidence numbers Contemplating needs (log-probability of the pick and the mean
 * log-probability of the top-k candidates, both under the model's unmodified distribution),
 * computed only for sequences that asked (sampling.confidence): on a 150k vocabulary that
 * pass costs as much as the rest of the sampling.
 * Owned by its sequence; used only on the scheduler thread after creation.
 */
#include "engine/engine_internal.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { CONFIDENCE_TOP_K = 5 };

struct ember_sampler {
    const struct llama_vocab *vocab;
    struct llama_sampler *chain;
    llama_token_data *candidates;   /* n_vocab entries, rebuilt for every token */
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
    sampler->candidates = malloc(sizeof *sampler->candidates * (size_t)engine->n_vocab);
    struct llama_sampler_chain_params cp = llama_sampler_chain_default_params();
    cp.no_perf = true;
    sampler->chain = llama_sampler_chain_init(cp);
    if (!sampler->candidates || !sampler->chain) {
        sampler_destroy(sampler);
        ember_fail(err, EMBER_ERR_NOMEM, "out of memory creating a sampler");
        return NULL;
    }
    if (s->ignore_eos) {
        for (int i = 0; i < engine->n_vocab; i++) {
            if (!llama_vocab_is_eog(engine->vocab, i)) continue;
            llama_token *grown = realloc(sampler->banned, sizeof *grown * (size_t)(sampler->n_banned + 1));
            if (!grown) {
                sampler_destroy(sampler);
                ember_fail(err, EMBER_ERR_NOMEM, "out of memory creating a sampler");
                return NULL;
            }
            sampler->banned = grown;
            sampler->banned[sampler->n_banned++] = i;
        }
    }
    if (s->grammar && s->grammar[0]) {
        const char *trigger = s->grammar_trigger;
        struct llama_sampler *grammar =
            trigger && trigger[0]
                ? llama_sampler_init_grammar_lazy_patterns(engine->vocab, s->grammar, "root", &trigger, 1, NULL, 0)
                : llama_sampler_init_grammar(engine->vocab, s->grammar, "root");
        if (!grammar) {
            sampler_destroy(sampler);
            ember_fail(err, EMBER_ERR_INVALID, "the grammar does not parse (GBNF, root rule 'root')");
            return NULL;
        }
        llama_sampler_chain_add(sampler->chain, grammar);
    }
    if (s->temperature <= 0.0f) {
        llama_sampler_chain_add(sampler->chain, llama_sampler_init_greedy());
        return sampler;
    }
    if (s->top_k > 0) llama_sampler_chain_add(sampler->chain, llama_sampler_init_top_k(s->top_k));
    if (s->top_p > 0.0f && s->top_p < 1.0f)
        llama_sampler_chain_add(sampler->chain, llama_sampler_init_top_p(s->top_p, 1));
    if (s->min_p > 0.0f) llama_sampler_chain_add(sampler->chain, llama_sampler_init_min_p(s->min_p, 1));
    llama_sampler_chain_add(sampler->chain, llama_sampler_init_temp(s->temperature));
    llama_sampler_chain_add(sampler->chain, llama_sampler_init_dist(s->seed));
    return sampler;
}

void sampler_destroy(ember_sampler *sampler) {
    if (!sampler) return;
    if (sampler->chain) llama_sampler_free(sampler->chain);
    free(sampler->candidates);
    free(sampler->banned);
    free(sampler);
}

/* log Z of the row, and the mean log-probability of its CONFIDENCE_TOP_K largest logits. One
 * selection pass (a value enters the top list only when it beats its smallest), then a float
 * sum of exponentials the compiler can vectorize (terms are <= 1: float keeps ~6 digits of a
 * sum of up to 150k of them, plenty for a confidence score). */
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
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += expf(logits[i] - max);
    *log_z = max + logf(sum);
    double mean = 0.0;
    for (int i = 0; i < n_top; i++) mean += top[i] - *log_z;
    *top_mean = n_top ? (float)(mean / n_top) : 0.0f;
}

llama_token sampler_sample(ember_sampler *sampler, const float *logits, ember_token_info *tok) {
    for (int i = 0; i < sampler->n_vocab; i++)
        sampler->candidates[i] = (llama_token_data){.id = i, .logit = logits[i], .p = 0.0f};
    for (int i = 0; i < sampler->n_banned; i++) sampler->candidates[sampler->banned[i]].logit = -INFINITY;
    llama_token_data_array cur = {
        .data = sampler->candidates, .size = (size_t)sampler->n_vocab, .selected = -1, .sorted = false};
    llama_sampler_apply(sampler->chain, &cur);
    /* A grammar that allows nothing here (e.g. it names an end-of-generation token, which
     * llama.cpp only permits once the grammar is complete) leaves every logit at -inf;
     * accepting a token then would throw inside llama.cpp. */
    if (cur.selected < 0 || isinf(cur.data[cur.selected].logit)) return -1;
    llama_token token = cur.data[cur.selected].id;
    llama_sampler_accept(sampler->chain, token);

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
