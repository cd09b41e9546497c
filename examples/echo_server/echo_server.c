/* echo_server: a TCP echo server with one goroutine per connection, and a
 * client that checks every echoed byte, in C.
 *
 *   ./echo_server                                 self-test (below)
 *   ./echo_server serve PORT                      serve until killed
 *   ./echo_server client HOST PORT [CONNS] [MSGS] check a server
 *
 * serve: listens on PORT on every interface (0: a free port), prints
 * "echo_server: listening on port N" and echoes whatever each connection
 * sends until it closes. Each connection is a goroutine that calls
 * gort_read and gort_write as if they were blocking calls: they park the
 * goroutine, not the thread, so thousands of connections share a few
 * threads (Go's netpoller).
 *
 * client: CONNS connections at once (default 100), one goroutine each;
 * each sends MSGS messages (default 100) of 1 to 16,384 bytes, a size and
 * content that depend on the connection and message number, reads the echo
 * back, compares every byte, then half-closes and expects end of file.
 * Exits 0 only if every byte of every message came back; prints a summary.
 *
 * With no arguments: a server on an ephemeral loopback port in a goroutine
 * and the client against it in the same process, 100 connections x 100
 * messages. Prints
 *   echo_server: 100 connections x 100 messages echoed (<bytes> bytes each way)
 *   echo_server: server echoed <bytes> bytes over 100 connections
 *   echo_server: ok
 * and exits 0 only if both sides agree with the exact totals.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gort.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSG_MAX 16384
/* Only a dead or wedged peer takes this long: it turns a hang into an error. */
#define IO_TIMEOUT_NS (30 * 1000000000LL)

/* -errno of the call just made. errno is thread-local and a goroutine can
 * resume on another thread after any gort call, while the compiler may
 * compute errno's address once per function (glibc declares
 * __errno_location const) and reuse it after such a call: a function of
 * its own, never inlined, looks the address up afresh. */
static __attribute__((noinline)) int neg_errno(void) { return -errno; }

/* --- messages ------------------------------------------------------------------------ */

static uint64_t mix(uint64_t x) { /* splitmix64: sizes that look random but repeat */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static size_t msg_len(long conn, long i) { return 1 + (size_t)(mix((uint64_t)conn << 32 | (uint64_t)i) % MSG_MAX); }

/* Every byte depends on the connection, the message and its offset, so a
 * byte from another connection, another message or the wrong place fails
 * the comparison. */
static unsigned char msg_byte(long conn, long i, size_t j) {
    return (unsigned char)(conn * 31 + i * 7 + (long)j * 13 + (long)(j >> 8));
}

/* --- server -------------------------------------------------------------------------- */

/* Go's default for TCP: without it, the second of two small writes waits for
 * the peer's delayed ACK (Nagle), some 40 ms per message on loopback. */
static void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static atomic_llong served_bytes;
static atomic_long served_conns;
static gort_waitgroup server_wg = GORT_WAITGROUP_INIT;

static void serve_conn(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    long long echoed = 0;
    ssize_t n;
    while ((n = gort_read(fd, buf, sizeof buf)) > 0) {
        if (gort_write(fd, buf, (size_t)n) != n)
            break;
        echoed += n;
    }
    gort_close(fd);
    atomic_fetch_add(&served_bytes, echoed);
    atomic_fetch_add(&served_conns, 1);
    gort_waitgroup_done(&server_wg);
}

/* Accepts until the listener is closed (GORT_ECLOSED while waiting, -EBADF
 * if the close came between two accepts). */
static void accept_loop(int listener) {
    for (;;) {
        int c = gort_accept(listener, NULL, NULL);
        if (c >= 0) {
            set_nodelay(c);
            gort_waitgroup_add(&server_wg, 1);
            if (gort_go(serve_conn, (void *)(intptr_t)c) < 0) {
                gort_close(c);
                gort_waitgroup_done(&server_wg);
            }
            continue;
        }
        if (c == GORT_ECLOSED || c == -EBADF)
            return;
        if (c == -EMFILE || c == -ENFILE || c == -ENOBUFS || c == -ENOMEM) {
            gort_sleep(10 * 1000000); /* out of fds: let connections finish, as Go does */
            continue;
        }
        if (c != -ECONNABORTED && c != -EINTR) {
            fprintf(stderr, "echo_server: accept: %s\n", gort_strerror(c));
            gort_exit(1);
        }
    }
}

static int listen_on(uint32_t addr, int port, int *bound_port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return neg_errno();
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(addr);
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        int e = neg_errno();
        close(fd);
        return e;
    }
    *bound_port = ntohs(sa.sin_port);
    return fd;
}

/* --- client -------------------------------------------------------------------------- */

