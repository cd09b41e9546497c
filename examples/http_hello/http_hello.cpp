// http_hello: a minimal HTTP/1.1 server, one goroutine per connection, in
// C++ with gort.hpp.
//
//   ./http_hello-cpp PORT     serve on PORT (every interface; 0: a free port)
//   ./http_hello-cpp          self-test (below)
//
// Every request gets "Hello, world!\n" (text/plain, with Content-Length;
// HEAD gets the headers only). Connections stay open (HTTP/1.1's default,
// or HTTP/1.0 with "Connection: keep-alive") until the client asks for
// "Connection: close"; requests may arrive pipelined (several in one read,
// answered in order with one write) or split across reads; a request body
// (Content-Length) is read and dropped. A malformed request gets 400 and
// the connection is closed, an oversized header 431, a Transfer-Encoding
// (chunked bodies are not supported) 501. No Date header: responses are
// byte-for-byte fixed, which lets the self-test compare them exactly.
// The first line printed is "http_hello: listening on port N".
//
// Try: ./http_hello-cpp 8080 & curl -i http://127.0.0.1:8080/
//
// With no arguments: the server on an ephemeral loopback port, and 20
// client goroutines that talk HTTP over raw sockets (gort::connect,
// gort::write, gort::read), 10 requests per connection: one at a time,
// pipelined (one with a body), split across several writes (byte by byte
// on some connections), HEAD, and Connection: close at the end. Then 7
// connections with bad requests, HTTP/1.0 and an oversized header. Every
// response is compared byte for byte, and every close is checked. Prints
//   http_hello: 200 requests over 20 connections answered
//   http_hello: bad requests refused, HTTP/1.0 and Connection: close honoured
//   http_hello: server sent 205 x 200, 3 x 400, 1 x 431, 1 x 501 over 27 connections
//   http_hello: ok
// and exits 0 only if all of that held.
#include <gort.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr size_t head_max = 8192; // request line + headers
constexpr size_t out_max = 16384; // pending responses to pipelined requests
constexpr auto idle = 60s;        // a keep-alive connection with no request for this long is closed

// -errno of the call just made. errno is thread-local and a goroutine can
// resume on another thread after any gort call, while the compiler may
// compute errno's address once per function (glibc declares
// __errno_location const) and reuse it after such a call: a function of
// its own, never inlined, looks the address up afresh.
[[gnu::noinline]] int neg_errno() { return -errno; }

constexpr std::string_view hello = "Hello, world!\n";

// --- server ---------------------------------------------------------------------------

struct request {
    bool head = false; // HEAD: headers only
    int minor = 1;     // HTTP/1.minor
    bool conn_close = false, conn_keep_alive = false, has_te = false;
    int hosts = 0;
    long long content_length = -1;
};

bool is_tchar(unsigned char c) { // RFC 9110 token characters
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && std::strchr("!#$%&'*+-.^_`|~", c));
}

size_t token_len(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i])))
        i++;
    return i;
}

