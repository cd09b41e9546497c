/* test_select_fairness: gort_select picks uniformly among ready cases.
 *
 * What: 100,000 selects over 4 cases that are always ready; each case must
 * be chosen between 20% and 30% of the time (uniform is 25%; the standard
 * deviation of one count is ~0.14%, so this cannot fail by chance but
 * catches a fixed or biased order). Four shapes:
 *  - 4 receive cases on buffered channels kept non-empty (after each
 *    select the chosen channel is refilled), checking each received value
 *    is the one that channel holds;
 *  - 4 send cases on buffered channels that always have room (the chosen
 *    one is drained after each select);
 *  - 2 receive + 2 send cases, mixed, with timeout 0 (Go's default:) and
 *    with a timeout;
 *  - the receive shape again on a host thread (whose random source is not
 *    an M's).
 * Plus: with a fifth, never-ready case (an empty channel and a NULL
 * channel) the 4 ready ones still share 20-30% each and the never-ready
 * one is never chosen.
 *
 * How: program mode, GORT_MAXPROCS=1, all on one goroutine (or thread), so
 * readiness is fully deterministic.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>

enum { N = 100000, NC = 4 };

static void check_share(const char *what, const long counts[], int n) {
    printf("%-34s", what);
    for (int i = 0; i < n; i++)
        printf(" %6.2f%%", 100.0 * counts[i] / N);
    printf("\n");
    for (int i = 0; i < n; i++) {
        if (counts[i] < N / 5 || counts[i] > N * 3 / 10)
            fprintf(stderr, "%s: case %d chosen %ld of %d times (outside 20%%..30%%)\n", what, i, counts[i], N);
        CHECK(counts[i] >= N / 5);
        CHECK(counts[i] <= N * 3 / 10);
    }
}

static void recv_shape(const char *what, int extra) {
    gort_chan *c[NC];
    for (int i = 0; i < NC; i++) {
        c[i] = gort_chan_make(sizeof(int64_t), 4);
        CHECK(c[i] != NULL);
        for (int k = 0; k < 2; k++) {
            int64_t v = i;
            CHECK_EQ(gort_chan_send(c[i], &v), GORT_OK);
        }
    }
    gort_chan *empty = gort_chan_make(sizeof(int64_t), 4);
    long counts[NC + 2] = {0};
    for (int n = 0; n < N; n++) {
        int64_t got[NC + 2];
        gort_select_case sc[NC + 2];
        for (int i = 0; i < NC; i++)
            sc[i] = (gort_select_case){c[i], GORT_SELECT_RECV, &got[i], false};
        sc[NC] = (gort_select_case){empty, GORT_SELECT_RECV, &got[NC], false};
        sc[NC + 1] = (gort_select_case){NULL, GORT_SELECT_RECV, &got[NC + 1], false};
        int k = gort_select(sc, NC + (extra ? 2 : 0), n % 2 ? 0 : -1);
        CHECK(k >= 0 && k < NC);
        CHECK_EQ(got[k], k);
        CHECK(!sc[k].closed);
        counts[k]++;
        int64_t v = k;
        CHECK_EQ(gort_chan_send(c[k], &v), GORT_OK); /* refill */
    }
    check_share(what, counts, NC);
    for (int i = 0; i < NC; i++) {
        CHECK_EQ(gort_chan_len(c[i]), 2);
        CHECK_EQ(gort_chan_release(c[i]), GORT_OK);
    }
    CHECK_EQ(gort_chan_release(empty), GORT_OK);
}

static void send_shape(void) {
    gort_chan *c[NC];
    for (int i = 0; i < NC; i++)
        c[i] = gort_chan_make(sizeof(int64_t), 2);
    long counts[NC] = {0};
    for (int n = 0; n < N; n++) {
        int64_t vals[NC];
        gort_select_case sc[NC];
        for (int i = 0; i < NC; i++) {
            vals[i] = 100 + i;
            sc[i] = (gort_select_case){c[i], GORT_SELECT_SEND, &vals[i], false};
        }
        int k = gort_select(sc, NC, n % 2 ? 0 : -1);
        CHECK(k >= 0 && k < NC);
        counts[k]++;
        int64_t v = -1;
        CHECK_EQ(gort_chan_try_recv(c[k], &v), GORT_OK); /* drain */
        CHECK_EQ(v, 100 + k);
        for (int i = 0; i < NC; i++)
            CHECK_EQ(gort_chan_len(c[i]), 0);
    }
    check_share("4 send cases", counts, NC);
    for (int i = 0; i < NC; i++)
        CHECK_EQ(gort_chan_release(c[i]), GORT_OK);
}

static void mixed_shape(int64_t timeout, const char *what) {
    gort_chan *r0 = gort_chan_make(sizeof(int64_t), 4), *r1 = gort_chan_make(sizeof(int64_t), 4);
    gort_chan *s0 = gort_chan_make(sizeof(int64_t), 4), *s1 = gort_chan_make(sizeof(int64_t), 4);
    int64_t one = 1, two = 2;
    CHECK_EQ(gort_chan_send(r0, &one), GORT_OK);
    CHECK_EQ(gort_chan_send(r1, &two), GORT_OK);
    long counts[4] = {0};
    for (int n = 0; n < N; n++) {
        int64_t a = 0, b = 0, x = 10, y = 20;
        gort_select_case sc[4] = {
            {r0, GORT_SELECT_RECV, &a, false},
            {s0, GORT_SELECT_SEND, &x, false},
            {r1, GORT_SELECT_RECV, &b, false},
            {s1, GORT_SELECT_SEND, &y, false},
        };
        int k = gort_select(sc, 4, timeout);
        CHECK(k >= 0 && k < 4);
        counts[k]++;
        int64_t v = 0;
        switch (k) {
        case 0:
            CHECK_EQ(a, 1);
            CHECK_EQ(gort_chan_send(r0, &one), GORT_OK);
            break;
        case 1:
            CHECK_EQ(gort_chan_try_recv(s0, &v), GORT_OK);
            CHECK_EQ(v, 10);
            break;
        case 2:
            CHECK_EQ(b, 2);
            CHECK_EQ(gort_chan_send(r1, &two), GORT_OK);
            break;
        case 3:
            CHECK_EQ(gort_chan_try_recv(s1, &v), GORT_OK);
            CHECK_EQ(v, 20);
            break;
        }
    }
    check_share(what, counts, 4);
    gort_chan_release(r0);
    gort_chan_release(r1);
    gort_chan_release(s0);
    gort_chan_release(s1);
}

static void *thread_shape(void *arg) {
    (void)arg;
    CHECK_EQ(gort_goid(), 0);
    recv_shape("4 receive cases on a host thread", 0);
    return NULL;
}

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 1);
    recv_shape("4 receive cases", 0);
    recv_shape("4 ready + 2 never-ready cases", 1);
    send_shape();
    mixed_shape(0, "2 receive + 2 send, timeout 0");
    mixed_shape(1000000000, "2 receive + 2 send, timeout 1 s");
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_shape, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    printf("test_select_fairness: ok\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setenv("GORT_MAXPROCS", "1", 1);
    return check_run_main(argc, argv, main_g);
}
