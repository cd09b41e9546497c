// test_cpp_chan_values: gort::chan<T> for T that is not trivially copyable
// (include/gort.hpp: "boxed" elements, moved in and out), select over such
// channels, and gort::go / this_goroutine with move-only arguments.
//
// What:
//  - before init, gort::chan<std::string> throws GORT_ENOTINIT (and leaks
//    nothing: LSan in the ASan build); a chan object stays one pointer for
//    memcpy and boxed T alike.
//  - std::string, std::unique_ptr<int> and std::vector<std::string> through
//    channels of capacity 0, 1 and 16, sent from other goroutines (2 Ps),
//    received with recv(), range-for (moving out) and try_recv/recv_for:
//    exact contents and order, per sender with 4 senders; send(lvalue)
//    copies and leaves the source as it was.
//  - a send that does not happen (would_block, timed_out, closed, a blocked
//    sender woken by close) leaves an rvalue argument with its value; a
//    receive that gets nothing leaves `out` untouched.
//  - a type with only a move constructor (no default constructor, no
//    assignment) through send, recv, select and range-for; a
//    chan<chan<int>> of reply channels served by a goroutine.
//  - gort::go(f, std::unique_ptr) and a move-only callable;
//    this_goroutine::id, yield and sleep_for.
//  - a counting type (static atomic constructions and destructions, and a
//    per-object alive mark that catches a second destruction): after
//    traffic at every capacity, elements left buffered when the last chan
//    object goes (the creator's, or a goroutine's copy), a closed channel
//    with elements inside, a chan<chan<counted>> holding the only reference
//    to a chan<counted> with elements, unchosen and closed select send
//    cases, and 4 senders / 3 receivers on one channel, every constructed
//    element is destroyed exactly once (constructions == destructions; ASan
//    checks the boxes themselves).
//  - a type whose move or copy throws (after a per-object number of moves,
//    so that it throws at a chosen point whatever goroutine moves it):
//    throwing while moving in (send, try_send, send of a copy, on_send) sends
//    nothing; throwing while moving out (recv, try_recv's assignment,
//    range-for, a select receive case, across goroutines on an unbuffered
//    channel) destroys that element and propagates; throwing while giving a
//    value back after would_block propagates; each time the channel then
//    holds exactly the other elements, in order, and constructions ==
//    destructions at the end.
//  - gort::select over boxed channels, next to memcpy ones: a receive case
//    moves the value into f, a send case of a move-only value, an lvalue
//    send case copies, closed channels (nullopt; false and the value
//    destroyed), cases completed by other goroutines on unbuffered channels,
//    and 2000 selects over two unbuffered vector<string> channels fed by two
//    goroutines (exact contents per channel).
//
// How: program mode through gort::run, GORT_MAXPROCS=2. Also run under
// -DGORT_TEST_SANITIZER=address (ASan + LSan clean).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "check.h"

#include <gort.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

const size_t caps[] = {0, 1, 16};

static_assert(sizeof(gort::chan<int>) == sizeof(void *), "a memcpy chan is one pointer");
static_assert(sizeof(gort::chan<std::string>) == sizeof(void *), "a boxed chan is one pointer");

// Distinct strings, short (in the small-string buffer) and long (on the heap).
std::string str_of(int i) {
    std::string s = std::to_string(i) + ":";
    s.append(static_cast<size_t>(i % 40), static_cast<char>('a' + i % 26));
    return s;
}

std::vector<std::string> vec_of(int i) {
    std::vector<std::string> v;
    for (int k = 0; k < i % 7; k++)
        v.push_back(str_of(i * 7 + k));
    return v;
}

// ---------------------------------------------------------------------------
// counted: every construction and destruction, and a mark that a second
// destruction (or a use after one) trips over.

struct counted {
    static constexpr uint32_t alive = 0xa11fe, dead = 0xdead;
    inline static std::atomic<long> made{0}, destroyed{0};
    static long live() { return made.load() - destroyed.load(); }

