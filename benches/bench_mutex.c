/* bench_mutex: contention on one gort_mutex.
 *
 * G goroutines (4, then 100) each lock the mutex, increment a shared
 * counter and unlock, -n / G times; main waits on a waitgroup. Result: ns
 * per lock/unlock pair (elapsed / n), one line per G. Checked: the counter
 * is exactly n at the end (no lost update).
 */
#include "bench.h"

static gort_mutex mu = GORT_MUTEX_INIT;
static long counter; /* guarded by mu */
static long per_goroutine;
static gort_waitgroup wg;

static void worker(void *arg) {
    (void)arg;
    for (long i = 0; i < per_goroutine; i++) {
        BENCH_OK(gort_mutex_lock(&mu));
        counter++;
        BENCH_OK(gort_mutex_unlock(&mu));
    }
    BENCH_OK(gort_waitgroup_done(&wg));
}

static double run_once(int g, long n) {
    per_goroutine = n / g;
    long total = per_goroutine * g;
    counter = 0;
    int64_t t0 = bench_now_ns();
    BENCH_OK(gort_waitgroup_add(&wg, g));
    for (int i = 0; i < g; i++)
        BENCH_OK(gort_go(worker, NULL));
    BENCH_OK(gort_waitgroup_wait(&wg));
    int64_t t1 = bench_now_ns();
    BENCH_OK(gort_mutex_lock(&mu));
    long got = counter;
    BENCH_OK(gort_mutex_unlock(&mu));
    if (got != total)
        BENCH_FAIL("%d goroutines: counter %ld, want %ld", g, got, total);
    return (double)(t1 - t0) / (double)total;
}

static void bench(void *arg) {
    (void)arg;
    static const int gs[] = {4, 100};
    for (int k = 0; k < 2; k++) {
        double v[256];
        BENCH_CHECK(bench_runs <= 256);
        run_once(gs[k], bench_n / 10 + gs[k]); /* warm-up */
        for (int r = 0; r < bench_runs; r++)
            v[r] = run_once(gs[k], bench_n);
        char name[32], extra[32];
        snprintf(name, sizeof name, "mutex%d", gs[k]);
        snprintf(extra, sizeof extra, " goroutines=%d", gs[k]);
        bench_report(name, gort_gomaxprocs(), "ns/lock", v, bench_runs, extra);
    }
}

BENCH_MAIN(7, 1000000, bench)
