/* test_million_chan: 1,000,000 goroutines blocked receiving from one
 * channel at the same time, released by close, then by 1,000,000 sends.
 *
 * What: GORT_MAXPROCS=2, one unbuffered channel.
 *  - close: 1,000,000 goroutines each fill their element with garbage and
 *    block in gort_chan_recv; once all have arrived (gort_numgoroutine()
 *    == 1,000,001, none returned, also 100 ms later) the main goroutine
 *    closes the channel: exactly 1,000,000 receives return GORT_ECLOSED
 *    with the element zeroed, none anything else.
 *  - sends: 1,000,000 goroutines block the same way on a fresh channel; the
 *    main goroutine sends the values 0 .. 999,999: every receive returns
 *    GORT_OK, every value is received exactly once (per-value flags all 1,
 *    the sum exact), and afterwards try_recv / try_send find nobody.
 * Each round waits for all receivers on a waitgroup and ends with only
 * main left.
 *
 * How: a SIGALRM cap (600 s) turns a hang into a failure that names the
 * phase and the counts.
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

struct elem {
    int64_t v;
    int64_t pad[2];
};

static gort_chan *ch;
static gort_waitgroup finished = GORT_WAITGROUP_INIT;
static atomic_int arrived, returned, good, bad;
static atomic_llong value_sum;
static atomic_uchar got[N];
static int expect_closed;
static const char *volatile phase = "start";

static void on_alarm(int sig) {
    (void)sig;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "hang: test_million_chan, phase %s: arrived %d, returned %d (ok %d, wrong %d)\n",
                     phase, atomic_load(&arrived), atomic_load(&returned), atomic_load(&good), atomic_load(&bad));
    ssize_t r = write(2, buf, (size_t)n);
    (void)r;
    _exit(1);
}

static void receiver(void *arg) {
    (void)arg;
    struct elem e;
    memset(&e, 0xA5, sizeof e);
    atomic_fetch_add(&arrived, 1);
    int rc = gort_chan_recv(ch, &e);
    atomic_fetch_add(&returned, 1);
    if (expect_closed) {
        if (rc == GORT_ECLOSED && e.v == 0 && e.pad[0] == 0 && e.pad[1] == 0)
            atomic_fetch_add(&good, 1);
        else
            atomic_fetch_add(&bad, 1);
    } else {
        if (rc == GORT_OK && e.v >= 0 && e.v < N && e.pad[0] == e.v * 3 && e.pad[1] == -e.v) {
            atomic_fetch_add(&got[e.v], 1);
            atomic_fetch_add(&value_sum, e.v);
            atomic_fetch_add(&good, 1);
        } else {
            atomic_fetch_add(&bad, 1);
        }
    }
    CHECK_EQ(gort_waitgroup_done(&finished), GORT_OK);
}

static void block_all(const char *name) {
    phase = name;
    atomic_store(&arrived, 0);
    atomic_store(&returned, 0);
    atomic_store(&good, 0);
    atomic_store(&bad, 0);
    ch = gort_chan_make(sizeof(struct elem), 0);
    CHECK(ch != NULL);
    CHECK_EQ(gort_waitgroup_add(&finished, N), GORT_OK);
    for (int i = 0; i < N; i++) {
        CHECK(gort_go(receiver, NULL) > 0);
        if (i % 256 == 255)
            gort_yield();
    }
    while (atomic_load(&arrived) < N)
        gort_sleep(MS);
    CHECK_EQ(gort_numgoroutine(), N + 1);
    gort_sleep(100 * MS);
    CHECK_EQ(atomic_load(&returned), 0);
    CHECK_EQ(gort_numgoroutine(), N + 1);
}

static void finish(void) {
    CHECK_EQ(gort_waitgroup_wait(&finished), GORT_OK);
    CHECK_EQ(atomic_load(&returned), N);
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&good), N);
    while (gort_numgoroutine() != 1)
        gort_sleep(MS);
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 2);

    int64_t t0 = check_now_ns();
    expect_closed = 1;
    block_all("close: spawning and blocking");
    int64_t t1 = check_now_ns();
    phase = "close: released by close";
    CHECK_EQ(gort_chan_close(ch), GORT_OK);
    finish();
    int64_t t2 = check_now_ns();
    CHECK_EQ(gort_chan_release(ch), GORT_OK);
    printf("close: %d receivers blocked on one channel, all woken with GORT_ECLOSED and a zeroed element (spawn+block "
           "%.1f s, close %.1f s)\n",
           N, (t1 - t0) / 1e9, (t2 - t1) / 1e9);

    expect_closed = 0;
    memset(got, 0, sizeof got);
    atomic_store(&value_sum, 0);
    block_all("sends: spawning and blocking");
    int64_t t3 = check_now_ns();
    phase = "sends: 1,000,000 sends";
    for (int64_t v = 0; v < N; v++) {
        struct elem e = {v, {v * 3, -v}};
        CHECK_EQ(gort_chan_send(ch, &e), GORT_OK);
    }
    finish();
    int64_t t4 = check_now_ns();
    CHECK_EQ(atomic_load(&value_sum), (long long)N * (N - 1) / 2);
    for (int i = 0; i < N; i++)
        if (atomic_load(&got[i]) != 1) {
            fprintf(stderr, "value %d received %d times\n", i, atomic_load(&got[i]));
            CHECK(0);
        }
    struct elem e = {1, {3, -1}};
    CHECK_EQ(gort_chan_try_send(ch, &e), GORT_EAGAIN);
    CHECK_EQ(gort_chan_try_recv(ch, &e), GORT_EAGAIN);
    CHECK_EQ(gort_chan_release(ch), GORT_OK);
    printf("sends: %d receivers blocked on one channel, each got exactly one of %d sent values (spawn+block %.1f s, "
           "sends %.1f s)\n",
           N, N, (t3 - t2) / 1e9, (t4 - t3) / 1e9);
    printf("test_million_chan: ok\n");
}

int main(int argc, char **argv) {
    CHECK_SKIP_UNDER_SANITIZER("a million goroutines: one TSan fiber, ASan root region and shadow each");
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(600);
    setenv("GORT_MAXPROCS", "2", 1);
    return check_run_main(argc, argv, main_g);
}