    uint32_t mark;
    int v;
    explicit counted(int x) : mark(alive), v(x) { made++; }
    counted(const counted &o) : mark(alive), v(o.v) {
        CHECK(o.mark == alive);
        made++;
    }
    counted(counted &&o) noexcept : mark(alive), v(o.v) {
        CHECK(o.mark == alive);
        o.v = -1;
        made++;
    }
    counted &operator=(const counted &o) {
        CHECK(mark == alive && o.mark == alive);
        v = o.v;
        return *this;
    }
    counted &operator=(counted &&o) noexcept {
        CHECK(mark == alive && o.mark == alive);
        v = o.v;
        o.v = -1;
        return *this;
    }
    ~counted() {
        CHECK(mark == alive);
        mark = dead;
        destroyed++;
    }
};
static_assert(!std::is_trivially_copyable_v<counted>, "counted must be boxed");

// ---------------------------------------------------------------------------
// thrower: its copy and move constructors and assignments throw when the
// source's moves_left is 0; each copy or move carries moves_left - 1. So
// thrower(v, 1) survives the move into its box and throws on the way out,
// whichever goroutine does it; moves_left < 0 never throws.

struct thrower_error : std::runtime_error {
    thrower_error() : std::runtime_error("thrower: move") {}
};

struct thrower {
    inline static std::atomic<long> made{0}, destroyed{0};
    static long live() { return made.load() - destroyed.load(); }

    int v;
    int moves_left;
    thrower(int x, int moves) : v(x), moves_left(moves) { made++; }
    thrower(const thrower &o) : v(o.v), moves_left(next(o)) { made++; }
    thrower(thrower &&o) : v(o.v), moves_left(next(o)) { made++; }
    thrower &operator=(const thrower &o) {
        moves_left = next(o);
        v = o.v;
        return *this;
    }
    thrower &operator=(thrower &&o) {
        moves_left = next(o);
        v = o.v;
        return *this;
    }
    ~thrower() { destroyed++; }

    static int next(const thrower &o) {
        if (o.moves_left == 0)
            throw thrower_error();
        return o.moves_left < 0 ? -1 : o.moves_left - 1;
    }
};

template <class F>
bool throws_thrower_error(F f) {
    try {
        f();
    } catch (const thrower_error &) {
        return true;
    }
    return false;
}

// ---------------------------------------------------------------------------

void before_init() {
    int code = 0;
    try {
        gort::chan<std::string> c(1);
    } catch (const gort::error &e) {
        code = e.code();
    }
    CHECK_EQ(code, GORT_ENOTINIT);
    printf("before init: ok\n");
}

void goroutines() {
    CHECK_EQ(gort::this_goroutine::id(), 1);
    gort::this_goroutine::yield();
    for (auto d : {0ms, 1ms, 5ms}) {
        auto t0 = std::chrono::steady_clock::now();
        gort::this_goroutine::sleep_for(d);
        CHECK(std::chrono::steady_clock::now() - t0 >= d);
    }
    // a move-only argument, and a move-only callable
    gort::chan<std::unique_ptr<int>> r;
    auto arg = std::make_unique<int>(41);
    std::atomic<int64_t> id{0};
    int64_t gid = gort::go(
        [r, &id](std::unique_ptr<int> a) {
            id = gort::this_goroutine::id();
            *a += 1;
            CHECK(r.send(std::move(a)));
        },
        std::move(arg));
    CHECK(!arg);
    auto got = r.recv();
    CHECK(got && *got && **got == 42);
    CHECK_EQ(id.load(), gid);
    auto owned = std::make_unique<int>(7);
    gort::go([r, p = std::move(owned)]() mutable { CHECK(r.send(std::move(p))); });
    got = r.recv();
    CHECK(got && *got && **got == 7);
    printf("go and this_goroutine: ok\n");
}

