/* loadgen: the one client every echo server in benches/ is measured with
 * (gort, Go, tokio, the plain epoll server). Plain C, single-threaded, epoll.
 *
 *   loadgen echo -port P [-pid SERVER_PID] [-impl NAME]   (one server)
 *   loadgen echo -target NAME:PORT:PID [-target ...]        (several, in turn)
 *                [-c 100] [-size 64] [-warmup 0.5] [-secs 1] [-runs 8] [-procs N]
 *   loadgen idle -port P [-n 10000] [-pid SERVER_PID] [-impl NAME] [-procs N]
 *                [-settle 0.5] [-window 200]
 *
 * echo: opens -c connections to each server (127.0.0.1:PORT); during a
 *   server's interval each of its connections sends a -size byte message,
 *   waits until the whole echo is back, checks every byte, and sends the
 *   next (ping-pong; -size up to 64 KiB). The servers take turns: a warm-up interval of -warmup
 *   seconds each, then -runs cycles in which each gets one interval of -secs
 *   seconds, the first server of a cycle moving on by one each cycle. The
 *   servers not in their interval sit idle (their connections open, nothing
 *   sent), so all are measured within seconds of each other: on a shared host
 *   whose speed drifts by tens of percent from one minute to the next, that
 *   is what makes a comparison within a few percent possible. Per interval:
 *   round trips per second and, with a pid, the server's CPU time (utime +
 *   stime of /proc/PID/stat, all its threads) divided by the interval's round
 *   trips. An interval ends by letting every connection's last message come
 *   back, so that the server is idle again when its CPU time is read. Prints,
 *   per server, BENCH lines echo_cpu_<size> (ns/roundtrip, with a pid) and
 *   echo_rate_<size> (roundtrips/s): medians over the intervals.
 *
 * idle: opens -n connections; each sends one byte and waits for it to come
 *   back (so the server has accepted it and its reader is waiting again),
 *   at most -window of them in flight so that no listen backlog overflows.
 *   With -pid, reads the server's VmRSS before the first connection and
 *   -settle seconds after the last echo and prints BENCH idle_rss
 *   (KB/conn: the difference / n). Then prints "READY conns=N" and holds the
 *   connections open until stdin reaches end of file or SIGINT/SIGTERM
 *   arrives (run it with </dev/null to measure and leave at once).
 *
 * Only wrong results fail (exit 1): an echoed byte that differs, a
 * connection the server closes or resets. Timing never does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Setup errors (no server listening, out of fds): not a wrong result, but
 * nothing was measured either. */
static void setup_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bench_line(const char *name, int procs, const char *impl, const char *unit, double *v,
                       int n, const char *extra) {
    double med = median(v, n);
    printf("BENCH name=%s procs=%d impl=%s unit=%s median=%.6g runs=%d min=%.6g max=%.6g%s\n", name,
           procs, impl, unit, med, n, v[0], v[n - 1], extra);
    fflush(stdout);
}

/* utime + stime of the whole process (every thread, live or exited) in ns.
 * The kernel keeps it to the nanosecond but reports clock ticks (10 ms at
 * USER_HZ 100): a 1 s interval of a busy server reads to about 2%, and the
 * median over several intervals and rounds to well under that. -1 if the
 * process is gone. */
static int64_t proc_cpu_ns(int pid) {
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    /* comm (field 2) may hold spaces and parentheses: fields restart after the last ')' */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
               &stime) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (int64_t)((utime + stime) * (1000000000.0 / (double)hz));
}

/* VmRSS of a process in KiB, -1 if unknown. */
static long proc_rss_kib(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

static void raise_nofile(long need) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need)
        setup_fail("RLIMIT_NOFILE is %ld (hard %ld), %ld descriptors needed", (long)rl.rlim_cur,
                   (long)rl.rlim_max, need);
}

static struct sockaddr_in server_addr;

static char dial_error[128];

/* Blocking connect (loopback: done as soon as the kernel completes the
 * handshake, before the server accepts), then non-blocking for the rest.
 * -1 (and dial_error) on failure. */
