/* The pool's optional time accounting (threads_stats.c). */
#ifndef TC_THREADS_STATS_H
#define TC_THREADS_STATS_H

#include "internal.h"

#define TC_POOL_STATS_THREADS 64 /* workers counted; more run uncounted */

bool tc_pool_stats_enabled(void);
double tc_pool_stats_clock(void); /* this thread's CPU seconds */
void tc_pool_stats_serial(double now);
/* a region that found a worker asleep (caller false) or whose caller slept for its workers (true) */
void tc_pool_stats_sleep(bool caller);
void tc_pool_stats_region(tc_range_fn fn, int64_t n, int nchunks, double caller, const double *workers, double wait,
                          double end);
void tc_pool_stats_tag(const char *name); /* what the following regions count towards (NULL: none) */
void tc_pool_stats_worker_idle(int id, double cpu);

#endif
