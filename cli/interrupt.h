/*
 * interrupt.h — Ctrl-C for the CLI. The SIGINT handler only counts and writes a byte to a
 * pipe (async-signal-safe); a watcher thread reads the pipe and cancels the run being
 * watched, so Ctrl-C during an answer stops that answer and the program goes on. At a
 * prompt, cli_interrupt_read_byte returns and the caller decides. It waits on a second pipe
 * the handler writes rather than on a read's EINTR: the signal may run on another thread
 * (libllama's workers), or arrive just before the read begins, and the read would then block.
 */
#ifndef EMBER_CLI_INTERRUPT_H
#define EMBER_CLI_INTERRUPT_H

#include "ember.h"

/* Installs the handler and starts the watcher (once). False if it cannot. */
bool cli_interrupt_install(void);
/* The run Ctrl-C cancels from now on; NULL for none. */
void cli_interrupt_watch(ember_run *run);
/* One byte from fd: 1 when read, 0 when a Ctrl-C came first (not yet taken), -1 at end of
 * input or on an error. */
int cli_interrupt_read_byte(int fd, unsigned char *c);
/* SIGINTs received since the last cli_interrupt_take; resets the count. */
int cli_interrupt_take(void);

/* Runs the chat like ember_run_chat, cancelled by Ctrl-C; *interrupted says whether it was. */
ember_status cli_run_interruptible(ember_engine *engine, const ember_chat *chat, const ember_run_params *params,
                                   ember_event_fn on_event, void *user, ember_result **result, bool *interrupted,
                                   ember_error *err);

#endif
