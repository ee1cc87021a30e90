/*
 * inspect.c — ember_model_inspect: what a GGUF is, read from its metadata with ggml's gguf.h
 * and without loading weights; also the chat-format choice the engine uses.
 */
#include "engine/inspect.h"
#include "core/error.h"

#include <ggml.h>
#include <gguf.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *ftype_name(uint32_t ftype) {
    static const struct { uint32_t id; const char *name; } names[] = {
        {0, "F32"}, {1, "F16"}, {2, "Q4_0"}, {3, "Q4_1"}, {7, "Q8_0"}, {8, "Q5_0"}, {9, "Q5_1"},
        {10, "Q2_K"}, {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},
        {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"}, {19, "IQ2_XXS"},
        {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"}, {24, "IQ1_S"},
        {25, "IQ4_NL"}, {26, "IQ3_S"}, {27, "IQ3_M"}, {28, "IQ2_S"}, {29, "IQ2_M"},
        {30, "IQ4_XS"}, {31, "IQ1_M"}, {32, "BF16"}, {36, "TQ1_0"}, {37, "TQ2_0"},
        {38, "MXFP4_MOE"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].id == ftype) return names[i].name;
    return NULL;
}

static void copy_str(char *dst, size_t size, const char *src) {
    snprintf(dst, size, "%s", src ? src : "");
}

static const char *get_str(const struct gguf_context *g, const char *key) {
    int64_t id = gguf_find_key(g, key);
    if (id < 0 || gguf_get_kv_type(g, id) != GGUF_TYPE_STRING) return NULL;
    return gguf_get_val_str(g, id);
}

static uint32_t get_u32(const struct gguf_context *g, const char *key) {
    int64_t id = gguf_find_key(g, key);
    if (id < 0) return 0;
    switch (gguf_get_kv_type(g, id)) {
    case GGUF_TYPE_UINT32: return gguf_get_val_u32(g, id);
    case GGUF_TYPE_INT32: return (uint32_t)gguf_get_val_i32(g, id);
    case GGUF_TYPE_UINT64: return (uint32_t)gguf_get_val_u64(g, id);
    default: return 0;
    }
}

const char *inspect_chat_format(const char *architecture, const char *chat_template) {
    if (strcmp(architecture, "muse-glimmer") == 0) return "muse-glimmer";
    if (chat_template && strstr(chat_template, "<|im_start|>") && strstr(chat_template, "<think>"))
        return "chatml-think";
    if (strncmp(architecture, "qwen3", 5) == 0) return "chatml-think";
    return "unknown";
}

/* A quantization or precision label such as Q4_K_M, IQ2_XS, F16, BF16, f32, MXFP4. */
static bool is_quant_label(const char *s, size_t n) {
    char up[16];
    if (n == 0 || n >= sizeof up) return false;
    for (size_t i = 0; i < n; i++) up[i] = (char)toupper((unsigned char)s[i]);
    up[n] = '\0';
    if (strcmp(up, "F16") == 0 || strcmp(up, "F32") == 0 || strcmp(up, "BF16") == 0 || strncmp(up, "MXFP4", 5) == 0)
        return true;
    if ((up[0] == 'Q' && isdigit((unsigned char)up[1])) || (up[0] == 'I' && up[1] == 'Q' && isdigit((unsigned char)up[2])) ||
        (up[0] == 'T' && up[1] == 'Q' && isdigit((unsigned char)up[2])))
        return true;
    return false;
}

/* The name without ".gguf", a split suffix (-00001-of-00003) and a trailing quant label. */
static void name_core(const char *name, char *out, size_t size) {
    snprintf(out, size, "%s", name);
    size_t n = strlen(out);
    if (n > 5 && strcasecmp(out + n - 5, ".gguf") == 0) out[n -= 5] = '\0';
    if (n > 15 && strncmp(out + n - 15, "-0", 2) == 0 && strncmp(out + n - 9, "-of-", 4) == 0) out[n -= 15] = '\0';
    char *sep = NULL;
    for (char *p = out; *p; p++)
        if (*p == '-' || *p == '.' || *p == '_') sep = p;
    /* "Q4_K_M" contains '_': look for the last '-' or '.' first */
    char *dash = strrchr(out, '-'), *dot = strrchr(out, '.');
    char *cut = dash > dot ? dash : dot;
    if (cut && is_quant_label(cut + 1, strlen(cut + 1))) *cut = '\0';
    else if (!cut && is_quant_label(out, strlen(out))) out[0] = '\0';
    else if (sep && sep != cut && is_quant_label(sep + 1, strlen(sep + 1))) *sep = '\0';
}

/* A projector's file name without "mmproj" and the separators around it, wherever it stands:
 * "mmproj-Qwen2.5-VL-7B-f16.gguf" -> "Qwen2.5-VL-7B-f16.gguf", "tiny-mmproj.gguf" ->
 * "tiny.gguf". False when the name does not contain "mmproj" or is not a .gguf. */
static bool projector_rest(const char *name, char *out, size_t size) {
    size_t len = strlen(name);
    const char *at = name;
    while (*at && strncasecmp(at, "mmproj", 6) != 0) at++;
    if (!*at || len < 5 || strcasecmp(name + len - 5, ".gguf") != 0) return false;
    size_t head = (size_t)(at - name);
    while (head > 0 && strchr("-_.", name[head - 1])) head--;
    const char *tail = at + 6;
    while (*tail == '-' || *tail == '_' || (*tail == '.' && strcasecmp(tail, ".gguf") != 0)) tail++;
    bool join = head > 0 && strcasecmp(tail, ".gguf") != 0;
    snprintf(out, size, "%.*s%s%s", (int)head, name, join ? "-" : "", tail);
    return true;
}

/* Finds the vision projector beside a model: a *mmproj*.gguf whose name, without "mmproj"
 * and quantization labels, equals the model's (mmproj-Qwen2.5-VL-7B-f16.gguf or
 * Qwen2.5-VL-7B-mmproj-f16.gguf for Qwen2.5-VL-7B-Q4_K_M.gguf), else one without a name of its
 * own (mmproj-F16.gguf, as in repositories with one model). Another model's projector is
 * never taken. */
void inspect_find_mmproj(const char *model_path, char *out, size_t size) {
    out[0] = '\0';
    char *copy = strdup(model_path), *copy2 = strdup(model_path);
    if (!copy || !copy2) {
        free(copy);
        free(copy2);
        return;
    }
    const char *dir = dirname(copy);
    char model_core[512];
    name_core(basename(copy2), model_core, sizeof model_core);
    DIR *d = opendir(dir);
    int best = 0;
    char best_name[512] = "";
    if (d) {
        struct dirent *ent;
        while ((ent = readdir(d))) {
            char rest[512];
            if (!projector_rest(ent->d_name, rest, sizeof rest)) continue;
            char core[512];
            name_core(rest, core, sizeof core);
            int score = strcasecmp(core, model_core) == 0 ? 3 : core[0] == '\0' ? (strncasecmp(rest, "F16", 3) == 0 ? 2 : 1) : 0;
            if (score > best || (score == best && score > 0 && strcmp(ent->d_name, best_name) < 0)) {
                best = score;
                snprintf(best_name, sizeof best_name, "%s", ent->d_name);
            }
        }
        closedir(d);
    }
    if (best > 0) snprintf(out, size, "%s/%s", dir, best_name);
    free(copy);
    free(copy2);
}

ember_status inspect_projector(const char *path, int *image_size, ember_error *err) {
    *image_size = 0;
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return ember_fail(err, EMBER_ERR_NOT_FOUND, "projector file '%s' not found", path ? path : "(null)");
    struct gguf_init_params gp = {.no_alloc = true, .ctx = NULL};
    struct gguf_context *g = gguf_init_from_file(path, gp);
    if (!g) return ember_fail(err, EMBER_ERR_FORMAT, "'%s' is not a GGUF file (or it is corrupt)", path);
    char arch[64];
    copy_str(arch, sizeof arch, get_str(g, "general.architecture"));
    *image_size = (int)get_u32(g, "clip.vision.image_size");
    gguf_free(g);
    if (strcmp(arch, "clip") != 0)
        return ember_fail(err, EMBER_ERR_FORMAT, "'%s' is not a vision projector (its architecture is '%s')", path,
                          arch[0] ? arch : "unknown");
    return EMBER_OK;
}

ember_status ember_model_inspect(const char *path, ember_model_info *info, ember_error *err) {
    memset(info, 0, sizeof *info);
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return ember_fail(err, EMBER_ERR_NOT_FOUND, "model file '%s' not found", path ? path : "(null)");
    if (!S_ISREG(st.st_mode))
        return ember_fail(err, EMBER_ERR_FORMAT, "'%s' is not a regular file", path);
    info->file_size = (uint64_t)st.st_size;

    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return ember_fail(err, EMBER_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    if (got != 4 || memcmp(magic, "GGUF", 4) != 0)
        return ember_fail(err, EMBER_ERR_FORMAT, "'%s' is not a GGUF file", path);

    struct ggml_context *meta = NULL;
    struct gguf_init_params gp = {.no_alloc = true, .ctx = &meta};
    struct gguf_context *g = gguf_init_from_file(path, gp);
    if (!g) return ember_fail(err, EMBER_ERR_FORMAT, "'%s' is a corrupt or truncated GGUF file", path);

    const char *arch = get_str(g, "general.architecture");
    copy_str(info->architecture, sizeof info->architecture, arch ? arch : "unknown");
    const char *name = get_str(g, "general.name");
    if (!name) name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    copy_str(info->name, sizeof info->name, name);

    char key[128];
    snprintf(key, sizeof key, "%s.context_length", info->architecture);
    info->context_length = get_u32(g, key);
    snprintf(key, sizeof key, "%s.block_count", info->architecture);
    info->n_layers = get_u32(g, key);
    snprintf(key, sizeof key, "%s.embedding_length", info->architecture);
    info->n_embd = get_u32(g, key);
    int64_t tok = gguf_find_key(g, "tokenizer.ggml.tokens");
    if (tok >= 0) info->n_vocab = (uint32_t)gguf_get_arr_n(g, tok);

    int64_t ft = gguf_find_key(g, "general.file_type");
    const char *qname = ft >= 0 ? ftype_name(get_u32(g, "general.file_type")) : NULL;
    /* Without a file type, name the type most of the weights use. */
    size_t type_bytes[GGML_TYPE_COUNT] = {0};
    for (int64_t i = 0; i < gguf_get_n_tensors(g); i++) {
        struct ggml_tensor *t = ggml_get_tensor(meta, gguf_get_tensor_name(g, i));
        if (!t) continue;
        info->n_params += (uint64_t)ggml_nelements(t);
        type_bytes[t->type] += ggml_nbytes(t);
    }
    if (!qname) {
        int best = 0;
        for (int t = 1; t < GGML_TYPE_COUNT; t++)
            if (type_bytes[t] > type_bytes[best]) best = t;
        qname = ggml_type_name((enum ggml_type)best);
    }
    copy_str(info->quantization, sizeof info->quantization, qname);
    copy_str(info->chat_format, sizeof info->chat_format,
             inspect_chat_format(info->architecture, get_str(g, "tokenizer.chat_template")));

    bool is_projector = strcmp(info->architecture, "clip") == 0;
    if (is_projector) {
        info->is_projector = true;
        copy_str(info->projector_type, sizeof info->projector_type, get_str(g, "clip.projector_type"));
        info->image_size = get_u32(g, "clip.vision.image_size");
        info->patch_size = get_u32(g, "clip.vision.patch_size");
        info->n_layers = get_u32(g, "clip.vision.block_count");
        info->n_embd = get_u32(g, "clip.vision.embedding_length");
        info->projection_dim = get_u32(g, "clip.vision.projection_dim");
        copy_str(info->chat_format, sizeof info->chat_format, "none");
    } else {
        inspect_find_mmproj(path, info->mmproj_path, sizeof info->mmproj_path);
        info->has_vision = info->mmproj_path[0] != '\0';
    }

    gguf_free(g);
    ggml_free(meta);
    if (is_projector)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED,
                          "'%s' is a vision projector (mmproj), not a language model; pass it with --mmproj", path);
    if (strcmp(info->chat_format, "unknown") == 0)
        return ember_fail(err, EMBER_ERR_UNSUPPORTED,
                          "architecture '%s' has no chat format ember knows (supported: muse-glimmer, "
                          "qwen3 / ChatML with <think>)", info->architecture);
    return EMBER_OK;
}
