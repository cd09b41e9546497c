/* test_timer_fairness: a timer fires even while goroutines keep a channel
 * permanently busy (Go's TestTimerFairness and TestTimerFairness2).
 *
 * What, in one re-exec'ed child per GORT_MAXPROCS value (1 and 2):
 *  - TimerFairness: two goroutines loop on select { c <- true; <-done };
 *    the main goroutine loops on select { <-c; <-gort_after(20 ms) }. The
 *    channel c is always ready, yet the timer case must win eventually:
 *    the main goroutine gets the timer's value, which is >= start + 20 ms,
 *    then closes done and both senders return (their select reports done
 *    closed).
 *  - TimerFairness2: two goroutines each with their own gort_after(20 ms)
 *    loop on select { c <- true; <-c; <-timer }; each must see its timer
 *    (value >= its start + 20 ms) and report on done; main waits for both.
 * A broken implementation (timers starved by the busy channel) would loop
 * forever: every loop checks the clock every 1024 iterations and fails
 * with "timer never fired" after 30 s (a generous cap, not a timing
 * assertion). The number of channel operations before the timer won is
 * printed.
 */
#define _GNU_SOURCE
#include "check.h"

#include <stdatomic.h>
#include <stdbool.h>

#define MS 1000000LL
#define CAP_NS (30LL * 1000000000LL)

static gort_chan *c, *done;
static gort_waitgroup wg = GORT_WAITGROUP_INIT;

static void over_cap(int64_t start, long iters, const char *who) {
    if (gort_nanotime() - start > CAP_NS) {
        fprintf(stderr, "%s: timer never fired: %ld channel operations in 30 s and the 20 ms timer case never won\n",
                who, iters);
        CHECK(0);
    }
}

/* ---------------------------------------------------------- TimerFairness */

static void busy_sender(void *arg) {
    (void)arg;
    bool t = true, junk;
    for (;;) {
        gort_select_case sc[2] = {{c, GORT_SELECT_SEND, &t, false}, {done, GORT_SELECT_RECV, &junk, false}};
        int k = gort_select(sc, 2, -1);
        CHECK(k == 0 || k == 1);
        CHECK(!sc[0].closed);
        if (k == 1) {
            CHECK(sc[1].closed); /* done is only ever closed */
            break;
        }
    }
    CHECK_EQ(gort_waitgroup_done(&wg), GORT_OK);
}

static void timer_fairness(void) {
    c = gort_chan_make(sizeof(bool), 0);
    done = gort_chan_make(sizeof(bool), 0);
    CHECK(c && done);
    CHECK_EQ(gort_waitgroup_add(&wg, 2), GORT_OK);
    for (int i = 0; i < 2; i++)
        CHECK(gort_go(busy_sender, NULL) > 0);
    int64_t start = gort_nanotime();
    gort_chan *timer = gort_after(20 * MS);
    CHECK(timer != NULL);
    long iters = 0;
    int64_t fired_at = 0;
    for (;;) {
        bool b = false;
        int64_t when = 0;
        gort_select_case sc[2] = {{c, GORT_SELECT_RECV, &b, false}, {timer, GORT_SELECT_RECV, &when, false}};
        int k = gort_select(sc, 2, -1);
        CHECK(k == 0 || k == 1);
        CHECK(!sc[k].closed);
        if (k == 1) {
            fired_at = when;
            break;
        }
        CHECK(b);
        if (++iters % 1024 == 0)
            over_cap(start, iters, "TimerFairness");
    }
    CHECK(fired_at >= start + 20 * MS);
    CHECK(fired_at <= gort_nanotime());
    CHECK_EQ(gort_chan_close(done), GORT_OK);
    CHECK_EQ(gort_waitgroup_wait(&wg), GORT_OK);
    CHECK_EQ(gort_chan_release(timer), GORT_OK);
    CHECK_EQ(gort_chan_release(c), GORT_OK);
    CHECK_EQ(gort_chan_release(done), GORT_OK);
    fprintf(stderr, "TimerFairness: timer fired after %ld receives from the busy channel, %.1f ms\n", iters,
            (fired_at - start) / 1e6);
}

/* --------------------------------------------------------- TimerFairness2 */

static atomic_long iters2[2];
static void busy_both(void *arg) {
    int id = (int)(intptr_t)arg;
    int64_t start = gort_nanotime();
    gort_chan *timer = gort_after(20 * MS);
    CHECK(timer != NULL);
    long iters = 0;
    int64_t when = 0;
    for (;;) {
        bool t = true, r = false;
        gort_select_case sc[3] = {
            {c, GORT_SELECT_SEND, &t, false},
            {c, GORT_SELECT_RECV, &r, false},
            {timer, GORT_SELECT_RECV, &when, false},
        };
        int k = gort_select(sc, 3, -1);
        CHECK(k >= 0 && k < 3);
        CHECK(!sc[k].closed);
        if (k == 2)
            break;
        if (++iters % 1024 == 0)
            over_cap(start, iters, "TimerFairness2");
    }
    CHECK(when >= start + 20 * MS);
    CHECK_EQ(gort_chan_release(timer), GORT_OK);
    atomic_store(&iters2[id], iters);
    /* once one of them has left, the other's select can only wait for its
     * own timer, as in Go */
    bool yes = true;
    CHECK_EQ(gort_chan_send(done, &yes), GORT_OK);
}

static void timer_fairness2(void) {
    c = gort_chan_make(sizeof(bool), 0);
    done = gort_chan_make(sizeof(bool), 0);
    CHECK(c && done);
    for (int i = 0; i < 2; i++)
        CHECK(gort_go(busy_both, (void *)(intptr_t)i) > 0);
    for (int i = 0; i < 2; i++) {
        bool b = false;
        CHECK_EQ(gort_chan_recv(done, &b), GORT_OK);
        CHECK(b);
    }
    CHECK_EQ(gort_chan_release(c), GORT_OK);
    CHECK_EQ(gort_chan_release(done), GORT_OK);
    fprintf(stderr, "TimerFairness2: both timers fired (after %ld and %ld channel operations)\n",
            atomic_load(&iters2[0]), atomic_load(&iters2[1]));
}

static void child_main(void *arg) {
    (void)arg;
    for (int round = 0; round < 3; round++) {
        timer_fairness();
        timer_fairness2();
    }
    fprintf(stderr, "CHILD OK\n");
}

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "child")) {
        setenv("GORT_MAXPROCS", argv[2], 1);
        return check_run_main(argc, argv, child_main);
    }
    static const char *const procs[] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        static char out[1 << 14];
        char *args[] = {(char *)"child", (char *)procs[i], NULL};
        int st = check_run_self(args, NULL, out, sizeof out);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "child GORT_MAXPROCS=%s: status 0x%x; stderr:\n%s\n", procs[i], st, out);
        CHECK(WIFEXITED(st));
        CHECK_EQ(WEXITSTATUS(st), 0);
        CHECK(strstr(out, "CHILD OK") != NULL);
        printf("GORT_MAXPROCS=%s:\n%s", procs[i], out);
    }
    printf("test_timer_fairness: ok\n");
    return 0;
}
