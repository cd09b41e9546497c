// The Boost.Fiber / Boost.Context peer of gort's benchmarks (benches/*.c):
// the same shapes, sizes and checks, printing the same BENCH lines with
// impl=boost.
//
//   GOMAXPROCS=2 ./boost_bench yield [-runs R] [-n N]
//
// Threads: GOMAXPROCS (else GORT_MAXPROCS, else the hardware threads). With
// two or more, every thread runs Boost.Fiber's work_stealing algorithm
// (boost::fibers::algo::work_stealing, its defaults); with one, the default
// round_robin, since work_stealing needs another thread to steal from (its
// victim search never ends with a single thread). Fibers use Boost's
// defaults (launch::post, default_stack) except in `parked`, which uses
// protected_fixedsize_stack: guard pages, as gort's stacks have.
//
// The raw switch is Boost.Context's fiber: resume() ping-pong with a second
// context, no scheduler.
#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <boost/fiber/all.hpp>
#include <boost/fiber/algo/work_stealing.hpp>
#include <boost/version.hpp>

#include <algorithm>
#include <cstdarg>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace {

namespace fibers = boost::fibers;
namespace ctx = boost::context;
using clock_type = std::chrono::steady_clock;
using chan = fibers::unbuffered_channel<std::int64_t>;

int runs = 0;
long n = 0;
bool child = false;
unsigned procs = 1;
const char *argv0 = "";

[[noreturn]] void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::fprintf(stderr, "FAIL boost_bench: ");
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
    std::fflush(stderr);
    _exit(1);
}

double since_ns(clock_type::time_point t0) {
    return std::chrono::duration<double, std::nano>(clock_type::now() - t0).count();
}

double median(std::vector<double> &v) {
    std::sort(v.begin(), v.end());
    size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

void report(const char *name, const char *unit, std::vector<double> v, const std::string &extra = "",
            unsigned p = 0) {
    double med = median(v);
    std::printf("BENCH name=%s procs=%u impl=boost unit=%s median=%.6g runs=%zu min=%.6g max=%.6g%s\n",
                name, p ? p : procs, unit, med, v.size(), v.front(), v.back(), extra.c_str());
    std::fflush(stdout);
}

// Go's sync.WaitGroup, from a fiber mutex and condition variable.
class wait_group {
public:
    void add(long d) { count_.fetch_add(d); }
    void done() {
        if (count_.fetch_sub(1) == 1) {
            std::unique_lock<fibers::mutex> lk(mtx_);
            cv_.notify_all();
        }
    }
    void wait() {
        std::unique_lock<fibers::mutex> lk(mtx_);
        cv_.wait(lk, [this] { return count_.load() == 0; });
    }

private:
    std::atomic<long> count_{0};
    fibers::mutex mtx_;
    fibers::condition_variable cv_;
};

// --- the scheduler: `procs` threads, work stealing ----------------------------------
std::mutex pool_mtx;
fibers::condition_variable_any pool_cv;
bool pool_done = false;
std::vector<std::thread> pool;

void start_scheduler() {
    if (procs < 2)
        return; // round_robin, Boost.Fiber's default
    for (unsigned i = 1; i < procs; i++)
        pool.emplace_back([] {
            fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(procs);
            std::unique_lock<std::mutex> lk(pool_mtx);
            pool_cv.wait(lk, [] { return pool_done; });
        });
    fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(procs);
}

void stop_scheduler() {
    {
        std::unique_lock<std::mutex> lk(pool_mtx);
        pool_done = true;
    }
    pool_cv.notify_all();
    for (auto &t : pool)
        t.join();
}

// --- fresh process per run -------------------------------------------------------------
std::map<std::string, std::vector<double>> spawn_children(const char *shape,
                                                          const std::vector<std::string> &keys) {
    std::map<std::string, std::vector<double>> out;
    std::string nbuf = std::to_string(n);
    for (int r = 0; r < runs; r++) {
        int fds[2];
        if (pipe(fds) != 0)
            fail("pipe");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        const char *args[] = {argv0, "-child", "-n", nbuf.c_str(), shape, nullptr};
        pid_t pid;
        int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, const_cast<char **>(args), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0)
            fail("posix_spawn: %s", std::strerror(rc));
        close(fds[1]);
        FILE *f = fdopen(fds[0], "r");
        char line[1024];
        std::string result;
        while (std::fgets(line, sizeof line, f)) {
            if (!std::strncmp(line, "RESULT ", 7))
                result = line;
            else
                std::fputs(line, stdout);
        }
        std::fclose(f);
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail("%s child run %d failed (status 0x%x)", shape, r, st);
        for (auto &k : keys) {
            auto p = result.find(" " + k + "=");
            if (p == std::string::npos)
                fail("%s child run %d: no %s in '%s'", shape, r, k.c_str(), result.c_str());
            out[k].push_back(std::strtod(result.c_str() + p + k.size() + 2, nullptr));
        }
    }
    return out;
}

