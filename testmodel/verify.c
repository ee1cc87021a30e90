/* verify.c — `ember-genmodel --verify MODEL [--mmproj P]`: loads a generated model back through
 * pinned llama.cpp and checks what ember relies on:
 *   - the model loads (llama.h), and its architecture is one the generator knows;
 *   - every special token of the format tokenizes to exactly ONE token with that text;
 *   - end-of-generation: <|eot|> / <|im_end|> end generation, <|eom|> / <think> do not; the
 *     BOS / EOS / EOT ids are the expected tokens;
 *   - text round-trips through tokenize + detokenize (byte-level BPE is lossless);
 *   - a prompt decodes in one batch, logits are finite, a greedy token is sampled and decoded;
 *   - with a projector: mtmd initializes against the model, a generated RGB image tokenizes to a
 *     media chunk wrapped in the format's image start/end tokens, and mtmd_helper_eval_chunks
 *     encodes and decodes it; the image token count is reported.
 * Prints one "ok"/"FAIL" line per check; returns 0 only if all passed. Owns every llama/mtmd
 * object it creates and frees them before returning. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genmodel.h"
#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"

/* What a format needs to be checked. */
struct gm_format {
    const char *arch;
    const char *const *specials; /* NULL-terminated */
    const char *bos, *eos, *eot; /* expected texts of the vocab's BOS / EOS / EOT ids */
    const char *const *eog;      /* NULL-terminated: must end generation */
    const char *const *not_eog;  /* NULL-terminated: must NOT end generation */
    const char *prompt;          /* a short turn in the format, specials included */
    const char *media_prompt;    /* same with "%s" where the media marker goes */
    const char *image_start, *image_end; /* what mtmd wraps an image in */
};

static const char *const gm_glimmer_specials[] = {
    "<|begin_of_text|>", "<|end_of_text|>", "<|eot|>", "<|start|>", "<|message|>", "<|eom|>",
    "<|patch|>", "<|video|>", "<|image_start|>", "<|image_end|>", "<atem:function_calls>",
    "<atem:invoke", "<atem:parameter", "</atem:parameter>", "</atem:invoke>",
    "</atem:function_calls>", NULL};
static const char *const gm_glimmer_eog[] = {"<|eot|>", "<|end_of_text|>", NULL};
static const char *const gm_glimmer_not_eog[] = {"<|eom|>", "<|start|>", "<|message|>",
                                                 "<|patch|>", "<atem:function_calls>", NULL};

static const char *const gm_qwen3_specials[] = {
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>",
    "</tool_call>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", NULL};
static const char *const gm_qwen3_eog[] = {"<|im_end|>", "<|endoftext|>", NULL};
static const char *const gm_qwen3_not_eog[] = {"<think>", "</think>", "<tool_call>",
                                               "<|im_start|>", "<|image_pad|>", NULL};

static const struct gm_format gm_formats[] = {
    {"muse-glimmer", gm_glimmer_specials, "<|begin_of_text|>", "<|end_of_text|>", "<|eot|>",
     gm_glimmer_eog, gm_glimmer_not_eog,
     "<|start|>system<|message|>Reasoning strength: low.<|eot|><|start|>user<|message|>"
     "Hello, world!<|eot|><|start|>assistant to=self<|message|>",
     "<|start|>user<|message|>%sWhat is in this image?<|eot|><|start|>assistant",
     "<|image_start|>", "<|image_end|>"},
    {"qwen3", gm_qwen3_specials, "<|endoftext|>", "<|im_end|>", "<|im_end|>", gm_qwen3_eog,
     gm_qwen3_not_eog,
     "<|im_start|>user\nHello, world!<|im_end|>\n<|im_start|>assistant\n<think>\n", NULL, NULL,
     NULL},
    {"qwen3vl", gm_qwen3_specials, "<|endoftext|>", "<|im_end|>", "<|im_end|>", gm_qwen3_eog,
     gm_qwen3_not_eog,
     "<|im_start|>user\nHello, world!<|im_end|>\n<|im_start|>assistant\n<think>\n",
     "<|im_start|>user\n%sWhat is in this image?<|im_end|>\n<|im_start|>assistant\n",
     "<|vision_start|>", "<|vision_end|>"},
};

static int gm_n_failed;

static void gm_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gm_check(bool ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(ok ? "verify: ok   " : "verify: FAIL ", ok ? stdout : stderr);
    vfprintf(ok ? stdout : stderr, fmt, ap);
    fputc('\n', ok ? stdout : stderr);
    va_end(ap);
    if (!ok) {
        gm_n_failed++;
    }
}

