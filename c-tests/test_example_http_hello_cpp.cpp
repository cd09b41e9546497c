// test_example_http_hello_cpp: runs the C++ example
// examples/http_hello/http_hello.cpp, a minimal HTTP/1.1 server with one
// goroutine per connection (self-test: 20 raw-socket client connections x
// 10 requests, one at a time, pipelined, split across writes, HEAD,
// Connection: close; then 7 connections with bad requests, HTTP/1.0, an
// oversized header and a chunked body; every response compared byte for
// byte), as a test of this project, linked against the installed library
// (shared and static), at GORT_MAXPROCS 1, 2 and 4.
//
// How: the example's source is compiled into this test with its main()
// renamed (#define main example_main around the #include), so the
// example stays an ordinary program and is not duplicated here. This
// test's main() re-executes itself once per GORT_MAXPROCS value; the
// child runs the example's main with its stdout sent to the pipe the
// parent reads. Passes when every run exits 0 (the example checks its
// own result) and printed the expected result lines:
//   http_hello: 200 requests over 20 connections answered
//   http_hello: bad requests refused, HTTP/1.0 and Connection: close honoured
//   http_hello: server sent 205 x 200, 3 x 400, 1 x 431, 1 x 501 over 27 connections
//   http_hello: ok
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
// the example's headers first, so that the rename below touches only its main
#include <gort.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#define main example_main
#include "../examples/http_hello/http_hello.cpp"
#undef main

#include "check.h"

static const char *const expected[] = {
    "http_hello: 200 requests over 20 connections answered\n",
    "http_hello: bad requests refused, HTTP/1.0 and Connection: close honoured\n",
    "http_hello: server sent 205 x 200, 3 x 400, 1 x 431, 1 x 501 over 27 connections\n",
    "http_hello: ok\n",
};

int main(int argc, char **argv) {
    return check_example_main(argc, argv, "http_hello (C++)", "test_example_http_hello_cpp", example_main, expected,
                              sizeof expected / sizeof expected[0]);
}
