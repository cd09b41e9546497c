// test_example_ping_pong_cpp: runs the C++ example examples/ping_pong/ping_pong.cpp,
// ping-pong (two goroutines bouncing a counter over two unbuffered
// channels 1,000,000 times), as a test of this project, linked against
// the installed library (shared and static), at GORT_MAXPROCS 1, 2 and 4.
//
// How: the example's source is compiled into this test with its main()
// renamed (#define main example_main around the #include), so the
// example stays an ordinary program and is not duplicated here. This
// test's main() re-executes itself once per GORT_MAXPROCS value; the
// child runs the example's main with its stdout sent to the pipe the
// parent reads. Passes when every run exits 0 (the example checks its
// own result) and printed the expected result lines:
//   1000000 round trips: final count 2000000,
//   ping_pong: ok
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
// the example's headers first, so that the rename below touches only its main
#include <gort.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define main example_main
#include "../examples/ping_pong/ping_pong.cpp"
#undef main

#include "check.h"

static const char *const expected[] = {
    "1000000 round trips: final count 2000000,",
    "ping_pong: ok\n",
};

int main(int argc, char **argv) {
    return check_example_main(argc, argv, "ping_pong (C++)", "test_example_ping_pong_cpp", example_main, expected,
                              sizeof expected / sizeof expected[0]);
}
