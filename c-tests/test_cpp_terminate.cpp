// test_cpp_terminate: an exception escaping a goroutine started with
// gort::go calls std::terminate, after naming the goroutine on stderr (as
// an exception escaping a std::thread terminates).
//
// What, in re-exec'ed children (program mode, GORT_MAXPROCS=2):
//  - "std": a goroutine throws std::runtime_error("boom 42"): the child
//    dies of SIGABRT and stderr contains "exception escaped goroutine <id>:
//    boom 42", where <id> is the id gort::go returned (the child prints it
//    first); the main goroutine, blocked on a channel nobody sends to,
//    never gets to print "MAIN CONTINUED".
//  - "other": a goroutine throws an int: SIGABRT and "exception escaped
//    goroutine <id>" (no message).
//  - "caught": a goroutine that catches its own exception does not
//    terminate anything: exit status 0.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check.h"

#include <gort.hpp>

#include <csignal>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

static int child(const std::string &mode) {
    return gort::run(0, nullptr, [mode] {
        gort::chan<int> never;
        // The throwing goroutine waits until its id is printed: with 2 Ps
        // another P may otherwise start it, and abort the process, first.
        gort::chan<int> go_ahead(1);
        int64_t id;
        if (mode == "std")
            id = gort::go([go_ahead] {
                (void)go_ahead.recv();
                throw std::runtime_error("boom 42");
            });
        else if (mode == "other")
            id = gort::go([go_ahead] {
                (void)go_ahead.recv();
                throw 42;
            });
        else {
            gort::chan<int> done;
            id = gort::go([done] {
                try {
                    throw std::runtime_error("handled");
                } catch (const std::exception &) {
                    done.send(1);
                }
            });
            fprintf(stderr, "SPAWNED %lld\n", (long long)id);
            CHECK_EQ(*done.recv(), 1);
            fprintf(stderr, "CAUGHT OK\n");
            return;
        }
        fprintf(stderr, "SPAWNED %lld\n", (long long)id);
        fflush(stderr);
        go_ahead.send(1);
        int dummy = 0;
        never.recv_for(dummy, 30s); // the goroutine runs and terminates the process first
        fprintf(stderr, "MAIN CONTINUED\n");
    });
}

static void expect(const char *mode, bool aborts, const char *suffix) {
    static char out[1 << 14];
    char *args[] = {(char *)mode, nullptr};
    int st = check_run_self(args, nullptr, out, sizeof out);
    long long id = -1;
    const char *sp = strstr(out, "SPAWNED ");
    if (sp)
        id = atoll(sp + 8);
    bool ok = id > 1;
    if (aborts) {
        char want[128];
        snprintf(want, sizeof want, "exception escaped goroutine %lld%s", id, suffix);
        ok = ok && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strstr(out, want) && !strstr(out, "MAIN CONTINUED");
        if (!ok)
            fprintf(stderr, "child %s: status 0x%x, expected SIGABRT and \"%s\"; stderr:\n%s\n", mode, st, want, out);
    } else {
        ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "CAUGHT OK") &&
             !strstr(out, "exception escaped");
        if (!ok)
            fprintf(stderr, "child %s: status 0x%x, expected exit 0; stderr:\n%s\n", mode, st, out);
    }
    CHECK(ok);
    printf("%s: ok (goroutine %lld)\n", mode, id);
}

int main(int argc, char **argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    setenv("GORT_MAXPROCS", "2", 1);
    if (argc > 1)
        return child(argv[1]);
    expect("std", true, ": boom 42");
    expect("other", true, "\n");
    expect("caught", false, "");
    printf("test_cpp_terminate: ok\n");
    return 0;
}
