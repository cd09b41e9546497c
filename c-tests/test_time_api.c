/* test_time_api: gort_nanotime, gort_sleep, gort_after and the
 * gort_after_func timers, with their return values and error codes.
 *
 * What:
 *  - before init: gort_nanotime works (> 0, monotonic); gort_sleep ->
 *    GORT_ENOTINIT; gort_after and gort_after_func -> NULL; timer_stop,
 *    timer_reset, timer_free of NULL -> GORT_EINVAL. After init:
 *    gort_after_func(NULL fn) -> NULL, the NULL-timer calls -> GORT_EINVAL.
 *  - gort_nanotime: non-decreasing over 1,000,000 calls, on goroutines and
 *    host threads, and it is CLOCK_MONOTONIC (bracketed by clock_gettime).
 *  - gort_sleep sleeps at least ns (1 ns .. 50 ms), on a goroutine and on a
 *    host thread; ns <= 0 returns GORT_OK; 1000 goroutines sleeping 0-49 ms
 *    at once all wake, each after at least its own duration.
 *  - gort_after(ns): one int64_t time, delivered at >= start + ns and
 *    <= the receive time; cap 1, exactly one value; ns 0 and negative
 *    deliver too; receivable from a host thread and in a select; 1000
 *    channels released before they fire do no harm.
 *  - gort_after_func: fn(arg) runs in a NEW goroutine (gort_goid() > 0 and
 *    different from the caller's, and different for each run), not before
 *    its time, and can block (it sleeps and receives from a channel);
 *    stop before firing -> 1 and fn never runs; stop again -> 0; stop after
 *    firing -> 0; reset of a stopped or fired timer -> 0 and it fires
 *    again (once); reset of an armed timer -> 1 and it fires once, at the
 *    new time; 1000 resets in a row -> one run; free of an armed timer ->
 *    it never runs; a timer armed from a host thread fires.
 *  - 10,000 after_func timers with deadlines spread over 50 ms: each fires
 *    exactly once and never before its deadline.
 *
 * How: program mode, GORT_MAXPROCS=2. Times are lower bounds only ("at
 * least ns"); upper bounds only as caps that turn a hang into a failure.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#define MS 1000000LL
#define CAP_NS (60LL * 1000000000LL)

static void nop(void *arg) { (void)arg; }

static void wait_count(atomic_int *v, int want, const char *what) {
    int64_t deadline = check_now_ns() + CAP_NS;
    while (atomic_load(v) < want) {
        if (check_now_ns() > deadline) {
            fprintf(stderr, "hang: %s: %d of %d\n", what, atomic_load(v), want);
            CHECK(0);
        }
        if (gort_goid() > 0)
            gort_sleep(100000);
        else
            usleep(100);
    }
}

static void at_least(int64_t t0, int64_t ns, const char *what) {
    int64_t el = gort_nanotime() - t0;
    if (el < ns)
        fprintf(stderr, "%s: returned after %lld ns, asked for %lld ns\n", what, (long long)el, (long long)ns);
    CHECK(el >= ns);
}

static void before_init(void) {
    int64_t a = gort_nanotime(), b = gort_nanotime();
    CHECK(a > 0);
    CHECK(b >= a);
    CHECK_EQ(gort_sleep(1), GORT_ENOTINIT);
    CHECK_EQ(gort_sleep(0), GORT_ENOTINIT);
    CHECK(gort_after(1) == NULL);
    CHECK(gort_after(0) == NULL);
    CHECK(gort_after_func(1, nop, NULL) == NULL);
    CHECK(gort_after_func(1, NULL, NULL) == NULL);
    CHECK_EQ(gort_timer_stop(NULL), GORT_EINVAL);
    CHECK_EQ(gort_timer_reset(NULL, 1), GORT_EINVAL);
    CHECK_EQ(gort_timer_free(NULL), GORT_EINVAL);
    printf("before init: ok\n");
}

/* --------------------------------------------------------------- nanotime */

static void *nanotime_thread(void *arg) {
    (void)arg;
    int64_t prev = gort_nanotime();
    for (int i = 0; i < 1000000; i++) {
        int64_t t = gort_nanotime();
        CHECK(t >= prev);
        prev = t;
    }
    return NULL;
}

