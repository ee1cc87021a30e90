/*
 * cmd_run.c — `ember run`: an interactive chat with history and line editing (libedit).
 * Lines starting with '/' are commands; everything else is the next user turn.
 */
#include "commands.h"
#include "options.h"
#include "render.h"

#include <editline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: ember run -m MODEL [options]\n"
    "      --show-reasoning    show the reasoning (dimmed)\n"
    "      --stats             after each answer, one line on stderr: time to the first answer token,\n"
    "                          prompt tokens evaluated, images encoded\n"
    "  (--image FILE attaches images to the first message; the conversation's prompt stays cached\n"
    "   between turns, so a next question about the same image is not encoded or evaluated again)\n";

static const char commands_help[] =
    "/mode instant|thinking|contemplating   switch mode\n"
    "/reasoning low|medium|high|xhigh       reasoning strength\n"
    "/budget N                              think budget in tokens (0 = none)\n"
    "/agents N                              contemplating agents\n"
    "/reasoning-shown on|off                show the reasoning\n"
    "/image PATH                            attach an image to the next message\n"
    "/clear                                 forget the conversation\n"
    "/help, /exit\n";

typedef struct session {
    cli_options *opts;
    ember_engine *engine;
    ember_chat *chat;
    ember_prefix_cache *cache;   /* the conversation's prompt, kept between turns */
    ember_image **pending;       /* attached to the next message */
    int n_pending;
    int turns;
    bool show_reasoning;
    bool stats;
} session;

static void attach(session *s, ember_image *image) {
    ember_image **grown = realloc(s->pending, sizeof *grown * (size_t)(s->n_pending + 1));
    if (!grown) {
        ember_image_destroy(image);
        return;
    }
    s->pending = grown;
    s->pending[s->n_pending++] = image;
}

static void drop_pending(session *s) {
    for (int i = 0; i < s->n_pending; i++) ember_image_destroy(s->pending[i]);
    free(s->pending);
    s->pending = NULL;
    s->n_pending = 0;
}

static char *read_line(bool interactive) {
    if (interactive) {
        char *line = readline(">>> ");
        if (line && *line) add_history(line);
        return line;
    }
    char buf[65536];
    if (!fgets(buf, sizeof buf, stdin)) return NULL;
    buf[strcspn(buf, "\n")] = '\0';
    return strdup(buf);
}

/* Returns false for /exit. */
static bool command(session *s, char *line) {
    char *cmd = strtok(line, " \t");
    char *arg = strtok(NULL, " \t");
    long n;
    if (strcmp(cmd, "/exit") == 0 || strcmp(cmd, "/quit") == 0) return false;
    if (strcmp(cmd, "/help") == 0) fputs(commands_help, stdout);
    else if (strcmp(cmd, "/clear") == 0) {
        ember_chat_clear(s->chat);
        ember_prefix_cache_clear(s->cache);
        drop_pending(s);
        puts("(conversation cleared)");
    } else if (strcmp(cmd, "/image") == 0 && arg) {
        ember_image *image = NULL;
        ember_error err = {0};
        if (!ember_engine_has_vision(s->engine))
            printf("this model was loaded without a vision projector (--mmproj)\n");
        else if (ember_image_load_file(arg, 0, &image, &err) != EMBER_OK)
            printf("%s\n", err.message);
        else {
            printf("(image %dx%d attached to the next message)\n", ember_image_width(image), ember_image_height(image));
            attach(s, image);
        }
    } else if (strcmp(cmd, "/mode") == 0 && arg) {
        if (!ember_mode_parse(arg, &s->opts->run.mode)) printf("unknown mode '%s'\n", arg);
        else printf("(mode: %s)\n", arg);
    } else if (strcmp(cmd, "/reasoning") == 0 && arg) {
        if (!ember_reasoning_parse(arg, &s->opts->run.reasoning)) printf("unknown strength '%s'\n", arg);
        else printf("(reasoning strength: %s)\n", arg);
    } else if (strcmp(cmd, "/budget") == 0 && arg) {
        if (cli_parse_int("/budget", arg, 0, 1 << 24, &n)) s->opts->run.think_budget = (int)n;
    } else if (strcmp(cmd, "/agents") == 0 && arg) {
        if (cli_parse_int("/agents", arg, 1, 30, &n)) s->opts->run.agents = (int)n;
    } else if (strcmp(cmd, "/reasoning-shown") == 0 && arg) {
        s->show_reasoning = strcmp(arg, "on") == 0;
    } else {
        printf("unknown command; /help lists them\n");
    }
    return true;
}

