/* test_lib_mixed: library mode (gort_init_lib), host threads and goroutines
 * blocking on the same channels, waitgroups and mutex.
 *
 * What (GORT_MAXPROCS=2, exact counts everywhere):
 *  1. goroutines -> host threads: 8 goroutines send 10,000 values each
 *     (id * K + seq) into an unbuffered channel; 4 host threads receive
 *     until it is closed (by a goroutine that waits for the senders on a
 *     waitgroup): 80,000 values in total, the exact sum, every sender's
 *     values in increasing order at each receiver; each host thread's last
 *     receive is GORT_ECLOSED with a zeroed element.
 *  2. host threads -> goroutines: 4 host threads send 20,000 values each
 *     into a channel with cap 16; 8 goroutines receive until the main
 *     thread closes it, then Done() a waitgroup the main thread waits on:
 *     80,000 values, exact sum, per-sender order.
 *  3. host threads wait on a waitgroup that 100 goroutines Done (after a
 *     short sleep each); none of the 4 waiters returns early (each checks
 *     all 100 Done calls happened).
 *  4. 100 goroutines wait on a waitgroup that the 4 host threads Done; none
 *     returns early; the main thread waits for the goroutines on another
 *     waitgroup.
 *  5. one gort_mutex contended by 4 host threads (50,000 increments each)
 *     and 100 goroutines (1,000 each, yielding inside the lock now and
 *     then): exactly 300,000, never two holders.
 * Afterwards only runtime goroutines are gone: gort_numgoroutine() drops
 * to 0.
 *
 * How: a SIGALRM cap turns a hang into a failure naming the phase.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#define MS 1000000LL
enum { NG = 8, NH = 4, K1 = 10000, K2 = 20000, NW = 100, MT = 50000, MG = 1000 };

static const char *volatile phase = "init";
static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "hang: test_lib_mixed did not finish within the cap; phase: ";
    ssize_t r = write(2, msg, sizeof msg - 1);
    r = write(2, phase, strlen(phase));
    r = write(2, "\n", 1);
    (void)r;
    _exit(1);
}

/* ------------------------------------------------------------ phase 1 */

static gort_chan *a;
static gort_waitgroup a_senders = GORT_WAITGROUP_INIT, a_closed = GORT_WAITGROUP_INIT;

struct tally {
    long long count, sum;
    int next[NG > NH ? NG : NH];
};

static void take(struct tally *t, int64_t v, int64_t k, int nsrc) {
    int src = (int)(v / k), seq = (int)(v % k);
    CHECK(src >= 0 && src < nsrc);
    if (seq < t->next[src])
        fprintf(stderr, "source %d: seq %d after %d\n", src, seq, t->next[src] - 1);
    CHECK(seq >= t->next[src]);
    t->next[src] = seq + 1;
    t->count++;
    t->sum += v;
}

static void a_sender(void *arg) {
    int64_t id = (int64_t)(intptr_t)arg;
    for (int64_t s = 0; s < K1; s++) {
        int64_t v = id * K1 + s;
        CHECK_EQ(gort_chan_send(a, &v), GORT_OK);
    }
    CHECK_EQ(gort_waitgroup_done(&a_senders), GORT_OK);
}
static void a_closer(void *arg) {
    (void)arg;
    CHECK_EQ(gort_waitgroup_wait(&a_senders), GORT_OK);
    CHECK_EQ(gort_chan_close(a), GORT_OK);
    CHECK_EQ(gort_waitgroup_done(&a_closed), GORT_OK);
}
static struct tally a_tally[NH];
static void *a_receiver(void *arg) {
    struct tally *t = arg;
    CHECK_EQ(gort_goid(), 0);
    int64_t v;
    int rc;
    while ((rc = gort_chan_recv(a, &v)) == GORT_OK)
        take(t, v, K1, NG);
    CHECK_EQ(rc, GORT_ECLOSED);
    CHECK_EQ(v, 0);
    return NULL;
}

