// test_cpp_sync: the C++17 header's sync types with the standard lock
// wrappers (include/gort.hpp).
//
// What (program mode through gort::run, GORT_MAXPROCS=2, exact counts):
//  - gort::mutex with std::lock_guard (1,000 goroutines x 100 increments,
//    yielding inside the lock now and then), std::unique_lock (try_to_lock,
//    defer_lock + lock/unlock, owns_lock), and std::scoped_lock over two
//    mutexes taken in opposite orders by two groups of goroutines (no
//    deadlock, both counters exact); try_lock semantics; unlock of an
//    unlocked mutex throws gort::error with GORT_EPERM.
//  - gort::shared_mutex with std::shared_lock (readers share it: a second
//    reader gets in while we hold it) and std::unique_lock (writers alone:
//    no reader or other writer inside, exact count); try_lock /
//    try_lock_shared;
//    unlock / unlock_shared misuse throws GORT_EPERM.
//  - gort::condition_variable with a predicate: a bounded producer/consumer
//    queue (4 producers, 4 consumers, 20,000 items, exact sum), plus
//    notify_all releasing 50 waiters.
//  - gort::wait_group: add/done/wait; a negative counter throws
//    gort::error with GORT_EINVAL and leaves the counter unchanged.
//  - gort::once_flag / gort::call_once with arguments: 100 concurrent
//    goroutines, the callable runs exactly once, every caller returns after
//    it finished.
//  - gort::semaphore: acquire/try_acquire/release with weights; n <= 0
//    throws GORT_EINVAL; at most 3 holders of a 3-unit semaphore at once
//    among 50 goroutines.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check.h"

#include <gort.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>

using namespace std::chrono_literals;

