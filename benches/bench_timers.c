/* bench_timers: wake-up lateness of -n (100,000) sleeping goroutines.
 *
 * Each goroutine draws a duration uniformly from 1-10 ms (a fixed-seed
 * generator per goroutine: the same durations in every run and in every
 * implementation), reads the clock, sleeps, and reads the clock again.
 * lateness = wake time - (clock before the sleep + duration). Results: p50
 * and p99 of the lateness over all goroutines, in microseconds (medians
 * over the runs). Checked: no goroutine woke before its deadline.
 */
#include "bench.h"

static int64_t *late;
static gort_waitgroup wg;

/* splitmix64: the duration of goroutine i, in ns, uniform in [1 ms, 10 ms). */
static int64_t duration_ns(uint64_t i) {
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return 1000000 + (int64_t)(z % 9000000);
}

static void sleeper(void *arg) {
    long i = (long)(intptr_t)arg;
    int64_t d = duration_ns((uint64_t)i);
    int64_t t0 = gort_nanotime();
    BENCH_OK(gort_sleep(d));
    late[i] = gort_nanotime() - (t0 + d);
    BENCH_OK(gort_waitgroup_done(&wg));
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void run_once(long n, double *p50, double *p99) {
    BENCH_OK(gort_waitgroup_add(&wg, n));
    for (long i = 0; i < n; i++)
        BENCH_OK(gort_go(sleeper, (void *)(intptr_t)i));
    BENCH_OK(gort_waitgroup_wait(&wg));
    qsort(late, (size_t)n, sizeof *late, cmp_i64);
    if (late[0] < 0)
        BENCH_FAIL("a goroutine woke %lld ns before its deadline", (long long)-late[0]);
    *p50 = late[n / 2] / 1e3;
    *p99 = late[(n * 99) / 100] / 1e3;
}

static void bench(void *arg) {
    (void)arg;
    long n = bench_n;
    late = calloc((size_t)n, sizeof *late);
    BENCH_CHECK(late != NULL);
    double p50[256], p99[256], a, b;
    BENCH_CHECK(bench_runs <= 256);
    run_once(n, &a, &b); /* warm-up: stacks and timer heaps */
    for (int r = 0; r < bench_runs; r++)
        run_once(n, &p50[r], &p99[r]);
    char extra[64];
    snprintf(extra, sizeof extra, " goroutines=%ld", n);
    int procs = gort_gomaxprocs();
    bench_report("timer_p50", procs, "us", p50, bench_runs, extra);
    bench_report("timer_p99", procs, "us", p99, bench_runs, extra);
}

BENCH_MAIN(5, 100000, bench)
