/* test_lost_wakeup: park/ready races between host threads and goroutines
 * never lose a wakeup.
 *
 * What: 10,000 strict hand-offs (each side blocks until the other wakes it)
 * per phase, each value checked, so a lost wakeup stops progress and a
 * duplicated or dropped hand-off breaks the sequence:
 *   A  host thread <-> goroutine over two unbuffered channels;
 *   B  the same with both sides in gort_select (plus a never-ready case);
 *   C  host thread <-> goroutine over a mutex + cond "turn" handshake;
 *   D  host thread <-> goroutine over fresh waitgroups each round (one side
 *      Done()s, the other Wait()s, then the reverse);
 *   E  host thread <-> goroutine over two gort_sema;
 *   F  goroutine <-> goroutine on different Ps: after each send the sender
 *      spins (no gort call) until the receiver acknowledges, so a receiver
 *      readied into the sender's runnext can only run if another P steals
 *      it; the reply (a 1-slot channel, so the receiver goes straight back
 *      to its receive) wakes the sender from the other P. The number of
 *      acknowledgements made on another thread than the sender's is
 *      printed and must be > 0;
 *   G  timeouts racing hand-offs: a goroutine sends 0..N-1 with blocking
 *      sends while the receiver (a host thread, then a goroutine, then a
 *      goroutine in gort_select) uses 0-20 us timeouts and retries; and a
 *      sender using send_timeout with 0-20 us timeouts and retrying while a
 *      goroutine receives. Every value must arrive exactly once, in order:
 *      a timed-out operation must neither deliver nor lose its value.
 * A watchdog thread fails the test with the phase name and counts if
 * progress stops for 10 s (at GORT_MAXPROCS 2 and 4, in re-exec'ed
 * children; the parent checks each child's exit status and output).
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

enum { N = 10000 };
#define STALL_NS (10LL * 1000000000LL)

static atomic_long progress;
static const char *volatile phase = "start";
static atomic_int all_done;

static void *watchdog(void *arg) {
    (void)arg;
    long last = -1;
    int64_t since = check_now_ns();
    while (!atomic_load(&all_done)) {
        usleep(50000);
        long p = atomic_load(&progress);
        if (p != last) {
            last = p;
            since = check_now_ns();
        } else if (check_now_ns() - since > STALL_NS) {
            fprintf(stderr, "LOST WAKEUP? no progress for 10 s in phase \"%s\" (progress counter %ld)\n", phase, p);
            fflush(stderr);
            _exit(1);
        }
    }
    return NULL;
}

static inline void tick(void) { atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed); }

static gort_chan *c1, *c2, *never;
static gort_waitgroup g_done = GORT_WAITGROUP_INIT; /* goroutine partner finished */

/* --------------------------------------------------------- A: channels */

static void a_partner(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < N; i++) {
        int64_t v = -1;
        CHECK_EQ(gort_chan_recv(c1, &v), GORT_OK);
        CHECK_EQ(v, i);
        v++;
        CHECK_EQ(gort_chan_send(c2, &v), GORT_OK);
        tick();
    }
    gort_waitgroup_done(&g_done);
}
static void *a_host(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < N; i++) {
        CHECK_EQ(gort_chan_send(c1, &i), GORT_OK);
        int64_t v = -1;
        CHECK_EQ(gort_chan_recv(c2, &v), GORT_OK);
        CHECK_EQ(v, i + 1);
        tick();
    }
    return NULL;
}

/* ----------------------------------------------------------- B: select */

static int64_t sel_recv(gort_chan *c) {
    int64_t v = -1, junk = -1;
    gort_select_case sc[2] = {{never, GORT_SELECT_RECV, &junk, false}, {c, GORT_SELECT_RECV, &v, false}};
    CHECK_EQ(gort_select(sc, 2, -1), 1);
    return v;
}
static void sel_send(gort_chan *c, int64_t v) {
    int64_t junk = -1;
    gort_select_case sc[2] = {{c, GORT_SELECT_SEND, &v, false}, {never, GORT_SELECT_RECV, &junk, false}};
    CHECK_EQ(gort_select(sc, 2, -1), 0);
}
static void b_partner(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < N; i++) {
        CHECK_EQ(sel_recv(c1), i);
        sel_send(c2, i + 1);
        tick();
    }
    gort_waitgroup_done(&g_done);
}
static void *b_host(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < N; i++) {
        sel_send(c1, i);
        CHECK_EQ(sel_recv(c2), i + 1);
        tick();
    }
    return NULL;
}

