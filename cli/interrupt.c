/* interrupt.c — Ctrl-C turned into ember_run_cancel (see interrupt.h). */
#include "interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int wake[2] = {-1, -1};      /* to the watcher thread */
static int at_prompt[2] = {-1, -1}; /* to a read at a prompt, whichever thread ran the handler */
static volatile sig_atomic_t pending;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static ember_run *watched;

static void on_sigint(int sig) {
    (void)sig;
    int saved = errno;
    pending++;
    if (write(wake[1], "!", 1) < 0) { /* the pipe is full: a cancel is on its way anyway */ }
    if (write(at_prompt[1], "!", 1) < 0) { /* full: a prompt's read wakes anyway */ }
    errno = saved;
}

static void *watcher(void *arg) {
    (void)arg;
    char byte;
    for (;;) {
        ssize_t n = read(wake[0], &byte, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return NULL;
        pthread_mutex_lock(&mu);
        if (watched) ember_run_cancel(watched);
        pthread_mutex_unlock(&mu);
    }
}

bool cli_interrupt_install(void) {
    if (wake[0] >= 0) return true;
    if (pipe(wake) != 0 || pipe(at_prompt) != 0) return false;
    for (int i = 0; i < 2; i++) {
        fcntl(wake[i], F_SETFD, FD_CLOEXEC);
        fcntl(at_prompt[i], F_SETFD, FD_CLOEXEC);
        fcntl(at_prompt[i], F_SETFL, O_NONBLOCK);
    }
    fcntl(wake[1], F_SETFL, O_NONBLOCK);
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);  /* the watcher never runs the handler itself */
    bool ok = pthread_create(&t, NULL, watcher, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok) return false;
    pthread_detach(t);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  /* no SA_RESTART: a read at a prompt returns */
    return sigaction(SIGINT, &sa, NULL) == 0;
}

void cli_interrupt_watch(ember_run *run) {
    pthread_mutex_lock(&mu);
    watched = run;
    pthread_mutex_unlock(&mu);
}

int cli_interrupt_read_byte(int fd, unsigned char *c) {
    for (;;) {
        if (pending) return 0;
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = at_prompt[0], .events = POLLIN}};
        int n = poll(p, at_prompt[0] >= 0 ? 2 : 1, -1);
        if (n < 0 && errno != EINTR) return -1;
        if (n > 0 && (p[1].revents & POLLIN)) {
            char drain[64];
            while (read(at_prompt[0], drain, sizeof drain) > 0) {}
            continue;  /* `pending` says whether it is a Ctrl-C not yet taken */
        }
        if (n > 0 && p[0].revents) {
            ssize_t r = read(fd, c, 1);
            if (r == 1) return 1;
            if (r == 0 || errno != EINTR) return -1;
        }
    }
}

int cli_interrupt_take(void) {
    int n = (int)pending;
    pending = 0;
    return n;
}

ember_status cli_run_interruptible(ember_engine *engine, const ember_chat *chat, const ember_run_params *params,
                                   ember_event_fn on_event, void *user, ember_result **result, bool *interrupted,
                                   ember_error *err) {
    ember_run *run = NULL;
    cli_interrupt_take();
    ember_status status = ember_run_start(engine, chat, params, on_event, user, &run, err);
    if (status != EMBER_OK) {
        *interrupted = false;
        return status;
    }
    cli_interrupt_watch(run);
    if (pending) ember_run_cancel(run);  /* Ctrl-C came before the watch began */
    status = ember_run_wait(run, result, err);
    cli_interrupt_watch(NULL);
    ember_run_destroy(run);
    *interrupted = cli_interrupt_take() > 0;
    return status;
}
