/* test_lock_os_thread: gort_lock_os_thread wires a goroutine to its thread
 * (Go's LockOSThread) without stalling anything else.
 *
 * Run at GORT_MAXPROCS=1, 2 and 4 (check_run_procs), each in a child:
 *  - errors: before init GORT_ENOTINIT; from a host thread GORT_EPERM
 *    (both calls); an unlock without a lock is GORT_OK and changes nothing.
 *  - main: the main goroutine locks first thing and stays on the thread
 *    that called gort_mstart (the main thread: gettid() == getpid())
 *    through everything below.
 *  - pinned: a goroutine locks itself and makes 5,000 gort_sleep(20 us)
 *    calls, 2,000 yields and 500 channel round trips with a partner; its
 *    gettid() never changes (unlocked, the same loop left its first thread
 *    on 2,579 of 5,000 sleeps at 4 Ps). Meanwhile 8 unlocked "crowd"
 *    goroutines sleep, yield and pass a token, recording their thread at
 *    each step: none ever runs on a locked thread (the locked thread ids
 *    are published before the crowd starts), and each makes exactly its
 *    2,000 steps.
 *  - handoff: the locked goroutine parks on a channel; at 1 P only another
 *    goroutine can send, and it must get the P the locked M gave away
 *    (otherwise the program hangs: a SIGALRM after 60 s fails it).
 *  - nesting: lock, lock, unlock: still locked through 200 sleeps; the
 *    second unlock frees it (counted, not asserted: an unlocked goroutine
 *    may or may not move).
 *  - exit while locked: 20 goroutines each lock and return; 200 goroutines
 *    afterwards all run (the threads went back to the pool), and the
 *    crowd's thread check still holds for the later ones.
 * ctest-timeout: 300
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

enum { SLEEPS = 5000, YIELDS = 2000, TRIPS = 500, CROWD = 8, STEPS = 2000, EXITERS = 20, AFTER = 200 };

static atomic_long locked_tids[4]; /* threads locked right now (0: free slot) */
static atomic_long crowd_steps, crowd_on_locked, after_ran;
static gort_waitgroup wg = GORT_WAITGROUP_INIT;
static gort_chan *ping, *pong, *token;

static void on_alarm(int sig) {
    (void)sig;
    static const char m[] = "test_lock_os_thread: timed out (a locked goroutine or its P stalled)\n";
    (void)!write(2, m, sizeof m - 1);
    _exit(1);
}

static int is_locked_tid(long tid) {
    for (int i = 0; i < 4; i++)
        if (atomic_load(&locked_tids[i]) == tid)
            return 1;
    return 0;
}

static void publish_locked(int slot, long tid) { atomic_store(&locked_tids[slot], tid); }

static void crowd(void *arg) {
    long id = (long)(intptr_t)arg;
    for (int i = 0; i < STEPS; i++) {
        if (is_locked_tid(check_gettid()))
            atomic_fetch_add(&crowd_on_locked, 1);
        switch ((i + id) % 3) {
        case 0:
            CHECK_OK(gort_yield());
            break;
        case 1:
            CHECK_OK(gort_sleep(10000));
            break;
        default: {
            long v;
            /* token: a buffered channel of one, passed around the crowd */
            CHECK_OK(gort_chan_recv(token, &v));
            CHECK_OK(gort_chan_send(token, &v));
        }
        }
        atomic_fetch_add(&crowd_steps, 1);
    }
    gort_waitgroup_done(&wg);
}

static void partner(void *arg) {
    (void)arg;
    long v;
    for (int i = 0; i < TRIPS; i++) {
        CHECK_OK(gort_chan_recv(ping, &v));
        v++;
        CHECK_OK(gort_chan_send(pong, &v));
    }
    gort_waitgroup_done(&wg);
}

static void pinned(void *arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    long tid = check_gettid();
    publish_locked(1, tid);
    int moved = 0;
    for (int i = 0; i < SLEEPS; i++) {
        CHECK_OK(gort_sleep(20000));
        moved += check_gettid() != tid;
    }
    for (int i = 0; i < YIELDS; i++) {
        CHECK_OK(gort_yield());
        moved += check_gettid() != tid;
    }
    for (long i = 0; i < TRIPS; i++) {
        long v = i;
        CHECK_OK(gort_chan_send(ping, &v));
        CHECK_OK(gort_chan_recv(pong, &v));
        CHECK_EQ(v, i + 1);
        moved += check_gettid() != tid;
    }
    CHECK_EQ(moved, 0);
    publish_locked(1, 0);
    CHECK_OK(gort_unlock_os_thread());
    gort_waitgroup_done(&wg);
}

/* handoff: the locked goroutine parks; the sender needs the P. */
static gort_chan *handoff_ch;
static atomic_int sender_ran;

static void handoff_sender(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++)
        CHECK_OK(gort_yield());
    atomic_store(&sender_ran, 1);
    int v = 7;
    CHECK_OK(gort_chan_send(handoff_ch, &v));
}

