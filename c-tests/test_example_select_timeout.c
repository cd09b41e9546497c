/* test_example_select_timeout: runs the C example examples/select_timeout/select_timeout.c,
 * select with a timeout (a slow producer vs a gort_after timer, a fast
 * one, and select's own timeout), as a test of this project, linked
 * against the installed library (shared and static), at GORT_MAXPROCS 1,
 * 2 and 4.
 *
 * How: the example's source is compiled into this test with its main()
 * renamed (#define main example_main around the #include), so the
 * example stays an ordinary program and is not duplicated here. This
 * test's main() re-executes itself once per GORT_MAXPROCS value; the
 * child runs the example's main with its stdout sent to the pipe the
 * parent reads. Passes when every run exits 0 (the example checks its
 * own result) and printed the expected result lines:
 *   round 1: timeout 1
 *   "result 1" arrived
 *   round 2: result 2
 *   round 3: timeout 3
 *   select_timeout: ok
 */
#define _GNU_SOURCE
/* the example's headers first, so that the rename below touches only its main */
#include <gort.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define main example_main
#include "../examples/select_timeout/select_timeout.c"
#undef main

#include "check.h"

static const char *const expected[] = {
    "round 1: timeout 1\n",
    "\"result 1\" arrived",
    "round 2: result 2\n",
    "round 3: timeout 3\n",
    "select_timeout: ok\n",
};

int main(int argc, char **argv) {
    return check_example_main(argc, argv, "select_timeout", "test_example_select_timeout", example_main, expected,
                              sizeof expected / sizeof expected[0]);
}
