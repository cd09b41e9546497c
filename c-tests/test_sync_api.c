/* test_sync_api: every sync function (mutex, rwmutex, cond, waitgroup,
 * once, sema), with each error code it documents, and the GORT_*_INIT
 * static initialisers.
 *
 * What:
 *  - static initialisers: file-scope and automatic objects initialised with
 *    GORT_MUTEX_INIT, GORT_RWMUTEX_INIT, GORT_COND_INIT,
 *    GORT_WAITGROUP_INIT, GORT_ONCE_INIT, GORT_SEMA_INIT(n) compile and
 *    work (also memset-zeroed ones).
 *  - before init (host thread): the sync objects work without the runtime,
 *    as documented for the mutex (lock/trylock/unlock, rwmutex, waitgroup,
 *    once, sema try_acquire/release, cond signal/broadcast without
 *    waiters), and their error codes are the same.
 *  - NULL arguments -> GORT_EINVAL for every function (cond_wait with a NULL
 *    cond or mutex, once_do with a NULL once or fn).
 *  - mutex: unlock of an unlocked mutex -> GORT_EPERM and the mutex still
 *    works; trylock -> GORT_EAGAIN while held (also from another
 *    goroutine), GORT_OK when free.
 *  - rwmutex: runlock when not read-locked -> GORT_EPERM (unlocked and
 *    write-locked), unlock when not write-locked -> GORT_EPERM (unlocked and
 *    read-locked); trylock / tryrlock return GORT_EAGAIN exactly when a
 *    writer / any holder is in the way; a pending writer blocks tryrlock;
 *    the lock works normally after every misuse.
 *  - cond: cond_wait with an unlocked mutex -> GORT_EPERM (and does not
 *    lock it); broadcast wakes every waiter (goroutines and host threads),
 *    signal wakes waiters one at a time.
 *  - waitgroup: a negative counter -> GORT_EINVAL and the counter is left
 *    unchanged (proved by the exact number of Done calls that then
 *    succeed); past INT32_MAX -> GORT_EINVAL; wait returns at once at 0
 *    and blocks until the last Done otherwise.
 *  - once: 100 goroutines (and 4 host threads) call gort_once_do at the
 *    same time; fn runs exactly once, and every caller returns only after
 *    fn returned (fn sleeps 20 ms and sets a flag last).
 *  - sema: acquire/try_acquire/release with n <= 0 -> GORT_EINVAL;
 *    a release that would take the count past INT64_MAX -> GORT_EINVAL
 *    with the count unchanged;
 *    try_acquire takes units only if they are there and nobody is queued;
 *    a large request at the head is not overtaken (FIFO); release wakes
 *    the waiters whose requests fit.
 *
 * How: program mode, GORT_MAXPROCS=2, checks on the main goroutine with
 * helper goroutines and pthreads; a cap turns a hang into a failure.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MS 1000000LL
#define CAP_NS (60LL * 1000000000LL)

/* file-scope objects with the static initialisers */
static gort_mutex s_mu = GORT_MUTEX_INIT;
static gort_rwmutex s_rw = GORT_RWMUTEX_INIT;
static gort_cond s_cv = GORT_COND_INIT;
static gort_waitgroup s_wg = GORT_WAITGROUP_INIT;
static gort_once s_once = GORT_ONCE_INIT;
static gort_sema s_sem = GORT_SEMA_INIT(3);
static struct gort_mutex s_mu2 = GORT_MUTEX_INIT; /* with the struct keyword */

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

static atomic_int once_runs;
static void once_fn(void *arg) {
    atomic_fetch_add(&once_runs, 1);
    if (arg)
        *(int *)arg = 1;
}

static void nop(void *arg) { (void)arg; }

/* ------------------------------------------------------------ before init */