void strings() {
    constexpr int N = 2000;
    for (size_t cap : caps) {
        gort::chan<std::string> c(cap);
        CHECK_EQ(c.capacity(), cap);
        gort::go([c] {
            for (int i = 0; i < N; i++) {
                std::string s = str_of(i);
                if (i % 2) {
                    CHECK(c.send(std::move(s)));
                } else {
                    CHECK(c.send(s)); // a copy
                    CHECK(s == str_of(i));
                }
            }
            CHECK(c.close());
        });
        int i = 0;
        for (std::string s : c) { // moved out
            if (s != str_of(i)) {
                fprintf(stderr, "cap %zu: element %d is \"%s\"\n", cap, i, s.c_str());
                CHECK(0);
            }
            i++;
        }
        CHECK_EQ(i, N);
        CHECK(!c.recv().has_value());
        std::string out = "untouched";
        CHECK(c.try_recv(out) == gort::status::closed);
        CHECK(out == "untouched");
    }

    // 4 senders: each one's values arrive complete and in its order
    for (size_t cap : caps) {
        constexpr int S = 4, M = 500;
        gort::chan<std::string> c(cap);
        gort::wait_group senders;
        senders.add(S);
        for (int s = 0; s < S; s++)
            gort::go([c, s, &senders] {
                for (int i = 0; i < M; i++)
                    CHECK(c.send(str_of(s * M + i)));
                senders.done();
            });
        gort::go([c, &senders] {
            senders.wait();
            c.close();
        });
        int next[S] = {0, 0, 0, 0};
        int total = 0;
        for (auto v = c.recv(); v; v = c.recv()) {
            int s = 0;
            while (s < S && !(next[s] < M && *v == str_of(s * M + next[s])))
                s++;
            if (s == S) {
                fprintf(stderr, "cap %zu: unexpected \"%s\"\n", cap, v->c_str());
                CHECK(0);
            }
            next[s]++;
            total++;
        }
        CHECK_EQ(total, S * M);
        for (int s = 0; s < S; s++)
            CHECK_EQ(next[s], M);
    }
    printf("std::string: ok\n");
}

void unique_ptrs() {
    constexpr int N = 2000;
    for (size_t cap : caps) {
        gort::chan<std::unique_ptr<int>> c(cap);
        gort::go([c] {
            for (int i = 0; i < N; i++)
                CHECK(c.send(std::make_unique<int>(i)));
            CHECK(c.close());
        });
        for (int i = 0; i < N / 2; i++) {
            std::optional<std::unique_ptr<int>> p = c.recv();
            CHECK(p && *p);
            CHECK_EQ(**p, i);
        }
        int i = N / 2;
        for (std::unique_ptr<int> p : c) {
            CHECK(p);
            CHECK_EQ(*p, i);
            i++;
        }
        CHECK_EQ(i, N);
    }

    // a send that does not happen keeps the pointer
    gort::chan<std::unique_ptr<int>> b(1);
    CHECK(b.try_send(std::make_unique<int>(1)) == gort::status::ok);
    auto p = std::make_unique<int>(2);
    int *raw = p.get();
    CHECK(b.try_send(std::move(p)) == gort::status::would_block);
    CHECK(p.get() == raw);
    CHECK(b.send_for(std::move(p), 1ms) == gort::status::timed_out);
    CHECK(p.get() == raw);
    std::unique_ptr<int> out;
    CHECK(b.try_recv(out) == gort::status::ok);
    CHECK(out && *out == 1);
    CHECK(b.try_recv(out) == gort::status::would_block);
    CHECK(out && *out == 1); // untouched
    CHECK(b.recv_for(out, 1ms) == gort::status::timed_out);
    CHECK(out && *out == 1);
    CHECK(b.send_for(std::move(p), 1s) == gort::status::ok);
    CHECK(!p);
    CHECK(b.close());
    auto q = std::make_unique<int>(3);
    CHECK(!b.send(std::move(q)));
    CHECK(q && *q == 3);
    CHECK(b.try_send(std::move(q)) == gort::status::closed);
    CHECK(b.send_for(std::move(q), 1ms) == gort::status::closed);
    CHECK(q && *q == 3);
    CHECK_EQ(b.size(), 1u);
    CHECK(b.recv_for(out, 1s) == gort::status::ok); // buffered, received after close
    CHECK(out.get() == raw && *out == 2);
    CHECK(b.recv_for(out, 1s) == gort::status::closed);
    CHECK(out.get() == raw); // untouched

    // a blocked sender woken by close gets its pointer back
    gort::chan<std::unique_ptr<int>> u;
    std::atomic<int> back{0};
    gort::wait_group wg;
    wg.add(1);
    gort::go([u, &back, &wg] {
        auto mine = std::make_unique<int>(99);
        CHECK(!u.send(std::move(mine)));
        back = mine ? *mine : -1;
        wg.done();
    });
    gort::this_goroutine::sleep_for(5ms);
    CHECK(u.close());
    wg.wait();
    CHECK_EQ(back.load(), 99);
    printf("std::unique_ptr<int>: ok\n");
}

