/* main.c — ember-genmodel's command line: parses options into a struct gm_opts, applies the
 * defaults (a tiny model), validates sizes, then either generates a text model (+ projector) or
 * runs --verify. The only file that exits; exit status 0 = success, 1 = failure, 2 = usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "genmodel.h"

static void gm_usage(FILE *out) {
    fputs(
        "usage: ember-genmodel --arch ARCH --out FILE [--mmproj FILE] [options]\n"
        "       ember-genmodel --verify MODEL [--mmproj FILE] [--threads N] [-v]\n"
        "\n"
        "Writes a tiny random-weight GGUF of a real architecture that llama.cpp loads and runs.\n"
        "  --arch muse-glimmer|qwen3|qwen3vl   text architecture (default muse-glimmer)\n"
        "  --out FILE          text model to write\n"
        "  --mmproj FILE       also write the vision projector (muse-glimmer, qwen3vl);\n"
        "                      with --verify: the projector to check with the model\n"
        "  --n-embd N          hidden size (64)          --n-layer N     blocks (2)\n"
        "  --n-head N          query heads (4)           --n-head-kv N   key/value heads (2)\n"
        "  --head-dim N        head size (n_embd/n_head) --n-ff N        feed-forward size (128)\n"
        "  --n-ctx N           trained context (4096)    --n-swa N       sliding window (512)\n"
        "  --n-vocab N         total vocabulary incl. 256 bytes and specials (512)\n"
        "  --type f32|f16|q8_0 weight matrices (f32); norms stay f32, projector f32 or f16\n"
        "  --seed N            random seed (42); same seed + options = identical files\n"
        "  --untied            qwen3: a separate output.weight (ember train needs it)\n"
        "  --rope-base X       qwen3: RoPE frequency base (Qwen3's 1e6)\n"
        "  --name TEXT         general.name\n"
        "  --v-embd N --v-layer N --v-head N --v-ff N   vision sizes (64, 2, 4, 128)\n"
        "  --patch-size N      vision patch side (8)\n"
        "  --image-size N      nominal image side (64); a SxS image -> (S/(2*patch))^2 tokens\n"
        "  --threads N         worker threads (all CPUs)\n"
        "  -v, --verbose       with --verify: show llama.cpp's log\n"
        "\n"
        "Benchmark size: --n-embd 1024 --n-layer 24 --n-head 16 --n-head-kv 4 --n-ff 4096\n"
        "                --n-vocab 32000 --type q8_0   (~0.46B parameters)\n",
        out);
}

const char *gm_arch_name(enum gm_arch arch) {
    switch (arch) {
    case GM_ARCH_GLIMMER:
        return "muse-glimmer";
    case GM_ARCH_QWEN3:
        return "qwen3";
    case GM_ARCH_QWEN3VL:
        return "qwen3vl";
    }
    return "?";
}

uint32_t gm_file_type(enum ggml_type type) {
    switch (type) {
    case GGML_TYPE_F16:
        return 1; /* LLAMA_FTYPE_MOSTLY_F16 */
    case GGML_TYPE_Q8_0:
        return 7; /* LLAMA_FTYPE_MOSTLY_Q8_0 */
    default:
        return 0; /* LLAMA_FTYPE_ALL_F32 */
    }
}

static double gm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Parses a positive int option value; returns -1 (after a message) if it is not one. */
static int gm_parse_int(const char *opt, const char *s, int min) {
    char *end = NULL;
    errno = 0;
    const long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < min || v > (1L << 30)) {
        fprintf(stderr, "genmodel: %s needs an integer >= %d, got '%s'\n", opt, min, s ? s : "");
        return -1;
    }
    return (int)v;
}

/* Describes and writes one file; prints a summary line. */
static int gm_generate(const struct gm_opts *o, const char *path, const char *what,
                       int (*build)(const struct gm_opts *, struct gm_writer *), uint64_t seed) {
    const double t0 = gm_now();
    struct gm_writer *w = gm_writer_new();
    if (!w) {
        fprintf(stderr, "genmodel: out of memory\n");
        return -1;
    }
    int rc = build(o, w);
    if (rc == 0) {
        rc = gm_writer_write(w, path, seed, o->n_threads);
    }
    if (rc == 0) {
        struct stat st;
        const long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
        printf("genmodel: wrote %s: %s, %.3fM params, %lld bytes, %.2f s\n", path, what,
               (double)gm_writer_n_params(w) / 1e6, size, gm_now() - t0);
    }
    gm_writer_free(w);
    return rc;
}