static void before_init(void) {
    /* mutex */
    CHECK_EQ(gort_mutex_lock(&s_mu), GORT_OK);
    CHECK_EQ(gort_mutex_trylock(&s_mu), GORT_EAGAIN);
    CHECK_EQ(gort_mutex_unlock(&s_mu), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&s_mu), GORT_EPERM);
    CHECK_EQ(gort_mutex_trylock(&s_mu), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&s_mu), GORT_OK);
    CHECK_EQ(gort_mutex_lock(&s_mu2), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&s_mu2), GORT_OK);
    /* rwmutex */
    CHECK_EQ(gort_rwmutex_rlock(&s_rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_tryrlock(&s_rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_trylock(&s_rw), GORT_EAGAIN);
    CHECK_EQ(gort_rwmutex_runlock(&s_rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_runlock(&s_rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_runlock(&s_rw), GORT_EPERM);
    CHECK_EQ(gort_rwmutex_lock(&s_rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_tryrlock(&s_rw), GORT_EAGAIN);
    CHECK_EQ(gort_rwmutex_unlock(&s_rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_unlock(&s_rw), GORT_EPERM);
    /* cond without waiters */
    CHECK_EQ(gort_cond_signal(&s_cv), GORT_OK);
    CHECK_EQ(gort_cond_broadcast(&s_cv), GORT_OK);
    CHECK_EQ(gort_cond_wait(&s_cv, &s_mu), GORT_EPERM); /* not locked */
    /* waitgroup */
    CHECK_EQ(gort_waitgroup_wait(&s_wg), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&s_wg, 2), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&s_wg, -3), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_done(&s_wg), GORT_OK);
    CHECK_EQ(gort_waitgroup_done(&s_wg), GORT_OK);
    CHECK_EQ(gort_waitgroup_done(&s_wg), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_wait(&s_wg), GORT_OK);
    /* once */
    int flag = 0;
    CHECK_EQ(gort_once_do(&s_once, once_fn, &flag), GORT_OK);
    CHECK_EQ(gort_once_do(&s_once, once_fn, &flag), GORT_OK);
    CHECK_EQ(atomic_load(&once_runs), 1);
    CHECK_EQ(flag, 1);
    /* sema: GORT_SEMA_INIT(3) */
    CHECK_EQ(gort_sema_try_acquire(&s_sem, 4), GORT_EAGAIN);
    CHECK_EQ(gort_sema_try_acquire(&s_sem, 3), GORT_OK);
    CHECK_EQ(gort_sema_try_acquire(&s_sem, 1), GORT_EAGAIN);
    CHECK_EQ(gort_sema_release(&s_sem, 3), GORT_OK);
    CHECK_EQ(gort_sema_acquire(&s_sem, 2), GORT_OK);
    CHECK_EQ(gort_sema_release(&s_sem, 2), GORT_OK);
    CHECK_EQ(gort_sema_acquire(&s_sem, 0), GORT_EINVAL);
    printf("before init: ok\n");
}

/* ---------------------------------------------------------- NULL arguments */

static void null_args(void) {
    gort_mutex m = GORT_MUTEX_INIT;
    gort_cond c = GORT_COND_INIT;
    gort_once o = GORT_ONCE_INIT;
    CHECK_EQ(gort_mutex_lock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_mutex_trylock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_mutex_unlock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_rwmutex_rlock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_rwmutex_tryrlock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_rwmutex_runlock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_rwmutex_lock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_rwmutex_trylock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_rwmutex_unlock(NULL), GORT_EINVAL);
    CHECK_EQ(gort_cond_wait(NULL, &m), GORT_EINVAL);
    CHECK_EQ(gort_cond_wait(&c, NULL), GORT_EINVAL);
    CHECK_EQ(gort_cond_wait(NULL, NULL), GORT_EINVAL);
    CHECK_EQ(gort_mutex_lock(&m), GORT_OK);
    CHECK_EQ(gort_cond_wait(NULL, &m), GORT_EINVAL); /* even with m locked */
    CHECK_EQ(gort_mutex_trylock(&m), GORT_EAGAIN); /* and m stays locked */
    CHECK_EQ(gort_mutex_unlock(&m), GORT_OK);
    CHECK_EQ(gort_cond_signal(NULL), GORT_EINVAL);
    CHECK_EQ(gort_cond_broadcast(NULL), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_add(NULL, 1), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_done(NULL), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_wait(NULL), GORT_EINVAL);
    CHECK_EQ(gort_once_do(NULL, nop, NULL), GORT_EINVAL);
    CHECK_EQ(gort_once_do(&o, NULL, NULL), GORT_EINVAL);
    CHECK_EQ(gort_once_do(NULL, NULL, NULL), GORT_EINVAL);
    int flag = 0;
    CHECK_EQ(gort_once_do(&o, once_fn, &flag), GORT_OK); /* o unused by the NULL call */
    CHECK_EQ(flag, 1);
    CHECK_EQ(gort_sema_acquire(NULL, 1), GORT_EINVAL);
    CHECK_EQ(gort_sema_try_acquire(NULL, 1), GORT_EINVAL);
    CHECK_EQ(gort_sema_release(NULL, 1), GORT_EINVAL);
    printf("NULL arguments: ok\n");
}

/* ------------------------------------------------------------------ mutex */

static gort_mutex held = GORT_MUTEX_INIT;
static atomic_int probe_rc, probe_done;
static void trylock_probe(void *arg) {
    (void)arg;
    atomic_store(&probe_rc, gort_mutex_trylock(&held));
    atomic_fetch_add(&probe_done, 1);
}

static void mutex_api(void) {
    gort_mutex m;
    memset(&m, 0, sizeof m); /* zeroed is unlocked */
    CHECK_EQ(gort_mutex_unlock(&m), GORT_EPERM);
    CHECK_EQ(gort_mutex_unlock(&m), GORT_EPERM);
    CHECK_EQ(gort_mutex_trylock(&m), GORT_OK);
    CHECK_EQ(gort_mutex_trylock(&m), GORT_EAGAIN);
    CHECK_EQ(gort_mutex_unlock(&m), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&m), GORT_EPERM);
    CHECK_EQ(gort_mutex_lock(&m), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&m), GORT_OK);

    /* held by us, probed from another goroutine */
    CHECK_EQ(gort_mutex_lock(&held), GORT_OK);
    CHECK(gort_go(trylock_probe, NULL) > 0);
    wait_count(&probe_done, 1, "trylock probe");
    CHECK_EQ(atomic_load(&probe_rc), GORT_EAGAIN);
    CHECK_EQ(gort_mutex_unlock(&held), GORT_OK);
    CHECK(gort_go(trylock_probe, NULL) > 0);
    wait_count(&probe_done, 2, "trylock probe");
    CHECK_EQ(atomic_load(&probe_rc), GORT_OK);
    /* locked by the probe, unlocked by us: allowed, as in Go */
    CHECK_EQ(gort_mutex_trylock(&held), GORT_EAGAIN);
    CHECK_EQ(gort_mutex_unlock(&held), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&held), GORT_EPERM);
    printf("mutex: ok\n");
}

