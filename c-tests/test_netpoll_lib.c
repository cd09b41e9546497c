/* test_netpoll_lib: the fd calls on host threads in library mode: they
 * block only their own thread, and goroutines and threads wake each other
 * through the same poller.
 *
 * gort_init_lib with GORT_MAXPROCS=2, then, from the host's threads:
 *  1. A host thread blocks in gort_read on an empty socket while every
 *     goroutine is idle; a goroutine started later (after the thread is
 *     counted in gort_stats.io_waiting) writes 5 bytes: the thread gets
 *     exactly those bytes.
 *  2. A goroutine blocks in gort_read; a host thread writes with gort_write:
 *     the goroutine gets the bytes and reports them on a channel.
 *  3. A host thread waits in gort_read while a goroutine calls gort_close
 *     on that fd: the thread gets GORT_ECLOSED.
 *  4. A host thread's read deadline expires: GORT_ETIMEDOUT, no earlier
 *     than the deadline; then the fd reads data normally.
 *  5. 8 host threads and 8 goroutines ping-pong 1,000 messages each over
 *     8 socket pairs (thread on one end, goroutine on the other); every
 *     message comes back with the right sequence number.
 *  6. gort_entersyscall/gort_exitsyscall on a host thread: GORT_OK, no-op.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define MS 1000000LL

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "hang: test_netpoll_lib did not finish in 120 s\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(1);
}

static int64_t io_waiting(void) {
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    return st.io_waiting;
}

static void wait_waiting(int64_t n) {
    while (io_waiting() != n)
        usleep(100);
}

static int sv[2];

static void write5(void *arg) {
    (void)arg;
    CHECK_EQ(gort_write(sv[1], "world", 5), 5);
}

static gort_chan *got_chan;

static void read_into_chan(void *arg) {
    (void)arg;
    char b[8];
    int64_t n = gort_read(sv[0], b, sizeof b);
    CHECK_EQ(n, 3);
    CHECK(memcmp(b, "abc", 3) == 0);
    CHECK_OK(gort_chan_send(got_chan, &n));
}

static void close_it(void *arg) {
    (void)arg;
    CHECK_EQ(gort_close(sv[0]), 0);
}

enum { PAIRS = 8, MSGS = 1000 };
static int pairs[PAIRS][2];
static gort_waitgroup echo_wg;

static void echo_g(void *arg) {
    int fd = pairs[(intptr_t)arg][1];
    for (int i = 0; i < MSGS; i++) {
        int v;
        CHECK_EQ(gort_read(fd, &v, sizeof v), (ssize_t)sizeof v);
        CHECK_EQ(v, i);
        v = -i;
        CHECK_EQ(gort_write(fd, &v, sizeof v), (ssize_t)sizeof v);
    }
    CHECK_OK(gort_waitgroup_done(&echo_wg));
}

static void *pinger(void *arg) {
    int fd = pairs[(intptr_t)arg][0];
    for (int i = 0; i < MSGS; i++) {
        CHECK_EQ(gort_write(fd, &i, sizeof i), (ssize_t)sizeof i);
        int v = 1;
        CHECK_EQ(gort_read(fd, &v, sizeof v), (ssize_t)sizeof v);
        CHECK_EQ(v, -i);
    }
    return NULL;
}

static void *blocked_reader(void *arg) {
    int64_t *res = arg;
    char b[8];
    *res = gort_read(sv[0], b, sizeof b);
    if (*res == 5)
        CHECK(memcmp(b, "world", 5) == 0);
    return NULL;
}

int main(int argc, char **argv) {
    signal(SIGALRM, on_alarm);
    alarm(120);
    setenv("GORT_MAXPROCS", "2", 1);
    CHECK_OK(gort_init_lib(argc, argv));

    /* 1 */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int64_t res = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, blocked_reader, &res) == 0);
    wait_waiting(1);
    usleep(20000); /* every M goes idle meanwhile */
    CHECK(gort_go(write5, NULL) > 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(res, 5);

    /* 2 */
    got_chan = gort_chan_make(sizeof(int64_t), 0);
    CHECK(gort_go(read_into_chan, NULL) > 0);
    wait_waiting(1);
    CHECK_EQ(gort_write(sv[1], "abc", 3), 3);
    int64_t n = 0;
    CHECK_OK(gort_chan_recv(got_chan, &n));
    CHECK_EQ(n, 3);

    /* 3 */
    CHECK(pthread_create(&t, NULL, blocked_reader, &res) == 0);
    wait_waiting(1);
    CHECK(gort_go(close_it, NULL) > 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(res, GORT_ECLOSED);
    CHECK_EQ(gort_close(sv[1]), 0);

    /* 4 */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int64_t dl = gort_nanotime() + 20 * MS;
    CHECK_EQ(gort_set_read_deadline(sv[0], dl), 0);
    char b[8];
    CHECK_EQ(gort_read(sv[0], b, sizeof b), GORT_ETIMEDOUT);
    CHECK(gort_nanotime() >= dl);
    CHECK_EQ(gort_set_read_deadline(sv[0], 0), 0);
    CHECK_EQ(gort_write(sv[1], "xy", 2), 2);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), 2);
    CHECK_EQ(gort_close(sv[0]), 0);
    CHECK_EQ(gort_close(sv[1]), 0);

    /* 5 */
    pthread_t ts[PAIRS];
    CHECK_OK(gort_waitgroup_add(&echo_wg, PAIRS));
    for (intptr_t i = 0; i < PAIRS; i++) {
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs[i]) == 0);
        CHECK(gort_go(echo_g, (void *)i) > 0);
        CHECK(pthread_create(&ts[i], NULL, pinger, (void *)i) == 0);
    }
    for (int i = 0; i < PAIRS; i++)
        CHECK(pthread_join(ts[i], NULL) == 0);
    CHECK_OK(gort_waitgroup_wait(&echo_wg));
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(gort_close(pairs[i][0]), 0);
        CHECK_EQ(gort_close(pairs[i][1]), 0);
    }

    /* 6 */
    CHECK_EQ(gort_entersyscall(), GORT_OK);
    CHECK_EQ(gort_exitsyscall(), GORT_OK);
    CHECK_EQ(io_waiting(), 0);
    printf("test_netpoll_lib: ok\n");
    return 0;
}
