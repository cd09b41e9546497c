// prime_sieve: Go's concurrent prime sieve, in C++ with gort.hpp.
//
// A generator goroutine sends 2, 3, 4, ... into an unbuffered channel; for
// each prime taken from the head of the chain, a filter goroutine that
// drops its multiples is put in front of it. After 1000 primes, 1000
// filters are chained behind the generator. As in Go, they are still
// blocked when main returns and the process simply exits.
//
// Prints the 1000th prime and the sum of the first 1000, and exits 0 only
// if they are right (7919 and 3682913).
#include <gort.hpp>

#include <cstdint>
#include <cstdio>
#include <numeric>
#include <vector>

constexpr int kPrimes = 1000;

int main(int argc, char **argv) {
    int rc = gort::run(argc, argv, [] {
        gort::chan<int64_t> ch; // unbuffered
        gort::go([](gort::chan<int64_t> out) {
            for (int64_t i = 2; out.send(i); i++) {
            }
        }, ch);

        std::vector<int64_t> primes;
        for (int n = 0; n < kPrimes; n++) {
            int64_t prime = *ch.recv();
            primes.push_back(prime);
            gort::chan<int64_t> next;
            gort::go([prime](gort::chan<int64_t> in, gort::chan<int64_t> out) {
                for (int64_t i : in)
                    if (i % prime != 0 && !out.send(i))
                        return;
            }, ch, next);
            ch = next;
        }

        int64_t sum = std::accumulate(primes.begin(), primes.end(), int64_t{0});
        std::printf("first primes: %lld %lld %lld %lld %lld ...\n", (long long)primes[0], (long long)primes[1],
                    (long long)primes[2], (long long)primes[3], (long long)primes[4]);
        std::printf("%dth prime: %lld\n", kPrimes, (long long)primes.back());
        std::printf("sum of the first %d primes: %lld\n", kPrimes, (long long)sum);
        if (primes.back() != 7919 || sum != 3682913) {
            std::printf("prime_sieve: WRONG (expected 7919 and 3682913)\n");
            gort_exit(1);
        }
        std::printf("prime_sieve: ok\n");
    });
    std::fprintf(stderr, "gort::run: %s\n", gort_strerror(rc));
    return 1;
}
