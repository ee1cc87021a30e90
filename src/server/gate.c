/* gate.c — see gate.h. */
#include "server/gate.h"
#include "core/clock.h"

#include <time.h>

struct srv_waiter {
    srv_waiter *next;
    int seqs, cells;
};

void srv_gate_init(srv_gate *g, int parallel, int max_queue, int n_seq_max, int n_ctx) {
    *g = (srv_gate){.parallel = parallel, .max_queue = max_queue, .n_seq_max = n_seq_max, .n_ctx = n_ctx};
    pthread_mutex_init(&g->mu, NULL);
    ember_cond_init_monotonic(&g->cv);
}

void srv_gate_destroy(srv_gate *g) {
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static bool fits(const srv_gate *g, int seqs, int cells) {
    return g->runs < g->parallel && g->seqs + seqs <= g->n_seq_max && g->cells + cells <= g->n_ctx;
}

static void unlink_waiter(srv_gate *g, srv_waiter *w) {
    srv_waiter **p = &g->head;
    while (*p && *p != w) p = &(*p)->next;
    if (*p) *p = w->next;
    g->tail = NULL;
    for (srv_waiter *it = g->head; it; it = it->next) g->tail = it;
    g->waiting--;
}

srv_gate_result srv_gate_enter(srv_gate *g, int seqs, int cells, bool (*gone)(void *user), void *user) {
    pthread_mutex_lock(&g->mu);
    if (g->stopping) {
        pthread_mutex_unlock(&g->mu);
        return SRV_GATE_GONE;
    }
    if (!g->head && fits(g, seqs, cells)) {
        g->runs++;
        g->seqs += seqs;
        g->cells += cells;
        pthread_mutex_unlock(&g->mu);
        return SRV_GATE_ENTERED;
    }
    if (g->waiting >= g->max_queue) {
        pthread_mutex_unlock(&g->mu);
        return SRV_GATE_FULL;
    }
    srv_waiter w = {.seqs = seqs, .cells = cells};
    if (g->tail) g->tail->next = &w;
    else g->head = &w;
    g->tail = &w;
    g->waiting++;
    srv_gate_result result = SRV_GATE_GONE;
    double last = ember_now_s();
    for (;;) {
        if (g->stopping) break;
        if (g->head == &w && fits(g, seqs, cells)) {
            g->runs++;
            g->seqs += seqs;
            g->cells += cells;
            result = SRV_GATE_ENTERED;
            break;
        }
        struct timespec ts = ember_time_after(CLOCK_MONOTONIC, 0.1);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        double now = ember_now_s();
        if (gone && now - last >= 0.1) {
            last = now;
            pthread_mutex_unlock(&g->mu);
            bool left = gone(user);
            pthread_mutex_lock(&g->mu);
            if (left) break;
        }
    }
    unlink_waiter(g, &w);
    /* the next waiter may fit now */
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return result;
}

void srv_gate_leave(srv_gate *g, int seqs, int cells) {
    pthread_mutex_lock(&g->mu);
    g->runs--;
    g->seqs -= seqs;
    g->cells -= cells;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void srv_gate_stop(srv_gate *g) {
    pthread_mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void srv_gate_snapshot(srv_gate *g, int *runs, int *seqs, int *cells, int *waiting) {
    pthread_mutex_lock(&g->mu);
    *runs = g->runs;
    *seqs = g->seqs;
    *cells = g->cells;
    *waiting = g->waiting;
    pthread_mutex_unlock(&g->mu);
}
