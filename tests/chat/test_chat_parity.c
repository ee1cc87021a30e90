/*
 * test_chat_parity.c — ember's prompt renderer against the official chat templates, byte for
 * byte. The reference is llama.cpp's own Jinja engine, reached through llama-server's
 * POST /apply-template, built from the pinned source (the `llama_server` fixture runs
 * scripts/llama-cpp.sh server) and started here on a loopback port with a generated model,
 * its projector and the official template file (models/templates/ in the pinned source):
 * muse-glimmer.jinja for Muse Glimmer, Qwen-Qwen3-0.6B.jinja for the ChatML family.
 *
 * Every conversation of tests/chat/parity_cases.json (OpenAI messages, tools, strengths,
 * images) is sent to the server and built with the public API (ember_chat_add*, images as
 * EMBER_IMAGE_MARKER, as llama-server writes them); both renders must be identical.
 *
 * Known and deliberate: a real with more than six significant digits (llama.cpp prints
 * floats with six; ember and Python's json print the shortest exact form) — the table keeps
 * to numbers both write alike.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ember.h"
#include "test_support.h"

typedef struct family {
    const char *format;    /* ember's format name */
    const char *model;     /* generated model and projector */
    const char *mmproj;
    const char *template_file; /* under the pinned source's models/templates/ */
} family;

static const family FAMILIES[] = {
    {"muse-glimmer", "glimmer-tiny.gguf", "mmproj-glimmer-tiny.gguf", "muse-glimmer.jinja"},
    {"chatml-think", "qwen3vl-tiny.gguf", "mmproj-qwen3vl-tiny.gguf", "Qwen-Qwen3-0.6B.jinja"},
};

/* The pinned llama.cpp's cache directory, from scripts/llama-cpp.sh dir. */
static void llama_dir(char *out, size_t size) {
    const char *src = getenv("EMBER_SOURCE_DIR");
    assert_non_null(src);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s/scripts/llama-cpp.sh' dir", src);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, (int)size, p));
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct server {
    pid_t pid;
    int port;
    char log[64];
} server;

static void server_start(server *s, const family *f, const char *dir) {
    char bin[1200], tmpl[1200];
    snprintf(bin, sizeof bin, "%s/build/bin/llama-server", dir);
    snprintf(tmpl, sizeof tmpl, "%s/src/models/templates/%s", dir, f->template_file);
    if (access(bin, X_OK) != 0) fail_msg("no llama-server at %s (the llama_server fixture builds it)", bin);
    if (access(tmpl, R_OK) != 0) fail_msg("no template at %s", tmpl);
    s->port = free_port();
    snprintf(s->log, sizeof s->log, "/tmp/ember-parity-XXXXXX");
    int log = mkstemp(s->log);
    assert_true(log >= 0);
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    char model[1100], mmproj[1100];
    snprintf(model, sizeof model, "%s", test_model(f->model, 0));
    snprintf(mmproj, sizeof mmproj, "%s", test_model(f->mmproj, 1));
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(log, 1);
        dup2(log, 2);
        execl(bin, bin, "-m", model, "--mmproj", mmproj, "--jinja", "--chat-template-file", tmpl, "--host",
              "127.0.0.1", "--port", port, "-c", "1024", "-np", "1", "-t", "1", "--no-warmup", (char *)NULL);
        _exit(127);
    }
    close(log);
    for (int i = 0; i < 600; i++) {  /* up to 60 s: loading a tiny model takes well under one */
        if (test_http(s->port, "/health", NULL, NULL) == 200) return;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "tail -30 %s >&2", s->log);
    if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
    fail_msg("llama-server did not become healthy");
}

static void server_stop(server *s) {
    kill(s->pid, SIGTERM);
    int st;
    waitpid(s->pid, &st, 0);
    unlink(s->log);
}

/* A message's content as llama-server hands it to the template: text parts joined by "\n",
 * but not next to an image, and each image as the media marker. */