bool ieq(std::string_view s, std::string_view lit) {
    return s.size() == lit.size() && !strncasecmp(s.data(), lit.data(), s.size());
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// One header field; false if malformed.
bool parse_field(std::string_view line, request &r) {
    size_t name_len = token_len(line);
    if (name_len == 0 || name_len == line.size() || line[name_len] != ':')
        return false; // also rejects obsolete line folding (a leading space)
    std::string_view name = line.substr(0, name_len), v = line.substr(name_len + 1);
    for (char ch : v)
        if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    v = trim(v);
    if (ieq(name, "Host")) {
        if (r.hosts++)
            return false;
    } else if (ieq(name, "Connection")) {
        while (!v.empty()) { // a comma-separated list of options
            size_t k = v.find(',');
            std::string_view o = trim(v.substr(0, k));
            if (ieq(o, "close"))
                r.conn_close = true;
            else if (ieq(o, "keep-alive"))
                r.conn_keep_alive = true;
            v = k == std::string_view::npos ? std::string_view() : v.substr(k + 1);
        }
    } else if (ieq(name, "Content-Length")) {
        if (v.empty() || v.size() > 15)
            return false;
        long long len = 0;
        for (char ch : v) {
            if (ch < '0' || ch > '9')
                return false;
            len = len * 10 + (ch - '0');
        }
        if (r.content_length >= 0 && r.content_length != len)
            return false;
        r.content_length = len;
    } else if (ieq(name, "Transfer-Encoding")) {
        r.has_te = true;
    }
    return true;
}

// Parses the head of a request, up to and including the empty line; false
// if malformed.
bool parse_head(std::string_view head, request &r) {
    r = request{};
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol); // method SP request-target SP HTTP-version
    size_t m = token_len(line);
    if (m == 0 || m == line.size() || line[m] != ' ')
        return false;
    r.head = line.substr(0, m) == "HEAD";
    size_t t = m + 1, te = t;
    while (te < line.size() && static_cast<unsigned char>(line[te]) > 0x20 && line[te] != 0x7f)
        te++;
    if (te == t || te >= line.size() || line[te] != ' ')
        return false;
    std::string_view ver = line.substr(te + 1);
    if (ver != "HTTP/1.0" && ver != "HTTP/1.1")
        return false;
    r.minor = ver[7] - '0';
    for (size_t at = eol + 2; at < head.size() - 2;) {
        size_t end = head.find("\r\n", at);
        if (!parse_field(head.substr(at, end - at), r))
            return false;
        at = end + 2;
    }
    return r.minor == 0 || r.hosts == 1; // RFC 9112 3.2: a 1.1 request without Host is a 400
}

std::atomic<long> sent_200{0}, sent_400{0}, sent_431{0}, sent_501{0}, served_conns{0};
gort::wait_group server_conns; // connection goroutines running

void respond(std::string &out, int status, const char *reason, std::string_view body, bool head, bool keep_alive,
             int minor) {
    out += "HTTP/1.1 " + std::to_string(status) + " " + reason +
           "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (!keep_alive)
        out += "Connection: close\r\n";
    else if (minor == 0)
        out += "Connection: keep-alive\r\n";
    out += "\r\n";
    if (!head)
        out += body;
    (status == 200 ? sent_200 : status == 400 ? sent_400 : status == 431 ? sent_431 : sent_501)++;
}

// Half-closes, then reads until the client closes too (or a few seconds
// pass) before closing: closing a socket with unread input sends a reset,
// which can destroy the response still in flight (Go's closeWriteAndWait).
void close_lingering(gort::fd &conn) {
    char sink[4096];
    shutdown(conn.get(), SHUT_WR);
    gort::set_read_deadline(conn.get(), 5s);
    while (gort::read(conn.get(), sink, sizeof sink) > 0) {
    }
    conn.close();
}