long rss_kib() {
    long size = 0, rss = 0;
    if (FILE *f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        std::fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

// Mappings in /proc/self/maps: all of them, and those with no access at all
// (---p: guard pages).
void map_count(long &all, long &none) {
    all = none = 0;
    if (FILE *f = std::fopen("/proc/self/maps", "r")) {
        char line[4096];
        while (std::fgets(line, sizeof line, f)) {
            all++;
            const char *perm = std::strchr(line, ' ');
            if (perm && !std::strncmp(perm + 1, "---p", 4))
                none++;
        }
        std::fclose(f);
    }
}

// --- shapes ------------------------------------------------------------------------------

// switch: Boost.Context fiber ping-pong; each resume() is a round trip.
void bench_switch() {
    auto once = [](long rounds) {
        long count = 0;
        ctx::fiber f{[&count](ctx::fiber &&main) {
            for (;;) {
                ++count;
                main = std::move(main).resume();
            }
            return std::move(main);
        }};
        auto t0 = clock_type::now();
        for (long i = 0; i < rounds; i++)
            f = std::move(f).resume();
        double ns = since_ns(t0);
        if (count != rounds)
            fail("switch: the other context ran %ld times, want %ld", count, rounds);
        return ns / (2.0 * rounds);
    };
    once(n / 10 + 1);
    std::vector<double> v;
    for (int r = 0; r < runs; r++)
        v.push_back(once(n));
    report("switch", "ns/switch", v, " switches=" + std::to_string(2 * n), 1);
}

void bench_yield() {
    // Two fibers run the same loop (so both return to the same call site of
    // yield) while the main fiber waits in join: no third one in the rotation.
    auto once = [](long k) {
        std::atomic<long> done{0};
        auto yielder = [&] {
            for (long i = 0; i < k; i++)
                boost::this_fiber::yield();
            done++;
        };
        auto t0 = clock_type::now();
        fibers::fiber a(yielder), b(yielder);
        a.join();
        b.join();
        double ns = since_ns(t0);
        if (done != 2)
            fail("yield: a yielder did not finish");
        return ns / (2.0 * k);
    };
    once(n / 10 + 1);
    std::vector<double> v;
    for (int r = 0; r < runs; r++)
        v.push_back(once(n));
    report("yield", "ns/yield", v);
}

void bench_chan() {
    auto once = [](long k) {
        chan ping, pong;
        fibers::fiber echo([&] {
            std::int64_t v;
            while (ping.pop(v) == fibers::channel_op_status::success)
                pong.push(v);
        });
        auto t0 = clock_type::now();
        for (std::int64_t i = 0; i < k; i++) {
            std::int64_t v = -1;
            ping.push(i);
            pong.pop(v);
            if (v != i)
                fail("chan: sent %lld, got back %lld", (long long)i, (long long)v);
        }
        double ns = since_ns(t0);
        ping.close();
        echo.join();
        return ns / k;
    };
    once(n / 10 + 1);
    std::vector<double> v;
    for (int r = 0; r < runs; r++)
        v.push_back(once(n));
    report("chan_pingpong", "ns/roundtrip", v);
}

void bench_ring() {
    constexpr int size = 1000;
    auto once = [](long hops) {
        std::vector<std::unique_ptr<chan>> ring;
        for (int i = 0; i < size; i++)
            ring.emplace_back(new chan);
        chan done;
        std::vector<fibers::fiber> members;
        for (int i = 0; i < size; i++)
            members.emplace_back([&, i] {
                chan &left = *ring[i], &right = *ring[(i + 1) % size];
                std::int64_t t;
                while (left.pop(t) == fibers::channel_op_status::success) {
                    if (t == 0)
                        done.push(i);
                    else
                        right.push(t - 1);
                }
            });
        std::int64_t who = -1;
        auto t0 = clock_type::now();
        ring[0]->push(hops);
        done.pop(who);
        double ns = since_ns(t0);
        if (who != hops % size)
            fail("ring: token ended at member %lld, want %ld", (long long)who, hops % size);
        for (auto &c : ring)
            c->close();
        for (auto &m : members)
            m.join();
        return ns / hops;
    };
    once(n / 10 + 1);
    std::vector<double> v;
    for (int r = 0; r < runs; r++)
        v.push_back(once(n));
    report("ring", "ns/hop", v, " goroutines=1000");
}

std::atomic<long> ran{0};
wait_group *spawn_wg;

void link(long left) {
    ran.fetch_add(1, std::memory_order_relaxed);
    if (left == 0)
        spawn_wg->done();
    else
        fibers::fiber(link, left - 1).detach();
}

void leaf() {
    ran.fetch_add(1, std::memory_order_relaxed);
    spawn_wg->done();
}

void bench_spawn() {
    auto chained = [](long k) {
        wait_group wg;
        spawn_wg = &wg;
        ran = 0;
        wg.add(1);
        auto t0 = clock_type::now();
        fibers::fiber(link, k - 1).detach();
        wg.wait();
        double ns = since_ns(t0);
        if (ran != k)
            fail("chained: %ld fibers ran, want %ld", ran.load(), k);
        return ns / k;
    };
    auto fanout = [](long k) {
        wait_group wg;
        spawn_wg = &wg;
        ran = 0;
        auto t0 = clock_type::now();
        wg.add(k);
        for (long i = 0; i < k; i++)
            fibers::fiber(leaf).detach();
        wg.wait();
        double ns = since_ns(t0);
        if (ran != k)
            fail("fanout: %ld fibers ran, want %ld", ran.load(), k);
        return ns / k;
    };
    chained(n);
    fanout(n);
    std::vector<double> c, f;
    for (int r = 0; r < runs; r++) {
        c.push_back(chained(n));
        f.push_back(fanout(n));
    }
    std::string extra = " goroutines=" + std::to_string(n);
    report("spawn_chained", "ns/goroutine", c, extra);
    report("spawn_fanout", "ns/goroutine", f, extra);
}

// skynet (github.com/atemerev/skynet) with unbuffered channels, as the Go
// original.
void skynet(chan &c, std::int64_t num, std::int64_t size) {
    if (size == 1) {
        c.push(num);
        return;
    }
    chan rc;
    for (int i = 0; i < 10; i++)
        fibers::fiber(skynet, std::ref(rc), num + i * (size / 10), size / 10).detach();
    std::int64_t sum = 0;
    for (int i = 0; i < 10; i++)
        sum += rc.value_pop();
    c.push(sum);
}

void bench_skynet() {
    if (child) {
        chan c;
        auto t0 = clock_type::now();
        fibers::fiber(skynet, std::ref(c), 0, (std::int64_t)n).detach();
        std::int64_t sum = c.value_pop();
        double ms = since_ns(t0) / 1e6;
        std::int64_t want = (std::int64_t)n * (n - 1) / 2;
        if (sum != want)
            fail("skynet sum %lld, want %lld", (long long)sum, (long long)want);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        std::printf("RESULT ms=%.3f rss_mb=%.2f sum=%lld\n", ms, ru.ru_maxrss / 1024.0, (long long)sum);
        return;
    }
    auto res = spawn_children("skynet", {"ms", "rss_mb"});
    std::string extra = " leaves=" + std::to_string(n);
    report("skynet", "ms", res["ms"], extra);
    report("skynet_rss", "MB", res["rss_mb"], extra);
}

void bench_mutex() {
    auto once = [](int g, long total) {
        long per = total / g;
        fibers::mutex mu;
        long counter = 0;
        auto t0 = clock_type::now();
        std::vector<fibers::fiber> workers;
        for (int i = 0; i < g; i++)
            workers.emplace_back([&] {
                for (long j = 0; j < per; j++) {
                    std::lock_guard<fibers::mutex> lk(mu);
                    counter++;
                }
            });
        for (auto &w : workers)
            w.join();
        double ns = since_ns(t0);
        if (counter != per * g)
            fail("mutex: %d fibers: counter %ld, want %ld", g, counter, per * g);
        return ns / (per * g);
    };
    for (int g : {4, 100}) {
        once(g, n / 10 + g);
        std::vector<double> v;
        for (int r = 0; r < runs; r++)
            v.push_back(once(g, n));
        std::string name = "mutex" + std::to_string(g);
        report(name.c_str(), "ns/lock", v, " goroutines=" + std::to_string(g));
    }
}

// parked: n fibers with guarded stacks (protected_fixedsize_stack) blocked on
// a channel at once. Stops creating at the first failure (out of memory or
// mappings) and reports how many were parked. `guarded` counts the guard
// pages that exist (---p mappings added): protected_fixedsize_stack ignores
// a failed mprotect in release builds, leaving that stack unguarded.
void bench_parked() {
    if (child) {
        chan gate;
        wait_group ready, finished;
        long maps0, none0, maps1, none1;
        long rss0 = rss_kib();
        map_count(maps0, none0);
        long created = 0;
        std::string stop = "none";
        for (; created < n; created++) {
            ready.add(1);
            finished.add(1);
            try {
                fibers::fiber(std::allocator_arg, ctx::protected_fixedsize_stack(), [&] {
                    ready.done();
                    std::int64_t v;
                    if (gate.pop(v) != fibers::channel_op_status::closed)
                        fail("parked: gate sent a value");
                    finished.done();
                }).detach();
            } catch (const std::bad_alloc &) {
                stop = "bad_alloc";
            } catch (const std::system_error &) {
                stop = "system_error";
            }
            if (stop != "none") {
                ready.done();
                finished.done();
                break;
            }
        }
        ready.wait();
        long rss1 = rss_kib();
        map_count(maps1, none1);
        gate.close();
        finished.wait();
        std::printf("RESULT parked=%ld guarded=%ld kb_per=%.3f maps=%ld maps_delta=%ld stop=%s\n", created,
                    std::min(created, none1 - none0), created ? double(rss1 - rss0) / created : 0.0, maps1,
                    maps1 - maps0, stop.c_str());
        if (stop != "none")
            std::fprintf(stderr, "boost_bench parked: stopped after %ld fibers (%s)\n", created, stop.c_str());
        return;
    }
    auto res = spawn_children("parked", {"parked", "guarded", "kb_per", "maps", "maps_delta"});
    std::string extra = " goroutines=" + std::to_string(n) + " stack=protected_fixedsize";
    report("parked", "goroutines", res["parked"], extra);
    report("parked_guarded", "goroutines", res["guarded"], extra);
    report("parked_rss", "KB/goroutine", res["kb_per"], extra);
    report("parked_maps", "mappings", res["maps"], extra);
    report("parked_maps_delta", "mappings", res["maps_delta"], extra);
}

// The sleep of fiber i: uniform in [1 ms, 10 ms), splitmix64 of i, the same
// durations as benches/bench_timers.c.
std::int64_t duration_ns(std::uint64_t i) {
    std::uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return 1000000 + (std::int64_t)(z % 9000000);
}

void bench_timers() {
    std::vector<std::int64_t> late(n);
    auto once = [&](double &p50, double &p99) {
        wait_group wg;
        wg.add(n);
        for (long i = 0; i < n; i++)
            fibers::fiber([&, i] {
                auto d = std::chrono::nanoseconds(duration_ns(i));
                auto t0 = clock_type::now();
                boost::this_fiber::sleep_for(d);
                late[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - (t0 + d)).count();
                wg.done();
            }).detach();
        wg.wait();
        std::sort(late.begin(), late.end());
        if (late[0] < 0)
            fail("timers: a fiber woke %lld ns before its deadline", (long long)-late[0]);
        p50 = late[n / 2] / 1e3;
        p99 = late[n * 99 / 100] / 1e3;
    };
    double a, b;
    once(a, b);
    std::vector<double> p50(runs), p99(runs);
    for (int r = 0; r < runs; r++)
        once(p50[r], p99[r]);
    std::string extra = " goroutines=" + std::to_string(n);
    report("timer_p50", "us", p50, extra);
    report("timer_p99", "us", p99, extra);
}

struct shape {
    int runs;
    long n;
    void (*fn)();
    bool own_process; // one run per fresh process: no scheduler in the parent
};

} // namespace

int main(int argc, char **argv) {
    std::map<std::string, shape> shapes = {
        {"switch", {9, 10000000, bench_switch, true}}, {"yield", {7, 2000000, bench_yield, false}},
        {"chan", {7, 500000, bench_chan, false}},      {"ring", {7, 1000000, bench_ring, false}},
        {"spawn", {7, 100000, bench_spawn, false}},    {"skynet", {3, 1000000, bench_skynet, true}},
        {"mutex", {7, 1000000, bench_mutex, false}},   {"parked", {1, 1000000, bench_parked, true}},
        {"timers", {5, 100000, bench_timers, false}},
    };
    argv0 = argv[0];
    std::string name;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "-runs") && i + 1 < argc)
            runs = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "-n") && i + 1 < argc)
            n = std::atol(argv[++i]);
        else if (!std::strcmp(argv[i], "-child"))
            child = true;
        else if (name.empty() && shapes.count(argv[i]))
            name = argv[i];
        else
            name = "?";
    }
    if (name.empty() || name == "?") {
        std::fprintf(stderr, "usage: %s [-runs R] [-n N] switch|yield|chan|ring|spawn|skynet|mutex|parked|timers\n",
                     argv[0]);
        return 2;
    }
    const shape &s = shapes[name];
    if (runs <= 0)
        runs = s.runs;
    if (n <= 0)
        n = s.n;
    procs = std::thread::hardware_concurrency();
    for (const char *var : {"GOMAXPROCS", "GORT_MAXPROCS"})
        if (const char *e = std::getenv(var); e && std::atoi(e) > 0) {
            procs = std::atoi(e);
            break;
        }
    if (procs < 1)
        procs = 1;
    if (name == "skynet")
        for (long x = n; x > 1; x /= 10)
            if (x % 10)
                fail("skynet: -n must be a power of 10");
    bool scheduler = name != "switch" && (!s.own_process || child);
    if (scheduler)
        start_scheduler();
    s.fn();
    if (scheduler)
        stop_scheduler();
    return 0;
}