void vectors() {
    constexpr int N = 1000;
    for (size_t cap : caps) {
        gort::chan<std::vector<std::string>> c(cap);
        gort::go([c] {
            for (int i = 0; i < N; i++) {
                auto v = vec_of(i);
                if (i % 3 == 0) {
                    CHECK(c.send(v)); // a copy
                    CHECK(v == vec_of(i));
                } else {
                    CHECK(c.send(std::move(v)));
                }
            }
            CHECK(c.close());
        });
        int i = 0;
        std::vector<std::string> out;
        for (;; i++) { // recv() and recv_for(out) in turn
            if (i % 2 == 0) {
                auto v = c.recv();
                if (!v)
                    break;
                out = std::move(*v);
            } else {
                gort::status st = c.recv_for(out, 60s);
                if (st == gort::status::closed)
                    break;
                CHECK(st == gort::status::ok);
            }
            if (out != vec_of(i)) {
                fprintf(stderr, "cap %zu: element %d has %zu strings\n", cap, i, out.size());
                CHECK(0);
            }
        }
        CHECK_EQ(i, N);
    }
    // closed with elements inside: they are still received, exactly
    gort::chan<std::vector<std::string>> c(16);
    for (int i = 0; i < 10; i++)
        CHECK(c.send(vec_of(100 + i)));
    CHECK(c.close());
    int i = 0;
    for (auto &&v : c) {
        CHECK(v == vec_of(100 + i));
        i++;
    }
    CHECK_EQ(i, 10);
    printf("std::vector<std::string>: ok\n");
}

// Move-constructible only: no default constructor, no assignment.
struct fixed {
    const std::string s;
    explicit fixed(std::string x) : s(std::move(x)) {}
};
static_assert(!std::is_move_assignable_v<fixed> && !std::is_default_constructible_v<fixed>, "fixed");

void other_types() {
    // recv, select and range-for need only a move constructor
    gort::chan<fixed> c(2);
    CHECK(c.send(fixed("one")));
    const fixed two("two");
    CHECK(c.send(two)); // a copy
    fixed three("three");
    CHECK(c.try_send(std::move(three)) == gort::status::would_block); // not assignable: not given back
    auto x = c.recv();
    CHECK(x && x->s == "one");
    int k = gort::select(gort::on_recv(c, [](std::optional<fixed> v) { CHECK(v && v->s == "two"); }));
    CHECK_EQ(k, 0);
    CHECK(c.send(fixed("four")));
    CHECK(c.close());
    int n = 0;
    for (fixed f : c) {
        CHECK(f.s == "four");
        n++;
    }
    CHECK_EQ(n, 1);

    // a channel of reply channels (Go's request/response idiom)
    gort::chan<gort::chan<int>> requests;
    gort::go([requests] {
        for (gort::chan<int> reply : requests)
            CHECK(reply.send(static_cast<int>(reply.capacity()) * 10));
    });
    for (int i = 0; i < 100; i++) {
        gort::chan<int> reply(static_cast<size_t>(i % 3));
        CHECK(requests.send(reply));
        auto v = reply.recv();
        CHECK(v && *v == (i % 3) * 10);
    }
    CHECK(requests.close());
    printf("other types: ok (move-constructible only; chan<chan<int>>)\n");
}

