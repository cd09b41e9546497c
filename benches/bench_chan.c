/* bench_chan: unbuffered channel ping-pong between two goroutines.
 *
 * The main goroutine sends i on `ping`, an echo goroutine receives it and
 * sends it back on `pong`, main receives it: -n round trips per run. Result:
 * ns per round trip. Checked: every value came back unchanged; the echo
 * goroutine ends when `ping` is closed.
 */
#include "bench.h"

static gort_chan *ping, *pong;
static gort_waitgroup wg;

static void echo(void *arg) {
    (void)arg;
    int64_t v;
    int rc;
    while ((rc = gort_chan_recv(ping, &v)) == GORT_OK)
        BENCH_OK(gort_chan_send(pong, &v));
    BENCH_CHECK(rc == GORT_ECLOSED);
    BENCH_OK(gort_waitgroup_done(&wg));
}

static double run_once(long n) {
    ping = gort_chan_make(sizeof(int64_t), 0);
    pong = gort_chan_make(sizeof(int64_t), 0);
    BENCH_CHECK(ping && pong);
    BENCH_OK(gort_waitgroup_add(&wg, 1));
    BENCH_OK(gort_go(echo, NULL));
    int64_t t0 = bench_now_ns();
    for (int64_t i = 0; i < n; i++) {
        int64_t v = -1;
        BENCH_OK(gort_chan_send(ping, &i));
        BENCH_OK(gort_chan_recv(pong, &v));
        if (v != i)
            BENCH_FAIL("sent %lld, got back %lld", (long long)i, (long long)v);
    }
    int64_t t1 = bench_now_ns();
    BENCH_OK(gort_chan_close(ping));
    BENCH_OK(gort_waitgroup_wait(&wg));
    BENCH_OK(gort_chan_release(ping));
    BENCH_OK(gort_chan_release(pong));
    return (double)(t1 - t0) / (double)n;
}

static void bench(void *arg) {
    (void)arg;
    double v[256];
    BENCH_CHECK(bench_runs <= 256);
    run_once(bench_n / 10 + 1); /* warm-up */
    for (int r = 0; r < bench_runs; r++)
        v[r] = run_once(bench_n);
    bench_report("chan_pingpong", gort_gomaxprocs(), "ns/roundtrip", v, bench_runs, "");
}

BENCH_MAIN(7, 500000, bench)
