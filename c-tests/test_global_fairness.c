/* test_global_fairness: the global run queue cannot starve behind a P's
 * local work; it is checked every 61st schedule tick, as in Go.
 *
 * What and why the bound is exact:
 *
 * GORT_MAXPROCS=1, so one M runs every goroutine and all scheduling on the
 * P is sequential. The local workload is the main goroutine plus NYIELD
 * goroutines that only call gort_yield in a loop: the local run queue is
 * never empty, so without the periodic global check a goroutine in the
 * global queue would never run. The workload never spawns during the
 * measurement, so runnext stays empty and every pick comes from the local
 * queue (or the global queue) WITHOUT inheriting the time slice: each pick
 * advances schedtick by exactly 1. (A spawn would put the child in runnext
 * and the child would inherit the slice without a tick; such picks would
 * make the bound loose, which is why the workload only yields.)
 *
 * The scheduler looks at the global queue first when the tick it is about
 * to schedule at is a multiple of 61. Every local goroutine bumps a shared
 * counter each time gort_yield returns to it, i.e. once per local pick.
 *
 * Round r: the main goroutine asks a foreign pthread to gort_go(global_fn)
 * (a goroutine spawned off the runtime goes to the global queue) and spins
 * WITHOUT yielding until gort_go has returned, so the global G is queued
 * before any further pick. base = counter at that moment. global_fn
 * records C_r = counter when it starts. Then:
 *
 *   1. C_r - base <= 60: at most 60 local picks (ticks not divisible by
 *      61) before a tick divisible by 61 takes the global G.
 *   2. (C_{r+1} - C_r + 1) % 61 == 0: between the picks of two global
 *      goroutines exactly the local picks plus global_fn's own pick
 *      happened, and both global picks were at ticks divisible by 61.
 *
 * Starvation: the local work never stops until global_fn ran; if it has
 * not run after STARVE_CAP yields of the main goroutine (thousands of
 * 61-tick periods), the test fails with "global run queue starved".
 * Between rounds the main goroutine yields a varying number of times so
 * the phase (C_r - base) differs from round to round (printed).
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

enum { NYIELD = 4, ROUNDS = 40, STARVE_CAP = 200000 };
#define CAP_NS (30LL * 1000000000LL)

static atomic_long local_runs;
static atomic_int stop;
static atomic_int yielders_done;

static atomic_int request[ROUNDS];
static atomic_int returned[ROUNDS];
static atomic_int global_ran[ROUNDS];
static long started_at[ROUNDS];

static void yielder(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        gort_yield();
        atomic_fetch_add(&local_runs, 1);
    }
    atomic_fetch_add(&yielders_done, 1);
}

static void global_fn(void *arg) {
    int r = (int)(intptr_t)arg;
    started_at[r] = atomic_load(&local_runs);
    atomic_store(&global_ran[r], 1);
}

static void *foreign(void *arg) {
    (void)arg;
    CHECK_EQ(gort_goid(), 0);
    for (int r = 0; r < ROUNDS; r++) {
        int64_t deadline = check_now_ns() + CAP_NS;
        while (!atomic_load(&request[r])) {
            CHECK(check_now_ns() < deadline);
            sched_yield();
        }
        CHECK(gort_go(global_fn, (void *)(intptr_t)r) > 0);
        atomic_store(&returned[r], 1);
    }
    return NULL;
}

/* main's own yield: it is local work too, so it counts its resumptions */
static void main_yield(void) {
    gort_yield();
    atomic_fetch_add(&local_runs, 1);
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 1);
    for (int i = 0; i < NYIELD; i++)
        CHECK(gort_go(yielder, NULL) > 0);
    /* let the spawned ones leave runnext and settle into the local queue */
    for (int i = 0; i < 100; i++)
        main_yield();

    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, foreign, NULL), 0);

    long dist[ROUNDS];
    long maxd = 0, mind = 1000;
    for (int r = 0; r < ROUNDS; r++) {
        atomic_store(&request[r], 1);
        int64_t deadline = check_now_ns() + CAP_NS;
        while (!atomic_load(&returned[r])) /* spin: no pick may happen now */
            CHECK(check_now_ns() < deadline);
        long base = atomic_load(&local_runs);
        long n = 0;
        while (!atomic_load(&global_ran[r])) {
            if (++n > STARVE_CAP) {
                fprintf(stderr, "global run queue starved: round %d, %ld local picks and global_fn has not run\n",
                        r, atomic_load(&local_runs) - base);
                CHECK(0);
            }
            main_yield();
        }
        dist[r] = started_at[r] - base;
        if (dist[r] < 0 || dist[r] > 60)
            fprintf(stderr, "round %d: %ld local picks before the global goroutine ran (bound 60)\n", r, dist[r]);
        CHECK(dist[r] >= 0);
        CHECK(dist[r] <= 60);
        if (r > 0) {
            long between = started_at[r] - started_at[r - 1] + 1;
            if (between % 61 != 0)
                fprintf(stderr, "rounds %d..%d: %ld picks between two global picks, not a multiple of 61\n", r - 1,
                        r, between);
            CHECK_EQ(between % 61, 0);
        }
        if (dist[r] > maxd)
            maxd = dist[r];
        if (dist[r] < mind)
            mind = dist[r];
        for (int i = 0; i < (r * 7) % 23; i++) /* vary the phase */
            main_yield();
    }
    CHECK_EQ(pthread_join(th, NULL), 0);
    atomic_store(&stop, 1);
    while (atomic_load(&yielders_done) < NYIELD)
        gort_yield();

    printf("local picks before the global goroutine, per round:");
    for (int r = 0; r < ROUNDS; r++)
        printf(" %ld", dist[r]);
    printf("\ntest_global_fairness: ok (min %ld, max %ld, bound 60)\n", mind, maxd);
}

int main(int argc, char **argv) {
    /* The exact count assumes every pick is a yield's; slowed ~10x, the
     * loop between yields can outlast sysmon's 10 ms slice, and its
     * hand-off adds a pick (seen once: 182 picks between two globals). */
    CHECK_SKIP_UNDER_TSAN("sysmon hand-offs add picks the exact count does not model");
    setenv("GORT_MAXPROCS", "1", 1);
    return check_run_main(argc, argv, main_g);
}