void counting() {
    CHECK_EQ(counted::live(), 0);
    constexpr int N = 1000;
    // traffic at every capacity, across goroutines
    for (size_t cap : caps) {
        gort::wait_group wg;
        wg.add(1);
        {
            gort::chan<counted> c(cap);
            gort::go([c, &wg] {
                for (int i = 0; i < N; i++) {
                    if (i % 3 == 0) {
                        counted x(i);
                        CHECK(c.send(x));
                        CHECK_EQ(x.v, i);
                    } else {
                        CHECK(c.send(counted(i)));
                    }
                }
                CHECK(c.close());
                wg.done();
            });
            int i = 0;
            for (counted x : c) {
                CHECK_EQ(x.v, i);
                i++;
            }
            CHECK_EQ(i, N);
        }
        wg.wait();
        CHECK_EQ(counted::live(), 0);
    }

    // left buffered when the last (here: only) chan object goes
    {
        gort::chan<counted> c(16);
        for (int i = 0; i < 10; i++)
            CHECK(c.send(counted(i)));
        CHECK_EQ(c.size(), 10u);
        CHECK_EQ(counted::live(), 10);
        gort::chan<counted> copy = c, moved = std::move(copy);
        CHECK_EQ(counted::live(), 10);
    }
    CHECK_EQ(counted::live(), 0);

    // the last chan object is a goroutine's copy: the buffer lives until it goes
    {
        gort::chan<int> gate;
        {
            gort::chan<counted> c(16);
            for (int i = 0; i < 8; i++)
                CHECK(c.send(counted(i)));
            gort::go([c, gate] {
                CHECK(gate.recv().has_value());
                for (int i = 0; i < 3; i++) {
                    auto x = c.recv();
                    CHECK(x && x->v == i);
                }
            });
        }
        gort::this_goroutine::sleep_for(2ms);
        CHECK_EQ(counted::live(), 8); // the goroutine's copy keeps them
        CHECK(gate.send(1));
        check_wait_until([] { return counted::live() == 0; }, "the last chan object, in a goroutine, drains");
    }

    // closed with elements inside
    {
        gort::chan<counted> c(16);
        for (int i = 0; i < 6; i++)
            CHECK(c.send(counted(i)));
        CHECK(c.close());
        for (int i = 0; i < 2; i++) {
            auto x = c.recv();
            CHECK(x && x->v == i);
        }
        CHECK_EQ(counted::live(), 4);
    }
    CHECK_EQ(counted::live(), 0);

    // the only reference to a chan<counted> with elements, buffered in a
    // chan<chan<counted>>
    {
        gort::chan<gort::chan<counted>> outer(2);
        {
            gort::chan<counted> inner(4);
            CHECK(inner.send(counted(1)));
            CHECK(inner.send(counted(2)));
            CHECK(outer.send(inner));
        }
        CHECK_EQ(counted::live(), 2);
    }
    CHECK_EQ(counted::live(), 0);

    // sends that do not happen: the value goes back, nothing is left over
    {
        gort::chan<counted> c(1);
        CHECK(c.send(counted(1)));
        counted y(2);
        CHECK(c.try_send(std::move(y)) == gort::status::would_block);
        CHECK_EQ(y.v, 2);
        CHECK(c.try_send(y) == gort::status::would_block);
        CHECK(c.send_for(std::move(y), 1ms) == gort::status::timed_out);
        CHECK_EQ(y.v, 2);
        CHECK(c.close());
        CHECK(!c.send(std::move(y)));
        CHECK_EQ(y.v, 2);
        CHECK_EQ(counted::live(), 2); // y and the buffered 1
    }
    CHECK_EQ(counted::live(), 0);

    // select: a send case not chosen, and one on a closed channel
    {
        gort::chan<counted> full(1), ready(1), closed(1);
        CHECK(full.send(counted(1)));
        CHECK(ready.send(counted(2)));
        CHECK(closed.close());
        int k = gort::select(gort::on_send(full, counted(3), [](bool) { CHECK(0); }),
                             gort::on_recv(ready, [](std::optional<counted> x) { CHECK(x && x->v == 2); }));
        CHECK_EQ(k, 1);
        CHECK_EQ(counted::live(), 1); // the 1 in full; the 3 was dropped with its case
        bool sent = true;
        k = gort::select(gort::on_send(closed, counted(4), [&](bool ok) { sent = ok; }));
        CHECK_EQ(k, 0);
        CHECK(!sent);
        CHECK_EQ(counted::live(), 1);
    }
    CHECK_EQ(counted::live(), 0);

    // 4 senders and 3 receivers on one channel, at each capacity
    for (size_t cap : caps) {
        constexpr int S = 4, R = 3, M = 500;
        std::atomic<long> sum{0}, count{0};
        gort::wait_group senders, receivers;
        {
            gort::chan<counted> c(cap);
            senders.add(S);
            receivers.add(R);
            for (int s = 0; s < S; s++)
                gort::go([c, s, &senders] {
                    for (int i = 0; i < M; i++)
                        CHECK(c.send(counted(s * M + i)));
                    senders.done();
                });
            for (int r = 0; r < R; r++)
                gort::go([c, &sum, &count, &receivers] {
                    for (counted x : c) {
                        sum += x.v;
                        count++;
                    }
                    receivers.done();
                });
            senders.wait();
            CHECK(c.close());
        }
        receivers.wait();
        CHECK_EQ(count.load(), S * M);
        CHECK_EQ(sum.load(), static_cast<long>(S * M) * (S * M - 1) / 2);
        check_wait_until([] { return counted::live() == 0; }, "counted elements of 4 senders and 3 receivers");
    }

    CHECK(counted::made.load() > 0);
    CHECK_EQ(counted::made.load(), counted::destroyed.load());
    printf("counted: ok (%ld constructed, %ld destroyed)\n", counted::made.load(), counted::destroyed.load());
}

