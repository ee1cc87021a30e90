/* vocab.c — a byte-level BPE vocabulary for the generated models, written as the tokenizer.ggml.*
 * keys of a "gpt2" tokenizer (what llama.cpp's BPE loader reads).
 *
 * Layout of the n_vocab ids:
 *   0..255       the 256 bytes, in GPT-2's bytes_to_unicode order (printable Latin-1 bytes stand
 *                for themselves, the other 68 are shifted to U+0100.., space becomes "Ġ", "\n"
 *                becomes "Ċ"), so id 0 is "!" exactly as in GPT-2 / Llama-3 vocabularies;
 *   256..        one token per merge, merge i has rank i;
 *   last ones    the caller's special tokens, in the caller's order.
 *
 * Merges are systematic, not learned: every merge joins an existing piece and one more byte, so
 * both parts and the result are always tokens. In rank order: " "+letter; whole common words (with
 * and without a leading space, built letter by letter); " "+capital, " "+digit, double space,
 * double newline; then all lower-case bigrams, " "+bigram, trigrams, " "+trigram, capitalized
 * bigrams, 4-grams, " "+4-gram — stopping as soon as the vocabulary is full. Scores are -id for
 * ordinary tokens and 0 for specials. Pieces are plain ASCII, so a vocabulary is at most a few
 * hundred thousand tokens (enough for any test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genmodel.h"

#define GM_TOKEN_NORMAL 1 /* LLAMA_TOKEN_TYPE_NORMAL */
#define GM_PIECE_MAX 16   /* longest raw piece: " " + the longest common word */

/* The vocabulary under construction. Raw pieces are the bytes before the GPT-2 mapping, kept as
 * C strings (byte 0 is "", which no merge ever asks for). */
struct gm_vocab {
    char **text;     /* token texts (mapped to GPT-2 unicode), n_vocab entries */
    char **merges;   /* "left right" in mapped form */
    int n_tokens;    /* filled so far */
    int n_merges;
    int n_max;       /* tokens available for bytes + merges */
    char **raw;      /* raw piece of each non-special token (for the hash set) */
    int *slots;      /* open-addressing hash set of raw pieces -> id, -1 = empty */
    unsigned n_slots;
    unsigned cp[256]; /* byte -> unicode code point */
};

static const char *const gm_common_words[] = {
    "the", "and", "to", "of", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or",
    "had", "by", "not", "but", "what", "all", "were", "we", "when", "can", "there", "an", "which",
    "do", "how", "if", "will", "up", "about", "out", "many", "then", "them", "so", "some", "her",
    "would", "make", "like", "into", "time", "has", "two", "more", "no", "yes", "way", "could",
    "my", "than", "first", "been", "call", "who", "its", "now", "find", "long", "down", "day",
    "did", "get", "come", "made", "may", "part", "hello", "world", "Hello", "image", "think",
    "answer", "question", "user", "assistant", "system", "tool", "self", "result", "search",
    "python", "zoom", "number", "name", "value", "function", "true", "false", "null", "The",
};

