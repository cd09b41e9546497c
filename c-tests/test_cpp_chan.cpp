// test_cpp_chan: the C++17 header's goroutines, channels, select and time
// (include/gort.hpp).
//
// What:
//  - before init, the header throws gort::error with the C code:
//    gort::go and gort::sleep_for -> GORT_ENOTINIT, and constructing a
//    gort::chan, gort::after and gort::timer -> GORT_ENOTINIT as well (not
//    initialised is not "out of memory").
//  - gort::run starts the main goroutine (id 1); gort::go runs lambdas
//    (capturing by value and by reference), functors and plain functions
//    with arguments (decay-copied: a std::string argument outlives the
//    caller's), returns distinct ids > 0 equal to this_goroutine::id()
//    inside; this_goroutine::yield works.
//  - gort::chan<T>: send/recv (std::optional, nullopt once closed and
//    drained), try_send/try_recv and send_for/recv_for with their status
//    values (ok, would_block, timed_out, closed), close() (false the
//    second time), size()/capacity(), a struct element type, copies that
//    share the channel (a copy captured by goroutines keeps it alive after
//    the creator's object is gone), range-for receiving until closed
//    (exact count and sum from 10 senders).
//  - gort::select: on_recv (the value, or nullopt on a closed channel),
//    on_send (true when sent, false on a closed channel), on_timeout (runs
//    after at least the duration and select returns -1), on_default (runs
//    at once when nothing is ready); the returned index is the case's
//    position; uniform choice among 2 ready cases (each 40-60% of 10,000).
//  - gort::after(d): one int64_t >= start + d; gort::sleep_for(chrono)
//    sleeps at least d; gort::timer fires its callable once in a new
//    goroutine, stop() before firing -> true and never fires, reset()
//    re-arms; destroying an armed timer cancels it; destroying a timer
//    whose goroutine is still running the callable leaves the callable and
//    its captures intact (20 rounds, with the freed memory reused).
//
// How: program mode through gort::run, GORT_MAXPROCS=2.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check.h"

#include <gort.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

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

void before_init() {
    CHECK_EQ(thrown_code([] { gort::go([] {}); }), GORT_ENOTINIT);
    CHECK_EQ(thrown_code([] { gort::sleep_for(1ms); }), GORT_ENOTINIT);
    // the constructors: GORT_ENOTINIT, not GORT_ENOMEM
    int codes[3] = {
        thrown_code([] { gort::chan<int> c(4); }),
        thrown_code([] { auto c = gort::after(1ms); }),
        thrown_code([] { gort::timer t(1ms, [] {}); }),
    };
    const char *names[3] = {"gort::chan", "gort::after", "gort::timer"};
    for (int i = 0; i < 3; i++)
        if (codes[i] != GORT_ENOTINIT)
            fprintf(stderr, "%s before init threw code %d (%s), expected GORT_ENOTINIT\n", names[i], codes[i],
                    gort_strerror(codes[i]));
    for (int i = 0; i < 3; i++)
        CHECK_EQ(codes[i], GORT_ENOTINIT);
    printf("before init: ok\n");
}

struct point {
    int x, y;
    double w;
};

std::atomic<int> functor_runs{0};
struct functor {
    int add;
    void operator()(int v) const { functor_runs.fetch_add(add + v); }
};

std::atomic<long> str_len{0};
void takes_string(std::string s, int n) { str_len.fetch_add(static_cast<long>(s.size()) * n); }

void goroutines() {
    CHECK_EQ(gort::this_goroutine::id(), 1);
    gort::this_goroutine::yield();
    std::atomic<int> by_ref{0};
    int by_val = 5;
    gort::wait_group wg;
    std::vector<int64_t> ids(3);
    std::atomic<int64_t> seen[3] = {{0}, {0}, {0}};
    wg.add(3);
    ids[0] = gort::go([&, by_val] {
        by_ref.fetch_add(by_val);
        seen[0] = gort::this_goroutine::id();
        wg.done();
    });
    ids[1] = gort::go(
        [&](int a, int b) {
            by_ref.fetch_add(a * b);
            seen[1] = gort::this_goroutine::id();
            wg.done();
        },
        6, 7);
    {
        std::string s(100, 'x'); // destroyed before the goroutine runs
        ids[2] = gort::go(
            [&](std::string str) {
                by_ref.fetch_add(static_cast<int>(str.size()));
                seen[2] = gort::this_goroutine::id();
                wg.done();
            },
            s);
    }
    wg.wait();
    CHECK_EQ(by_ref.load(), 5 + 42 + 100);
    for (int i = 0; i < 3; i++) {
        CHECK(ids[i] > 1);
        CHECK_EQ(seen[i].load(), ids[i]);
        for (int j = 0; j < i; j++)
            CHECK(ids[i] != ids[j]);
    }
    CHECK(gort::go(functor{10}, 1) > 0);
    CHECK(gort::go(functor{100}, 2) > 0);
    CHECK(gort::go(&takes_string, std::string("hello"), 3) > 0);
    check_wait_until([] { return functor_runs.load() == 113 && str_len.load() == 15; }, "functor goroutines");
    printf("go: ok (lambdas, functors, functions with arguments)\n");
}