/* ------------------------------------------------------- C: mutex/cond */

static gort_mutex mu = GORT_MUTEX_INIT;
static gort_cond cv = GORT_COND_INIT;
static int turn;  /* 0: host's turn, 1: goroutine's */
static long hops; /* under mu */

static void take_turn(int me, int broadcast) {
    CHECK_EQ(gort_mutex_lock(&mu), GORT_OK);
    while (turn != me)
        CHECK_EQ(gort_cond_wait(&cv, &mu), GORT_OK);
    turn = 1 - me;
    hops++;
    CHECK_EQ(broadcast ? gort_cond_broadcast(&cv) : gort_cond_signal(&cv), GORT_OK);
    CHECK_EQ(gort_mutex_unlock(&mu), GORT_OK);
    tick();
}
static void c_partner(void *arg) {
    int broadcast = (int)(intptr_t)arg;
    for (int i = 0; i < N; i++)
        take_turn(1, broadcast);
    gort_waitgroup_done(&g_done);
}
static void *c_host(void *arg) {
    int broadcast = (int)(intptr_t)arg;
    for (int i = 0; i < N; i++)
        take_turn(0, broadcast);
    return NULL;
}

/* --------------------------------------------------------- D: waitgroups */

static gort_waitgroup *wg_h, *wg_g; /* N each, counter 1 */
static void d_partner(void *arg) {
    (void)arg;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(gort_waitgroup_wait(&wg_g[i]), GORT_OK);
        CHECK_EQ(gort_waitgroup_done(&wg_h[i]), GORT_OK);
        tick();
    }
    gort_waitgroup_done(&g_done);
}
static void *d_host(void *arg) {
    (void)arg;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(gort_waitgroup_done(&wg_g[i]), GORT_OK);
        CHECK_EQ(gort_waitgroup_wait(&wg_h[i]), GORT_OK);
        CHECK_EQ(gort_waitgroup_done(&wg_h[i]), GORT_EINVAL); /* exactly one Done got through */
        tick();
    }
    return NULL;
}

/* ---------------------------------------------------------- E: semaphores */

static gort_sema s1 = GORT_SEMA_INIT(0), s2 = GORT_SEMA_INIT(0);
static void e_partner(void *arg) {
    (void)arg;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(gort_sema_acquire(&s1, 1), GORT_OK);
        CHECK_EQ(gort_sema_release(&s2, 1), GORT_OK);
        tick();
    }
    gort_waitgroup_done(&g_done);
}
static void *e_host(void *arg) {
    (void)arg;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(gort_sema_release(&s1, 1), GORT_OK);
        CHECK_EQ(gort_sema_acquire(&s2, 1), GORT_OK);
        tick();
    }
    CHECK_EQ(gort_sema_try_acquire(&s1, 1), GORT_EAGAIN);
    CHECK_EQ(gort_sema_try_acquire(&s2, 1), GORT_EAGAIN);
    return NULL;
}

/* ------------------------------------------------- F: across Ps (G <-> G) */

static atomic_llong ack;
static atomic_long ack_tid;
static atomic_long cross_p; /* hand-offs acknowledged from another thread */
static void f_receiver(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < N; i++) {
        int64_t v = -1;
        CHECK_EQ(gort_chan_recv(c1, &v), GORT_OK);
        CHECK_EQ(v, i);
        atomic_store(&ack_tid, check_gettid());
        atomic_store(&ack, v);
        CHECK_EQ(gort_chan_send(c2, &v), GORT_OK);
        tick();
    }
    gort_waitgroup_done(&g_done);
}
static void f_sender(void *arg) {
    (void)arg;
    for (int64_t i = 0; i < N; i++) {
        CHECK_EQ(gort_chan_send(c1, &i), GORT_OK);
        /* keep this P busy: the receiver must run on another P */
        int64_t deadline = check_now_ns() + STALL_NS;
        while (atomic_load(&ack) != i) {
            if (check_now_ns() > deadline) {
                fprintf(stderr, "hand-off %lld: the receiver readied by this P was never run by another P\n",
                        (long long)i);
                CHECK(0);
            }
        }
        if (atomic_load(&ack_tid) != check_gettid())
            atomic_fetch_add(&cross_p, 1);
        int64_t v = -1;
        CHECK_EQ(gort_chan_recv(c2, &v), GORT_OK);
        CHECK_EQ(v, i);
        tick();
    }
    gort_waitgroup_done(&g_done);
}

/* ------------------------------------------------------ G: timeout races */

