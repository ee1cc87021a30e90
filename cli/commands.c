#include "commands.h"

#include <time.h>

#include <stddef.h>

/* Add a line here when a command's cmd_*.c lands. */
const ember_cmd ember_cmds[] = {
    {"ask", ember_cmd_ask, "answer one prompt (instant, thinking or contemplating)"},
    {"run", ember_cmd_run, "interactive chat"},
    {"show", ember_cmd_show, "describe a model file"},
    {"bench", ember_cmd_bench, "measure prefill, decode and parallel-agent throughput"},
    {"pull", ember_cmd_pull, "download a model from the Hugging Face Hub (REPO[:QUANT])"},
    {"list", ember_cmd_list, "list pulled models"},
    {"rm", ember_cmd_rm, "delete a pulled model"},
    {"tool", ember_cmd_tool, "run one tool (calculator, python, web_fetch, web_search, MCP) and print JSON"},
    {"serve", ember_cmd_serve, "serve an OpenAI-compatible API (chat completions, SSE, keys, metrics)"},
    {"keys", ember_cmd_keys, "manage the API keys of ember serve (add, list, rm)"},
    {"train", ember_cmd_train, "train a small model (ember-nano) with libllama's optimizer"},
    {"eval", ember_cmd_eval, "score a model on a JSONL dataset across modes, budgets and agents (table, JSON, plot)"},
    {NULL, NULL, NULL},
};

double cli_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