void serve_conn(gort::fd conn) {
    std::vector<char> in(head_max);
    std::string out;
    size_t have = 0;
    long long discard = 0; // body bytes of the last request still to drop
    bool open = true, clean = true;
    auto consume = [&](size_t k) {
        std::memmove(in.data(), in.data() + k, have - k);
        have -= k;
    };
    while (open) {
        if (discard > 0 && have > 0) {
            size_t k = static_cast<long long>(have) < discard ? have : static_cast<size_t>(discard);
            consume(k);
            discard -= static_cast<long long>(k);
        }
        while (discard == 0 && have >= 2 && in[0] == '\r' && in[1] == '\n') // RFC 9112 2.2
            consume(2);
        std::string_view buf(in.data(), have);
        size_t end = discard == 0 ? buf.find("\r\n\r\n") : std::string_view::npos;
        bool found = end != std::string_view::npos;
        if (found) {
            request r;
            bool ok = parse_head(buf.substr(0, end + 4), r);
            consume(end + 4);
            if (!ok) {
                respond(out, 400, "Bad Request", "Bad Request\n", false, false, 1);
                open = false;
            } else if (r.has_te) {
                respond(out, 501, "Not Implemented", "Transfer-Encoding not supported\n", false, false, 1);
                open = false;
            } else {
                bool keep = !r.conn_close && (r.minor == 1 || r.conn_keep_alive);
                respond(out, 200, "OK", hello, r.head, keep, r.minor);
                discard = r.content_length > 0 ? r.content_length : 0;
                open = keep;
            }
            if (open && out.size() + 256 <= out_max)
                continue; // answer what is already here in one write
        } else if (have == head_max) {
            respond(out, 431, "Request Header Fields Too Large", "Request Header Fields Too Large\n", false, false, 1);
            open = false;
        }
        if (!out.empty()) {
            gort::set_write_deadline(conn.get(), idle);
            if (gort::write(conn.get(), out) != ssize_t(out.size())) {
                clean = false;
                break;
            }
            out.clear();
        }
        if (!open)
            break;
        if (found)
            continue; // the output was full: more requests may be waiting in `in`
        gort::set_read_deadline(conn.get(), idle);
        ssize_t n = gort::read(conn.get(), in.data() + have, head_max - have);
        if (n <= 0) {
            clean = n == 0; // end of file between requests: the client is done
            break;
        }
        have += size_t(n);
    }
    if (clean)
        close_lingering(conn);
    else
        conn.close();
    served_conns++;
    server_conns.done();
}

