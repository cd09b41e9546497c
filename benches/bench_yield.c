/* bench_yield: two goroutines calling gort_yield in turn.
 *
 * Both run the same function, so both return to the same call site of
 * gort_yield (as two instances of one worker do; a different call site on
 * each side costs a return misprediction per yield, which measures the
 * benchmark, not the yield), and the main goroutine waits on a waitgroup, so
 * no third goroutine is in the rotation. The Go and Boost.Fiber peers have
 * the same shape. Result: ns per yield (elapsed / 2n). Checked: both made n
 * calls, each returning GORT_OK.
 */
#include "bench.h"

static long n;
static long made[2];
static gort_waitgroup wg;

static void yielder(void *arg) {
    long *count = arg;
    for (long i = 0; i < n; i++) {
        if (gort_yield() != GORT_OK)
            BENCH_FAIL("gort_yield failed");
        *count = i + 1;
    }
    BENCH_OK(gort_waitgroup_done(&wg));
}

static double run_once(void) {
    made[0] = made[1] = 0;
    BENCH_OK(gort_waitgroup_add(&wg, 2));
    int64_t t0 = bench_now_ns();
    BENCH_OK(gort_go(yielder, &made[0]));
    BENCH_OK(gort_go(yielder, &made[1]));
    BENCH_OK(gort_waitgroup_wait(&wg));
    int64_t t1 = bench_now_ns();
    BENCH_CHECK(made[0] == n && made[1] == n);
    return (double)(t1 - t0) / (2.0 * (double)n);
}

static void bench(void *arg) {
    (void)arg;
    n = bench_n;
    double v[256];
    BENCH_CHECK(bench_runs <= 256);
    run_once(); /* warm-up */
    for (int r = 0; r < bench_runs; r++)
        v[r] = run_once();
    bench_report("yield", gort_gomaxprocs(), "ns/yield", v, bench_runs, "");
}

BENCH_MAIN(7, 2000000, bench)
