/* test_million: one million goroutines alive at the same time.
 *
 * What: the main goroutine spawns 1,000,000 goroutines; each one increments
 * "arrived" and then waits at a gate (a gort_yield loop on an atomic flag),
 * so all of them exist at once. Once every one has arrived the main
 * goroutine checks, exactly: gort_numgoroutine() == 1,000,001 (plus main)
 * and gort_stats goroutines == 1,000,001, created == 1,000,001; every
 * goroutine has its own stack, each with some guard, so madvise + mprotect
 * + canary stacks >= 1,000,000 (the per-method counts are printed: madvise
 * on Linux >= 6.13, mprotect under the mapping budget then canaries
 * elsewhere, e.g. qemu-user). Then it opens the gate and waits until
 * exactly 1,000,000 goroutines have completed and only main is left.
 *
 * How: GORT_MAXPROCS=2. The waiting goroutines yield only until the gate
 * opens, and main opens it as soon as all have arrived, so the run takes a
 * few passes over the run queues. RSS (/proc/self/statm) and the number of
 * mappings (/proc/self/maps lines) at the peak are printed, not asserted.
 * A generous cap turns a hang into a failure.
 *
 * ctest-timeout: 900 (about 15 s natively on 2 cores, most of it creating
 * 1M stacks: a page fault and a guard madvise each; ~60 s under qemu-user)
 */
#define _GNU_SOURCE
#include "check.h"

#include <stdatomic.h>

enum { N = 1000000 };
#define CAP_NS (600LL * 1000000000LL)

static atomic_int arrived;
static atomic_int completed;
static atomic_int gate;

static void waiter(void *arg) {
    (void)arg;
    atomic_fetch_add(&arrived, 1);
    while (!atomic_load_explicit(&gate, memory_order_acquire))
        gort_yield();
    atomic_fetch_add(&completed, 1);
}

static void wait_until(atomic_int *v, int want, const char *what, int64_t deadline) {
    while (atomic_load(v) < want) {
        if (check_now_ns() > deadline) {
            fprintf(stderr, "hang: %s is %d of %d\n", what, atomic_load(v), want);
            CHECK(0);
        }
        gort_yield();
    }
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static long map_lines(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;
    if (f) {
        while ((c = fgetc(f)) != EOF)
            n += c == '\n';
        fclose(f);
    }
    return n;
}

static void main_g(void *arg) {
    (void)arg;
    int64_t t0 = check_now_ns();
    int64_t deadline = t0 + CAP_NS;
    for (int i = 0; i < N; i++) {
        int64_t id = gort_go(waiter, NULL);
        if (id <= 0) {
            fprintf(stderr, "gort_go #%d failed: %lld (%s)\n", i, (long long)id, gort_strerror((int)id));
            CHECK(id > 0);
        }
    }
    int64_t t1 = check_now_ns();
    wait_until(&arrived, N, "arrived", deadline);
    int64_t t2 = check_now_ns();

    /* the gate is closed: every one of them is alive right now */
    CHECK_EQ(atomic_load(&completed), 0);
    CHECK_EQ(gort_numgoroutine(), N + 1);
    struct gort_stats st;
    CHECK_EQ(gort_stats(&st), GORT_OK);
    CHECK_EQ(st.goroutines, N + 1);
    CHECK_EQ(st.goroutines_created, N + 1);
    long long guarded = st.stacks_guard_madvise + st.stacks_guard_mprotect + st.stacks_guard_canary;
    printf("peak: %d goroutines alive; stacks: madvise=%lld mprotect=%lld canary=%lld (stack_size %lld)\n",
           N + 1, (long long)st.stacks_guard_madvise, (long long)st.stacks_guard_mprotect,
           (long long)st.stacks_guard_canary, (long long)st.stack_size);
    printf("peak: RSS %ld MiB, %ld mappings, %lld Ms, %lld steals\n", rss_kib() / 1024, map_lines(),
           (long long)st.threads, (long long)st.steals);
    CHECK(guarded >= N);

    atomic_store_explicit(&gate, 1, memory_order_release);
    wait_until(&completed, N, "completed", deadline);
    CHECK_EQ(atomic_load(&completed), N);
    while (gort_numgoroutine() != 1) { /* the last ones may still be exiting */
        CHECK(check_now_ns() < deadline);
        gort_yield();
    }
    CHECK_EQ(gort_numgoroutine(), 1);
    int64_t t3 = check_now_ns();
    printf("test_million: ok (spawn %.2f s, all arrived %.2f s, drained %.2f s)\n", (t1 - t0) / 1e9,
           (t2 - t0) / 1e9, (t3 - t2) / 1e9);
}

int main(int argc, char **argv) {
    CHECK_SKIP_UNDER_SANITIZER("a million goroutines: one TSan fiber, ASan root region and shadow each");
    setenv("GORT_MAXPROCS", "2", 1);
    return check_run_main(argc, argv, main_g);
}
