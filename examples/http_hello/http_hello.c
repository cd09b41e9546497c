/* http_hello: a minimal HTTP/1.1 server, one goroutine per connection,
 * in C.
 *
 *   ./http_hello PORT     serve on PORT (every interface; 0: a free port)
 *   ./http_hello          self-test (below)
 *
 * Every request gets "Hello, world!\n" (text/plain, with Content-Length;
 * HEAD gets the headers only). Connections stay open (HTTP/1.1's default,
 * or HTTP/1.0 with "Connection: keep-alive") until the client asks for
 * "Connection: close"; requests may arrive pipelined (several in one read,
 * answered in order with one write) or split across reads; a request body
 * (Content-Length) is read and dropped. A malformed request gets 400 and
 * the connection is closed, an oversized header 431, a Transfer-Encoding
 * (chunked bodies are not supported) 501. No Date header: responses are
 * byte-for-byte fixed, which lets the self-test compare them exactly.
 * The first line printed is "http_hello: listening on port N".
 *
 * Try: ./http_hello 8080 & curl -i http://127.0.0.1:8080/
 *
 * With no arguments: the server on an ephemeral loopback port, and 20
 * client goroutines that talk HTTP over raw sockets (gort_connect,
 * gort_write, gort_read), 10 requests per connection: one at a time,
 * pipelined (one with a body), split across several writes (byte by byte
 * on some connections), HEAD, and Connection: close at the end. Then 7
 * connections with bad requests, HTTP/1.0 and an oversized header. Every
 * response is compared byte for byte, and every close is checked. Prints
 *   http_hello: 200 requests over 20 connections answered
 *   http_hello: bad requests refused, HTTP/1.0 and Connection: close honoured
 *   http_hello: server sent 205 x 200, 3 x 400, 1 x 431, 1 x 501 over 27 connections
 *   http_hello: ok
 * and exits 0 only if all of that held.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gort.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEC 1000000000LL
#define HEAD_MAX 8192  /* request line + headers */
#define OUT_MAX 16384  /* pending responses to pipelined requests */
#define IDLE_NS (60 * SEC) /* a keep-alive connection with no request for this long is closed */

/* -errno of the call just made. errno is thread-local and a goroutine can
 * resume on another thread after any gort call, while the compiler may
 * compute errno's address once per function (glibc declares
 * __errno_location const) and reuse it after such a call: a function of
 * its own, never inlined, looks the address up afresh. */
static __attribute__((noinline)) int neg_errno(void) { return -errno; }

static const char hello[] = "Hello, world!\n";

/* --- server -------------------------------------------------------------------------- */

struct request {
    int head;      /* HEAD: headers only */
    int minor;     /* HTTP/1.minor */
    int conn_close, conn_keep_alive, has_host, has_te;
    long long content_length;
};

