/* test_example_skynet: runs the C example examples/skynet/skynet.c,
 * skynet (1,000,000 leaf goroutines in a tree of fan-out 10, sums sent up
 * through channels), as a test of this project, linked against the
 * installed library (shared and static), at GORT_MAXPROCS 1, 2 and 4.
 *
 * How: the example's source is compiled into this test with its main()
 * renamed (#define main example_main around the #include), so the
 * example stays an ordinary program and is not duplicated here. This
 * test's main() re-executes itself once per GORT_MAXPROCS value; the
 * child runs the example's main with its stdout sent to the pipe the
 * parent reads. Passes when every run exits 0 (the example checks its
 * own result) and printed the expected result lines:
 *   result: 499999500000 in
 *   skynet: ok
 */
#define _GNU_SOURCE
/* the example's headers first, so that the rename below touches only its main */
#include <gort.h>
#include <stdint.h>
#include <stdio.h>

#define main example_main
#include "../examples/skynet/skynet.c"
#undef main

#include "check.h"

static const char *const expected[] = {
    "result: 499999500000 in",
    "skynet: ok\n",
};

int main(int argc, char **argv) {
    /* A million goroutines; how many are alive at once depends on
     * scheduling, and TSan dies past 8128 (goroutines count as threads). */
    CHECK_SKIP_UNDER_TSAN("up to a million goroutines alive");
    return check_example_main(argc, argv, "skynet", "test_example_skynet", example_main, expected,
                              sizeof expected / sizeof expected[0]);
}
