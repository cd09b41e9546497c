/* test_mutex_counter: gort_mutex gives mutual exclusion, exactly, at
 * GORT_MAXPROCS 1, 2 and 4, between goroutines and between goroutines and
 * host threads.
 *
 * What, in one re-exec'ed child per GORT_MAXPROCS value (1, 2, 4):
 *  - 1,000 goroutines x 1,000 increments of a plain (non-atomic) counter
 *    under one gort_mutex: the counter ends at exactly 1,000,000. Every
 *    97th increment yields while holding the lock, so waiters really queue
 *    and park (at GORT_MAXPROCS=1 there would be no contention otherwise).
 *    A second counter, incremented without the lock by the holder only,
 *    detects two holders at once (it must equal the first), and an
 *    "inside" flag checked on entry catches overlap immediately.
 *  - the same with 4 host threads doing 100,000 increments each alongside
 *    the 1,000 goroutines: exactly 1,400,000.
 * The parent checks each child exits 0 and printed its exact totals.
 *
 * How: program mode; completion through an atomic counter of finished
 * workers, polled by the main goroutine; a SIGALRM cap turns a hang into a
 * failure that names the phase.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

enum { NG = 1000, PER_G = 1000, NT = 4, PER_T = 100000, YIELD_EVERY = 97 };
#define CAP_S 240

static gort_mutex mu = GORT_MUTEX_INIT;
static long long counter, shadow; /* protected by mu */
static atomic_int inside;
static atomic_int finished;
static atomic_int started_flag;
static const char *volatile phase = "start";

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "hang: test_mutex_counter did not finish within the cap; phase: ";
    ssize_t r = write(2, msg, sizeof msg - 1);
    r = write(2, phase, strlen(phase));
    r = write(2, "\n", 1);
    (void)r;
    _exit(1);
}

static void increment(int i, int on_goroutine) {
    CHECK_EQ(gort_mutex_lock(&mu), GORT_OK);
    if (atomic_exchange(&inside, 1) != 0) {
        fprintf(stderr, "two holders of the mutex at once\n");
        CHECK(0);
    }
    long long v = counter;
    if (i % YIELD_EVERY == YIELD_EVERY - 1) {
        if (on_goroutine)
            gort_yield();
        else
            sched_yield();
    }
    counter = v + 1;
    shadow++;
    atomic_store(&inside, 0);
    CHECK_EQ(gort_mutex_unlock(&mu), GORT_OK);
}

static void worker_g(void *arg) {
    (void)arg;
    for (int i = 0; i < PER_G; i++)
        increment(i, 1);
    atomic_fetch_add(&finished, 1);
}

static void *worker_t(void *arg) {
    (void)arg;
    while (!atomic_load(&started_flag))
        sched_yield();
    for (int i = 0; i < PER_T; i++)
        increment(i, 0);
    atomic_fetch_add(&finished, 1);
    return NULL;
}

static void wait_finished(int want) {
    while (atomic_load(&finished) < want)
        gort_sleep(1000000);
}

static void child_main(void *arg) {
    (void)arg;
    int64_t t0 = check_now_ns();
    phase = "1,000 goroutines";
    for (int g = 0; g < NG; g++)
        CHECK(gort_go(worker_g, NULL) > 0);
    wait_finished(NG);
    CHECK_EQ(gort_mutex_lock(&mu), GORT_OK);
    CHECK_EQ(counter, (long long)NG * PER_G);
    CHECK_EQ(shadow, (long long)NG * PER_G);
    CHECK_EQ(gort_mutex_unlock(&mu), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&mu), GORT_EPERM);
    int64_t t1 = check_now_ns();
    fprintf(stderr, "GOROUTINES counter=%lld (%.0f ms)\n", counter, (t1 - t0) / 1e6);

    phase = "1,000 goroutines + 4 host threads";
    counter = shadow = 0;
    atomic_store(&finished, 0);
    pthread_t th[NT];
    for (int t = 0; t < NT; t++)
        CHECK_EQ(pthread_create(&th[t], NULL, worker_t, NULL), 0);
    for (int g = 0; g < NG; g++)
        CHECK(gort_go(worker_g, NULL) > 0);
    atomic_store(&started_flag, 1);
    wait_finished(NG + NT);
    for (int t = 0; t < NT; t++)
        CHECK_EQ(pthread_join(th[t], NULL), 0);
    CHECK_EQ(gort_mutex_trylock(&mu), GORT_OK);
    CHECK_EQ(counter, (long long)NG * PER_G + (long long)NT * PER_T);
    CHECK_EQ(shadow, counter);
    CHECK_EQ(gort_mutex_unlock(&mu), GORT_OK);
    fprintf(stderr, "MIXED counter=%lld (%.0f ms)\n", counter, (check_now_ns() - t1) / 1e6);
}

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "child")) {
        signal(SIGALRM, on_alarm);
        alarm(CAP_S);
        setenv("GORT_MAXPROCS", argv[2], 1);
        return check_run_main(argc, argv, child_main);
    }
    static const char *const procs[] = {"1", "2", "4"};
    for (int i = 0; i < 3; i++) {
        static char out[1 << 14];
        char *args[] = {(char *)"child", (char *)procs[i], NULL};
        int st = check_run_self(args, NULL, out, sizeof out);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "child GORT_MAXPROCS=%s: status 0x%x; stderr:\n%s\n", procs[i], st, out);
        CHECK(WIFEXITED(st));
        CHECK_EQ(WEXITSTATUS(st), 0);
        CHECK(strstr(out, "GOROUTINES counter=1000000 ") != NULL);
        CHECK(strstr(out, "MIXED counter=1400000 ") != NULL);
        printf("GORT_MAXPROCS=%s:\n%s", procs[i], out);
    }
    printf("test_mutex_counter: ok\n");
    return 0;
}