static void gm_log(enum ggml_log_level level, const char *text, void *user) {
    const bool verbose = *(const bool *)user;
    if (verbose || level == GGML_LOG_LEVEL_ERROR) {
        fputs(text, stderr);
    }
}

/* Tokenizes into a malloc'd array; returns the count, or -1. */
static int gm_tokenize(const struct llama_vocab *vocab, const char *text, bool add_special,
                       bool parse_special, llama_token **out) {
    const int len = (int)strlen(text);
    int cap = len + 8;
    llama_token *t = malloc((size_t)cap * sizeof(*t));
    if (!t) {
        return -1;
    }
    int n = llama_tokenize(vocab, text, len, t, cap, add_special, parse_special);
    if (n < 0) {
        cap = -n;
        llama_token *t2 = realloc(t, (size_t)cap * sizeof(*t));
        if (!t2) {
            free(t);
            return -1;
        }
        t = t2;
        n = llama_tokenize(vocab, text, len, t, cap, add_special, parse_special);
    }
    if (n < 0) {
        free(t);
        return -1;
    }
    *out = t;
    return n;
}

/* The id of a text that must be a single token, or LLAMA_TOKEN_NULL. */
static llama_token gm_single(const struct llama_vocab *vocab, const char *text) {
    llama_token *t = NULL;
    const int n = gm_tokenize(vocab, text, false, true, &t);
    const llama_token id = n == 1 ? t[0] : LLAMA_TOKEN_NULL;
    free(t);
    return id;
}

static bool gm_logits_finite(struct llama_context *ctx, int n_vocab) {
    const float *logits = llama_get_logits_ith(ctx, -1);
    if (!logits) {
        return false;
    }
    for (int i = 0; i < n_vocab; i++) {
        if (!isfinite(logits[i])) {
            return false;
        }
    }
    return true;
}

static void gm_check_vocab(const struct llama_vocab *vocab, const struct gm_format *f) {
    int n_single = 0, n_total = 0;
    for (const char *const *s = f->specials; *s; s++, n_total++) {
        llama_token *t = NULL;
        const int n = gm_tokenize(vocab, *s, false, true, &t);
        const bool ok = n == 1 && strcmp(llama_vocab_get_text(vocab, t[0]), *s) == 0;
        if (!ok) {
            gm_check(false, "special %s tokenizes to %d tokens", *s, n);
        }
        n_single += ok;
        free(t);
    }
    gm_check(n_single == n_total, "%d/%d special tokens are single tokens", n_single, n_total);

    const llama_token bos = gm_single(vocab, f->bos), eos = gm_single(vocab, f->eos);
    const llama_token eot = gm_single(vocab, f->eot);
    gm_check(llama_vocab_bos(vocab) == bos, "BOS is %s (%d)", f->bos, bos);
    gm_check(llama_vocab_eos(vocab) == eos, "EOS is %s (%d)", f->eos, eos);
    gm_check(llama_vocab_eot(vocab) == eot, "EOT is %s (%d)", f->eot, eot);
    for (const char *const *s = f->eog; *s; s++) {
        const llama_token id = gm_single(vocab, *s);
        gm_check(id != LLAMA_TOKEN_NULL && llama_vocab_is_eog(vocab, id), "%s ends generation", *s);
    }
    for (const char *const *s = f->not_eog; *s; s++) {
        const llama_token id = gm_single(vocab, *s);
        gm_check(id != LLAMA_TOKEN_NULL && !llama_vocab_is_eog(vocab, id),
                 "%s does not end generation", *s);
    }

    /* byte-level BPE must be lossless, specials included */
    static const char sample[] =
        "Hello, world! The answer is 42.\n\n  Indented\ttab; caf\xc3\xa9 \xe2\x9c\x93 "
        "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82";
    const char *texts[2] = {sample, f->prompt};
    for (int i = 0; i < 2; i++) {
        llama_token *t = NULL;
        const int n = gm_tokenize(vocab, texts[i], false, true, &t);
        char buf[1024];
        const int len = n > 0 ? llama_detokenize(vocab, t, n, buf, sizeof(buf) - 1, false, true)
                              : -1;
        if (len >= 0) {
            buf[len] = 0;
        }
        gm_check(len >= 0 && strcmp(buf, texts[i]) == 0, "round trip of %s (%d tokens)",
                 i == 0 ? "mixed UTF-8 text" : "a prompt with specials", n);
        free(t);
    }
}

