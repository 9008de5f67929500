/* The process's one thread pool.
 *
 * Work is split into contiguous chunks, one per thread, by a fixed rule
 * (so a kernel that writes disjoint outputs per chunk is deterministic).
 * Workers spin briefly for the next job and then sleep on a condition
 * variable: they never busy-wait while BLAS or the caller runs alone. The
 * caller likewise spins briefly for the last chunks before it sleeps.
 * BLAS itself is pinned to one thread (see blas.c). */
#include "internal.h"
#include "threads_stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Pause iterations a waiting thread spins at most before it sleeps (each
 * thread's actual spin adapts below it, see spin_budget): 2000 pauses of
 * ~20 ns on Zen 5, ~40 us, about one condition-variable wake-up.
 * TENSORCOOK_SPIN=N sets it (0: sleep at once, as OMP_WAIT_POLICY=PASSIVE
 * does). It was 20000 (~0.4 ms): on this machine, loaded past its 2 cores,
 * a spinning thread burnt the time slice of the thread it waited for, and
 * 2-thread VQA / WaveNet training steps took 1.5-3x the CPU time and up to
 * 2x the wall time they take with 2000 (docs/perf.md). Read when the pool
 * starts. */
#define SPIN_ITERS_DEFAULT 2000
static int spin_iters = SPIN_ITERS_DEFAULT;

typedef struct {
    pthread_t *workers;
    int nthreads;                /* including the caller */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    /* current job */
    tc_range_fn fn;
    void *ctx;
    int64_t n;
    int nchunks;
    volatile unsigned generation; /* bumped for each job */
    int remaining;                /* chunks still running */
    int sleepers;                 /* workers asleep on wake, or about to be */
    int caller_asleep;            /* the caller asleep on done, or about to be */
    double chunk_cpu[TC_POOL_STATS_THREADS]; /* TENSORCOOK_POOL_STATS: each worker's chunk CPU time */
    int stop;
} pool;

static pool P;
static int initialised;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int thread_id;
static _Thread_local int in_parallel;


/* Adaptive spinning. Each waiting thread spins at most its own budget,
 * which halves after a wait that even the full spin would not have covered
 * (it slept anyway: the spin was wasted) and doubles after one it did,
 * between spin_iters / 16 and spin_iters. A WaveNet training step
 * dispatches ~440 jobs with gaps mostly longer than the spin; on the loaded
 * 2-core machine the full spins were ~20 ms of its ~0.15 s CPU per step at
 * 2 threads (perf), as much as TENSORCOOK_SPIN=0 saved. Short gaps (RNN
 * steps) keep their spin. A wait is judged by its length, not by whether
 * the current budget covered it: judged that way a budget once at its floor
 * (~2.5 us) stayed there for gaps of 5-40 us, and at batch 1 on 2 threads
 * 83% of ResNet-50's regions found the worker asleep (each paying a futex
 * wake-up, the caller often sleeping too). Timing only, never which thread
 * computes what. */
static _Thread_local int spin_budget = -1;

static int spin_limit(void)
{
    if (spin_budget < 0 || spin_budget > spin_iters) spin_budget = spin_iters;
    return spin_budget;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* whether a wait that began at t0, spun `spins` pauses until t1 and ended
 * at t2 (woken) was within what a full spin_iters spin lasts */
static bool full_spin_covers(uint64_t t0, uint64_t t1, uint64_t t2, int spins)
{
    const double per_pause = spins > 0 ? (double)(t1 - t0) / spins : 0;
    return (double)(t2 - t0) <= per_pause * spin_iters;
}

static void spin_outcome(bool covered)
{
    int floor = spin_iters / 16 > 0 ? spin_iters / 16 : 1; /* >= 1, so a budget can always grow back */
    int next = covered ? spin_budget * 2 : spin_budget / 2;
    spin_budget = next < floor ? floor : next > spin_iters ? spin_iters : next;
}

static void chunk_bounds(int64_t n, int nchunks, int c, int64_t *b, int64_t *e)
{
    *b = n * c / nchunks;
    *e = n * (c + 1) / nchunks;
}

/* The hand-overs take no lock while the other side is awake: a job is
 * published by bumping the generation (its fields written before), a
 * chunk's end by decrementing remaining, and the mutex and condition
 * variables are used only by a side that goes to sleep (sleepers,
 * caller_asleep say so; each side stores its own flag, then loads the
 * other's, sequentially consistent, so one of them sees the other). With
 * the lock on every hand-over (as before) the side woken by an atomic
 * often found the lock still held by the other and slept on it in the
 * kernel: ResNet-50 at batch 1 on 2 threads made ~220 voluntary context
 * switches a run for its ~115 regions. Timing only: who computes which
 * chunk is unchanged. */
static void read_job(unsigned *seen, tc_range_fn *fn, void **ctx, int64_t *n, int *nchunks)
{
    for (;;) { /* a worker outside the job (id >= nchunks) may read while the next one is written */
        const unsigned g = __atomic_load_n(&P.generation, __ATOMIC_ACQUIRE);
        *fn = __atomic_load_n(&P.fn, __ATOMIC_RELAXED);
        *ctx = __atomic_load_n(&P.ctx, __ATOMIC_RELAXED);
        *n = __atomic_load_n(&P.n, __ATOMIC_RELAXED);
        *nchunks = __atomic_load_n(&P.nchunks, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&P.generation, __ATOMIC_RELAXED) == g) {
            *seen = g;
            return;
        }
    }
}

