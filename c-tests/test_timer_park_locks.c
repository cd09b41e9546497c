/* test_timer_park_locks: timers never run while a parking goroutine still
 * holds the channel locks its post-switch action will release.
 *
 * Regression test. A goroutine parks on a channel holding that channel's
 * lock until it is saved; the scheduler used to run due timers while picking
 * the next goroutine, still on the parking goroutine's stack. A gort_after
 * timer whose callback sends on that very channel then waited forever for
 * the lock. Here, at GORT_MAXPROCS=1: take a gort_after(1 ms) channel,
 * busy-wait 20 ms without a scheduling point so the timer is overdue but has
 * not run, then receive from it (plain recv, recv_timeout, select). The
 * receive parks, the timer must run after the switch and hand its time
 * straight to us: GORT_OK and a time >= start + 1 ms. Then the full-buffer
 * case: a sender blocked on a full after-channel while its timer is due.
 * A watchdog thread fails the test if it hangs.
 */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_int finished;

static void *watchdog(void *arg) {
    (void)arg;
    for (int i = 0; i < 300; i++) {
        if (atomic_load(&finished))
            return NULL;
        usleep(100000);
    }
    fprintf(stderr, "test_timer_park_locks: hung for 30 s (timer ran under a held channel lock)\n");
    _exit(1);
}

static void busy_wait_ns(int64_t ns) {
    int64_t end = check_now_ns() + ns;
    while (check_now_ns() < end) {
    }
}

static void real_main(void *arg) {
    (void)arg;
    pthread_t w;
    CHECK(pthread_create(&w, NULL, watchdog, NULL) == 0);
    for (int round = 0; round < 3; round++) {
        int64_t start = gort_nanotime();
        gort_chan *a = gort_after(1000000);
        CHECK(a != NULL);
        busy_wait_ns(20000000); /* the timer is overdue but has not run */
        int64_t when = 0;
        if (round == 0) {
            CHECK_EQ(gort_chan_recv(a, &when), GORT_OK);
        } else if (round == 1) {
            CHECK_EQ(gort_chan_recv_timeout(a, &when, 5000000000LL), GORT_OK);
        } else {
            gort_select_case cs[1] = {{a, GORT_SELECT_RECV, &when, false}};
            CHECK_EQ(gort_select(cs, 1, -1), 0);
            CHECK(!cs[0].closed);
        }
        CHECK(when >= start + 1000000);
        CHECK_EQ(gort_chan_release(a), GORT_OK);
    }
    /* Full buffer: our own element fills it, the overdue timer's send must
     * fail harmlessly while we block on a second send. */
    gort_chan *a = gort_after(1000000);
    int64_t mine = 7, again = 8, got = 0;
    CHECK_EQ(gort_chan_try_send(a, &mine), GORT_OK);
    busy_wait_ns(20000000);
    CHECK_EQ(gort_chan_send_timeout(a, &again, 50000000), GORT_ETIMEDOUT);
    CHECK_EQ(gort_chan_len(a), 1);
    CHECK_EQ(gort_chan_recv(a, &got), GORT_OK);
    CHECK_EQ(got, mine);
    CHECK_EQ(gort_chan_release(a), GORT_OK);
    atomic_store(&finished, 1);
    pthread_join(w, NULL);
    printf("test_timer_park_locks: ok\n");
}

int main(int argc, char **argv) {
    setenv("GORT_MAXPROCS", "1", 1);
    return check_run_main(argc, argv, real_main);
}
