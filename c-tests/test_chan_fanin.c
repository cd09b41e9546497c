/* test_chan_fanin: 100 senders into one channel; every message is
 * received exactly once and each sender's messages arrive in order.
 *
 * What, in one re-exec'ed child per GORT_MAXPROCS value (1 and 2), for an
 * unbuffered channel and for one with cap 64:
 *  - fan-in: 100 sender goroutines each send K = 10,000 int64 values
 *    id * K + seq (seq = 0..K-1); the main goroutine receives them all:
 *    exactly 1,000,000 messages, their sum is exactly 0 + 1 + ... + 999,999,
 *    and for every sender the sequence numbers arrive as 0, 1, 2, ... (FIFO
 *    per sender, hence no loss and no duplicate). Afterwards the channel is
 *    empty (try_recv -> GORT_EAGAIN), and close makes recv return
 *    GORT_ECLOSED.
 *  - fan-in + fan-out: the same 100 senders and 4 receiver goroutines:
 *    totals exact over all receivers, and each receiver sees every
 *    sender's sequence numbers strictly increasing (the channel is FIFO, so
 *    any receiver's share of one sender's stream is in order).
 * The parent checks each child exits 0 and printed the exact totals.
 *
 * How: program mode; a SIGALRM cap turns a hang into a failure that names
 * the phase.
 */
#define _GNU_SOURCE
#include "check.h"

#include <signal.h>
#include <stdatomic.h>

enum { NSEND = 100, K = 10000, TOTAL = NSEND * K, NRECV = 4 };
#define CAP_S 240

static const char *volatile phase = "start";
static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "hang: test_chan_fanin did not finish within the cap; phase: ";
    ssize_t r = write(2, msg, sizeof msg - 1);
    r = write(2, phase, strlen(phase));
    r = write(2, "\n", 1);
    (void)r;
    _exit(1);
}

static gort_chan *ch;
static gort_waitgroup senders_wg = GORT_WAITGROUP_INIT;
static gort_waitgroup recv_wg = GORT_WAITGROUP_INIT;

static void sender(void *arg) {
    int64_t id = (int64_t)(intptr_t)arg;
    for (int64_t seq = 0; seq < K; seq++) {
        int64_t v = id * K + seq;
        CHECK_EQ(gort_chan_send(ch, &v), GORT_OK);
    }
    CHECK_EQ(gort_waitgroup_done(&senders_wg), GORT_OK);
}

struct tally {
    long long count, sum;
    int next[NSEND]; /* next expected seq (single receiver) / last seen + 1 */
};

static void take(struct tally *t, int64_t v, int strict_next) {
    CHECK(v >= 0 && v < TOTAL);
    int id = (int)(v / K), seq = (int)(v % K);
    if (strict_next) {
        if (seq != t->next[id])
            fprintf(stderr, "sender %d: got seq %d, expected %d\n", id, seq, t->next[id]);
        CHECK_EQ(seq, t->next[id]);
    } else {
        if (seq < t->next[id])
            fprintf(stderr, "sender %d: got seq %d after %d\n", id, seq, t->next[id] - 1);
        CHECK(seq >= t->next[id]);
    }
    t->next[id] = seq + 1;
    t->count++;
    t->sum += v;
}

static struct tally rt[NRECV];
static void receiver(void *arg) {
    struct tally *t = arg;
    int64_t v;
    int rc;
    while ((rc = gort_chan_recv(ch, &v)) == GORT_OK)
        take(t, v, 0);
    CHECK_EQ(rc, GORT_ECLOSED);
    CHECK_EQ(v, 0);
    CHECK_EQ(gort_waitgroup_done(&recv_wg), GORT_OK);
}

static void spawn_senders(void) {
    CHECK_EQ(gort_waitgroup_add(&senders_wg, NSEND), GORT_OK);
    for (int s = 0; s < NSEND; s++)
        CHECK(gort_go(sender, (void *)(intptr_t)s) > 0);
}