static int is_tchar(unsigned char c) { /* RFC 9110 token characters */
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t token_len(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

static int ieq(const char *s, size_t n, const char *lit) { return strlen(lit) == n && !strncasecmp(s, lit, n); }

static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Parses one header field; 0, or -1 if malformed. */
static int parse_field(const char *s, size_t n, struct request *r) {
    size_t name = token_len(s, n);
    if (name == 0 || name == n || s[name] != ':')
        return -1; /* also rejects obsolete line folding (a leading space) */
    const char *v = s + name + 1;
    size_t vn = n - name - 1;
    for (size_t i = 0; i < vn; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return -1;
    trim(&v, &vn);
    if (ieq(s, name, "Host")) {
        if (r->has_host++)
            return -1;
    } else if (ieq(s, name, "Connection")) {
        while (vn) { /* a comma-separated list of options */
            const char *comma = memchr(v, ',', vn);
            size_t k = comma ? (size_t)(comma - v) : vn;
            const char *o = v;
            size_t on = k;
            trim(&o, &on);
            if (ieq(o, on, "close"))
                r->conn_close = 1;
            else if (ieq(o, on, "keep-alive"))
                r->conn_keep_alive = 1;
            v += k;
            vn -= k;
            if (vn)
                v++, vn--;
        }
    } else if (ieq(s, name, "Content-Length")) {
        long long len = 0;
        if (vn == 0 || vn > 15)
            return -1;
        for (size_t i = 0; i < vn; i++) {
            if (v[i] < '0' || v[i] > '9')
                return -1;
            len = len * 10 + (v[i] - '0');
        }
        if (r->content_length >= 0 && r->content_length != len)
            return -1;
        r->content_length = len;
    } else if (ieq(s, name, "Transfer-Encoding")) {
        r->has_te = 1;
    }
    return 0;
}

/* Parses the head of a request, buf[0..len) up to and including the empty
 * line. 0, or -1 if malformed. */
static int parse_head(const char *buf, size_t len, struct request *r) {
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    const char *eol = memmem(buf, len, "\r\n", 2);
    /* request-line = method SP request-target SP HTTP-version */
    size_t m = token_len(buf, len);
    if (m == 0 || buf[m] != ' ')
        return -1;
    r->head = m == 4 && !memcmp(buf, "HEAD", 4);
    const char *t = buf + m + 1, *te = t;
    while (te < eol && (unsigned char)*te > 0x20 && *te != 0x7f)
        te++;
    if (te == t || te >= eol || *te != ' ')
        return -1;
    const char *ver = te + 1;
    if (eol - ver != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1'))
        return -1;
    r->minor = ver[7] - '0';
    for (const char *line = eol + 2; line < buf + len - 2;) {
        const char *end = memmem(line, (size_t)(buf + len - line), "\r\n", 2);
        if (parse_field(line, (size_t)(end - line), r) < 0)
            return -1;
        line = end + 2;
    }
    if (r->minor == 1 && r->has_host != 1)
        return -1; /* RFC 9112 3.2: a 1.1 request without Host is a 400 */
    return 0;
}

static atomic_long sent_200, sent_400, sent_431, sent_501, served_conns;
static gort_waitgroup server_conns = GORT_WAITGROUP_INIT; /* connection goroutines running */

/* Appends a response to out; returns its length. */
static size_t respond(char *out, int status, const char *reason, const char *body, int head, int keep_alive,
                      int minor) {
    const char *conn = !keep_alive ? "Connection: close\r\n" : minor == 0 ? "Connection: keep-alive\r\n" : "";
    int n = sprintf(out, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n%s\r\n%s",
                    status, reason, strlen(body), conn, head ? "" : body);
    atomic_fetch_add(status == 200 ? &sent_200 : status == 400 ? &sent_400 : status == 431 ? &sent_431 : &sent_501,
                     1);
    return (size_t)n;
}

/* Half-closes, then reads until the client closes too (or a few seconds
 * pass) before closing: closing a socket with unread input sends a reset,
 * which can destroy the response still in flight (Go's closeWriteAndWait). */
static void close_lingering(int fd) {
    char sink[4096];
    shutdown(fd, SHUT_WR);
    gort_set_read_deadline(fd, gort_nanotime() + 5 * SEC);
    while (gort_read(fd, sink, sizeof sink) > 0) {
    }
    gort_close(fd);
}

static void serve_conn(void *arg) {
    int fd = (int)(intptr_t)arg;
    char *in = malloc(HEAD_MAX), *out = malloc(OUT_MAX);
    size_t have = 0, olen = 0;
    long long discard = 0; /* body bytes of the last request still to drop */
    int open = in && out, clean = 1;
    while (open) {
        if (discard > 0 && have > 0) {
            size_t k = (long long)have < discard ? have : (size_t)discard;
            memmove(in, in + k, have - k);
            have -= k;
            discard -= (long long)k;
        }
        while (discard == 0 && have >= 2 && in[0] == '\r' && in[1] == '\n') { /* RFC 9112 2.2 */
            memmove(in, in + 2, have - 2);
            have -= 2;
        }
        char *end = discard == 0 ? memmem(in, have, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hlen = (size_t)(end - in) + 4;
            struct request r;
            int bad = parse_head(in, hlen, &r);
            memmove(in, in + hlen, have - hlen);
            have -= hlen;
            if (bad < 0) {
                olen += respond(out + olen, 400, "Bad Request", "Bad Request\n", 0, 0, 1);
                open = 0;
            } else if (r.has_te) {
                olen += respond(out + olen, 501, "Not Implemented", "Transfer-Encoding not supported\n", 0, 0, 1);
                open = 0;
            } else {
                int keep = !r.conn_close && (r.minor == 1 || r.conn_keep_alive);
                olen += respond(out + olen, 200, "OK", hello, r.head, keep, r.minor);
                discard = r.content_length > 0 ? r.content_length : 0;
                open = keep;
            }
            if (open && olen + 256 <= OUT_MAX)
                continue; /* answer what is already here in one write */
        } else if (have == HEAD_MAX) {
            olen += respond(out + olen, 431, "Request Header Fields Too Large", "Request Header Fields Too Large\n", 0, 0,
                            1);
            open = 0;
        }
        if (olen) {
            gort_set_write_deadline(fd, gort_nanotime() + IDLE_NS);
            if (gort_write(fd, out, olen) != (ssize_t)olen) {
                clean = 0;
                break;
            }
            olen = 0;
        }
        if (!open)
            break;
        if (end)
            continue; /* the output was full: more requests may be waiting in `in` */
        gort_set_read_deadline(fd, gort_nanotime() + IDLE_NS);
        ssize_t n = gort_read(fd, in + have, HEAD_MAX - have);
        if (n <= 0) {
            clean = n == 0; /* end of file between requests: the client is done */
            break;
        }
        have += (size_t)n;
    }
    if (clean)
        close_lingering(fd);
    else
        gort_close(fd);
    free(in);
    free(out);
    atomic_fetch_add(&served_conns, 1);
    gort_waitgroup_done(&server_conns);
}

static void accept_loop(int listener) {
    for (;;) {
        int c = gort_accept(listener, NULL, NULL);
        if (c >= 0) {
            int one = 1; /* Go's default: no Nagle delay for small responses */
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            gort_waitgroup_add(&server_conns, 1);
            if (gort_go(serve_conn, (void *)(intptr_t)c) < 0) {
                gort_close(c);
                gort_waitgroup_done(&server_conns);
            }
            continue;
        }
        if (c == GORT_ECLOSED || c == -EBADF)
            return; /* the listener was closed */
        if (c == -EMFILE || c == -ENFILE || c == -ENOBUFS || c == -ENOMEM) {
            gort_sleep(10 * 1000000); /* out of fds: let connections finish, as Go does */
            continue;
        }
        if (c != -ECONNABORTED && c != -EINTR) {
            fprintf(stderr, "http_hello: accept: %s\n", gort_strerror(c));
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

/* --- self-test client ---------------------------------------------------------------- */

#define NCONN 20
#define NREQ 10

static const char r200[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n"
                           "Hello, world!\n";
static const char r200_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n";
static const char r200_close[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n"
                                 "Connection: close\r\n\r\nHello, world!\n";
static const char r200_keep10[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n"
                                  "Connection: keep-alive\r\n\r\nHello, world!\n";
static const char r400[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\n"
                           "Connection: close\r\n\r\nBad Request\n";
static const char r431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           "Content-Length: 32\r\nConnection: close\r\n\r\nRequest Header Fields Too Large\n";
static const char r501[] = "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain; charset=utf-8\r\n"
                           "Content-Length: 32\r\nConnection: close\r\n\r\nTransfer-Encoding not supported\n";

static struct sockaddr_in server_addr;
static atomic_long answered, failures;

/* A client connection: what went wrong first, for the report. */
struct conv {
    int fd;
    const char *name;
    int failed;
};

static void fail(struct conv *cv, const char *what, long long detail) {
    if (!cv->failed++)
        fprintf(stderr, "http_hello: %s: %s (%lld)\n", cv->name, what, detail);
}

static int dial(struct conv *cv, const char *name) {
    cv->name = name;
    cv->failed = 0;
    cv->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cv->fd < 0) {
        fail(cv, "socket", neg_errno());
        return -1;
    }
    /* Only a wedged server makes any step take this long: an error, not a hang. */
    gort_set_deadline(cv->fd, gort_nanotime() + 30 * SEC);
    int rc = gort_connect(cv->fd, (struct sockaddr *)&server_addr, sizeof server_addr);
    if (rc < 0) {
        fail(cv, "connect", rc);
        return -1;
    }
    int one = 1;
    setsockopt(cv->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

static void send_str(struct conv *cv, const char *s, size_t n) {
    if (cv->failed)
        return;
    ssize_t w = gort_write(cv->fd, s, n);
    if (w != (ssize_t)n)
        fail(cv, "write", w);
}

/* Reads exactly the bytes of `want` and compares them. */
static void expect(struct conv *cv, const char *want, size_t n) {
    if (cv->failed)
        return;
    char buf[512];
    size_t got = 0;
    while (got < n) {
        ssize_t r = gort_read(cv->fd, buf + got, n - got);
        if (r <= 0) {
            fail(cv, r == 0 ? "early end of file" : "read", r);
            return;
        }
        got += (size_t)r;
    }
    if (memcmp(buf, want, n) != 0) {
        fprintf(stderr, "http_hello: %s: got\n%.*s\nwanted\n%.*s\n", cv->name, (int)n, buf, (int)n, want);
        fail(cv, "wrong response", 0);
    }
}

static void expect_eof(struct conv *cv) {
    if (cv->failed)
        return;
    char c;
    ssize_t r = gort_read(cv->fd, &c, 1);
    if (r != 0)
        fail(cv, "no end of file after the last response", r);
}

static int hang_up(struct conv *cv) {
    if (cv->fd >= 0)
        gort_close(cv->fd);
    if (cv->failed)
        atomic_fetch_add(&failures, 1);
    return !cv->failed;
}

#define SEND(cv, s) send_str(cv, s, strlen(s))
#define EXPECT(cv, r) expect(cv, r, sizeof r - 1)

/* Writes s in pieces, pausing between them so that the server reads
 * partial requests: cut at the given offsets, or every byte if bytewise. */
static void send_split(struct conv *cv, const char *s, const size_t *cuts, int ncuts, int bytewise) {
    size_t len = strlen(s), at = 0;
    for (int i = 0; at < len; i++) {
        size_t next = bytewise ? at + 1 : i < ncuts && cuts[i] < len ? cuts[i] : len;
        if (next <= at)
            continue;
        send_str(cv, s + at, next - at);
        at = next;
        if (at < len)
            gort_sleep(200000);
    }
}

static void client(void *arg) {
    long c = (long)(intptr_t)arg;
    char name[32], req[NREQ][160];
    snprintf(name, sizeof name, "connection %ld", c);
    for (int r = 0; r < NREQ; r++) {
        const char *method = r == 4 || r == 7 ? "POST" : r == 8 ? "HEAD" : "GET";
        const char *body = r == 4 ? "hello" : r == 7 ? "0123456789" : "";
        char extra[64] = "";
        if (*body)
            snprintf(extra, sizeof extra, "Content-Length: %zu\r\n", strlen(body));
        if (r == NREQ - 1)
            strcat(extra, "Connection: close\r\n");
        snprintf(req[r], sizeof req[r], "%s /c%ld/r%d HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: http_hello\r\n%s\r\n%s",
                 method, c, r, extra, body);
    }
    struct conv cv;
    if (dial(&cv, name) == 0) {
        for (int r = 0; r < 3; r++) { /* one at a time */
            SEND(&cv, req[r]);
            EXPECT(&cv, r200);
        }
        char batch[512]; /* pipelined, the middle one with a body */
        snprintf(batch, sizeof batch, "%s%s%s", req[3], req[4], req[5]);
        SEND(&cv, batch);
        for (int r = 3; r < 6; r++)
            EXPECT(&cv, r200);
        size_t len6 = strlen(req[6]);
        size_t cuts6[] = {1 + (size_t)c % 7, len6 / 2, len6 - 3, len6 - 1}; /* two inside the final CRLF CRLF */
        send_split(&cv, req[6], cuts6, 4, c % 4 == 0);
        EXPECT(&cv, r200);
        /* A body split over writes, the next request in the same write as
         * its end. */
        size_t hdr7 = strlen(req[7]) - 10;
        size_t cuts7[] = {hdr7, hdr7 + 4, hdr7 + 4 + 6 + strlen(req[8]) / 2};
        snprintf(batch, sizeof batch, "%s%s", req[7], req[8]);
        send_split(&cv, batch, cuts7, 3, 0);
        EXPECT(&cv, r200);
        EXPECT(&cv, r200_head);
        SEND(&cv, req[9]);
        EXPECT(&cv, r200_close);
        expect_eof(&cv);
    }
    if (hang_up(&cv))
        atomic_fetch_add(&answered, NREQ);
}

/* Bad requests and HTTP/1.0: each on its own connection, each ending with
 * the server closing it. */
static void edge_cases(void *arg) {
    (void)arg;
    struct conv cv;
    if (dial(&cv, "garbage") == 0) {
        SEND(&cv, "this is not http\r\n\r\n");
        EXPECT(&cv, r400);
        expect_eof(&cv);
    }
    hang_up(&cv);
    if (dial(&cv, "good then malformed header") == 0) {
        SEND(&cv, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost a\r\n\r\n");
        EXPECT(&cv, r200);
        EXPECT(&cv, r400);
        expect_eof(&cv);
    }
    hang_up(&cv);
    if (dial(&cv, "HTTP/1.1 without Host") == 0) {
        SEND(&cv, "GET / HTTP/1.1\r\n\r\n");
        EXPECT(&cv, r400);
        expect_eof(&cv);
    }
    hang_up(&cv);
    if (dial(&cv, "HTTP/1.0") == 0) {
        SEND(&cv, "GET / HTTP/1.0\r\n\r\n");
        EXPECT(&cv, r200_close);
        expect_eof(&cv);
    }
    hang_up(&cv);
    if (dial(&cv, "HTTP/1.0 keep-alive") == 0) {
        SEND(&cv, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        EXPECT(&cv, r200_keep10);
        SEND(&cv, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        EXPECT(&cv, r200_keep10);
        SEND(&cv, "GET / HTTP/1.0\r\n\r\n");
        EXPECT(&cv, r200_close);
        expect_eof(&cv);
    }
    hang_up(&cv);
    if (dial(&cv, "oversized header") == 0) {
        static char big[HEAD_MAX + 200];
        int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
        memset(big + n, 'x', sizeof big - 1 - (size_t)n);
        send_str(&cv, big, sizeof big - 1);
        EXPECT(&cv, r431);
        expect_eof(&cv);
    }
    hang_up(&cv);
    if (dial(&cv, "chunked body") == 0) {
        SEND(&cv, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        EXPECT(&cv, r501);
        expect_eof(&cv);
    }
    hang_up(&cv);
}

struct server {
    int listener;
    gort_chan *done;
};

static void server_goroutine(void *arg) {
    struct server *s = arg;
    accept_loop(s->listener);
    gort_chan_send(s->done, NULL);
}

struct job {
    gort_waitgroup *wg;
    void (*fn)(void *);
    void *arg;
};

static void run_job(void *p) {
    struct job *j = p;
    j->fn(j->arg);
    gort_waitgroup_done(j->wg);
}

static void self_test(void) {
    int port;
    static struct server srv;
    if ((srv.listener = listen_on(INADDR_LOOPBACK, 0, &port)) < 0) {
        fprintf(stderr, "http_hello: listen: %s\n", gort_strerror(srv.listener));
        gort_exit(1);
    }
    srv.done = gort_chan_make(0, 1);
    if (!srv.done || gort_go(server_goroutine, &srv) < 0)
        gort_exit(1);
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)port);
    server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    gort_waitgroup wg = GORT_WAITGROUP_INIT;
    struct job jobs[NCONN + 1];
    gort_waitgroup_add(&wg, NCONN + 1);
    for (int i = 0; i <= NCONN; i++) {
        jobs[i] = (struct job){&wg, i < NCONN ? client : edge_cases, (void *)(intptr_t)i};
        if (gort_go(run_job, &jobs[i]) < 0)
            gort_exit(1);
    }
    gort_waitgroup_wait(&wg);
    int ok = atomic_load(&failures) == 0;
    long n = atomic_load(&answered);
    if (n == NCONN * NREQ)
        printf("http_hello: %ld requests over %d connections answered\n", n, NCONN);
    if (ok)
        printf("http_hello: bad requests refused, HTTP/1.0 and Connection: close honoured\n");

    /* Closing the listener ends the accept loop; after that every server
     * connection goroutine is counted in server_conns. */
    gort_close(srv.listener);
    gort_chan_recv(srv.done, NULL);
    gort_chan_release(srv.done);
    gort_waitgroup_wait(&server_conns);
    long s200 = atomic_load(&sent_200), s400 = atomic_load(&sent_400), s431 = atomic_load(&sent_431),
         s501 = atomic_load(&sent_501), sc = atomic_load(&served_conns);
    printf("http_hello: server sent %ld x 200, %ld x 400, %ld x 431, %ld x 501 over %ld connections\n", s200, s400,
           s431, s501, sc);
    if (!ok || n != NCONN * NREQ || s200 != NCONN * NREQ + 5 || s400 != 3 || s431 != 1 || s501 != 1 ||
        sc != NCONN + 7) {
        printf("http_hello: FAILED\n");
        gort_exit(1);
    }
    printf("http_hello: ok\n");
}

/* --- main ---------------------------------------------------------------------------- */

static int serve_port = -1;
static int listener;

static void http_main(void *arg) {
    (void)arg;
    if (serve_port < 0)
        self_test();
    else
        accept_loop(listener);
}

int main(int argc, char **argv) {
    if (argc > 2) {
        fprintf(stderr, "usage: %s [PORT]    (no PORT: self-test)\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        char *end;
        long p = strtol(argv[1], &end, 10);
        if (*end || end == argv[1] || p < 0 || p > 65535) {
            fprintf(stderr, "usage: %s [PORT]    (no PORT: self-test)\n", argv[0]);
            return 2;
        }
        if ((listener = listen_on(INADDR_ANY, (int)p, &serve_port)) < 0) {
            fprintf(stderr, "http_hello: listen on port %ld: %s\n", p, gort_strerror(listener));
            return 1;
        }
        printf("http_hello: listening on port %d\n", serve_port);
        fflush(stdout);
    }
    int rc = gort_init(argc, argv);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    if (gort_go(http_main, NULL) < 0)
        return 1;
    rc = gort_mstart();
    fprintf(stderr, "gort_mstart: %s\n", gort_strerror(rc));
    return 1;
}