// Receives everything left in c (closed by the caller) and checks it is
// exactly `want`.
void expect_rest(const gort::chan<thrower> &c, std::vector<int> want) {
    std::vector<int> got;
    for (auto x = c.recv(); x; x = c.recv())
        got.push_back(x->v);
    if (got != want) {
        fprintf(stderr, "got %zu elements, want %zu:", got.size(), want.size());
        for (int v : got)
            fprintf(stderr, " %d", v);
        fprintf(stderr, "\n");
        CHECK(0);
    }
}

void throwing() {
    CHECK_EQ(thrower::live(), 0);
    // moving in throws: nothing is sent
    {
        gort::chan<thrower> c(4);
        CHECK(c.send(thrower(1, -1)));
        thrower t(2, 0);
        CHECK(throws_thrower_error([&] { c.send(std::move(t)); }));
        CHECK(throws_thrower_error([&] { c.send(t); }));
        CHECK(throws_thrower_error([&] { (void)c.try_send(std::move(t)); }));
        CHECK(throws_thrower_error([&] { (void)c.send_for(std::move(t), 1s); }));
        CHECK(throws_thrower_error([&] { gort::select(gort::on_send(c, std::move(t), [](bool) { CHECK(0); })); }));
        CHECK_EQ(t.v, 2);
        CHECK_EQ(c.size(), 1u);
        CHECK(c.send(thrower(3, -1)));
        CHECK(c.close());
        expect_rest(c, {1, 3});
    }
    CHECK_EQ(thrower::live(), 0);

    // moving out throws: that element is destroyed, the others stay, in order
    {
        gort::chan<thrower> c(8);
        CHECK(c.send(thrower(10, 1))); // into the box: 0 moves left
        CHECK(c.send(thrower(11, -1)));
        CHECK(c.send(thrower(12, 1)));
        CHECK(c.send(thrower(13, -1)));
        CHECK(c.send(thrower(14, 1)));
        CHECK(c.send(thrower(15, -1)));
        CHECK_EQ(thrower::live(), 6);
        CHECK(throws_thrower_error([&] { (void)c.recv(); }));
        CHECK_EQ(c.size(), 5u);
        CHECK_EQ(thrower::live(), 5);
        auto x = c.recv();
        CHECK(x && x->v == 11);
        thrower out(-7, -1);
        CHECK(throws_thrower_error([&] { (void)c.try_recv(out); })); // the assignment throws
        CHECK_EQ(out.v, -7);
        CHECK(c.try_recv(out) == gort::status::ok);
        CHECK_EQ(out.v, 13);
        CHECK(throws_thrower_error([&] {
            gort::select(gort::on_recv(c, [](std::optional<thrower>) { CHECK(0); }));
        }));
        CHECK_EQ(c.size(), 1u);
        CHECK(c.send(thrower(16, -1)));
        CHECK(c.close());
        expect_rest(c, {15, 16});
    }
    CHECK_EQ(thrower::live(), 0);

    // range-for: the exception leaves the loop; the rest is still there
    {
        gort::chan<thrower> c(4);
        CHECK(c.send(thrower(1, -1)));
        CHECK(c.send(thrower(2, 1)));
        CHECK(c.send(thrower(3, -1)));
        CHECK(c.close());
        std::vector<int> seen;
        CHECK(throws_thrower_error([&] {
            for (thrower t : c)
                seen.push_back(t.v);
        }));
        CHECK(seen == std::vector<int>{1});
        expect_rest(c, {3});
    }
    CHECK_EQ(thrower::live(), 0);

    // giving the value back after would_block throws: it propagates, and
    // the channel is as it was
    {
        gort::chan<thrower> c(1);
        CHECK(c.send(thrower(1, -1)));
        thrower t(2, 1); // the box takes its one move; moving back throws
        CHECK(throws_thrower_error([&] { (void)c.try_send(std::move(t)); }));
        CHECK_EQ(t.v, 2);
        CHECK_EQ(c.size(), 1u);
        CHECK(c.close());
        expect_rest(c, {1});
    }
    CHECK_EQ(thrower::live(), 0);

    // across goroutines on an unbuffered channel: every fifth element throws
    // on its way out of the box; the receiver gets exactly the others
    {
        constexpr int N = 500;
        gort::chan<thrower> c;
        gort::go([c] {
            for (int i = 0; i < N; i++)
                CHECK(c.send(thrower(i, i % 5 == 0 ? 1 : -1)));
            CHECK(c.close());
        });
        int next = 0, thrown = 0;
        for (;;) {
            std::optional<thrower> x;
            if (throws_thrower_error([&] { x = c.recv(); })) {
                CHECK(next % 5 == 0);
                thrown++;
                next++;
                continue;
            }
            if (!x)
                break;
            CHECK_EQ(x->v, next);
            next++;
        }
        CHECK_EQ(next, N);
        CHECK_EQ(thrown, N / 5);
    }
    check_wait_until([] { return thrower::live() == 0; }, "throwers");
    CHECK(thrower::made.load() > 0);
    CHECK_EQ(thrower::made.load(), thrower::destroyed.load());
    printf("throwing moves: ok (%ld constructed, %ld destroyed)\n", thrower::made.load(),
           thrower::destroyed.load());
}

