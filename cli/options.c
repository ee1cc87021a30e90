/* options.c — common flags of the model commands (see options.h). */
#include "options.h"
#include "model_arg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cli_options_help[] =
    "model:\n"
    "  -m, --model FILE        GGUF model file (required, unless --engine)\n"
    "      --engine URL        generate on a remote llama-server / vLLM / SGLang instead\n"
    "                          (repeat for replicas; vllm+URL or sglang+URL names the kind)\n"
    "      --mmproj FILE       vision projector GGUF\n"
    "  -c, --ctx N             context size in tokens, shared by all sequences (default: min(model, 8192))\n"
    "  -t, --threads N         CPU threads (default: all cores)\n"
    "      --verbose           show llama.cpp's own log\n"
    "modes:\n"
    "      --mode M            instant | thinking | contemplating (default: thinking)\n"
    "      --reasoning R       low | medium | high | xhigh (default: high, the template's)\n"
    "      --think-budget N    close the reasoning channel after N tokens (thought compression)\n"
    "      --budget-cue        before closing, tell the model to conclude\n"
    "      --agents N          contemplating: parallel agents (default 4, at most 64)\n"
    "      --no-early-stop     contemplating: let every agent finish\n"
    "      --ignore-eos        generate --max-tokens whatever the model says (equal-work benchmarks)\n"
    "      --keep-fraction F   contemplating: stop agents below this quantile of finishers (0.9)\n"
    "      --consensus F       contemplating: stop all at this weighted vote share (default 1: once\n"
    "                          every agent started agrees)\n"
    "      --first-wave N      contemplating with early stop: agents that start at once (default\n"
    "                          half); the others start only if these do not agree\n"
    "      --synthesis S       contemplating: disputed (default: a synthesizer writes the answer\n"
    "                          when the vote falls short of --consensus) | always | never\n"
    "sampling:\n"
    "      --max-tokens N      most generated tokens, reasoning included (default: to the context)\n"
    "      --temp T            temperature, 0 = greedy (default 0.7)\n"
    "      --top-k K           (default 40)\n"
    "      --top-p P           (default 0.95)\n"
    "      --min-p P           (default 0.05)\n"
    "      --seed S            sampling seed (default: random)\n"
    "      --grammar GBNF      constrain generation with a GBNF grammar\n"
    "      --grammar-file F    the same, from a file\n"
    "      --agent-grammar-file F  contemplating: a GBNF grammar for each agent\n"
    "      --system TEXT       system prompt\n"
    "tools:\n"
    "      --tools LIST        tools the model may call: calculator,python,web_fetch,web_search,\n"
    "                          SERVER.TOOL (MCP), mcp, all (default: none)\n"
    "      --mcp-config FILE   MCP servers ({\"mcpServers\": {…}})\n"
    "      --search-url URL    SearxNG-compatible endpoint for web_search\n"
    "      --max-tool-steps N  most generate-tools-continue rounds (default 8)\n"
    "      --tool-choice C     auto (default), none, required (the first round must call a\n"
    "                          tool), or a tool's name (the first round calls that tool)\n"
    "      --date YYYY-MM-DD   current date written into the system block\n"
    "vision:\n"
    "      --image FILE        an image for the prompt (PNG, JPEG, WebP, GIF, BMP; repeatable)\n"
    "      --image-max-tokens N  most tokens per image (larger images are scaled down)\n"
    "      --no-zoom           do not offer the zoom tool (offered with images when reasoning)\n"
    "      --save-crops DIR    write each zoom's crop as DIR/crop-N.png\n"
    "      --draw-boxes FILE   draw the answer's boxes on the image into FILE (a PNG)\n"
    "      (--mmproj is found beside the model when named *mmproj*.gguf)\n";

void cli_options_init(cli_options *o) {
    memset(o, 0, sizeof *o);
    ember_engine_params_init(&o->engine);
    ember_run_params_init(&o->run);
    ember_tools_options_init(&o->tools_opts);
}