static void gm_check_decode(struct llama_context *ctx, const struct llama_vocab *vocab,
                            const struct gm_format *f) {
    const int n_vocab = llama_vocab_n_tokens(vocab);
    llama_token *t = NULL;
    const int n = gm_tokenize(vocab, f->prompt, true, true, &t);
    if (n <= 0) {
        gm_check(false, "prompt tokenizes");
        return;
    }
    int rc = llama_decode(ctx, llama_batch_get_one(t, n));
    gm_check(rc == 0, "decode of a %d-token prompt", n);
    free(t);
    if (rc != 0) {
        return;
    }
    gm_check(gm_logits_finite(ctx, n_vocab), "logits are finite");
    struct llama_sampler *smpl = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(smpl, llama_sampler_init_greedy());
    llama_token tok = llama_sampler_sample(smpl, ctx, -1);
    char piece[64], shown[256];
    const int np = llama_token_to_piece(vocab, tok, piece, sizeof(piece), 0, true);
    size_t k = 0;
    for (int i = 0; i < np && k + 5 < sizeof(shown); i++) {
        const unsigned char c = (unsigned char)piece[i];
        k += (size_t)snprintf(shown + k, sizeof(shown) - k, c < 0x20 ? "\\x%02x" : "%c", c);
    }
    shown[k] = 0;
    gm_check(tok >= 0 && tok < n_vocab, "sampled token %d '%s'", tok, shown);
    rc = llama_decode(ctx, llama_batch_get_one(&tok, 1));
    gm_check(rc == 0 && gm_logits_finite(ctx, n_vocab), "decode of the sampled token");
    llama_sampler_free(smpl);
}

/* The last token of a text chunk / the first one, or LLAMA_TOKEN_NULL. */
static llama_token gm_chunk_token(const mtmd_input_chunk *c, bool last) {
    if (!c || mtmd_input_chunk_get_type(c) != MTMD_INPUT_CHUNK_TYPE_TEXT) {
        return LLAMA_TOKEN_NULL;
    }
    size_t n = 0;
    const llama_token *t = mtmd_input_chunk_get_tokens_text(c, &n);
    return n == 0 ? LLAMA_TOKEN_NULL : t[last ? n - 1 : 0];
}

static void gm_check_mmproj(const char *mmproj_path, struct llama_model *model,
                            struct llama_context *ctx, const struct gm_format *f, int n_threads,
                            int n_batch) {
    if (!f->media_prompt) {
        gm_check(false, "architecture %s takes no projector (use --arch qwen3vl for Qwen3-VL)",
                 f->arch);
        return;
    }
    struct mtmd_context_params mp = mtmd_context_params_default();
    mp.use_gpu = false;
    mp.print_timings = false;
    mp.n_threads = n_threads;
    mtmd_context *mctx = mtmd_init_from_file(mmproj_path, model, mp);
    gm_check(mctx != NULL, "mtmd loads %s", mmproj_path);
    if (!mctx) {
        return;
    }
    gm_check(mtmd_support_vision(mctx), "projector supports vision");

    enum { W = 64, H = 64 };
    unsigned char *rgb = malloc(W * H * 3);
    mtmd_input_chunks *chunks = mtmd_input_chunks_init();
    char *prompt = malloc(strlen(f->media_prompt) + strlen(mtmd_default_marker()) + 1);
    if (!rgb || !chunks || !prompt) {
        gm_check(false, "out of memory");
        goto done;
    }
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            unsigned char *p = rgb + 3 * (y * W + x);
            p[0] = (unsigned char)(x * 4);
            p[1] = (unsigned char)(y * 4);
            p[2] = (unsigned char)((x ^ y) * 4);
        }
    }
    mtmd_bitmap *bmp = mtmd_bitmap_init(W, H, rgb);
    sprintf(prompt, f->media_prompt, mtmd_default_marker());
    const mtmd_input_text text = {prompt, strlen(prompt), true, true};
    const mtmd_bitmap *bitmaps[1] = {bmp};
    const int32_t rc = mtmd_tokenize(mctx, chunks, &text, bitmaps, 1);
    mtmd_bitmap_free(bmp);
    gm_check(rc == 0, "mtmd_tokenize of a %dx%d image", W, H);
    if (rc != 0) {
        goto done;
    }

    const size_t n_chunks = mtmd_input_chunks_size(chunks);
    size_t n_image_tokens = 0, n_images = 0;
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    for (size_t i = 0; i < n_chunks; i++) {
        const mtmd_input_chunk *c = mtmd_input_chunks_get(chunks, i);
        if (mtmd_input_chunk_get_type(c) != MTMD_INPUT_CHUNK_TYPE_IMAGE) {
            continue;
        }
        n_images++;
        n_image_tokens += mtmd_input_chunk_get_n_tokens(c);
        const llama_token before =
            i > 0 ? gm_chunk_token(mtmd_input_chunks_get(chunks, i - 1), true) : LLAMA_TOKEN_NULL;
        const llama_token after = i + 1 < n_chunks
                                      ? gm_chunk_token(mtmd_input_chunks_get(chunks, i + 1), false)
                                      : LLAMA_TOKEN_NULL;
        gm_check(before == gm_single(vocab, f->image_start) &&
                     after == gm_single(vocab, f->image_end),
                 "image chunk is wrapped in %s ... %s", f->image_start, f->image_end);
    }
    gm_check(n_images == 1 && n_image_tokens > 0,
             "image encodes to %zu tokens (%zu chunks, %zu total tokens, %d positions)",
             n_image_tokens, n_chunks, mtmd_helper_get_n_tokens(chunks),
             (int)mtmd_helper_get_n_pos(chunks));

    llama_memory_clear(llama_get_memory(ctx), true);
    llama_pos n_past = 0;
    const int32_t erc = mtmd_helper_eval_chunks(mctx, ctx, chunks, 0, 0, n_batch, true, &n_past);
    gm_check(erc == 0, "mtmd_helper_eval_chunks encodes and decodes (n_past %d)", (int)n_past);
    if (erc == 0) {
        gm_check(gm_logits_finite(ctx, llama_vocab_n_tokens(vocab)),
                 "logits after the image are finite");
    }
