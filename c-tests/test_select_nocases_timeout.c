/* test_select_nocases_timeout: a select with no channel to lock (no cases,
 * or only NULL channels) and a timeout, many times over, at 2 and 4 Ps.
 *
 * Such a select parks with nothing locked. The M that parks it arms the
 * timer and then ran the select's unlock function, which read the select's
 * state on the goroutine's stack; a timer due at once can fire on another
 * M first, and the goroutine then resumes there and moves on, so that read
 * found whatever the goroutine had since written there (a crash seen in
 * test_chan_api about once in 100 runs). Here each select is followed by
 * a call that fills the stack below with 0xA5, which turns any such late
 * read into a wild pointer: 100,000 selects of 1 ns and 1 us timeouts, each
 * returning GORT_ETIMEDOUT, and the program exits 0.
 * ctest-timeout: 120
 */
#include "check.h"

enum { ROUNDS = 100000 };

static __attribute__((noinline)) void scribble(void) {
    volatile unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0xA5;
}

static void main_g(void *arg) {
    (void)arg;
    gort_select_case nulls[2] = {{NULL, GORT_SELECT_RECV, NULL, false}, {NULL, GORT_SELECT_SEND, NULL, false}};
    for (int i = 0; i < ROUNDS; i++) {
        int64_t ns = (i & 1) ? 1 : 1000;
        if (i % 3 == 0)
            CHECK_EQ(gort_select(nulls, 2, ns), GORT_ETIMEDOUT);
        else
            CHECK_EQ(gort_select(NULL, 0, ns), GORT_ETIMEDOUT);
        scribble();
    }
    printf("test_select_nocases_timeout: %d timed selects without channels at GORT_MAXPROCS=%d\n", ROUNDS,
           gort_gomaxprocs());
}

int main(int argc, char **argv) { return check_run_procs(argc, argv, main_g, "2,4"); }
