/*
 * cmd_serve.c — `ember serve`: the OpenAI-compatible API on libmicrohttpd (ember_server_*).
 * Prints one line "ember serve: listening on http://HOST:PORT (model ID)" on stdout once it
 * accepts requests, then serves until SIGINT or SIGTERM.
 */
#include "commands.h"
#include "model_arg.h"
#include "options.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The built web app beside this binary (the build tree's cli/web/, or an installed
 * PREFIX/share/ember/web/), written into dir; false when there is none. */
static bool find_web_app(char *dir, size_t size) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return false;
    *slash = '\0';
    static const char *const candidates[] = {"%s/web", "%s/../share/ember/web"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char index[PATH_MAX + 64];
        snprintf(dir, size, candidates[i], exe);
        snprintf(index, sizeof index, "%s/index.html", dir);
        if (access(index, R_OK) == 0) return true;
    }
    return false;
}

static const char usage[] =
    "usage: ember serve -m MODEL [options]\n"
    "  -m, --model FILE        GGUF model file, or the name of a pulled model\n"
    "      --engine URL        or: generate on remote llama-server / vLLM / SGLang replicas\n"
    "                          (repeatable; vllm+URL / sglang+URL name the kind)\n"
    "      --mmproj FILE       vision projector GGUF (default: *mmproj*.gguf beside the model)\n"
    "      --host ADDR         numeric address to listen on (default 127.0.0.1)\n"
    "      --port N            TCP port (default 8080; 0 = any free port)\n"
    "      --parallel N        runs generating at once (default 4)\n"
    "      --queue N           requests waiting for a run before 429s (default 64)\n"
    "      --db PATH|URI       database of API keys and conversations: a SQLite file\n"
    "                          (default $EMBER_DB or ~/.local/share/ember/ember.db) or\n"
    "                          postgresql://… shared by several ember serve processes\n"
    "      --api-keys FILE     more API keys, one per line\n"
    "  -c, --ctx N             KV cells shared by all requests (default: min(model, 8192))\n"
    "  -t, --threads N         CPU threads (default: all cores)\n"
    "      --max-agents N      most Contemplating agents per request (default and limit 64)\n"
    "      --max-tokens N      token limit of requests that set none (default: a share of the context)\n"
    "      --max-body BYTES    largest request body (default 8 MiB)\n"
    "      --model-id ID       the model's id in the API (default: the file name)\n"
    "      --web DIR           serve the web app in DIR at / (default: the built app installed beside\n"
    "                          this binary, web/ or ../share/ember/web/, when there is one)\n"
    "      --no-web            serve the API only\n"
    "      --no-prompt-cache   evaluate every request's whole prompt (default: a follow-up request\n"
    "                          reuses the KV cells of the earlier one's common prefix)\n"
    "      --kv-split          each sequence its own KV stream of -c / --parallel cells, like\n"
    "                          llama-server's slots: faster with many independent streams (a\n"
    "                          step's attention reads only each stream's cells); a request then\n"
    "                          holds at most that many tokens per sequence, agents copy the prompt\n"
    "      --tools LIST        tools the server runs itself: calculator,python,web_fetch,web_search,\n"
    "                          SERVER.TOOL (MCP), mcp, all (default: none)\n"
    "      --mcp-config FILE   MCP servers ({\"mcpServers\": {…}})\n"
    "      --search-url URL    SearxNG-compatible endpoint for web_search\n"
    "      --log               one line per request on stderr\n"
    "      --verbose           show llama.cpp's own log\n"
    "Without keys (ember keys add NAME) and on a loopback address, requests need no key.\n";