static void nanotime_checks(void) {
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, nanotime_thread, NULL), 0);
    int64_t prev = gort_nanotime();
    for (int i = 0; i < 1000000; i++) {
        int64_t t = gort_nanotime();
        CHECK(t >= prev);
        prev = t;
        if (i % 4096 == 0)
            gort_yield(); /* maybe resume on another M */
    }
    for (int i = 0; i < 1000; i++) {
        int64_t a = check_now_ns(), b = gort_nanotime(), c = check_now_ns();
        CHECK(a <= b && b <= c);
    }
    CHECK_EQ(pthread_join(th, NULL), 0);
    printf("nanotime: ok\n");
}

/* ------------------------------------------------------------------ sleep */

static const int64_t sleeps[] = {1, 1000, 100000, 1 * MS, 10 * MS, 50 * MS};

static void *sleep_thread(void *arg) {
    (void)arg;
    CHECK_EQ(gort_goid(), 0);
    for (size_t i = 0; i < sizeof sleeps / sizeof sleeps[0]; i++) {
        int64_t t0 = gort_nanotime();
        CHECK_EQ(gort_sleep(sleeps[i]), GORT_OK);
        at_least(t0, sleeps[i], "gort_sleep on a host thread");
    }
    CHECK_EQ(gort_sleep(0), GORT_OK);
    CHECK_EQ(gort_sleep(-5), GORT_OK);
    return NULL;
}

enum { NSLEEPERS = 1000 };
static atomic_int sleepers_done;
static void sleeper(void *arg) {
    int64_t ns = (int64_t)(intptr_t)arg % 50 * MS;
    int64_t t0 = gort_nanotime();
    CHECK_EQ(gort_sleep(ns), GORT_OK);
    at_least(t0, ns, "one of 1000 sleepers");
    atomic_fetch_add(&sleepers_done, 1);
}

static void sleep_checks(void) {
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, sleep_thread, NULL), 0);
    for (size_t i = 0; i < sizeof sleeps / sizeof sleeps[0]; i++) {
        int64_t t0 = gort_nanotime();
        CHECK_EQ(gort_sleep(sleeps[i]), GORT_OK);
        at_least(t0, sleeps[i], "gort_sleep on a goroutine");
    }
    CHECK_EQ(gort_sleep(0), GORT_OK);
    CHECK_EQ(gort_sleep(-1), GORT_OK);
    CHECK_EQ(gort_sleep(INT64_MIN), GORT_OK);
    CHECK_EQ(pthread_join(th, NULL), 0);
    for (int i = 0; i < NSLEEPERS; i++)
        CHECK(gort_go(sleeper, (void *)(intptr_t)i) > 0);
    wait_count(&sleepers_done, NSLEEPERS, "sleepers");
    printf("sleep: ok\n");
}

/* ------------------------------------------------------------------ after */

static void *after_thread(void *arg) {
    (void)arg;
    int64_t t0 = gort_nanotime();
    gort_chan *c = gort_after(10 * MS);
    CHECK(c != NULL);
    int64_t v = 0;
    CHECK_EQ(gort_chan_recv(c, &v), GORT_OK);
    CHECK(v >= t0 + 10 * MS);
    CHECK(v <= gort_nanotime());
    CHECK_EQ(gort_chan_release(c), GORT_OK);
    return NULL;
}

static void after_checks(void) {
    const int64_t waits[] = {-5, 0, 1, 1 * MS, 20 * MS};
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        int64_t t0 = gort_nanotime();
        gort_chan *c = gort_after(waits[i]);
        CHECK(c != NULL);
        CHECK_EQ(gort_chan_cap(c), 1);
        int64_t v = 0;
        CHECK_EQ(gort_chan_recv(c, &v), GORT_OK);
        int64_t now = gort_nanotime();
        CHECK(v >= t0 + (waits[i] > 0 ? waits[i] : 0));
        CHECK(v <= now);
        CHECK_EQ(gort_chan_try_recv(c, &v), GORT_EAGAIN); /* exactly one value */
        CHECK_EQ(gort_chan_len(c), 0);
        CHECK_EQ(gort_chan_release(c), GORT_OK);
    }
    /* the value waits in the buffer until received */
    int64_t t0 = gort_nanotime();
    gort_chan *c = gort_after(1 * MS);
    gort_sleep(20 * MS);
    CHECK_EQ(gort_chan_len(c), 1);
    int64_t v = 0;
    CHECK_EQ(gort_chan_try_recv(c, &v), GORT_OK);
    CHECK(v >= t0 + 1 * MS);
    CHECK_EQ(gort_chan_release(c), GORT_OK);

    /* in a select, next to a channel that never becomes ready */
    gort_chan *never = gort_chan_make(sizeof(int64_t), 0);
    t0 = gort_nanotime();
    c = gort_after(15 * MS);
    int64_t junk = -1;
    v = 0;
    gort_select_case sc[2] = {{never, GORT_SELECT_RECV, &junk, false}, {c, GORT_SELECT_RECV, &v, false}};
    CHECK_EQ(gort_select(sc, 2, -1), 1);
    CHECK(!sc[1].closed);
    CHECK(v >= t0 + 15 * MS);
    CHECK_EQ(junk, -1);
    CHECK_EQ(gort_chan_release(c), GORT_OK);
    CHECK_EQ(gort_chan_release(never), GORT_OK);

    /* received on a host thread */
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, after_thread, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);

    /* released before firing: the timer keeps its own reference */
    for (int i = 0; i < 1000; i++) {
        gort_chan *d = gort_after((i % 20) * MS);
        CHECK(d != NULL);
        CHECK_EQ(gort_chan_release(d), GORT_OK);
    }
    gort_sleep(30 * MS);
    printf("after: ok\n");
}

