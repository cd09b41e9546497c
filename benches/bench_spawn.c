/* bench_spawn: goroutine creation, warm (stacks reused).
 *
 * chained: each goroutine spawns the next and exits; the -n-th one signals
 *          a waitgroup. ns per goroutine (spawn + run + exit).
 * fanout:  the main goroutine spawns -n goroutines, each of which marks a
 *          waitgroup done, and waits for all. ns per goroutine.
 * One warm-up run of each comes first so that every later run finds its
 * stacks in the free lists, as a long-running program does.
 * Checked: exactly n goroutines ran in each run (a counter).
 */
#include "bench.h"

#include <stdatomic.h>

static gort_waitgroup wg;
static atomic_long ran;

static void link_fn(void *arg) {
    long left = (long)(intptr_t)arg;
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    if (left == 0)
        BENCH_OK(gort_waitgroup_done(&wg));
    else
        BENCH_OK(gort_go(link_fn, (void *)(intptr_t)(left - 1)));
}

static double chained(long n) {
    atomic_store(&ran, 0);
    BENCH_OK(gort_waitgroup_add(&wg, 1));
    int64_t t0 = bench_now_ns();
    BENCH_OK(gort_go(link_fn, (void *)(intptr_t)(n - 1)));
    BENCH_OK(gort_waitgroup_wait(&wg));
    int64_t t1 = bench_now_ns();
    if (atomic_load(&ran) != n)
        BENCH_FAIL("chained: %ld goroutines ran, want %ld", atomic_load(&ran), n);
    return (double)(t1 - t0) / (double)n;
}

static void leaf(void *arg) {
    (void)arg;
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    BENCH_OK(gort_waitgroup_done(&wg));
}

static double fanout(long n) {
    atomic_store(&ran, 0);
    int64_t t0 = bench_now_ns();
    BENCH_OK(gort_waitgroup_add(&wg, n));
    for (long i = 0; i < n; i++)
        BENCH_OK(gort_go(leaf, NULL));
    BENCH_OK(gort_waitgroup_wait(&wg));
    int64_t t1 = bench_now_ns();
    if (atomic_load(&ran) != n)
        BENCH_FAIL("fanout: %ld goroutines ran, want %ld", atomic_load(&ran), n);
    return (double)(t1 - t0) / (double)n;
}

static void bench(void *arg) {
    (void)arg;
    double c[256], f[256];
    BENCH_CHECK(bench_runs <= 256);
    chained(bench_n); /* warm-up */
    fanout(bench_n);
    for (int r = 0; r < bench_runs; r++) {
        c[r] = chained(bench_n);
        f[r] = fanout(bench_n);
    }
    char extra[64];
    snprintf(extra, sizeof extra, " goroutines=%ld", bench_n);
    int procs = gort_gomaxprocs();
    bench_report("spawn_chained", procs, "ns/goroutine", c, bench_runs, extra);
    bench_report("spawn_fanout", procs, "ns/goroutine", f, bench_runs, extra);
}

BENCH_MAIN(7, 100000, bench)
