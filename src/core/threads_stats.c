/* Where the pool's threads spend their time (TENSORCOOK_POOL_STATS=1): for
 * each parallel-for body, how many regions ran, the CPU time of the caller's
 * chunk and of the workers' chunks, and the sum over regions of the slowest
 * chunk; besides, the caller's CPU time between regions (serial work) and
 * waiting for the workers, and the workers' CPU time between their chunks
 * (spinning for the next job). Thread CPU times, so the figures hold on a
 * loaded machine: serial + the sum of slowest chunks is the critical path.
 * Printed to stderr at exit; body addresses are given relative to
 * tc_parallel_for (map them with nm). Off by default: then the pool pays a
 * test of one flag per region. */
#include "threads_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 512

typedef struct {
    tc_range_fn fn;
    long regions;
    double items, caller_cpu, worker_cpu, max_cpu, wait_cpu;
} body_stats;

static body_stats table[SLOTS];
static double serial_cpu, worker_idle_cpu[TC_POOL_STATS_THREADS], last_end = -1;
static long woke_workers, caller_slept;

/* per tag (an ONNX node's name, set by the profiler): serial + slowest
 * chunks (its critical path) and all chunks + serial (its work) */
#define TAGS 1024
typedef struct {
    const char *name;
    double crit, work, serial;
} tag_stats;
static tag_stats tags[TAGS];
static int n_tags, cur_tag = -1;

void tc_pool_stats_tag(const char *name)
{
    cur_tag = -1;
    if (!name) return;
    for (int i = 0; i < n_tags; i++)
        if (!strcmp(tags[i].name, name)) {
            cur_tag = i;
            return;
        }
    if (n_tags < TAGS && (tags[n_tags].name = strdup(name))) cur_tag = n_tags++; /* kept to the report at exit */
}
static int tc_pool_stats_on = -1;

double tc_pool_stats_clock(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void report(void)
{
    const double at = (double)(size_t)(void *)tc_parallel_for;
    double c = 0, w = 0, mx = 0, wt = 0, idle = 0;
    fprintf(stderr, "pool stats (CPU ms): body(+off from tc_parallel_for) regions items/region caller workers "
                    "sum-of-slowest caller-wait\n");
    for (int i = 0; i < SLOTS; i++) {
        const body_stats *b = &table[i];
        if (!b->fn) continue;
        fprintf(stderr, "  %+12.0f %7ld %9.1f %9.2f %9.2f %9.2f %9.2f\n", (double)(size_t)(void *)b->fn - at,
                b->regions, b->items / (double)b->regions, b->caller_cpu * 1e3, b->worker_cpu * 1e3, b->max_cpu * 1e3,
                b->wait_cpu * 1e3);
        c += b->caller_cpu, w += b->worker_cpu, mx += b->max_cpu, wt += b->wait_cpu;
    }
    for (int i = 0; i < n_tags; i++)
        fprintf(stderr, "pool stats tag %s crit %.3f work %.3f serial %.3f\n", tags[i].name, tags[i].crit * 1e3,
                tags[i].work * 1e3, tags[i].serial * 1e3);
    for (int i = 0; i < TC_POOL_STATS_THREADS; i++) idle += worker_idle_cpu[i];
    fprintf(stderr, "pool stats total: chunks caller %.2f workers %.2f slowest %.2f, caller wait %.2f, serial %.2f, "
                    "workers between chunks %.2f; critical path %.2f ms\n",
            c * 1e3, w * 1e3, mx * 1e3, wt * 1e3, serial_cpu * 1e3, idle * 1e3, (serial_cpu + mx) * 1e3);
    long regions = 0;
    for (int i = 0; i < SLOTS; i++) regions += table[i].regions;
    fprintf(stderr, "pool stats sleeps: %ld of %ld regions found a worker asleep, in %ld the caller slept\n", woke_workers,
            regions, caller_slept);
}

bool tc_pool_stats_enabled(void)
{
    if (tc_pool_stats_on < 0) {
        const char *s = getenv("TENSORCOOK_POOL_STATS");
        tc_pool_stats_on = s && *s && *s != '0';
        if (tc_pool_stats_on) atexit(report);
    }
    return tc_pool_stats_on;
}

void tc_pool_stats_serial(double now)
{
    if (last_end >= 0) {
        serial_cpu += now - last_end;
        if (cur_tag >= 0) {
            tag_stats *t = &tags[cur_tag];
            t->crit += now - last_end, t->work += now - last_end, t->serial += now - last_end;
        }
    }
    last_end = -1;
}

void tc_pool_stats_sleep(bool caller)
{
    if (caller) caller_slept++;
    else woke_workers++;
}

void tc_pool_stats_region(tc_range_fn fn, int64_t n, int nchunks, double caller, const double *workers, double wait,
                          double end)
{
    size_t h = ((size_t)(void *)fn >> 4) % SLOTS;
    while (table[h].fn && table[h].fn != fn) h = (h + 1) % SLOTS;
    body_stats *b = &table[h];
    b->fn = fn;
    b->regions++;
    b->items += (double)n;
    b->caller_cpu += caller;
    double mx = caller;
    for (int i = 1; i < nchunks; i++) {
        b->worker_cpu += workers[i];
        if (workers[i] > mx) mx = workers[i];
    }
    b->max_cpu += mx;
    if (cur_tag >= 0) {
        tags[cur_tag].crit += mx;
        tags[cur_tag].work += caller;
        for (int i = 1; i < nchunks; i++) tags[cur_tag].work += workers[i];
    }
    b->wait_cpu += wait;
    last_end = end;
}

void tc_pool_stats_worker_idle(int id, double cpu)
{
    if (id > 0 && id < TC_POOL_STATS_THREADS) worker_idle_cpu[id] += cpu;
}
