/* test_netpoll_api: the fd calls' contracts, each with exact results, at
 * GORT_MAXPROCS=1 and 2.
 *
 *  1. gort_close while another goroutine waits in gort_read: the reader
 *     gets GORT_ECLOSED (it waits for sure: gort_stats.io_waiting is 1).
 *  2. A read deadline expires (GORT_ETIMEDOUT, not before the deadline),
 *     then, deadline cleared, the same fd reads data: the fd stays usable.
 *  3. A deadline already past fails a read at once although data waits;
 *     cleared, the read returns that data (Go's semantics).
 *  4. A deadline set while a goroutine waits ends its wait (GORT_ETIMEDOUT).
 *  5. EOF: after the peer closes, gort_read returns 0 (twice).
 *  6. gort_connect to a port nobody listens on: -ECONNREFUSED.
 *  7. A pipe: 1 MiB through gort_write/gort_read between two goroutines in
 *     odd-sized pieces (the writer waits on a full pipe), checksum exact.
 *  8. gort_fd_wait: writable at once; readable with timeout 0 and 10 ms is
 *     GORT_ETIMEDOUT; readable once a goroutine writes; GORT_ECLOSED when
 *     closed meanwhile; GORT_EINVAL for bad events; -EBADF for a bad fd.
 *  9. UDP: three datagrams queued, then three gort_recvfrom calls get them
 *     in order with the sender's address (no call waits for a datagram
 *     that is already there).
 * 10. gort_writev of three buffers, gort_readv into two.
 * 11. A write deadline on a socket nobody reads: gort_write of 4 MiB
 *     returns the bytes written before the deadline (0 < n < 4 MiB), the
 *     next call GORT_ETIMEDOUT; with the deadline cleared and a reader
 *     started, the rest goes through and every byte arrives.
 * 12. A regular file: gort_write/gort_read work (through
 *     entersyscall/exitsyscall), gort_set_deadline is -ENOTSUP,
 *     gort_fd_wait reports it ready.
 * 13. Writing to a socket whose peer closed gives -EPIPE, no SIGPIPE.
 * 14. Reads smaller than the data waiting (each returns exactly what was
 *     asked) never park while data is there.
 * 16. TCP urgent data: "ab", then urgent "c", then "de" (the kernel's reads
 *     stop at the urgent mark): gort_read returns "ab" and then "de"
 *     without hanging (a read deadline turns a hang into a failure).
 * 17. TCP data followed by the peer's FIN, both seen by the poller before
 *     the read: gort_read returns the 10 bytes (a short read), then 0 at
 *     once (the end of file is not an edge of its own); a read deadline
 *     turns a hang into a failure.
 * 15. Bad input: -EBADF for -1 and for a closed fd, GORT_EINVAL for NULL
 *     buffers and negative deadlines, -ENOTSOCK for gort_accept on a pipe;
 *     gort_close(-1) is -EBADF; afterwards everything above still works.
 * gort_stats.io_fds is back to the count before the test at the end.
 */
#define _GNU_SOURCE
#include "check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define MS 1000000LL

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "hang: test_netpoll_api did not finish in 120 s\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(1);
}

static void pair(int sv[2]) { CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0); }

static int64_t io_waiting(void) {
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    return st.io_waiting;
}

static void wait_for_waiters(int64_t n) {
    while (io_waiting() != n)
        CHECK_OK(gort_sleep(100000));
}

/* A goroutine that runs one call and reports its result on a channel. */
struct call {
    int fd;
    int kind; /* 0 read, 1 fd_wait(IN) */
    int64_t result;
    gort_chan *done;
};

static void caller(void *arg) {
    struct call *c = arg;
    char b[16];
    c->result = c->kind == 0 ? gort_read(c->fd, b, sizeof b) : gort_fd_wait(c->fd, GORT_POLLIN, -1);
    CHECK_OK(gort_chan_send(c->done, NULL));
}

static void start_call(struct call *c, int fd, int kind) {
    c->fd = fd;
    c->kind = kind;
    c->result = 12345;
    c->done = gort_chan_make(0, 1);
    CHECK(c->done != NULL);
    CHECK(gort_go(caller, c) > 0);
}

static int64_t finish_call(struct call *c) {
    CHECK_OK(gort_chan_recv(c->done, NULL));
    CHECK_OK(gort_chan_release(c->done));
    return c->result;
}

