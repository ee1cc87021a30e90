#include "commands.h"

#include <stddef.h>

/* Add a line here when a command's cmd_*.c lands. */
const ember_cmd ember_cmds[] = {
    {"ask", ember_cmd_ask, "answer one prompt (instant, thinking or contemplating)"},
    {"run", ember_cmd_run, "interactive chat"},
    {"show", ember_cmd_show, "describe a model file"},
    {NULL, NULL, NULL},
};
