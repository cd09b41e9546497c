/* test_netpoll_echo: 10,000 concurrent loopback connections, one goroutine
 * per connection on both sides, every byte echoed exactly.
 *
 * The server is this process (program mode); the clients run in a second
 * process (this executable again, with "client" arguments), so that each
 * side needs ~10,000 fds: both raise RLIMIT_NOFILE themselves, within the
 * hard limit. Run at GORT_MAXPROCS=1 and 2.
 *
 * Server: gort_accept in a loop; each connection gets a goroutine that
 * echoes with gort_read/gort_write until EOF, then gort_close. It counts
 * live connections and records the maximum.
 * Client: N goroutines, each connects (gort_connect), sends a message of
 * 1..1000 bytes in pieces, reads the echo back and compares it byte by
 * byte, then waits until all N have been echoed (so all N connections are
 * open at once), shuts down its side and reads EOF (gort_read returns 0).
 * The client exits 0 only if every byte came back; the server waits for it
 * with waitpid inside gort_entersyscall/gort_exitsyscall.
 *
 * Asserted: the client process exited 0 after N echoes; the server saw N
 * connections, all N open at the same time, and echoed exactly the bytes
 * the clients sent (sum of the message lengths); gort_stats shows no fd
 * left registered and nobody waiting.
 * Built with -fsanitize=thread: 3,000 connections (TSan's 8128 live
 * threads count goroutines).
 * ctest-timeout: 600
 */
#define _GNU_SOURCE
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>

static long nconn = 10000;
static int port;

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "hang: test_netpoll_echo did not finish in 300 s\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(1);
}