static void part1_close_wakes(void) {
    int sv[2];
    pair(sv);
    struct call c;
    start_call(&c, sv[0], 0);
    wait_for_waiters(1);
    CHECK_EQ(gort_close(sv[0]), 0);
    CHECK_EQ(finish_call(&c), GORT_ECLOSED);
    CHECK_EQ(gort_close(sv[1]), 0);
}

static void part2_deadline_then_read(void) {
    int sv[2];
    pair(sv);
    char b[8];
    int64_t dl = gort_nanotime() + 20 * MS;
    CHECK_EQ(gort_set_read_deadline(sv[0], dl), 0);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), GORT_ETIMEDOUT);
    CHECK(gort_nanotime() >= dl);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), GORT_ETIMEDOUT); /* still past */
    CHECK_EQ(gort_set_read_deadline(sv[0], 0), 0);
    CHECK_EQ(gort_write(sv[1], "hello", 5), 5);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), 5);
    CHECK(memcmp(b, "hello", 5) == 0);
    /* 3. past deadline with data waiting */
    CHECK_EQ(gort_write(sv[1], "xyz", 3), 3);
    CHECK_EQ(gort_set_deadline(sv[0], gort_nanotime() - 1), 0);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), GORT_ETIMEDOUT);
    CHECK_EQ(gort_set_deadline(sv[0], 0), 0);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), 3);
    CHECK(memcmp(b, "xyz", 3) == 0);
    /* 4. deadline set while waiting */
    struct call c;
    start_call(&c, sv[0], 0);
    wait_for_waiters(1);
    CHECK_EQ(gort_set_read_deadline(sv[0], gort_nanotime()), 0);
    CHECK_EQ(finish_call(&c), GORT_ETIMEDOUT);
    CHECK_EQ(gort_set_read_deadline(sv[0], 0), 0);
    /* 5. EOF */
    CHECK_EQ(gort_close(sv[1]), 0);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), 0);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), 0);
    CHECK_EQ(gort_close(sv[0]), 0);
}

static void part6_refused(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(s >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    socklen_t sl = sizeof sa;
    CHECK(getsockname(s, (struct sockaddr *)&sa, &sl) == 0);
    CHECK(close(s) == 0); /* bound, never listened: the port refuses */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c >= 0);
    CHECK_EQ(gort_connect(c, (struct sockaddr *)&sa, sizeof sa), -ECONNREFUSED);
    CHECK_EQ(gort_close(c), 0);
}

enum { PIPE_BYTES = 1 << 20 };
static int pp[2];
static uint64_t pipe_sum_in;

static void pipe_writer(void *arg) {
    gort_chan *done = arg;
    static unsigned char buf[7919];
    size_t sent = 0;
    uint64_t sum = 0;
    while (sent < PIPE_BYTES) {
        size_t k = sizeof buf < PIPE_BYTES - sent ? sizeof buf : PIPE_BYTES - sent;
        for (size_t i = 0; i < k; i++) {
            buf[i] = (unsigned char)((sent + i) * 131);
            sum += buf[i];
        }
        CHECK_EQ(gort_write(pp[1], buf, k), (ssize_t)k);
        sent += k;
    }
    pipe_sum_in = sum;
    CHECK_EQ(gort_close(pp[1]), 0);
    CHECK_OK(gort_chan_send(done, NULL));
}

