/* test_spawn_100k: half a million goroutines from five spawners at once,
 * each run exactly once.
 *
 * What: the main goroutine spawns 100,000 goroutines (local path: runnext
 * and the P's queue) while 4 foreign pthreads spawn 100,000 each at the
 * same time (global run queue path, free-list refill without a P). Every
 * goroutine must run exactly once: per-index counters all == 1, the total
 * == 500,000, and the sum of the indexes the goroutines report equals
 * 0 + 1 + ... + 499,999. Afterwards gort_stats reports exactly 500,001
 * goroutines created (ours + main) and, once the last one has fully
 * exited, exactly 1 live goroutine (main).
 *
 * How: program mode, GORT_MAXPROCS=4. The main goroutine releases the
 * pthreads through an atomic flag, spawns its share (yielding every 256
 * spawns so the run queue does not pile up 100k stacks), then waits with a
 * gort_yield loop. A goroutine bumps its counter just before returning, so
 * the live count is polled (capped) until it reaches 1.
 * Built with -fsanitize=thread: 20,000 per spawner (100,000 took 285 s).
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

enum { NTHREADS = 4, NPER_MAX = 100000, NSRC = NTHREADS + 1, NTOTAL_MAX = NSRC * NPER_MAX };
/* 100,000 per spawner; 20,000 under ThreadSanitizer, where each goroutine's
 * fiber costs ~0.5 ms to make and end (the full run took 285 s). */
static long NPER = NPER_MAX, NTOTAL = NTOTAL_MAX;
#define CAP_NS (120LL * 1000000000LL)

static atomic_uchar runs[NTOTAL_MAX];
static atomic_llong index_sum;
static atomic_int done;
static atomic_int go_flag;
static atomic_int threads_done;

static void body(void *arg) {
    long i = (long)(intptr_t)arg;
    atomic_fetch_add(&runs[i], 1);
    atomic_fetch_add(&index_sum, i);
    atomic_fetch_add(&done, 1);
}

static void spawn_range(int src, int yield_every) {
    for (long k = 0; k < NPER; k++) {
        int64_t id = gort_go(body, (void *)(intptr_t)(src * NPER + k));
        CHECK(id > 0);
        if (yield_every && k % yield_every == yield_every - 1)
            gort_yield();
    }
}

static void *foreign(void *arg) {
    int src = (int)(intptr_t)arg;
    CHECK_EQ(gort_goid(), 0);
    while (!atomic_load(&go_flag))
        sched_yield();
    spawn_range(src, 0);
    atomic_fetch_add(&threads_done, 1);
    return NULL;
}

static void wait_until(atomic_int *v, int want, const char *what) {
    int64_t deadline = check_now_ns() + CAP_NS;
    while (atomic_load(v) < want) {
        if (check_now_ns() > deadline) {
            fprintf(stderr, "hang: %s reached only %d of %d\n", what, atomic_load(v), want);
            CHECK(0);
        }
        gort_yield();
    }
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_goid(), 1);
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        CHECK_EQ(pthread_create(&th[t], NULL, foreign, (void *)(intptr_t)(t + 1)), 0);
    atomic_store(&go_flag, 1);
    spawn_range(0, 256);
    wait_until(&threads_done, NTHREADS, "spawning threads");
    for (int t = 0; t < NTHREADS; t++)
        CHECK_EQ(pthread_join(th[t], NULL), 0);
    wait_until(&done, NTOTAL, "completed goroutines");

    CHECK_EQ(atomic_load(&done), NTOTAL);
    for (long i = 0; i < NTOTAL; i++) {
        if (atomic_load(&runs[i]) != 1)
            fprintf(stderr, "goroutine index %ld ran %d times\n", i, atomic_load(&runs[i]));
        CHECK_EQ(atomic_load(&runs[i]), 1);
    }
    CHECK_EQ(atomic_load(&index_sum), (long long)NTOTAL * (NTOTAL - 1) / 2);

    int64_t deadline = check_now_ns() + CAP_NS;
    while (gort_numgoroutine() != 1) {
        CHECK(check_now_ns() < deadline);
        gort_yield();
    }
    struct gort_stats st;
    CHECK_EQ(gort_stats(&st), GORT_OK);
    CHECK_EQ(st.goroutines_created, NTOTAL + 1);
    CHECK_EQ(st.goroutines, 1);
    CHECK_EQ(gort_numgoroutine(), 1);
    printf("test_spawn_100k: ok (%ld goroutines; %lld Ms, %lld steals moving %lld goroutines; stacks madvise=%lld "
           "mprotect=%lld canary=%lld)\n",
           NTOTAL, (long long)st.threads, (long long)st.steals, (long long)st.stolen_goroutines,
           (long long)st.stacks_guard_madvise, (long long)st.stacks_guard_mprotect,
           (long long)st.stacks_guard_canary);
}

int main(int argc, char **argv) {
    if (check_sanitizer() && !strcmp(check_sanitizer(), "thread")) {
        NPER = 20000;
        NTOTAL = NSRC * NPER;
    }
    setenv("GORT_MAXPROCS", "4", 1);
    return check_run_main(argc, argv, main_g);
}
