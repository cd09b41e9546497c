// test_cpp_io: the C++17 header's I/O wrappers (include/gort.hpp), with
// exact results, at GORT_MAXPROCS=1 and 2.
//
//  - Before init: the fd calls throw gort::error(GORT_ENOTINIT) instead of
//    returning it; gort::fd and gort::close work (gort_close does);
//    syscall_guard and blocking() do nothing but run the call.
//  - gort::fd: closes on destruction (fcntl(F_GETFD) says EBADF afterwards,
//    gort_stats.io_fds drops back); a moved-from fd closes nothing, even
//    after its old number was reused; move assignment closes the target's
//    fd; release/reset/close; a negative value owns nothing but keeps the
//    error; destroying it wakes a goroutine parked on it with GORT_ECLOSED.
//  - read/write (also std::string_view)/readv/writev/recv/send/recvfrom/
//    sendto/accept/connect: the bytes, and errors as return values
//    (-EPIPE, -EBADF, -ECONNREFUSED, GORT_ETIMEDOUT), not exceptions.
//  - Deadlines with std::chrono: steady_clock and gort_nanotime are one
//    clock; a time_point deadline expires (and not before it); no_deadline
//    clears; a past time_point, a time_point before the clock's epoch and
//    a negative duration all fail a read at once although data waits (not
//    GORT_EINVAL); hours::max() is no overflow (the read gets its data); a
//    deadline set while a goroutine waits ends its wait; a write deadline
//    stops a 4 MiB write part way; a regular file's deadline is -ENOTSUP.
//  - fd_wait with and without a timeout (a negative timeout only checks).
//  - syscall_guard: entersyscall on construction (a nested one throws
//    GORT_EPERM and leaves the outer one in place), exitsyscall on
//    destruction, exactly once; at 1 P a goroutine blocked in a plain
//    read(2) inside blocking() loses its P, so the goroutine that writes
//    the byte it waits for can run (a syscall hand-off is counted).
//  - blocking(): returns values and references, forwards move-only
//    arguments, passes exceptions through with the guard released.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check.h"

#include <gort.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

template <class F>
int thrown_code(F f) {
    try {
        f();
    } catch (const gort::error &e) {
        return e.code();
    }
    return 0;
}

bool is_open(int n) { return fcntl(n, F_GETFD) != -1; }
// Never inlined: errno is thread-local, the goroutine migrates at gort
// calls, and inlined into a caller that made one, the compiler may reuse
// errno's address computed on the previous thread (__errno_location is
// declared const); this failed at GORT_MAXPROCS=2 when inlined.
[[gnu::noinline]] bool is_closed(int n) {
    errno = 0;
    return fcntl(n, F_GETFD) == -1 && errno == EBADF;
}

struct gort_stats stats() {
    struct gort_stats st;
    CHECK_OK(gort_stats(&st));
    return st;
}

void wait_for_waiters(int64_t n) {
    while (stats().io_waiting != n)
        gort::sleep_for(100us);
}

void pair(int sv[2]) { CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0); }

int64_t ns(steady::time_point tp) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
}

// A goroutine that runs f() and hands back its result.
template <class F>
gort::chan<int64_t> start(F f) {
    gort::chan<int64_t> done(1);
    gort::go([f, done] { done.send(static_cast<int64_t>(f())); });
    return done;
}