static void handoff_locked(void *arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    long tid = check_gettid();
    CHECK(gort_go(handoff_sender, NULL) > 0);
    int v = 0;
    CHECK_OK(gort_chan_recv(handoff_ch, &v));
    CHECK_EQ(v, 7);
    CHECK_EQ(atomic_load(&sender_ran), 1);
    CHECK_EQ(check_gettid(), tid);
    CHECK_OK(gort_unlock_os_thread());
    gort_waitgroup_done(&wg);
}

static void nesting(void *arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    CHECK_OK(gort_lock_os_thread());
    CHECK_OK(gort_unlock_os_thread());
    long tid = check_gettid();
    for (int i = 0; i < 200; i++) {
        CHECK_OK(gort_sleep(10000));
        CHECK_EQ(check_gettid(), tid);
    }
    CHECK_OK(gort_unlock_os_thread());
    CHECK_OK(gort_unlock_os_thread()); /* one more than locked: no effect */
    gort_waitgroup_done(&wg);
}

static void exiter(void *arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    CHECK_OK(gort_yield());
    gort_waitgroup_done(&wg);
    /* returns while locked: its thread goes back to the runtime */
}

static void after(void *arg) {
    (void)arg;
    CHECK_OK(gort_sleep(1000));
    atomic_fetch_add(&after_ran, 1);
    gort_waitgroup_done(&wg);
}

static void *host_thread(void *arg) {
    (void)arg;
    CHECK_EQ(gort_lock_os_thread(), GORT_EPERM);
    CHECK_EQ(gort_unlock_os_thread(), GORT_EPERM);
    return NULL;
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_OK(gort_lock_os_thread());
    long main_tid = check_gettid();
    CHECK_EQ(main_tid, (long)getpid());
    publish_locked(0, main_tid);
    signal(SIGALRM, on_alarm);
    alarm(60);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, host_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);

    ping = gort_chan_make(sizeof(long), 0);
    pong = gort_chan_make(sizeof(long), 0);
    token = gort_chan_make(sizeof(long), 1);
    long tok = 1;
    CHECK_OK(gort_chan_send(token, &tok));

    /* pinned + partner + crowd */
    CHECK_OK(gort_waitgroup_add(&wg, 2));
    CHECK(gort_go(pinned, NULL) > 0);
    CHECK(gort_go(partner, NULL) > 0);
    while (atomic_load(&locked_tids[1]) == 0)
        CHECK_OK(gort_sleep(100000));
    CHECK_OK(gort_waitgroup_add(&wg, CROWD));
    for (long i = 0; i < CROWD; i++)
        CHECK(gort_go(crowd, (void *)(intptr_t)i) > 0);
    CHECK_OK(gort_waitgroup_wait(&wg));
    CHECK_EQ(atomic_load(&crowd_steps), (long)CROWD * STEPS);
    CHECK_EQ(atomic_load(&crowd_on_locked), 0);
    CHECK_EQ(check_gettid(), main_tid);
    printf("pinned: %d sleeps, %d yields, %d round trips on one thread; crowd %d steps, none on a locked thread\n",
           SLEEPS, YIELDS, TRIPS, CROWD * STEPS);

    handoff_ch = gort_chan_make(sizeof(int), 0);
    CHECK_OK(gort_waitgroup_add(&wg, 1));
    CHECK(gort_go(handoff_locked, NULL) > 0);
    CHECK_OK(gort_waitgroup_wait(&wg));
    printf("handoff: the parked locked goroutine's P ran its sender\n");

    CHECK_OK(gort_waitgroup_add(&wg, 1));
    CHECK(gort_go(nesting, NULL) > 0);
    CHECK_OK(gort_waitgroup_wait(&wg));
    printf("nesting: ok\n");

    CHECK_OK(gort_waitgroup_add(&wg, EXITERS));
    for (int i = 0; i < EXITERS; i++)
        CHECK(gort_go(exiter, NULL) > 0);
    CHECK_OK(gort_waitgroup_wait(&wg));
    CHECK_OK(gort_waitgroup_add(&wg, AFTER));
    for (int i = 0; i < AFTER; i++)
        CHECK(gort_go(after, NULL) > 0);
    CHECK_OK(gort_waitgroup_wait(&wg));
    CHECK_EQ(atomic_load(&after_ran), AFTER);
    printf("exit while locked: %d exited locked, %d goroutines ran after\n", EXITERS, AFTER);

    CHECK_EQ(check_gettid(), main_tid);
    CHECK_OK(gort_unlock_os_thread());
    CHECK_OK(gort_unlock_os_thread()); /* unmatched: no effect */
    gort_chan_release(ping);
    gort_chan_release(pong);
    gort_chan_release(token);
    gort_chan_release(handoff_ch);
    printf("test_lock_os_thread: ok at GORT_MAXPROCS=%d\n", gort_gomaxprocs());
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        CHECK_EQ(gort_lock_os_thread(), GORT_ENOTINIT);
        CHECK_EQ(gort_unlock_os_thread(), GORT_ENOTINIT);
    }
    return check_run_procs(argc, argv, main_g, "1,2,4");
}
