// test_example_echo_server_cpp: runs the C++ example
// examples/echo_server/echo_server.cpp, a TCP echo server with one
// goroutine per connection and a client that checks every echoed byte
// (self-test: 100 loopback connections x 100 messages of 1 to 16,384
// bytes, in one process), as a test of this project, linked against the
// installed library (shared and static), at GORT_MAXPROCS 1, 2 and 4.
//
// How: the example's source is compiled into this test with its main()
// renamed (#define main example_main around the #include), so the
// example stays an ordinary program and is not duplicated here. This
// test's main() re-executes itself once per GORT_MAXPROCS value; the
// child runs the example's main with its stdout sent to the pipe the
// parent reads. Passes when every run exits 0 (the example checks its
// own result) and printed the expected result lines, whose byte totals
// follow from the example's message sizes (the same as the C example's):
//   echo_server: 100 connections x 100 messages echoed (82123162 bytes each way)
//   echo_server: server echoed 82123162 bytes over 100 connections
//   echo_server: ok
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
// the example's headers first, so that the rename below touches only its main
#include <gort.hpp>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define main example_main
#include "../examples/echo_server/echo_server.cpp"
#undef main

#include "check.h"

static const char *const expected[] = {
    "echo_server: 100 connections x 100 messages echoed (82123162 bytes each way)\n",
    "echo_server: server echoed 82123162 bytes over 100 connections\n",
    "echo_server: ok\n",
};

int main(int argc, char **argv) {
    return check_example_main(argc, argv, "echo_server (C++)", "test_example_echo_server_cpp", example_main, expected,
                              sizeof expected / sizeof expected[0]);
}
