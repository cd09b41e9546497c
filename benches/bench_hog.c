/* bench_hog: how late a sleeping goroutine wakes while another goroutine
 * spins in C without ever calling gort, at 1 P (GORT_MAXPROCS=1 in
 * scripts/bench.sh).
 *
 * The main goroutine spins for -n ms (1000) in a loop of xorshift steps: no
 * function call, no gort call, nothing a cooperative scheduler could switch
 * at. Meanwhile a second goroutine calls gort_sleep(10 ms) in a loop and
 * records, for each wake-up, lateness = wake time - (time before the sleep
 * + 10 ms). The sleeper is asleep before the spin starts (it closes a
 * channel that readies main, then goes on into its first sleep while main
 * waits for the P) and stops at the first wake-up after the spin ends.
 * Results per run: p50 and p99 of the run's wake-ups in microseconds (with
 * ~100 wake-ups p99 is the worst but one); BENCH lines hog_p50 and
 * hog_p99, medians over the runs, after a warm-up run with a spin of a tenth
 * of the length. The Go peer (benches/peers/go/io.go) runs the same loop.
 * Checked: no wake-up before its deadline, at least one wake-up.
 *
 * Extra field cpu_per_wall: the process's CPU time during the spin over its
 * wall time, about 1.0 in both runtimes: the sleeper's timeliness costs no
 * extra CPU. The mechanisms differ: Go preempts the spinning goroutine
 * itself (a signal, after 10 ms); gort cannot interrupt C code, so sysmon
 * hands the P to another thread (as for a goroutine in a system call) and
 * the kernel interleaves that thread with the spinning one, on one CPU as
 * on two (`taskset -c 0` gives the same figures).
 */
#include "bench.h"

#include <stdatomic.h>

#define NAP_NS 10000000

/* The same loop as the Go peer's spin(): each step depends on the one
 * before, so it can be neither vectorised nor skipped. */
static uint64_t spin(int64_t iters) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static volatile uint64_t spin_sink;

/* Iterations of spin() that take about `ms` milliseconds on this host. */
static int64_t spin_iters(long ms) {
    int64_t iters = 1 << 20;
    for (;;) {
        int64_t t0 = bench_now_ns();
        spin_sink += spin(iters);
        int64_t d = bench_now_ns() - t0;
        if (d >= 50000000)
            return (int64_t)((double)iters * (double)ms * 1e6 / (double)d);
        iters *= 2;
    }
}

static atomic_int hog_done;
static int64_t *late;
static long nlate, cap_late;
static gort_chan *started, *finished;

static void sleeper(void *arg) {
    (void)arg;
    BENCH_OK(gort_chan_close(started));
    while (!atomic_load(&hog_done)) {
        int64_t t0 = gort_nanotime();
        BENCH_OK(gort_sleep(NAP_NS));
        int64_t l = gort_nanotime() - (t0 + NAP_NS);
        if (nlate < cap_late)
            late[nlate++] = l;
    }
    BENCH_OK(gort_chan_close(finished));
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double cpu_now_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void run_once(int64_t iters, double *p50, double *p99, double *wakeups, double *hog_ms,
                     double *util) {
    atomic_store(&hog_done, 0);
    nlate = 0;
    started = gort_chan_make(0, 0);
    finished = gort_chan_make(0, 0);
    BENCH_CHECK(started && finished);
    BENCH_OK(gort_go(sleeper, NULL));
    BENCH_CHECK(gort_chan_recv(started, NULL) == GORT_ECLOSED);
    double c0 = cpu_now_s();
    int64_t t0 = bench_now_ns();
    spin_sink += spin(iters);
    int64_t wall = bench_now_ns() - t0;
    *hog_ms = (double)wall / 1e6;
    *util = (cpu_now_s() - c0) / ((double)wall / 1e9);
    atomic_store(&hog_done, 1);
    BENCH_CHECK(gort_chan_recv(finished, NULL) == GORT_ECLOSED);
    BENCH_OK(gort_chan_release(started));
    BENCH_OK(gort_chan_release(finished));
    if (nlate == 0)
        BENCH_FAIL("the sleeper never woke up");
    qsort(late, (size_t)nlate, sizeof *late, cmp_i64);
    if (late[0] < 0)
        BENCH_FAIL("a sleep ended %lld ns early", (long long)-late[0]);
    *p50 = (double)late[nlate / 2] / 1e3;
    *p99 = (double)late[nlate * 99 / 100] / 1e3;
    *wakeups = (double)nlate;
}

static void bench(void *arg) {
    (void)arg;
    /* Each sleep lasts at least 10 ms: a spin of n ms cannot see more than
     * n / 10 + 1 wake-ups. */
    cap_late = bench_n / 10 + 64;
    late = calloc((size_t)cap_late, sizeof *late);
    BENCH_CHECK(late != NULL);
    int64_t iters = spin_iters(bench_n);
    double p50[256], p99[256], wk[256], ms[256], ut[256], a, b, c, d, e;
    BENCH_CHECK(bench_runs <= 256);
    run_once(iters / 10, &a, &b, &c, &d, &e);
    for (int r = 0; r < bench_runs; r++)
        run_once(iters, &p50[r], &p99[r], &wk[r], &ms[r], &ut[r]);
    char extra[160];
    double ms_med = bench_median(ms, bench_runs), wk_med = bench_median(wk, bench_runs);
    double ut_med = bench_median(ut, bench_runs);
    snprintf(extra, sizeof extra, " hog_ms=%.0f wakeups=%.0f sleep_ms=10 cpu_per_wall=%.2f", ms_med,
             wk_med, ut_med);
    int procs = gort_gomaxprocs();
    bench_report("hog_p50", procs, "us", p50, bench_runs, extra);
    bench_report("hog_p99", procs, "us", p99, bench_runs, extra);
}

BENCH_MAIN(5, 1000, bench)