static void print_stats(const ember_result *result, const ember_engine_stats *before, const ember_engine_stats *after) {
    const ember_usage *u = ember_result_usage(result);
    const ember_timings *t = ember_result_timings(result);
    fprintf(stderr, "[stats] ttft_ms=%.1f total_ms=%.1f prompt_tokens=%d prompt_evaluated=%d image_tokens=%d "
                    "images_encoded=%d encode_ms=%.1f\n",
            t->ttft_ms, t->total_ms, u->prompt_tokens, u->prompt_tokens_evaluated, u->image_tokens, u->images_encoded,
            after->encode_ms - before->encode_ms);
}

static void turn(session *s, const char *text) {
    ember_error err = {0};
    if (ember_chat_add(s->chat, EMBER_ROLE_USER, text, &err) != EMBER_OK) {
        fprintf(stderr, "ember: %s\n", err.message);
        return;
    }
    for (int i = 0; i < s->n_pending; i++) ember_chat_add_image(s->chat, s->pending[i], NULL);
    drop_pending(s);
    ember_engine_stats before, after;
    ember_engine_get_stats(s->engine, &before);
    cli_render render;
    cli_render_init(&render, s->show_reasoning, false);
    ember_result *result = NULL;
    ember_status status = ember_run_chat(s->engine, s->chat, &s->opts->run, cli_render_event, &render, &result, &err);
    cli_render_finish(&render);
    ember_engine_get_stats(s->engine, &after);
    s->turns++;
    if (result && s->stats) print_stats(result, &before, &after);
    if (result) cli_vision_outputs(s->opts, result, s->chat, s->turns);
    if (status == EMBER_OK && result) {
        ember_chat_add_assistant(s->chat, ember_result_reasoning(result), ember_result_answer(result), NULL);
    } else {
        fprintf(stderr, "ember: %s\n", err.message);
        /* an unanswered turn leaves the history as it was; the text is still on screen */
        ember_chat_pop(s->chat);
    }
    ember_result_destroy(result);
}

int ember_cmd_run(int argc, char **argv) {
    cli_options opts;
    cli_options_init(&opts);
    session s = {.opts = &opts};
    for (int i = 1; i < argc; i++) {
        cli_parse p = cli_options_parse(&opts, argc, argv, &i);
        if (p == CLI_PARSE_ERROR) { cli_options_free(&opts); return 2; }
        if (p == CLI_PARSE_OK) continue;
        if (strcmp(argv[i], "--show-reasoning") == 0) s.show_reasoning = true;
        else if (strcmp(argv[i], "--stats") == 0) s.stats = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("%s%s\ncommands inside the chat:\n%s", usage, cli_options_help, commands_help);
            cli_options_free(&opts);
            return 0;
        } else {
            fprintf(stderr, "ember run: unknown option '%s'\n%s", argv[i], usage);
            cli_options_free(&opts);
            return 2;
        }
    }
    opts.want_vision = true;
    int finish = cli_options_finish(&opts, "run");
    if (finish) { cli_options_free(&opts); return finish; }
    ember_image **images = NULL;
    int n_images = 0;
    if (!cli_load_images(&opts, "run", &images, &n_images)) {
        cli_options_free(&opts);
        return 1;
    }
    ember_error err = {0};
    if (opts.run.mode == EMBER_MODE_CONTEMPLATING && opts.run.agents + 2 > opts.engine.n_seq_max)
        opts.engine.n_seq_max = opts.run.agents + 2 > 32 ? opts.run.agents + 2 : 32;
    if (ember_engine_create(&opts.engine, &s.engine, &err) != EMBER_OK ||
        ember_prefix_cache_create(s.engine, &s.cache, &err) != EMBER_OK) {
        fprintf(stderr, "ember run: %s\n", err.message);
        ember_engine_destroy(s.engine);
        cli_free_images(images, n_images);
        cli_options_free(&opts);
        return 1;
    }
    opts.run.prefix_cache = s.cache;
    for (int i = 0; i < n_images; i++) attach(&s, images[i]);
    free(images);
    s.chat = ember_chat_create();
    bool interactive = isatty(STDIN_FILENO);
    if (interactive) printf("ember — %s mode. /help for commands, /exit or Ctrl-D to leave.\n", ember_mode_name(opts.run.mode));
    char *line;
    while ((line = read_line(interactive))) {
        bool go_on = true;
        if (line[0] == '/') go_on = command(&s, line);
        else if (line[0]) turn(&s, line);
        free(line);
        if (!go_on) break;
    }
    drop_pending(&s);
    ember_chat_destroy(s.chat);
    ember_prefix_cache_destroy(s.cache);
    ember_engine_destroy(s.engine);
    cli_options_free(&opts);
    return 0;
}