/* ------------------------------------------------------------- after_func */

struct rec {
    atomic_int runs;
    atomic_llong goid;
    atomic_llong when;
    int64_t not_before;
    int magic;
};

static void rec_fn(void *arg) {
    struct rec *r = arg;
    CHECK_EQ(r->magic, 0x5EC);
    atomic_store(&r->when, gort_nanotime());
    atomic_store(&r->goid, gort_goid());
    atomic_fetch_add(&r->runs, 1);
}

static gort_chan *block_chan;
static atomic_int block_fn_done;
static void blocking_fn(void *arg) {
    (void)arg;
    CHECK(gort_goid() > 0);
    CHECK_OK(gort_sleep(5 * MS));
    int64_t v = 0;
    CHECK_EQ(gort_chan_recv(block_chan, &v), GORT_OK);
    CHECK_EQ(v, 4242);
    atomic_store(&block_fn_done, 1);
}

static struct rec thread_rec = {.magic = 0x5EC};
static void *timer_thread(void *arg) {
    (void)arg;
    thread_rec.not_before = gort_nanotime() + 5 * MS;
    gort_timer *t = gort_after_func(5 * MS, rec_fn, &thread_rec);
    CHECK(t != NULL);
    wait_count(&thread_rec.runs, 1, "timer armed by a host thread");
    CHECK(atomic_load(&thread_rec.when) >= thread_rec.not_before);
    CHECK(atomic_load(&thread_rec.goid) > 0);
    CHECK_EQ(gort_timer_stop(t), 0);
    CHECK_EQ(gort_timer_free(t), GORT_OK);
    return NULL;
}