static void part7_pipe(void) {
    CHECK(pipe2(pp, O_CLOEXEC) == 0);
    gort_chan *done = gort_chan_make(0, 1);
    CHECK(gort_go(pipe_writer, done) > 0);
    static unsigned char buf[3001];
    size_t got = 0;
    uint64_t sum = 0;
    ssize_t n;
    while ((n = gort_read(pp[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            CHECK_EQ(buf[i], (unsigned char)((got + (size_t)i) * 131));
            sum += buf[i];
        }
        got += (size_t)n;
    }
    CHECK_EQ(n, 0);
    CHECK_EQ(got, PIPE_BYTES);
    CHECK_OK(gort_chan_recv(done, NULL));
    CHECK_EQ(sum, pipe_sum_in);
    CHECK_OK(gort_chan_release(done));
    CHECK_EQ(gort_close(pp[0]), 0);
}

static void part8_fd_wait(void) {
    int sv[2];
    pair(sv);
    CHECK_EQ(gort_fd_wait(sv[0], GORT_POLLOUT, -1), GORT_POLLOUT);
    CHECK_EQ(gort_fd_wait(sv[0], GORT_POLLIN, 0), GORT_ETIMEDOUT);
    int64_t t0 = gort_nanotime();
    CHECK_EQ(gort_fd_wait(sv[0], GORT_POLLIN, 10 * MS), GORT_ETIMEDOUT);
    CHECK(gort_nanotime() - t0 >= 10 * MS);
    CHECK_EQ(gort_fd_wait(sv[0], GORT_POLLIN | GORT_POLLOUT, -1), GORT_POLLOUT);
    struct call c;
    start_call(&c, sv[0], 1);
    wait_for_waiters(1);
    CHECK_EQ(gort_write(sv[1], "!", 1), 1);
    CHECK_EQ(finish_call(&c), GORT_POLLIN);
    /* Level, not edge: the byte is still there. */
    CHECK_EQ(gort_fd_wait(sv[0], GORT_POLLIN, -1), GORT_POLLIN);
    char b;
    CHECK_EQ(gort_read(sv[0], &b, 1), 1);
    start_call(&c, sv[0], 1);
    wait_for_waiters(1);
    CHECK_EQ(gort_close(sv[0]), 0);
    CHECK_EQ(finish_call(&c), GORT_ECLOSED);
    CHECK_EQ(gort_fd_wait(sv[1], 0, 0), GORT_EINVAL);
    CHECK_EQ(gort_fd_wait(sv[1], 8, 0), GORT_EINVAL);
    CHECK_EQ(gort_fd_wait(-1, GORT_POLLIN, 0), -EBADF);
    CHECK_EQ(gort_close(sv[1]), 0);
}

static void part9_udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), b = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(a >= 0 && b >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0}, sb = sa;
    sa.sin_addr.s_addr = sb.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(a, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(bind(b, (struct sockaddr *)&sb, sizeof sb) == 0);
    socklen_t l = sizeof sa;
    CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0);
    l = sizeof sb;
    CHECK(getsockname(b, (struct sockaddr *)&sb, &l) == 0);
    char buf[64];
    /* Register b first and make it wait once, so that the datagrams below
     * arrive as events on a registered fd. */
    CHECK_EQ(gort_set_read_deadline(b, gort_nanotime() + MS), 0);
    CHECK_EQ(gort_recvfrom(b, buf, sizeof buf, 0, NULL, NULL), GORT_ETIMEDOUT);
    CHECK_EQ(gort_set_read_deadline(b, 0), 0);
    for (int i = 0; i < 3; i++) {
        char m[8];
        int len = snprintf(m, sizeof m, "d%d", i);
        CHECK_EQ(gort_sendto(a, m, (size_t)len, 0, (struct sockaddr *)&sb, sizeof sb), len);
    }
    for (int i = 0; i < 3; i++) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = gort_recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        CHECK_EQ(n, 2);
        CHECK(buf[0] == 'd' && buf[1] == '0' + i);
        CHECK_EQ(from.sin_port, sa.sin_port);
    }
    CHECK_EQ(gort_close(a), 0);
    CHECK_EQ(gort_close(b), 0);
}

static void part10_vectors(void) {
    int sv[2];
    pair(sv);
    struct iovec out[3] = {{(void *)"abc", 3}, {(void *)"", 0}, {(void *)"defgh", 5}};
    CHECK_EQ(gort_writev(sv[1], out, 3), 8);
    char x[5] = {0}, y[5] = {0};
    struct iovec in[2] = {{x, 4}, {y, 4}};
    CHECK_EQ(gort_readv(sv[0], in, 2), 8);
    CHECK(memcmp(x, "abcd", 4) == 0 && memcmp(y, "efgh", 4) == 0);
    CHECK_EQ(gort_readv(sv[0], NULL, -1), GORT_EINVAL);
    CHECK_EQ(gort_close(sv[0]), 0);
    CHECK_EQ(gort_close(sv[1]), 0);
}

enum { BIG = 4 << 20 };
static int big_rx;
static size_t big_received;

