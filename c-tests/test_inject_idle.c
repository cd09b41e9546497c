/* test_inject_idle: goroutines woken from host threads while Ms go idle
 * are never stranded in the global run queue.
 *
 * Regression test. In library mode, host threads make goroutines runnable
 * through the global queue and call wakep. startm, on finding no idle P,
 * used to give back the spinning token (nmspinning) only after releasing
 * sched.lock: in that window an M could park (its re-check saw empty
 * queues) and a waker see an idle P but a "spinning" M, and leave its
 * goroutine to nobody. The process then hung with every M asleep and the
 * global queue non-empty (GORT_DEBUG=schedtrace=500 shows such a state);
 * under qemu-aarch64 this shape hung in most runs.
 *
 * Shape, repeated for REPS rounds at GORT_MAXPROCS=2: 8 goroutines send
 * K values each into one unbuffered channel, 4 host threads receive until a
 * goroutine closes it after the senders' waitgroup. Host receivers ready
 * parked senders from outside the scheduler, over and over, while the Ms
 * keep running out of work. Checks per round: exactly 8*K values with the
 * exact sum, every receiver ends with GORT_ECLOSED. A SIGALRM cap turns a
 * stranded goroutine into a failure naming the round.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

enum { NG = 8, NH = 4, K = 2000, REPS = 10 };

static gort_chan *c;
static gort_waitgroup senders = GORT_WAITGROUP_INIT, closed = GORT_WAITGROUP_INIT;
static atomic_long count, sum;
static volatile int round_no;

static void on_alarm(int sig) {
    (void)sig;
    char buf[128];
    int n = snprintf(buf, sizeof buf, "test_inject_idle: hang in round %d (%ld values received)\n", round_no,
                     atomic_load(&count));
    (void)!write(2, buf, (size_t)n);
    _exit(1);
}

static void sender(void *arg) {
    int64_t id = (int64_t)(intptr_t)arg;
    for (int64_t s = 0; s < K; s++) {
        int64_t v = id * K + s;
        CHECK_OK(gort_chan_send(c, &v));
    }
    CHECK_OK(gort_waitgroup_done(&senders));
}

static void closer(void *arg) {
    (void)arg;
    CHECK_OK(gort_waitgroup_wait(&senders));
    CHECK_OK(gort_chan_close(c));
    CHECK_OK(gort_waitgroup_done(&closed));
}

static void *receiver(void *arg) {
    (void)arg;
    int64_t v;
    int rc;
    while ((rc = gort_chan_recv(c, &v)) == GORT_OK) {
        atomic_fetch_add(&count, 1);
        atomic_fetch_add(&sum, v);
    }
    CHECK_EQ(rc, GORT_ECLOSED);
    CHECK_EQ(v, 0);
    return NULL;
}

int main(int argc, char **argv) {
    signal(SIGALRM, on_alarm);
    alarm(90);
    setenv("GORT_MAXPROCS", "2", 1);
    CHECK_OK(gort_init_lib(argc, argv));
    const long n = (long)NG * K;
    for (int r = 0; r < REPS; r++) {
        round_no = r;
        atomic_store(&count, 0);
        atomic_store(&sum, 0);
        c = gort_chan_make(sizeof(int64_t), 0);
        CHECK(c != NULL);
        CHECK_OK(gort_waitgroup_add(&senders, NG));
        CHECK_OK(gort_waitgroup_add(&closed, 1));
        pthread_t th[NH];
        for (int i = 0; i < NH; i++)
            CHECK_EQ(pthread_create(&th[i], NULL, receiver, NULL), 0);
        for (int g = 0; g < NG; g++)
            CHECK(gort_go(sender, (void *)(intptr_t)g) > 0);
        CHECK(gort_go(closer, NULL) > 0);
        for (int i = 0; i < NH; i++)
            CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK_OK(gort_waitgroup_wait(&closed));
        CHECK_EQ(atomic_load(&count), n);
        CHECK_EQ(atomic_load(&sum), n * (n - 1) / 2);
        CHECK_OK(gort_chan_release(c));
    }
    printf("test_inject_idle: %d rounds of %ld values, goroutines -> host threads\n", REPS, n);
    return 0;
}