void before_init() {
    char b = 0;
    CHECK_EQ(thrown_code([&] { gort::read(0, &b, 1); }), GORT_ENOTINIT);
    CHECK_EQ(thrown_code([&] { gort::write(1, "x", 1); }), GORT_ENOTINIT);
    CHECK_EQ(thrown_code([] { gort::fd_wait(0, GORT_POLLIN); }), GORT_ENOTINIT);
    CHECK_EQ(thrown_code([] { gort::fd_wait(0, GORT_POLLIN, 1ms); }), GORT_ENOTINIT);
    CHECK_EQ(thrown_code([] { gort::set_deadline(0, steady::now() + 1s); }), GORT_ENOTINIT);
    CHECK_EQ(thrown_code([] { gort::set_read_deadline(0, 1s); }), GORT_ENOTINIT);
    CHECK_EQ(thrown_code([] { gort::accept(0); }), GORT_ENOTINIT);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    {
        gort::fd r(p[0]), w(p[1]);
        CHECK(is_open(p[0]) && is_open(p[1]));
    }
    CHECK(is_closed(p[0]));
    CHECK(is_closed(p[1]));
    CHECK_EQ(gort::close(-1), -EBADF);
    {
        gort::syscall_guard g; // no goroutine: nothing to enter
        CHECK_EQ(gort_entersyscall(), GORT_OK);
    }
    CHECK_EQ(gort::blocking([](int x) { return x + 1; }, 41), 42);
    CHECK_EQ(gort_exitsyscall(), GORT_OK);
}

void fd_ownership() {
    int64_t base = stats().io_fds;
    gort::fd none;
    CHECK(!none);
    CHECK_EQ(none.get(), -1);
    CHECK_EQ(none.close(), -EBADF);

    int sv[2];
    pair(sv);
    {
        gort::fd a(sv[0]), b(sv[1]);
        CHECK_EQ(gort::write(b.get(), "x", 1), 1);
        char c;
        CHECK_EQ(gort::read(a.get(), &c, 1), 1);
        CHECK_EQ(stats().io_fds, base + 2);
    }
    CHECK(is_closed(sv[0]));
    CHECK(is_closed(sv[1]));
    CHECK_EQ(stats().io_fds, base);

    // Moved-from objects must not close the number they once held: by the
    // time they are destroyed it may belong to someone else.
    pair(sv);
    int reused;
    {
        gort::fd a(sv[0]);
        gort::fd b(std::move(a));
        CHECK(!a);
        CHECK_EQ(a.get(), -1);
        CHECK_EQ(b.get(), sv[0]);
        {
            gort::fd c(std::move(b));
            CHECK_EQ(b.get(), -1);
        }
        CHECK(is_closed(sv[0]));
        reused = dup(sv[1]); // the lowest free number: sv[0]'s, most likely
        CHECK(reused >= 0);
    }
    CHECK(is_open(reused));
    CHECK_EQ(gort::close(reused), 0);

    // Move assignment closes what the target owned; self-assignment keeps it.
    {
        gort::fd x(sv[1]);
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        gort::fd y(p[0]);
        x = std::move(y);
        CHECK(is_closed(sv[1]));
        CHECK_EQ(x.get(), p[0]);
        CHECK_EQ(y.get(), -1);
        gort::fd &xr = x;
        x = std::move(xr);
        CHECK_EQ(x.get(), p[0]);
        CHECK(is_open(p[0]));

        // release: ours to close now.
        int n = x.release();
        CHECK_EQ(n, p[0]);
        CHECK_EQ(x.get(), -1);
        x.reset(p[1]);
        CHECK(is_open(p[0]));
        CHECK_EQ(gort::close(n), 0);

        // reset to the same number must not close it; reset() does.
        x.reset(p[1]);
        CHECK(is_open(p[1]));
        x.reset();
        CHECK(is_closed(p[1]));
        CHECK_EQ(x.get(), -1);
    }

    // close(): the result of gort_close, then nothing owned.
    pair(sv);
    {
        gort::fd a(sv[0]);
        CHECK_EQ(a.close(), 0);
        CHECK_EQ(a.get(), -1);
        CHECK(is_closed(sv[0]));
        CHECK_EQ(a.close(), -EBADF);
    }
    CHECK_EQ(gort::close(sv[1]), 0);

    // An error held in place of an fd.
    {
        gort::fd e(-ECONNREFUSED);
        CHECK(!e);
        CHECK_EQ(e.get(), -ECONNREFUSED);
    }

    // Destroying the owner wakes a goroutine parked on the fd.
    pair(sv);
    {
        auto owner = std::make_unique<gort::fd>(sv[0]);
        int fd0 = sv[0];
        auto reader = start([fd0] {
            char b[4];
            return gort::read(fd0, b, sizeof b);
        });
        wait_for_waiters(1);
        owner.reset();
        CHECK_EQ(*reader.recv(), GORT_ECLOSED);
    }
    CHECK(is_closed(sv[0]));
    CHECK_EQ(gort::close(sv[1]), 0);
    CHECK_EQ(stats().io_fds, base);
    printf("fd: ok\n");
}

