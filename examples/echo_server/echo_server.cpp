// echo_server: a TCP echo server with one goroutine per connection, and a
// client that checks every echoed byte, in C++ with gort.hpp.
//
//   ./echo_server-cpp                                 self-test (below)
//   ./echo_server-cpp serve PORT                      serve until killed
//   ./echo_server-cpp client HOST PORT [CONNS] [MSGS] check a server
//
// serve: listens on PORT on every interface (0: a free port), prints
// "echo_server: listening on port N" and echoes whatever each connection
// sends until it closes. Each connection is a goroutine owning a gort::fd;
// gort::read and gort::write park the goroutine, not the thread (Go's
// netpoller), and the fd is closed when the goroutine's lambda ends.
//
// client: CONNS connections at once (default 100), one goroutine each;
// each sends MSGS messages (default 100) of 1 to 16,384 bytes, a size and
// content that depend on the connection and message number, reads the echo
// back, compares every byte, then half-closes and expects end of file.
// Exits 0 only if every byte of every message came back; prints a summary.
//
// With no arguments: a server on an ephemeral loopback port in a goroutine
// and the client against it in the same process, 100 connections x 100
// messages. Prints
//   echo_server: 100 connections x 100 messages echoed (<bytes> bytes each way)
//   echo_server: server echoed <bytes> bytes over 100 connections
//   echo_server: ok
// and exits 0 only if both sides agree with the exact totals.
#include <gort.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr size_t msg_max = 16384;
// Only a dead or wedged peer takes this long: it turns a hang into an error.
constexpr auto io_timeout = 30s;

// -errno of the call just made. errno is thread-local and a goroutine can
// resume on another thread after any gort call, while the compiler may
// compute errno's address once per function (glibc declares
// __errno_location const) and reuse it after such a call: a function of
// its own, never inlined, looks the address up afresh.
[[gnu::noinline]] int neg_errno() { return -errno; }

