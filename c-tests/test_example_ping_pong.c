/* test_example_ping_pong: runs the C example examples/ping_pong/ping_pong.c,
 * ping-pong (two goroutines bouncing a counter over two unbuffered
 * channels 1,000,000 times), as a test of this project, linked against
 * the installed library (shared and static), at GORT_MAXPROCS 1, 2 and 4.
 *
 * How: the example's source is compiled into this test with its main()
 * renamed (#define main example_main around the #include), so the
 * example stays an ordinary program and is not duplicated here. This
 * test's main() re-executes itself once per GORT_MAXPROCS value; the
 * child runs the example's main with its stdout sent to the pipe the
 * parent reads. Passes when every run exits 0 (the example checks its
 * own result) and printed the expected result lines:
 *   1000000 round trips: final count 2000000,
 *   ping_pong: ok
 */
#define _GNU_SOURCE
/* the example's headers first, so that the rename below touches only its main */
#include <gort.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define main example_main
#include "../examples/ping_pong/ping_pong.c"
#undef main

#include "check.h"

static const char *const expected[] = {
    "1000000 round trips: final count 2000000,",
    "ping_pong: ok\n",
};

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "run")) {
        dup2(2, 1); /* the example's stdout goes to the parent's pipe too */
        char *example_argv[] = {argv[0], NULL};
        return example_main(1, example_argv);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const char *const procs[] = {"GORT_MAXPROCS=1", "GORT_MAXPROCS=2", "GORT_MAXPROCS=4"};
    for (int i = 0; i < 3; i++) {
        static char out[1 << 16];
        char *args[] = {(char *)"run", NULL};
        char *env[] = {(char *)procs[i], NULL};
        int64_t t0 = check_now_ns();
        int st = check_run_self(args, env, out, sizeof out);
        int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++)
            if (!strstr(out, expected[k])) {
                fprintf(stderr, "missing \"%s\"\n", expected[k]);
                ok = 0;
            }
        if (!ok)
            fprintf(stderr, "ping_pong with %s: status 0x%x; output:\n%s\n", procs[i], st, out);
        CHECK(ok);
        printf("--- %s (%.0f ms)\n%s", procs[i], (check_now_ns() - t0) / 1e6, out);
    }
    printf("test_example_ping_pong: ok\n");
    return 0;
}
