// test_example_prime_sieve_cpp: runs the C++ example examples/prime_sieve/prime_sieve.cpp,
// Go's concurrent prime sieve (a generator and a chain of 1,000 filter
// goroutines over unbuffered channels), as a test of this project, linked
// against the installed library (shared and static), at GORT_MAXPROCS 1,
// 2 and 4.
//
// How: the example's source is compiled into this test with its main()
// renamed (#define main example_main around the #include), so the
// example stays an ordinary program and is not duplicated here. This
// test's main() re-executes itself once per GORT_MAXPROCS value; the
// child runs the example's main with its stdout sent to the pipe the
// parent reads. Passes when every run exits 0 (the example checks its
// own result) and printed the expected result lines:
//   1000th prime: 7919
//   sum of the first 1000 primes: 3682913
//   prime_sieve: ok
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
// the example's headers first, so that the rename below touches only its main
#include <gort.hpp>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <vector>

#define main example_main
#include "../examples/prime_sieve/prime_sieve.cpp"
#undef main

#include "check.h"

static const char *const expected[] = {
    "1000th prime: 7919\n",
    "sum of the first 1000 primes: 3682913\n",
    "prime_sieve: ok\n",
};

int main(int argc, char **argv) {
    return check_example_main(argc, argv, "prime_sieve (C++)", "test_example_prime_sieve_cpp", example_main, expected,
                              sizeof expected / sizeof expected[0]);
}
