/* test_chan_api: every channel and select function, with each error code
 * it documents.
 *
 * What:
 *  - before init: gort_chan_make -> NULL; send, recv, try_send, try_recv,
 *    send_timeout, recv_timeout, close, gort_select -> GORT_ENOTINIT (even
 *    with NULL arguments: "not initialised" comes first); retain, release,
 *    len, cap of NULL -> GORT_EINVAL (they need no runtime).
 *  - NULL arguments -> GORT_EINVAL: NULL channel for every call, NULL elem
 *    for a send with elem_size > 0 (send, try_send, send_timeout, a select
 *    send case); NULL cases with n > 0; a bad dir. A NULL elem is fine for
 *    a receive (value discarded) and for elem_size 0 channels.
 *  - gort_chan_make: elem_size 65536 works, 65537 -> NULL; a cap past
 *    INT64_MAX -> NULL (also for elem_size 0); len/cap exact
 *    (cap 0 and cap 3, len following sends and receives, and after close).
 *  - GORT_EAGAIN: try_send on an unbuffered channel with no receiver and on
 *    a full buffer; try_recv on an empty one; gort_select with timeout 0
 *    and nothing ready (also with no cases, and with only NULL channels).
 *  - GORT_ETIMEDOUT: send_timeout / recv_timeout / select with a timeout
 *    (and the call really waited at least that long); timeout 0 tries once
 *    and returns GORT_ETIMEDOUT. A negative timeout waits forever (a value
 *    sent 20 ms later arrives).
 *  - GORT_ECLOSED: close twice; send, try_send, send_timeout on a closed
 *    channel (also when its buffer is full); values buffered before close
 *    are still delivered in order, then recv, try_recv, recv_timeout and a
 *    select receive report GORT_ECLOSED / closed=true with the element
 *    ZEROED (it was filled with 0xA5 garbage first); a select send case on
 *    a closed channel reports closed=true; `closed` is cleared on the cases
 *    not chosen.
 *  - retain/release: a 16 MiB channel (mmap'ed by malloc, so its memory is
 *    visible in mallinfo2().hblkhd) shared by 8 sender goroutines and a
 *    receiver goroutine, each with its own reference, while the creator
 *    drops its reference at once: the channel stays mapped and usable until
 *    the last party releases it, then its memory is returned; every value
 *    arrives exactly once (count and sum).
 *  - child "release_waiting": releasing the last reference while a
 *    goroutine is blocked on the channel aborts with the documented
 *    message (SIGABRT).
 *
 * How: program mode, GORT_MAXPROCS=2; the checks run on the main goroutine
 * (plus helper goroutines). Time checks are lower bounds only.
 */
#define _GNU_SOURCE
#include "check.h"

#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#define MS 1000000LL
#define CAP_NS (60LL * 1000000000LL)

static void garbage(void *p, size_t n) { memset(p, 0xA5, n); }

static int is_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* ------------------------------------------------------------ before init */

