/*
 * commands.h — the ember CLI's commands. Each lives in its own cmd_NAME.c and is listed once in
 * commands.c's table; main.c dispatches on the first argument. A command returns the process
 * exit status (0 success, 1 runtime failure, 2 usage error) and prints its own errors.
 */
#ifndef EMBER_CLI_COMMANDS_H
#define EMBER_CLI_COMMANDS_H

typedef int (*ember_cmd_fn)(int argc, char **argv);

typedef struct ember_cmd {
    const char *name;     /* first argument that selects the command */
    ember_cmd_fn run;     /* argv[0] is the command name */
    const char *summary;  /* one line for `ember help` */
} ember_cmd;

extern const ember_cmd ember_cmds[];

int ember_cmd_ask(int argc, char **argv);
int ember_cmd_run(int argc, char **argv);
int ember_cmd_show(int argc, char **argv);
int ember_cmd_tool(int argc, char **argv);
int ember_cmd_pull(int argc, char **argv);
int ember_cmd_list(int argc, char **argv);
int ember_cmd_rm(int argc, char **argv);
int ember_cmd_serve(int argc, char **argv);
int ember_cmd_keys(int argc, char **argv);
int ember_cmd_bench(int argc, char **argv);
int ember_cmd_train(int argc, char **argv);
int ember_cmd_eval(int argc, char **argv);

/* Seconds on the monotonic clock (progress lines, timings, status lines). */
double cli_now_s(void);

#endif