static unsigned gm_hash(const char *s) {
    unsigned h = 2166136261u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

static int gm_vocab_find(const struct gm_vocab *v, const char *raw) {
    for (unsigned i = gm_hash(raw) & (v->n_slots - 1);; i = (i + 1) & (v->n_slots - 1)) {
        const int id = v->slots[i];
        if (id < 0) {
            return -1;
        }
        if (strcmp(v->raw[id], raw) == 0) {
            return id;
        }
    }
}

/* Encodes a raw piece into its GPT-2-mapped UTF-8 form. */
static char *gm_vocab_map(const struct gm_vocab *v, const char *raw, size_t len) {
    char *out = malloc(2 * len + 1); /* every code point < 0x800 -> at most 2 bytes */
    if (!out) {
        return NULL;
    }
    char *p = out;
    for (size_t i = 0; i < len; i++) {
        const unsigned c = v->cp[(unsigned char)raw[i]];
        if (c < 0x80) {
            *p++ = (char)c;
        } else {
            *p++ = (char)(0xC0 | (c >> 6));
            *p++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *p = 0;
    return out;
}

/* Adds a raw piece as the next token; -1 on out-of-memory. */
static int gm_vocab_add(struct gm_vocab *v, const char *raw, size_t len) {
    const int id = v->n_tokens;
    v->raw[id] = malloc(len + 1);
    v->text[id] = gm_vocab_map(v, raw, len);
    if (!v->raw[id] || !v->text[id]) {
        return -1;
    }
    memcpy(v->raw[id], raw, len);
    v->raw[id][len] = 0;
    unsigned i = gm_hash(v->raw[id]) & (v->n_slots - 1);
    while (v->slots[i] >= 0) {
        i = (i + 1) & (v->n_slots - 1);
    }
    v->slots[i] = id;
    v->n_tokens++;
    return 0;
}

/* Merge (piece[0..len-1], piece[len-1]) -> piece, if the vocabulary has room, the piece is new
 * and its left part exists. Returns -1 on out-of-memory, else 0. */
static int gm_vocab_merge(struct gm_vocab *v, const char *piece) {
    const size_t len = strlen(piece);
    if (v->n_tokens >= v->n_max || len < 2 || gm_vocab_find(v, piece) >= 0) {
        return 0;
    }
    char left[GM_PIECE_MAX + 1];
    memcpy(left, piece, len - 1);
    left[len - 1] = 0;
    const int l = gm_vocab_find(v, left);
    if (l < 0) {
        return 0; /* built out of order: skip rather than emit a dangling merge */
    }
    char right[2] = {piece[len - 1], 0};
    const int r = gm_vocab_find(v, right);
    const size_t n = strlen(v->text[l]) + strlen(v->text[r]) + 2;
    char *m = malloc(n);
    if (!m) {
        return -1;
    }
    snprintf(m, n, "%s %s", v->text[l], v->text[r]);
    v->merges[v->n_merges++] = m;
    return gm_vocab_add(v, piece, len);
}

/* Merges that build `word` (optionally space-prefixed) letter by letter. */
static int gm_vocab_word(struct gm_vocab *v, const char *word, bool space) {
    char piece[GM_PIECE_MAX + 2];
    size_t n = 0;
    if (space) {
        piece[n++] = ' ';
    }
    for (const char *c = word; *c && n < GM_PIECE_MAX; c++) {
        piece[n++] = *c;
        piece[n] = 0;
        if (n >= 2 && gm_vocab_merge(v, piece) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Every string of `len` letters from `alpha`, optionally space-prefixed, in lexical order. */
static int gm_vocab_ngrams(struct gm_vocab *v, const char *first_alpha, const char *alpha,
                           int len, bool space) {
    const int na = (int)strlen(alpha);
    const int nf = (int)strlen(first_alpha);
    long total = nf;
    for (int i = 1; i < len; i++) {
        total *= na;
    }
    for (long k = 0; k < total && v->n_tokens < v->n_max; k++) {
        char piece[GM_PIECE_MAX + 2];
        int n = 0;
        if (space) {
            piece[n++] = ' ';
        }
        long rest = k;
        long div = total / nf;
        piece[n++] = first_alpha[rest / div];
        rest %= div;
        for (int i = 1; i < len; i++) {
            div /= na;
            piece[n++] = alpha[rest / div];
            rest %= div;
        }
        piece[n] = 0;
        /* build prefixes first so the chain is complete */
        char sub[GM_PIECE_MAX + 2];
        for (int m = 2; m <= n; m++) {
            memcpy(sub, piece, (size_t)m);
            sub[m] = 0;
            if (gm_vocab_merge(v, sub) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

static int gm_vocab_fill(struct gm_vocab *v) {
    static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
    static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const char digits[] = "0123456789";
    const int n_words = (int)(sizeof(gm_common_words) / sizeof(gm_common_words[0]));
    char piece[4];

    for (const char *c = lower; *c; c++) {
        snprintf(piece, sizeof(piece), " %c", *c);
        if (gm_vocab_merge(v, piece) != 0) {
            return -1;
        }
    }
    for (int i = 0; i < n_words; i++) {
        if (gm_vocab_word(v, gm_common_words[i], true) != 0 ||
            gm_vocab_word(v, gm_common_words[i], false) != 0) {
            return -1;
        }
    }
    for (const char *c = upper; *c; c++) {
        snprintf(piece, sizeof(piece), " %c", *c);
        if (gm_vocab_merge(v, piece) != 0) {
            return -1;
        }
    }
    for (const char *c = digits; *c; c++) {
        snprintf(piece, sizeof(piece), " %c", *c);
        if (gm_vocab_merge(v, piece) != 0) {
            return -1;
        }
    }
    if (gm_vocab_merge(v, "  ") != 0 || gm_vocab_merge(v, "\n\n") != 0) {
        return -1;
    }
    const struct {
        const char *first;
        const char *alpha;
        int len;
        bool space;
    } tiers[] = {
        {lower, lower, 2, false}, {lower, lower, 2, true}, {lower, lower, 3, false},
        {lower, lower, 3, true},  {upper, lower, 2, false}, {upper, lower, 2, true},
        {lower, lower, 4, false}, {lower, lower, 4, true},
    };
    for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]) && v->n_tokens < v->n_max; i++) {
        if (gm_vocab_ngrams(v, tiers[i].first, tiers[i].alpha, tiers[i].len, tiers[i].space) != 0) {
            return -1;
        }
    }
    return 0;
}

int gm_vocab_write(struct gm_writer *w, const char *pre, int n_vocab,
                   const struct gm_special *specials, int n_specials) {
    if (n_vocab < 256 + n_specials) {
        fprintf(stderr, "genmodel: --n-vocab %d cannot hold 256 bytes + %d special tokens\n",
                n_vocab, n_specials);
        return -1;
    }
    struct gm_vocab v = {0};
    v.n_max = n_vocab - n_specials;
    v.n_slots = 1;
    while (v.n_slots < 2u * (unsigned)n_vocab) {
        v.n_slots <<= 1;
    }
    v.text = calloc((size_t)n_vocab, sizeof(char *));
    v.raw = calloc((size_t)n_vocab, sizeof(char *));
    v.merges = calloc((size_t)n_vocab, sizeof(char *));
    v.slots = malloc(v.n_slots * sizeof(int));
    float *scores = malloc((size_t)n_vocab * sizeof(float));
    int32_t *types = malloc((size_t)n_vocab * sizeof(int32_t));
    int rc = -1;
    if (!v.text || !v.raw || !v.merges || !v.slots || !scores || !types) {
        fprintf(stderr, "genmodel: out of memory\n");
        goto done;
    }
    memset(v.slots, 0xFF, v.n_slots * sizeof(int));

    /* GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to 256.. in order */
    unsigned order[256];
    int n_order = 0;
    for (unsigned b = 0; b < 256; b++) {
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)) {
            v.cp[b] = b;
            order[n_order++] = b;
        }
    }
    unsigned shifted = 256;
    for (unsigned b = 0; b < 256; b++) {
        if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))) {
            v.cp[b] = shifted++;
            order[n_order++] = b;
        }
    }
    for (int i = 0; i < 256; i++) {
        const char byte = (char)order[i];
        if (gm_vocab_add(&v, &byte, 1) != 0) {
            fprintf(stderr, "genmodel: out of memory\n");
            goto done;
        }
    }
    if (gm_vocab_fill(&v) != 0) {
        fprintf(stderr, "genmodel: out of memory\n");
        goto done;
    }
    if (v.n_tokens < v.n_max) {
        fprintf(stderr, "genmodel: --n-vocab %d is larger than the systematic merges can fill\n",
                n_vocab);
        goto done;
    }
    for (int i = 0; i < v.n_tokens; i++) {
        scores[i] = -(float)i;
        types[i] = GM_TOKEN_NORMAL;
    }
    for (int i = 0; i < n_specials; i++) {
        const int id = v.n_tokens + i;
        v.text[id] = strdup(specials[i].text);
        if (!v.text[id]) {
            fprintf(stderr, "genmodel: out of memory\n");
            goto done;
        }
        scores[id] = 0.0f;
        types[id] = specials[i].type;
    }
    gm_writer_str(w, "tokenizer.ggml.model", "gpt2");
    gm_writer_str(w, "tokenizer.ggml.pre", pre);
    gm_writer_arr_str(w, "tokenizer.ggml.tokens", (const char **)v.text, n_vocab);
    gm_writer_arr_f32(w, "tokenizer.ggml.scores", scores, n_vocab);
    gm_writer_arr_i32(w, "tokenizer.ggml.token_type", types, n_vocab);
    gm_writer_arr_str(w, "tokenizer.ggml.merges", (const char **)v.merges, v.n_merges);
    rc = v.n_tokens;
done:
    if (v.text) {
        for (int i = 0; i < n_vocab; i++) {
            free(v.text[i]);
        }
    }
    if (v.raw) {
        for (int i = 0; i < n_vocab; i++) {
            free(v.raw[i]);
        }
    }
    if (v.merges) {
        for (int i = 0; i < v.n_merges; i++) {
            free(v.merges[i]);
        }
    }
    free(v.text);
    free(v.raw);
    free(v.merges);
    free(v.slots);
    free(scores);
    free(types);
    return rc;
}
