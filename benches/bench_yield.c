/* bench_yield: two goroutines calling gort_yield in turn.
 *
 * The main goroutine is one of the two yielders, so no third goroutine is
 * in the rotation: main starts the other one, both call gort_yield -n times,
 * main waits for the other on a waitgroup. Result: ns per yield (elapsed /
 * 2n). Checked: both made n calls, each returning GORT_OK. Reported as
 * well: `alternation`, the fraction of main's yields after which the other
 * goroutine had made progress (1.0 at one P means every yield switched).
 */
#include "bench.h"

static long n;
static volatile long other_count;
static gort_waitgroup wg;

static void other(void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) {
        if (gort_yield() != GORT_OK)
            BENCH_FAIL("gort_yield failed");
        other_count = i + 1;
    }
    BENCH_OK(gort_waitgroup_done(&wg));
}

static double run_once(double *alternation) {
    other_count = 0;
    long progressed = 0, last = 0;
    BENCH_OK(gort_waitgroup_add(&wg, 1));
    int64_t t0 = bench_now_ns();
    BENCH_OK(gort_go(other, NULL));
    for (long i = 0; i < n; i++) {
        if (gort_yield() != GORT_OK)
            BENCH_FAIL("gort_yield failed");
        long c = other_count;
        progressed += c != last;
        last = c;
    }
    BENCH_OK(gort_waitgroup_wait(&wg));
    int64_t t1 = bench_now_ns();
    BENCH_CHECK(other_count == n);
    *alternation = (double)progressed / (double)n;
    return (double)(t1 - t0) / (2.0 * (double)n);
}

static void bench(void *arg) {
    (void)arg;
    n = bench_n;
    double v[256], alt[256], a;
    BENCH_CHECK(bench_runs <= 256);
    run_once(&a); /* warm-up */
    for (int r = 0; r < bench_runs; r++)
        v[r] = run_once(&alt[r]);
    char extra[64];
    snprintf(extra, sizeof extra, " alternation=%.3f", bench_median(alt, bench_runs));
    bench_report("yield", gort_gomaxprocs(), "ns/yield", v, bench_runs, extra);
}

BENCH_MAIN(7, 2000000, bench)
