/* ping_pong: two goroutines bouncing a counter over two unbuffered
 * channels, in C.
 *
 * "ping" sends the counter on one channel; "pong" receives it, adds one
 * and sends it back on the other; ping adds one and sends it again, N
 * round trips in all. Every hand-off parks one goroutine and readies the
 * other, so this measures the scheduler's park/ready path (the woken
 * goroutine runs next on the same P, Go's runnext).
 *
 *   ./ping_pong [N]     (default 1,000,000 round trips)
 *
 * Prints the final count and the time per hand-off, and exits 0 only if
 * the count is exactly 2 * N.
 */
#include <gort.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t n_trips = 1000000;
static gort_chan *to_pong, *to_ping;
static gort_chan *finished;

static void ping(void *arg) {
    (void)arg;
    int64_t count = 0;
    for (int64_t i = 0; i < n_trips; i++) {
        gort_chan_send(to_pong, &count);
        gort_chan_recv(to_ping, &count);
        count++;
    }
    gort_chan_close(to_pong); /* tells pong to stop */
    gort_chan_send(finished, &count);
}

static void pong(void *arg) {
    (void)arg;
    int64_t count;
    while (gort_chan_recv(to_pong, &count) == GORT_OK) {
        count++;
        gort_chan_send(to_ping, &count);
    }
}

static void pingpong_main(void *arg) {
    (void)arg;
    to_pong = gort_chan_make(sizeof(int64_t), 0);
    to_ping = gort_chan_make(sizeof(int64_t), 0);
    finished = gort_chan_make(sizeof(int64_t), 0);
    int64_t t0 = gort_nanotime();
    gort_go(pong, NULL);
    gort_go(ping, NULL);
    int64_t count = -1;
    gort_chan_recv(finished, &count);
    int64_t ns = gort_nanotime() - t0;
    printf("%lld round trips: final count %lld, %.0f ns per hand-off\n", (long long)n_trips, (long long)count,
           (double)ns / (2.0 * (double)n_trips));
    if (count != 2 * n_trips) {
        printf("ping_pong: WRONG (expected %lld)\n", (long long)(2 * n_trips));
        gort_exit(1);
    }
    printf("ping_pong: ok\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && (n_trips = atoll(argv[1])) <= 0) {
        fprintf(stderr, "usage: %s [round trips]\n", argv[0]);
        return 2;
    }
    int rc = gort_init(argc, argv);
    if (rc != GORT_OK) {
        fprintf(stderr, "gort_init: %s\n", gort_strerror(rc));
        return 1;
    }
    if (gort_go(pingpong_main, NULL) < 0)
        return 1;
    rc = gort_mstart();
    fprintf(stderr, "gort_mstart: %s\n", gort_strerror(rc));
    return 1;
}