static void phase1(void) {
    phase = "1: goroutines -> host threads";
    a = gort_chan_make(sizeof(int64_t), 0);
    CHECK(a != NULL);
    CHECK_EQ(gort_waitgroup_add(&a_senders, NG), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&a_closed, 1), GORT_OK);
    pthread_t th[NH];
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, a_receiver, &a_tally[i]), 0);
    for (int g = 0; g < NG; g++)
        CHECK(gort_go(a_sender, (void *)(intptr_t)g) > 0);
    CHECK(gort_go(a_closer, NULL) > 0);
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(gort_waitgroup_wait(&a_closed), GORT_OK);
    long long count = 0, sum = 0, n = (long long)NG * K1;
    for (int i = 0; i < NH; i++) {
        count += a_tally[i].count;
        sum += a_tally[i].sum;
    }
    CHECK_EQ(count, n);
    CHECK_EQ(sum, n * (n - 1) / 2);
    CHECK_EQ(gort_chan_release(a), GORT_OK);
    printf("1: %lld values from %d goroutines to %d host threads (%lld %lld %lld %lld)\n", count, NG, NH,
           a_tally[0].count, a_tally[1].count, a_tally[2].count, a_tally[3].count);
}

/* ------------------------------------------------------------ phase 2 */

static gort_chan *b;
static gort_waitgroup b_receivers = GORT_WAITGROUP_INIT;
static struct tally b_tally[NG];
static void *b_sender(void *arg) {
    int64_t id = (int64_t)(intptr_t)arg;
    for (int64_t s = 0; s < K2; s++) {
        int64_t v = id * K2 + s;
        CHECK_EQ(gort_chan_send(b, &v), GORT_OK);
    }
    return NULL;
}
static void b_receiver(void *arg) {
    struct tally *t = arg;
    int64_t v;
    int rc;
    while ((rc = gort_chan_recv(b, &v)) == GORT_OK)
        take(t, v, K2, NH);
    CHECK_EQ(rc, GORT_ECLOSED);
    CHECK_EQ(gort_waitgroup_done(&b_receivers), GORT_OK);
}

static void phase2(void) {
    phase = "2: host threads -> goroutines";
    b = gort_chan_make(sizeof(int64_t), 16);
    CHECK(b != NULL);
    CHECK_EQ(gort_waitgroup_add(&b_receivers, NG), GORT_OK);
    for (int g = 0; g < NG; g++)
        CHECK(gort_go(b_receiver, &b_tally[g]) > 0);
    pthread_t th[NH];
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, b_sender, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(gort_chan_close(b), GORT_OK);
    CHECK_EQ(gort_waitgroup_wait(&b_receivers), GORT_OK);
    long long count = 0, sum = 0, n = (long long)NH * K2;
    for (int g = 0; g < NG; g++) {
        count += b_tally[g].count;
        sum += b_tally[g].sum;
    }
    CHECK_EQ(count, n);
    CHECK_EQ(sum, n * (n - 1) / 2);
    CHECK_EQ(gort_chan_release(b), GORT_OK);
    printf("2: %lld values from %d host threads to %d goroutines\n", count, NH, NG);
}

/* ------------------------------------------------------- phases 3 and 4 */

static gort_waitgroup wg_g2h = GORT_WAITGROUP_INIT; /* goroutines Done, host threads wait */
static gort_waitgroup wg_h2g = GORT_WAITGROUP_INIT; /* host threads Done, goroutines wait */
static gort_waitgroup wg_gdone = GORT_WAITGROUP_INIT;
static atomic_int g_dones, h_dones, early;

static void doner_g(void *arg) {
    int i = (int)(intptr_t)arg;
    CHECK_OK(gort_sleep((i % 10) * 100000));
    atomic_fetch_add(&g_dones, 1);
    CHECK_EQ(gort_waitgroup_done(&wg_g2h), GORT_OK);
}
static void *waiter_h(void *arg) {
    (void)arg;
    CHECK_EQ(gort_waitgroup_wait(&wg_g2h), GORT_OK);
    if (atomic_load(&g_dones) != NW)
        atomic_fetch_add(&early, 1);
    return NULL;
}
static void waiter_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_waitgroup_wait(&wg_h2g), GORT_OK);
    if (atomic_load(&h_dones) != NH)
        atomic_fetch_add(&early, 1);
    CHECK_EQ(gort_waitgroup_done(&wg_gdone), GORT_OK);
}
static void *doner_h(void *arg) {
    int i = (int)(intptr_t)arg;
    usleep(1000 * (i + 1));
    atomic_fetch_add(&h_dones, 1);
    CHECK_EQ(gort_waitgroup_done(&wg_h2g), GORT_OK);
    return NULL;
}