static void run(size_t cap) {
    static char name[64];
    const long long want_sum = (long long)TOTAL * (TOTAL - 1) / 2;

    snprintf(name, sizeof name, "fan-in, cap %zu", cap);
    phase = name;
    ch = gort_chan_make(sizeof(int64_t), cap);
    CHECK(ch != NULL);
    spawn_senders();
    static struct tally t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < TOTAL; i++) {
        int64_t v = -1;
        CHECK_EQ(gort_chan_recv(ch, &v), GORT_OK);
        take(&t, v, 1);
    }
    CHECK_EQ(gort_waitgroup_wait(&senders_wg), GORT_OK);
    int64_t v = -1;
    CHECK_EQ(gort_chan_try_recv(ch, &v), GORT_EAGAIN);
    CHECK_EQ(gort_chan_len(ch), 0);
    CHECK_EQ(t.count, TOTAL);
    CHECK_EQ(t.sum, want_sum);
    for (int s = 0; s < NSEND; s++)
        CHECK_EQ(t.next[s], K);
    CHECK_EQ(gort_chan_close(ch), GORT_OK);
    CHECK_EQ(gort_chan_recv(ch, &v), GORT_ECLOSED);
    CHECK_EQ(gort_chan_release(ch), GORT_OK);
    fprintf(stderr, "FANIN cap=%zu count=%lld sum=%lld\n", cap, t.count, t.sum);

    snprintf(name, sizeof name, "fan-in + fan-out, cap %zu", cap);
    ch = gort_chan_make(sizeof(int64_t), cap);
    CHECK(ch != NULL);
    memset(rt, 0, sizeof rt);
    CHECK_EQ(gort_waitgroup_add(&recv_wg, NRECV), GORT_OK);
    for (int r = 0; r < NRECV; r++)
        CHECK(gort_go(receiver, &rt[r]) > 0);
    spawn_senders();
    CHECK_EQ(gort_waitgroup_wait(&senders_wg), GORT_OK);
    CHECK_EQ(gort_chan_close(ch), GORT_OK);
    CHECK_EQ(gort_waitgroup_wait(&recv_wg), GORT_OK);
    long long count = 0, sum = 0;
    for (int r = 0; r < NRECV; r++) {
        count += rt[r].count;
        sum += rt[r].sum;
    }
    CHECK_EQ(count, TOTAL);
    CHECK_EQ(sum, want_sum);
    CHECK_EQ(gort_chan_release(ch), GORT_OK);
    fprintf(stderr, "FANOUT cap=%zu count=%lld sum=%lld (per receiver: %lld %lld %lld %lld)\n", cap, count, sum,
            rt[0].count, rt[1].count, rt[2].count, rt[3].count);
}

static void child_main(void *arg) {
    (void)arg;
    run(0);
    run(64);
}

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "child")) {
        signal(SIGALRM, on_alarm);
        alarm(CAP_S);
        setenv("GORT_MAXPROCS", argv[2], 1);
        return check_run_main(argc, argv, child_main);
    }
    static const char *const procs[] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        static char out[1 << 14];
        char *args[] = {(char *)"child", (char *)procs[i], NULL};
        int64_t t0 = check_now_ns();
        int st = check_run_self(args, NULL, out, sizeof out);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "child GORT_MAXPROCS=%s: status 0x%x; stderr:\n%s\n", procs[i], st, out);
        CHECK(WIFEXITED(st));
        CHECK_EQ(WEXITSTATUS(st), 0);
        static const char *const want[] = {"FANIN cap=0 ", "FANIN cap=64 ", "FANOUT cap=0 ", "FANOUT cap=64 "};
        for (int w = 0; w < 4; w++) {
            char line[128];
            snprintf(line, sizeof line, "%scount=%d sum=%lld", want[w], TOTAL, (long long)TOTAL * (TOTAL - 1) / 2);
            if (!strstr(out, line))
                fprintf(stderr, "missing \"%s\" in:\n%s\n", line, out);
            CHECK(strstr(out, line) != NULL);
        }
        printf("GORT_MAXPROCS=%s (%.0f ms):\n%s", procs[i], (check_now_ns() - t0) / 1e6, out);
    }
    printf("test_chan_fanin: ok\n");
    return 0;
}
