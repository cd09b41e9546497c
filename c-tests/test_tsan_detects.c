/* test_tsan_detects: ThreadSanitizer sees goroutines (src/sanitize.rs).
 * Skipped (77) unless built with -fsanitize=thread.
 *
 *  - "clean": goroutines on 2 Ps hand data to each other through every
 *    synchronising primitive (unbuffered and buffered channels, select,
 *    close, mutex, rwmutex, waitgroup, once, cond, weighted semaphore,
 *    gort_go itself), each touching plain non-atomic memory the other
 *    wrote: exits 0 and TSan reports nothing.
 *  - "race": two goroutines write the same plain variable with nothing
 *    ordering them (they run at the same time: each waits, through a
 *    relaxed atomic, which orders nothing, until both have written): TSan
 *    must print "WARNING: ThreadSanitizer: data race" and the process fail.
 *
 * ctest-timeout: 120
 */
#include "check.h"

#if defined(__SANITIZE_THREAD__)
#define HAVE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HAVE_TSAN 1
#endif
#endif

#include <stdatomic.h>

enum { N = 200 };

static gort_waitgroup wg;
static gort_mutex mu;
static gort_rwmutex rw;
static gort_cond cv;
static gort_once once;
static gort_sema sem;
static long plain_mu, plain_rw, plain_cond, plain_once, plain_sem, plain_go;
static int cond_ready;

/* chan: each message is a pointer to a block the sender filled in. */
static void chan_consumer(void *arg) {
    gort_chan *c = arg;
    long *p;
    while (gort_chan_recv(c, &p) == GORT_OK) {
        CHECK_EQ(p[0] + 1, p[1]);
        free(p); /* TSan checks the free against the sender's writes */
    }
    gort_waitgroup_done(&wg);
}

static void chan_part(size_t cap) {
    gort_chan *c = gort_chan_make(sizeof(long *), cap);
    gort_waitgroup_add(&wg, 1);
    CHECK(gort_go(chan_consumer, c) > 0);
    for (long i = 0; i < N; i++) {
        long *p = malloc(2 * sizeof *p);
        p[0] = i;
        p[1] = i + 1;
        CHECK_OK(gort_chan_send(c, &p));
    }
    gort_chan_close(c);
    gort_waitgroup_wait(&wg);
    gort_chan_release(c);
}

/* select: the reply comes back through a select on two channels. */
static void select_echo(void *arg) {
    gort_chan **cs = arg;
    long *p;
    while (gort_chan_recv(cs[0], &p) == GORT_OK) {
        p[0]++;
        gort_select_case sc[2] = {{cs[1], GORT_SELECT_SEND, &p, false}, {NULL, GORT_SELECT_RECV, NULL, false}};
        CHECK_EQ(gort_select(sc, 2, -1), 0);
    }
    gort_waitgroup_done(&wg);
}

static void select_part(void) {
    gort_chan *cs[2] = {gort_chan_make(sizeof(long *), 0), gort_chan_make(sizeof(long *), 1)};
    gort_waitgroup_add(&wg, 1);
    CHECK(gort_go(select_echo, cs) > 0);
    long v = 0, *p = &v;
    for (int i = 0; i < N; i++) {
        v++;
        CHECK_OK(gort_chan_send(cs[0], &p));
        long *q = NULL;
        gort_select_case sc[2] = {{cs[1], GORT_SELECT_RECV, &q, false}, {NULL, GORT_SELECT_SEND, NULL, false}};
        CHECK_EQ(gort_select(sc, 2, -1), 0);
        CHECK(q == &v);
        CHECK_EQ(v, 2 * (i + 1));
    }
    gort_chan_close(cs[0]);
    gort_waitgroup_wait(&wg);
    gort_chan_release(cs[0]);
    gort_chan_release(cs[1]);
}

static void once_fn(void *arg) {
    (void)arg;
    plain_once = 42;
}

static void worker(void *arg) {
    if (arg)
        plain_go++; /* ordered by gort_go ... (one worker at a time) */
    for (int i = 0; i < N; i++) {
        gort_mutex_lock(&mu);
        plain_mu++;
        gort_mutex_unlock(&mu);
        if (i % 4 == 0) {
            gort_rwmutex_lock(&rw);
            plain_rw++;
            gort_rwmutex_unlock(&rw);
        } else {
            gort_rwmutex_rlock(&rw);
            CHECK(plain_rw >= 0);
            gort_rwmutex_runlock(&rw);
        }
        if (i % 8 == 0)
            gort_yield();
    }
    gort_once_do(&once, once_fn, NULL);
    CHECK_EQ(plain_once, 42);
    CHECK_OK(gort_sema_acquire(&sem, 1));
    plain_sem++;
    CHECK_OK(gort_sema_release(&sem, 1));
    gort_waitgroup_done(&wg); /* ... and by the waitgroup back */
}

