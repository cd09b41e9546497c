// ping_pong: two goroutines bouncing a counter over two unbuffered
// channels, in C++ with gort.hpp.
//
// "ping" sends the counter to "pong", which adds one and sends it back;
// ping adds one and sends it again, N round trips in all; then ping closes
// the channel, which ends pong's range loop.
//
//   ./ping_pong_cpp [N]     (default 1,000,000 round trips)
//
// Prints the final count and the time per hand-off, and exits 0 only if
// the count is exactly 2 * N.
#include <gort.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
    int64_t trips = argc > 1 ? std::atoll(argv[1]) : 1000000;
    if (trips <= 0) {
        std::fprintf(stderr, "usage: %s [round trips]\n", argv[0]);
        return 2;
    }
    int rc = gort::run(argc, argv, [trips] {
        gort::chan<int64_t> to_pong, to_ping, finished;
        auto t0 = std::chrono::steady_clock::now();
        gort::go([to_pong, to_ping] {
            for (int64_t count : to_pong) // until ping closes it
                to_ping.send(count + 1);
        });
        gort::go([=] {
            int64_t count = 0;
            for (int64_t i = 0; i < trips; i++) {
                to_pong.send(count);
                count = *to_ping.recv() + 1;
            }
            to_pong.close();
            finished.send(count);
        });
        int64_t count = *finished.recv();
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%lld round trips: final count %lld, %.0f ns per hand-off\n", (long long)trips,
                    (long long)count, (double)ns / (2.0 * (double)trips));
        if (count != 2 * trips) {
            std::printf("ping_pong: WRONG (expected %lld)\n", (long long)(2 * trips));
            gort_exit(1);
        }
        std::printf("ping_pong: ok\n");
    });
    std::fprintf(stderr, "gort::run: %s\n", gort_strerror(rc));
    return 1;
}