static void phase34(void) {
    phase = "3: host threads wait, goroutines Done";
    CHECK_EQ(gort_waitgroup_add(&wg_g2h, NW), GORT_OK);
    pthread_t th[NH];
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, waiter_h, NULL), 0);
    usleep(5000);
    for (int i = 0; i < NW; i++)
        CHECK(gort_go(doner_g, (void *)(intptr_t)i) > 0);
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(atomic_load(&early), 0);
    CHECK_EQ(atomic_load(&g_dones), NW);
    printf("3: %d host threads released by %d goroutines' Done\n", NH, NW);

    phase = "4: goroutines wait, host threads Done";
    CHECK_EQ(gort_waitgroup_add(&wg_h2g, NH), GORT_OK);
    CHECK_EQ(gort_waitgroup_add(&wg_gdone, NW), GORT_OK);
    for (int i = 0; i < NW; i++)
        CHECK(gort_go(waiter_g, NULL) > 0);
    usleep(5000);
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, doner_h, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(gort_waitgroup_wait(&wg_gdone), GORT_OK);
    CHECK_EQ(atomic_load(&early), 0);
    printf("4: %d goroutines released by %d host threads' Done\n", NW, NH);
}

/* ------------------------------------------------------------ phase 5 */

static gort_mutex mu = GORT_MUTEX_INIT;
static long long counter;
static atomic_int inside;
static gort_waitgroup mu_g = GORT_WAITGROUP_INIT;

static void crit(int i, int on_g) {
    CHECK_EQ(gort_mutex_lock(&mu), GORT_OK);
    CHECK_EQ(atomic_exchange(&inside, 1), 0);
    long long v = counter;
    if (i % 61 == 60) {
        if (on_g)
            gort_yield();
        else
            sched_yield();
    }
    counter = v + 1;
    atomic_store(&inside, 0);
    CHECK_EQ(gort_mutex_unlock(&mu), GORT_OK);
}
static void mu_goroutine(void *arg) {
    (void)arg;
    for (int i = 0; i < MG; i++)
        crit(i, 1);
    CHECK_EQ(gort_waitgroup_done(&mu_g), GORT_OK);
}
static void *mu_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < MT; i++)
        crit(i, 0);
    return NULL;
}

static void phase5(void) {
    phase = "5: mutex shared by host threads and goroutines";
    CHECK_EQ(gort_waitgroup_add(&mu_g, NW), GORT_OK);
    pthread_t th[NH];
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, mu_thread, NULL), 0);
    for (int i = 0; i < NW; i++)
        CHECK(gort_go(mu_goroutine, NULL) > 0);
    for (int i = 0; i < NH; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(gort_waitgroup_wait(&mu_g), GORT_OK);
    CHECK_EQ(gort_mutex_trylock(&mu), GORT_OK);
    CHECK_EQ(counter, (long long)NH * MT + (long long)NW * MG);
    CHECK_EQ(gort_mutex_unlock(&mu), GORT_OK);
    printf("5: counter %lld (%d host threads x %d + %d goroutines x %d)\n", counter, NH, MT, NW, MG);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(240);
    setenv("GORT_MAXPROCS", "2", 1);
    CHECK_EQ(gort_init_lib(argc, argv), GORT_OK);
    CHECK_EQ(gort_goid(), 0);
    phase1();
    phase2();
    phase34();
    phase5();
    phase = "draining";
    while (gort_numgoroutine() != 0)
        usleep(1000);
    printf("test_lib_mixed: ok\n");
    return 0;
}
