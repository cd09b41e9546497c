/* test_example_prime_sieve: runs the C example examples/prime_sieve/prime_sieve.c,
 * Go's concurrent prime sieve (a generator and a chain of 1,000 filter
 * goroutines over unbuffered channels), as a test of this project, linked
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
 *   1000th prime: 7919
 *   sum of the first 1000 primes: 3682913
 *   prime_sieve: ok
 */
#define _GNU_SOURCE
/* the example's headers first, so that the rename below touches only its main */
#include <gort.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define main example_main
#include "../examples/prime_sieve/prime_sieve.c"
#undef main

#include "check.h"

static const char *const expected[] = {
    "1000th prime: 7919\n",
    "sum of the first 1000 primes: 3682913\n",
    "prime_sieve: ok\n",
};

int main(int argc, char **argv) {
    return check_example_main(argc, argv, "prime_sieve", "test_example_prime_sieve", example_main, expected,
                              sizeof expected / sizeof expected[0]);
}
