/* cmd_show.c — `ember show MODEL`: what ember knows of a model file. */
#include "commands.h"
#include "ember.h"

#include <stdio.h>
#include <string.h>

static void print_count(const char *label, uint64_t n) {
    if (n >= 1000000000ull) printf("%-16s%.2fB\n", label, n / 1e9);
    else if (n >= 1000000ull) printf("%-16s%.2fM\n", label, n / 1e6);
    else printf("%-16s%llu\n", label, (unsigned long long)n);
}

/* A vision projector: what it is and which images it reads. */
static void describe_projector(const ember_model_info *info, bool json) {
    if (json) {
        printf("{\"architecture\": \"%s\", \"projector\": true, \"projector_type\": \"%s\", \"parameters\": %llu, "
               "\"quantization\": \"%s\", \"image_size\": %u, \"patch_size\": %u, \"layers\": %u, "
               "\"embedding_length\": %u, \"projection_dim\": %u, \"file_size\": %llu}\n",
               info->architecture, info->projector_type, (unsigned long long)info->n_params, info->quantization,
               info->image_size, info->patch_size, info->n_layers, info->n_embd, info->projection_dim,
               (unsigned long long)info->file_size);
        return;
    }
    printf("%-16s%s\n", "name", info->name);
    printf("%-16s%s\n", "kind", "vision projector (give it to a model with --mmproj)");
    printf("%-16s%s\n", "projector type", info->projector_type[0] ? info->projector_type : "unknown");
    print_count("parameters", info->n_params);
    printf("%-16s%s\n", "quantization", info->quantization);
    printf("%-16s%u px\n", "image size", info->image_size);
    printf("%-16s%u px\n", "patch size", info->patch_size);
    printf("%-16s%u\n", "encoder layers", info->n_layers);
    printf("%-16s%u\n", "embedding", info->n_embd);
    printf("%-16s%u\n", "projection", info->projection_dim);
    print_count("file size", info->file_size);
}

int ember_cmd_show(int argc, char **argv) {
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if ((strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "--model") == 0) && i + 1 < argc) path = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "ember show: unknown option '%s'\nusage: ember show [--json] MODEL\n", argv[i]);
            return 2;
        } else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: ember show [--json] MODEL\n");
        return 2;
    }
    ember_model_info info;
    ember_error err = {0};
    ember_status status = ember_model_inspect(path, &info, &err);
    if (status != EMBER_OK && status != EMBER_ERR_UNSUPPORTED) {
        fprintf(stderr, "ember show: %s\n", err.message);
        return 1;
    }
    if (info.is_projector) {
        describe_projector(&info, json);
        return 0;
    }
    if (json) {
        printf("{\"architecture\": \"%s\", \"parameters\": %llu, \"quantization\": \"%s\", "
               "\"context_length\": %u, \"chat_format\": \"%s\", \"vision\": %s, \"file_size\": %llu, "
               "\"layers\": %u, \"embedding_length\": %u, \"vocab_size\": %u}\n",
               info.architecture, (unsigned long long)info.n_params, info.quantization, info.context_length,
               info.chat_format, info.has_vision ? "true" : "false", (unsigned long long)info.file_size,
               info.n_layers, info.n_embd, info.n_vocab);
    } else {
        printf("%-16s%s\n", "name", info.name);
        printf("%-16s%s\n", "architecture", info.architecture);
        print_count("parameters", info.n_params);
        printf("%-16s%s\n", "quantization", info.quantization);
        printf("%-16s%u\n", "context length", info.context_length);
        printf("%-16s%u\n", "layers", info.n_layers);
        printf("%-16s%u\n", "embedding", info.n_embd);
        printf("%-16s%u\n", "vocabulary", info.n_vocab);
        printf("%-16s%s\n", "chat format", info.chat_format);
        printf("%-16s%s%s%s\n", "vision", info.has_vision ? "yes (" : "no", info.mmproj_path,
               info.has_vision ? ")" : "");
        print_count("file size", info.file_size);
    }
    if (status == EMBER_ERR_UNSUPPORTED) {
        fprintf(stderr, "ember show: %s\n", err.message);
        return 1;
    }
    return 0;
}