void selects() {
    gort::chan<std::string> a(1), none;
    gort::chan<int> ints(1), nothing;
    const std::string long_str(100, 'x');
    CHECK(a.send(long_str));
    std::string got;
    int k = gort::select(gort::on_recv(none, [](std::optional<std::string>) { CHECK(0); }),
                         gort::on_recv(nothing, [](std::optional<int>) { CHECK(0); }),
                         gort::on_recv(a, [&](std::optional<std::string> v) {
                             CHECK(v.has_value());
                             got = std::move(*v);
                         }));
    CHECK_EQ(k, 2);
    CHECK(got == long_str);

    // memcpy and boxed cases together: each ready one is taken in turn
    CHECK(ints.send(5));
    CHECK(a.send("abc"));
    int got_int = 0;
    got.clear();
    for (int i = 0; i < 2; i++) {
        k = gort::select(gort::on_recv(ints, [&](std::optional<int> v) { got_int = *v; }),
                         gort::on_recv(a, [&](std::optional<std::string> v) { got = *v; }));
        CHECK(k == 0 || k == 1);
    }
    CHECK_EQ(got_int, 5);
    CHECK(got == "abc");

    // a move-only value in a send case; an lvalue send case copies
    gort::chan<std::unique_ptr<int>> u(1);
    bool sent = false;
    k = gort::select(gort::on_send(u, std::make_unique<int>(5), [&](bool ok) { sent = ok; }),
                     gort::on_default([] { CHECK(0); }));
    CHECK_EQ(k, 0);
    CHECK(sent);
    auto p = u.recv();
    CHECK(p && *p && **p == 5);
    std::string s = "keep me";
    k = gort::select(gort::on_send(a, s, [&](bool ok) { sent = ok; }));
    CHECK_EQ(k, 0);
    CHECK(sent);
    CHECK(s == "keep me");
    CHECK(*a.recv() == "keep me");
    // default when nothing is ready; the unsent value is dropped
    bool dflt = false;
    CHECK(a.send("fill"));
    k = gort::select(gort::on_send(a, std::string(50, 'y'), [](bool) { CHECK(0); }),
                     gort::on_recv(none, [](std::optional<std::string>) { CHECK(0); }),
                     gort::on_default([&] { dflt = true; }));
    CHECK_EQ(k, -1);
    CHECK(dflt);
    CHECK(*a.recv() == "fill");

    // closed channels
    gort::chan<std::string> c(2);
    CHECK(c.send("last"));
    CHECK(c.close());
    std::optional<std::string> rv;
    k = gort::select(gort::on_recv(c, [&](std::optional<std::string> v) { rv = std::move(v); }));
    CHECK_EQ(k, 0);
    CHECK(rv && *rv == "last"); // buffered before close
    k = gort::select(gort::on_recv(c, [&](std::optional<std::string> v) { rv = std::move(v); }));
    CHECK_EQ(k, 0);
    CHECK(!rv.has_value());
    sent = true;
    k = gort::select(gort::on_send(c, std::string("lost"), [&](bool ok) { sent = ok; }));
    CHECK_EQ(k, 0);
    CHECK(!sent);

    // unbuffered cases completed by other goroutines while select waits
    gort::chan<std::string> late;
    gort::go([late, long_str] {
        gort::this_goroutine::sleep_for(2ms);
        CHECK(late.send(long_str + "!"));
    });
    k = gort::select(gort::on_recv(none, [](std::optional<std::string>) { CHECK(0); }),
                     gort::on_recv(late, [&](std::optional<std::string> v) { got = *v; }),
                     gort::on_timeout(60s, [] { CHECK(0); }));
    CHECK_EQ(k, 1);
    CHECK(got == long_str + "!");
    gort::chan<std::unique_ptr<int>> taker;
    std::atomic<int> taken{0};
    gort::wait_group wg;
    wg.add(1);
    gort::go([taker, &taken, &wg] {
        gort::this_goroutine::sleep_for(2ms);
        auto v = taker.recv();
        taken = (v && *v) ? **v : -1;
        wg.done();
    });
    k = gort::select(gort::on_send(taker, std::make_unique<int>(77), [&](bool ok) { sent = ok; }),
                     gort::on_timeout(60s, [] { CHECK(0); }));
    CHECK_EQ(k, 0);
    CHECK(sent);
    wg.wait();
    CHECK_EQ(taken.load(), 77);

    // two unbuffered channels fed by two goroutines: exact per channel
    constexpr int N = 1000;
    gort::chan<std::vector<std::string>> x, y;
    gort::go([x] {
        for (int i = 0; i < N; i++)
            CHECK(x.send(vec_of(i)));
    });
    gort::go([y] {
        for (int i = 0; i < N; i++)
            CHECK(y.send(vec_of(N + i)));
    });
    int nx = 0, ny = 0;
    for (int i = 0; i < 2 * N; i++)
        gort::select(gort::on_recv(x, [&](std::optional<std::vector<std::string>> v) {
                         CHECK(v && *v == vec_of(nx));
                         nx++;
                     }),
                     gort::on_recv(y, [&](std::optional<std::vector<std::string>> v) {
                         CHECK(v && *v == vec_of(N + ny));
                         ny++;
                     }));
    CHECK_EQ(nx, N);
    CHECK_EQ(ny, N);
    printf("select: ok (%d from x, %d from y)\n", nx, ny);
}

} // namespace

int main(int argc, char **argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    setenv("GORT_MAXPROCS", "2", 1);
    before_init();
    int rc = gort::run(argc, argv, [] {
        CHECK_EQ(gort_gomaxprocs(), 2);
        goroutines();
        strings();
        unique_ptrs();
        vectors();
        other_types();
        counting();
        throwing();
        selects();
        printf("test_cpp_chan_values: ok\n");
    });
    fprintf(stderr, "gort::run returned %d (%s)\n", rc, gort_strerror(rc));
    return 1;
}