void accept_loop(int listener) {
    for (;;) {
        gort::fd conn(gort::accept(listener));
        if (conn) {
            int one = 1; // Go's default: no Nagle delay for small responses
            setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            server_conns.add();
            gort::go(serve_conn, std::move(conn));
            continue;
        }
        int e = conn.get();
        if (e == GORT_ECLOSED || e == -EBADF)
            return; // the listener was closed
        if (e == -EMFILE || e == -ENFILE || e == -ENOBUFS || e == -ENOMEM) {
            gort::sleep_for(10ms); // out of fds: let connections finish, as Go does
            continue;
        }
        if (e != -ECONNABORTED && e != -EINTR) {
            std::fprintf(stderr, "http_hello: accept: %s\n", gort_strerror(e));
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

// --- self-test client -----------------------------------------------------------------

constexpr int nconn = 20, nreq = 10;

const std::string ctype = "Content-Type: text/plain; charset=utf-8\r\n";
const std::string r200_head = "HTTP/1.1 200 OK\r\n" + ctype + "Content-Length: 14\r\n\r\n";
const std::string r200 = r200_head + "Hello, world!\n";
const std::string r200_close =
    "HTTP/1.1 200 OK\r\n" + ctype + "Content-Length: 14\r\nConnection: close\r\n\r\nHello, world!\n";
const std::string r200_keep10 =
    "HTTP/1.1 200 OK\r\n" + ctype + "Content-Length: 14\r\nConnection: keep-alive\r\n\r\nHello, world!\n";
const std::string r400 =
    "HTTP/1.1 400 Bad Request\r\n" + ctype + "Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n";
const std::string r431 = "HTTP/1.1 431 Request Header Fields Too Large\r\n" + ctype +
                         "Content-Length: 32\r\nConnection: close\r\n\r\nRequest Header Fields Too Large\n";
const std::string r501 = "HTTP/1.1 501 Not Implemented\r\n" + ctype +
                         "Content-Length: 32\r\nConnection: close\r\n\r\nTransfer-Encoding not supported\n";

sockaddr_in server_addr;
std::atomic<long> answered{0}, failures{0};

// One client connection; remembers the first thing that went wrong.
class conv {
public:
    explicit conv(std::string name) : name_(std::move(name)) {
        s_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!s_) {
            fail("socket", neg_errno());
            return;
        }
        // Only a wedged server makes any step take this long: an error, not a hang.
        gort::set_deadline(s_.get(), 30s);
        int rc = gort::connect(s_.get(), reinterpret_cast<const sockaddr *>(&server_addr), sizeof server_addr);
        if (rc < 0) {
            fail("connect", rc);
            return;
        }
        int one = 1;
        setsockopt(s_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    conv(const conv &) = delete;
    conv &operator=(const conv &) = delete;
    ~conv() {
        if (failed_)
            failures++;
    }
    bool ok() const { return !failed_; }

    void send(std::string_view s) {
        if (failed_)
            return;
        ssize_t w = gort::write(s_.get(), s);
        if (w != ssize_t(s.size()))
            fail("write", w);
    }
    // Writes s in pieces, pausing between them so that the server reads
    // partial requests: cut at the given offsets, or every byte if bytewise.
    void send_split(std::string_view s, std::vector<size_t> cuts, bool bytewise) {
        size_t at = 0;
        for (size_t i = 0; at < s.size(); i++) {
            size_t next = bytewise ? at + 1 : i < cuts.size() && cuts[i] < s.size() ? cuts[i] : s.size();
            if (next <= at)
                continue;
            send(s.substr(at, next - at));
            at = next;
            if (at < s.size())
                gort::sleep_for(200us);
        }
    }
    // Reads exactly the bytes of `want` and compares them.
    void expect(const std::string &want) {
        if (failed_)
            return;
        std::string got(want.size(), '\0');
        for (size_t n = 0; n < got.size();) {
            ssize_t r = gort::read(s_.get(), &got[n], got.size() - n);
            if (r <= 0)
                return fail(r == 0 ? "early end of file" : "read", r);
            n += size_t(r);
        }
        if (got != want) {
            std::fprintf(stderr, "http_hello: %s: got\n%s\nwanted\n%s\n", name_.c_str(), got.c_str(), want.c_str());
            fail("wrong response", 0);
        }
    }
    void expect_eof() {
        if (failed_)
            return;
        char c;
        ssize_t r = gort::read(s_.get(), &c, 1);
        if (r != 0)
            fail("no end of file after the last response", r);
    }

private:
    void fail(const char *what, long long detail) {
        if (!failed_)
            std::fprintf(stderr, "http_hello: %s: %s (%lld)\n", name_.c_str(), what, detail);
        failed_ = true;
    }
    std::string name_;
    gort::fd s_;
    bool failed_ = false;
};

void client(int c) {
    std::vector<std::string> req(nreq);
    for (int r = 0; r < nreq; r++) {
        std::string method = r == 4 || r == 7 ? "POST" : r == 8 ? "HEAD" : "GET";
        std::string body = r == 4 ? "hello" : r == 7 ? "0123456789" : "";
        std::string extra;
        if (!body.empty())
            extra += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        if (r == nreq - 1)
            extra += "Connection: close\r\n";
        req[r] = method + " /c" + std::to_string(c) + "/r" + std::to_string(r) +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: http_hello\r\n" + extra + "\r\n" + body;
    }
    conv cv("connection " + std::to_string(c));
    for (int r = 0; r < 3; r++) { // one at a time
        cv.send(req[r]);
        cv.expect(r200);
    }
    cv.send(req[3] + req[4] + req[5]); // pipelined, the middle one with a body
    for (int r = 3; r < 6; r++)
        cv.expect(r200);
    size_t len6 = req[6].size();
    cv.send_split(req[6], {1 + size_t(c) % 7, len6 / 2, len6 - 3, len6 - 1}, c % 4 == 0); // two inside the final CRLF CRLF
    cv.expect(r200);
    // A body split over writes, the next request in the same write as its end.
    size_t hdr7 = req[7].size() - 10;
    cv.send_split(req[7] + req[8], {hdr7, hdr7 + 4, hdr7 + 4 + 6 + req[8].size() / 2}, false);
    cv.expect(r200);
    cv.expect(r200_head);
    cv.send(req[9]);
    cv.expect(r200_close);
    cv.expect_eof();
    if (cv.ok())
        answered += nreq;
}

// Bad requests and HTTP/1.0: each on its own connection, each ending with
// the server closing it.
void edge_cases() {
    {
        conv cv("garbage");
        cv.send("this is not http\r\n\r\n");
        cv.expect(r400);
        cv.expect_eof();
    }
    {
        conv cv("good then malformed header");
        cv.send("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost a\r\n\r\n");
        cv.expect(r200);
        cv.expect(r400);
        cv.expect_eof();
    }
    {
        conv cv("HTTP/1.1 without Host");
        cv.send("GET / HTTP/1.1\r\n\r\n");
        cv.expect(r400);
        cv.expect_eof();
    }
    {
        conv cv("HTTP/1.0");
        cv.send("GET / HTTP/1.0\r\n\r\n");
        cv.expect(r200_close);
        cv.expect_eof();
    }
    {
        conv cv("HTTP/1.0 keep-alive");
        cv.send("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        cv.expect(r200_keep10);
        cv.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        cv.expect(r200_keep10);
        cv.send("GET / HTTP/1.0\r\n\r\n");
        cv.expect(r200_close);
        cv.expect_eof();
    }
    {
        conv cv("oversized header");
        std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ";
        big.resize(head_max + 199, 'x');
        cv.send(big);
        cv.expect(r431);
        cv.expect_eof();
    }
    {
        conv cv("chunked body");
        cv.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        cv.expect(r501);
        cv.expect_eof();
    }
}

void self_test() {
    int port;
    gort::fd listener = listen_on(INADDR_LOOPBACK, 0, &port);
    if (!listener) {
        std::fprintf(stderr, "http_hello: listen: %s\n", gort_strerror(listener.get()));
        gort_exit(1);
    }
    gort::chan<bool> accept_done(1);
    gort::go([l = listener.get(), accept_done] {
        accept_loop(l);
        accept_done.send(true);
    });
    server_addr = sockaddr_in{};
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons(uint16_t(port));
    server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    gort::wait_group wg;
    wg.add(nconn + 1);
    for (int c = 0; c < nconn; c++)
        gort::go([c, &wg] {
            client(c);
            wg.done();
        });
    gort::go([&wg] {
        edge_cases();
        wg.done();
    });
    wg.wait();
    bool ok = failures == 0;
    long n = answered;
    if (n == nconn * nreq)
        std::printf("http_hello: %ld requests over %d connections answered\n", n, nconn);
    if (ok)
        std::printf("http_hello: bad requests refused, HTTP/1.0 and Connection: close honoured\n");

    // Closing the listener ends the accept loop; after that every server
    // connection goroutine is counted in server_conns.
    listener.close();
    accept_done.recv();
    server_conns.wait();
    std::printf("http_hello: server sent %ld x 200, %ld x 400, %ld x 431, %ld x 501 over %ld connections\n",
                sent_200.load(), sent_400.load(), sent_431.load(), sent_501.load(), served_conns.load());
    if (!ok || n != nconn * nreq || sent_200 != nconn * nreq + 5 || sent_400 != 3 || sent_431 != 1 ||
        sent_501 != 1 || served_conns != nconn + 7) {
        std::printf("http_hello: FAILED\n");
        gort_exit(1);
    }
    std::printf("http_hello: ok\n");
}

} // namespace

int main(int argc, char **argv) {
    int listener = -1;
    if (argc > 2) {
        std::fprintf(stderr, "usage: %s [PORT]    (no PORT: self-test)\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        char *end;
        long p = std::strtol(argv[1], &end, 10);
        if (*end || end == argv[1] || p < 0 || p > 65535) {
            std::fprintf(stderr, "usage: %s [PORT]    (no PORT: self-test)\n", argv[0]);
            return 2;
        }
        int bound;
        listener = listen_on(INADDR_ANY, int(p), &bound).release();
        if (listener < 0) {
            std::fprintf(stderr, "http_hello: listen on port %ld: %s\n", p, gort_strerror(listener));
            return 1;
        }
        std::printf("http_hello: listening on port %d\n", bound);
        std::fflush(stdout);
    }
    int rc = gort::run(argc, argv, [listener] {
        if (listener < 0)
            self_test();
        else
            accept_loop(listener);
    });
    std::fprintf(stderr, "gort::run: %s\n", gort_strerror(rc));
    return 1;
}