void read_write() {
    int sv[2];
    pair(sv);
    gort::fd a(sv[0]), b(sv[1]);
    char buf[16] = {};
    CHECK_EQ(gort::write(b.get(), std::string_view("hello")), 5);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(gort::write(b.get(), std::string("")), 0);

    CHECK_EQ(gort::send(b.get(), "xy", 2), 2);
    CHECK_EQ(gort::recv(a.get(), buf, sizeof buf, MSG_PEEK), 2);
    CHECK_EQ(gort::recv(a.get(), buf, sizeof buf), 2);
    CHECK(memcmp(buf, "xy", 2) == 0);

    struct iovec out[3] = {{(void *)"abc", 3}, {(void *)"", 0}, {(void *)"defgh", 5}};
    CHECK_EQ(gort::writev(b.get(), out, 3), 8);
    char x[4], y[4];
    struct iovec in[2] = {{x, 4}, {y, 4}};
    CHECK_EQ(gort::readv(a.get(), in, 2), 8);
    CHECK(memcmp(x, "abcd", 4) == 0 && memcmp(y, "efgh", 4) == 0);

    // Errors are values: the program decides what a dead peer means.
    CHECK_EQ(b.close(), 0);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), 0);
    CHECK_EQ(gort::write(a.get(), "x", 1), -EPIPE);
    CHECK_EQ(gort::send(a.get(), "x", 1), -EPIPE);
    CHECK_EQ(gort::read(-1, buf, 1), -EBADF);
    CHECK_EQ(gort::readv(a.get(), nullptr, -1), GORT_EINVAL);

    // UDP: the datagram and its sender.
    gort::fd u1(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)), u2(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    CHECK(u1 && u2);
    sockaddr_in s1{}, s2{};
    s1.sin_family = s2.sin_family = AF_INET;
    s1.sin_addr.s_addr = s2.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(u1.get(), (sockaddr *)&s1, sizeof s1) == 0);
    CHECK(bind(u2.get(), (sockaddr *)&s2, sizeof s2) == 0);
    socklen_t l = sizeof s1;
    CHECK(getsockname(u1.get(), (sockaddr *)&s1, &l) == 0);
    l = sizeof s2;
    CHECK(getsockname(u2.get(), (sockaddr *)&s2, &l) == 0);
    auto rx = start([fd = u2.get()] {
        char d[8];
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        ssize_t n = gort::recvfrom(fd, d, sizeof d, 0, (sockaddr *)&from, &fl);
        return n == 3 && memcmp(d, "dgm", 3) == 0 ? int64_t(ntohs(from.sin_port)) : int64_t(-1000000 + n);
    });
    CHECK_EQ(gort::sendto(u1.get(), "dgm", 3, 0, (sockaddr *)&s2, sizeof s2), 3);
    CHECK_EQ(*rx.recv(), ntohs(s1.sin_port));

    // TCP: accept reports the peer; the new fd is non-blocking and
    // close-on-exec, as gort_accept promises.
    int port;
    gort::fd lst(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(bind(lst.get(), (sockaddr *)&sa, sizeof sa) == 0);
        CHECK(listen(lst.get(), 16) == 0);
        socklen_t sl = sizeof sa;
        CHECK(getsockname(lst.get(), (sockaddr *)&sa, &sl) == 0);
        port = ntohs(sa.sin_port);
    }
    CHECK_EQ(gort::set_read_deadline(lst.get(), 5ms), 0);
    CHECK_EQ(gort::accept(lst.get()), GORT_ETIMEDOUT);
    CHECK_EQ(gort::set_read_deadline(lst.get(), gort::no_deadline), 0);
    auto dialer = start([port] {
        gort::fd c(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(uint16_t(port));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (gort::connect(c.get(), (sockaddr *)&sa, sizeof sa) != 0 || gort::write(c.get(), "ping") != 4)
            return int64_t(-1);
        socklen_t sl = sizeof sa;
        getsockname(c.get(), (sockaddr *)&sa, &sl);
        char e;
        if (gort::read(c.get(), &e, 1) != 0) // waits for the server's close
            return int64_t(-2);
        return int64_t(ntohs(sa.sin_port));
    });
    sockaddr_in peer{};
    socklen_t pl = sizeof peer;
    gort::fd conn(gort::accept(lst.get(), (sockaddr *)&peer, &pl));
    CHECK(conn);
    CHECK(fcntl(conn.get(), F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(conn.get(), F_GETFD) & FD_CLOEXEC);
    CHECK_EQ(gort::read(conn.get(), buf, 4), 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    CHECK_EQ(conn.close(), 0);
    CHECK_EQ(*dialer.recv(), ntohs(peer.sin_port));

    CHECK_EQ(lst.close(), 0); // now nobody listens on the port
    gort::fd c(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(uint16_t(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(gort::connect(c.get(), (sockaddr *)&sa, sizeof sa), -ECONNREFUSED);
    printf("read/write: ok\n");
}

void deadlines() {
    // The conversion relies on steady_clock being gort's clock.
    auto t1 = steady::now();
    int64_t g = gort_nanotime();
    auto t2 = steady::now();
    CHECK(ns(t1) <= g && g <= ns(t2));

    int sv[2];
    pair(sv);
    gort::fd a(sv[0]), b(sv[1]);
    char buf[8];

    auto tp = steady::now() + 20ms;
    CHECK_EQ(gort::set_read_deadline(a.get(), tp), 0);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), GORT_ETIMEDOUT);
    CHECK(steady::now() >= tp);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), GORT_ETIMEDOUT); // still past
    CHECK_EQ(gort::set_read_deadline(a.get(), gort::no_deadline), 0);
    CHECK_EQ(gort::write(b.get(), "one"), 3);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), 3);

    // Past deadlines fail a read at once although data waits (Go's rule);
    // none of these may turn into "no deadline" or GORT_EINVAL.
    const steady::time_point pasts[] = {steady::now() - 1s, steady::time_point(steady::duration(-5)),
                                        steady::time_point(steady::duration(1))};
    CHECK_EQ(gort::write(b.get(), "two"), 3);
    for (auto past : pasts) {
        CHECK_EQ(gort::set_deadline(a.get(), past), 0);
        CHECK_EQ(gort::read(a.get(), buf, sizeof buf), GORT_ETIMEDOUT);
    }
    CHECK_EQ(gort::set_read_deadline(a.get(), -1s), 0);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), GORT_ETIMEDOUT);
    CHECK_EQ(gort::set_read_deadline(a.get(), 0s), 0);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), GORT_ETIMEDOUT);
    // Far deadlines: no overflow into the past.
    CHECK_EQ(gort::set_read_deadline(a.get(), std::chrono::hours::max()), 0);
    CHECK_EQ(gort::read(a.get(), buf, 1), 1);
    CHECK_EQ(gort::set_deadline(a.get(), steady::time_point::max()), 0);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), 2);
    CHECK(memcmp(buf, "wo", 2) == 0);

    // A duration counts from the call.
    auto t0 = steady::now();
    CHECK_EQ(gort::set_read_deadline(a.get(), 20ms), 0);
    CHECK_EQ(gort::read(a.get(), buf, sizeof buf), GORT_ETIMEDOUT);
    CHECK(steady::now() - t0 >= 20ms);

    // Set while a goroutine waits: its wait ends.
    CHECK_EQ(gort::set_deadline(a.get(), gort::no_deadline), 0);
    auto reader = start([fd = a.get()] {
        char b2[4];
        return gort::read(fd, b2, sizeof b2);
    });
    wait_for_waiters(1);
    CHECK_EQ(gort::set_read_deadline(a.get(), steady::now()), 0);
    CHECK_EQ(*reader.recv(), GORT_ETIMEDOUT);
    CHECK_EQ(gort::set_read_deadline(a.get(), gort::no_deadline), 0);

    // A write deadline on a socket nobody reads.
    static std::vector<char> big(4 << 20, 'b');
    CHECK_EQ(gort::set_write_deadline(b.get(), 30ms), 0);
    ssize_t n = gort::write(b.get(), big.data(), big.size());
    CHECK(n > 0 && n < ssize_t(big.size()));
    CHECK_EQ(gort::write(b.get(), big.data(), big.size()), GORT_ETIMEDOUT);

    // A regular file: an error to act on, not an exception.
    char path[] = "/tmp/gort-cpp-io-XXXXXX";
    gort::fd f(mkstemp(path));
    CHECK(f);
    CHECK(unlink(path) == 0);
    CHECK_EQ(gort::set_deadline(f.get(), 1s), -ENOTSUP);
    CHECK_EQ(gort::set_write_deadline(f.get(), steady::now() + 1s), -ENOTSUP);
    printf("deadlines: ok\n");
}

