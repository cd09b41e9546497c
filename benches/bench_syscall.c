/* bench_syscall: what gort_entersyscall() + gort_exitsyscall() add to a
 * system call, measured as Go's peer is (syscall.Syscall minus
 * syscall.RawSyscall, benches/peers/go/io.go).
 *
 * ns per pair = time per {gort_entersyscall(); syscall(SYS_getpid);
 * gort_exitsyscall();} - time per syscall(SYS_getpid), both over -n
 * (10,000,000) calls on the main goroutine, at 1 P (GORT_MAXPROCS=1 in
 * scripts/bench.sh). getpid is about the cheapest system call there is and
 * never blocks, so the pair is measured on its fast path: the P is kept.
 * The figure is a difference of two ~170 ns figures, so the two loops
 * alternate in 200 chunk pairs per run (20,000 calls each, a few ms): a
 * change in the host's speed lands on both sides of a pair. A run's figure
 * is the median over its pairs of (wrapped chunk - plain chunk) / calls, so
 * a pair that an interruption hit does not move it. Checked: every call
 * returned the pid, every enter/exit returned GORT_OK.
 */
#include "bench.h"

#include <sys/syscall.h>

enum { CHUNKS = 200 };

static long pid;

static int64_t plain(long n) {
    long sum = 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getpid);
    int64_t d = bench_now_ns() - t0;
    if (sum != n * pid)
        BENCH_FAIL("getpid did not return %ld", pid);
    return d;
}

static int64_t wrapped(long n) {
    long sum = 0;
    int bad = 0;
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        bad |= gort_entersyscall();
        sum += syscall(SYS_getpid);
        bad |= gort_exitsyscall();
    }
    int64_t d = bench_now_ns() - t0;
    if (bad)
        BENCH_FAIL("gort_entersyscall/gort_exitsyscall returned an error");
    if (sum != n * pid)
        BENCH_FAIL("getpid did not return %ld", pid);
    return d;
}

static void run_once(long n, double *pair, double *raw, double *full) {
    long per = n / CHUNKS > 0 ? n / CHUNKS : 1;
    int64_t tp = 0, tw = 0;
    double diff[CHUNKS];
    for (int k = 0; k < CHUNKS; k++) {
        int64_t dp, dw;
        if (k % 2 == 0) {
            dp = plain(per);
            dw = wrapped(per);
        } else {
            dw = wrapped(per);
            dp = plain(per);
        }
        tp += dp;
        tw += dw;
        diff[k] = (double)(dw - dp) / (double)per;
    }
    *raw = (double)tp / (double)(per * CHUNKS);
    *full = (double)tw / (double)(per * CHUNKS);
    *pair = bench_median(diff, CHUNKS);
}

static void bench(void *arg) {
    (void)arg;
    pid = (long)getpid();
    double pair[256], raw[256], full[256], a, b, c;
    BENCH_CHECK(bench_runs <= 256);
    run_once(bench_n / 10, &a, &b, &c);
    for (int r = 0; r < bench_runs; r++)
        run_once(bench_n, &pair[r], &raw[r], &full[r]);
    char extra[128];
    double raw_med = bench_median(raw, bench_runs), full_med = bench_median(full, bench_runs);
    snprintf(extra, sizeof extra, " calls=%ld raw_ns=%.1f wrapped_ns=%.1f", bench_n, raw_med,
             full_med);
    bench_report("syscall_pair", gort_gomaxprocs(), "ns/pair", pair, bench_runs, extra);
}

BENCH_MAIN(5, 10000000, bench)