void cli_options_free(cli_options *o) {
    free(o->grammar_text);
    free(o->agent_grammar);
    ember_tools_destroy(o->tools);
}

bool cli_parse_int(const char *flag, const char *text, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "ember: invalid value for %s: '%s' (an integer from %ld to %ld)\n", flag, text, min, max);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_float(const char *flag, const char *text, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, "ember: invalid value for %s: '%s' (a number from %g to %g)\n", flag, text, min, max);
        return false;
    }
    *out = v;
    return true;
}

char *cli_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ember: cannot read '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) { free(buf); buf = NULL; }
            else buf = grown;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "ember: out of memory reading '%s'\n", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static bool is(const char *arg, const char *a, const char *b) {
    return strcmp(arg, a) == 0 || (b && strcmp(arg, b) == 0);
}

cli_parse cli_options_parse(cli_options *o, int argc, char **argv, int *i) {
    const char *arg = argv[*i];
    static const char *const with_value[] = {
        "-m", "--model", "--mmproj", "-c", "--ctx", "-t", "--threads", "--mode", "--reasoning",
        "--think-budget", "--agents", "--first-wave", "--synthesis", "--keep-fraction", "--consensus", "--max-tokens", "--temp",
        "--top-k", "--top-p", "--min-p", "--seed", "--grammar", "--grammar-file",
        "--agent-grammar-file", "--system", "--date", "--tools", "--mcp-config", "--search-url",
        "--max-tool-steps", "--tool-choice", "--image", "--image-max-tokens", "--save-crops", "--draw-boxes", "--engine", NULL};
    if (is(arg, "--verbose", NULL)) { o->engine.verbose = true; return CLI_PARSE_OK; }
    if (is(arg, "--budget-cue", NULL)) { o->run.budget_cue = true; return CLI_PARSE_OK; }
    if (is(arg, "--no-early-stop", NULL)) { o->run.early_stop = false; return CLI_PARSE_OK; }
    if (is(arg, "--ignore-eos", NULL)) { o->run.sampling.ignore_eos = true; return CLI_PARSE_OK; }
    if (is(arg, "--no-zoom", NULL)) { o->run.no_zoom = true; return CLI_PARSE_OK; }
    bool known = false;
    for (int k = 0; with_value[k]; k++) known = known || strcmp(arg, with_value[k]) == 0;
    if (!known) return CLI_PARSE_UNKNOWN;
    if (*i + 1 >= argc) {
        fprintf(stderr, "ember: %s needs a value\n", arg);
        return CLI_PARSE_ERROR;
    }
    const char *val = argv[++*i];
    long n;
    double d;
    if (is(arg, "-m", "--model")) {
        snprintf(o->model_path, sizeof o->model_path, "%s", val);
    } else if (is(arg, "--mmproj", NULL)) {
        snprintf(o->mmproj_path, sizeof o->mmproj_path, "%s", val);
    } else if (is(arg, "-c", "--ctx")) {
        if (!cli_parse_int(arg, val, 64, 1 << 24, &n)) return CLI_PARSE_ERROR;
        o->engine.n_ctx = (int)n;
    } else if (is(arg, "-t", "--threads")) {
        if (!cli_parse_int(arg, val, 1, 1024, &n)) return CLI_PARSE_ERROR;
        o->engine.n_threads = (int)n;
    } else if (is(arg, "--mode", NULL)) {
        if (!ember_mode_parse(val, &o->run.mode)) {
            fprintf(stderr, "ember: invalid value for --mode: '%s' (instant, thinking or contemplating)\n", val);
            return CLI_PARSE_ERROR;
        }
    } else if (is(arg, "--reasoning", NULL)) {
        if (!ember_reasoning_parse(val, &o->run.reasoning)) {
            fprintf(stderr, "ember: invalid value for --reasoning: '%s' (low, medium, high or xhigh)\n", val);
            return CLI_PARSE_ERROR;
        }
    } else if (is(arg, "--synthesis", NULL)) {
        if (!ember_synthesis_parse(val, &o->run.synthesis)) {
            fprintf(stderr, "ember: invalid value for --synthesis: '%s' (disputed, always or never)\n", val);
            return CLI_PARSE_ERROR;
        }
    } else if (is(arg, "--think-budget", NULL)) {
        if (!cli_parse_int(arg, val, 1, 1 << 24, &n)) return CLI_PARSE_ERROR;
        o->run.think_budget = (int)n;
    } else if (is(arg, "--agents", NULL)) {
        if (!cli_parse_int(arg, val, 1, EMBER_AGENTS_MAX, &n)) return CLI_PARSE_ERROR;
        o->run.agents = (int)n;
    } else if (is(arg, "--first-wave", NULL)) {
        if (!cli_parse_int(arg, val, 1, EMBER_AGENTS_MAX, &n)) return CLI_PARSE_ERROR;
        o->run.first_wave = (int)n;
    } else if (is(arg, "--keep-fraction", NULL)) {
        if (!cli_parse_float(arg, val, 0, 1, &d)) return CLI_PARSE_ERROR;
        o->run.keep_fraction = (float)d;
    } else if (is(arg, "--consensus", NULL)) {
        if (!cli_parse_float(arg, val, 0, 1, &d)) return CLI_PARSE_ERROR;
        o->run.consensus = (float)d;
    } else if (is(arg, "--max-tokens", NULL)) {
        if (!cli_parse_int(arg, val, 1, 1 << 24, &n)) return CLI_PARSE_ERROR;
        o->run.max_tokens = (int)n;
    } else if (is(arg, "--temp", NULL)) {
        if (!cli_parse_float(arg, val, 0, 100, &d)) return CLI_PARSE_ERROR;
        o->run.sampling.temperature = (float)d;
    } else if (is(arg, "--top-k", NULL)) {
        if (!cli_parse_int(arg, val, 0, 1 << 24, &n)) return CLI_PARSE_ERROR;
        o->run.sampling.top_k = (int)n;
    } else if (is(arg, "--top-p", NULL)) {
        if (!cli_parse_float(arg, val, 0, 1, &d)) return CLI_PARSE_ERROR;
        o->run.sampling.top_p = (float)d;
    } else if (is(arg, "--min-p", NULL)) {
        if (!cli_parse_float(arg, val, 0, 1, &d)) return CLI_PARSE_ERROR;
        o->run.sampling.min_p = (float)d;
    } else if (is(arg, "--seed", NULL)) {
        if (!cli_parse_int(arg, val, 0, 4294967295L, &n)) return CLI_PARSE_ERROR;
        o->run.sampling.seed = (uint32_t)n;
        o->seed_given = true;
    } else if (is(arg, "--grammar", "--grammar-file")) {
        free(o->grammar_text);
        o->grammar_text = strcmp(arg, "--grammar") == 0 ? strdup(val) : cli_read_file(val);
        if (!o->grammar_text) return CLI_PARSE_ERROR;
    } else if (is(arg, "--agent-grammar-file", NULL)) {
        free(o->agent_grammar);
        if (!(o->agent_grammar = cli_read_file(val))) return CLI_PARSE_ERROR;
    } else if (is(arg, "--system", NULL)) {
        o->run.system = val;
    } else if (is(arg, "--date", NULL)) {
        o->run.current_date = val;
    } else if (is(arg, "--tools", NULL)) {
        o->tools_list = val;
    } else if (is(arg, "--mcp-config", NULL)) {
        o->tools_opts.mcp_config_path = val;
    } else if (is(arg, "--search-url", NULL)) {
        o->tools_opts.search_url = val;
    } else if (is(arg, "--tool-choice", NULL)) {
        o->run.tool_choice = strcmp(val, "auto") == 0       ? EMBER_TOOL_CHOICE_AUTO
                           : strcmp(val, "none") == 0       ? EMBER_TOOL_CHOICE_NONE
                           : strcmp(val, "required") == 0   ? EMBER_TOOL_CHOICE_REQUIRED
                                                            : EMBER_TOOL_CHOICE_FUNCTION;
        o->run.tool_choice_name = o->run.tool_choice == EMBER_TOOL_CHOICE_FUNCTION ? val : NULL;
    } else if (is(arg, "--max-tool-steps", NULL)) {
        if (!cli_parse_int(arg, val, 1, 100, &n)) return CLI_PARSE_ERROR;
        o->run.max_tool_steps = (int)n;
    } else if (is(arg, "--image", NULL)) {
        if (o->n_images == (int)(sizeof o->image_paths / sizeof o->image_paths[0])) {
            fprintf(stderr, "ember: at most %d --image\n", o->n_images);
            return CLI_PARSE_ERROR;
        }
        o->image_paths[o->n_images++] = val;
    } else if (is(arg, "--image-max-tokens", NULL)) {
        if (!cli_parse_int(arg, val, 1, 1 << 16, &n)) return CLI_PARSE_ERROR;
        o->engine.image_max_tokens = (int)n;
    } else if (is(arg, "--save-crops", NULL)) {
        o->save_crops = val;
    } else if (is(arg, "--draw-boxes", NULL)) {
        o->draw_boxes = val;
    } else if (is(arg, "--engine", NULL)) {
        if (o->n_engine_urls == (int)(sizeof o->engine_urls / sizeof o->engine_urls[0])) {
            fprintf(stderr, "ember: at most %d --engine URLs\n", o->n_engine_urls);
            return CLI_PARSE_ERROR;
        }
        o->engine_urls[o->n_engine_urls++] = val;
    }
    return CLI_PARSE_OK;
}