static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(dial_error, sizeof dial_error, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0) {
        if (errno == EINTR)
            continue;
        snprintf(dial_error, sizeof dial_error, "connect 127.0.0.1:%d: %s",
                 ntohs(server_addr.sin_port), strerror(errno));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Closing with a reset leaves no TIME_WAIT behind on this side: a full
 * bench run opens a few hundred thousand connections from 28k ports. */
static void close_reset(int fd) {
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* ---------------------------------------------------------------- echo --- */

struct conn {
    int fd;
    uint32_t off;   /* bytes of the current message sent (< size) or, once sent, received */
    int sending;    /* 1 while the message is not fully written */
    uint32_t id;
    uint64_t seq;
};

struct target {
    const char *impl;
    int port, pid;
    char *error;            /* set once the server gave a wrong result: no more intervals */
    int ep;                 /* its own epoll set: the idle servers' connections never show up */
    struct conn *conns;
    double *rate, *cpu, *util, *self;
    uint64_t total;
};

/* size + 256 bytes; message (id, seq) starts at (id * 7 + seq) % 256, so that
 * an echo of the wrong message or of stale bytes differs from the expected one. */
static unsigned char *pattern;
static uint32_t msg_size;

/* A wrong result from one server ends that server's measurement only: the
 * others' intervals go on and are reported; the exit status is 1 at the end. */
static struct target *current;
static jmp_buf current_fail;

static void target_fail(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    current->error = strdup(msg);
    fprintf(stderr, "loadgen: %s: %s\n", current->impl, msg);
    longjmp(current_fail, 1);
}

static const unsigned char *message(const struct conn *c) {
    return pattern + ((c->id * 7u + c->seq) & 255u);
}

static void set_interest(int ep, struct conn *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        die("epoll_ctl: %s", strerror(errno));
}

/* Writes what is left of the current message; 1 once it is all out. */
static int push(int ep, struct conn *c) {
    const unsigned char *m = message(c);
    while (c->off < msg_size) {
        ssize_t w = send(c->fd, m + c->off, msg_size - c->off, MSG_NOSIGNAL);
        if (w > 0) {
            c->off += (uint32_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->sending)
                set_interest(ep, c, EPOLLOUT);
            c->sending = 1;
            return 0;
        }
        target_fail("connection %u: send: %s", c->id, w < 0 ? strerror(errno) : "wrote 0");
    }
    if (c->sending)
        set_interest(ep, c, EPOLLIN);
    c->sending = 0;
    c->off = 0;
    return 1;
}

/* Reads what has come back and checks it; 1 once the whole echo of the
 * current message is in (then the next message is the caller's to send). */
static int pull(struct conn *c, unsigned char *buf) {
    for (;;) {
        ssize_t r = recv(c->fd, buf, msg_size - c->off, 0);
        if (r > 0) {
            if (memcmp(buf, message(c) + c->off, (size_t)r) != 0)
                target_fail("connection %u, message %llu: echoed bytes %u..%u differ from "
                            "those sent",
                            c->id, (unsigned long long)c->seq, c->off, c->off + (uint32_t)r - 1);
            c->off += (uint32_t)r;
            if (c->off < msg_size)
                continue;
            c->seq++;
            c->off = 0;
            return 1;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        target_fail("connection %u, message %llu: the server %s after %u of %u bytes", c->id,
            (unsigned long long)c->seq, r == 0 ? "closed the connection" : strerror(errno), c->off,
            msg_size);
    }
}

static double cpu_seconds(const struct rusage *a, const struct rusage *b) {
    return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec + b->ru_stime.tv_sec -
                    a->ru_stime.tv_sec) +
           (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec + b->ru_stime.tv_usec -
                    a->ru_stime.tv_usec) / 1e6;
}

/* One interval of load on one server: every connection ping-pongs for
 * `secs`, then sends nothing new and waits for its last echo, so that the
 * server is idle again when its CPU time is read and the next server's
 * interval starts. Records into slot k (k < 0: warm-up, not recorded). */
static void interval(struct target *t, int nconns, double secs, int k, unsigned char *rbuf) {
    enum { MAXEV = 256 };
    struct epoll_event evs[MAXEV];
    if (t->error)
        return;
    current = t;
    if (setjmp(current_fail)) {
        for (int i = 0; i < nconns; i++)
            if (t->conns[i].fd >= 0)
                close_reset(t->conns[i].fd);
        for (int i = 0; i < nconns; i++)
            t->conns[i].fd = -1;
        return;
    }
    int64_t cpu0 = t->pid > 0 ? proc_cpu_ns(t->pid) : 0;
    if (t->pid > 0 && cpu0 < 0)
        target_fail("server process %d is gone", t->pid);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = now_s(), t_end = t0 + secs;
    uint64_t rt = 0;
    int inflight = nconns, loading = 1;
    for (int i = 0; i < nconns; i++)
        push(t->ep, &t->conns[i]);
    while (inflight > 0) {
        int timeout = -1;
        if (loading) {
            double left = t_end - now_s();
            timeout = left <= 0 ? 0 : (int)(left * 1000) + 1;
        }
        int n = epoll_wait(t->ep, evs, MAXEV, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->sending) {
                if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                    push(t->ep, c);
            } else if (pull(c, rbuf)) {
                rt++;
                if (loading)
                    push(t->ep, c);
                else
                    inflight--;
            }
        }
        if (loading && now_s() >= t_end)
            loading = 0;
    }
    double dt = now_s() - t0;
    int64_t cpu1 = t->pid > 0 ? proc_cpu_ns(t->pid) : 0;
    if (t->pid > 0 && cpu1 < 0)
        target_fail("server process %d is gone", t->pid);
    getrusage(RUSAGE_SELF, &ru1);
    if (k < 0)
        return;
    t->rate[k] = (double)rt / dt;
    t->cpu[k] = rt ? (double)(cpu1 - cpu0) / (double)rt : 0;
    t->util[k] = (double)(cpu1 - cpu0) / 1e9 / dt;
    t->self[k] = cpu_seconds(&ru0, &ru1) / dt;
    t->total += rt;
    fprintf(stderr, "loadgen: %s size=%u interval %d: %llu round trips in %.3f s = %.0f/s", t->impl,
            msg_size, k + 1, (unsigned long long)rt, dt, t->rate[k]);
    if (t->pid > 0)
        fprintf(stderr, ", server CPU %.0f ns/roundtrip (%.0f%% busy)", t->cpu[k],
                100 * t->util[k]);
    fprintf(stderr, ", loadgen %.0f%% busy\n", 100 * t->self[k]);
}

static int run_echo(struct target *ts, int nt, int nconns, uint32_t size, double warmup,
                    double secs, int runs, int procs) {
    raise_nofile((long)nt * nconns + 16);
    msg_size = size;
    pattern = malloc(size + 256);
    unsigned char *rbuf = malloc(size);
    if (!pattern || !rbuf)
        setup_fail("out of memory");
    uint64_t z = 0x9E3779B97F4A7C15ull;
    for (uint32_t i = 0; i < size + 256; i++) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        pattern[i] = (unsigned char)(z >> 24);
    }
    for (int j = 0; j < nt; j++) {
        struct target *t = &ts[j];
        server_addr.sin_port = htons((uint16_t)t->port);
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        t->conns = calloc((size_t)nconns, sizeof *t->conns);
        t->rate = calloc((size_t)runs, sizeof(double));
        t->cpu = calloc((size_t)runs, sizeof(double));
        t->util = calloc((size_t)runs, sizeof(double));
        t->self = calloc((size_t)runs, sizeof(double));
        for (int i = 0; i < nconns; i++)
            t->conns[i].fd = -1;
        for (int i = 0; i < nconns && !t->error; i++) {
            t->conns[i].fd = dial();
            t->conns[i].id = (uint32_t)i;
            if (t->conns[i].fd < 0) {
                t->error = strdup(dial_error);
                fprintf(stderr, "loadgen: %s: %s\n", t->impl, dial_error);
                break;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &t->conns[i]};
            if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->conns[i].fd, &ev) != 0)
                die("epoll_ctl: %s", strerror(errno));
        }
    }
    /* Cycle -1 warms every server up; then each cycle gives every server one
     * interval, starting one server further on each time, so that no server
     * always follows the same one. */
    for (int k = -1; k < runs; k++)
        for (int j = 0; j < nt; j++) {
            int first = k < 0 ? 0 : k % nt;
            interval(&ts[(first + j) % nt], nconns, k < 0 ? warmup : secs, k, rbuf);
        }

    int failed = 0;
    for (int j = 0; j < nt; j++) {
        struct target *t = &ts[j];
        for (int i = 0; i < nconns; i++)
            if (t->conns[i].fd >= 0)
                close_reset(t->conns[i].fd);
        if (t->error) {
            fprintf(stderr, "FAIL loadgen: %s: %s\n", t->impl, t->error);
            failed = 1;
            continue;
        }
        char extra[256], name[64];
        snprintf(extra, sizeof extra,
                 " conns=%d size=%u secs=%g roundtrips=%llu server_busy=%.2f loadgen_busy=%.2f"
                 " targets=%d",
                 nconns, size, secs, (unsigned long long)t->total, median(t->util, runs),
                 median(t->self, runs), nt);
        if (t->pid > 0) {
            snprintf(name, sizeof name, "echo_cpu_%u", size);
            bench_line(name, procs, t->impl, "ns/roundtrip", t->cpu, runs, extra);
        }
        snprintf(name, sizeof name, "echo_rate_%u", size);
        bench_line(name, procs, t->impl, "roundtrips/s", t->rate, runs, extra);
    }
    return failed;
}