namespace {

template <class F>
int thrown_code(F f) {
    try {
        f();
    } catch (const gort::error &e) {
        return e.code();
    }
    return 0;
}

void mutexes() {
    gort::mutex m;
    long counter = 0;
    std::atomic<int> inside{0};
    gort::wait_group wg;
    wg.add(1000);
    for (int g = 0; g < 1000; g++)
        gort::go([&] {
            for (int i = 0; i < 100; i++) {
                std::lock_guard<gort::mutex> lk(m);
                CHECK_EQ(inside.exchange(1), 0);
                long v = counter;
                if (i % 17 == 0)
                    gort::this_goroutine::yield();
                counter = v + 1;
                inside = 0;
            }
            wg.done();
        });
    wg.wait();
    CHECK_EQ(counter, 100000);

    // unique_lock forms
    {
        std::unique_lock<gort::mutex> lk(m, std::defer_lock);
        CHECK(!lk.owns_lock());
        lk.lock();
        CHECK(lk.owns_lock());
        std::atomic<int> tried{-1};
        gort::go([&] {
            std::unique_lock<gort::mutex> other(m, std::try_to_lock);
            tried = other.owns_lock() ? 1 : 0;
        });
        check_wait_until([&] { return tried.load() != -1; }, "try_to_lock probe");
        CHECK_EQ(tried.load(), 0);
        lk.unlock();
        CHECK(m.try_lock());
        CHECK(!m.try_lock());
        m.unlock();
    }
    CHECK_EQ(thrown_code([&] { m.unlock(); }), GORT_EPERM);
    CHECK(m.try_lock()); // still works after the misuse
    m.unlock();

    // scoped_lock over two mutexes taken in opposite orders
    gort::mutex a, b;
    long ca = 0, cb = 0;
    wg.add(200);
    for (int g = 0; g < 200; g++)
        gort::go([&, g] {
            for (int i = 0; i < 200; i++) {
                if (g % 2) {
                    std::scoped_lock lk(a, b);
                    ca++;
                    cb += 2;
                } else {
                    std::scoped_lock lk(b, a);
                    ca++;
                    cb += 2;
                }
                if (i % 50 == 0)
                    gort::this_goroutine::yield();
            }
            wg.done();
        });
    wg.wait();
    CHECK_EQ(ca, 40000);
    CHECK_EQ(cb, 80000);
    printf("mutex: ok (lock_guard, unique_lock, scoped_lock)\n");
}

void shared_mutexes() {
    gort::shared_mutex rw;
    std::atomic<int> readers{0}, writers{0}, max_readers{0};
    long value = 0;
    gort::wait_group wg;
    wg.add(60);
    for (int g = 0; g < 50; g++)
        gort::go([&] {
            for (int i = 0; i < 200; i++) {
                std::shared_lock<gort::shared_mutex> lk(rw);
                int r = readers.fetch_add(1) + 1;
                CHECK_EQ(writers.load(), 0);
                int m = max_readers.load();
                while (r > m && !max_readers.compare_exchange_weak(m, r)) {
                }
                if (i % 10 == 0)
                    gort::this_goroutine::yield();
                readers.fetch_sub(1);
            }
            wg.done();
        });
    for (int g = 0; g < 10; g++)
        gort::go([&] {
            for (int i = 0; i < 100; i++) {
                std::unique_lock<gort::shared_mutex> lk(rw);
                CHECK_EQ(writers.fetch_add(1), 0);
                CHECK_EQ(readers.load(), 0);
                long v = value;
                if (i % 10 == 0)
                    gort::this_goroutine::yield();
                value = v + 1;
                writers.fetch_sub(1);
            }
            wg.done();
        });
    wg.wait();
    CHECK_EQ(value, 1000);
    // readers share the lock: another goroutine gets a shared_lock while we
    // hold one (no writer waiting)
    {
        std::shared_lock<gort::shared_mutex> mine(rw);
        std::atomic<int> got{0};
        gort::go([&] {
            std::shared_lock<gort::shared_mutex> theirs(rw);
            got = 1;
        });
        check_wait_until([&] { return got.load() == 1; }, "second reader");
    }
    CHECK(rw.try_lock());
    CHECK(!rw.try_lock());
    CHECK(!rw.try_lock_shared());
    CHECK_EQ(thrown_code([&] { rw.unlock_shared(); }), GORT_EPERM);
    rw.unlock();
    CHECK_EQ(thrown_code([&] { rw.unlock(); }), GORT_EPERM);
    CHECK(rw.try_lock_shared());
    CHECK(rw.try_lock_shared());
    CHECK(!rw.try_lock());
    CHECK_EQ(thrown_code([&] { rw.unlock(); }), GORT_EPERM);
    rw.unlock_shared();
    rw.unlock_shared();
    CHECK_EQ(thrown_code([&] { rw.unlock_shared(); }), GORT_EPERM);
    CHECK(rw.try_lock());
    rw.unlock();
    printf("shared_mutex: ok (up to %d readers together)\n", max_readers.load());
}

void condvars() {
    gort::mutex m;
    gort::condition_variable not_empty, not_full;
    std::deque<int> q;
    const size_t cap = 8;
    const int items = 20000, producers = 4, consumers = 4;
    long long consumed_sum = 0;
    int consumed = 0;
    bool closed = false;
    gort::wait_group wg;
    wg.add(producers + consumers);
    for (int p = 0; p < producers; p++)
        gort::go([&, p] {
            for (int i = p; i < items; i += producers) {
                std::unique_lock<gort::mutex> lk(m);
                not_full.wait(lk, [&] { return q.size() < cap; });
                q.push_back(i);
                not_empty.notify_one();
            }
            wg.done();
        });
    for (int c = 0; c < consumers; c++)
        gort::go([&] {
            std::unique_lock<gort::mutex> lk(m);
            for (;;) {
                not_empty.wait(lk, [&] { return !q.empty() || closed; });
                if (q.empty())
                    break;
                consumed_sum += q.front();
                consumed++;
                q.pop_front();
                not_full.notify_one();
                if (consumed == items) {
                    closed = true;
                    not_empty.notify_all();
                }
            }
            lk.unlock(); // before done(): m lives in the caller's frame
            wg.done();
        });
    wg.wait();
    CHECK_EQ(consumed, items);
    CHECK_EQ(consumed_sum, (long long)items * (items - 1) / 2);

    // notify_all releases every waiter
    bool go_flag = false;
    int waiting = 0;
    std::atomic<int> released{0};
    wg.add(50);
    for (int i = 0; i < 50; i++)
        gort::go([&] {
            std::unique_lock<gort::mutex> lk(m);
            waiting++;
            not_empty.wait(lk, [&] { return go_flag; });
            released++;
            lk.unlock();
            wg.done();
        });
    check_wait_until(
        [&] {
            std::lock_guard<gort::mutex> lk(m);
            return waiting == 50;
        },
        "cv waiters");
    CHECK_EQ(released.load(), 0);
    {
        std::lock_guard<gort::mutex> lk(m);
        go_flag = true;
    }
    not_empty.notify_all();
    wg.wait();
    CHECK_EQ(released.load(), 50);
    printf("condition_variable: ok\n");
}

void waitgroups() {
    gort::wait_group wg;
    wg.wait(); // zero: returns at once
    CHECK_EQ(thrown_code([&] { wg.done(); }), GORT_EINVAL);
    wg.add(3);
    CHECK_EQ(thrown_code([&] { wg.add(-4); }), GORT_EINVAL);
    std::atomic<int> n{0};
    for (int i = 0; i < 3; i++)
        gort::go([&] {
            gort::sleep_for(2ms);
            n++;
            wg.done();
        });
    wg.wait();
    CHECK_EQ(n.load(), 3); // the failed add(-4) changed nothing
    CHECK_EQ(thrown_code([&] { wg.done(); }), GORT_EINVAL);
    printf("wait_group: ok\n");
}

void once() {
    gort::once_flag flag;
    std::atomic<int> runs{0}, callers_after{0}, finished{0};
    std::atomic<bool> fn_done{false};
    gort::wait_group wg;
    wg.add(100);
    for (int i = 0; i < 100; i++)
        gort::go([&] {
            gort::call_once(
                flag,
                [&](int a, int b) {
                    runs += a + b - 4; // 1
                    gort::sleep_for(10ms);
                    fn_done = true;
                },
                2, 3);
            if (fn_done.load())
                callers_after++;
            finished++;
            wg.done();
        });
    wg.wait();
    CHECK_EQ(runs.load(), 1);
    CHECK_EQ(callers_after.load(), 100);
    gort::call_once(flag, [&] { runs++; });
    CHECK_EQ(runs.load(), 1);
    printf("call_once: ok\n");
}

void semaphores() {
    gort::semaphore s(3);
    CHECK(s.try_acquire(2));
    CHECK(!s.try_acquire(2));
    CHECK(s.try_acquire());
    CHECK(!s.try_acquire());
    s.release(3);
    CHECK_EQ(thrown_code([&] { s.acquire(0); }), GORT_EINVAL);
    CHECK_EQ(thrown_code([&] { s.release(-1); }), GORT_EINVAL);
    CHECK(!s.try_acquire(0));
    std::atomic<int> holders{0}, max_holders{0};
    gort::wait_group wg;
    wg.add(50);
    for (int g = 0; g < 50; g++)
        gort::go([&] {
            for (int i = 0; i < 20; i++) {
                s.acquire();
                int h = holders.fetch_add(1) + 1;
                CHECK(h <= 3);
                int m = max_holders.load();
                while (h > m && !max_holders.compare_exchange_weak(m, h)) {
                }
                gort::this_goroutine::yield();
                holders--;
                s.release();
            }
            wg.done();
        });
    wg.wait();
    CHECK(s.try_acquire(3));
    s.release(3);
    printf("semaphore: ok (at most %d holders of 3 units)\n", max_holders.load());
}

} // namespace