void fd_waits() {
    int sv[2];
    pair(sv);
    gort::fd a(sv[0]), b(sv[1]);
    CHECK_EQ(gort::fd_wait(a.get(), GORT_POLLOUT), GORT_POLLOUT);
    CHECK_EQ(gort::fd_wait(a.get(), GORT_POLLIN, 0ms), GORT_ETIMEDOUT);
    CHECK_EQ(gort::fd_wait(a.get(), GORT_POLLIN, -5ms), GORT_ETIMEDOUT); // checks, never waits forever
    auto t0 = steady::now();
    CHECK_EQ(gort::fd_wait(a.get(), GORT_POLLIN, 10ms), GORT_ETIMEDOUT);
    CHECK(steady::now() - t0 >= 10ms);

    auto waiter = start([fd = a.get()] { return gort::fd_wait(fd, GORT_POLLIN); });
    wait_for_waiters(1);
    CHECK_EQ(gort::write(b.get(), "!"), 1);
    CHECK_EQ(*waiter.recv(), GORT_POLLIN);
    CHECK_EQ(gort::fd_wait(a.get(), GORT_POLLIN | GORT_POLLOUT, 1s), GORT_POLLIN | GORT_POLLOUT);
    char c;
    CHECK_EQ(gort::read(a.get(), &c, 1), 1);

    // The fd's deadline ends a wait with no timeout of its own.
    CHECK_EQ(gort::set_read_deadline(a.get(), 10ms), 0);
    CHECK_EQ(gort::fd_wait(a.get(), GORT_POLLIN), GORT_ETIMEDOUT);
    CHECK_EQ(gort::set_read_deadline(a.get(), gort::no_deadline), 0);

    CHECK_EQ(gort::fd_wait(a.get(), 0), GORT_EINVAL);
    CHECK_EQ(gort::fd_wait(-1, GORT_POLLIN), -EBADF);

    auto closed = start([fd = a.get()] { return gort::fd_wait(fd, GORT_POLLIN); });
    wait_for_waiters(1);
    CHECK_EQ(a.close(), 0);
    CHECK_EQ(*closed.recv(), GORT_ECLOSED);
    printf("fd_wait: ok\n");
}