static void *worker_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    thread_id = id;
    in_parallel = 1;
    unsigned seen = 0;
    const bool stats = tc_pool_stats_enabled();
    double idle0 = stats ? tc_pool_stats_clock() : 0;
    for (;;) {
        int spins = 0, limit = spin_limit();
        const uint64_t t0 = limit > 0 ? now_ns() : 0;
        while (__atomic_load_n(&P.generation, __ATOMIC_ACQUIRE) == seen && spins < limit) {
            __builtin_ia32_pause();
            spins++;
        }
        const bool covered = __atomic_load_n(&P.generation, __ATOMIC_ACQUIRE) != seen;
        if (limit > 0 && covered) spin_outcome(true);
        if (!covered) {
            const uint64_t t1 = limit > 0 ? now_ns() : 0;
            pthread_mutex_lock(&P.lock);
            __atomic_add_fetch(&P.sleepers, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&P.generation, __ATOMIC_SEQ_CST) == seen && !P.stop)
                pthread_cond_wait(&P.wake, &P.lock);
            __atomic_sub_fetch(&P.sleepers, 1, __ATOMIC_SEQ_CST);
            const int stop = P.stop;
            pthread_mutex_unlock(&P.lock);
            if (stop) return NULL;
            if (limit > 0) spin_outcome(full_spin_covers(t0, t1, now_ns(), spins));
        }
        tc_range_fn fn;
        void *ctx;
        int64_t n;
        int nchunks;
        read_job(&seen, &fn, &ctx, &n, &nchunks);
        if (id < nchunks) {
            int64_t b, e;
            chunk_bounds(n, nchunks, id, &b, &e);
            double t0 = stats ? tc_pool_stats_clock() : 0;
            if (stats) tc_pool_stats_worker_idle(id, t0 - idle0);
            if (e > b) fn(ctx, b, e);
            if (stats) {
                idle0 = tc_pool_stats_clock();
                if (id < TC_POOL_STATS_THREADS) P.chunk_cpu[id] = idle0 - t0;
            }
            if (__atomic_sub_fetch(&P.remaining, 1, __ATOMIC_SEQ_CST) == 0 &&
                __atomic_load_n(&P.caller_asleep, __ATOMIC_SEQ_CST)) {
                pthread_mutex_lock(&P.lock);
                pthread_cond_signal(&P.done);
                pthread_mutex_unlock(&P.lock);
            }
        }
    }
}

static int threads_from_env(void)
{
    const char *s = getenv("TENSORCOOK_THREADS");
    if (s && *s) {
        int n = atoi(s);
        if (n >= 1 && n <= 1024) return n;
    }
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c >= 1 ? (int)c : 1;
}

static int spin_from_env(void)
{
    const char *s = getenv("TENSORCOOK_SPIN");
    if (s && *s) {
        long n = atol(s);
        if (n >= 0 && n <= 100000000) return (int)n;
    }
    return SPIN_ITERS_DEFAULT;
}

static void pool_start(int n)
{
    tc_blas_single_thread();
    spin_iters = spin_from_env();
    (void)tc_pool_stats_enabled(); /* read once here, before any worker reads it */
    P.nthreads = n;
    P.stop = 0;
    P.generation = 0;
    P.sleepers = 0;
    P.caller_asleep = 0;
    pthread_mutex_init(&P.lock, NULL);
    pthread_cond_init(&P.wake, NULL);
    pthread_cond_init(&P.done, NULL);
    P.workers = n > 1 ? calloc((size_t)n - 1, sizeof(pthread_t)) : NULL;
    int started = 1;
    for (int i = 1; i < n && P.workers; i++) {
        if (pthread_create(&P.workers[i - 1], NULL, worker_main, (void *)(intptr_t)i) != 0) break;
        started++;
    }
    P.nthreads = started; /* run with what we could start */
    initialised = 1;
}

static void ensure_pool(void)
{
    if (__atomic_load_n(&initialised, __ATOMIC_ACQUIRE)) return;
    pthread_mutex_lock(&init_lock);
    if (!initialised) pool_start(threads_from_env());
    pthread_mutex_unlock(&init_lock);
}