// gort::lock_os_thread_guard: the thread stays put under a guard (nested
// too), and the guard throws GORT_EPERM on a thread that is no goroutine.
void os_thread_guards() {
    std::atomic<int> done{0};
    for (int k = 0; k < 4; k++) {
        gort::go([&done] {
            gort::lock_os_thread_guard outer;
            long tid = check_gettid();
            {
                gort::lock_os_thread_guard inner;
                for (int i = 0; i < 100; i++) {
                    gort::this_goroutine::yield();
                    gort::this_goroutine::sleep_for(std::chrono::microseconds(50));
                    CHECK_EQ(check_gettid(), tid);
                }
            }
            for (int i = 0; i < 100; i++) {
                gort::this_goroutine::sleep_for(std::chrono::microseconds(50));
                CHECK_EQ(check_gettid(), tid);
            }
            done++;
        });
    }
    check_wait_until([&] { return done.load() == 4; }, "locked goroutines");
    int code = 0;
    std::thread host([&code] {
        try {
            gort::lock_os_thread_guard g;
        } catch (const gort::error &e) {
            code = e.code();
        }
    });
    host.join();
    CHECK_EQ(code, GORT_EPERM);
    printf("lock_os_thread_guard: ok\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    setenv("GORT_MAXPROCS", "2", 1);
    int rc = gort::run(argc, argv, [] {
        mutexes();
        shared_mutexes();
        condvars();
        waitgroups();
        once();
        semaphores();
        os_thread_guards();
        printf("test_cpp_sync: ok\n");
    });
    fprintf(stderr, "gort::run returned %d (%s)\n", rc, gort_strerror(rc));
    return 1;
}