static void cond_waiter(void *arg) {
    (void)arg;
    gort_mutex_lock(&mu);
    while (!cond_ready)
        gort_cond_wait(&cv, &mu);
    plain_cond++;
    gort_mutex_unlock(&mu);
    gort_waitgroup_done(&wg);
}

static void clean_main(void *arg) {
    (void)arg;
    chan_part(0);
    chan_part(4);
    select_part();
    CHECK_OK(gort_sema_release(&sem, 1));
    for (int i = 0; i < 8; i++) {
        gort_waitgroup_add(&wg, 1);
        plain_go++;
        CHECK(gort_go(worker, &plain_go) > 0);
        gort_waitgroup_wait(&wg); /* one at a time: plain_go is not locked */
    }
    gort_waitgroup_add(&wg, 8); /* and all at once for the locks */
    for (int i = 0; i < 8; i++)
        CHECK(gort_go(worker, NULL) > 0);
    gort_waitgroup_wait(&wg);
    CHECK_EQ(plain_mu, 16 * N);
    CHECK_EQ(plain_sem, 16);
    CHECK_EQ(plain_go, 16);
    gort_waitgroup_add(&wg, 4);
    for (int i = 0; i < 4; i++)
        CHECK(gort_go(cond_waiter, NULL) > 0);
    CHECK_OK(gort_sleep(1000000));
    gort_mutex_lock(&mu);
    cond_ready = 1;
    gort_mutex_unlock(&mu);
    gort_cond_broadcast(&cv);
    gort_waitgroup_wait(&wg);
    CHECK_EQ(plain_cond, 4);
    fprintf(stderr, "CLEAN-DONE\n");
}

static long racy;
static atomic_int arrived;

static void racer(void *arg) {
    racy += (long)(intptr_t)arg; /* unordered with the other racer */
    atomic_fetch_add_explicit(&arrived, 1, memory_order_relaxed);
    /* Both run at once: the other one is on another M, by stealing or by
     * sysmon handing our P off while we spin in C code. */
    while (atomic_load_explicit(&arrived, memory_order_relaxed) < 2) {
    }
    racy += (long)(intptr_t)arg;
    gort_waitgroup_done(&wg);
}

static void race_main(void *arg) {
    (void)arg;
    gort_waitgroup_add(&wg, 2);
    CHECK(gort_go(racer, (void *)1) > 0);
    CHECK(gort_go(racer, (void *)2) > 0);
    gort_waitgroup_wait(&wg);
    fprintf(stderr, "RACE-DONE racy=%ld\n", racy);
}

int main(int argc, char **argv) {
#ifndef HAVE_TSAN
    (void)argc;
    (void)argv;
    (void)clean_main;
    (void)race_main;
    printf("skipped: not built with -fsanitize=thread\n");
    return 77;
#else
    setenv("GORT_MAXPROCS", "2", 1);
    if (argc > 1 && !strcmp(argv[1], "clean"))
        return check_run_main(argc, argv, clean_main);
    if (argc > 1 && !strcmp(argv[1], "race"))
        return check_run_main(argc, argv, race_main);

    static char out[1 << 16];
    char *clean_args[] = {(char *)"clean", NULL};
    int st = check_run_self(clean_args, NULL, out, sizeof out);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "CLEAN-DONE") && !strstr(out, "ThreadSanitizer");
    if (!ok)
        fprintf(stderr, "clean: status 0x%x; stderr:\n%s\n", st, out);
    CHECK(ok);
    printf("clean: every primitive orders goroutines for TSan: no report\n");

    char *race_args[] = {(char *)"race", NULL};
    st = check_run_self(race_args, NULL, out, sizeof out);
    ok = !(WIFEXITED(st) && WEXITSTATUS(st) == 0) && strstr(out, "WARNING: ThreadSanitizer: data race") &&
         strstr(out, "racer");
    if (!ok)
        fprintf(stderr, "race: status 0x%x; stderr:\n%s\n", st, out);
    CHECK(ok);
    printf("race: the data race between two goroutines is reported (status 0x%x)\n", st);
    printf("test_tsan_detects: ok\n");
    return 0;
#endif
}