static uint32_t rnd(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}
static atomic_long timeouts;

static void g_blocking_sender(void *arg) {
    (void)arg;
    uint32_t seed = 99;
    for (int64_t i = 0; i < N; i++) {
        CHECK_EQ(gort_chan_send(c1, &i), GORT_OK);
        if (rnd(&seed) % 4 == 0)
            gort_sleep(rnd(&seed) % 30000); /* so that timeouts expire around the sends */
        tick();
    }
    gort_waitgroup_done(&g_done);
}
static void timed_receive_all(int use_select) {
    uint32_t seed = 12345u + (uint32_t)check_gettid();
    for (int64_t i = 0; i < N; i++) {
        for (;;) {
            int64_t v = -1, junk = -1;
            int64_t to = rnd(&seed) % 20000;
            int rc;
            if (use_select) {
                gort_select_case sc[2] = {{c1, GORT_SELECT_RECV, &v, false}, {never, GORT_SELECT_RECV, &junk, false}};
                rc = gort_select(sc, 2, to);
                if (rc == GORT_EAGAIN)
                    rc = GORT_ETIMEDOUT;
                if (rc >= 0) {
                    CHECK_EQ(rc, 0);
                    rc = GORT_OK;
                }
            } else {
                rc = gort_chan_recv_timeout(c1, &v, to);
            }
            if (rc == GORT_ETIMEDOUT) {
                CHECK_EQ(v, -1);
                atomic_fetch_add(&timeouts, 1);
                continue;
            }
            CHECK_EQ(rc, GORT_OK);
            if (v != i)
                fprintf(stderr, "timed receive: got %lld, expected %lld\n", (long long)v, (long long)i);
            CHECK_EQ(v, i);
            break;
        }
        tick();
    }
    int64_t v;
    CHECK_EQ(gort_chan_try_recv(c1, &v), GORT_EAGAIN);
}
static void *g_host_receiver(void *arg) {
    (void)arg;
    timed_receive_all(0);
    return NULL;
}
static void g_goroutine_receiver(void *arg) {
    timed_receive_all((int)(intptr_t)arg);
    gort_waitgroup_done(&g_done);
}
static void g_timed_sender(void *arg) {
    (void)arg;
    uint32_t seed = 777;
    for (int64_t i = 0; i < N; i++) {
        int rc;
        while ((rc = gort_chan_send_timeout(c1, &i, rnd(&seed) % 20000)) == GORT_ETIMEDOUT)
            atomic_fetch_add(&timeouts, 1);
        CHECK_EQ(rc, GORT_OK);
        tick();
    }
    gort_waitgroup_done(&g_done);
}
static void g_blocking_receiver(void *arg) {
    (void)arg;
    uint32_t seed = 4242;
    for (int64_t i = 0; i < N; i++) {
        int64_t v = -1;
        CHECK_EQ(gort_chan_recv(c1, &v), GORT_OK);
        if (v != i)
            fprintf(stderr, "receive from a timed sender: got %lld, expected %lld\n", (long long)v, (long long)i);
        CHECK_EQ(v, i);
        if (rnd(&seed) % 4 == 0)
            gort_sleep(rnd(&seed) % 30000); /* let some of the sender's timeouts expire */
    }
    gort_waitgroup_done(&g_done);
}

/* ----------------------------------------------------------------- driver */

static void fresh_chans(size_t c2cap) {
    c1 = gort_chan_make(sizeof(int64_t), 0);
    c2 = gort_chan_make(sizeof(int64_t), c2cap);
    CHECK(c1 && c2);
}
static void drop_chans(void) {
    CHECK_EQ(gort_chan_release(c1), GORT_OK);
    CHECK_EQ(gort_chan_release(c2), GORT_OK);
}

/* a host thread and ng goroutines; waits for all of them */
static void pair(const char *name, void *(*host)(void *), void *harg, int ng, void (*g)(void *), void *garg) {
    phase = name;
    int64_t t0 = check_now_ns();
    long p0 = atomic_load(&progress);
    fresh_chans(0);
    CHECK_EQ(gort_waitgroup_add(&g_done, ng), GORT_OK);
    pthread_t th;
    if (host)
        CHECK_EQ(pthread_create(&th, NULL, host, harg), 0);
    for (int i = 0; i < ng; i++)
        CHECK(gort_go(g, garg) > 0);
    if (host)
        CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(gort_waitgroup_wait(&g_done), GORT_OK);
    drop_chans();
    fprintf(stderr, "%s: ok (%ld ticks, %.0f ms)\n", name, atomic_load(&progress) - p0, (check_now_ns() - t0) / 1e6);
}