int ember_cmd_serve(int argc, char **argv) {
    ember_server_params p;
    ember_server_params_init(&p);
    static char model[1024], mmproj[1024];
    const char *model_arg = NULL, *mmproj_arg = NULL, *tools_list = NULL;
    static const char *engines[16];
    int n_engines = 0;
    static char web_dir[PATH_MAX];
    bool no_web = false;
    ember_tools_options tools_opts;
    ember_tools_options_init(&tools_opts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--log") == 0) { p.log_requests = true; continue; }
        if (strcmp(a, "--no-web") == 0) { no_web = true; continue; }
        if (strcmp(a, "--no-prompt-cache") == 0) { p.engine.prompt_cache = false; continue; }
        if (strcmp(a, "--kv-split") == 0) { p.kv_split = true; continue; }
        if (strcmp(a, "--verbose") == 0) { p.engine.verbose = true; continue; }
        if (i + 1 >= argc) {
            fprintf(stderr, "ember serve: unknown option or missing value '%s'\n%s", a, usage);
            return 2;
        }
        const char *v = argv[++i];
        long n = 0;
        bool ok = true;
        if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) model_arg = v;
        else if (strcmp(a, "--mmproj") == 0) mmproj_arg = v;
        else if (strcmp(a, "--engine") == 0) {
            if (n_engines == (int)(sizeof engines / sizeof engines[0])) {
                fprintf(stderr, "ember serve: at most %d --engine URLs\n", n_engines);
                return 2;
            }
            engines[n_engines++] = v;
        }
        else if (strcmp(a, "--host") == 0) p.host = v;
        else if (strcmp(a, "--port") == 0) ok = cli_parse_int(a, v, 0, 65535, &n), p.port = (int)n;
        else if (strcmp(a, "--parallel") == 0) ok = cli_parse_int(a, v, 1, 256, &n), p.parallel = (int)n;
        else if (strcmp(a, "--queue") == 0) ok = cli_parse_int(a, v, 0, 100000, &n), p.queue = n ? (int)n : -1;
        else if (strcmp(a, "--db") == 0) p.db_path = v;
        else if (strcmp(a, "--api-keys") == 0) p.api_keys_file = v;
        else if (strcmp(a, "-c") == 0 || strcmp(a, "--ctx") == 0) ok = cli_parse_int(a, v, 0, 1 << 24, &n), p.engine.n_ctx = (int)n;
        else if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) ok = cli_parse_int(a, v, 0, 1024, &n), p.engine.n_threads = (int)n;
        else if (strcmp(a, "--max-agents") == 0) ok = cli_parse_int(a, v, 1, EMBER_AGENTS_MAX, &n), p.max_agents = (int)n;
        else if (strcmp(a, "--max-tokens") == 0) ok = cli_parse_int(a, v, 1, 1 << 24, &n), p.default_max_tokens = (int)n;
        else if (strcmp(a, "--max-body") == 0) ok = cli_parse_int(a, v, 1024, 1L << 30, &n), p.max_body_bytes = (size_t)n;
        else if (strcmp(a, "--model-id") == 0) p.model_id = v;
        else if (strcmp(a, "--web") == 0) p.web_dir = v;
        else if (strcmp(a, "--tools") == 0) tools_list = v;
        else if (strcmp(a, "--mcp-config") == 0) tools_opts.mcp_config_path = v;
        else if (strcmp(a, "--search-url") == 0) tools_opts.search_url = v;
        else {
            fprintf(stderr, "ember serve: unknown option '%s'\n%s", a, usage);
            return 2;
        }
        if (!ok) return 2;
    }
    if (!model_arg == !n_engines) {
        fprintf(stderr, "ember serve: give a model (-m MODEL.gguf) or remote engines (--engine URL), one of them\n%s",
                usage);
        return 2;
    }
    if (n_engines) {
        p.engine.engine_urls = engines;
        p.engine.n_engine_urls = n_engines;
    } else {
        if (!cli_model_resolve("serve", model_arg, model, sizeof model, mmproj, sizeof mmproj)) return 1;
        p.engine.model_path = model;
        if (!mmproj_arg && !mmproj[0]) {
            /* a projector named *mmproj*.gguf beside the model gives the API image input */
            ember_model_info info;
            if (ember_model_inspect(model, &info, NULL) == EMBER_OK && info.mmproj_path[0])
                snprintf(mmproj, sizeof mmproj, "%s", info.mmproj_path);
        }
        p.engine.mmproj_path = mmproj_arg ? mmproj_arg : mmproj[0] ? mmproj : NULL;
    }
    if (no_web) p.web_dir = NULL;
    else if (!p.web_dir && find_web_app(web_dir, sizeof web_dir)) p.web_dir = web_dir;

    /* Signals are taken by sigwait below; every thread the server starts inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    ember_error err = {0};
    ember_tools *tools = NULL;
    if (tools_list && strcmp(tools_list, "none") != 0) {
        if (ember_tools_create(&tools_opts, &tools, &err) != EMBER_OK ||
            ember_tools_enable(tools, tools_list, &err) != EMBER_OK) {
            fprintf(stderr, "ember serve: --tools: %s\n", err.message);
            ember_tools_destroy(tools);
            return err.status == EMBER_ERR_NOT_FOUND || err.status == EMBER_ERR_UNSUPPORTED ? 2 : 1;
        }
        p.tools = tools;
    }
    ember_server *server = NULL;
    if (ember_server_create(&p, &server, &err) != EMBER_OK) {
        fprintf(stderr, "ember serve: %s\n", err.message);
        ember_tools_destroy(tools);
        return 1;
    }
    const char *host = p.host ? p.host : "127.0.0.1";
    bool v6 = strchr(host, ':') != NULL;
    printf("ember serve: listening on http://%s%s%s:%d (model %s)%s\n", v6 ? "[" : "", host, v6 ? "]" : "",
           ember_server_port(server), p.model_id ? p.model_id : strrchr(model, '/') ? strrchr(model, '/') + 1 : model,
           p.web_dir ? "; the web app is at /" : "");
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "ember serve: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    ember_server_destroy(server);
    ember_tools_destroy(tools);
    return 0;
}
