/* test_million_waitgroup: 1,000,000 goroutines blocked on one waitgroup at
 * the same time, all released by one Done.
 *
 * What: GORT_MAXPROCS=2. The main goroutine Add(1)s a gate waitgroup and
 * spawns 1,000,000 goroutines; each marks itself arrived and calls
 * gort_waitgroup_wait(&gate). Once all have arrived (and none has passed
 * the gate), gort_numgoroutine() is exactly 1,000,001; the main goroutine
 * sleeps 100 ms more (none may pass) and then Done()s the gate. Every
 * goroutine must pass exactly once: per-goroutine flags all 1, the count of
 * released goroutines exactly 1,000,000 and the sum of their indexes
 * exactly 0 + ... + 999,999. The main goroutine waits for them on a second
 * waitgroup (Add(1,000,000) up front, one Done each), so that waitgroup
 * also goes through 1,000,000 Done calls exactly; afterwards only main is
 * left. Then the same gate is reused for a second round (the stacks are
 * recycled): same exact checks.
 *
 * How: a SIGALRM cap (600 s) turns a hang (a goroutine never released)
 * into a failure that names the phase and the counts.
 *
 * ctest-timeout: 900 (about 25 s natively on 2 cores, mostly creating 1M
 * stacks; a few minutes under qemu-user)
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdatomic.h>

enum { N = 1000000 };
#define MS 1000000LL

static gort_waitgroup gate = GORT_WAITGROUP_INIT;
static gort_waitgroup finished = GORT_WAITGROUP_INIT;
static atomic_int arrived, released;
static atomic_llong index_sum;
static atomic_uchar passed[N];
static const char *volatile phase = "start";

static void on_alarm(int sig) {
    (void)sig;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "hang: test_million_waitgroup, phase %s: arrived %d, released %d\n", phase,
                     atomic_load(&arrived), atomic_load(&released));
    ssize_t r = write(2, buf, (size_t)n);
    (void)r;
    _exit(1);
}

static void waiter(void *arg) {
    int i = (int)(intptr_t)arg;
    atomic_fetch_add(&arrived, 1);
    CHECK_EQ(gort_waitgroup_wait(&gate), GORT_OK);
    atomic_fetch_add(&passed[i], 1);
    atomic_fetch_add(&index_sum, i);
    atomic_fetch_add(&released, 1);
    CHECK_EQ(gort_waitgroup_done(&finished), GORT_OK);
}

static void round_(int r) {
    static char name[64];
    snprintf(name, sizeof name, "round %d: spawning", r);
    phase = name;
    atomic_store(&arrived, 0);
    atomic_store(&released, 0);
    atomic_store(&index_sum, 0);
    memset(passed, 0, sizeof passed);
    int64_t t0 = check_now_ns();
    CHECK_EQ(gort_waitgroup_add(&gate, 1), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&finished, N), GORT_OK);
    for (int i = 0; i < N; i++) {
        CHECK(gort_go(waiter, (void *)(intptr_t)i) > 0);
        if (i % 256 == 255)
            gort_yield(); /* let them block as we go */
    }
    snprintf(name, sizeof name, "round %d: waiting for arrivals", r);
    while (atomic_load(&arrived) < N)
        gort_sleep(MS);
    int64_t t1 = check_now_ns();
    CHECK_EQ(gort_numgoroutine(), N + 1);
    gort_sleep(100 * MS);
    CHECK_EQ(atomic_load(&released), 0); /* nobody passed the closed gate */
    CHECK_EQ(gort_numgoroutine(), N + 1);

    snprintf(name, sizeof name, "round %d: releasing", r);
    CHECK_EQ(gort_waitgroup_done(&gate), GORT_OK);
    CHECK_EQ(gort_waitgroup_wait(&finished), GORT_OK);
    int64_t t2 = check_now_ns();
    CHECK_EQ(atomic_load(&released), N);
    CHECK_EQ(atomic_load(&index_sum), (long long)N * (N - 1) / 2);
    for (int i = 0; i < N; i++)
        if (atomic_load(&passed[i]) != 1) {
            fprintf(stderr, "goroutine %d passed the gate %d times\n", i, atomic_load(&passed[i]));
            CHECK(0);
        }
    CHECK_EQ(gort_waitgroup_done(&gate), GORT_EINVAL); /* back at 0 */
    CHECK_EQ(gort_waitgroup_done(&finished), GORT_EINVAL);
    snprintf(name, sizeof name, "round %d: draining", r);
    while (gort_numgoroutine() != 1)
        gort_sleep(MS);
    printf("round %d: %d goroutines blocked on one waitgroup, all released exactly once (spawn+block %.1f s, "
           "release %.1f s)\n",
           r, N, (t1 - t0) / 1e9, (t2 - t1 - 100 * MS) / 1e9);
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 2);
    round_(1);
    round_(2);
    struct gort_stats st;
    CHECK_EQ(gort_stats(&st), GORT_OK);
    CHECK_EQ(st.goroutines_created, 2LL * N + 1);
    printf("test_million_waitgroup: ok\n");
}

int main(int argc, char **argv) {
    CHECK_SKIP_UNDER_SANITIZER("a million goroutines: one TSan fiber, ASan root region and shadow each");
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(600);
    setenv("GORT_MAXPROCS", "2", 1);
    return check_run_main(argc, argv, main_g);
}