uint64_t mix(uint64_t x) { // splitmix64: sizes that look random but repeat
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

size_t msg_len(long conn, long i) { return 1 + static_cast<size_t>(mix(uint64_t(conn) << 32 | uint64_t(i)) % msg_max); }

// Every byte depends on the connection, the message and its offset, so a
// byte from another connection, another message or the wrong place fails
// the comparison.
unsigned char msg_byte(long conn, long i, size_t j) {
    return static_cast<unsigned char>(conn * 31 + i * 7 + long(j) * 13 + long(j >> 8));
}

long long total_bytes(long conns, long msgs) {
    long long t = 0;
    for (long c = 0; c < conns; c++)
        for (long i = 0; i < msgs; i++)
            t += static_cast<long long>(msg_len(c, i));
    return t;
}

// Go's default for TCP: without it, the second of two small writes waits
// for the peer's delayed ACK (Nagle), some 40 ms per message on loopback.
void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// --- server ---------------------------------------------------------------------------

std::atomic<long long> served_bytes{0};
std::atomic<long> served_conns{0};
gort::wait_group server_wg;

void serve_conn(gort::fd conn) {
    char buf[8192];
    long long echoed = 0;
    ssize_t n;
    while ((n = gort::read(conn.get(), buf, sizeof buf)) > 0) {
        if (gort::write(conn.get(), buf, size_t(n)) != n)
            break;
        echoed += n;
    }
    conn.close();
    served_bytes += echoed;
    served_conns++;
    server_wg.done();
}

// Accepts until the listener is closed (GORT_ECLOSED while waiting, -EBADF
// if the close came between two accepts).
void accept_loop(int listener) {
    for (;;) {
        gort::fd conn(gort::accept(listener));
        if (conn) {
            set_nodelay(conn.get());
            server_wg.add();
            gort::go(serve_conn, std::move(conn));
            continue;
        }
        int e = conn.get();
        if (e == GORT_ECLOSED || e == -EBADF)
            return;
        if (e == -EMFILE || e == -ENFILE || e == -ENOBUFS || e == -ENOMEM) {
            gort::sleep_for(10ms); // out of fds: let connections finish, as Go does
            continue;
        }
        if (e != -ECONNABORTED && e != -EINTR) {
            std::fprintf(stderr, "echo_server: accept: %s\n", gort_strerror(e));
            gort_exit(1);
        }
    }
}

// A listening socket, or a negative errno; *bound_port gets the port.
gort::fd listen_on(uint32_t addr, int port, int *bound_port) {
    gort::fd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!l)
        return gort::fd(neg_errno());
    int one = 1;
    setsockopt(l.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(uint16_t(port));
    sa.sin_addr.s_addr = htonl(addr);
    socklen_t sl = sizeof sa;
    if (bind(l.get(), reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0 || listen(l.get(), SOMAXCONN) < 0 ||
        getsockname(l.get(), reinterpret_cast<sockaddr *>(&sa), &sl) < 0)
        return gort::fd(neg_errno());
    *bound_port = ntohs(sa.sin_port);
    return l;
}

// --- client ---------------------------------------------------------------------------

// Tries each resolved address in turn, as Go's Dial does.
gort::fd connect_any(const addrinfo *ai) {
    int err = -EADDRNOTAVAIL;
    for (; ai; ai = ai->ai_next) {
        gort::fd s(socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!s) {
            err = neg_errno();
            continue;
        }
        gort::set_deadline(s.get(), io_timeout);
        err = gort::connect(s.get(), ai->ai_addr, ai->ai_addrlen);
        if (err == 0) {
            set_nodelay(s.get());
            return s;
        }
    }
    return gort::fd(err);
}

// Reads exactly n bytes: 0, or a negative error (GORT_EINVAL for an early
// end of file).
int read_full(int fd, unsigned char *buf, size_t n) {
    for (size_t got = 0; got < n;) {
        ssize_t r = gort::read(fd, buf + got, n - got);
        if (r <= 0)
            return r == 0 ? GORT_EINVAL : int(r);
        got += size_t(r);
    }
    return 0;
}

struct client_totals {
    std::atomic<long> ok_conns{0};
    std::atomic<long long> bytes{0};
    gort::wait_group wg;
};

void client_conn(const addrinfo *addrs, long conn, long msgs, client_totals &t) {
    std::vector<unsigned char> out(msg_max), in(msg_max);
    long long bytes = 0;
    const char *what = "connect";
    gort::fd s = connect_any(addrs);
    int rc = s ? 0 : s.get();
    for (long i = 0; rc == 0 && i < msgs; i++) {
        size_t len = msg_len(conn, i);
        for (size_t j = 0; j < len; j++)
            out[j] = msg_byte(conn, i, j);
        gort::set_deadline(s.get(), io_timeout);
        what = "write";
        ssize_t w = gort::write(s.get(), out.data(), len);
        if (w != ssize_t(len)) {
            rc = w < 0 ? int(w) : GORT_EINVAL;
            break;
        }
        what = "read";
        if ((rc = read_full(s.get(), in.data(), len)) < 0)
            break;
        if (std::memcmp(in.data(), out.data(), len) != 0) {
            size_t j = 0;
            while (in[j] == out[j])
                j++;
            std::fprintf(stderr, "echo_server: connection %ld message %ld: byte %zu is %u, sent %u\n", conn, i, j,
                         in[j], out[j]);
            rc = GORT_EINVAL;
            what = nullptr; // reported
            break;
        }
        bytes += static_cast<long long>(len);
    }
    if (rc == 0) {
        // Half-close: the server sees end of file, closes, and we see its
        // end of file: nothing more came back than was sent.
        what = "end of file";
        shutdown(s.get(), SHUT_WR);
        ssize_t r = gort::read(s.get(), in.data(), 1);
        rc = r == 0 ? 0 : r < 0 ? int(r) : GORT_EINVAL;
    }
    if (rc == 0) {
        t.ok_conns++;
        t.bytes += bytes;
    } else if (what) {
        std::fprintf(stderr, "echo_server: connection %ld: %s: %s\n", conn, what, gort_strerror(rc));
    }
    t.wg.done();
}

// Runs the client; returns true if every connection echoed every byte.
bool run_client(const char *host, const char *port, long conns, long msgs) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *addrs = nullptr;
    // getaddrinfo may block on DNS: let other goroutines have this P.
    int rc = gort::blocking(getaddrinfo, host, port, &hints, &addrs);
    if (rc != 0) {
        std::fprintf(stderr, "echo_server: %s:%s: %s\n", host, port, gai_strerror(rc));
        return false;
    }
    client_totals t;
    auto t0 = std::chrono::steady_clock::now();
    t.wg.add(conns);
    for (long c = 0; c < conns; c++)
        gort::go([addrs, c, msgs, &t] { client_conn(addrs, c, msgs, t); });
    t.wg.wait();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    freeaddrinfo(addrs);
    long long expected = total_bytes(conns, msgs);
    if (t.ok_conns != conns || t.bytes != expected) {
        std::printf("echo_server: FAILED: %ld of %ld connections echoed, %lld of %lld bytes\n", t.ok_conns.load(),
                    conns, t.bytes.load(), expected);
        return false;
    }
    std::printf("echo_server: %ld connections x %ld messages echoed (%lld bytes each way)\n", conns, msgs,
                t.bytes.load());
    std::printf("echo_server: %.0f ms, %.1f MiB/s each way\n", secs * 1e3, double(t.bytes) / secs / (1 << 20));
    return true;
}

void self_test(long conns, long msgs) {
    int port;
    gort::fd listener = listen_on(INADDR_LOOPBACK, 0, &port);
    if (!listener) {
        std::fprintf(stderr, "echo_server: listen: %s\n", gort_strerror(listener.get()));
        gort_exit(1);
    }
    gort::chan<bool> accept_done(1);
    gort::go([l = listener.get(), accept_done] {
        accept_loop(l);
        accept_done.send(true);
    });
    bool ok = run_client("127.0.0.1", std::to_string(port).c_str(), conns, msgs);
    // Closing the listener ends the accept loop; once it is over, every
    // connection goroutine it started is counted in server_wg, so waiting
    // for that sees the server's final totals.
    listener.close();
    accept_done.recv();
    server_wg.wait();
    long long expected = total_bytes(conns, msgs);
    std::printf("echo_server: server echoed %lld bytes over %ld connections\n", served_bytes.load(),
                served_conns.load());
    if (!ok || served_bytes != expected || served_conns != conns) {
        std::printf("echo_server: FAILED (expected %lld bytes over %ld connections)\n", expected, conns);
        gort_exit(1);
    }
    std::printf("echo_server: ok\n");
}

long parse_count(const char *s, long max) {
    char *end;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    return errno || *end || end == s || v < 0 || v > max ? -1 : v;
}

// Thousands of connections need thousands of fds: take what the hard limit
// allows.
void raise_nofile() {
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int usage(const char *argv0) {
    std::fprintf(stderr,
                 "usage: %s                                  (self-test)\n"
                 "       %s serve PORT\n"
                 "       %s client HOST PORT [CONNS] [MSGS]\n",
                 argv0, argv0, argv0);
    return 2;
}

} // namespace

int main(int argc, char **argv) {
    std::string mode = "self-test";
    long conns = 100, msgs = 100;
    int listener = -1;
    if (argc >= 2 && !std::strcmp(argv[1], "serve")) {
        long port;
        if (argc != 3 || (port = parse_count(argv[2], 65535)) < 0)
            return usage(argv[0]);
        int bound;
        listener = listen_on(INADDR_ANY, int(port), &bound).release();
        if (listener < 0) {
            std::fprintf(stderr, "echo_server: listen on port %ld: %s\n", port, gort_strerror(listener));
            return 1;
        }
        std::printf("echo_server: listening on port %d\n", bound);
        std::fflush(stdout);
        mode = "serve";
    } else if (argc >= 2 && !std::strcmp(argv[1], "client")) {
        if (argc < 4 || argc > 6 || (argc > 4 && (conns = parse_count(argv[4], 1000000)) < 1) ||
            (argc > 5 && (msgs = parse_count(argv[5], 1000000000)) < 0))
            return usage(argv[0]);
        mode = "client";
    } else if (argc != 1) {
        return usage(argv[0]);
    }
    raise_nofile();
    int rc = gort::run(argc, argv, [=] {
        if (mode == "serve") {
            accept_loop(listener);
        } else if (mode == "client") {
            if (!run_client(argv[2], argv[3], conns, msgs))
                gort_exit(1);
            std::printf("echo_server: ok\n");
        } else {
            self_test(conns, msgs);
        }
    });
    std::fprintf(stderr, "gort::run: %s\n", gort_strerror(rc));
    return 1;
}