done:
    free(prompt);
    free(rgb);
    mtmd_input_chunks_free(chunks);
    mtmd_free(mctx);
}

int gm_verify(const char *model_path, const char *mmproj_path, int n_threads, bool verbose) {
    static bool log_verbose;
    log_verbose = verbose;
    llama_log_set(gm_log, &log_verbose);
    mtmd_helper_log_set(gm_log, &log_verbose);
    llama_backend_init();
    gm_n_failed = 0;

    struct llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(model_path, mparams);
    gm_check(model != NULL, "llama.cpp loads %s", model_path);
    if (!model) {
        llama_backend_free();
        return 1;
    }
    char arch[64] = "", desc[128] = "";
    llama_model_meta_val_str(model, "general.architecture", arch, sizeof(arch));
    llama_model_desc(model, desc, sizeof(desc));
    const struct gm_format *f = NULL;
    for (size_t i = 0; i < sizeof(gm_formats) / sizeof(gm_formats[0]); i++) {
        if (strcmp(gm_formats[i].arch, arch) == 0) {
            f = &gm_formats[i];
        }
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    gm_check(f != NULL, "model: %s, %.2fM params, %.1f MiB, vocab %d, n_embd %d (input %d)",
             desc, (double)llama_model_n_params(model) / 1e6,
             (double)llama_model_size(model) / (1024.0 * 1024.0), llama_vocab_n_tokens(vocab),
             llama_model_n_embd(model), llama_model_n_embd_inp(model));

    struct llama_context *ctx = NULL;
    if (f) {
        gm_check_vocab(vocab, f);
        struct llama_context_params cparams = llama_context_default_params();
        cparams.n_ctx = 512;
        cparams.n_batch = 512;
        cparams.n_ubatch = 512;
        if (n_threads > 0) {
            cparams.n_threads = n_threads;
            cparams.n_threads_batch = n_threads;
        }
        ctx = llama_init_from_model(model, cparams);
        gm_check(ctx != NULL, "llama context (n_ctx %u)", cparams.n_ctx);
        if (ctx) {
            gm_check_decode(ctx, vocab, f);
            if (mmproj_path) {
                gm_check_mmproj(mmproj_path, model, ctx, f, n_threads > 0 ? n_threads : 2,
                                (int)cparams.n_batch);
            }
        }
    }
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    if (gm_n_failed) {
        fprintf(stderr, "verify: %d check(s) FAILED for %s\n", gm_n_failed, model_path);
        return 1;
    }
    printf("verify: all checks passed for %s%s%s\n", model_path, mmproj_path ? " + " : "",
           mmproj_path ? mmproj_path : "");
    return 0;
}