void syscall_guards() {
    {
        gort::syscall_guard g;
        CHECK_EQ(gort_entersyscall(), GORT_EPERM); // inside already
        CHECK_EQ(thrown_code([] { gort::syscall_guard nested; }), GORT_EPERM);
        CHECK_EQ(gort_entersyscall(), GORT_EPERM); // the outer one still holds
    }
    CHECK_EQ(gort_exitsyscall(), GORT_EPERM); // the guard exited, once
    CHECK_EQ(gort_entersyscall(), GORT_OK);
    CHECK_EQ(gort_exitsyscall(), GORT_OK);

    // A plain blocking read(2) in blocking(); the byte comes from a
    // goroutine that at 1 P can only run once sysmon has handed the P to
    // another thread.
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0); // blocking, never seen by gort's I/O
    int64_t handoffs0 = stats().handoffs_syscall;
    std::atomic<bool> wrote{false};
    gort::go([&] {
        wrote = true;
        CHECK_EQ(::write(p[1], "z", 1), 1);
    });
    char c = 0;
    ssize_t n = gort::blocking([&] { return ::read(p[0], &c, 1); });
    CHECK_EQ(n, 1);
    CHECK_EQ(c, 'z');
    CHECK(wrote);
    if (gort_gomaxprocs() == 1)
        CHECK(stats().handoffs_syscall >= handoffs0 + 1);
    CHECK_EQ(::close(p[0]), 0);
    CHECK_EQ(::close(p[1]), 0);
    CHECK_EQ(gort_exitsyscall(), GORT_EPERM);
    printf("syscall_guard: ok (%lld syscall hand-offs)\n", (long long)(stats().handoffs_syscall - handoffs0));
}