/* ---------------------------------------------------------------- rwmutex */

static gort_rwmutex rw_pending = GORT_RWMUTEX_INIT;
static atomic_int writer_in, writer_out;
static void pending_writer(void *arg) {
    (void)arg;
    atomic_store(&writer_in, 1);
    CHECK_EQ(gort_rwmutex_lock(&rw_pending), GORT_OK);
    atomic_store(&writer_out, 1);
    CHECK_EQ(gort_rwmutex_unlock(&rw_pending), GORT_OK);
}

static void rwmutex_api(void) {
    gort_rwmutex rw = GORT_RWMUTEX_INIT;
    CHECK_EQ(gort_rwmutex_runlock(&rw), GORT_EPERM);
    CHECK_EQ(gort_rwmutex_unlock(&rw), GORT_EPERM);
    /* still unlocked: a writer gets in */
    CHECK_EQ(gort_rwmutex_trylock(&rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_trylock(&rw), GORT_EAGAIN);
    CHECK_EQ(gort_rwmutex_tryrlock(&rw), GORT_EAGAIN);
    CHECK_EQ(gort_rwmutex_runlock(&rw), GORT_EPERM); /* write-locked, not read-locked */
    CHECK_EQ(gort_rwmutex_unlock(&rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_unlock(&rw), GORT_EPERM);
    /* readers share */
    for (int i = 0; i < 5; i++)
        CHECK_EQ(gort_rwmutex_tryrlock(&rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_rlock(&rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_trylock(&rw), GORT_EAGAIN);
    CHECK_EQ(gort_rwmutex_unlock(&rw), GORT_EPERM); /* read-locked, not write-locked */
    for (int i = 0; i < 6; i++)
        CHECK_EQ(gort_rwmutex_runlock(&rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_runlock(&rw), GORT_EPERM);
    CHECK_EQ(gort_rwmutex_lock(&rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_unlock(&rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_rlock(&rw), GORT_OK);
    CHECK_EQ(gort_rwmutex_runlock(&rw), GORT_OK);

    /* a pending writer keeps new readers out (tryrlock fails) */
    CHECK_EQ(gort_rwmutex_rlock(&rw_pending), GORT_OK);
    CHECK(gort_go(pending_writer, NULL) > 0);
    int64_t deadline = check_now_ns() + CAP_NS;
    /* wait until the writer has announced itself (tryrlock starts failing) */
    for (;;) {
        int rc = gort_rwmutex_tryrlock(&rw_pending);
        if (rc == GORT_EAGAIN)
            break;
        CHECK_EQ(rc, GORT_OK);
        CHECK_EQ(gort_rwmutex_runlock(&rw_pending), GORT_OK);
        CHECK(check_now_ns() < deadline);
        gort_sleep(100000);
    }
    CHECK_EQ(atomic_load(&writer_out), 0);
    CHECK_EQ(gort_rwmutex_trylock(&rw_pending), GORT_EAGAIN);
    CHECK_EQ(gort_rwmutex_runlock(&rw_pending), GORT_OK); /* lets the writer in */
    int64_t d2 = check_now_ns() + CAP_NS;
    while (!atomic_load(&writer_out)) {
        CHECK(check_now_ns() < d2);
        gort_sleep(100000);
    }
    CHECK_EQ(gort_rwmutex_lock(&rw_pending), GORT_OK); /* the writer unlocked it */
    CHECK_EQ(gort_rwmutex_unlock(&rw_pending), GORT_OK);
    printf("rwmutex: ok\n");
}

/* ------------------------------------------------------------------- cond */

enum { CV_GOROUTINES = 50, CV_THREADS = 4, CV_WAITERS = CV_GOROUTINES + CV_THREADS };
static gort_mutex cv_mu = GORT_MUTEX_INIT;
static gort_cond cv = GORT_COND_INIT;
static int cv_waiting, cv_generation, cv_tokens, cv_taken; /* under cv_mu */
static atomic_int cv_woken;

static void cv_wait_body(void) {
    CHECK_EQ(gort_mutex_lock(&cv_mu), GORT_OK);
    int gen = cv_generation;
    cv_waiting++;
    while (cv_generation == gen)
        CHECK_EQ(gort_cond_wait(&cv, &cv_mu), GORT_OK);
    /* woken by broadcast; now take one token handed out by signal */
    cv_waiting++;
    while (cv_tokens == 0)
        CHECK_EQ(gort_cond_wait(&cv, &cv_mu), GORT_OK);
    cv_tokens--;
    cv_taken++;
    CHECK_EQ(gort_mutex_trylock(&cv_mu), GORT_EAGAIN); /* we hold it */
    CHECK_EQ(gort_mutex_unlock(&cv_mu), GORT_OK);
    atomic_fetch_add(&cv_woken, 1);
}
static void cv_g(void *arg) {
    (void)arg;
    cv_wait_body();
}
static void *cv_thread(void *arg) {
    (void)arg;
    cv_wait_body();
    return NULL;
}

static void cv_wait_for(int want) {
    int64_t deadline = check_now_ns() + CAP_NS;
    for (;;) {
        CHECK_EQ(gort_mutex_lock(&cv_mu), GORT_OK);
        int w = cv_waiting;
        CHECK_EQ(gort_mutex_unlock(&cv_mu), GORT_OK);
        if (w >= want)
            return;
        if (check_now_ns() > deadline) {
            fprintf(stderr, "hang: %d of %d cond waiters arrived\n", w, want);
            CHECK(0);
        }
        gort_sleep(100000);
    }
}

static void cond_api(void) {
    gort_cond c = GORT_COND_INIT;
    gort_mutex m = GORT_MUTEX_INIT;
    CHECK_EQ(gort_cond_wait(&c, &m), GORT_EPERM);
    CHECK_EQ(gort_mutex_unlock(&m), GORT_EPERM); /* cond_wait did not lock it */
    CHECK_EQ(gort_mutex_trylock(&m), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&m), GORT_OK);
    CHECK_EQ(gort_cond_signal(&c), GORT_OK);
    CHECK_EQ(gort_cond_broadcast(&c), GORT_OK);

    pthread_t th[CV_THREADS];
    for (int i = 0; i < CV_GOROUTINES; i++)
        CHECK(gort_go(cv_g, NULL) > 0);
    for (int i = 0; i < CV_THREADS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, cv_thread, NULL), 0);
    cv_wait_for(CV_WAITERS);
    /* broadcast wakes all of them: each moves to the second wait */
    CHECK_EQ(gort_mutex_lock(&cv_mu), GORT_OK);
    cv_generation++;
    CHECK_EQ(gort_cond_broadcast(&cv), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&cv_mu), GORT_OK);
    cv_wait_for(2 * CV_WAITERS);
    CHECK_EQ(atomic_load(&cv_woken), 0);
    /* one token + one signal at a time: exactly one waiter takes each */
    for (int i = 1; i <= CV_WAITERS; i++) {
        CHECK_EQ(gort_mutex_lock(&cv_mu), GORT_OK);
        cv_tokens++;
        CHECK_EQ(gort_cond_signal(&cv), GORT_OK);
        CHECK_EQ(gort_mutex_unlock(&cv_mu), GORT_OK);
        wait_count(&cv_woken, i, "signalled cond waiters");
        CHECK_EQ(gort_mutex_lock(&cv_mu), GORT_OK);
        CHECK_EQ(cv_taken, i);
        CHECK_EQ(cv_tokens, 0);
        CHECK_EQ(gort_mutex_unlock(&cv_mu), GORT_OK);
    }
    for (int i = 0; i < CV_THREADS; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(atomic_load(&cv_woken), CV_WAITERS);
    printf("cond: ok (%d goroutines + %d threads: broadcast, then %d signals)\n", CV_GOROUTINES, CV_THREADS,
           CV_WAITERS);
}

/* -------------------------------------------------------------- waitgroup */

static gort_waitgroup wg_b = GORT_WAITGROUP_INIT;
static atomic_int wg_waiters_done;
static void wg_waiter(void *arg) {
    (void)arg;
    CHECK_EQ(gort_waitgroup_wait(&wg_b), GORT_OK);
    atomic_fetch_add(&wg_waiters_done, 1);
}

static void waitgroup_api(void) {
    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    CHECK_EQ(gort_waitgroup_wait(&wg), GORT_OK); /* 0: returns at once */
    CHECK_EQ(gort_waitgroup_done(&wg), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_add(&wg, -1), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_add(&wg, 0), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&wg, 5), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&wg, -6), GORT_EINVAL); /* would be -1 */
    CHECK_EQ(gort_waitgroup_add(&wg, INT64_MIN), GORT_EINVAL);
    /* unchanged: exactly five Done calls succeed */
    for (int i = 0; i < 5; i++)
        CHECK_EQ(gort_waitgroup_done(&wg), GORT_OK);
    CHECK_EQ(gort_waitgroup_done(&wg), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_wait(&wg), GORT_OK);
    /* upper bound: INT32_MAX */
    CHECK_EQ(gort_waitgroup_add(&wg, INT32_MAX), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&wg, 1), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_add(&wg, INT64_MAX), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_add(&wg, -(int64_t)INT32_MAX + 1), GORT_OK); /* back to 1 */
    CHECK_EQ(gort_waitgroup_done(&wg), GORT_OK);
    CHECK_EQ(gort_waitgroup_done(&wg), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_add(&wg, (int64_t)1 << 32), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_wait(&wg), GORT_OK);

    /* waiters block until the last Done; a failed Add does not release them */
    CHECK_EQ(gort_waitgroup_add(&wg_b, 3), GORT_OK);
    for (int i = 0; i < 10; i++)
        CHECK(gort_go(wg_waiter, NULL) > 0);
    gort_sleep(20 * MS);
    CHECK_EQ(atomic_load(&wg_waiters_done), 0);
    CHECK_EQ(gort_waitgroup_add(&wg_b, -4), GORT_EINVAL);
    CHECK_EQ(gort_waitgroup_done(&wg_b), GORT_OK);
    CHECK_EQ(gort_waitgroup_done(&wg_b), GORT_OK);
    gort_sleep(20 * MS);
    CHECK_EQ(atomic_load(&wg_waiters_done), 0);
    CHECK_EQ(gort_waitgroup_done(&wg_b), GORT_OK);
    wait_count(&wg_waiters_done, 10, "waitgroup waiters");
    CHECK_EQ(gort_waitgroup_done(&wg_b), GORT_EINVAL);
    printf("waitgroup: ok\n");
}

/* ------------------------------------------------------------------- once */

enum { ONCE_GOROUTINES = 100, ONCE_THREADS = 4 };
static gort_once once100 = GORT_ONCE_INIT;
static atomic_int once100_runs, once100_finished, once100_callers_ok, once100_returned, once100_gate;
static void once100_fn(void *arg) {
    CHECK_EQ((intptr_t)arg, 1234);
    atomic_fetch_add(&once100_runs, 1);
    if (gort_goid() > 0)
        gort_sleep(20 * MS); /* the others must wait for us */
    else
        usleep(20000);
    atomic_store(&once100_finished, 1);
}
static void once100_call(void) {
    while (!atomic_load(&once100_gate))
        if (gort_goid() > 0)
            gort_yield();
        else
            sched_yield();
    CHECK_EQ(gort_once_do(&once100, once100_fn, (void *)(intptr_t)1234), GORT_OK);
    if (atomic_load(&once100_finished))
        atomic_fetch_add(&once100_callers_ok, 1);
    atomic_fetch_add(&once100_returned, 1);
}
static void once100_g(void *arg) {
    (void)arg;
    once100_call();
}
static void *once100_thread(void *arg) {
    (void)arg;
    once100_call();
    return NULL;
}

static void once_api(void) {
    pthread_t th[ONCE_THREADS];
    for (int i = 0; i < ONCE_THREADS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, once100_thread, NULL), 0);
    for (int i = 0; i < ONCE_GOROUTINES; i++)
        CHECK(gort_go(once100_g, NULL) > 0);
    gort_yield();
    atomic_store(&once100_gate, 1);
    wait_count(&once100_returned, ONCE_GOROUTINES + ONCE_THREADS, "once callers");
    for (int i = 0; i < ONCE_THREADS; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(atomic_load(&once100_runs), 1);
    CHECK_EQ(atomic_load(&once100_callers_ok), ONCE_GOROUTINES + ONCE_THREADS);
    /* and never again */
    CHECK_EQ(gort_once_do(&once100, once100_fn, (void *)(intptr_t)1234), GORT_OK);
    CHECK_EQ(atomic_load(&once100_runs), 1);
    printf("once: ok (fn ran once for %d concurrent callers)\n", ONCE_GOROUTINES + ONCE_THREADS);
}

/* ------------------------------------------------------------------- sema */

static gort_sema sem_fifo = GORT_SEMA_INIT(2);
static atomic_int big_got, small_got;
static void big_acquirer(void *arg) {
    (void)arg;
    CHECK_EQ(gort_sema_acquire(&sem_fifo, 5), GORT_OK);
    atomic_store(&big_got, 1);
}
static void small_acquirer(void *arg) {
    (void)arg;
    CHECK_EQ(gort_sema_acquire(&sem_fifo, 1), GORT_OK);
    atomic_fetch_add(&small_got, 1);
}

static void sema_api(void) {
    gort_sema s = GORT_SEMA_INIT(0);
    CHECK_EQ(gort_sema_acquire(&s, 0), GORT_EINVAL);
    CHECK_EQ(gort_sema_acquire(&s, -1), GORT_EINVAL);
    CHECK_EQ(gort_sema_try_acquire(&s, 0), GORT_EINVAL);
    CHECK_EQ(gort_sema_try_acquire(&s, -5), GORT_EINVAL);
    CHECK_EQ(gort_sema_release(&s, 0), GORT_EINVAL);
    CHECK_EQ(gort_sema_release(&s, -1), GORT_EINVAL);
    CHECK_EQ(gort_sema_try_acquire(&s, 1), GORT_EAGAIN); /* the failed release added nothing */
    CHECK_EQ(gort_sema_release(&s, 10), GORT_OK);
    CHECK_EQ(gort_sema_try_acquire(&s, 11), GORT_EAGAIN);
    CHECK_EQ(gort_sema_try_acquire(&s, 4), GORT_OK);
    CHECK_EQ(gort_sema_try_acquire(&s, 6), GORT_OK);
    CHECK_EQ(gort_sema_try_acquire(&s, 1), GORT_EAGAIN);
    CHECK_EQ(gort_sema_release(&s, 1), GORT_OK);
    CHECK_EQ(gort_sema_acquire(&s, 1), GORT_OK);
    gort_sema z;
    memset(&z, 0, sizeof z); /* zeroed: 0 units */
    CHECK_EQ(gort_sema_try_acquire(&z, 1), GORT_EAGAIN);
    /* a count past INT64_MAX is refused and leaves the count as it was */
    gort_sema w = GORT_SEMA_INIT(1);
    CHECK_EQ(gort_sema_release(&w, INT64_MAX), GORT_EINVAL);
    CHECK_EQ(gort_sema_release(&w, INT64_MAX - 1), GORT_OK); /* exactly INT64_MAX */
    CHECK_EQ(gort_sema_release(&w, 1), GORT_EINVAL);
    CHECK_EQ(gort_sema_try_acquire(&w, INT64_MAX), GORT_OK);
    CHECK_EQ(gort_sema_try_acquire(&w, 1), GORT_EAGAIN);
    CHECK_EQ(gort_sema_release(&w, 2), GORT_OK);
    CHECK_EQ(gort_sema_try_acquire(&w, 2), GORT_OK);
    CHECK_EQ(gort_sema_try_acquire(&w, 1), GORT_EAGAIN);

    /* FIFO: with 2 units, a request for 5 queues; a later try_acquire(1)
     * fails although a unit is free, and a later acquire(1) waits behind it */
    CHECK(gort_go(big_acquirer, NULL) > 0);
    int64_t deadline = check_now_ns() + CAP_NS;
    for (;;) { /* until the big request is queued */
        int rc = gort_sema_try_acquire(&sem_fifo, 1);
        if (rc == GORT_EAGAIN)
            break;
        CHECK_EQ(rc, GORT_OK);
        CHECK_EQ(gort_sema_release(&sem_fifo, 1), GORT_OK);
        CHECK(check_now_ns() < deadline);
        gort_sleep(100000);
    }
    CHECK(gort_go(small_acquirer, NULL) > 0);
    gort_sleep(20 * MS);
    CHECK_EQ(atomic_load(&big_got), 0);
    CHECK_EQ(atomic_load(&small_got), 0); /* not ahead of the big one */
    CHECK_EQ(gort_sema_release(&sem_fifo, 2), GORT_OK); /* 4 units: still < 5 */
    gort_sleep(20 * MS);
    CHECK_EQ(atomic_load(&big_got), 0);
    CHECK_EQ(atomic_load(&small_got), 0);
    CHECK_EQ(gort_sema_release(&sem_fifo, 2), GORT_OK); /* 6: big (5) then small (1) */
    /* Both were granted by that release, but either may run first: small
     * is readied last, into runnext, and big waits in the run queue unless
     * another P takes it (failed once under qemu-aarch64). That the grant
     * went to big first shows in the units: none is left. */
    wait_count(&small_got, 1, "small acquirer");
    wait_count(&big_got, 1, "big acquirer");
    CHECK_EQ(gort_sema_try_acquire(&sem_fifo, 1), GORT_EAGAIN); /* all 6 handed out */
    CHECK_EQ(gort_sema_release(&sem_fifo, 6), GORT_OK);
    CHECK_EQ(gort_sema_try_acquire(&sem_fifo, 6), GORT_OK);
    printf("sema: ok\n");
}

static void main_g(void *arg) {
    (void)arg;
    null_args();
    mutex_api();
    rwmutex_api();
    cond_api();
    waitgroup_api();
    once_api();
    sema_api();
    printf("test_sync_api: ok\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setenv("GORT_MAXPROCS", "2", 1);
    before_init();
    return check_run_main(argc, argv, main_g);
}
