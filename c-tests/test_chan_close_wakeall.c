/* test_chan_close_wakeall: gort_chan_close wakes every blocked receiver
 * and sender, each with GORT_ECLOSED, receivers with a zeroed element.
 *
 * What, in one re-exec'ed child per GORT_MAXPROCS value (1 and 2):
 *  - 10,000 goroutines + 4 host threads blocked in gort_chan_recv on an
 *    unbuffered channel, each with its 40-byte element pre-filled with 0xA5
 *    garbage: after close, exactly 10,004 receives return GORT_ECLOSED with
 *    the element all zero (none returns anything else).
 *  - the same on an empty buffered channel (cap 16).
 *  - 1,000 goroutines blocked in gort_select on {closing channel, a channel
 *    nobody uses}: every select returns 0 with closed=true and the element
 *    zeroed; `closed` of the other case is false.
 *  - 10,000 goroutines + 4 host threads blocked in gort_chan_send on an
 *    unbuffered channel: exactly 10,004 sends return GORT_ECLOSED.
 *  - the same on a full buffered channel (cap 8): the 8 values buffered
 *    before close are then still received, in order, and the next receive
 *    is GORT_ECLOSED (no blocked sender's value got in).
 * Before each close the parties are given time to block (at
 * GORT_MAXPROCS=1 all of them have parked when the main goroutine runs
 * again); a party that had not blocked yet must see the same result.
 *
 * How: program mode; per-group result counters; a SIGALRM cap turns a hang
 * (a party never woken) into a failure that names the phase and counts.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

enum { NG = 10000, NT = 4, NSEL = 1000, BUFCAP = 8 };
#define CAP_S 240
#define MS 1000000LL

struct elem {
    int64_t a, b;
    char s[24];
};

static const char *volatile phase = "start";
static atomic_int arrived, good, bad;

static void on_alarm(int sig) {
    (void)sig;
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "hang: test_chan_close_wakeall did not finish within the cap; phase: %s; arrived %d, woken ok "
                     "%d, wrong %d\n",
                     phase, atomic_load(&arrived), atomic_load(&good), atomic_load(&bad));
    ssize_t r = write(2, buf, (size_t)n);
    (void)r;
    _exit(1);
}

static int is_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static gort_chan *ch, *never;

static void do_recv(void) {
    struct elem e;
    memset(&e, 0xA5, sizeof e);
    atomic_fetch_add(&arrived, 1);
    int rc = gort_chan_recv(ch, &e);
    if (rc == GORT_ECLOSED && is_zero(&e, sizeof e))
        atomic_fetch_add(&good, 1);
    else {
        fprintf(stderr, "receiver: rc %d (%s), element zeroed: %d\n", rc, gort_strerror(rc), is_zero(&e, sizeof e));
        atomic_fetch_add(&bad, 1);
    }
}

static void do_send(void) {
    struct elem e = {-1, -2, "blocked sender"};
    atomic_fetch_add(&arrived, 1);
    int rc = gort_chan_send(ch, &e);
    if (rc == GORT_ECLOSED)
        atomic_fetch_add(&good, 1);
    else {
        fprintf(stderr, "sender: rc %d (%s)\n", rc, gort_strerror(rc));
        atomic_fetch_add(&bad, 1);
    }
}

static void recv_g(void *arg) {
    (void)arg;
    do_recv();
}
static void send_g(void *arg) {
    (void)arg;
    do_send();
}
static void *recv_t(void *arg) {
    (void)arg;
    do_recv();
    return NULL;
}
static void *send_t(void *arg) {
    (void)arg;
    do_send();
    return NULL;
}

static void select_g(void *arg) {
    (void)arg;
    struct elem e, f;
    memset(&e, 0xA5, sizeof e);
    memset(&f, 0x5A, sizeof f);
    gort_select_case sc[2] = {{never, GORT_SELECT_RECV, &f, true}, {ch, GORT_SELECT_RECV, &e, false}};
    atomic_fetch_add(&arrived, 1);
    int k = gort_select(sc, 2, -1);
    unsigned char f0 = ((unsigned char *)&f)[0];
    if (k == 1 && sc[1].closed && !sc[0].closed && is_zero(&e, sizeof e) && f0 == 0x5A)
        atomic_fetch_add(&good, 1);
    else {
        fprintf(stderr, "select: k %d, closed %d/%d, zeroed %d\n", k, sc[0].closed, sc[1].closed,
                is_zero(&e, sizeof e));
        atomic_fetch_add(&bad, 1);
    }
}

static void wait_for(atomic_int *v, int want) {
    while (atomic_load(v) < want)
        gort_sleep(MS);
}

/* Starts ng goroutines running fg and nt threads running ft, waits until
 * all of them are about to block, closes ch, and checks every one of them
 * reported the expected result. */