struct client {
    struct addrinfo *addrs;
    long conns, msgs;
    atomic_long ok_conns;
    atomic_llong bytes;
    gort_waitgroup wg;
};

struct client_conn {
    struct client *cl;
    long conn;
};

/* Tries each resolved address in turn, as Go's Dial does. */
static int connect_any(const struct addrinfo *ai) {
    int err = -EADDRNOTAVAIL;
    for (; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = neg_errno();
            continue;
        }
        gort_set_deadline(fd, gort_nanotime() + IO_TIMEOUT_NS);
        err = gort_connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (err == 0) {
            set_nodelay(fd);
            return fd;
        }
        gort_close(fd);
    }
    return err;
}

/* Reads exactly n bytes: 0, or a negative error (GORT_EINVAL for an early
 * end of file). */
static int read_full(int fd, unsigned char *buf, size_t n) {
    for (size_t got = 0; got < n;) {
        ssize_t r = gort_read(fd, buf + got, n - got);
        if (r <= 0)
            return r == 0 ? GORT_EINVAL : (int)r;
        got += (size_t)r;
    }
    return 0;
}

static void client_conn(void *arg) {
    struct client_conn *cc = arg;
    struct client *cl = cc->cl;
    long conn = cc->conn;
    free(cc);
    unsigned char *out = malloc(MSG_MAX), *in = malloc(MSG_MAX);
    const char *what = "connect";
    long long bytes = 0;
    int rc = -ENOMEM, fd = -1;
    if (out && in)
        rc = fd = connect_any(cl->addrs);
    for (long i = 0; rc >= 0 && i < cl->msgs; i++) {
        size_t len = msg_len(conn, i);
        for (size_t j = 0; j < len; j++)
            out[j] = msg_byte(conn, i, j);
        gort_set_deadline(fd, gort_nanotime() + IO_TIMEOUT_NS);
        what = "write";
        ssize_t w = gort_write(fd, out, len);
        if (w != (ssize_t)len) {
            rc = w < 0 ? (int)w : GORT_EINVAL;
            break;
        }
        what = "read";
        if ((rc = read_full(fd, in, len)) < 0)
            break;
        if (memcmp(in, out, len) != 0) {
            size_t j = 0;
            while (in[j] == out[j])
                j++;
            fprintf(stderr, "echo_server: connection %ld message %ld: byte %zu is %u, sent %u\n", conn, i, j,
                    in[j], out[j]);
            rc = GORT_EINVAL;
            what = "compare";
            break;
        }
        bytes += (long long)len;
    }
    if (rc >= 0) {
        /* Half-close: the server sees end of file, closes, and we see its
         * end of file: nothing more came back than was sent. */
        what = "end of file";
        shutdown(fd, SHUT_WR);
        ssize_t r = gort_read(fd, in, 1);
        rc = r == 0 ? 0 : r < 0 ? (int)r : GORT_EINVAL;
    }
    if (fd >= 0)
        gort_close(fd);
    if (rc >= 0) {
        atomic_fetch_add(&cl->ok_conns, 1);
        atomic_fetch_add(&cl->bytes, bytes);
    } else if (strcmp(what, "compare") != 0) {
        fprintf(stderr, "echo_server: connection %ld: %s: %s\n", conn, what, gort_strerror(rc));
    }
    free(out);
    free(in);
    gort_waitgroup_done(&cl->wg);
}

/* Runs the client; returns 1 if every connection echoed every byte. */
static int run_client(const char *host, const char *port, long conns, long msgs) {
    struct addrinfo hints, *addrs = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* getaddrinfo may block on DNS: let other goroutines have this P. */
    gort_entersyscall();
    int rc = getaddrinfo(host, port, &hints, &addrs);
    gort_exitsyscall();
    if (rc != 0) {
        fprintf(stderr, "echo_server: %s:%s: %s\n", host, port, gai_strerror(rc));
        return 0;
    }
    struct client cl;
    memset(&cl, 0, sizeof cl);
    cl.addrs = addrs;
    cl.conns = conns;
    cl.msgs = msgs;
    long long expected = 0;
    for (long c = 0; c < conns; c++)
        for (long i = 0; i < msgs; i++)
            expected += (long long)msg_len(c, i);
    int64_t t0 = gort_nanotime();
    gort_waitgroup_add(&cl.wg, conns);
    for (long c = 0; c < conns; c++) {
        struct client_conn *cc = malloc(sizeof *cc);
        if (cc) {
            cc->cl = &cl;
            cc->conn = c;
        }
        if (!cc || gort_go(client_conn, cc) < 0) {
            fprintf(stderr, "echo_server: cannot start connection %ld\n", c);
            gort_exit(1);
        }
    }
    gort_waitgroup_wait(&cl.wg);
    double secs = (double)(gort_nanotime() - t0) / 1e9;
    freeaddrinfo(addrs);
    long ok = atomic_load(&cl.ok_conns);
    long long bytes = atomic_load(&cl.bytes);
    if (ok != conns || bytes != expected) {
        printf("echo_server: FAILED: %ld of %ld connections echoed, %lld of %lld bytes\n", ok, conns, bytes,
               expected);
        return 0;
    }
    printf("echo_server: %ld connections x %ld messages echoed (%lld bytes each way)\n", conns, msgs, bytes);
    printf("echo_server: %.0f ms, %.1f MiB/s each way\n", secs * 1e3, (double)bytes / secs / (1 << 20));
    return 1;
}