/* The engine's generation goes to remote servers: no local model to resolve. */
static void finish_remote(cli_options *o) {
    o->engine.engine_urls = o->engine_urls;
    o->engine.n_engine_urls = o->n_engine_urls;
}

int cli_options_finish(cli_options *o, const char *command) {
    if (o->n_engine_urls > 0 && o->model_path[0]) {
        fprintf(stderr, "ember %s: give either -m MODEL or --engine URL, not both\n", command);
        return 2;
    }
    if (o->n_engine_urls > 0) finish_remote(o);
    else if (!o->model_path[0]) {
        fprintf(stderr, "ember %s: no model given (-m MODEL.gguf, or --engine URL)\n", command);
        return 2;
    }
    if (o->n_engine_urls == 0) {
        /* a path, or the name of a pulled model (whose projector then comes along) */
        char resolved[sizeof o->model_path], mmproj[sizeof o->mmproj_path] = "";
        if (!cli_model_resolve(command, o->model_path, resolved, sizeof resolved, mmproj, sizeof mmproj)) return 1;
        memcpy(o->model_path, resolved, sizeof resolved);
        if (!o->mmproj_path[0] && mmproj[0]) memcpy(o->mmproj_path, mmproj, sizeof mmproj);
        /* with images (or a chat that may get some), the projector beside the model comes along */
        if (!o->mmproj_path[0] && (o->n_images > 0 || o->want_vision)) {
            ember_model_info info;
            ember_model_inspect(o->model_path, &info, NULL);
            if (info.mmproj_path[0]) snprintf(o->mmproj_path, sizeof o->mmproj_path, "%s", info.mmproj_path);
        }
        o->engine.model_path = o->model_path;
        o->engine.mmproj_path = o->mmproj_path[0] ? o->mmproj_path : NULL;
    }
    o->run.sampling.grammar = o->grammar_text;
    o->run.agent_grammar = o->agent_grammar;
    if (!o->seed_given) o->run.sampling.seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
    if (o->tools_list && strcmp(o->tools_list, "none") != 0) {
        ember_error err = {0};
        if (ember_tools_create(&o->tools_opts, &o->tools, &err) != EMBER_OK ||
            ember_tools_enable(o->tools, o->tools_list, &err) != EMBER_OK) {
            fprintf(stderr, "ember %s: --tools: %s\n", command, err.message);
            return err.status == EMBER_ERR_NOT_FOUND || err.status == EMBER_ERR_UNSUPPORTED ? 2 : 1;
        }
        o->run.tools = o->tools;
    }
    return 0;
}

