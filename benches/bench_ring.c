/* bench_ring: 1,000 goroutines passing a token around a ring of channels.
 *
 * Goroutine i receives from ring[i] (its left) and sends to ring[i+1 mod
 * 1000] (its right). Main injects a token worth -n hops into ring[0]; each
 * member passes it on with one hop less; the member that receives 0 reports
 * its index on `done`. Then main closes every channel and the members exit.
 * Result: ns per hop (elapsed / n), timed from the injection to `done`.
 * Checked: the token ended at member n mod 1000.
 */
#include "bench.h"

enum { RING = 1000 };

static gort_chan *ring[RING];
static gort_chan *done;
static gort_waitgroup wg;

static void member(void *arg) {
    long i = (long)(intptr_t)arg;
    gort_chan *left = ring[i], *right = ring[(i + 1) % RING];
    int64_t t;
    int rc;
    while ((rc = gort_chan_recv(left, &t)) == GORT_OK) {
        if (t == 0) {
            int64_t me = i;
            BENCH_OK(gort_chan_send(done, &me));
        } else {
            t--;
            BENCH_OK(gort_chan_send(right, &t));
        }
    }
    BENCH_CHECK(rc == GORT_ECLOSED);
    BENCH_OK(gort_waitgroup_done(&wg));
}

static double run_once(long hops) {
    for (int i = 0; i < RING; i++)
        BENCH_CHECK((ring[i] = gort_chan_make(sizeof(int64_t), 0)) != NULL);
    BENCH_CHECK((done = gort_chan_make(sizeof(int64_t), 0)) != NULL);
    BENCH_OK(gort_waitgroup_add(&wg, RING));
    for (long i = 0; i < RING; i++)
        BENCH_OK(gort_go(member, (void *)(intptr_t)i));
    int64_t t = hops, who = -1;
    int64_t t0 = bench_now_ns();
    BENCH_OK(gort_chan_send(ring[0], &t));
    BENCH_OK(gort_chan_recv(done, &who));
    int64_t t1 = bench_now_ns();
    if (who != hops % RING)
        BENCH_FAIL("token ended at member %lld, want %ld", (long long)who, hops % RING);
    for (int i = 0; i < RING; i++)
        BENCH_OK(gort_chan_close(ring[i]));
    BENCH_OK(gort_waitgroup_wait(&wg));
    for (int i = 0; i < RING; i++)
        BENCH_OK(gort_chan_release(ring[i]));
    BENCH_OK(gort_chan_release(done));
    return (double)(t1 - t0) / (double)hops;
}

static void bench(void *arg) {
    (void)arg;
    double v[256];
    BENCH_CHECK(bench_runs <= 256);
    run_once(bench_n / 10 + 1); /* warm-up */
    for (int r = 0; r < bench_runs; r++)
        v[r] = run_once(bench_n);
    bench_report("ring", gort_gomaxprocs(), "ns/hop", v, bench_runs, " goroutines=1000");
}

BENCH_MAIN(7, 1000000, bench)
