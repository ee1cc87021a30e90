/* proc.c — fork/exec/reap for tool subprocesses; see proc.h. */
#define _GNU_SOURCE /* pipe2, dup3 */
#include "tools/proc.h"
#include "tools/tools_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { NOBODY = 65534 };

/* In the child: put `fd` (or /dev/null when fd < 0) at `target`. */
static int child_place_fd(int fd, int target, int devnull) {
    if (fd < 0) fd = devnull;
    if (fd == target) return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0;
}

static void child_close_from(int first) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)first, ~0u, 0u) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = first; fd < max; fd++) close(fd);
}

static _Noreturn void child_fail(int report_fd, int code) {
    ssize_t w = write(report_fd, &code, sizeof code);
    (void)w;
    _exit(127);
}

pid_t tool_proc_spawn(const proc_spec *spec, char *err, size_t err_size) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        snprintf(err, err_size, "pipe: %s", strerror(errno));
        return -1;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        snprintf(err, err_size, "/dev/null: %s", strerror(errno));
        close(report[0]);
        close(report[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_size, "fork: %s", strerror(errno));
        close(report[0]);
        close(report[1]);
        close(devnull);
        return -1;
    }
    if (pid == 0) {
        /* Child: async-signal-safe calls only. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int sigs[] = {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGHUP, SIGXCPU, SIGXFSZ};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
        /* Move the report pipe and /dev/null above the standard descriptors first, so
         * placing 0-2 cannot clobber them. */
        int rep = fcntl(report[1], F_DUPFD_CLOEXEC, 3);
        int dn = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
        if (rep < 0 || dn < 0) _exit(127);
        int in = spec->stdin_fd, out = spec->stdout_fd, er = spec->stderr_fd;
        /* A source descriptor among 0-2 could be overwritten by an earlier placement. */
        if (in >= 0 && in < 3) in = fcntl(in, F_DUPFD_CLOEXEC, 3);
        if (out >= 0 && out < 3) out = fcntl(out, F_DUPFD_CLOEXEC, 3);
        if (er >= 0 && er < 3) er = fcntl(er, F_DUPFD_CLOEXEC, 3);
        if (child_place_fd(in, 0, dn) || child_place_fd(out, 1, dn) || child_place_fd(er, 2, dn))
            child_fail(rep, errno);
        /* Everything but 0-2 and the report pipe goes: move the pipe to 3 and close 4+. */
        if (rep != 3) {
            if (dup3(rep, 3, O_CLOEXEC) < 0) child_fail(rep, errno);
            rep = 3;
        }
        child_close_from(4);
        for (size_t i = 0; i < spec->n_limits; i++) {
            struct rlimit rl = {spec->limits[i].soft, spec->limits[i].hard};
            if (setrlimit(spec->limits[i].resource, &rl) != 0) child_fail(rep, errno);
        }
        if (spec->new_session && setsid() < 0) child_fail(rep, errno);
        if (spec->drop_root && geteuid() == 0) {
            if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
                child_fail(rep, errno);
        }
        execve(spec->path, spec->argv, spec->envp ? spec->envp : environ);
        child_fail(rep, errno);
    }
    close(report[1]);
    close(devnull);
    int code = 0;
    ssize_t n;
    do {
        n = read(report[0], &code, sizeof code);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof code) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        snprintf(err, err_size, "cannot run %s: %s", spec->path, strerror(code));
        return -1;
    }
    return pid;
}

bool tool_proc_wait(pid_t pid, double deadline, int *exit_status) {
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            *exit_status = WIFEXITED(status) ? WEXITSTATUS(status)
                         : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
            return true;
        }
        if (r < 0 && errno != EINTR) {  /* not our child (already reaped) */
            *exit_status = 255;
            return true;
        }
        if (ember_now_s() >= deadline) return false;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void tool_proc_kill(pid_t pid, bool group) {
    if (pid <= 0) return;
    if (group) kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}

char *tool_proc_find_program(const char *name) {
    if (!name || !*name) return NULL;
    if (strchr(name, '/')) return access(name, X_OK) == 0 ? strdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    size_t nlen = strlen(name);
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t dlen = colon ? (size_t)(colon - path) : strlen(path);
        char *full = malloc(dlen + nlen + 2);
        if (!full) return NULL;
        if (dlen == 0) {
            memcpy(full, name, nlen + 1);  /* empty entry: the current directory */
        } else {
            memcpy(full, path, dlen);
            full[dlen] = '/';
            memcpy(full + dlen + 1, name, nlen + 1);
        }
        if (access(full, X_OK) == 0) return full;
        free(full);
        if (!colon) break;
        path = colon + 1;
    }
    return NULL;
}