int main(int argc, char **argv) {
    struct gm_opts o = {
        .arch = GM_ARCH_GLIMMER,
        .n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .head_dim = 0, .n_ff = 128,
        .n_ctx = 4096, .n_vocab = 512, .n_swa = 512, .type = GGML_TYPE_F32, .seed = 42,
        .v_embd = 64, .v_layer = 2, .v_head = 4, .v_ff = 128, .v_patch = 8,
    };
    int image_size = 64;
    const char *verify = NULL;
    bool verbose = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *num = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            gm_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
            continue;
        } else if (!strcmp(a, "--untied")) {
            o.untied = true;
            continue;
        } else if (!strcmp(a, "--rope-base") && v) {
            char *end = NULL;
            o.rope_base = strtof(v, &end);
            if (*end || end == v || !(o.rope_base > 1.0f)) {
                fprintf(stderr, "genmodel: --rope-base needs a number above 1, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--arch") && v) {
            if (!strcmp(v, "muse-glimmer")) {
                o.arch = GM_ARCH_GLIMMER;
            } else if (!strcmp(v, "qwen3")) {
                o.arch = GM_ARCH_QWEN3;
            } else if (!strcmp(v, "qwen3vl")) {
                o.arch = GM_ARCH_QWEN3VL;
            } else {
                fprintf(stderr, "genmodel: unknown --arch '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--type") && v) {
            if (!strcmp(v, "f32")) {
                o.type = GGML_TYPE_F32;
            } else if (!strcmp(v, "f16")) {
                o.type = GGML_TYPE_F16;
            } else if (!strcmp(v, "q8_0")) {
                o.type = GGML_TYPE_Q8_0;
            } else {
                fprintf(stderr, "genmodel: unknown --type '%s' (f32, f16, q8_0)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--seed") && v) {
            char *end = NULL;
            errno = 0;
            o.seed = strtoull(v, &end, 0);
            if (errno || *end || end == v) {
                fprintf(stderr, "genmodel: --seed needs an unsigned integer, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--out") && v) {
            o.out = v;
        } else if (!strcmp(a, "--mmproj") && v) {
            o.mmproj = v;
        } else if (!strcmp(a, "--name") && v) {
            o.name = v;
        } else if (!strcmp(a, "--verify") && v) {
            verify = v;
        } else if (!strcmp(a, "--n-embd")) {
            num = &o.n_embd;
        } else if (!strcmp(a, "--n-layer")) {
            num = &o.n_layer;
        } else if (!strcmp(a, "--n-head")) {
            num = &o.n_head;
        } else if (!strcmp(a, "--n-head-kv")) {
            num = &o.n_head_kv;
        } else if (!strcmp(a, "--head-dim")) {
            num = &o.head_dim;
        } else if (!strcmp(a, "--n-ff")) {
            num = &o.n_ff;
        } else if (!strcmp(a, "--n-ctx")) {
            num = &o.n_ctx;
        } else if (!strcmp(a, "--n-vocab")) {
            num = &o.n_vocab;
        } else if (!strcmp(a, "--n-swa")) {
            num = &o.n_swa;
        } else if (!strcmp(a, "--v-embd")) {
            num = &o.v_embd;
        } else if (!strcmp(a, "--v-layer")) {
            num = &o.v_layer;
        } else if (!strcmp(a, "--v-head")) {
            num = &o.v_head;
        } else if (!strcmp(a, "--v-ff")) {
            num = &o.v_ff;
        } else if (!strcmp(a, "--patch-size")) {
            num = &o.v_patch;
        } else if (!strcmp(a, "--image-size")) {
            num = &image_size;
        } else if (!strcmp(a, "--threads")) {
            num = &o.n_threads;
        } else {
            fprintf(stderr, "genmodel: unknown option or missing value: %s\n", a);
            gm_usage(stderr);
            return 2;
        }
        if (num) {
            const int n = gm_parse_int(a, v, 1);
            if (n < 0) {
                return 2;
            }
            *num = n;
        }
        i++; /* every option but -v/-h takes a value */
    }

    if (verify) {
        return gm_verify(verify, o.mmproj, o.n_threads, verbose) == 0 ? 0 : 1;
    }
    if (!o.out) {
        fprintf(stderr, "genmodel: --out FILE is required (or --verify MODEL)\n");
        gm_usage(stderr);
        return 2;
    }

    if (!o.head_dim) {
        o.head_dim = o.n_embd / o.n_head;
    }
    if (o.n_swa > o.n_ctx) {
        o.n_swa = o.n_ctx;
    }
    const char *bad = NULL;
    if (o.n_head % o.n_head_kv != 0) {
        bad = "--n-head must be a multiple of --n-head-kv";
    } else if (o.head_dim < 2 || o.head_dim % 2 != 0) {
        bad = "the head size must be even (RoPE rotates pairs)";
    } else if (o.arch == GM_ARCH_QWEN3VL && o.head_dim % 8 != 0) {
        bad = "qwen3vl needs a head size that is a multiple of 8 (M-RoPE sections)";
    } else if (o.v_embd % o.v_head != 0 || (o.v_embd / o.v_head) % 4 != 0) {
        bad = "--v-embd / --v-head must be a multiple of 4 (2-D RoPE)";
    } else if (o.mmproj && o.arch == GM_ARCH_QWEN3) {
        bad = "qwen3 is text only; use --arch qwen3vl for the Qwen3-VL pair";
    }
    const int per_grid = o.arch == GM_ARCH_GLIMMER ? 2 * o.v_patch : o.v_patch;
    if (!bad && o.mmproj && image_size % (2 * o.v_patch) != 0) {
        bad = "--image-size must be a multiple of 2 * --patch-size";
    }
    if (bad) {
        fprintf(stderr, "genmodel: %s\n", bad);
        return 2;
    }
    o.v_grid = image_size / per_grid;

    if (gm_generate(&o, o.out, gm_arch_name(o.arch),
                    o.arch == GM_ARCH_GLIMMER ? gm_build_glimmer : gm_build_qwen3, o.seed) != 0) {
        return 1;
    }
    if (o.mmproj) {
        const uint64_t seed = o.seed ^ 0x6D6D70726F6A0000ull; /* "mmproj": a separate stream */
        if (o.arch == GM_ARCH_GLIMMER) {
            if (gm_generate(&o, o.mmproj, "clip muse-glimmer", gm_build_mmproj_glimmer, seed)) {
                return 1;
            }
        } else if (gm_generate(&o, o.mmproj, "clip qwen3vl_merger", gm_build_mmproj_qwen3vl,
                               seed)) {
            return 1;
        }
    }
    return 0;
}
