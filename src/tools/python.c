/*
 * python.c — the python tool: runs model-written code in a bubblewrap sandbox.
 *
 * The sandbox, per call:
 *   - a fresh host directory (mkdtemp) is the only writable place, mounted as /tmp (also
 *     HOME and the working directory); the code is written there as main.py; the directory
 *     is removed afterwards;
 *   - /usr and the /bin, /lib… links are bound read-only, plus a few /etc files Python and
 *     the C library read; nothing else of the host is visible;
 *   - every namespace is unshared (user, pid, net, ipc, uts, cgroup): no network at all, not
 *     even the host's loopback; the process tree dies with its bwrap parent;
 *   - rlimits: CPU seconds (RLIMIT_CPU), address space (RLIMIT_AS), file size
 *     (RLIMIT_FSIZE), processes (RLIMIT_NPROC), no core dumps. When ember runs as root the
 *     child first becomes uid 65534, because the kernel does not apply RLIMIT_NPROC to root
 *     (concurrent sandboxes then share that allowance); otherwise the allowance is added to
 *     the tasks the user already runs, which RLIMIT_NPROC counts too;
 *   - the root and /dev (tmpfs that bwrap builds) are remounted read-only;
 *   - a wall-clock deadline: past it the whole sandbox is SIGKILLed;
 *   - stdout and stderr are each kept up to a byte limit; the rest is read and counted
 *     but dropped, and the result says so.
 * If bubblewrap is missing or cannot create its namespaces here, the result is an error
 * saying so: code is never run unsandboxed. Reentrant; calls share nothing.
 */
#define _GNU_SOURCE /* pipe2 */
#include "tools/proc.h"
#include "tools/tools_internal.h"
#include "core/utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { NOBODY = 65534 };

static pthread_once_t bwrap_once = PTHREAD_ONCE_INIT;
static char *bwrap_path;  /* found once, kept for the life of the process */

static void find_bwrap(void) {
    bwrap_path = tool_proc_find_program("bwrap");
    if (!bwrap_path && access("/usr/bin/bwrap", X_OK) == 0) bwrap_path = strdup("/usr/bin/bwrap");
}

/* One output stream: the first `limit` bytes are kept, the rest only counted. */
typedef struct capture {
    int fd;           /* -1 once closed */
    strbuf kept;      /* the first `limit` bytes */
    size_t total;     /* bytes seen */
    size_t limit;
} capture;

static void capture_read(capture *c) {
    char buf[16384];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->total += (size_t)n;
    size_t room = c->limit > c->kept.len ? c->limit - c->kept.len : 0;
    size_t take = (size_t)n < room ? (size_t)n : room;
    if (take) strbuf_append(&c->kept, buf, take);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static bool write_file(const char *path, const char *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return false;
        }
        off += (size_t)w;
    }
    return close(fd) == 0;
}

/* Tasks (threads included) whose real uid is `uid`, as RLIMIT_NPROC counts them. */
static long count_user_tasks(uid_t uid) {
    DIR *d = opendir("/proc");
    if (!d) return -1;
    long total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], line[256];
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f) continue;
        long threads = 1;
        bool mine = false;
        while (fgets(line, sizeof line, f)) {
            unsigned long ruid;
            if (sscanf(line, "Uid: %lu", &ruid) == 1) mine = ruid == (unsigned long)uid;
            else sscanf(line, "Threads: %ld", &threads);
        }
        fclose(f);
        if (mine) total += threads;
    }
    closedir(d);
    return total;
}

/* Text for one stream: valid UTF-8, and a note when bytes were dropped. */
static json_t *stream_json(const capture *c) {
    return tool_json_string(strbuf_str(&c->kept), c->kept.len);
}