void chan_basics() {
    gort::chan<int> u; // unbuffered
    CHECK_EQ(u.capacity(), 0u);
    CHECK(u.try_send(1) == gort::status::would_block);
    int out = -1;
    CHECK(u.try_recv(out) == gort::status::would_block);
    CHECK_EQ(out, -1);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(u.recv_for(out, 10ms) == gort::status::timed_out);
    CHECK(u.send_for(3, 10ms) == gort::status::timed_out);
    CHECK(std::chrono::steady_clock::now() - t0 >= 20ms);

    gort::chan<point> b(3);
    CHECK_EQ(b.capacity(), 3u);
    CHECK(b.send({1, 2, 0.5}));
    CHECK(b.try_send({3, 4, 1.5}) == gort::status::ok);
    CHECK(b.send_for({5, 6, 2.5}, 1s) == gort::status::ok);
    CHECK_EQ(b.size(), 3u);
    CHECK(b.try_send({7, 8, 0}) == gort::status::would_block);
    CHECK(b.send_for({7, 8, 0}, 1ms) == gort::status::timed_out);
    auto p = b.recv();
    CHECK(p.has_value());
    CHECK_EQ(p->x, 1);
    CHECK_EQ(p->y, 2);
    CHECK(b.close());
    CHECK(!b.close()); // already closed
    CHECK(!b.send({9, 9, 9}));
    CHECK(b.try_send({9, 9, 9}) == gort::status::closed);
    CHECK(b.send_for({9, 9, 9}, 1ms) == gort::status::closed);
    point q{-1, -1, -1};
    CHECK(b.try_recv(q) == gort::status::ok);
    CHECK_EQ(q.x, 3);
    CHECK(b.recv_for(q, 1s) == gort::status::ok);
    CHECK_EQ(q.x, 5);
    CHECK(!b.recv().has_value());
    q = {-1, -1, -1};
    CHECK(b.try_recv(q) == gort::status::closed);
    CHECK_EQ(q.x, 0); // zeroed
    CHECK_EQ(q.y, 0);
    CHECK(b.recv_for(q, 1s) == gort::status::closed);

    // a copy shares the channel and keeps it alive
    std::atomic<long> got{0};
    gort::wait_group wg;
    wg.add(1);
    {
        gort::chan<long> c(0);
        gort::chan<long> copy = c;
        CHECK(copy.native_handle() == c.native_handle());
        gort::go([c, &got, &wg] {
            for (auto v = c.recv(); v; v = c.recv())
                got.fetch_add(*v);
            wg.done();
        });
        for (long i = 1; i <= 100; i++)
            CHECK(copy.send(i));
        CHECK(c.close());
    } // our objects are gone; the goroutine's copy still holds a reference
    wg.wait();
    CHECK_EQ(got.load(), 5050);

    // range-for from 10 senders until closed
    gort::chan<int64_t> r(8);
    gort::wait_group senders;
    senders.add(10);
    for (int64_t s = 0; s < 10; s++)
        gort::go([r, s, &senders] {
            for (int64_t i = 0; i < 1000; i++)
                CHECK(r.send(s * 1000 + i));
            senders.done();
        });
    gort::go([r, &senders] {
        senders.wait();
        r.close();
    });
    int64_t count = 0, sum = 0;
    for (int64_t v : r) {
        count++;
        sum += v;
    }
    CHECK_EQ(count, 10000);
    CHECK_EQ(sum, 10000LL * 9999 / 2);
    printf("chan: ok\n");
}

void select_checks() {
    gort::chan<int> a(1), b(1), nothing;
    CHECK(a.send(10));
    int got = 0;
    int k = gort::select(gort::on_recv(nothing, [&](std::optional<int>) { got = -1; }),
                         gort::on_recv(a, [&](std::optional<int> v) { got = v.value_or(-2); }));
    CHECK_EQ(k, 1);
    CHECK_EQ(got, 10);
    bool sent = false;
    k = gort::select(gort::on_send(b, 7, [&](bool ok) { sent = ok; }), gort::on_default([&] { got = -3; }));
    CHECK_EQ(k, 0);
    CHECK(sent);
    CHECK_EQ(*b.recv(), 7);
    bool dflt = false;
    k = gort::select(gort::on_recv(nothing, [&](std::optional<int>) { CHECK(0); }), gort::on_default([&] { dflt = true; }));
    CHECK_EQ(k, -1);
    CHECK(dflt);
    bool timed = false;
    auto t0 = std::chrono::steady_clock::now();
    k = gort::select(gort::on_recv(nothing, [&](std::optional<int>) { CHECK(0); }),
                     gort::on_timeout(15ms, [&] { timed = true; }));
    CHECK_EQ(k, -1);
    CHECK(timed);
    CHECK(std::chrono::steady_clock::now() - t0 >= 15ms);
    // closed channels
    gort::chan<int> c(1);
    c.close();
    std::optional<int> rv = 5;
    k = gort::select(gort::on_recv(c, [&](std::optional<int> v) { rv = v; }));
    CHECK_EQ(k, 0);
    CHECK(!rv.has_value());
    sent = true;
    k = gort::select(gort::on_send(c, 1, [&](bool ok) { sent = ok; }));
    CHECK_EQ(k, 0);
    CHECK(!sent);
    // a value arriving from another goroutine while select waits
    gort::chan<int> late;
    gort::go([late] {
        gort::sleep_for(5ms);
        late.send(99);
    });
    got = 0;
    k = gort::select(gort::on_recv(nothing, [&](std::optional<int>) { CHECK(0); }),
                     gort::on_recv(late, [&](std::optional<int> v) { got = *v; }), gort::on_timeout(60s, [] { CHECK(0); }));
    CHECK_EQ(k, 1);
    CHECK_EQ(got, 99);
    // uniform among ready cases
    gort::chan<int> x(2), y(2);
    x.send(1);
    y.send(2);
    int counts[2] = {0, 0};
    for (int i = 0; i < 10000; i++) {
        int which = gort::select(gort::on_recv(x, [&](std::optional<int> v) { CHECK_EQ(*v, 1); x.send(1); }),
                                 gort::on_recv(y, [&](std::optional<int> v) { CHECK_EQ(*v, 2); y.send(2); }));
        CHECK(which == 0 || which == 1);
        counts[which]++;
    }
    CHECK(counts[0] >= 4000 && counts[0] <= 6000);
    printf("select: ok (2 ready cases: %d / %d)\n", counts[0], counts[1]);
}

