/*
 * clock.h — the monotonic clock every module measures with (durations, deadlines, rates),
 * and the absolute timespec a timed wait (pthread_cond_timedwait, pthread_mutex_timedlock)
 * needs, on the clock it waits on. Deadlines in ember are monotonic seconds from ember_now_s().
 */
#ifndef EMBER_CORE_CLOCK_H
#define EMBER_CORE_CLOCK_H

#include <pthread.h>
#include <time.h>

/* Seconds, and milliseconds, on CLOCK_MONOTONIC. */
double ember_now_s(void);
double ember_now_ms(void);

/* The time `seconds` (>= 0) from now on `clock` (the clock a condition variable or timed lock
 * waits on: CLOCK_MONOTONIC for condition variables set so, CLOCK_REALTIME for
 * pthread_mutex_timedlock), as a timed wait's absolute timespec. */
struct timespec ember_time_after(clockid_t clock, double seconds);

/* Initializes a condition variable whose timed waits use CLOCK_MONOTONIC (deadlines from
 * ember_time_after(CLOCK_MONOTONIC, …); wall-clock jumps do not shorten or stretch them). */
int ember_cond_init_monotonic(pthread_cond_t *cond);

#endif