bool cli_load_images(cli_options *o, const char *command, ember_image ***images, int *n) {
    *images = NULL;
    *n = 0;
    if (o->n_images == 0) return true;
    ember_image **list = calloc((size_t)o->n_images, sizeof *list);
    if (!list) return false;
    for (int i = 0; i < o->n_images; i++) {
        ember_error err = {0};
        if (ember_image_load_file(o->image_paths[i], 0, &list[i], &err) != EMBER_OK) {
            fprintf(stderr, "ember %s: %s\n", command, err.message);
            cli_free_images(list, i);
            return false;
        }
    }
    *images = list;
    *n = o->n_images;
    return true;
}

void cli_free_images(ember_image **images, int n) {
    for (int i = 0; i < n; i++) ember_image_destroy(images[i]);
    free(images);
}

/* FILE.png -> FILE-K.png for the K-th image (K >= 2). */
static void numbered_path(char *out, size_t size, const char *path, int k) {
    if (k <= 1) {
        snprintf(out, size, "%s", path);
        return;
    }
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) dot = path + strlen(path);
    snprintf(out, size, "%.*s-%d%s", (int)(dot - path), path, k, dot);
}

bool cli_vision_outputs(const cli_options *o, const ember_result *result, const ember_chat *chat, int turn) {
    bool ok = true;
    ember_error err = {0};
    for (size_t i = 0; o->save_crops && i < ember_result_zoom_count(result); i++) {
        const ember_zoom *z = ember_result_zoom(result, i);
        char path[2048];
        if (turn > 0) snprintf(path, sizeof path, "%s/crop-t%d-%zu.png", o->save_crops, turn, i + 1);
        else snprintf(path, sizeof path, "%s/crop-%zu.png", o->save_crops, i + 1);
        if (ember_image_save_png(z->crop, path, &err) != EMBER_OK) {
            fprintf(stderr, "ember: --save-crops: %s\n", err.message);
            ok = false;
            break;
        }
        fprintf(stderr, "saved zoom %zu (image %d, [%.0f, %.0f, %.0f, %.0f]) to %s\n", i + 1, z->image + 1, z->x1,
                z->y1, z->x2, z->y2, path);
    }
    size_t n_boxes = ember_result_box_count(result);
    if (!o->draw_boxes || n_boxes == 0) {
        if (o->draw_boxes) fprintf(stderr, "ember: --draw-boxes: the answer has no boxes\n");
        return ok;
    }
    size_t n_images = ember_chat_image_count(chat);
    for (size_t k = 0; k < n_images; k++) {
        ember_box *mine = calloc(n_boxes, sizeof *mine);
        size_t m = 0;
        for (size_t b = 0; mine && b < n_boxes; b++)
            if (ember_result_box(result, b)->image == (int)k) mine[m++] = *ember_result_box(result, b);
        ember_image *drawn = NULL;
        char path[2048];
        numbered_path(path, sizeof path, o->draw_boxes, (int)k + 1);
        if (m && ember_image_draw_boxes(ember_chat_image(chat, k), mine, m, &drawn, &err) == EMBER_OK &&
            ember_image_save_png(drawn, path, &err) == EMBER_OK) {
            fprintf(stderr, "drew %zu box(es) on image %zu into %s\n", m, k + 1, path);
        } else if (m) {
            fprintf(stderr, "ember: --draw-boxes: %s\n", err.message);
            ok = false;
        }
        ember_image_destroy(drawn);
        free(mine);
    }
    return ok;
}