static void big_reader(void *arg) {
    gort_chan *done = arg;
    static unsigned char buf[65536];
    ssize_t n;
    while ((n = gort_read(big_rx, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            CHECK_EQ(buf[i], (unsigned char)(big_received + (size_t)i));
        big_received += (size_t)n;
    }
    CHECK_EQ(n, 0);
    CHECK_OK(gort_chan_send(done, NULL));
}

static void part11_write_deadline(void) {
    int sv[2];
    pair(sv);
    static unsigned char big[BIG];
    for (size_t i = 0; i < BIG; i++)
        big[i] = (unsigned char)i;
    CHECK_EQ(gort_set_write_deadline(sv[1], gort_nanotime() + 30 * MS), 0);
    ssize_t n = gort_write(sv[1], big, BIG);
    CHECK(n > 0 && n < BIG);
    CHECK_EQ(gort_write(sv[1], big + n, BIG - (size_t)n), GORT_ETIMEDOUT);
    CHECK_EQ(gort_set_write_deadline(sv[1], 0), 0);
    big_rx = sv[0];
    big_received = 0;
    gort_chan *done = gort_chan_make(0, 1);
    CHECK(gort_go(big_reader, done) > 0);
    CHECK_EQ(gort_write(sv[1], big + n, BIG - (size_t)n), BIG - n);
    CHECK_EQ(gort_close(sv[1]), 0);
    CHECK_OK(gort_chan_recv(done, NULL));
    CHECK_EQ(big_received, BIG);
    CHECK_OK(gort_chan_release(done));
    CHECK_EQ(gort_close(sv[0]), 0);
}

static void part12_regular_file(void) {
    char path[] = "/tmp/gort-netpoll-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(unlink(path) == 0);
    CHECK_EQ(gort_write(fd, "0123456789", 10), 10);
    CHECK(lseek(fd, 2, SEEK_SET) == 2);
    char b[16];
    CHECK_EQ(gort_read(fd, b, sizeof b), 8);
    CHECK(memcmp(b, "23456789", 8) == 0);
    CHECK_EQ(gort_read(fd, b, sizeof b), 0);
    CHECK_EQ(gort_set_deadline(fd, gort_nanotime() + MS), -ENOTSUP);
    CHECK_EQ(gort_fd_wait(fd, GORT_POLLIN | GORT_POLLOUT, -1), GORT_POLLIN | GORT_POLLOUT);
    CHECK_EQ(gort_close(fd), 0);
}

static void part13_epipe(void) {
    int sv[2];
    pair(sv);
    CHECK_EQ(gort_close(sv[0]), 0);
    CHECK_EQ(gort_write(sv[1], "x", 1), -EPIPE);
    CHECK_EQ(gort_send(sv[1], "x", 1, 0), -EPIPE);
    CHECK_EQ(gort_close(sv[1]), 0);
}

static void part14_small_reads(void) {
    int sv[2];
    pair(sv);
    char data[1000], b[100];
    for (int i = 0; i < 1000; i++)
        data[i] = (char)i;
    CHECK_EQ(gort_write(sv[1], data, sizeof data), 1000);
    for (int k = 0; k < 10; k++) {
        CHECK_EQ(gort_read(sv[0], b, sizeof b), 100);
        CHECK(memcmp(b, data + 100 * k, 100) == 0);
    }
    CHECK_EQ(gort_set_read_deadline(sv[0], gort_nanotime() + 5 * MS), 0);
    CHECK_EQ(gort_read(sv[0], b, sizeof b), GORT_ETIMEDOUT);
    CHECK_EQ(gort_close(sv[0]), 0);
    CHECK_EQ(gort_close(sv[1]), 0);
}

static void part16_urgent(void) {
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(ls >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(ls, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(ls, 1) == 0);
    socklen_t sl = sizeof sa;
    CHECK(getsockname(ls, (struct sockaddr *)&sa, &sl) == 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c >= 0);
    CHECK_EQ(gort_connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
    int s = gort_accept(ls, NULL, NULL);
    CHECK(s >= 0);
    char b[64];
    /* s is registered and has waited once before the data comes. */
    CHECK_EQ(gort_set_read_deadline(s, gort_nanotime() + MS), 0);
    CHECK_EQ(gort_read(s, b, sizeof b), GORT_ETIMEDOUT);
    CHECK_EQ(gort_set_read_deadline(s, gort_nanotime() + 2000 * MS), 0);
    CHECK_EQ(send(c, "ab", 2, 0), 2);
    CHECK_EQ(send(c, "c", 1, MSG_OOB), 1);
    CHECK_EQ(send(c, "de", 2, 0), 2);
    char got[8] = {0};
    size_t n = 0;
    while (n < 4) {
        ssize_t r = gort_read(s, got + n, sizeof got - 1 - n);
        CHECK(r > 0);
        n += (size_t)r;
    }
    CHECK(memcmp(got, "abde", 4) == 0);
    CHECK_EQ(gort_close(s), 0);
    CHECK_EQ(gort_close(c), 0);
    CHECK_EQ(gort_close(ls), 0);
}

/* A connected TCP pair on loopback: *srv is the accepted end. */
static void tcp_pair(int *cli, int *srv) {
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(ls >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(ls, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(ls, 1) == 0);
    socklen_t sl = sizeof sa;
    CHECK(getsockname(ls, (struct sockaddr *)&sa, &sl) == 0);
    *cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(*cli >= 0);
    CHECK_EQ(gort_connect(*cli, (struct sockaddr *)&sa, sizeof sa), 0);
    *srv = gort_accept(ls, NULL, NULL);
    CHECK(*srv >= 0);
    CHECK_EQ(gort_close(ls), 0);
}

static void part17_data_then_eof(void) {
    int c, s;
    tcp_pair(&c, &s);
    char b[4096];
    CHECK_EQ(gort_write(c, "0123456789", 10), 10);
    CHECK_EQ(gort_close(c), 0);
    /* Let an idle M poll: the data and FIN edge is consumed before the read. */
    CHECK_OK(gort_sleep(20 * MS));
    CHECK_EQ(gort_set_read_deadline(s, gort_nanotime() + 2000 * MS), 0);
    CHECK_EQ(gort_read(s, b, sizeof b), 10);
    CHECK_EQ(gort_read(s, b, sizeof b), 0);
    CHECK_EQ(gort_close(s), 0);
}

static void part15_bad_input(void) {
    char b[4];
    CHECK_EQ(gort_read(-1, b, 1), -EBADF);
    int sv[2];
    pair(sv);
    int dead = sv[0];
    CHECK_EQ(gort_close(sv[0]), 0);
    CHECK_EQ(gort_read(dead, b, 1), -EBADF);
    CHECK_EQ(gort_write(sv[1], NULL, 1), GORT_EINVAL);
    CHECK_EQ(gort_read(sv[1], NULL, 1), GORT_EINVAL);
    CHECK_EQ(gort_set_deadline(sv[1], -5), GORT_EINVAL);
    CHECK_EQ(gort_connect(sv[1], NULL, 0), GORT_EINVAL);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK_EQ(gort_accept(p[0], NULL, NULL), -ENOTSOCK);
    CHECK_EQ(gort_close(p[0]), 0);
    CHECK_EQ(gort_close(p[1]), 0);
    CHECK_EQ(gort_close(-1), -EBADF);
    CHECK_EQ(gort_close(sv[1]), 0);
}

static void main_g(void *arg) {
    (void)arg;
    signal(SIGALRM, on_alarm);
    alarm(120);
    struct gort_stats st0, st1;
    CHECK_OK(gort_stats(&st0));
    for (int round = 0; round < 2; round++) {
        part1_close_wakes();
        part2_deadline_then_read();
        part6_refused();
        part7_pipe();
        part8_fd_wait();
        part9_udp();
        part10_vectors();
        part11_write_deadline();
        part12_regular_file();
        part13_epipe();
        part14_small_reads();
        part15_bad_input();
        part16_urgent();
        part17_data_then_eof();
    }
    CHECK_OK(gort_stats(&st1));
    CHECK_EQ(st1.io_fds, st0.io_fds);
    CHECK_EQ(st1.io_waiting, 0);
    fprintf(stderr, "test_netpoll_api: all parts passed twice at GORT_MAXPROCS=%d\n", gort_gomaxprocs());
}

int main(int argc, char **argv) {
    /* A dead peer must give EPIPE, not kill the test: gort's sends never
     * raise SIGPIPE, so the default disposition stays. */
    CHECK_EQ(gort_read(0, NULL, 0), GORT_ENOTINIT);
    return check_run_procs(argc, argv, main_g, "1,2");
}
