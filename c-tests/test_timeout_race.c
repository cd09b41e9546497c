/* test_timeout_race: timed receives racing with a sender lose nothing.
 *
 * Regression test. A receiver takes 0..N-1 with very short timeouts (0-20
 * us, so most attempts time out while the sender is about to hand over),
 * once with gort_chan_recv_timeout and once with a timed gort_select; the
 * sender uses blocking sends and random short sleeps. A timed park used to
 * arm its timer after releasing the channel lock, so a sender could claim
 * the waiter, the timer fire for a stale park, and the runtime abort with
 * "goready: goroutine not waiting" (seen under qemu-aarch64).
 *
 * Checks, at GORT_MAXPROCS=2: every value arrives exactly once and in order
 * (each receive is GORT_OK with the next value, or GORT_ETIMEDOUT /
 * GORT_EAGAIN with the element untouched), in both modes.
 */
#include "check.h"

static long N = 60000;
static gort_chan *c, *never;
static gort_waitgroup wg;

static unsigned rnd(unsigned *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void sender(void *arg) {
    (void)arg;
    unsigned seed = 99;
    for (int64_t i = 0; i < N; i++) {
        CHECK_OK(gort_chan_send(c, &i));
        if (rnd(&seed) % 4 == 0)
            CHECK_OK(gort_sleep(rnd(&seed) % 30000));
    }
    CHECK_OK(gort_waitgroup_done(&wg));
}

static long timeouts[2];

static void receiver(void *arg) {
    int use_select = (int)(long)arg;
    unsigned seed = 12345;
    for (int64_t i = 0; i < N; i++) {
        for (;;) {
            int64_t v = -1, junk = -1;
            int64_t to = 1 + rnd(&seed) % 20000;
            int rc;
            if (use_select) {
                gort_select_case sc[2] = {{c, GORT_SELECT_RECV, &v, false}, {never, GORT_SELECT_RECV, &junk, false}};
                rc = gort_select(sc, 2, to);
                CHECK(rc == 0 || rc == GORT_ETIMEDOUT);
                CHECK_EQ(junk, -1);
                if (rc == 0)
                    CHECK(!sc[0].closed);
            } else {
                rc = gort_chan_recv_timeout(c, &v, to);
                CHECK(rc == GORT_OK || rc == GORT_ETIMEDOUT);
            }
            if (rc == GORT_ETIMEDOUT) {
                CHECK_EQ(v, -1);
                timeouts[use_select]++;
                continue;
            }
            CHECK_EQ(v, i);
            break;
        }
    }
    CHECK_OK(gort_waitgroup_done(&wg));
}

static void main_g(void *arg) {
    (void)arg;
    for (int mode = 0; mode < 2; mode++) {
        c = gort_chan_make(sizeof(int64_t), 0);
        never = gort_chan_make(sizeof(int64_t), 0);
        CHECK(c != NULL && never != NULL);
        CHECK_OK(gort_waitgroup_add(&wg, 2));
        CHECK(gort_go(sender, NULL) > 0);
        CHECK(gort_go(receiver, (void *)(long)mode) > 0);
        CHECK_OK(gort_waitgroup_wait(&wg));
        CHECK_EQ(gort_chan_len(c), 0);
        CHECK_OK(gort_chan_release(c));
        CHECK_OK(gort_chan_release(never));
    }
    printf("test_timeout_race: %ld values twice; %ld recv_timeout and %ld select timeouts\n", N, timeouts[0],
           timeouts[1]);
    exit(0);
}

int main(int argc, char **argv) {
    setenv("GORT_MAXPROCS", "2", 1);
    if (getenv("GORT_TEST_N"))
        N = atol(getenv("GORT_TEST_N"));
    CHECK_OK(gort_init(argc, argv));
    CHECK(gort_go(main_g, NULL) > 0);
    return gort_mstart();
}
