/* test_spawn_throttle: a spawner gives way to its unstarted children, and
 * resumes ahead of goroutines that keep yielding.
 *
 * 1. GORT_MAXPROCS=1 (set before init): the main goroutine spawns 100,000
 *    goroutines that each bump `started` and exit. After its i-th gort_go
 *    returns, the children started so far are exactly the completed bursts
 *    of 33 (the newest in runnext plus 32 in newq): started == i - i % 33.
 *    Sysmon may demote runnext once if a burst straddles a 10 ms time
 *    slice on a stalled machine, which delays one child past its burst, so
 *    the check allows started == i - i % 33 - 1 as well, never more and
 *    never fewer. The live goroutine count never exceeds 35 (main, 33
 *    children, a demoted one), every child runs exactly once, gort_stats
 *    counts 100,001 goroutines created and at most 70 stacks ever made:
 *    exits hand their stacks to the next spawns.
 * 2. Still at 1 P: 20,000 children that loop on gort_yield until a gate
 *    opens. Each burst of children goes to the run queue once it yielded;
 *    the spawner must still resume right after each burst (started ==
 *    i - i % 33, as above), not behind the growing crowd of yielders
 *    (which would make the loop quadratic). Nor may the run queue wait for
 *    the whole loop: between two bursts exactly 64 goroutines of the run
 *    queue run once (the spawner's credit) besides the 33 new children
 *    (which have yielded into the run queue by then, even in the first
 *    burst), so the yield turns counted between bursts are 97, plus at most 8
 *    for fair ticks (every 61st) and a sysmon demotion. Then the gate
 *    opens and all 20,000 finish.
 * 3. Still at 1 P: a spawn tree as in skynet, each node spawning 10
 *    children and waiting for them on its own waitgroup, 100,000 leaves.
 *    Throttling is per spawner (a node spawns only 10), so the tree runs
 *    depth-first: at most 10 goroutines per level are alive, 60 in all with
 *    the waiting ancestors; every leaf runs once. (An earlier throttle keyed
 *    on the queue length alone parked spawners aside mid-tree and let the
 *    tree expand breadth-first: 1.4 GB of stacks for skynet.)
 * A SIGALRM cap of 120 s turns a hang into a failure. Skipped when built
 * with ThreadSanitizer: its slowdown makes bursts span several slices.
 */
#define _GNU_SOURCE
#include "check.h"

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>

enum { N1 = 100000, N2 = 20000, BURST = 33, CREDIT = 64 };

static atomic_long started, finished, turns;
static atomic_int gate;
static unsigned char ran[N1];

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "test_spawn_throttle: timed out after 120 s\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

static void quick(void *arg) {
    long i = (long)(intptr_t)arg;
    ran[i]++;
    atomic_fetch_add(&started, 1);
}

static void yielder(void *arg) {
    (void)arg;
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&gate)) {
        atomic_fetch_add(&turns, 1);
        CHECK_OK(gort_yield());
    }
    atomic_fetch_add(&finished, 1);
}

enum { FANOUT = 10, LEAVES = 100000 };
static atomic_long leaves_ran, tree_max_live;

struct subtree {
    gort_waitgroup *parent; /* Done() when this subtree has finished */
    long size;              /* leaves below */
};

static void node(void *arg) {
    const struct subtree *me = arg;
    long live = gort_numgoroutine();
    long prev = atomic_load(&tree_max_live);
    while (live > prev && !atomic_compare_exchange_weak(&tree_max_live, &prev, live)) {
    }
    if (me->size == 1) {
        atomic_fetch_add(&leaves_ran, 1);
    } else {
        /* The children share one descriptor on this stack: we wait for them. */
        gort_waitgroup wg = GORT_WAITGROUP_INIT;
        struct subtree kids = {&wg, me->size / FANOUT};
        CHECK_OK(gort_waitgroup_add(&wg, FANOUT));
        for (int i = 0; i < FANOUT; i++)
            CHECK(gort_go(node, &kids) > 0);
        CHECK_OK(gort_waitgroup_wait(&wg));
    }
    CHECK_OK(gort_waitgroup_done(me->parent));
}

static void check_burst(long i, long got) {
    long want = i - i % BURST;
    if (got != want && got != want - 1) {
        fprintf(stderr, "after gort_go #%ld: %ld children started, want %ld\n", i, got, want);
        _exit(1);
    }
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 1);
    long max_live = 0;
    for (long i = 1; i <= N1; i++) {
        CHECK(gort_go(quick, (void *)(intptr_t)(i - 1)) > 0);
        check_burst(i, atomic_load(&started));
        long live = gort_numgoroutine();
        if (live > max_live)
            max_live = live;
    }
    while (atomic_load(&started) < N1)
        CHECK_OK(gort_yield());
    for (long i = 0; i < N1; i++)
        CHECK_EQ(ran[i], 1);
    CHECK(max_live <= BURST + 2);
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    CHECK_EQ(st.goroutines_created, N1 + 1);
    long stacks = (long)(st.stacks_guard_madvise + st.stacks_guard_mprotect + st.stacks_guard_canary);
    CHECK(stacks >= max_live && stacks <= 2 * (BURST + 2));
    printf("part 1: %d children, at most %ld goroutines alive, %ld stacks made\n", N1, max_live, stacks);

    atomic_store(&started, 0);
    long last_turns = 0, min_delta = LONG_MAX, max_delta = 0;
    for (long i = 1; i <= N2; i++) {
        CHECK(gort_go(yielder, NULL) > 0);
        check_burst(i, atomic_load(&started));
        if (i % BURST == 0) {
            long t = atomic_load(&turns), delta = t - last_turns;
            last_turns = t;
            if (delta < BURST + CREDIT || delta > BURST + CREDIT + 8) {
                fprintf(stderr, "after gort_go #%ld: %ld yield turns since the last burst, want %d..%d\n", i,
                        delta, BURST + CREDIT, BURST + CREDIT + 8);
                _exit(1);
            }
            min_delta = delta < min_delta ? delta : min_delta;
            max_delta = delta > max_delta ? delta : max_delta;
        }
    }
    CHECK_EQ(gort_numgoroutine(), N2 + 1);
    atomic_store(&gate, 1);
    while (atomic_load(&finished) < N2)
        CHECK_OK(gort_yield());
    CHECK_EQ(atomic_load(&started), N2);
    printf("part 2: %d yielding children, spawner resumed after every burst, %ld..%ld yield turns between bursts\n",
           N2, min_delta, max_delta);

    gort_waitgroup root_wg = GORT_WAITGROUP_INIT;
    struct subtree root = {&root_wg, LEAVES};
    CHECK_OK(gort_waitgroup_add(&root_wg, 1));
    CHECK(gort_go(node, &root) > 0);
    CHECK_OK(gort_waitgroup_wait(&root_wg));
    CHECK_EQ(atomic_load(&leaves_ran), LEAVES);
    CHECK(atomic_load(&tree_max_live) <= 60);
    printf("part 3: spawn tree of %d leaves, at most %ld goroutines alive\n", LEAVES, atomic_load(&tree_max_live));
    exit(0);
}

int main(int argc, char **argv) {
    /* The burst checks allow one sysmon demotion per burst; a sanitizer's
     * slowdown (5-15x) stretches bursts over several 10 ms slices. */
    CHECK_SKIP_UNDER_TSAN("bursts span several of sysmon's 10 ms slices");
    signal(SIGALRM, on_alarm);
    alarm(120);
    setenv("GORT_MAXPROCS", "1", 1);
    CHECK_OK(gort_init(argc, argv));
    CHECK(gort_go(main_g, NULL) > 0);
    return gort_mstart();
}
