/* bench_echo: gort's echo server, one goroutine per connection. Not a
 * measurement by itself: scripts/bench.sh starts it pinned to one CPU with
 * GORT_MAXPROCS=1 and drives it from another CPU with
 * benches/peers/c/loadgen, next to the Go, tokio and plain-epoll servers:
 *
 *   echo rows   loadgen echo: 100 connections ping-pong 64- or 512-byte
 *               messages; server CPU time (utime + stime from /proc/PID/stat)
 *               per round trip, and round trips per second
 *   idle rows   loadgen idle: 10,000 connections each echo one byte and then
 *               stay open; the server's VmRSS growth per connection
 *
 *   bench_echo [-port P]     (0, the default: a free port)
 *
 * Prints "LISTEN port=N pid=PID impl=gort procs=P" once listening on
 * 127.0.0.1, then serves until killed. Each connection's goroutine has its own
 * 4 KiB buffer (on its stack), reads, and writes back what it read: the same
 * program as the peers (benches/peers/go/io.go, benches/peers/tokio,
 * benches/peers/c/epoll_echo_server.c).
 */
#include "bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

static int port;

static void serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = gort_read(fd, buf, sizeof buf)) > 0)
        if (gort_write(fd, buf, (size_t)n) != n)
            break;
    gort_close(fd);
}

static void server(void *arg) {
    (void)arg;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BENCH_CHECK(ls >= 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, SOMAXCONN) != 0) {
        perror("bench_echo: bind/listen");
        exit(2);
    }
    socklen_t alen = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &alen);
    printf("LISTEN port=%d pid=%d impl=gort procs=%d\n", ntohs(a.sin_port), (int)getpid(),
           gort_gomaxprocs());
    fflush(stdout);
    for (;;) {
        int c = gort_accept(ls, NULL, NULL);
        if (c < 0) {
            /* Out of descriptors and the like: wait and retry, as Go's net/http does. */
            gort_sleep(5000000);
            continue;
        }
        /* Go's net package sets TCP_NODELAY on every connection; so do all the peers. */
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (gort_go(serve, (void *)(intptr_t)c) < 0)
            gort_close(c);
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [-port P]\n", argv[0]);
            return 2;
        }
    }
    /* A client that resets its connection while we write would otherwise kill
     * the server (gort_write is write(2)); Go and Rust ignore SIGPIPE too. */
    signal(SIGPIPE, SIG_IGN);
    /* 10,000 idle connections need more than the usual soft limit of 1024
     * descriptors; Go raises its soft limit the same way. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    BENCH_OK(gort_init(argc, argv));
    BENCH_OK(gort_go(server, NULL));
    BENCH_OK(gort_mstart());
    return 1;
}
