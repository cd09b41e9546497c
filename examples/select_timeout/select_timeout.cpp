// select_timeout: waiting for a slow producer with a timeout (Go by
// Example's "timeouts"), in C++ with gort.hpp.
//
//   1. A producer needs 1 s; select waits on it and on gort::after(100ms):
//      the timeout fires first ("timeout 1"); the late result still
//      arrives afterwards.
//   2. A producer needs 10 ms; select waits on it and on gort::after(2s):
//      the result wins ("result 2").
//   3. As 1, with an on_timeout case instead of a timer channel
//      ("timeout 3").
//
// The margins are 10x and 200x, so the outcome does not depend on the
// machine's speed. Exits 0 only if the rounds ended "timeout 1",
// "result 2", "timeout 3".
#include <gort.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

struct msg {
    char text[32];
};

// Starts a producer that works for `delay` and then sends `text` into a
// one-slot channel (so its send never blocks, even if nobody listens).
template <class D>
static gort::chan<msg> start(D delay, const char *text) {
    gort::chan<msg> c(1);
    gort::go([c, delay, text] {
        gort::sleep_for(delay);
        msg m{};
        std::snprintf(m.text, sizeof m.text, "%s", text);
        c.send(m);
    });
    return c;
}

int main(int argc, char **argv) {
    int rc = gort::run(argc, argv, [] {
        std::string got[3];
        auto t0 = std::chrono::steady_clock::now();

        auto c1 = start(1s, "result 1");
        gort::select(gort::on_recv(c1, [&](std::optional<msg> m) { got[0] = m->text; }),
                     gort::on_recv(gort::after(100ms), [&](std::optional<int64_t>) { got[0] = "timeout 1"; }));
        std::printf("round 1: %s\n", got[0].c_str());
        std::string late = c1.recv()->text; // the slow producer does deliver, later
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
        std::printf("         (\"%s\" arrived %lld ms after the start)\n", late.c_str(), (long long)ms.count());

        auto c2 = start(10ms, "result 2");
        gort::select(gort::on_recv(c2, [&](std::optional<msg> m) { got[1] = m->text; }),
                     gort::on_recv(gort::after(2s), [&](std::optional<int64_t>) { got[1] = "timeout 2"; }));
        std::printf("round 2: %s\n", got[1].c_str());

        auto c3 = start(1s, "result 3");
        gort::select(gort::on_recv(c3, [&](std::optional<msg> m) { got[2] = m->text; }),
                     gort::on_timeout(100ms, [&] { got[2] = "timeout 3"; }));
        std::printf("round 3: %s\n", got[2].c_str());

        if (got[0] != "timeout 1" || got[1] != "result 2" || got[2] != "timeout 3" || late != "result 1") {
            std::printf("select_timeout: WRONG\n");
            gort_exit(1);
        }
        std::printf("select_timeout: ok\n");
    });
    std::fprintf(stderr, "gort::run: %s\n", gort_strerror(rc));
    return 1;
}
