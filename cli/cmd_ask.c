/* cmd_ask.c — `ember ask`: answer one prompt, streaming, or as one JSON object with --json. */
#include "commands.h"
#include "options.h"
#include "render.h"
#include "interrupt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ember ask -m MODEL [options] PROMPT...   (PROMPT '-' reads standard input)\n"
    "      --json              print one JSON object at the end instead of streaming\n"
    "      --show-reasoning    stream the reasoning (dimmed) to stderr\n"
    "  (images: --image FILE; put " EMBER_IMAGE_MARKER " in the prompt where one goes, else they come first)\n";

static char *join_prompt(int argc, char **argv, int first) {
    if (first == argc - 1 && strcmp(argv[first], "-") == 0) return cli_read_file("/dev/stdin");
    size_t len = 1;
    for (int i = first; i < argc; i++) len += strlen(argv[i]) + 1;
    char *text = calloc(1, len);
    if (!text) return NULL;
    for (int i = first; i < argc; i++) {
        if (i > first) strcat(text, " ");
        strcat(text, argv[i]);
    }
    return text;
}

static bool is_blank(const char *text) {
    while (*text && isspace((unsigned char)*text)) text++;
    return *text == '\0';
}

int ember_cmd_ask(int argc, char **argv) {
    cli_options opts;
    cli_options_init(&opts);
    bool json = false, show_reasoning = false;
    int first_word = argc;
    for (int i = 1; i < argc; i++) {
        cli_parse p = cli_options_parse(&opts, argc, argv, &i);
        if (p == CLI_PARSE_ERROR) { cli_options_free(&opts); return 2; }
        if (p == CLI_PARSE_OK) continue;
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--show-reasoning") == 0) show_reasoning = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("%s%s", usage, cli_options_help);
            cli_options_free(&opts);
            return 0;
        } else if (strcmp(argv[i], "--") == 0) { first_word = i + 1; break; }
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ember ask: unknown option '%s'\n%s", argv[i], usage);
            cli_options_free(&opts);
            return 2;
        } else { first_word = i; break; }
    }
    if (first_word >= argc) {
        fprintf(stderr, "ember ask: no prompt given\n%s", usage);
        cli_options_free(&opts);
        return 2;
    }
    int finish = cli_options_finish(&opts, "ask");
    if (finish) { cli_options_free(&opts); return finish; }
    char *prompt = join_prompt(argc, argv, first_word);
    if (!prompt) { cli_options_free(&opts); return 1; }
    if (is_blank(prompt)) {
        fprintf(stderr, "ember ask: the prompt is empty\n%s", usage);
        free(prompt);
        cli_options_free(&opts);
        return 2;
    }
    ember_image **images = NULL;
    int n_images = 0;
    if (!cli_load_images(&opts, "ask", &images, &n_images)) {
        free(prompt);
        cli_options_free(&opts);
        return 1;
    }

    int rc = 1;
    ember_error err = {0};
    ember_engine *engine = NULL;
    ember_chat *chat = ember_chat_create();
    ember_result *result = NULL;
    if (opts.run.mode == EMBER_MODE_CONTEMPLATING && opts.run.agents + 2 > opts.engine.n_seq_max)
        opts.engine.n_seq_max = opts.run.agents + 2 > 32 ? opts.run.agents + 2 : 32;
    if (ember_engine_create(&opts.engine, &engine, &err) != EMBER_OK) goto out;
    if (ember_chat_add(chat, EMBER_ROLE_USER, prompt, &err) != EMBER_OK) goto out;
    for (int i = 0; i < n_images; i++)
        if (ember_chat_add_image(chat, images[i], &err) != EMBER_OK) goto out;

    cli_render render;
    cli_render_init(&render, show_reasoning, json);
    bool interrupted = false;
    cli_interrupt_install();
    ember_status status = cli_run_interruptible(engine, chat, &opts.run, cli_render_event, &render, &result,
                                                &interrupted, &err);
    cli_render_finish(&render);
    if (json && result) {
        char *text = ember_result_json(result);
        if (text) puts(text);
        free(text);
    }
    if (status == EMBER_OK) rc = 0;
    if (result && !cli_vision_outputs(&opts, result, chat, 0)) rc = 1;
    if (interrupted) {  /* Ctrl-C: what was generated is shown; the conventional status */
        err = (ember_error){0};
        rc = 130;
    }

out:
    if (err.status != EMBER_OK) fprintf(stderr, "ember ask: %s\n", err.message);
    ember_result_destroy(result);
    ember_chat_destroy(chat);
    ember_engine_destroy(engine);
    cli_free_images(images, n_images);
    free(prompt);
    cli_options_free(&opts);
    return rc;
}
