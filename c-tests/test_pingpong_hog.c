/* test_pingpong_hog: Go's TestPingPongHog. Two pairs of goroutines
 * ping-pong on one P: a "hog" pair doing 1,000,000 increments per hand-off
 * and a "light" pair doing 1,000. Hand-offs go through runnext and inherit
 * the time slice, so without sysmon's 10 ms slice limit the pair that runs
 * first would keep the P and the other pair would starve.
 *
 * What: GORT_MAXPROCS=1. Each goroutine loops on select { <-done: return;
 * <-wake: count `limit` increments, then wake <- true }. The main goroutine
 * starts both pairs, sleeps 100 ms, closes done and takes the last token
 * from each pair. Asserts Go's exact check: hogCount and lightCount are
 * within a factor of 20 of each other (if the scheduler were wrong the gap
 * would be ~1000x). The counts and their ratio are printed.
 *
 * How: the increments go through a volatile counter, so the compiler
 * cannot fold the loop (Go's loop is not folded either). A SIGALRM cap
 * (120 s) turns a hang into a failure with a message.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdbool.h>

#define MS 1000000LL

static gort_chan *done, *hog_chan, *light_chan;
static volatile long hog_count, light_count;

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "hang: test_pingpong_hog did not finish within 120 s (a pair starved the main "
                              "goroutine's 100 ms timer?)\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(1);
}

struct pair_arg {
    long limit;
    volatile long *counter;
    gort_chan **wake;
};

static void run(void *arg) {
    struct pair_arg *a = arg;
    gort_chan *wake = *a->wake;
    for (;;) {
        bool tok = false, junk = false;
        gort_select_case sc[2] = {{done, GORT_SELECT_RECV, &junk, false}, {wake, GORT_SELECT_RECV, &tok, false}};
        int k = gort_select(sc, 2, -1);
        if (k == 0) {
            CHECK(sc[0].closed);
            return;
        }
        CHECK_EQ(k, 1);
        CHECK(tok);
        for (long i = 0; i < a->limit; i++)
            (*a->counter)++;
        bool t = true;
        CHECK_EQ(gort_chan_send(wake, &t), GORT_OK);
    }
}

static struct pair_arg hog = {1000000, &hog_count, &hog_chan};
static struct pair_arg light = {1000, &light_count, &light_chan};

static void main_g(void *arg) {
    (void)arg;
    CHECK_EQ(gort_gomaxprocs(), 1);
    done = gort_chan_make(sizeof(bool), 0);
    hog_chan = gort_chan_make(sizeof(bool), 0);
    light_chan = gort_chan_make(sizeof(bool), 0);
    CHECK(done && hog_chan && light_chan);

    /* two co-scheduled hog goroutines, two light ones */
    for (int i = 0; i < 2; i++)
        CHECK(gort_go(run, &hog) > 0);
    for (int i = 0; i < 2; i++)
        CHECK(gort_go(run, &light) > 0);

    /* start the pairs and wait for a few preemption rounds */
    bool t = true;
    CHECK_EQ(gort_chan_send(hog_chan, &t), GORT_OK);
    CHECK_EQ(gort_chan_send(light_chan, &t), GORT_OK);
    int64_t t0 = gort_nanotime();
    CHECK_EQ(gort_sleep(100 * MS), GORT_OK);
    int64_t slept = gort_nanotime() - t0;
    CHECK_EQ(gort_chan_close(done), GORT_OK);
    CHECK_EQ(gort_chan_recv(hog_chan, &t), GORT_OK);
    CHECK_EQ(gort_chan_recv(light_chan, &t), GORT_OK);

    long hc = hog_count, lc = light_count;
    const long factor = 20;
    printf("hogCount %ld, lightCount %ld, ratio %.2f (main slept %.1f ms)\n", hc, lc,
           lc ? (double)hc / (double)lc : 0.0, slept / 1e6);
    if (hc / factor > lc || lc / factor > hc)
        fprintf(stderr, "want hogCount/lightCount in [1/%ld, %ld]; got %ld/%ld = %g\n", factor, factor, hc, lc,
                lc ? (double)hc / (double)lc : 0.0);
    CHECK(hc / factor <= lc);
    CHECK(lc / factor <= hc);
    printf("test_pingpong_hog: ok\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(120);
    setenv("GORT_MAXPROCS", "1", 1);
    return check_run_main(argc, argv, main_g);
}
