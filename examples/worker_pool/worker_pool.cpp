// worker_pool: a pool of worker goroutines fed through a jobs channel,
// reporting on a results channel (Go by Example's "worker pools"), in C++
// with gort.hpp.
//
// A producer goroutine sends job numbers 1..kJobs and closes the jobs
// channel; kWorkers workers range over it, computing the number of Collatz
// steps of each job, and send {job, steps, worker} as results. A closer
// goroutine waits for the workers and closes the results channel, which
// ends main's range loop.
//
// Prints how many jobs each worker did and exits 0 only if every job was
// done exactly once and each result matches a sequential computation.
#include <gort.hpp>

#include <cstdint>
#include <cstdio>
#include <vector>

constexpr int kJobs = 10000;
constexpr int kWorkers = 8;

struct result {
    int64_t job, steps;
    int worker;
};

static int64_t collatz_steps(int64_t n) {
    int64_t steps = 0;
    for (; n != 1; steps++)
        n = n % 2 ? 3 * n + 1 : n / 2;
    return steps;
}

int main(int argc, char **argv) {
    int rc = gort::run(argc, argv, [] {
        gort::chan<int64_t> jobs(100);
        gort::chan<result> results(100);
        gort::wait_group workers;

        workers.add(kWorkers);
        for (int w = 0; w < kWorkers; w++)
            gort::go([&workers, jobs, results, w] {
                for (int64_t j : jobs)
                    results.send({j, collatz_steps(j), w});
                workers.done();
            });
        gort::go([jobs] {
            for (int64_t j = 1; j <= kJobs; j++)
                jobs.send(j);
            jobs.close();
        });
        gort::go([&workers, results] {
            workers.wait();
            results.close();
        });

        std::vector<int> seen(kJobs + 1), per_worker(kWorkers);
        int received = 0, errors = 0;
        int64_t total_steps = 0;
        for (const result &r : results) {
            if (r.job < 1 || r.job > kJobs || r.worker < 0 || r.worker >= kWorkers || seen[r.job]++) {
                errors++;
                continue;
            }
            received++;
            per_worker[r.worker]++;
            total_steps += r.steps;
        }

        int64_t want_steps = 0;
        for (int64_t j = 1; j <= kJobs; j++)
            want_steps += collatz_steps(j);
        std::printf("jobs per worker:");
        for (int n : per_worker)
            std::printf(" %d", n);
        std::printf("\n%d results, total Collatz steps %lld (sequential: %lld)\n", received,
                    (long long)total_steps, (long long)want_steps);
        if (errors || received != kJobs || total_steps != want_steps) {
            std::printf("worker_pool: WRONG (%d bad or duplicate results)\n", errors);
            gort_exit(1);
        }
        std::printf("worker_pool: ok\n");
    });
    std::fprintf(stderr, "gort::run: %s\n", gort_strerror(rc));
    return 1;
}
