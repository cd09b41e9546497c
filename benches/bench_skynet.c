/* bench_skynet: the skynet benchmark (github.com/atemerev/skynet).
 *
 * The root goroutine creates a channel and spawns 10 children; child i of a
 * node (num, size) is (num + i * size/10, size/10); a node of size 1 is a
 * leaf and sends its num; every other node receives its 10 children's sums
 * and sends the total to its parent. With -n 1000000 that is 1,000,000
 * leaves and 1,111,111 goroutines in all, and the sum is 499999500000.
 *
 * Each run is a fresh process (this program re-executes itself with
 * -child), so that its peak RSS (getrusage ru_maxrss) is that run's own and
 * no run inherits warm stacks from another. Results: total ms (from the
 * root's spawn to its sum) and peak RSS in MB (MiB) per run.
 * Checked: the sum is n(n-1)/2; -n must be a power of 10.
 *
 * Channels: unbuffered, as in the original Go program. A node's channel
 * belongs to the node: it receives all ten values, then releases its
 * reference (a sender that handed its value over is done with the channel).
 * The children's arguments live in the parent's frame, which outlives them
 * for the same reason.
 */
#include "bench.h"

struct node {
    gort_chan *parent; /* where to send the sum */
    int64_t num, size;
};

static void skynet(void *arg) {
    struct node me = *(struct node *)arg;
    if (me.size == 1) {
        BENCH_OK(gort_chan_send(me.parent, &me.num));
        return;
    }
    gort_chan *rc = gort_chan_make(sizeof(int64_t), 0);
    if (!rc)
        BENCH_FAIL("gort_chan_make");
    struct node kids[10];
    int64_t sub = me.size / 10;
    for (int i = 0; i < 10; i++) {
        kids[i] = (struct node){rc, me.num + i * sub, sub};
        BENCH_OK(gort_go(skynet, &kids[i]));
    }
    int64_t sum = 0;
    for (int i = 0; i < 10; i++) {
        int64_t v;
        BENCH_OK(gort_chan_recv(rc, &v));
        sum += v;
    }
    BENCH_OK(gort_chan_release(rc));
    BENCH_OK(gort_chan_send(me.parent, &sum));
}

static void child(void *arg) {
    (void)arg;
    int64_t n = bench_n;
    gort_chan *c = gort_chan_make(sizeof(int64_t), 0);
    BENCH_CHECK(c != NULL);
    struct node root = {c, 0, n};
    int64_t sum = -1;
    int64_t t0 = bench_now_ns();
    BENCH_OK(gort_go(skynet, &root));
    BENCH_OK(gort_chan_recv(c, &sum));
    int64_t t1 = bench_now_ns();
    int64_t want = n * (n - 1) / 2;
    if (sum != want)
        BENCH_FAIL("skynet sum %lld, want %lld", (long long)sum, (long long)want);
    printf("RESULT ms=%.3f rss_mb=%.2f sum=%lld procs=%d\n", (t1 - t0) / 1e6,
           bench_maxrss_kib() / 1024.0, (long long)sum, gort_gomaxprocs());
    fflush(stdout);
}

int main(int argc, char **argv) {
    bench_args(argc, argv, 3, 1000000);
    for (long s = bench_n; s > 1; s /= 10)
        if (s % 10)
            BENCH_FAIL("-n must be a power of 10");
    if (bench_child) {
        BENCH_OK(gort_init(argc, argv));
        BENCH_OK(gort_go(child, NULL));
        BENCH_OK(gort_mstart());
        return 1;
    }
    double ms[256], mb[256], procs[256];
    const char *keys[] = {"ms", "rss_mb", "procs"};
    double *out[] = {ms, mb, procs};
    BENCH_CHECK(bench_runs <= 256);
    bench_spawn_children(bench_runs, 3, keys, out);
    char extra[64];
    snprintf(extra, sizeof extra, " leaves=%ld", bench_n);
    bench_report("skynet", (int)procs[0], "ms", ms, bench_runs, extra);
    bench_report("skynet_rss", (int)procs[0], "MB", mb, bench_runs, extra);
    return 0;
}
