/* select_timeout: waiting for a slow producer with a timeout (Go by
 * Example's "timeouts"), in C.
 *
 *   1. A producer needs 1 s to send "result 1"; select waits on it and on
 *      gort_after(100 ms): the timeout fires first ("timeout 1"). The late
 *      result still arrives afterwards, in the producer's buffered channel.
 *   2. A producer needs 10 ms to send "result 2"; select waits on it and on
 *      gort_after(2 s): the result wins ("result 2").
 *   3. The same as 1 with gort_select's own timeout argument instead of a
 *      timer channel: GORT_ETIMEDOUT ("timeout 3").
 *
 * The margins are 10x and 200x, so the outcome does not depend on the
 * machine's speed. Prints what fired in each round and exits 0 only if
 * that was "timeout 1", "result 2", "timeout 3".
 */
#include <gort.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MS 1000000LL

struct msg {
    char text[32];
};

struct producer {
    gort_chan *out;
    int64_t delay_ns;
    const char *text;
};

/* Works for delay_ns, then sends its result. The channel has room for one
 * message, so the send does not block even if nobody listens any more. */
static void produce(void *arg) {
    struct producer *p = arg;
    gort_sleep(p->delay_ns);
    struct msg m;
    snprintf(m.text, sizeof m.text, "%s", p->text);
    gort_chan_send(p->out, &m);
    gort_chan_release(p->out);
}

static gort_chan *start(struct producer *p, int64_t delay_ns, const char *text) {
    gort_chan *c = gort_chan_make(sizeof(struct msg), 1);
    gort_chan_retain(c); /* the producer's reference */
    *p = (struct producer){c, delay_ns, text};
    gort_go(produce, p);
    return c;
}

/* select { case m := <-c: ...; case <-time.After(timeout): ... } */
static void wait_with_timer(gort_chan *c, int64_t timeout_ns, int round, char *outcome, size_t n) {
    gort_chan *timer = gort_after(timeout_ns);
    struct msg m;
    int64_t fired_at;
    gort_select_case cases[2] = {
        {c, GORT_SELECT_RECV, &m, false},
        {timer, GORT_SELECT_RECV, &fired_at, false},
    };
    switch (gort_select(cases, 2, -1)) {
    case 0:
        snprintf(outcome, n, "%s", m.text);
        break;
    case 1:
        snprintf(outcome, n, "timeout %d", round);
        break;
    default:
        snprintf(outcome, n, "select failed");
    }
    gort_chan_release(timer);
    printf("round %d: %s\n", round, outcome);
}

static void timeouts_main(void *arg) {
    (void)arg;
    char got[3][32];
    static struct producer p1, p2, p3; /* outlive this function: producer 3 is still asleep when we return */

    int64_t t0 = gort_nanotime();
    gort_chan *c1 = start(&p1, 1000 * MS, "result 1");
    wait_with_timer(c1, 100 * MS, 1, got[0], sizeof got[0]);
    struct msg late;
    gort_chan_recv(c1, &late); /* the slow producer does deliver, later */
    printf("         (\"%s\" arrived %.0f ms after the start)\n", late.text, (gort_nanotime() - t0) / 1e6);
    gort_chan_release(c1);

    gort_chan *c2 = start(&p2, 10 * MS, "result 2");
    wait_with_timer(c2, 2000 * MS, 2, got[1], sizeof got[1]);
    gort_chan_release(c2);

    gort_chan *c3 = start(&p3, 1000 * MS, "result 3");
    struct msg m;
    gort_select_case one = {c3, GORT_SELECT_RECV, &m, false};
    int k = gort_select(&one, 1, 100 * MS);
    snprintf(got[2], sizeof got[2], "%s", k == GORT_ETIMEDOUT ? "timeout 3" : k == 0 ? m.text : "select failed");
    printf("round 3: %s\n", got[2]);
    gort_chan_release(c3); /* the producer keeps its own reference */

    if (strcmp(got[0], "timeout 1") || strcmp(got[1], "result 2") || strcmp(got[2], "timeout 3") ||
        strcmp(late.text, "result 1")) {
        printf("select_timeout: WRONG\n");
        gort_exit(1);
    }
    printf("select_timeout: ok\n");
}

int main(int argc, char **argv) {
    int rc = gort_init(argc, argv);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    if (gort_go(timeouts_main, NULL) < 0)
        return 1;
    rc = gort_mstart();
    fprintf(stderr, "gort_mstart: %s\n", gort_strerror(rc));
    return 1;
}
