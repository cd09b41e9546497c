/* test_select_same_chan: a select with two cases on one channel survives a
 * waker that resumes it while the parking M is still releasing locks.
 *
 * Regression test (Go's TestTimerFairness2 shape). Two goroutines loop on
 *     select { case c <- v: ; case v = <-c: ; case <-timer: }
 * on one shared unbuffered channel c, each with its own gort_after timer.
 * The parking M used to release c's lock and then read the earlier case of
 * c from the parked goroutine's stack; by then the partner could have woken
 * the goroutine through c, and it could have returned: a use-after-return
 * that crashed in 25-90% of runs at 2 Ps. Now each channel is unlocked at
 * the lowest index of its run in lock order and nothing is read after the
 * last unlock (Go's selunlock).
 *
 * Checks, over 40 rounds at GORT_MAXPROCS=2: each goroutine's loop ends by
 * its timer case (index 2, a non-zero time), never with an error; the two
 * goroutines' sends and receives match exactly (sends == receives, because
 * every rendezvous is one send case and one receive case), and there was at
 * least one rendezvous per round in total.
 */
#include "check.h"

#include <stdatomic.h>

enum { ROUNDS = 40 };

static gort_chan *c, *done;
static atomic_long sends, recvs;

static void both(void *arg) {
    (void)arg;
    gort_chan *timer = gort_after(10 * 1000000LL);
    CHECK(timer != NULL);
    long s = 0, r = 0;
    for (;;) {
        int64_t out = 7, in = -1, when = 0;
        gort_select_case sc[3] = {{c, GORT_SELECT_SEND, &out, false},
                                  {c, GORT_SELECT_RECV, &in, false},
                                  {timer, GORT_SELECT_RECV, &when, false}};
        int k = gort_select(sc, 3, -1);
        CHECK(k >= 0 && k <= 2);
        if (k == 0) {
            s++;
        } else if (k == 1) {
            CHECK_EQ(in, 7);
            CHECK(!sc[1].closed);
            r++;
        } else {
            CHECK(!sc[2].closed);
            CHECK(when > 0);
            break;
        }
    }
    CHECK_OK(gort_chan_release(timer));
    atomic_fetch_add(&sends, s);
    atomic_fetch_add(&recvs, r);
    CHECK_OK(gort_chan_send(done, NULL));
}

static void main_g(void *arg) {
    (void)arg;
    long total = 0;
    for (int round = 0; round < ROUNDS; round++) {
        c = gort_chan_make(sizeof(int64_t), 0);
        done = gort_chan_make(0, 0);
        CHECK(c != NULL && done != NULL);
        atomic_store(&sends, 0);
        atomic_store(&recvs, 0);
        CHECK(gort_go(both, NULL) > 0);
        CHECK(gort_go(both, NULL) > 0);
        CHECK_OK(gort_chan_recv(done, NULL));
        CHECK_OK(gort_chan_recv(done, NULL));
        CHECK_EQ(atomic_load(&sends), atomic_load(&recvs));
        total += atomic_load(&sends);
        CHECK_OK(gort_chan_release(c));
        CHECK_OK(gort_chan_release(done));
    }
    CHECK(total >= ROUNDS);
    printf("test_select_same_chan: %d rounds, %ld rendezvous\n", ROUNDS, total);
    exit(0);
}

int main(int argc, char **argv) {
    setenv("GORT_MAXPROCS", "2", 1);
    CHECK_OK(gort_init(argc, argv));
    CHECK(gort_go(main_g, NULL) > 0);
    return gort_mstart();
}
