/* epoll_echo_server: the floor for benches' echo measurements. One thread,
 * one level-triggered epoll set, no runtime: each readable connection gets one
 * read into a shared buffer and the bytes are written straight back.
 *
 *   epoll_echo_server [-port P]     (0, the default: a free port)
 *
 * Prints "LISTEN port=N pid=PID impl=c-epoll" once listening on
 * 127.0.0.1, then serves until killed. Used by scripts/bench.sh for the echo
 * CPU/throughput rows and, as a reference, the idle-connection RSS row
 * (its per-connection state is the kernel's alone).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connection whose echo did not fit in its send buffer keeps the rest
 * here and stops reading until it has drained: the server never holds more
 * than one read's worth per connection, like the goroutine-per-connection
 * servers it is compared with. Never happens with ping-pong clients. */
struct pending {
    size_t len, off;
    char data[];
};

static struct pending **pend; /* by fd */
static int pend_cap;

static void drop(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    if (fd < pend_cap && pend[fd]) {
        free(pend[fd]);
        pend[fd] = NULL;
    }
    close(fd);
}

static void set_events(int ep, int fd, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Writes buf[off..len); returns the bytes written, or -1 on a dead connection. */
static ssize_t write_some(int fd, const char *buf, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno == EINTR)
            continue;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        else
            return -1;
    }
    return (ssize_t)off;
}

int main(int argc, char **argv) {
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [-port P]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, SOMAXCONN) != 0) {
        perror("epoll_echo_server: bind/listen");
        return 1;
    }
    socklen_t alen = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &alen);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    printf("LISTEN port=%d pid=%d impl=c-epoll\n", ntohs(a.sin_port), (int)getpid());
    fflush(stdout);

    static char buf[4096];
    enum { MAXEV = 256 };
    struct epoll_event evs[MAXEV];
    for (;;) {
        int n = epoll_wait(ep, evs, MAXEV, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                for (;;) {
                    int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    /* EAGAIN; or EMFILE and the like, retried when the
                     * level-triggered listener is reported again */
                    if (c < 0)
                        break;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            if (fd < pend_cap && pend[fd]) {
                struct pending *p = pend[fd];
                ssize_t w = write_some(fd, p->data + p->off, p->len - p->off);
                if (w < 0) {
                    drop(ep, fd);
                    continue;
                }
                p->off += (size_t)w;
                if (p->off == p->len) {
                    free(p);
                    pend[fd] = NULL;
                    set_events(ep, fd, EPOLLIN);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                drop(ep, fd);
                continue;
            }
            ssize_t w = write_some(fd, buf, (size_t)r);
            if (w < 0) {
                drop(ep, fd);
                continue;
            }
            if (w < r) {
                if (fd >= pend_cap) {
                    int cap = pend_cap ? pend_cap : 1024;
                    while (cap <= fd)
                        cap *= 2;
                    pend = realloc(pend, (size_t)cap * sizeof *pend);
                    memset(pend + pend_cap, 0, (size_t)(cap - pend_cap) * sizeof *pend);
                    pend_cap = cap;
                }
                struct pending *p = malloc(sizeof *p + (size_t)(r - w));
                p->len = (size_t)(r - w);
                p->off = 0;
                memcpy(p->data, buf + w, p->len);
                pend[fd] = p;
                set_events(ep, fd, EPOLLOUT);
            }
        }
    }
}