static void before_init(void) {
    int64_t v = 1;
    gort_select_case sc = {NULL, GORT_SELECT_RECV, &v, false};
    CHECK(gort_chan_make(sizeof v, 0) == NULL);
    CHECK(gort_chan_make(sizeof v, 4) == NULL);
    CHECK_EQ(gort_chan_send(NULL, &v), GORT_ENOTINIT);
    CHECK_EQ(gort_chan_recv(NULL, &v), GORT_ENOTINIT);
    CHECK_EQ(gort_chan_try_send(NULL, &v), GORT_ENOTINIT);
    CHECK_EQ(gort_chan_try_recv(NULL, &v), GORT_ENOTINIT);
    CHECK_EQ(gort_chan_send_timeout(NULL, &v, 1000), GORT_ENOTINIT);
    CHECK_EQ(gort_chan_recv_timeout(NULL, &v, 1000), GORT_ENOTINIT);
    CHECK_EQ(gort_chan_close(NULL), GORT_ENOTINIT);
    CHECK_EQ(gort_select(&sc, 1, 0), GORT_ENOTINIT);
    CHECK_EQ(gort_select(NULL, 0, 0), GORT_ENOTINIT);
    CHECK_EQ(gort_select(NULL, 3, -1), GORT_ENOTINIT);
    CHECK_EQ(gort_chan_retain(NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_release(NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_len(NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_cap(NULL), GORT_EINVAL);
    printf("before init: ok\n");
}

/* ---------------------------------------------------------- NULL arguments */

static void null_args(void) {
    int64_t v = 7;
    gort_chan *c = gort_chan_make(sizeof v, 1);
    CHECK(c != NULL);
    CHECK_EQ(gort_chan_send(NULL, &v), GORT_EINVAL);
    CHECK_EQ(gort_chan_recv(NULL, &v), GORT_EINVAL);
    CHECK_EQ(gort_chan_try_send(NULL, &v), GORT_EINVAL);
    CHECK_EQ(gort_chan_try_recv(NULL, &v), GORT_EINVAL);
    CHECK_EQ(gort_chan_send_timeout(NULL, &v, 1000), GORT_EINVAL);
    CHECK_EQ(gort_chan_recv_timeout(NULL, &v, 1000), GORT_EINVAL);
    CHECK_EQ(gort_chan_close(NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_retain(NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_release(NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_len(NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_cap(NULL), GORT_EINVAL);
    /* NULL elem on a send with elem_size > 0 */
    CHECK_EQ(gort_chan_send(c, NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_try_send(c, NULL), GORT_EINVAL);
    CHECK_EQ(gort_chan_send_timeout(c, NULL, 1000), GORT_EINVAL);
    CHECK_EQ(gort_chan_len(c), 0); /* nothing was sent by the failed calls */
    /* a NULL elem on a receive discards the value */
    CHECK_EQ(gort_chan_send(c, &v), GORT_OK);
    CHECK_EQ(gort_chan_len(c), 1);
    CHECK_EQ(gort_chan_recv(c, NULL), GORT_OK);
    CHECK_EQ(gort_chan_len(c), 0);
    CHECK_EQ(gort_chan_try_send(c, &v), GORT_OK);
    CHECK_EQ(gort_chan_try_recv(c, NULL), GORT_OK);
    CHECK_EQ(gort_chan_send_timeout(c, &v, 0), GORT_OK);
    CHECK_EQ(gort_chan_recv_timeout(c, NULL, 0), GORT_OK);

    /* select */
    gort_select_case sc[2] = {{c, GORT_SELECT_SEND, NULL, false}, {c, GORT_SELECT_RECV, &v, false}};
    CHECK_EQ(gort_select(NULL, 1, 0), GORT_EINVAL);
    CHECK_EQ(gort_select(NULL, 1, -1), GORT_EINVAL);
    CHECK_EQ(gort_select(sc, 2, 0), GORT_EINVAL); /* send case with NULL elem */
    sc[0].elem = &v;
    sc[1].dir = 0;
    CHECK_EQ(gort_select(sc, 2, 0), GORT_EINVAL); /* bad dir */
    sc[1].dir = 3;
    CHECK_EQ(gort_select(sc, 2, -1), GORT_EINVAL);
    CHECK_EQ(gort_chan_len(c), 0); /* the invalid selects did nothing */
    /* a receive case may have a NULL elem */
    sc[1].dir = GORT_SELECT_RECV;
    sc[1].elem = NULL;
    CHECK_EQ(gort_chan_send(c, &v), GORT_OK);
    CHECK_EQ(gort_select(&sc[1], 1, 0), 0);
    CHECK_EQ(gort_chan_len(c), 0);
    /* a send case with a NULL elem on a NULL channel is never ready, not invalid */
    gort_select_case nil_send = {NULL, GORT_SELECT_SEND, NULL, false};
    CHECK_EQ(gort_select(&nil_send, 1, 0), GORT_EAGAIN);
    CHECK_EQ(gort_chan_release(c), GORT_OK);

    /* elem_size 0 (Go's chan struct{}): NULL elems everywhere */
    gort_chan *z = gort_chan_make(0, 2);
    CHECK(z != NULL);
    CHECK_EQ(gort_chan_send(z, NULL), GORT_OK);
    CHECK_EQ(gort_chan_try_send(z, NULL), GORT_OK);
    CHECK_EQ(gort_chan_try_send(z, NULL), GORT_EAGAIN);
    CHECK_EQ(gort_chan_len(z), 2);
    gort_select_case zs = {z, GORT_SELECT_SEND, NULL, false};
    CHECK_EQ(gort_select(&zs, 1, 0), GORT_EAGAIN);
    CHECK_EQ(gort_chan_recv(z, NULL), GORT_OK);
    CHECK_EQ(gort_select(&zs, 1, 0), 0);
    CHECK_EQ(gort_chan_len(z), 2);
    CHECK_EQ(gort_chan_close(z), GORT_OK);
    CHECK_EQ(gort_chan_recv(z, NULL), GORT_OK);
    CHECK_EQ(gort_chan_recv(z, NULL), GORT_OK);
    CHECK_EQ(gort_chan_recv(z, NULL), GORT_ECLOSED);
    CHECK_EQ(gort_chan_release(z), GORT_OK);
    printf("NULL arguments: ok\n");
}

/* ------------------------------------------------------- make, len, cap */

static void make_len_cap(void) {
    CHECK(gort_chan_make(65537, 0) == NULL);
    CHECK(gort_chan_make(65537, 1) == NULL);
    CHECK(gort_chan_make((size_t)-1, 1) == NULL);
    CHECK(gort_chan_make(8, (size_t)-1) == NULL); /* size overflow */
    /* capacities int64_t cannot hold, even with zero-size elements */
    CHECK(gort_chan_make(0, SIZE_MAX) == NULL);
    CHECK(gort_chan_make(0, (size_t)INT64_MAX + 1) == NULL);
    gort_chan *huge = gort_chan_make(0, (size_t)INT64_MAX);
    CHECK(huge != NULL);
    CHECK_EQ(gort_chan_cap(huge), INT64_MAX);
    CHECK_EQ(gort_chan_len(huge), 0);
    CHECK_EQ(gort_chan_release(huge), GORT_OK);
    gort_chan *big = gort_chan_make(65536, 2);
    CHECK(big != NULL);
    static unsigned char a[65536], b[65536];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (unsigned char)(i * 31 + 7);
    CHECK_EQ(gort_chan_send(big, a), GORT_OK);
    CHECK_EQ(gort_chan_recv(big, b), GORT_OK);
    CHECK_EQ(memcmp(a, b, sizeof a), 0);
    CHECK_EQ(gort_chan_cap(big), 2);
    CHECK_EQ(gort_chan_release(big), GORT_OK);

    gort_chan *u = gort_chan_make(sizeof(int), 0);
    CHECK(u != NULL);
    CHECK_EQ(gort_chan_cap(u), 0);
    CHECK_EQ(gort_chan_len(u), 0);
    CHECK_EQ(gort_chan_release(u), GORT_OK);

    gort_chan *c = gort_chan_make(sizeof(int), 3);
    CHECK(c != NULL);
    CHECK_EQ(gort_chan_cap(c), 3);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(gort_chan_len(c), i);
        CHECK_EQ(gort_chan_send(c, &i), GORT_OK);
    }
    CHECK_EQ(gort_chan_len(c), 3);
    int x = -1;
    CHECK_EQ(gort_chan_recv(c, &x), GORT_OK);
    CHECK_EQ(x, 0);
    CHECK_EQ(gort_chan_len(c), 2);
    CHECK_EQ(gort_chan_close(c), GORT_OK);
    CHECK_EQ(gort_chan_len(c), 2);
    CHECK_EQ(gort_chan_cap(c), 3);
    CHECK_EQ(gort_chan_recv(c, &x), GORT_OK);
    CHECK_EQ(x, 1);
    CHECK_EQ(gort_chan_recv(c, &x), GORT_OK);
    CHECK_EQ(x, 2);
    CHECK_EQ(gort_chan_len(c), 0);
    CHECK_EQ(gort_chan_release(c), GORT_OK);
    printf("make/len/cap: ok\n");
}

/* ------------------------------------------------------------- EAGAIN */

static void eagain(void) {
    int64_t v = 42, r = -1;
    gort_chan *u = gort_chan_make(sizeof v, 0);
    gort_chan *b = gort_chan_make(sizeof v, 2);
    CHECK(u && b);
    CHECK_EQ(gort_chan_try_send(u, &v), GORT_EAGAIN); /* no receiver */
    CHECK_EQ(gort_chan_try_recv(u, &r), GORT_EAGAIN); /* no sender */
    CHECK_EQ(r, -1);                                    /* untouched */
    CHECK_EQ(gort_chan_try_recv(b, &r), GORT_EAGAIN);
    CHECK_EQ(gort_chan_try_send(b, &v), GORT_OK);
    CHECK_EQ(gort_chan_try_send(b, &v), GORT_OK);
    CHECK_EQ(gort_chan_try_send(b, &v), GORT_EAGAIN); /* full */
    CHECK_EQ(gort_chan_len(b), 2);

    gort_select_case sc[3] = {
        {u, GORT_SELECT_SEND, &v, true},
        {u, GORT_SELECT_RECV, &r, true},
        {b, GORT_SELECT_SEND, &v, true},
    };
    CHECK_EQ(gort_select(sc, 3, 0), GORT_EAGAIN);
    CHECK(!sc[0].closed && !sc[1].closed && !sc[2].closed);
    CHECK_EQ(gort_select(NULL, 0, 0), GORT_EAGAIN);
    CHECK_EQ(gort_select(sc, 0, 0), GORT_EAGAIN);
    gort_select_case nils[2] = {{NULL, GORT_SELECT_RECV, &r, false}, {NULL, GORT_SELECT_SEND, &v, false}};
    CHECK_EQ(gort_select(nils, 2, 0), GORT_EAGAIN);
    CHECK_EQ(r, -1);
    /* a ready case next to NULL channels is taken */
    gort_select_case mix[3] = {{NULL, GORT_SELECT_RECV, &r, false}, {b, GORT_SELECT_RECV, &r, false},
                               {NULL, GORT_SELECT_SEND, &v, false}};
    CHECK_EQ(gort_select(mix, 3, 0), 1);
    CHECK_EQ(r, 42);
    CHECK_EQ(gort_chan_len(b), 1);
    CHECK_EQ(gort_chan_release(u), GORT_OK);
    CHECK_EQ(gort_chan_release(b), GORT_OK);
    printf("EAGAIN: ok\n");
}

/* ---------------------------------------------------------- ETIMEDOUT */

static void expect_waited(int64_t t0, int64_t ns, const char *what) {
    int64_t el = gort_nanotime() - t0;
    if (el < ns)
        fprintf(stderr, "%s returned after %lld ns, before its %lld ns timeout\n", what, (long long)el, (long long)ns);
    CHECK(el >= ns);
}

static gort_chan *late_chan;
static void late_sender(void *arg) {
    (void)arg;
    CHECK_OK(gort_sleep(20 * MS));
    int64_t v = 99;
    CHECK_EQ(gort_chan_send(late_chan, &v), GORT_OK);
}
static void late_receiver(void *arg) {
    (void)arg;
    CHECK_OK(gort_sleep(20 * MS));
    int64_t v = -1;
    CHECK_EQ(gort_chan_recv(late_chan, &v), GORT_OK);
    CHECK_EQ(v, 77);
}

static void etimedout(void) {
    int64_t v = 5, r = -1;
    gort_chan *u = gort_chan_make(sizeof v, 0);
    gort_chan *b = gort_chan_make(sizeof v, 1);
    CHECK(u && b);
    CHECK_EQ(gort_chan_send(b, &v), GORT_OK); /* b is full */

    /* timeout 0: one try, reported as ETIMEDOUT */
    CHECK_EQ(gort_chan_send_timeout(u, &v, 0), GORT_ETIMEDOUT);
    CHECK_EQ(gort_chan_send_timeout(b, &v, 0), GORT_ETIMEDOUT);
    CHECK_EQ(gort_chan_recv_timeout(u, &r, 0), GORT_ETIMEDOUT);
    CHECK_EQ(r, -1);

    const int64_t waits[] = {1, 1000, 1 * MS, 10 * MS, 30 * MS};
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        int64_t ns = waits[i], t0;
        t0 = gort_nanotime();
        CHECK_EQ(gort_chan_send_timeout(u, &v, ns), GORT_ETIMEDOUT);
        expect_waited(t0, ns, "send_timeout (unbuffered)");
        t0 = gort_nanotime();
        CHECK_EQ(gort_chan_send_timeout(b, &v, ns), GORT_ETIMEDOUT);
        expect_waited(t0, ns, "send_timeout (full buffer)");
        t0 = gort_nanotime();
        CHECK_EQ(gort_chan_recv_timeout(u, &r, ns), GORT_ETIMEDOUT);
        expect_waited(t0, ns, "recv_timeout");
        CHECK_EQ(r, -1);
        gort_select_case sc[2] = {{u, GORT_SELECT_RECV, &r, true}, {b, GORT_SELECT_SEND, &v, true}};
        t0 = gort_nanotime();
        CHECK_EQ(gort_select(sc, 2, ns), GORT_ETIMEDOUT);
        expect_waited(t0, ns, "select");
        CHECK(!sc[0].closed && !sc[1].closed);
        t0 = gort_nanotime();
        CHECK_EQ(gort_select(NULL, 0, ns), GORT_ETIMEDOUT); /* no cases: just waits */
        expect_waited(t0, ns, "select with no cases");
    }
    /* the timed-out operations left nothing behind */
    CHECK_EQ(gort_chan_len(b), 1);
    CHECK_EQ(gort_chan_try_recv(u, &r), GORT_EAGAIN);
    CHECK_EQ(gort_chan_try_send(u, &v), GORT_EAGAIN);

    /* negative: wait forever, until a sender/receiver arrives 20 ms later */
    late_chan = u;
    CHECK(gort_go(late_sender, NULL) > 0);
    r = -1;
    CHECK_EQ(gort_chan_recv_timeout(u, &r, -1), GORT_OK);
    CHECK_EQ(r, 99);
    CHECK(gort_go(late_receiver, NULL) > 0);
    int64_t s = 77;
    CHECK_EQ(gort_chan_send_timeout(u, &s, -1), GORT_OK);
    CHECK(gort_go(late_sender, NULL) > 0);
    r = -1;
    gort_select_case one = {u, GORT_SELECT_RECV, &r, false};
    CHECK_EQ(gort_select(&one, 1, -1), 0);
    CHECK_EQ(r, 99);
    /* a long timeout does not delay a value that arrives early */
    CHECK(gort_go(late_sender, NULL) > 0);
    r = -1;
    CHECK_EQ(gort_chan_recv_timeout(u, &r, 3600LL * 1000 * MS), GORT_OK);
    CHECK_EQ(r, 99);
    CHECK_EQ(gort_chan_release(u), GORT_OK);
    CHECK_EQ(gort_chan_release(b), GORT_OK);
    printf("ETIMEDOUT: ok\n");
}

/* ------------------------------------------------------------- ECLOSED */

struct blob {
    int64_t a;
    char s[40];
    double d;
};

static void eclosed(void) {
    struct blob v = {1, "one", 1.5}, r;
    gort_chan *b = gort_chan_make(sizeof v, 4);
    CHECK(b != NULL);
    for (int i = 1; i <= 4; i++) {
        v.a = i;
        snprintf(v.s, sizeof v.s, "value %d", i);
        v.d = i * 0.5;
        CHECK_EQ(gort_chan_send(b, &v), GORT_OK);
    }
    CHECK_EQ(gort_chan_close(b), GORT_OK);
    CHECK_EQ(gort_chan_close(b), GORT_ECLOSED); /* close twice */
    /* sends on the closed (and full) channel */
    CHECK_EQ(gort_chan_send(b, &v), GORT_ECLOSED);
    CHECK_EQ(gort_chan_try_send(b, &v), GORT_ECLOSED);
    CHECK_EQ(gort_chan_send_timeout(b, &v, 0), GORT_ECLOSED);
    CHECK_EQ(gort_chan_send_timeout(b, &v, 10 * MS), GORT_ECLOSED);
    CHECK_EQ(gort_chan_send_timeout(b, &v, -1), GORT_ECLOSED);
    CHECK_EQ(gort_chan_len(b), 4);
    /* buffered values are still delivered, in order, by every receive form */
    garbage(&r, sizeof r);
    CHECK_EQ(gort_chan_recv(b, &r), GORT_OK);
    CHECK_EQ(r.a, 1);
    CHECK_EQ(strcmp(r.s, "value 1"), 0);
    garbage(&r, sizeof r);
    CHECK_EQ(gort_chan_try_recv(b, &r), GORT_OK);
    CHECK_EQ(r.a, 2);
    garbage(&r, sizeof r);
    CHECK_EQ(gort_chan_recv_timeout(b, &r, 10 * MS), GORT_OK);
    CHECK_EQ(r.a, 3);
    garbage(&r, sizeof r);
    gort_select_case sc = {b, GORT_SELECT_RECV, &r, true};
    CHECK_EQ(gort_select(&sc, 1, 0), 0);
    CHECK(!sc.closed);
    CHECK_EQ(r.a, 4);
    CHECK_EQ(strcmp(r.s, "value 4"), 0);
    CHECK(r.d == 2.0);
    CHECK_EQ(gort_chan_len(b), 0);
    /* drained: every receive form reports ECLOSED with the element zeroed */
    garbage(&r, sizeof r);
    CHECK_EQ(gort_chan_recv(b, &r), GORT_ECLOSED);
    CHECK(is_zero(&r, sizeof r));
    garbage(&r, sizeof r);
    CHECK_EQ(gort_chan_try_recv(b, &r), GORT_ECLOSED);
    CHECK(is_zero(&r, sizeof r));
    garbage(&r, sizeof r);
    CHECK_EQ(gort_chan_recv_timeout(b, &r, 0), GORT_ECLOSED);
    CHECK(is_zero(&r, sizeof r));
    garbage(&r, sizeof r);
    CHECK_EQ(gort_chan_recv_timeout(b, &r, 10 * MS), GORT_ECLOSED);
    CHECK(is_zero(&r, sizeof r));
    garbage(&r, sizeof r);
    CHECK_EQ(gort_chan_recv_timeout(b, &r, -1), GORT_ECLOSED);
    CHECK(is_zero(&r, sizeof r));
    CHECK_EQ(gort_chan_recv(b, NULL), GORT_ECLOSED);
    for (int64_t t = 0; t <= 1; t++) {
        garbage(&r, sizeof r);
        sc.closed = false;
        CHECK_EQ(gort_select(&sc, 1, t ? -1 : 0), 0);
        CHECK(sc.closed);
        CHECK(is_zero(&r, sizeof r));
    }

    /* select: a closed channel is ready; `closed` is cleared elsewhere */
    struct blob w;
    gort_chan *u = gort_chan_make(sizeof v, 0);
    CHECK(u != NULL);
    gort_select_case cs[3] = {
        {u, GORT_SELECT_RECV, &w, true},
        {b, GORT_SELECT_SEND, &v, false},
        {u, GORT_SELECT_SEND, &v, true},
    };
    for (int rep = 0; rep < 20; rep++) {
        cs[0].closed = cs[2].closed = true;
        cs[1].closed = false;
        CHECK_EQ(gort_select(cs, 3, -1), 1);
        CHECK(cs[1].closed);
        CHECK(!cs[0].closed && !cs[2].closed);
    }
    CHECK_EQ(gort_chan_len(b), 0); /* the "send" did not happen */
    /* a closed unbuffered channel: send case closed, receive case zeroed */
    CHECK_EQ(gort_chan_close(u), GORT_OK);
    int seen[3] = {0, 0, 0};
    for (int rep = 0; rep < 200; rep++) {
        garbage(&w, sizeof w);
        gort_select_case us[2] = {{u, GORT_SELECT_SEND, &v, false}, {u, GORT_SELECT_RECV, &w, false}};
        int k = gort_select(us, 2, 0);
        CHECK(k == 0 || k == 1);
        CHECK(us[k].closed);
        CHECK(!us[1 - k].closed);
        if (k == 1)
            CHECK(is_zero(&w, sizeof w));
        seen[k]++;
    }
    CHECK(seen[0] > 0 && seen[1] > 0); /* both are ready: both get chosen */
    CHECK_EQ(gort_chan_close(u), GORT_ECLOSED);
    CHECK_EQ(gort_chan_release(u), GORT_OK);
    CHECK_EQ(gort_chan_release(b), GORT_OK);
    printf("ECLOSED: ok (select on a closed channel: send %d, recv %d of 200)\n", seen[0], seen[1]);
}

/* a blocked sender and receiver are woken by close */
static gort_chan *wake_chan;
static atomic_int woke_rc[2];
static atomic_int woke_n;
static struct blob woke_elem;
static void blocked_sender(void *arg) {
    (void)arg;
    struct blob v = {9, "x", 9};
    atomic_store(&woke_rc[0], gort_chan_send(wake_chan, &v));
    atomic_fetch_add(&woke_n, 1);
}
static void blocked_receiver(void *arg) {
    (void)arg;
    garbage(&woke_elem, sizeof woke_elem);
    atomic_store(&woke_rc[1], gort_chan_recv(wake_chan, &woke_elem));
    atomic_fetch_add(&woke_n, 1);
}

static void wait_count(atomic_int *v, int want, const char *what) {
    int64_t deadline = check_now_ns() + CAP_NS;
    while (atomic_load(v) < want) {
        if (check_now_ns() > deadline) {
            fprintf(stderr, "hang: %s: %d of %d\n", what, atomic_load(v), want);
            CHECK(0);
        }
        gort_sleep(100000);
    }
}

static void close_wakes(void) {
    /* a full buffered channel: the sender blocks */
    wake_chan = gort_chan_make(sizeof(struct blob), 1);
    struct blob v = {1, "", 0};
    CHECK_EQ(gort_chan_send(wake_chan, &v), GORT_OK);
    atomic_store(&woke_rc[0], 12345);
    CHECK(gort_go(blocked_sender, NULL) > 0);
    gort_sleep(20 * MS);
    CHECK_EQ(atomic_load(&woke_n), 0); /* still blocked */
    CHECK_EQ(gort_chan_close(wake_chan), GORT_OK);
    wait_count(&woke_n, 1, "sender woken by close");
    CHECK_EQ(atomic_load(&woke_rc[0]), GORT_ECLOSED);
    CHECK_EQ(gort_chan_len(wake_chan), 1);
    CHECK_EQ(gort_chan_recv(wake_chan, &v), GORT_OK);
    CHECK_EQ(v.a, 1); /* the blocked sender's value was not added */
    CHECK_EQ(gort_chan_recv(wake_chan, &v), GORT_ECLOSED);
    CHECK_EQ(gort_chan_release(wake_chan), GORT_OK);

    /* an unbuffered channel: the receiver blocks */
    atomic_store(&woke_n, 0);
    wake_chan = gort_chan_make(sizeof(struct blob), 0);
    atomic_store(&woke_rc[1], 12345);
    CHECK(gort_go(blocked_receiver, NULL) > 0);
    gort_sleep(20 * MS);
    CHECK_EQ(atomic_load(&woke_n), 0);
    CHECK_EQ(gort_chan_close(wake_chan), GORT_OK);
    wait_count(&woke_n, 1, "receiver woken by close");
    CHECK_EQ(atomic_load(&woke_rc[1]), GORT_ECLOSED);
    CHECK(is_zero(&woke_elem, sizeof woke_elem));
    CHECK_EQ(gort_chan_release(wake_chan), GORT_OK);
    printf("close wakes a blocked sender and receiver: ok\n");
}

/* ------------------------------------------------------ retain / release */

enum { NSEND = 8, PER = 1000 };
static gort_chan *shared;
static gort_waitgroup rr_wg = GORT_WAITGROUP_INIT;
static size_t big_bytes, base_mapped;
static atomic_llong rr_sum;
static atomic_int rr_mapped_ok;

static size_t mapped(void) { return mallinfo2().hblkhd; }

static void rr_sender(void *arg) {
    int64_t id = (int64_t)(intptr_t)arg;
    for (int64_t i = 0; i < PER; i++) {
        int64_t v = id * PER + i;
        CHECK_EQ(gort_chan_send(shared, &v), GORT_OK);
        if (i % 100 == 0)
            gort_yield();
    }
    /* still alive: our reference keeps the memory mapped */
    if (mapped() >= base_mapped + big_bytes)
        atomic_fetch_add(&rr_mapped_ok, 1);
    CHECK_EQ(gort_chan_release(shared), GORT_OK);
    gort_waitgroup_done(&rr_wg);
}

static void rr_receiver(void *arg) {
    (void)arg;
    int64_t v, sum = 0;
    for (int i = 0; i < NSEND * PER; i++) {
        CHECK_EQ(gort_chan_recv(shared, &v), GORT_OK);
        sum += v;
    }
    CHECK_EQ(gort_chan_try_recv(shared, &v), GORT_EAGAIN);
    atomic_store(&rr_sum, sum);
    if (mapped() >= base_mapped + big_bytes)
        atomic_fetch_add(&rr_mapped_ok, 1);
    CHECK_EQ(gort_chan_release(shared), GORT_OK);
    gort_waitgroup_done(&rr_wg);
}

static void retain_release(void) {
    if (check_sanitizer()) {
        /* the sanitizer's allocator ignores mallopt and mallinfo2 */
        printf("retain/release: skipped under -fsanitize=%s (glibc malloc statistics)\n", check_sanitizer());
        return;
    }
    /* a fixed mmap threshold: a 16 MiB buffer is always mmap'ed, and freeing
     * it is visible as hblkhd going down */
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
    const size_t cap = 2u << 20; /* 2 Mi x 8 bytes */
    big_bytes = cap * sizeof(int64_t);
    base_mapped = mapped();
    shared = gort_chan_make(sizeof(int64_t), cap);
    CHECK(shared != NULL);
    CHECK(mapped() >= base_mapped + big_bytes);
    CHECK_EQ(gort_chan_cap(shared), (long long)cap);
    CHECK_EQ(gort_waitgroup_add(&rr_wg, NSEND + 1), GORT_OK);
    CHECK_EQ(gort_chan_retain(shared), GORT_OK); /* for the receiver */
    CHECK(gort_go(rr_receiver, NULL) > 0);
    for (int s = 0; s < NSEND; s++) {
        CHECK_EQ(gort_chan_retain(shared), GORT_OK);
        CHECK(gort_go(rr_sender, (void *)(intptr_t)s) > 0);
    }
    /* the creator's reference goes first; the others keep it alive */
    CHECK_EQ(gort_chan_release(shared), GORT_OK);
    CHECK_EQ(gort_waitgroup_wait(&rr_wg), GORT_OK);
    long long n = NSEND * PER;
    CHECK_EQ(atomic_load(&rr_sum), n * (n - 1) / 2);
    CHECK_EQ(atomic_load(&rr_mapped_ok), NSEND + 1);
    size_t after = mapped();
    if (after >= base_mapped + big_bytes)
        fprintf(stderr, "channel memory not freed after the last release: %zu mapped, base %zu\n", after,
                base_mapped);
    CHECK(after < base_mapped + big_bytes);

    /* retain/release pairs on a live channel do not free it */
    gort_chan *c = gort_chan_make(sizeof(int64_t), cap);
    CHECK(c != NULL);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(gort_chan_retain(c), GORT_OK);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(gort_chan_release(c), GORT_OK);
    CHECK(mapped() >= base_mapped + big_bytes);
    int64_t v = 3;
    CHECK_EQ(gort_chan_send(c, &v), GORT_OK);
    CHECK_EQ(gort_chan_recv(c, &v), GORT_OK);
    CHECK_EQ(v, 3);
    CHECK_EQ(gort_chan_release(c), GORT_OK);
    CHECK(mapped() < base_mapped + big_bytes);
    printf("retain/release: ok (%d parties, memory returned after the last release)\n", NSEND + 2);
}

/* ------------------------------------------------------- child: misuse */

static gort_chan *doomed;
static void doomed_receiver(void *arg) {
    (void)arg;
    int v;
    gort_chan_recv(doomed, &v);
    fprintf(stderr, "doomed receiver returned\n");
}
static void child_release_waiting(void *arg) {
    (void)arg;
    doomed = gort_chan_make(sizeof(int), 0);
    CHECK(doomed != NULL);
    CHECK(gort_go(doomed_receiver, NULL) > 0);
    gort_sleep(20 * MS); /* let it block */
    fprintf(stderr, "RELEASING\n");
    gort_chan_release(doomed);
    fprintf(stderr, "release returned\n");
    gort_exit(3);
}

static void main_g(void *arg) {
    (void)arg;
    null_args();
    make_len_cap();
    eagain();
    etimedout();
    eclosed();
    close_wakes();
    retain_release();

    static char out[1 << 14];
    char *args[] = {(char *)"release_waiting", NULL};
    int st = check_run_self(args, NULL, out, sizeof out);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
        fprintf(stderr, "child release_waiting: status 0x%x; stderr:\n%s\n", st, out);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGABRT);
    CHECK(strstr(out, "RELEASING") != NULL);
    CHECK(strstr(out, "last reference released while goroutines or threads wait") != NULL);
    CHECK(strstr(out, "release returned") == NULL);
    printf("release with a blocked receiver: aborts with the documented message\n");
    printf("test_chan_api: ok\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setenv("GORT_MAXPROCS", "2", 1);
    if (argc > 1 && !strcmp(argv[1], "release_waiting"))
        return check_run_main(argc, argv, child_release_waiting);
    before_init();
    return check_run_main(argc, argv, main_g);
}
