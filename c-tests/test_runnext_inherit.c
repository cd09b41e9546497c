/* test_runnext_inherit: runnext hand-offs inherit the time slice, and
 * sysmon's 10 ms slice limit keeps them from starving the local queue.
 *
 * What: GORT_MAXPROCS=1. Goroutine C waits in the P's local run queue while
 * a chain of goroutines hands off through runnext: each link spawns the
 * next one and returns. A spawned goroutine goes to runnext, and when its
 * parent exits the scheduler takes it from runnext before the queue,
 * inheriting the time slice (schedtick does not advance). Without time
 * slices the chain would run forever and C would never run. sysmon sees
 * schedtick stuck for 10 ms, sets the P's preempt flag, and the next pick
 * demotes runnext to the tail, so C (at the head) runs.
 *
 * Asserts, for each of ROUNDS rounds: C runs (else, after a 10 s cap, the
 * test fails: "C starved"); and before C ran the chain made more than
 * MIN_HANDOFFS hand-offs, proving runnext really had priority over C
 * (a plain FIFO would run C after at most one link). The chain stops
 * spawning once C has run; the number of links is printed.
 *
 * How: the main goroutine spawns C first and the chain head second (so C
 * is pushed out of runnext into the queue), then yields, which queues the
 * main goroutine behind C and lets the chain start from runnext.
 */
#define _GNU_SOURCE
#include "check.h"

#include <stdatomic.h>

enum { ROUNDS = 3, MIN_HANDOFFS = 100 };
#define CAP_NS (10LL * 1000000000LL)

static atomic_long links;
static atomic_long links_when_c_ran;
static atomic_int c_ran;
static atomic_int chain_done;
static int64_t chain_deadline;
static atomic_llong c_ran_ns;

static void c_fn(void *arg) {
    (void)arg;
    atomic_store(&links_when_c_ran, atomic_load(&links));
    atomic_store(&c_ran_ns, check_now_ns());
    atomic_store(&c_ran, 1);
}

static void link_fn(void *arg) {
    (void)arg;
    long n = atomic_fetch_add(&links, 1) + 1;
    if (atomic_load(&c_ran)) {
        atomic_store(&chain_done, 1);
        return;
    }
    if (n % 1024 == 0 && check_now_ns() > chain_deadline) {
        fprintf(stderr, "C starved: %ld runnext hand-offs in 10 s and the queued goroutine never ran\n", n);
        CHECK(0);
    }
    CHECK(gort_go(link_fn, NULL) > 0); /* next link: into runnext */
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 1);
    for (int r = 0; r < ROUNDS; r++) {
        atomic_store(&links, 0);
        atomic_store(&c_ran, 0);
        atomic_store(&chain_done, 0);
        chain_deadline = check_now_ns() + CAP_NS;
        int64_t t0 = check_now_ns();
        CHECK(gort_go(c_fn, NULL) > 0);    /* runnext = C */
        CHECK(gort_go(link_fn, NULL) > 0); /* runnext = head, C -> queue */
        /* queue: [C]; we go behind it; the chain starts from runnext */
        while (!atomic_load(&chain_done))
            gort_yield();
        long before = atomic_load(&links_when_c_ran);
        printf("round %d: C ran after %ld runnext hand-offs (%.1f ms)\n", r, before,
               (double)(atomic_load(&c_ran_ns) - t0) / 1e6);
        CHECK_EQ(atomic_load(&c_ran), 1);
        CHECK(before > MIN_HANDOFFS);
    }
    /* everything finished: only main is left (polled, the last link may
     * still be exiting when chain_done is seen) */
    int64_t deadline = check_now_ns() + CAP_NS;
    while (gort_numgoroutine() != 1) {
        CHECK(check_now_ns() < deadline);
        gort_yield();
    }
    printf("test_runnext_inherit: ok\n");
}

int main(int argc, char **argv) {
    /* Needs MIN_HANDOFFS hand-offs within one 10 ms time slice. */
    CHECK_SKIP_UNDER_TSAN("too slow for the hand-offs one time slice must hold");
    setenv("GORT_MAXPROCS", "1", 1);
    return check_run_main(argc, argv, main_g);
}