static void g2(void (*a)(void *), void (*b)(void *), void *barg, const char *name, size_t c2cap) {
    phase = name;
    int64_t t0 = check_now_ns();
    long p0 = atomic_load(&progress);
    fresh_chans(c2cap);
    CHECK_EQ(gort_waitgroup_add(&g_done, 2), GORT_OK);
    CHECK(gort_go(a, NULL) > 0);
    CHECK(gort_go(b, barg) > 0);
    CHECK_EQ(gort_waitgroup_wait(&g_done), GORT_OK);
    drop_chans();
    fprintf(stderr, "%s: ok (%ld ticks, %.0f ms)\n", name, atomic_load(&progress) - p0, (check_now_ns() - t0) / 1e6);
}

static void child_main(void *arg) {
    (void)arg;
    pthread_t wd;
    CHECK_EQ(pthread_create(&wd, NULL, watchdog, NULL), 0);
    never = gort_chan_make(sizeof(int64_t), 0);

    pair("A chan host<->goroutine", a_host, NULL, 1, a_partner, NULL);
    pair("B select host<->goroutine", b_host, NULL, 1, b_partner, NULL);
    pair("C cond-signal host<->goroutine", c_host, (void *)0, 1, c_partner, (void *)0);
    pair("C cond-broadcast host<->goroutine", c_host, (void *)1, 1, c_partner, (void *)1);
    CHECK_EQ(hops, 4 * N);
    wg_h = calloc(N, sizeof *wg_h);
    wg_g = calloc(N, sizeof *wg_g);
    CHECK(wg_h && wg_g);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(gort_waitgroup_add(&wg_h[i], 1), GORT_OK);
        CHECK_EQ(gort_waitgroup_add(&wg_g[i], 1), GORT_OK);
    }
    pair("D waitgroup host<->goroutine", d_host, NULL, 1, d_partner, NULL);
    free(wg_h);
    free(wg_g);
    pair("E sema host<->goroutine", e_host, NULL, 1, e_partner, NULL);
    if (gort_gomaxprocs() >= 2) {
        g2(f_sender, f_receiver, NULL, "F goroutine<->goroutine across Ps", 1);
        fprintf(stderr, "F: %ld of %d hand-offs acknowledged from another thread\n", atomic_load(&cross_p), N);
        CHECK(atomic_load(&cross_p) > 0);
    }
    pair("G recv_timeout on a host thread vs blocking sends", g_host_receiver, NULL, 1, g_blocking_sender, NULL);
    g2(g_blocking_sender, g_goroutine_receiver, (void *)0, "G recv_timeout on a goroutine vs blocking sends", 0);
    g2(g_blocking_sender, g_goroutine_receiver, (void *)1, "G select timeout on a goroutine vs blocking sends", 0);
    g2(g_timed_sender, g_blocking_receiver, NULL, "G send_timeout vs blocking receives", 0);
    fprintf(stderr, "G: %ld timeouts raced with hand-offs\n", atomic_load(&timeouts));
    CHECK(atomic_load(&timeouts) > 0);

    atomic_store(&all_done, 1);
    CHECK_EQ(pthread_join(wd, NULL), 0);
    CHECK_EQ(gort_chan_release(never), GORT_OK);
    fprintf(stderr, "CHILD OK\n");
}

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "child")) {
        setenv("GORT_MAXPROCS", argv[2], 1);
        return check_run_main(argc, argv, child_main);
    }
    static const char *const procs[] = {"2", "4"};
    for (int i = 0; i < 2; i++) {
        static char out[1 << 16];
        char *args[] = {(char *)"child", (char *)procs[i], NULL};
        int64_t t0 = check_now_ns();
        int st = check_run_self(args, NULL, out, sizeof out);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "child GORT_MAXPROCS=%s: status 0x%x; stderr:\n%s\n", procs[i], st, out);
        CHECK(WIFEXITED(st));
        CHECK_EQ(WEXITSTATUS(st), 0);
        CHECK(strstr(out, "CHILD OK") != NULL);
        CHECK(strstr(out, "F goroutine<->goroutine across Ps: ok") != NULL);
        printf("GORT_MAXPROCS=%s (%.0f ms):\n%s", procs[i], (check_now_ns() - t0) / 1e6, out);
    }
    printf("test_lost_wakeup: ok\n");
    return 0;
}
