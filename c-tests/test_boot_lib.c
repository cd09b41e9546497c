/* test_boot_lib: library mode (Go's -buildmode=c-archive).
 *
 * What: gort_init_lib returns GORT_OK and gives the calling thread back;
 * the host's own threads (main + 4 pthreads) then call gort_go
 * concurrently, NPER times each. Every goroutine runs exactly once, on a
 * runtime thread (never on a host thread), with gort_goid() > 0 equal to
 * the id gort_go returned; ids are unique. On host threads gort_goid() is
 * 0 and gort_yield() is GORT_OK (a plain sched_yield). gort_mstart is
 * GORT_EPERM in library mode; a second gort_init or gort_init_lib is
 * GORT_EALREADY. Afterwards the live count drops back to 0 and
 * goroutines_created is exactly 1 (runtime.main) + all spawned.
 *
 * How: per-index counters, tids and goids recorded by each goroutine; the
 * main thread polls an atomic completion counter with a generous cap that
 * only turns a hang into a failure.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

enum { NHOST = 4, NPER = 10000, NSRC = NHOST + 1, NTOTAL = NSRC * NPER };
#define CAP_NS (120LL * 1000000000LL)

static atomic_int runs[NTOTAL];
static atomic_long run_tid[NTOTAL];
static atomic_llong run_goid[NTOTAL];
static int64_t spawn_id[NTOTAL];
static long host_tid[NSRC];
static atomic_int done;
static atomic_int go_flag;

static void body(void *arg) {
    int i = (int)(intptr_t)arg;
    atomic_fetch_add(&runs[i], 1);
    atomic_store(&run_tid[i], check_gettid());
    atomic_store(&run_goid[i], (long long)gort_goid());
    atomic_fetch_add(&done, 1);
}

static void spawn_range(int src) {
    CHECK_EQ(gort_goid(), 0); /* a host thread is not a goroutine */
    CHECK_EQ(gort_yield(), GORT_OK);
    for (int k = 0; k < NPER; k++) {
        int i = src * NPER + k;
        int64_t id = gort_go(body, (void *)(intptr_t)i);
        CHECK(id > 0);
        spawn_id[i] = id;
    }
    CHECK_EQ(gort_goid(), 0);
}

static void *host_thread(void *arg) {
    int src = (int)(intptr_t)arg;
    host_tid[src] = check_gettid();
    while (!atomic_load(&go_flag))
        sched_yield();
    spawn_range(src);
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    setenv("GORT_MAXPROCS", "2", 1);
    host_tid[0] = check_gettid();

    CHECK_EQ(gort_init_lib(argc, argv), GORT_OK);
    /* we still have our thread, and it is not a goroutine */
    CHECK_EQ(gort_goid(), 0);
    CHECK_EQ(gort_yield(), GORT_OK);
    CHECK_EQ(gort_gomaxprocs(), 2);
    CHECK_EQ(gort_mstart(), GORT_EPERM);
    CHECK_EQ(gort_init(argc, argv), GORT_EALREADY);
    CHECK_EQ(gort_init_lib(argc, argv), GORT_EALREADY);

    pthread_t th[NHOST];
    for (int t = 0; t < NHOST; t++)
        CHECK_EQ(pthread_create(&th[t], NULL, host_thread, (void *)(intptr_t)(t + 1)), 0);
    atomic_store(&go_flag, 1);
    spawn_range(0);
    for (int t = 0; t < NHOST; t++)
        CHECK_EQ(pthread_join(th[t], NULL), 0);

    int64_t deadline = check_now_ns() + CAP_NS;
    while (atomic_load(&done) < NTOTAL) {
        if (check_now_ns() > deadline) {
            fprintf(stderr, "hang: only %d of %d goroutines ran\n", atomic_load(&done), NTOTAL);
            CHECK(0);
        }
        usleep(1000);
    }
    CHECK_EQ(atomic_load(&done), NTOTAL);

    for (int i = 0; i < NTOTAL; i++) {
        CHECK_EQ(atomic_load(&runs[i]), 1);
        CHECK(atomic_load(&run_goid[i]) > 0);
        CHECK_EQ(atomic_load(&run_goid[i]), spawn_id[i]);
        long tid = atomic_load(&run_tid[i]);
        for (int h = 0; h < NSRC; h++)
            CHECK(tid != host_tid[h]);
    }
    /* ids are unique */
    static int64_t sorted[NTOTAL];
    memcpy(sorted, spawn_id, sizeof sorted);
    qsort(sorted, NTOTAL, sizeof sorted[0], cmp_i64);
    for (int i = 1; i < NTOTAL; i++)
        CHECK(sorted[i] != sorted[i - 1]);

    /* every goroutine (including runtime.main) finishes: live count 0 */
    deadline = check_now_ns() + CAP_NS;
    while (gort_numgoroutine() != 0) {
        CHECK(check_now_ns() < deadline);
        usleep(1000);
    }
    struct gort_stats st;
    CHECK_EQ(gort_stats(&st), GORT_OK);
    CHECK_EQ(st.goroutines, 0);
    CHECK_EQ(st.goroutines_created, 1 + NTOTAL); /* runtime.main + ours */
    CHECK_EQ(st.procs, 2);

    /* still usable from the host after all that */
    CHECK_EQ(gort_goid(), 0);
    CHECK_EQ(gort_yield(), GORT_OK);
    CHECK_EQ(gort_mstart(), GORT_EPERM);

    printf("test_boot_lib: ok (%d goroutines from %d host threads, %lld Ms, %lld steals)\n", NTOTAL, NSRC,
           (long long)st.threads, (long long)st.steals);
    return 0;
}
