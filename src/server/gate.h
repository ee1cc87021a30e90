/*
 * gate.h — admission of runs to the shared engine. A run asks for a number of sequences and
 * KV cells (its prompt and what its mode injects — not its token limit: generations that
 * outgrow the cells are the engine's to preempt, engine/cells.c); it enters when fewer than `parallel` runs are
 * in, its sequences and cells fit what is left, and every request that came before it has
 * entered (first come, first served). Up to `max_queue` requests wait; more are refused at
 * once. Waiters wake every 100 ms to ask whether their client is still there.
 * Thread-safe; waiting happens on the caller's (connection) thread.
 */
#ifndef EMBER_SERVER_GATE_H
#define EMBER_SERVER_GATE_H

#include <pthread.h>
#include <stdbool.h>

typedef struct srv_waiter srv_waiter;

typedef struct srv_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int parallel;        /* most runs in at once */
    int max_queue;       /* most waiters; 0 = none may wait */
    int n_seq_max;       /* sequences of the engine */
    int n_ctx;           /* KV cells of the engine */
    int runs;            /* runs in now */
    int seqs;            /* sequences reserved by them */
    int cells;           /* cells reserved by them */
    int waiting;         /* waiters now */
    srv_waiter *head, *tail;   /* waiters in arrival order */
    bool stopping;       /* the server shuts down: every waiter leaves */
} srv_gate;

typedef enum srv_gate_result {
    SRV_GATE_ENTERED,    /* the run may start; call srv_gate_leave when it ends */
    SRV_GATE_FULL,       /* the queue is full: answer 429 */
    SRV_GATE_GONE,       /* the client left, or the server is stopping */
} srv_gate_result;

void srv_gate_init(srv_gate *g, int parallel, int max_queue, int n_seq_max, int n_ctx);
void srv_gate_destroy(srv_gate *g);
/* Waits for room. `gone` (may be NULL) is asked every 100 ms while waiting. The request must
 * fit the whole engine (seqs <= n_seq_max, cells <= n_ctx): the caller checks first. */
srv_gate_result srv_gate_enter(srv_gate *g, int seqs, int cells, bool (*gone)(void *user), void *user);
void srv_gate_leave(srv_gate *g, int seqs, int cells);
/* Wakes every waiter; they return SRV_GATE_GONE. */
void srv_gate_stop(srv_gate *g);
/* Consistent numbers for /metrics. */
void srv_gate_snapshot(srv_gate *g, int *runs, int *seqs, int *cells, int *waiting);

#endif