static char *content_text(json_t *content, int *n_images) {
    *n_images = 0;
    if (json_is_string(content)) return strdup(json_string_value(content));
    size_t size = 1;
    char *text = calloc(1, 1);
    bool last_was_media = false;
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        const char *add;
        bool newline = false;
        if (strcmp(type, "text") == 0) {
            add = json_string_value(json_object_get(part, "text"));
            newline = !last_was_media && text[0];
            last_was_media = false;
        } else {
            add = EMBER_IMAGE_MARKER;
            last_was_media = true;
            (*n_images)++;
        }
        size += strlen(add) + 1;
        text = realloc(text, size);
        if (newline) strcat(text, "\n");
        strcat(text, add);
    }
    return text;
}

static ember_chat *build_chat(json_t *messages) {
    ember_chat *chat = ember_chat_create();
    uint8_t rgb[3 * 4] = {200, 30, 30, 200, 30, 30, 200, 30, 30, 200, 30, 30};
    ember_image *image = NULL;
    assert_int_equal(ember_image_from_rgb(2, 2, rgb, &image, NULL), EMBER_OK);
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        int n_images = 0;
        char *text = content_text(json_object_get(m, "content"), &n_images);
        if (strcmp(role, "system") == 0) {
            assert_int_equal(ember_chat_add(chat, EMBER_ROLE_SYSTEM, text, NULL), EMBER_OK);
        } else if (strcmp(role, "user") == 0) {
            assert_int_equal(ember_chat_add(chat, EMBER_ROLE_USER, text, NULL), EMBER_OK);
            for (int k = 0; k < n_images; k++) assert_int_equal(ember_chat_add_image(chat, image, NULL), EMBER_OK);
        } else if (strcmp(role, "tool") == 0) {
            const char *name = json_string_value(json_object_get(m, "name"));
            assert_int_equal(ember_chat_add_tool_result(chat, name, text, NULL), EMBER_OK);
        } else {
            const char *reasoning = json_string_value(json_object_get(m, "reasoning_content"));
            json_t *calls = json_object_get(m, "tool_calls");
            if (!calls || reasoning || text[0])
                assert_int_equal(ember_chat_add_assistant(chat, reasoning, text, NULL), EMBER_OK);
            size_t k;
            json_t *call;
            json_array_foreach(calls, k, call) {
                json_t *fn = json_object_get(call, "function");
                assert_int_equal(ember_chat_add_tool_call(chat, json_string_value(json_object_get(fn, "name")),
                                                          json_string_value(json_object_get(fn, "arguments")),
                                                          json_string_value(json_object_get(call, "id")), NULL),
                                 EMBER_OK);
            }
        }
        free(text);
    }
    ember_image_destroy(image);
    return chat;
}

/* Muse Glimmer's template opens with bos_token; llama.cpp drops that text from the rendered
 * prompt (its tokenizer adds BOS itself), ember writes it. Bytes of `got` to skip for that. */
static size_t bos_skip(const char *got, const char *want) {
    static const char BOS[] = "<|begin_of_text|>";
    size_t n = sizeof BOS - 1;
    return strncmp(got, BOS, n) == 0 && strncmp(want, BOS, n) != 0 ? n : 0;
}

/* A copy with every <__media_…__> marker written as EMBER_IMAGE_MARKER. */
static char *normalize_markers(const char *text) {
    char *out = malloc(strlen(text) + 1), *o = out;
    while (*text) {
        if (strncmp(text, "<__media_", 9) == 0) {
            const char *end = strstr(text + 9, "__>");
            if (end) {
                o = stpcpy(o, EMBER_IMAGE_MARKER);
                text = end + 3;
                continue;
            }
        }
        *o++ = *text++;
    }
    *o = '\0';
    return out;
}

static bool applies_to(json_t *c, const char *format) {
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(c, "families"), i, f)
        if (strcmp(json_string_value(f), format) == 0) return true;
    return false;
}