/* ---------------------------------------------------------------- idle --- */

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int run_idle(long n, int pid, const char *impl, int procs, double settle, int window) {
    raise_nofile(n + 16);
    long rss0 = pid > 0 ? proc_rss_kib(pid) : -1;
    if (pid > 0 && rss0 < 0)
        setup_fail("no VmRSS for process %d", pid);
    int *fds = malloc((size_t)n * sizeof *fds);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    enum { MAXEV = 256 };
    struct epoll_event evs[MAXEV];
    long opened = 0, echoed = 0;
    double t0 = now_s();
    while (echoed < n) {
        while (opened < n && opened - echoed < window) {
            int fd = dial();
            if (fd < 0)
                setup_fail("%s (after %ld connections)", dial_error, opened);
            unsigned char b = (unsigned char)opened;
            if (send(fd, &b, 1, MSG_NOSIGNAL) != 1)
                die("connection %ld: send: %s", opened, strerror(errno));
            struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)opened};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
                die("epoll_ctl: %s", strerror(errno));
            fds[opened++] = fd;
        }
        int k = epoll_wait(ep, evs, MAXEV, 10000);
        if (k < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        if (k == 0)
            fprintf(stderr,
                    "loadgen: %s: no echo for 10 s (%ld of %ld connections echoed), "
                    "still waiting\n",
                    impl, echoed, n);
        for (int i = 0; i < k; i++) {
            long id = (long)evs[i].data.u64;
            unsigned char b;
            ssize_t r = recv(fds[id], &b, 1, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r != 1)
                die("connection %ld: the server %s before echoing", id,
                    r == 0 ? "closed the connection" : strerror(errno));
            if (b != (unsigned char)id)
                die("connection %ld: echoed byte 0x%02x, sent 0x%02x", id, b, (unsigned char)id);
            /* From here on the connection is idle: out of the epoll set. */
            epoll_ctl(ep, EPOLL_CTL_DEL, fds[id], NULL);
            echoed++;
        }
    }
    double t_open = now_s() - t0;
    fprintf(stderr, "loadgen: %s: %ld connections opened and echoed in %.2f s\n", impl, n, t_open);
    if (pid > 0) {
        struct timespec ts = {(time_t)settle, (long)((settle - (time_t)settle) * 1e9)};
        nanosleep(&ts, NULL);
        long rss1 = proc_rss_kib(pid);
        if (rss1 < 0)
            die("server process %d is gone", pid);
        double per = (double)(rss1 - rss0) / (double)n;
        char extra[160];
        snprintf(extra, sizeof extra, " conns=%ld rss_before_kib=%ld rss_after_kib=%ld", n, rss0,
                 rss1);
        bench_line("idle_rss", procs, impl, "KB/conn", &per, 1, extra);
    }
    printf("READY conns=%ld\n", n);
    fflush(stdout);

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    char sink[256];
    while (!stop) {
        int r = poll(&pfd, 1, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
            break;
        if (pfd.revents & POLLIN) {
            ssize_t k = read(0, sink, sizeof sink);
            if (k <= 0)
                break;
        }
    }
    for (long i = 0; i < n; i++)
        close_reset(fds[i]);
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen echo (-port P [-pid SERVER_PID] [-impl NAME]\n"
            "                     | -target NAME:PORT:PID ...)\n"
            "                    [-c 100] [-size 64] [-warmup 0.5] [-secs 1] [-runs 8] [-procs N]\n"
            "       loadgen idle -port P [-n 10000] [-pid SERVER_PID] [-impl NAME] [-procs N]\n"
            "                    [-settle 0.5] [-window 200]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2)
        usage();
    const char *mode = argv[1];
    int port = 0, conns = 100, runs = 8, pid = 0, procs = 1, window = 200, nt = 0;
    long n = 10000, size = 64;
    double warmup = 0.5, secs = 1, settle = 0.5;
    const char *impl = "unknown";
    struct target ts[16];
    memset(ts, 0, sizeof ts);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "-port")) port = atoi(v);
        else if (!strcmp(a, "-c")) conns = atoi(v);
        else if (!strcmp(a, "-size")) size = atol(v);
        else if (!strcmp(a, "-warmup")) warmup = atof(v);
        else if (!strcmp(a, "-secs")) secs = atof(v);
        else if (!strcmp(a, "-runs")) runs = atoi(v);
        else if (!strcmp(a, "-pid")) pid = atoi(v);
        else if (!strcmp(a, "-impl")) impl = v;
        else if (!strcmp(a, "-procs")) procs = atoi(v);
        else if (!strcmp(a, "-n")) n = atol(v);
        else if (!strcmp(a, "-settle")) settle = atof(v);
        else if (!strcmp(a, "-window")) window = atoi(v);
        else if (!strcmp(a, "-target")) {
            /* NAME:PORT:PID */
            const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c1 || !c2 || c1 == v || nt == (int)(sizeof ts / sizeof ts[0]))
                usage();
            ts[nt].impl = strndup(v, (size_t)(c1 - v));
            ts[nt].port = atoi(c1 + 1);
            ts[nt].pid = atoi(c2 + 1);
            if (ts[nt].port <= 0 || ts[nt].port > 65535)
                usage();
            nt++;
        } else usage();
    }
    /* A message is written whole before its echo is read: beyond what the
     * two sockets' buffers hold, client and server would both block writing. */
    if (conns < 1 || size < 1 || size > 65536 || runs < 1 || secs <= 0 || warmup < 0 || n < 1 ||
        window < 1 || settle < 0)
        usage();
    signal(SIGPIPE, SIG_IGN);
    server_addr.sin_family = AF_INET;
    server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (nt == 0) {
        if (port <= 0 || port > 65535)
            usage();
        ts[0] = (struct target){.impl = impl, .port = port, .pid = pid};
        nt = 1;
    }
    if (!strcmp(mode, "echo"))
        return run_echo(ts, nt, conns, (uint32_t)size, warmup, secs, runs, procs);
    if (!strcmp(mode, "idle") && nt == 1) {
        server_addr.sin_port = htons((uint16_t)ts[0].port);
        return run_idle(n, ts[0].pid, ts[0].impl, procs, settle, window);
    }
    usage();
}