/* --- modes --------------------------------------------------------------------------- */

static const char *mode;
static char *arg_host, *arg_port;
static long arg_conns = 100, arg_msgs = 100;
static int listener;

static void server_goroutine(void *arg) {
    accept_loop(listener);
    gort_chan_send(arg, NULL); /* tells the self-test the loop is over */
}

static void echo_main(void *arg) {
    (void)arg;
    if (!strcmp(mode, "serve")) {
        accept_loop(listener);
        return;
    }
    if (!strcmp(mode, "client")) {
        if (!run_client(arg_host, arg_port, arg_conns, arg_msgs))
            gort_exit(1);
        printf("echo_server: ok\n");
        return;
    }
    /* self-test: the server in a goroutine, the client here */
    int port;
    if ((listener = listen_on(INADDR_LOOPBACK, 0, &port)) < 0) {
        fprintf(stderr, "echo_server: listen: %s\n", gort_strerror(listener));
        gort_exit(1);
    }
    gort_chan *accept_done = gort_chan_make(0, 1);
    if (!accept_done || gort_go(server_goroutine, accept_done) < 0)
        gort_exit(1);
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    int ok = run_client("127.0.0.1", port_s, arg_conns, arg_msgs);
    /* Closing the listener ends the accept loop; once it is over, every
     * connection goroutine it started is counted in server_wg, so waiting
     * for that sees the server's final totals. */
    gort_close(listener);
    gort_chan_recv(accept_done, NULL);
    gort_chan_release(accept_done);
    gort_waitgroup_wait(&server_wg);
    long long expected = 0;
    for (long c = 0; c < arg_conns; c++)
        for (long i = 0; i < arg_msgs; i++)
            expected += (long long)msg_len(c, i);
    long long sb = atomic_load(&served_bytes);
    long sc = atomic_load(&served_conns);
    printf("echo_server: server echoed %lld bytes over %ld connections\n", sb, sc);
    if (!ok || sb != expected || sc != arg_conns) {
        printf("echo_server: FAILED (expected %lld bytes over %ld connections)\n", expected, arg_conns);
        gort_exit(1);
    }
    printf("echo_server: ok\n");
}

static long parse_count(const char *s, long max) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || *end || end == s || v < 0 || v > max ? -1 : v;
}

/* Thousands of connections need thousands of fds: take what the hard limit
 * allows. */
static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s                                  (self-test)\n"
            "       %s serve PORT\n"
            "       %s client HOST PORT [CONNS] [MSGS]\n",
            argv0, argv0, argv0);
    return 2;
}

int main(int argc, char **argv) {
    mode = "self-test";
    if (argc >= 2 && !strcmp(argv[1], "serve")) {
        long port;
        if (argc != 3 || (port = parse_count(argv[2], 65535)) < 0)
            return usage(argv[0]);
        int bound;
        if ((listener = listen_on(INADDR_ANY, (int)port, &bound)) < 0) {
            fprintf(stderr, "echo_server: listen on port %ld: %s\n", port, gort_strerror(listener));
            return 1;
        }
        printf("echo_server: listening on port %d\n", bound);
        fflush(stdout);
        mode = "serve";
    } else if (argc >= 2 && !strcmp(argv[1], "client")) {
        if (argc < 4 || argc > 6)
            return usage(argv[0]);
        arg_host = argv[2];
        arg_port = argv[3];
        if ((argc > 4 && (arg_conns = parse_count(argv[4], 1000000)) < 1) ||
            (argc > 5 && (arg_msgs = parse_count(argv[5], 1000000000)) < 0))
            return usage(argv[0]);
        mode = "client";
    } else if (argc != 1) {
        return usage(argv[0]);
    }
    raise_nofile();
    int rc = gort_init(argc, argv);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    if (gort_go(echo_main, NULL) < 0)
        return 1;
    rc = gort_mstart();
    fprintf(stderr, "gort_mstart: %s\n", gort_strerror(rc));
    return 1;
}