/* Renders one case both ways; prints the first difference. True when identical. */
static bool check_case(const server *s, const family *f, json_t *c, const char *date) {
    const char *name = json_string_value(json_object_get(c, "name"));
    json_t *tools = json_object_get(c, "tools");
    const char *strength = json_string_value(json_object_get(c, "strength"));
    const char *opening = json_string_value(json_object_get(c, "opening"));

    json_t *kwargs = json_pack("{s:s}", "current_date", date);
    if (strength) json_object_set_new(kwargs, "reasoning_strength", json_string(strength));
    if (opening && strcmp(opening, "answer") == 0) json_object_set_new(kwargs, "enable_thinking", json_false());
    json_t *req = json_pack("{s:O, s:o}", "messages", json_object_get(c, "messages"), "chat_template_kwargs", kwargs);
    if (tools) json_object_set(req, "tools", tools);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *answer = NULL;
    long status = test_http(s->port, "/apply-template", body, &answer);
    free(body);
    json_t *root = answer ? json_loads(answer, 0, NULL) : NULL;
    const char *want = json_string_value(json_object_get(root, "prompt"));
    if (status != 200 || !want) {
        fprintf(stderr, "[%s] %s: llama-server answered %ld: %s\n", f->format, name, status, answer ? answer : "");
        free(answer);
        json_decref(root);
        return false;
    }

    /* llama-server names its media marker per process (<__media_RANDOM__>); ember's is the
     * mtmd default. Only the marker's name is normalized. */
    char *want_text = normalize_markers(want);
    want = want_text;

    ember_run_params defaults;
    ember_run_params_init(&defaults);
    ember_render_opts opts = {
        .opening = opening && strcmp(opening, "answer") == 0 ? EMBER_OPEN_ANSWER : EMBER_OPEN_HEADER,
        .reasoning = defaults.reasoning,  /* the model's default unless the case chooses */
        .current_date = date,
        .image_placeholder = EMBER_IMAGE_MARKER,
    };
    if (strength) assert_true(ember_reasoning_parse(strength, &opts.reasoning));
    char *tools_json = tools ? json_dumps(tools, 0) : NULL;
    opts.tools_json = tools_json;
    ember_chat *chat = build_chat(json_object_get(c, "messages"));
    char *got = NULL;
    ember_error err = {0};
    bool same = false;
    if (ember_chat_render(chat, f->format, &opts, &got, &err) != EMBER_OK) {
        fprintf(stderr, "[%s] %s: ember failed: %s\n", f->format, name, err.message);
    } else if (strcmp(got + bos_skip(got, want), want) != 0) {
        const char *g = got + bos_skip(got, want);
        size_t at = 0;
        while (g[at] && g[at] == want[at]) at++;
        size_t from = at > 80 ? at - 80 : 0;
        fprintf(stderr, "[%s] %s: differs at byte %zu\n  template: …%.160s\n  ember:    …%.160s\n", f->format, name, at,
                want + from, g + from);
    } else {
        same = true;
    }
    free(got);
    free(want_text);
    free(tools_json);
    ember_chat_destroy(chat);
    free(answer);
    json_decref(root);
    return same;
}

static void renders_match_the_official_templates(void **state) {
    (void)state;
    char dir[1024];
    llama_dir(dir, sizeof dir);
    char path[1200];
    snprintf(path, sizeof path, "%s/tests/chat/parity_cases.json", getenv("EMBER_SOURCE_DIR"));
    json_error_t jerr;
    json_t *table = json_load_file(path, 0, &jerr);
    if (!table) fail_msg("%s: %s", path, jerr.text);
    const char *date = json_string_value(json_object_get(table, "current_date"));
    int checked = 0, failed = 0;
    for (size_t k = 0; k < sizeof FAMILIES / sizeof FAMILIES[0]; k++) {
        server s;
        server_start(&s, &FAMILIES[k], dir);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(table, "cases"), i, c) {
            if (!applies_to(c, FAMILIES[k].format)) continue;
            checked++;
            if (!check_case(&s, &FAMILIES[k], c, date)) failed++;
        }
        server_stop(&s);
    }
    fprintf(stderr, "%d of %d renders identical to the templates\n", checked - failed, checked);
    json_decref(table);
    assert_int_equal(failed, 0);
    assert_true(checked >= 40);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_match_the_official_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
