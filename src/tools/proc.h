/*
 * proc.h — starting and reaping child processes for the python sandbox and MCP servers,
 * safely from a multi-threaded library: the child runs only async-signal-safe calls
 * between fork and exec, closes every descriptor it was not given (other threads may be
 * opening files at the same moment), restores default signal handling, and reports an exec
 * failure back to the parent through a close-on-exec pipe. No SIGCHLD handler is installed:
 * the caller reaps its own child with tool_proc_wait.
 */
#ifndef EMBER_TOOLS_PROC_H
#define EMBER_TOOLS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef struct proc_limit {
    int resource;          /* RLIMIT_CPU, RLIMIT_AS, … */
    rlim_t soft;           /* the limit; reaching it signals (SIGXCPU, SIGXFSZ) or fails */
    rlim_t hard;           /* the ceiling the process cannot raise the soft limit past */
} proc_limit;

typedef struct proc_spec {
    const char *path;          /* program to execute (absolute or relative path, not looked up) */
    char *const *argv;         /* NULL-terminated */
    char *const *envp;         /* NULL-terminated, or NULL to inherit the environment */
    int stdin_fd;              /* becomes the child's 0; -1 = /dev/null */
    int stdout_fd;             /* becomes 1; -1 = /dev/null */
    int stderr_fd;             /* becomes 2; -1 = /dev/null */
    bool new_session;          /* setsid(): the child leads its own process group */
    bool drop_root;            /* when running as root, become uid/gid 65534 (nobody) */
    const proc_limit *limits;  /* applied with setrlimit in the child */
    size_t n_limits;
} proc_spec;

/* Forks and executes. Returns the child's pid, or -1 with a message in err (the program
 * could not be executed, or fork failed). */
pid_t tool_proc_spawn(const proc_spec *spec, char *err, size_t err_size);

/* Waits for the child to exit until the monotonic `deadline` (0 = do not wait, just check).
 * Returns true and sets *exit_status (exit code, or 128 + signal) once it has exited and
 * been reaped; false if it is still running. */
bool tool_proc_wait(pid_t pid, double deadline, int *exit_status);

/* SIGKILLs the child (its process group too when it leads one) and reaps it. */
void tool_proc_kill(pid_t pid, bool group);

/* The absolute path of a program: `name` itself when it contains '/', else the first
 * executable match on $PATH. Caller frees; NULL if not found. */
char *tool_proc_find_program(const char *name);

#endif