void time_checks() {
    for (auto d : {0ms, 1ms, 10ms, 30ms}) {
        auto t0 = std::chrono::steady_clock::now();
        gort::sleep_for(d);
        CHECK(std::chrono::steady_clock::now() - t0 >= d);
    }
    gort::sleep_for(-5ms); // negative: returns at once
    int64_t start = gort_nanotime();
    auto tc = gort::after(20ms);
    CHECK_EQ(tc.capacity(), 1u);
    auto when = tc.recv();
    CHECK(when.has_value());
    CHECK(*when >= start + 20000000);
    int64_t v = 0;
    CHECK(tc.try_recv(v) == gort::status::would_block);
    // after in a select, next to a channel that stays empty
    gort::chan<int> never;
    start = gort_nanotime();
    auto tc2 = gort::after(std::chrono::microseconds(15000));
    int64_t fired = 0;
    int k = gort::select(gort::on_recv(never, [](std::optional<int>) { CHECK(0); }),
                         gort::on_recv(tc2, [&](std::optional<int64_t> t) { fired = *t; }));
    CHECK_EQ(k, 1);
    CHECK(fired >= start + 15000000);

    // timer
    std::atomic<int> runs{0};
    std::atomic<int64_t> tid{0};
    int64_t me = gort::this_goroutine::id();
    {
        gort::timer t(10ms, [&] {
            tid = gort::this_goroutine::id();
            runs++;
        });
        check_wait_until([&] { return runs.load() == 1; }, "timer");
        CHECK(tid.load() > 0 && tid.load() != me);
        CHECK(!t.stop()); // already fired
        CHECK(!t.reset(5ms));
        check_wait_until([&] { return runs.load() == 2; }, "timer after reset");
        CHECK(!t.reset(50ms));
        CHECK(t.stop()); // armed: stopped before firing
        CHECK(!t.stop());
        gort::sleep_for(80ms);
        CHECK_EQ(runs.load(), 2);
        CHECK(!t.reset(1h));
        CHECK(t.reset(1ms)); // armed: re-armed
        check_wait_until([&] { return runs.load() == 3; }, "timer after reset while armed");
    }
    {
        gort::timer t(50ms, [&] { runs += 100; });
    } // destroyed while armed: never fires
    gort::sleep_for(80ms);
    CHECK_EQ(runs.load(), 3);

    // a timer destroyed while the goroutine it started still runs its
    // callable: the callable (and what it captured) stays valid
    static std::atomic<int> intact{0}, broken{0};
    for (int i = 0; i < 20; i++) {
        {
            std::string text = "the quick brown fox jumps over the lazy dog";
            gort::timer t(0ms, [text] {
                gort::sleep_for(10ms); // the timer object is destroyed meanwhile
                if (text == "the quick brown fox jumps over the lazy dog")
                    intact++;
                else
                    broken++;
            });
            gort::sleep_for(2ms); // it fired: its goroutine sleeps inside the callable
        }
        for (int k = 0; k < 100; k++)
            delete[] new char[48]; // reuse whatever was freed
    }
    check_wait_until([] { return intact.load() + broken.load() == 20; }, "callables of destroyed timers");
    CHECK_EQ(broken.load(), 0);
    CHECK_EQ(intact.load(), 20);
    printf("time: ok\n");
}

} // namespace

int main(int argc, char **argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    setenv("GORT_MAXPROCS", "2", 1);
    before_init();
    int rc = gort::run(argc, argv, [] {
        goroutines();
        chan_basics();
        select_checks();
        time_checks();
        printf("test_cpp_chan: ok\n");
    });
    fprintf(stderr, "gort::run returned %d (%s)\n", rc, gort_strerror(rc));
    return 1;
}
