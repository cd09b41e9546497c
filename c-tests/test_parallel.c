/* test_parallel: with GORT_MAXPROCS=2, two goroutines really run at the
 * same time, on two different OS threads.
 *
 * What: goroutines A and B each raise their flag and then spin in C,
 * without ever yielding, until both flags are up. Since neither reaches a
 * scheduling point while spinning, both can only finish if they are on two
 * Ms simultaneously: one P would run one of them forever. Each records its
 * gettid() while the other is known to be running; the tids must differ.
 * Done for several rounds, each with a fresh pair.
 *
 * How: program mode. A spinner gives up after a 30 s safety cap and fails
 * the test with "no parallelism" (a hang turned into a failure, not a timing
 * assertion: with parallelism the spin ends as soon as both have started).
 */
#define _GNU_SOURCE
#include "check.h"

#include <stdatomic.h>

enum { ROUNDS = 5 };
#define CAP_NS (30LL * 1000000000LL)

struct pair {
    atomic_int flag[2];
    atomic_long tid[2];
    atomic_int finished;
};

static struct pair pairs[ROUNDS];

static void spinner(void *arg) {
    intptr_t v = (intptr_t)arg;
    struct pair *p = &pairs[v / 2];
    int me = (int)(v % 2);
    atomic_store(&p->flag[me], 1);
    int64_t deadline = check_now_ns() + CAP_NS;
    while (!atomic_load(&p->flag[!me])) { /* no gort_yield: must be truly parallel */
        if (check_now_ns() > deadline) {
            fprintf(stderr, "no parallelism: goroutine %d of round %d spun 30 s without its partner starting\n", me,
                    (int)(v / 2));
            CHECK(0);
        }
    }
    /* both are running right now, each on its own thread */
    atomic_store(&p->tid[me], check_gettid());
    atomic_fetch_add(&p->finished, 1);
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 2);
    for (int r = 0; r < ROUNDS; r++) {
        struct pair *p = &pairs[r];
        CHECK(gort_go(spinner, (void *)(intptr_t)(2 * r)) > 0);
        CHECK(gort_go(spinner, (void *)(intptr_t)(2 * r + 1)) > 0);
        while (atomic_load(&p->finished) < 2)
            gort_yield();
        long t0 = atomic_load(&p->tid[0]), t1 = atomic_load(&p->tid[1]);
        CHECK(t0 > 0 && t1 > 0);
        CHECK(t0 != t1);
        printf("round %d: goroutines ran in parallel on threads %ld and %ld\n", r, t0, t1);
    }
    printf("test_parallel: ok\n");
}

int main(int argc, char **argv) {
    setenv("GORT_MAXPROCS", "2", 1);
    return check_run_main(argc, argv, main_g);
}
