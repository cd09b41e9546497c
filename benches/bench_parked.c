/* bench_parked: memory of -n (1,000,000) goroutines parked at once.
 *
 * Main spawns n goroutines; each marks a `ready` waitgroup done and blocks
 * receiving from an unbuffered `gate` channel. Once all are ready (all
 * parked or about to), main reads the resident set (/proc/self/statm) and
 * the number of mappings (/proc/self/maps lines), then closes the gate and
 * waits for every goroutine to finish. Each run is a fresh process (-child
 * re-exec), so the stacks are new, as for a program that parks a million
 * goroutines once.
 *
 * Results, per run: parked (goroutines that were blocked at once), guarded
 * (of their stacks, those with a guard page: gort_stats madvise + mprotect;
 * canary-only stacks do not count), RSS per goroutine in KB (KiB: the RSS
 * delta from before the spawn / n), mappings (total) and mappings_delta
 * (from before the spawn). Checked: every goroutine was woken by the close
 * and finished.
 */
#include "bench.h"

#include <stdatomic.h>

static gort_chan *gate;
static gort_waitgroup ready, finished;

static void parked(void *arg) {
    (void)arg;
    BENCH_OK(gort_waitgroup_done(&ready));
    int rc = gort_chan_recv(gate, NULL);
    if (rc != GORT_ECLOSED)
        BENCH_FAIL("gate receive returned %d", rc);
    BENCH_OK(gort_waitgroup_done(&finished));
}

static void child(void *arg) {
    (void)arg;
    long n = bench_n;
    gate = gort_chan_make(0, 0);
    BENCH_CHECK(gate != NULL);
    long rss0 = bench_rss_kib(), maps0 = bench_map_count();
    BENCH_OK(gort_waitgroup_add(&ready, n));
    BENCH_OK(gort_waitgroup_add(&finished, n));
    for (long i = 0; i < n; i++)
        BENCH_OK(gort_go(parked, NULL));
    BENCH_OK(gort_waitgroup_wait(&ready));
    long rss1 = bench_rss_kib(), maps1 = bench_map_count();
    struct gort_stats st;
    BENCH_OK(gort_stats(&st));
    long alive = (long)st.goroutines - 1;
    long guarded = (long)(st.stacks_guard_madvise + st.stacks_guard_mprotect);
    BENCH_OK(gort_chan_close(gate));
    BENCH_OK(gort_waitgroup_wait(&finished));
    BENCH_OK(gort_chan_release(gate));
    printf("RESULT parked=%ld guarded=%ld kb_per=%.3f maps=%ld maps_delta=%ld procs=%d "
           "madvise=%lld mprotect=%lld canary=%lld\n",
           alive, guarded > n ? n : guarded, (double)(rss1 - rss0) / (double)n, maps1,
           maps1 - maps0, gort_gomaxprocs(), (long long)st.stacks_guard_madvise,
           (long long)st.stacks_guard_mprotect, (long long)st.stacks_guard_canary);
    fflush(stdout);
}

int main(int argc, char **argv) {
    bench_args(argc, argv, 1, 1000000);
    if (bench_child) {
        BENCH_OK(gort_init(argc, argv));
        BENCH_OK(gort_go(child, NULL));
        BENCH_OK(gort_mstart());
        return 1;
    }
    enum { K = 6 };
    double v[K][256];
    double *out[K];
    const char *keys[K] = {"parked", "guarded", "kb_per", "maps", "maps_delta", "procs"};
    for (int k = 0; k < K; k++)
        out[k] = v[k];
    BENCH_CHECK(bench_runs <= 256);
    bench_spawn_children(bench_runs, K, keys, out);
    int procs = (int)v[5][0];
    char extra[64];
    snprintf(extra, sizeof extra, " goroutines=%ld", bench_n);
    bench_report("parked", procs, "goroutines", v[0], bench_runs, extra);
    bench_report("parked_guarded", procs, "goroutines", v[1], bench_runs, extra);
    bench_report("parked_rss", procs, "KB/goroutine", v[2], bench_runs, extra);
    bench_report("parked_maps", procs, "mappings", v[3], bench_runs, extra);
    bench_report("parked_maps_delta", procs, "mappings", v[4], bench_runs, extra);
    return 0;
}