void blockings() {
    CHECK_EQ(gort::blocking([](int x, int y) { return x * y; }, 6, 7), 42);
    CHECK_EQ(gort::blocking([] { return gort_entersyscall(); }), GORT_EPERM); // f runs inside the pair
    int v = 1;
    int &r = gort::blocking([&]() -> int & { return v; });
    CHECK(&r == &v);
    bool ran = false;
    gort::blocking([&] { ran = true; });
    CHECK(ran);
    CHECK_EQ(gort::blocking([](std::unique_ptr<int> q) { return *q; }, std::make_unique<int>(5)), 5);

    bool caught = false;
    try {
        gort::blocking([] { throw std::runtime_error("from f"); });
    } catch (const std::runtime_error &e) {
        caught = !strcmp(e.what(), "from f");
    }
    CHECK(caught);
    CHECK_EQ(gort_exitsyscall(), GORT_EPERM); // released on the way out

    CHECK_EQ(thrown_code([] { gort::blocking([] { gort::blocking([] {}); }); }), GORT_EPERM);
    CHECK_EQ(gort_exitsyscall(), GORT_EPERM);
    printf("blocking: ok\n");
}

void on_alarm(int) {
    static const char msg[] = "hang: test_cpp_io did not finish in 120 s\n";
    ssize_t r = ::write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(1);
}

void main_g(void *) {
    signal(SIGALRM, on_alarm);
    alarm(120);
    struct gort_stats st0 = stats();
    fd_ownership();
    read_write();
    deadlines();
    fd_waits();
    syscall_guards();
    blockings();
    struct gort_stats st1 = stats();
    CHECK_EQ(st1.io_fds, st0.io_fds);
    CHECK_EQ(st1.io_waiting, 0);
    printf("test_cpp_io: ok at GORT_MAXPROCS=%d\n", gort_gomaxprocs());
}

} // namespace

int main(int argc, char **argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc > 1 && !strcmp(argv[1], "run")) {
        before_init();
        return check_run_main(argc, argv, main_g);
    }
    return check_run_procs(argc, argv, main_g, "1,2");
}