void tool_python_call(const tool_config *cfg, const json_t *args, double deadline,
                      ember_tool_result *res) {
    const char *code;
    double timeout_arg = 0;
    bool has_timeout = false;
    if (!tool_arg_string(args, "code", true, &code, res) ||
        !tool_arg_number(args, "timeout", &timeout_arg, &has_timeout, res))
        return;
    if (has_timeout && timeout_arg > 0 && ember_now_s() + timeout_arg < deadline)
        deadline = ember_now_s() + timeout_arg;

    pthread_once(&bwrap_once, find_bwrap);
    if (!bwrap_path) {
        tool_result_fail(res, EMBER_ERR_UNSUPPORTED,
                         "the python sandbox is unavailable: bubblewrap (bwrap) is not installed");
        return;
    }
    if (access(cfg->python_path, X_OK) != 0) {
        tool_result_fail(res, EMBER_ERR_UNSUPPORTED, "the python interpreter %s is not available",
                         cfg->python_path);
        return;
    }

    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char dir[PATH_MAX], script[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/ember-python-XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        tool_result_fail(res, EMBER_ERR_IO, "cannot create the sandbox directory in %s: %s", tmp,
                         strerror(errno));
        return;
    }
    snprintf(script, sizeof script, "%s/main.py", dir);
    bool as_root = geteuid() == 0;
    if (!write_file(script, code, strlen(code)) ||
        (as_root && (chown(dir, NOBODY, NOBODY) != 0 || chown(script, NOBODY, NOBODY) != 0))) {
        tool_result_fail(res, EMBER_ERR_IO, "cannot prepare the sandbox directory: %s",
                         strerror(errno));
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        return;
    }

    /* The sandbox's file system: read-only /usr (with the merged-/usr links), a handful
     * of /etc files, fresh /proc and /dev, and the private directory as /tmp. */
    const char *argv[128];  /* 95 used at most */
    int a = 0;
    argv[a++] = bwrap_path;
    argv[a++] = "--unshare-all";
    argv[a++] = "--die-with-parent";
    argv[a++] = "--new-session";
    argv[a++] = "--hostname";
    argv[a++] = "sandbox";
    argv[a++] = "--ro-bind";
    argv[a++] = "/usr";
    argv[a++] = "/usr";
    static const char *const links[] = {"bin", "sbin", "lib", "lib64", "lib32", "libx32"};
    char link_targets[6][32], link_paths[6][16];
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(link_paths[i], sizeof link_paths[i], "/%s", links[i]);
        struct stat st;
        if (lstat(link_paths[i], &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(link_paths[i], link_targets[i], sizeof link_targets[i] - 1);
            if (n <= 0) continue;
            link_targets[i][n] = '\0';
            argv[a++] = "--symlink";
            argv[a++] = link_targets[i];
            argv[a++] = link_paths[i];
        } else if (S_ISDIR(st.st_mode)) {
            argv[a++] = "--ro-bind";
            argv[a++] = link_paths[i];
            argv[a++] = link_paths[i];
        }
    }
    static const char *const etc_files[] = {"/etc/alternatives", "/etc/ld.so.cache",
                                            "/etc/localtime", "/etc/python3", "/etc/python3.11",
                                            "/etc/mime.types", "/etc/nsswitch.conf"};
    for (size_t i = 0; i < sizeof etc_files / sizeof etc_files[0]; i++) {
        argv[a++] = "--ro-bind-try";
        argv[a++] = etc_files[i];
        argv[a++] = etc_files[i];
    }
    argv[a++] = "--proc";
    argv[a++] = "/proc";
    argv[a++] = "--dev";
    argv[a++] = "/dev";
    argv[a++] = "--bind";
    argv[a++] = dir;
    argv[a++] = "/tmp";
    /* bwrap builds the root (and /dev) on a tmpfs of its own: make them read-only, so the
     * private directory stays the only writable place (and nothing fills memory). */
    argv[a++] = "--remount-ro";
    argv[a++] = "/dev";
    argv[a++] = "--remount-ro";
    argv[a++] = "/";
    argv[a++] = "--chdir";
    argv[a++] = "/tmp";
    argv[a++] = "--clearenv";
    static const char *const env[][2] = {
        {"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"HOME", "/tmp"}, {"TMPDIR", "/tmp"},
        {"LANG", "C.UTF-8"}, {"PYTHONIOENCODING", "utf-8"}, {"PYTHONDONTWRITEBYTECODE", "1"},
        {"MPLBACKEND", "Agg"}, {"OPENBLAS_NUM_THREADS", "1"}, {"OMP_NUM_THREADS", "1"},
    };
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
        argv[a++] = "--setenv";
        argv[a++] = env[i][0];
        argv[a++] = env[i][1];
    }
    argv[a++] = "--";
    argv[a++] = cfg->python_path;
    argv[a++] = "-I";          /* isolated: no user site, no PYTHON* variables */
    argv[a++] = "-u";          /* unbuffered, so output before a kill is not lost */
    argv[a++] = "/tmp/main.py";
    argv[a] = NULL;

    /* RLIMIT_NPROC counts every task of the real uid: the tasks that uid runs already (the
     * user's own; as root, nobody's, which other daemons may use too) count against it, so
     * the allowance is added to them. */
    rlim_t nproc = (rlim_t)cfg->python_max_processes;
    long already = count_user_tasks(as_root ? (uid_t)NOBODY : getuid());
    nproc = already < 0 ? RLIM_INFINITY : nproc + (rlim_t)already;
    /* CPU: SIGXCPU at the limit (Python dies of it), SIGKILL a second later regardless. */
    proc_limit limits[] = {
        {RLIMIT_CPU, (rlim_t)cfg->python_cpu_seconds, (rlim_t)cfg->python_cpu_seconds + 1},
        {RLIMIT_AS, (rlim_t)cfg->python_memory_bytes, (rlim_t)cfg->python_memory_bytes},
        {RLIMIT_FSIZE, (rlim_t)cfg->python_file_bytes, (rlim_t)cfg->python_file_bytes},
        {RLIMIT_NPROC, nproc, nproc},
        {RLIMIT_CORE, 0, 0},
    };
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        tool_result_fail(res, EMBER_ERR_IO, "pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (out_pipe[i] >= 0) close(out_pipe[i]);
            if (err_pipe[i] >= 0) close(err_pipe[i]);
        }
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        return;
    }
    proc_spec spec = {
        .path = bwrap_path,
        .argv = (char *const *)argv,
        .envp = (char *const[]){"PATH=/usr/bin:/bin", NULL},
        .stdin_fd = -1,
        .stdout_fd = out_pipe[1],
        .stderr_fd = err_pipe[1],
        .new_session = true,
        .drop_root = true,
        .limits = limits,
        .n_limits = sizeof limits / sizeof limits[0],
    };
    char err[512];
    double started = ember_now_s();
    pid_t pid = tool_proc_spawn(&spec, err, sizeof err);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (pid < 0) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        tool_result_fail(res, EMBER_ERR_UNSUPPORTED, "the python sandbox could not start: %s", err);
        return;
    }

    capture out = {.fd = out_pipe[0], .limit = cfg->python_output_bytes};
    capture errs = {.fd = err_pipe[0], .limit = cfg->python_output_bytes};
    bool timed_out = false, exited = false;
    int exit_status = 0;
    while (out.fd >= 0 || errs.fd >= 0) {
        struct pollfd fds[2];
        int nf = 0;
        if (out.fd >= 0) fds[nf++] = (struct pollfd){.fd = out.fd, .events = POLLIN};
        if (errs.fd >= 0) fds[nf++] = (struct pollfd){.fd = errs.fd, .events = POLLIN};
        int ms = tool_ms_left(deadline);
        if (ms == 0) {
            timed_out = true;
            break;
        }
        /* Wake up now and then: a process may exit while a grandchild holds the pipes. */
        int r = poll(fds, (nfds_t)nf, ms < 100 ? ms : 100);
        if (r < 0 && errno != EINTR) break;
        for (int i = 0; i < nf; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            capture_read(fds[i].fd == out.fd ? &out : &errs);
        }
        if (r == 0 && tool_proc_wait(pid, 0, &exit_status)) {
            exited = true;
            break;
        }
    }
    if (timed_out) {
        tool_proc_kill(pid, true);
        exit_status = 128 + 9;
    } else if (!exited && !tool_proc_wait(pid, deadline, &exit_status)) {
        timed_out = true;
        tool_proc_kill(pid, true);
        exit_status = 128 + 9;
    }
    /* Whatever is still buffered in the pipes belongs to the output. */
    for (capture *c = &out; c; c = c == &out ? &errs : NULL) {
        if (c->fd < 0) continue;
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        while (c->fd >= 0) {
            size_t before = c->total;
            capture_read(c);
            if (c->fd >= 0 && c->total == before) break;
        }
        if (c->fd >= 0) close(c->fd);
    }
    double elapsed = ember_now_s() - started;
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);

    /* bwrap reports its own setup failures as "bwrap: …" on stderr with status 1. */
    if (exit_status == 1 && errs.kept.len >= 7 && memcmp(errs.kept.data, "bwrap: ", 7) == 0) {
        size_t n = utf8_cut(errs.kept.data, errs.kept.len, 300);
        while (n > 0 && (errs.kept.data[n - 1] == '\n' || errs.kept.data[n - 1] == '\r')) n--;
        tool_result_fail(res, EMBER_ERR_UNSUPPORTED,
                         "the python sandbox could not be created here (are user namespaces "
                         "available?): %.*s", (int)n, errs.kept.data);
        strbuf_free(&out.kept);
        strbuf_free(&errs.kept);
        return;
    }

    res->has_exit_status = true;
    res->exit_status = exit_status;
    tool_result_detail(res, "stdout", stream_json(&out));
    tool_result_detail(res, "stderr", stream_json(&errs));
    bool out_cut = out.total > out.kept.len, err_cut = errs.total > errs.kept.len;
    tool_result_detail(res, "truncated", json_boolean(out_cut || err_cut));

    /* The output for the model: stdout, then stderr and anything unusual, each labeled. */
    strbuf text = {0};
    char note[256];
    strbuf_append(&text, strbuf_str(&out.kept), out.kept.len);
    if (out_cut) {
        int n = snprintf(note, sizeof note, "%s[stdout truncated: %zu of %zu bytes shown]\n",
                         out.kept.len && out.kept.data[out.kept.len - 1] != '\n' ? "\n" : "", out.kept.len, out.total);
        strbuf_append(&text, note, (size_t)n);
    }
    if (errs.kept.len) {
        int n = snprintf(note, sizeof note, "%s[stderr]\n",
                         text.len && text.data[text.len - 1] != '\n' ? "\n" : "");
        strbuf_append(&text, note, (size_t)n);
        strbuf_append(&text, errs.kept.data, errs.kept.len);
        if (err_cut) {
            n = snprintf(note, sizeof note, "%s[stderr truncated: %zu of %zu bytes shown]\n",
                         errs.kept.data[errs.kept.len - 1] != '\n' ? "\n" : "", errs.kept.len, errs.total);
            strbuf_append(&text, note, (size_t)n);
        }
    }
    if (exit_status != 0 || timed_out) {
        int n = snprintf(note, sizeof note, "%s[exit status %d%s]\n",
                         text.len && text.data[text.len - 1] != '\n' ? "\n" : "", exit_status,
                         timed_out ? ", killed at the time limit" : "");
        strbuf_append(&text, note, (size_t)n);
    }
    tool_result_set_output(res, strbuf_str(&text), text.len);
    strbuf_free(&text);
    strbuf_free(&out.kept);
    strbuf_free(&errs.kept);

    if (timed_out) {
        tool_result_fail(res, EMBER_ERR_TIMEOUT, "the code ran past its time limit (%.1f s) and was killed",
                         elapsed);
    } else if (exit_status == 128 + 24 /* SIGXCPU */) {
        tool_result_fail(res, EMBER_ERR_TIMEOUT, "the code used up its CPU time limit (%d s)",
                         cfg->python_cpu_seconds);
    }
}
