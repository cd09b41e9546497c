// skynet: the skynet benchmark (github.com/atemerev/skynet) in C++ with
// gort.hpp.
//
// One goroutine spawns 10 children, each of which spawns 10 children, and
// so on for 6 levels: 1,000,000 leaf goroutines (1,111,111 in all). Leaf
// number i sends i to its parent; every inner goroutine sums its 10
// children's values and sends the sum up. The result is 0 + ... + 999,999.
//
// Prints the result and the time, and exits 0 only if the result is
// exactly 499999500000.
#include <gort.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>

constexpr int64_t kSize = 1000000;
constexpr int64_t kDiv = 10;

static void skynet(gort::chan<int64_t> parent, int64_t num, int64_t size) {
    if (size == 1) {
        parent.send(num);
        return;
    }
    gort::chan<int64_t> rc;
    for (int64_t i = 0; i < kDiv; i++)
        gort::go(skynet, rc, num + i * (size / kDiv), size / kDiv);
    int64_t sum = 0;
    for (int64_t i = 0; i < kDiv; i++)
        sum += *rc.recv();
    parent.send(sum);
}

int main(int argc, char **argv) {
    int rc = gort::run(argc, argv, [] {
        gort::chan<int64_t> result;
        auto t0 = std::chrono::steady_clock::now();
        gort::go(skynet, result, 0, kSize);
        int64_t sum = *result.recv();
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
        std::printf("result: %lld in %lld ms (%lld leaf goroutines, GOMAXPROCS=%d)\n", (long long)sum,
                    (long long)ms.count(), (long long)kSize, gort_gomaxprocs());
        if (sum != 499999500000LL) {
            std::printf("skynet: WRONG (expected 499999500000)\n");
            gort_exit(1);
        }
        std::printf("skynet: ok\n");
    });
    std::fprintf(stderr, "gort::run: %s\n", gort_strerror(rc));
    return 1;
}