int tc_num_threads(void)
{
    ensure_pool();
    return P.nthreads;
}

void tc_threads_shutdown(void)
{
    pthread_mutex_lock(&init_lock);
    if (initialised) {
        pthread_mutex_lock(&P.lock);
        P.stop = 1;
        pthread_cond_broadcast(&P.wake);
        pthread_mutex_unlock(&P.lock);
        for (int i = 1; i < P.nthreads; i++) pthread_join(P.workers[i - 1], NULL);
        free(P.workers);
        P.workers = NULL;
        pthread_mutex_destroy(&P.lock);
        pthread_cond_destroy(&P.wake);
        pthread_cond_destroy(&P.done);
        __atomic_store_n(&initialised, 0, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_lock);
}

tc_status tc_set_num_threads(int n)
{
    if (n < 1 || n > 1024) return tc_error(TC_ERR_ARG, "set_num_threads: %d threads (1 to 1024)", n);
    if (in_parallel) return tc_error(TC_ERR_STATE, "set_num_threads: called inside a parallel region");
    tc_threads_shutdown();
    pthread_mutex_lock(&init_lock);
    pool_start(n);
    pthread_mutex_unlock(&init_lock);
    return TC_OK;
}

int tc_thread_id(void) { return thread_id; }

void tc_parallel_for(int64_t n, int64_t grain, tc_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    ensure_pool();
    int nchunks = P.nthreads;
    if ((n + grain - 1) / grain < nchunks) nchunks = (int)((n + grain - 1) / grain);
    const bool stats = !in_parallel && tc_pool_stats_enabled();
    const double t0 = stats ? tc_pool_stats_clock() : 0;
    if (stats) tc_pool_stats_serial(t0);
    if (nchunks <= 1 || in_parallel) {
        fn(ctx, 0, n);
        if (stats) {
            double t1 = tc_pool_stats_clock();
            tc_pool_stats_region(fn, n, 1, t1 - t0, NULL, 0, t1);
        }
        return;
    }
    __atomic_store_n(&P.fn, fn, __ATOMIC_RELAXED);
    __atomic_store_n(&P.ctx, ctx, __ATOMIC_RELAXED);
    __atomic_store_n(&P.n, n, __ATOMIC_RELAXED);
    __atomic_store_n(&P.nchunks, nchunks, __ATOMIC_RELAXED);
    __atomic_store_n(&P.remaining, nchunks - 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&P.generation, 1, __ATOMIC_SEQ_CST); /* publishes the fields above */
    if (__atomic_load_n(&P.sleepers, __ATOMIC_SEQ_CST) > 0) {
        if (stats) tc_pool_stats_sleep(false);
        pthread_mutex_lock(&P.lock);
        pthread_cond_broadcast(&P.wake);
        pthread_mutex_unlock(&P.lock);
    }

    in_parallel = 1;
    int64_t b, e;
    chunk_bounds(n, nchunks, 0, &b, &e);
    if (e > b) fn(ctx, b, e);
    in_parallel = 0;
    const double t1 = stats ? tc_pool_stats_clock() : 0;

    /* Spin briefly for the other chunks before sleeping, as the workers do
     * for jobs: a caller asleep on the condition variable is woken tens of
     * microseconds after the last chunk ends (measured in this VM), which
     * dominates short jobs such as one RNN step's products. */
    int limit = spin_limit(), spins = 0;
    const uint64_t w0 = limit > 0 ? now_ns() : 0;
    for (; __atomic_load_n(&P.remaining, __ATOMIC_ACQUIRE) > 0 && spins < limit; spins++) __builtin_ia32_pause();
    if (limit > 0 && __atomic_load_n(&P.remaining, __ATOMIC_ACQUIRE) == 0) spin_outcome(true);
    else if (__atomic_load_n(&P.remaining, __ATOMIC_ACQUIRE) > 0) {
        const uint64_t w1 = limit > 0 ? now_ns() : 0;
        pthread_mutex_lock(&P.lock);
        if (stats) tc_pool_stats_sleep(true);
        __atomic_store_n(&P.caller_asleep, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&P.remaining, __ATOMIC_SEQ_CST) > 0) pthread_cond_wait(&P.done, &P.lock);
        __atomic_store_n(&P.caller_asleep, 0, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&P.lock);
        if (limit > 0) spin_outcome(full_spin_covers(w0, w1, now_ns(), spins));
    }
    if (stats) {
        double t2 = tc_pool_stats_clock();
        tc_pool_stats_region(fn, n, nchunks < TC_POOL_STATS_THREADS ? nchunks : TC_POOL_STATS_THREADS, t1 - t0,
                             P.chunk_cpu, t2 - t1, t2);
    }
}
