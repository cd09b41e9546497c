/* test_migration: goroutines move between threads at gort_yield and keep
 * their identity.
 *
 * What: GORT_MAXPROCS=2; 2,000 goroutines each call gort_yield 20 times,
 * with a little uneven busy work in between so that one P runs dry and
 * steals from the other. Each goroutine records gettid() before and after
 * every yield, and checks after every yield that gort_goid() is unchanged.
 * The id read at the start must equal what gort_go returned to the
 * spawner: the spawner publishes it in the goroutine's slot after gort_go
 * returns (the goroutine may start before that), and the goroutine waits
 * for the slot at the end. Every goroutine completes exactly once, having
 * done exactly 20 yields.
 *
 * Asserted: the thread changed across at least one yield (work stealing
 * moves goroutines between Ms); the count is printed. Rounds of 2,000 are
 * repeated (at most MAX_ROUNDS) until a migration has been seen, so an
 * unlucky perfectly balanced round cannot fail the test, but a scheduler
 * that never migrates does.
 *
 * Informational only: a C __thread variable written before a yield can
 * read differently after it when the goroutine resumed on another thread
 * (and errno is such a variable): after a migration &var is another
 * thread's variable, and even without one other goroutines on the same
 * thread may have written it. Code that keeps TLS values or addresses
 * across gort_yield is wrong; both counts are printed.
 */
#define _GNU_SOURCE
#include "check.h"

#include <stdatomic.h>

enum { N = 2000, YIELDS = 20, MAX_ROUNDS = 50 };
#define CAP_NS (60LL * 1000000000LL)

struct slot {
    atomic_llong expected;
    atomic_int ready;
    atomic_int runs;
    int yields;
    int moved;
    int tls_diff;
    int tls_moved;
};

static struct slot slots[N];
static atomic_int done;
static __thread int tls_mark;

/* Called through a volatile pointer so the TLS address is recomputed at each
 * call: a plain noinline function is proven "const" by GCC, which then reuses
 * the pre-yield result - the TLS trap itself. */
static int *tls_addr_impl(void) { return &tls_mark; }
static int *(*volatile tls_addr)(void) = tls_addr_impl;

__attribute__((noinline)) static void busy(int n) {
    for (volatile int i = 0; i < n; i++) {
    }
}

static void worker(void *arg) {
    struct slot *s = &slots[(intptr_t)arg];
    int idx = (int)(intptr_t)arg;
    int64_t me = gort_goid();
    CHECK(me > 1);
    atomic_fetch_add(&s->runs, 1);
    for (int k = 0; k < YIELDS; k++) {
        long before = check_gettid();
        int *tls_before = tls_addr();
        *tls_before = idx * 100 + k;
        busy((idx * 7 + k * 13) % 97 * 50);
        CHECK_EQ(gort_yield(), GORT_OK);
        long after = check_gettid();
        CHECK_EQ(gort_goid(), me);
        s->yields++;
        if (after != before)
            s->moved++;
        if (*tls_addr() != idx * 100 + k)
            s->tls_diff++;
        if (tls_addr() != tls_before)
            s->tls_moved++;
    }
    int64_t deadline = check_now_ns() + CAP_NS;
    while (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
        CHECK(check_now_ns() < deadline);
        gort_yield();
    }
    CHECK_EQ(atomic_load(&s->expected), me);
    atomic_fetch_add(&done, 1);
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 2);
    long total_moved = 0, total_tls = 0, total_tls_moved = 0;
    int round;
    for (round = 0; round < MAX_ROUNDS && total_moved == 0; round++) {
        memset(slots, 0, sizeof slots);
        atomic_store(&done, 0);
        for (int i = 0; i < N; i++) {
            int64_t id = gort_go(worker, (void *)(intptr_t)i);
            CHECK(id > 1);
            atomic_store(&slots[i].expected, id);
            atomic_store_explicit(&slots[i].ready, 1, memory_order_release);
        }
        int64_t deadline = check_now_ns() + CAP_NS;
        while (atomic_load(&done) < N) {
            CHECK(check_now_ns() < deadline);
            gort_yield();
        }
        for (int i = 0; i < N; i++) {
            CHECK_EQ(atomic_load(&slots[i].runs), 1);
            CHECK_EQ(slots[i].yields, YIELDS);
            total_moved += slots[i].moved;
            total_tls += slots[i].tls_diff;
            total_tls_moved += slots[i].tls_moved;
        }
    }
    struct gort_stats st;
    CHECK_EQ(gort_stats(&st), GORT_OK);
    printf("%d round(s): %ld of %ld yields resumed on another thread; %lld steals moved %lld goroutines\n", round,
           total_moved, (long)round * N * YIELDS, (long long)st.steals, (long long)st.stolen_goroutines);
    printf("informational: after %ld yields &tls_var was another thread's variable; a __thread value written "
           "before the yield read differently after %ld yields (other goroutines on the thread write it too)\n",
           total_tls_moved, total_tls);
    if (total_moved == 0)
        fprintf(stderr, "no goroutine ever resumed on another thread in %d rounds\n", round);
    CHECK(total_moved > 0);
    printf("test_migration: ok\n");
}

int main(int argc, char **argv) {
    setenv("GORT_MAXPROCS", "2", 1);
    return check_run_main(argc, argv, main_g);
}