static void after_func_checks(void) {
    int64_t me = gort_goid();
    CHECK(gort_after_func(1, NULL, NULL) == NULL);
    CHECK_EQ(gort_timer_stop(NULL), GORT_EINVAL);
    CHECK_EQ(gort_timer_reset(NULL, 1), GORT_EINVAL);
    CHECK_EQ(gort_timer_free(NULL), GORT_EINVAL);

    /* fires once, in a new goroutine, not early */
    struct rec r = {.magic = 0x5EC};
    r.not_before = gort_nanotime() + 10 * MS;
    gort_timer *t = gort_after_func(10 * MS, rec_fn, &r);
    CHECK(t != NULL);
    wait_count(&r.runs, 1, "after_func");
    int64_t g1 = atomic_load(&r.goid);
    CHECK(g1 > 0);
    CHECK(g1 != me);
    CHECK(atomic_load(&r.when) >= r.not_before);
    CHECK_EQ(gort_timer_stop(t), 0); /* already fired */
    CHECK_EQ(gort_timer_stop(t), 0);
    /* reset after firing: 0, fires again, in yet another goroutine */
    r.not_before = gort_nanotime() + 5 * MS;
    CHECK_EQ(gort_timer_reset(t, 5 * MS), 0);
    wait_count(&r.runs, 2, "after_func after reset");
    CHECK(atomic_load(&r.when) >= r.not_before);
    int64_t g2 = atomic_load(&r.goid);
    CHECK(g2 > 0 && g2 != me && g2 != g1);
    /* reset while armed: 1, and it fires once, at the new time */
    CHECK_EQ(gort_timer_reset(t, 3600LL * 1000 * MS), 0);
    r.not_before = gort_nanotime() + 20 * MS;
    CHECK_EQ(gort_timer_reset(t, 20 * MS), 1);
    wait_count(&r.runs, 3, "after_func after reset while armed");
    CHECK(atomic_load(&r.when) >= r.not_before);
    gort_sleep(30 * MS);
    CHECK_EQ(atomic_load(&r.runs), 3);
    /* stop before firing: 1, never runs; stop again: 0 */
    CHECK_EQ(gort_timer_reset(t, 50 * MS), 0);
    CHECK_EQ(gort_timer_stop(t), 1);
    CHECK_EQ(gort_timer_stop(t), 0);
    gort_sleep(80 * MS);
    CHECK_EQ(atomic_load(&r.runs), 3);
    /* reset of a stopped timer: 0, fires */
    CHECK_EQ(gort_timer_reset(t, 1 * MS), 0);
    wait_count(&r.runs, 4, "after_func after stop + reset");
    /* a burst of resets: one run */
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(gort_timer_reset(t, 3600LL * 1000 * MS), i == 0 ? 0 : 1);
    CHECK_EQ(gort_timer_reset(t, 5 * MS), 1);
    wait_count(&r.runs, 5, "after_func after 1000 resets");
    gort_sleep(20 * MS);
    CHECK_EQ(atomic_load(&r.runs), 5);
    CHECK_EQ(gort_timer_free(t), GORT_OK);

    /* free while armed: never runs */
    struct rec f = {.magic = 0x5EC};
    gort_timer *tf = gort_after_func(50 * MS, rec_fn, &f);
    CHECK(tf != NULL);
    CHECK_EQ(gort_timer_free(tf), GORT_OK);
    gort_sleep(80 * MS);
    CHECK_EQ(atomic_load(&f.runs), 0);

    /* the callback is a real goroutine: it can sleep and block */
    block_chan = gort_chan_make(sizeof(int64_t), 0);
    gort_timer *tb = gort_after_func(0, blocking_fn, NULL);
    CHECK(tb != NULL);
    int64_t v = 4242;
    CHECK_EQ(gort_chan_send(block_chan, &v), GORT_OK);
    wait_count(&block_fn_done, 1, "blocking callback");
    CHECK_EQ(gort_timer_free(tb), GORT_OK);
    CHECK_EQ(gort_chan_release(block_chan), GORT_OK);

    /* armed from a host thread */
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, timer_thread, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    printf("after_func: ok (goroutines %lld, %lld; caller %lld)\n", (long long)g1, (long long)g2, (long long)me);
}

/* ----------------------------------------------------------- many timers */

/* Each firing starts a goroutine, and they may all be alive at once: under
 * ThreadSanitizer (8128 live threads, goroutines included) 4,000 timers. */
enum { NTIMERS = 10000, NTIMERS_TSAN = 4000 };
static int ntimers = NTIMERS;
static struct rec many[NTIMERS];
static gort_timer *many_t[NTIMERS];
static atomic_int many_fired;
static void many_fn(void *arg) {
    struct rec *r = arg;
    int64_t now = gort_nanotime();
    if (now < r->not_before)
        fprintf(stderr, "timer %ld fired %lld ns early\n", (long)(r - many), (long long)(r->not_before - now));
    CHECK(now >= r->not_before);
    atomic_fetch_add(&r->runs, 1);
    atomic_fetch_add(&many_fired, 1);
}

static void many_timers(void) {
    if (check_sanitizer() && !strcmp(check_sanitizer(), "thread"))
        ntimers = NTIMERS_TSAN;
    for (int i = 0; i < ntimers; i++) {
        int64_t ns = (int64_t)((i * 7919LL) % 50000) * 1000; /* 0 .. 50 ms, scattered */
        many[i].magic = 0x5EC;
        many[i].not_before = gort_nanotime() + ns;
        many_t[i] = gort_after_func(ns, many_fn, &many[i]);
        CHECK(many_t[i] != NULL);
    }
    wait_count(&many_fired, ntimers, "all timers");
    gort_sleep(20 * MS);
    CHECK_EQ(atomic_load(&many_fired), ntimers);
    for (int i = 0; i < ntimers; i++) {
        CHECK_EQ(atomic_load(&many[i].runs), 1);
        CHECK_EQ(gort_timer_stop(many_t[i]), 0);
        CHECK_EQ(gort_timer_free(many_t[i]), GORT_OK);
    }
    printf("%d timers: ok\n", ntimers);
}

static void main_g(void *arg) {
    (void)arg;
    nanotime_checks();
    sleep_checks();
    after_checks();
    after_func_checks();
    many_timers();
    printf("test_time_api: ok\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setenv("GORT_MAXPROCS", "2", 1);
    before_init();
    return check_run_main(argc, argv, main_g);
}