static void group(const char *name, int ng, void (*fg)(void *), int nt, void *(*ft)(void *)) {
    phase = name;
    atomic_store(&arrived, 0);
    atomic_store(&good, 0);
    atomic_store(&bad, 0);
    pthread_t th[NT];
    for (int i = 0; i < nt; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, ft, NULL), 0);
    for (int i = 0; i < ng; i++)
        CHECK(gort_go(fg, NULL) > 0);
    wait_for(&arrived, ng + nt);
    gort_sleep(20 * MS); /* let the last ones block */
    CHECK_EQ(atomic_load(&good) + atomic_load(&bad), 0); /* nobody got through */
    CHECK_EQ(gort_chan_close(ch), GORT_OK);
    wait_for(&good, ng + nt - atomic_load(&bad));
    for (int i = 0; i < nt; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&good), ng + nt);
    fprintf(stderr, "%s: %d woken with GORT_ECLOSED\n", name, atomic_load(&good));
}

static void child_main(void *arg) {
    (void)arg;
    never = gort_chan_make(sizeof(struct elem), 0);

    ch = gort_chan_make(sizeof(struct elem), 0);
    group("RECV unbuffered", NG, recv_g, NT, recv_t);
    CHECK_EQ(gort_chan_release(ch), GORT_OK);

    ch = gort_chan_make(sizeof(struct elem), 16);
    group("RECV buffered", NG, recv_g, NT, recv_t);
    CHECK_EQ(gort_chan_release(ch), GORT_OK);

    ch = gort_chan_make(sizeof(struct elem), 0);
    group("SELECT", NSEL, select_g, 0, NULL);
    CHECK_EQ(gort_chan_release(ch), GORT_OK);

    ch = gort_chan_make(sizeof(struct elem), 0);
    group("SEND unbuffered", NG, send_g, NT, send_t);
    CHECK_EQ(gort_chan_release(ch), GORT_OK);

    ch = gort_chan_make(sizeof(struct elem), BUFCAP);
    for (int64_t i = 0; i < BUFCAP; i++) {
        struct elem e = {i, i * 10, "buffered"};
        CHECK_EQ(gort_chan_send(ch, &e), GORT_OK);
    }
    group("SEND full buffer", NG, send_g, NT, send_t);
    for (int64_t i = 0; i < BUFCAP; i++) {
        struct elem e;
        CHECK_EQ(gort_chan_recv(ch, &e), GORT_OK);
        CHECK_EQ(e.a, i);
        CHECK_EQ(e.b, i * 10);
        CHECK_EQ(strcmp(e.s, "buffered"), 0);
    }
    struct elem e;
    memset(&e, 0xA5, sizeof e);
    CHECK_EQ(gort_chan_recv(ch, &e), GORT_ECLOSED);
    CHECK(is_zero(&e, sizeof e));
    CHECK_EQ(gort_chan_release(ch), GORT_OK);
    CHECK_EQ(gort_chan_release(never), GORT_OK);
    fprintf(stderr, "CHILD OK\n");
}

int main(int argc, char **argv) {
    CHECK_SKIP_UNDER_TSAN("10,000 goroutines parked at once");
    if (argc > 2 && !strcmp(argv[1], "child")) {
        signal(SIGALRM, on_alarm);
        alarm(CAP_S);
        setenv("GORT_MAXPROCS", argv[2], 1);
        return check_run_main(argc, argv, child_main);
    }
    static const char *const procs[] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        static char out[1 << 16];
        char *args[] = {(char *)"child", (char *)procs[i], NULL};
        int64_t t0 = check_now_ns();
        int st = check_run_self(args, NULL, out, sizeof out);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "child GORT_MAXPROCS=%s: status 0x%x; stderr:\n%s\n", procs[i], st, out);
        CHECK(WIFEXITED(st));
        CHECK_EQ(WEXITSTATUS(st), 0);
        CHECK(strstr(out, "RECV unbuffered: 10004 woken") != NULL);
        CHECK(strstr(out, "RECV buffered: 10004 woken") != NULL);
        CHECK(strstr(out, "SELECT: 1000 woken") != NULL);
        CHECK(strstr(out, "SEND unbuffered: 10004 woken") != NULL);
        CHECK(strstr(out, "SEND full buffer: 10004 woken") != NULL);
        CHECK(strstr(out, "CHILD OK") != NULL);
        printf("GORT_MAXPROCS=%s (%.0f ms):\n%s", procs[i], (check_now_ns() - t0) / 1e6, out);
    }
    printf("test_chan_close_wakeall: ok\n");
    return 0;
}
