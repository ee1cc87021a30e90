/*
 * cmd_run.c — `ember run`: an interactive chat with history and line editing (libedit).
 * Lines starting with '/' are commands; everything else is the next user turn.
 * Ctrl-C during an answer cancels that answer and keeps the conversation; at the prompt it
 * drops the line being typed, and on an empty line (or twice in a row) it leaves, as Ctrl-D.
 */
#include "commands.h"
#include "options.h"
#include "render.h"
#include "interrupt.h"

#include <ctype.h>
#include <editline/readline.h>
#include <errno.h>
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

/* Keys typed at the current prompt, to tell Ctrl-C on an empty line from one on a line. */
static int typed;

static int count_getc(FILE *in) {
    unsigned char c;
    if (cli_interrupt_read_byte(fileno(in), &c) == 1) {
        typed++;
        return c;
    }
    return EOF;  /* end of input, or Ctrl-C: readline returns NULL */
}

static int prompt_starts(void) {
    typed = 0;
    return 0;
}

/* The next line, or NULL to leave (end of input, Ctrl-C on an empty line or twice). */
static char *read_line(bool interactive) {
    if (!interactive) {
        char buf[65536];
        if (!fgets(buf, sizeof buf, stdin)) return NULL;
        buf[strcspn(buf, "\n")] = '\0';
        return strdup(buf);
    }
    bool interrupted_before = false;
    for (;;) {
        char *line = readline(">>> ");
        if (line) {
            if (*line) add_history(line);
            return line;
        }
        bool interrupted = cli_interrupt_take() > 0;
        fputs(interrupted ? "^C\n" : "\n", stdout);  /* the cursor leaves the prompt line */
        fflush(stdout);
        if (!interrupted || typed == 0 || interrupted_before) return NULL;
        interrupted_before = true;  /* the line was dropped; a second Ctrl-C leaves */
    }
}

/* `/mode`, `/reasoning` … without an argument: the current value and how to change it.
 * False when cmd is not a setting. */
static bool show_setting(session *s, const char *cmd) {
    const ember_run_params *p = &s->opts->run;
    if (strcmp(cmd, "/mode") == 0)
        printf("mode: %s\nusage: /mode instant|thinking|contemplating\n", ember_mode_name(p->mode));
    else if (strcmp(cmd, "/reasoning") == 0)
        printf("reasoning strength: %s\nusage: /reasoning low|medium|high|xhigh\n", ember_reasoning_name(p->reasoning));
    else if (strcmp(cmd, "/budget") == 0)
        printf("think budget: %d tokens%s\nusage: /budget N (0 = none)\n", p->think_budget,
               p->think_budget ? "" : " (none)");
    else if (strcmp(cmd, "/agents") == 0)
        printf("contemplating agents: %d\nusage: /agents N (1-%d)\n", p->agents, EMBER_AGENTS_MAX);
    else if (strcmp(cmd, "/reasoning-shown") == 0)
        printf("reasoning shown: %s\nusage: /reasoning-shown on|off\n", s->show_reasoning ? "on" : "off");
    else if (strcmp(cmd, "/image") == 0)
        printf("images attached to the next message: %d\nusage: /image PATH\n", s->n_pending);
    else
        return false;
    return true;
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
    } else if (!arg && show_setting(s, cmd)) {
        /* a setting's command without its argument shows the value and the usage */
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
        if (cli_parse_int("/agents", arg, 1, EMBER_AGENTS_MAX, &n)) s->opts->run.agents = (int)n;
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
    bool interrupted = false;
    ember_status status = cli_run_interruptible(s->engine, s->chat, &s->opts->run, cli_render_event, &render, &result,
                                                &interrupted, &err);
    cli_render_finish(&render);
    ember_engine_get_stats(s->engine, &after);
    s->turns++;
    if (result && s->stats) print_stats(result, &before, &after);
    if (result) cli_vision_outputs(s->opts, result, s->chat, s->turns);
    if (interrupted) {
        /* the conversation goes on: a partial answer stays in it, an empty one leaves no turn */
        fputs("(cancelled)\n", stderr);
        if (result && ember_result_answer(result)[0])
            ember_chat_add_assistant(s->chat, ember_result_reasoning(result), ember_result_answer(result), NULL);
        else
            ember_chat_pop(s->chat);
    } else if (status == EMBER_OK && result) {
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
    cli_interrupt_install();
    rl_getc_function = count_getc;
    rl_pre_input_hook = prompt_starts;
    if (interactive) printf("ember — %s mode. /help for commands, /exit or Ctrl-D to leave.\n", ember_mode_name(opts.run.mode));
    char *line;
    while ((line = read_line(interactive))) {
        bool go_on = true;
        const char *text = line;
        while (isspace((unsigned char)*text)) text++;
        if (text[0] == '/') go_on = command(&s, (char *)text);
        else if (text[0]) turn(&s, line);
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