static void raise_nofile(long need) {
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if ((long)rl.rlim_cur >= need)
        return;
    rl.rlim_cur = (rlim_t)need;
    if ((long)rl.rlim_max < need) {
        rl.rlim_max = (rlim_t)need; /* needs CAP_SYS_RESOURCE */
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            return;
        CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
        fprintf(stderr, "RLIMIT_NOFILE hard limit %ld < %ld: cannot run\n", (long)rl.rlim_max, need);
        _exit(1);
    }
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

static size_t msg_len(long id) { return (size_t)(1 + (id * 7919) % 1000); }
static unsigned char msg_byte(long id, size_t i) { return (unsigned char)(id * 31 + i * 17); }

/* ---- client ---------------------------------------------------------------- */

static atomic_long echoed;
static gort_chan *all_echoed;
static gort_waitgroup client_wg;

static void client(void *arg) {
    long id = (long)(intptr_t)arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = gort_connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc != 0)
        fprintf(stderr, "client %ld: gort_connect: %d (%s)\n", id, rc, gort_strerror(rc));
    CHECK_EQ(rc, 0);
    unsigned char out[1000], in[1000];
    size_t len = msg_len(id);
    for (size_t i = 0; i < len; i++)
        out[i] = msg_byte(id, i);
    /* In up to three pieces, so the server sees partial messages. */
    size_t cut1 = len / 3, cut2 = 2 * len / 3;
    CHECK_EQ(gort_write(fd, out, cut1), (ssize_t)cut1);
    CHECK_EQ(gort_write(fd, out + cut1, cut2 - cut1), (ssize_t)(cut2 - cut1));
    CHECK_EQ(gort_write(fd, out + cut2, len - cut2), (ssize_t)(len - cut2));
    size_t got = 0;
    while (got < len) {
        ssize_t n = gort_read(fd, in + got, sizeof in - got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    CHECK_EQ(got, len);
    CHECK(memcmp(in, out, len) == 0);
    if (atomic_fetch_add(&echoed, 1) + 1 == nconn)
        CHECK_OK(gort_chan_close(all_echoed));
    /* Hold the connection until every client has its echo. */
    CHECK_EQ(gort_chan_recv(all_echoed, NULL), GORT_ECLOSED);
    CHECK(shutdown(fd, SHUT_WR) == 0);
    CHECK_EQ(gort_read(fd, in, sizeof in), 0);
    CHECK_EQ(gort_close(fd), 0);
    CHECK_OK(gort_waitgroup_done(&client_wg));
}

static void client_main(void *arg) {
    (void)arg;
    all_echoed = gort_chan_make(0, 0);
    CHECK(all_echoed != NULL);
    CHECK_OK(gort_waitgroup_add(&client_wg, nconn));
    for (long i = 0; i < nconn; i++)
        CHECK(gort_go(client, (void *)(intptr_t)i) > 0);
    CHECK_OK(gort_waitgroup_wait(&client_wg));
    CHECK_EQ(atomic_load(&echoed), nconn);
    printf("client: %ld connections echoed\n", nconn);
}

/* ---- server ---------------------------------------------------------------- */

static atomic_long live, max_live, accepted, bytes;
static gort_waitgroup server_wg;

static void serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    long now = atomic_fetch_add(&live, 1) + 1;
    for (long m = atomic_load(&max_live); now > m && !atomic_compare_exchange_weak(&max_live, &m, now);) {
    }
    char buf[512];
    ssize_t n;
    while ((n = gort_read(fd, buf, sizeof buf)) > 0) {
        CHECK_EQ(gort_write(fd, buf, (size_t)n), n);
        atomic_fetch_add(&bytes, n);
    }
    CHECK_EQ(n, 0);
    atomic_fetch_sub(&live, 1);
    CHECK_EQ(gort_close(fd), 0);
    CHECK_OK(gort_waitgroup_done(&server_wg));
}

static pid_t child;
static int child_status = -1;

static void reap(void *arg) {
    (void)arg;
    CHECK_OK(gort_entersyscall());
    pid_t r;
    while ((r = waitpid(child, &child_status, 0)) < 0 && errno == EINTR) {
    }
    CHECK_OK(gort_exitsyscall());
    CHECK_EQ(r, child);
    CHECK_OK(gort_waitgroup_done(&server_wg));
}

static char *self_argv0;

static void server_main(void *arg) {
    (void)arg;
    signal(SIGALRM, on_alarm);
    alarm(300);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(ls >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(ls, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(ls, 4096) == 0);
    socklen_t sl = sizeof sa;
    CHECK(getsockname(ls, (struct sockaddr *)&sa, &sl) == 0);
    char portbuf[16], nbuf[24];
    snprintf(portbuf, sizeof portbuf, "%d", ntohs(sa.sin_port));
    snprintf(nbuf, sizeof nbuf, "%ld", nconn);
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        execl("/proc/self/exe", self_argv0, "client", portbuf, nbuf, (char *)NULL);
        _exit(127);
    }
    CHECK_OK(gort_waitgroup_add(&server_wg, 1));
    CHECK(gort_go(reap, NULL) > 0);
    for (long i = 0; i < nconn; i++) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int fd = gort_accept(ls, (struct sockaddr *)&peer, &pl);
        if (fd < 0)
            fprintf(stderr, "gort_accept: %d (%s)\n", fd, gort_strerror(fd));
        CHECK(fd >= 0);
        CHECK_EQ(pl, sizeof peer);
        CHECK_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
        atomic_fetch_add(&accepted, 1);
        CHECK_OK(gort_waitgroup_add(&server_wg, 1));
        CHECK(gort_go(serve, (void *)(intptr_t)fd) > 0);
    }
    CHECK_OK(gort_waitgroup_wait(&server_wg));
    CHECK(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0);
    long long want = 0;
    for (long i = 0; i < nconn; i++)
        want += (long long)msg_len(i);
    CHECK_EQ(atomic_load(&accepted), nconn);
    CHECK_EQ(atomic_load(&max_live), nconn);
    CHECK_EQ(atomic_load(&bytes), want);
    CHECK_EQ(gort_close(ls), 0);
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    CHECK_EQ(st.io_fds, 0);
    CHECK_EQ(st.io_waiting, 0);
    fprintf(stderr, "server at %d P: %ld connections, all %ld open at once, %lld bytes echoed\n", gort_gomaxprocs(),
            nconn, (long)atomic_load(&max_live), (long long)atomic_load(&bytes));
}

int main(int argc, char **argv) {
    self_argv0 = argv[0];
    /* TSan, like Go's race detector, allows 8128 live threads, and counts
     * each goroutine as one: 3,000 connections keep each side below it. */
    if (check_sanitizer() && !strcmp(check_sanitizer(), "thread"))
        nconn = 3000;
    if (getenv("TEST_NETPOLL_CONNS"))
        nconn = atol(getenv("TEST_NETPOLL_CONNS"));
    if (argc > 3 && !strcmp(argv[1], "client")) {
        port = atoi(argv[2]);
        nconn = atol(argv[3]);
        raise_nofile(nconn + 64);
        CHECK_OK(gort_init(argc, argv));
        CHECK(gort_go(client_main, NULL) > 0);
        return gort_mstart();
    }
    if (argc > 1 && !strcmp(argv[1], "run"))
        raise_nofile(nconn + 64);
    return check_run_procs(argc, argv, server_main, "1,2");
}
