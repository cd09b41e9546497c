// test_example_worker_pool_cpp: runs the C++ example examples/worker_pool/worker_pool.cpp,
// a worker pool (8 workers ranging over a jobs channel, results on a
// results channel, closed after a waitgroup), as a test of this project,
// linked against the installed library (shared and static), at
// GORT_MAXPROCS 1, 2 and 4.
//
// How: the example's source is compiled into this test with its main()
// renamed (#define main example_main around the #include), so the
// example stays an ordinary program and is not duplicated here. This
// test's main() re-executes itself once per GORT_MAXPROCS value; the
// child runs the example's main with its stdout sent to the pipe the
// parent reads. Passes when every run exits 0 (the example checks its
// own result) and printed the expected result lines:
//   10000 results, total Collatz steps 849666 (sequential: 849666)
//   worker_pool: ok
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
// the example's headers first, so that the rename below touches only its main
#include <gort.hpp>
#include <cstdint>
#include <cstdio>
#include <vector>

#define main example_main
#include "../examples/worker_pool/worker_pool.cpp"
#undef main

#include "check.h"

static const char *const expected[] = {
    "10000 results, total Collatz steps 849666 (sequential: 849666)\n",
    "worker_pool: ok\n",
};

int main(int argc, char **argv) {
    return check_example_main(argc, argv, "worker_pool (C++)", "test_example_worker_pool_cpp", example_main, expected,
                              sizeof expected / sizeof expected[0]);
}
