// gort.hpp: C++17 interface to gort, header-only over <gort.h>.
//
//   gort::go(f, args...)                 go f(args...)
//   gort::this_goroutine::id/yield/sleep_for
//   gort::chan<T> c(cap)                 make(chan T, cap); RAII reference;
//                                        any move-constructible T (memcpy
//                                        if trivially copyable, else moved)
//   c.send(v) / c.recv() / for (T v : c) <-, range until closed
//   gort::select(gort::on_recv(c, f), gort::on_send(c, v, g),
//                gort::on_timeout(10ms, h))          select { ... }
//   gort::mutex, gort::shared_mutex      std::lock_guard, unique_lock,
//                                        scoped_lock, shared_lock work
//   gort::condition_variable, gort::wait_group, gort::once_flag,
//   gort::call_once, gort::semaphore, gort::sleep_for, gort::after,
//   gort::timer (after_func)
//   gort::read/write/readv/writev/recv/send/recvfrom/sendto/accept/
//   connect/close, gort::fd_wait       the netpoller's fd calls
//   gort::set_deadline(fd, tp or d)      SetDeadline, with std::chrono
//   gort::fd                             an owned fd, gort::close on scope exit
//   gort::syscall_guard, gort::blocking(f, args...)
//   gort::lock_os_thread_guard           runtime.LockOSThread + deferred Unlock
//                                        entersyscall/exitsyscall around a
//                                        call that blocks the thread
//
// Errors a program can act on are return values (a closed channel, a
// timeout, an I/O error as a negative errno); the others (out of memory,
// runtime not initialised) throw gort::error. An exception escaping a
// goroutine calls std::terminate after printing the goroutine id, as
// std::thread does.
#ifndef GORT_HPP
#define GORT_HPP

#include <gort.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace gort {

/// A gort error code (GORT_E*) as an exception.
class error : public std::runtime_error {
public:
    error(int code, const char *what)
        : std::runtime_error(std::string(what) + ": " + gort_strerror(code)), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

namespace detail {
/// Why a constructor returned NULL: not initialised, or out of memory.
inline int null_error() noexcept { return gort_gomaxprocs() < 0 ? GORT_ENOTINIT : GORT_ENOMEM; }

inline int check(int rc, const char *what) {
    if (rc < 0)
        throw error(rc, what);
    return rc;
}

template <class Rep, class Period>
int64_t to_ns(std::chrono::duration<Rep, Period> d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    return ns < 0 ? 0 : static_cast<int64_t>(ns);
}

template <class Task>
void trampoline(void *p) {
    Task *t = static_cast<Task *>(p);
    try {
        std::apply(t->fn, std::move(t->args));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "gort: exception escaped goroutine %lld: %s\n",
                     static_cast<long long>(gort_goid()), e.what());
        std::terminate();
    } catch (...) {
        std::fprintf(stderr, "gort: exception escaped goroutine %lld\n",
                     static_cast<long long>(gort_goid()));
        std::terminate();
    }
    delete t;
}

template <class F, class... Args>
struct task {
    F fn;
    std::tuple<Args...> args;
};
} // namespace detail

/// Starts a goroutine running f(args...) (Go's `go` statement); the
/// callable and arguments are decay-copied, as by std::thread. Returns the
/// goroutine id. Throws gort::error when the runtime is not initialised or
/// out of memory.
template <class F, class... Args>
int64_t go(F &&f, Args &&...args) {
    using Task = detail::task<std::decay_t<F>, std::decay_t<Args>...>;
    auto *t = new Task{std::forward<F>(f), {std::forward<Args>(args)...}};
    int64_t id = gort_go(&detail::trampoline<Task>, t);
    if (id < 0) {
        delete t;
        throw error(static_cast<int>(id), "gort::go");
    }
    return id;
}

/// Program mode in one call: gort_init, runs main_fn as the main goroutine,
/// gort_mstart. Returns only on error (the process exits with status 0 when
/// main_fn returns).
template <class F>
int run(int argc, char **argv, F &&main_fn) {
    int rc = gort_init(argc, argv);
    if (rc < 0)
        return rc;
    go(std::forward<F>(main_fn));
    return gort_mstart();
}

template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
    detail::check(gort_sleep(detail::to_ns(d)), "gort::sleep_for");
}

/// The calling goroutine, as std::this_thread is the calling thread.
namespace this_goroutine {
/// The current goroutine's id, 0 off a goroutine.
inline int64_t id() noexcept { return gort_goid(); }
/// Lets other goroutines run (Go's runtime.Gosched).
inline void yield() noexcept { gort_yield(); }
/// Parks the goroutine for at least d (gort::sleep_for; Go's
/// time.Sleep). Off a goroutine it blocks the thread.
template <class Rep, class Period>
void sleep_for(std::chrono::duration<Rep, Period> d) {
    gort::sleep_for(d);
}
} // namespace this_goroutine

/// Outcome of a non-blocking or timed channel operation.
enum class status { ok, closed, would_block, timed_out };

namespace detail {
inline status to_status(int rc, const char *what) {
    switch (rc) {
    case GORT_OK: return status::ok;
    case GORT_ECLOSED: return status::closed;
    case GORT_EAGAIN: return status::would_block;
    case GORT_ETIMEDOUT: return status::timed_out;
    default: throw error(rc, what);
    }
}

// Elements
//
// The C channel copies elem_size bytes: into its ring buffer, or straight
// into a parked receiver's variable, under its lock and with no hook that
// could run a constructor at that moment. So only a type whose bytes are
// the value can travel by memcpy: a trivially copyable T does, unchanged
// (elem_size == sizeof(T), no allocation: the fast path). Any other T is
// boxed: the C channel's element is a T* (elem_size == sizeof(T *)) to a
// T that the sender move- or copy-constructs on the heap before the C
// call, and the receiver moves out of and deletes after it. A box in the
// C channel (buffered, or in flight to a receiver) is owned by the
// channel. One new/delete per element is the price; the alternatives
// are worse: a pointer to the sender's own variable would dangle once a
// buffered send returns, and a ring of T inside the C channel would need
// the runtime to call C++ constructors under its lock.
//
// Ownership of the boxes still buffered when the channel goes away needs
// to know which chan object is the last, and gort_chan_release does not
// say (nor can the C channel run a destructor for its elements). So the
// chan objects of a boxed channel share one count of their own (below,
// chan_handle<T, true>) and one C reference between them: the last one
// to go drains the buffer with gort_chan_try_recv, deleting each box, and
// then releases the C reference. Nobody can be blocked on the channel by
// then: every send, receive and select goes through a chan object, which
// keeps the count above zero while it runs.
//
// Exceptions: only pointers pass through the C channel, so a T that
// throws cannot corrupt it. A constructor throwing into a box (or
// std::bad_alloc) means nothing was sent; a move throwing out of a box
// leaves the box to a std::unique_ptr, so the element is destroyed, not
// leaked, and the channel holds exactly what it held without it.

/// Whether gort::chan<T> boxes its elements (see "Elements" above).
template <class T>
inline constexpr bool chan_boxed = !std::is_trivially_copyable_v<T>;

/// T in a non-deduced context (std::type_identity_t in C++20): the channel
/// alone decides T in on_send(c, v, f), so 7 can be sent on a chan<long>.
template <class T>
struct identity {
    using type = T;
};
template <class T>
using identity_t = typename identity<T>::type;

/// A chan<T> object's claim on its C channel. Memcpy elements: each object
/// owns one C reference (a copy retains, destruction releases).
template <class T, bool Boxed = chan_boxed<T>>
class chan_handle {
public:
    explicit chan_handle(size_t cap) : c_(gort_chan_make(sizeof(T), cap)) {
        if (!c_)
            throw error(null_error(), "gort::chan");
    }
    /// Adopts a reference the caller owns.
    explicit chan_handle(gort_chan *c) : c_(c) {
        if (!c_)
            throw error(null_error(), "gort::chan");
    }
    chan_handle(const chan_handle &o) noexcept : c_(o.c_) {
        if (c_)
            gort_chan_retain(c_);
    }
    chan_handle(chan_handle &&o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    chan_handle &operator=(chan_handle o) noexcept {
        std::swap(c_, o.c_);
        return *this;
    }
    ~chan_handle() {
        if (c_)
            gort_chan_release(c_);
    }
    gort_chan *get() const noexcept { return c_; }

private:
    gort_chan *c_;
};

/// Boxed elements: the chan objects share `refs` and one C reference; the
/// last one deletes the boxes still buffered, then releases the C
/// channel (see "Elements" above).
template <class T>
class chan_handle<T, true> {
    struct shared {
        std::atomic<size_t> refs;
        gort_chan *c;
    };

public:
    explicit chan_handle(size_t cap) {
        std::unique_ptr<shared> s(new shared{{1}, nullptr});
        s->c = gort_chan_make(sizeof(T *), cap);
        if (!s->c)
            throw error(null_error(), "gort::chan");
        s_ = s.release();
    }
    chan_handle(const chan_handle &o) noexcept : s_(o.s_) {
        if (s_)
            s_->refs.fetch_add(1, std::memory_order_relaxed); // o's own reference keeps s_ alive
    }
    chan_handle(chan_handle &&o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    chan_handle &operator=(chan_handle o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~chan_handle() {
        // acq_rel: release our uses of the channel to the last owner, and
        // (as the last owner) acquire everyone else's before draining.
        if (!s_ || s_->refs.fetch_sub(1, std::memory_order_acq_rel) != 1)
            return;
        T *box = nullptr;
        while (gort_chan_try_recv(s_->c, &box) == GORT_OK) // closed or not; then EAGAIN or ECLOSED
            delete box;
        gort_chan_release(s_->c);
        delete s_;
    }
    gort_chan *get() const noexcept { return s_ ? s_->c : nullptr; }

private:
    shared *s_;
};
} // namespace detail

/// A channel of T (Go's chan T), for any move-constructible T. Each chan
/// object is a reference: copies share the channel, and it goes away with
/// the last of them.
///
/// Trivially copyable T (int, a struct of scalars, a raw pointer) travels
/// by memcpy through the C channel, as in C; each chan object owns one C
/// reference (gort_chan_retain/gort_chan_release). Any other T
/// (std::string, std::unique_ptr, std::vector, ...) is moved in and out:
/// send(std::move(v)) or send(v) (a copy) constructs the element in a heap
/// box, a receive move-constructs it out (recv, select, range-for) or
/// move-assigns it (try_recv, recv_for) and destroys the box, so every
/// element is destroyed exactly once. Elements still buffered when the
/// last chan object goes, closed or not, are destroyed then.
///
/// A send that does not happen (closed, would_block, timed_out) leaves an
/// rvalue argument holding its value (moved back by move assignment; a T
/// that has none is destroyed instead): `c.try_send(std::move(p))` can be
/// retried. Go panics on a send to a closed channel; here it returns false.
///
/// Exceptions (boxed T): if constructing the element for a send throws
/// (T's move or copy constructor, std::bad_alloc), nothing is sent and the
/// exception propagates; the argument is as T's constructor left it. If
/// moving an element out on a receive throws, that element has been taken
/// from the channel: it is destroyed (not leaked) and the exception
/// propagates. Either way the channel stays consistent and usable, and
/// holds exactly the other elements, in order.
///
/// native_handle() of a boxed channel carries T* boxes made by `new`: C
/// code receiving one owns it, and C references do not keep buffered
/// elements alive past the last chan object.
template <class T>
class chan {
    static constexpr bool boxed = detail::chan_boxed<T>;
    static_assert(std::is_object_v<T> && !std::is_array_v<T>, "gort::chan<T>: T must be an object type, not an array");
    static_assert(!boxed || std::is_move_constructible_v<T>,
                  "gort::chan<T> moves elements that are not trivially copyable: T must be move-constructible");

public:
    /// make(chan T, cap). Throws gort::error: GORT_ENOTINIT before init,
    /// GORT_ENOMEM when memory is exhausted.
    explicit chan(size_t cap = 0) : h_(cap) {}
    /// Adopts a reference the caller owns (e.g. from gort_after). Not for
    /// boxed T: the elements of a C channel are not boxes.
    static chan adopt(gort_chan *c) {
        static_assert(!boxed, "gort::chan<T>::adopt: only for trivially copyable T");
        return chan(c, adopt_tag{});
    }

    /// c <- v. Returns false if the channel is closed (Go panics there).
    bool send(const T &v) const { return put(v, op_send(), "chan::send") == status::ok; }
    bool send(T &&v) const { return put(std::move(v), op_send(), "chan::send") == status::ok; }
    /// v, ok := <-c: nullopt once closed and drained.
    std::optional<T> recv() const {
        if constexpr (!boxed) {
            T v;
            if (detail::to_status(gort_chan_recv(c(), &v), "chan::recv") != status::ok)
                return std::nullopt;
            return v;
        } else {
            status st;
            std::unique_ptr<T> box = take(op_recv(), st, "chan::recv");
            if (st != status::ok)
                return std::nullopt;
            return std::optional<T>(std::in_place, std::move(*box)); // a throw: box frees it
        }
    }
    status try_send(const T &v) const { return put(v, op_try_send(), "chan::try_send"); }
    status try_send(T &&v) const { return put(std::move(v), op_try_send(), "chan::try_send"); }
    /// Receives into out if a value is ready. Memcpy T: on closed, out is
    /// zeroed (the C call's zero value); boxed T: out is assigned only on
    /// status::ok (T must be move-assignable).
    status try_recv(T &out) const { return take_into(out, op_try_recv(), "chan::try_recv"); }
    template <class Rep, class Period>
    status send_for(const T &v, std::chrono::duration<Rep, Period> d) const {
        return put(v, op_send_for(detail::to_ns(d)), "chan::send_for");
    }
    template <class Rep, class Period>
    status send_for(T &&v, std::chrono::duration<Rep, Period> d) const {
        return put(std::move(v), op_send_for(detail::to_ns(d)), "chan::send_for");
    }
    /// As try_recv, waiting up to d.
    template <class Rep, class Period>
    status recv_for(T &out, std::chrono::duration<Rep, Period> d) const {
        return take_into(out, op_recv_for(detail::to_ns(d)), "chan::recv_for");
    }
    /// close(c). Returns false if it was already closed. Buffered elements
    /// stay receivable.
    bool close() const { return detail::to_status(gort_chan_close(c()), "chan::close") == status::ok; }
    size_t size() const { return static_cast<size_t>(gort_chan_len(c())); }
    size_t capacity() const { return static_cast<size_t>(gort_chan_cap(c())); }
    gort_chan *native_handle() const noexcept { return c(); }

    /// `for (T v : c)` receives until the channel is closed (Go's range).
    /// Boxed T: *it is T&& (as for std::move_iterator: the loop owns each
    /// element), so `for (T v : c)` moves and works for move-only T; use
    /// `auto &&` or `const auto &` to bind a reference instead.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = std::conditional_t<boxed, T *, const T *>;
        using reference = std::conditional_t<boxed, T &&, const T &>;
        iterator() = default;
        explicit iterator(const chan *c) : c_(c) { ++*this; }
        reference operator*() const {
            if constexpr (boxed)
                return std::move(*v_);
            else
                return v_;
        }
        iterator &operator++() {
            if constexpr (boxed) {
                v_.reset();
                status st;
                std::unique_ptr<T> box = c_->take(c_->op_recv(), st, "chan::recv");
                if (st == status::ok)
                    v_.emplace(std::move(*box));
                else
                    c_ = nullptr;
            } else {
                auto v = c_->recv();
                if (v)
                    v_ = *v;
                else
                    c_ = nullptr;
            }
            return *this;
        }
        bool operator==(const iterator &o) const { return c_ == o.c_; }
        bool operator!=(const iterator &o) const { return c_ != o.c_; }

    private:
        const chan *c_ = nullptr;
        // boxed: an optional, so T need not be default-constructible, and
        // mutable, so that *it can move out of it
        mutable std::conditional_t<boxed, std::optional<T>, T> v_{};
    };
    iterator begin() const { return iterator(this); }
    iterator end() const { return iterator(); }

private:
    struct adopt_tag {};
    chan(gort_chan *c, adopt_tag) : h_(c) {}
    gort_chan *c() const noexcept { return h_.get(); }

    // The C calls, bound to this channel, for put and take.
    auto op_send() const {
        return [c = c()](const void *e) { return gort_chan_send(c, e); };
    }
    auto op_try_send() const {
        return [c = c()](const void *e) { return gort_chan_try_send(c, e); };
    }
    auto op_send_for(int64_t ns) const {
        return [c = c(), ns](const void *e) { return gort_chan_send_timeout(c, e, ns); };
    }
    auto op_recv() const {
        return [c = c()](void *e) { return gort_chan_recv(c, e); };
    }
    auto op_try_recv() const {
        return [c = c()](void *e) { return gort_chan_try_recv(c, e); };
    }
    auto op_recv_for(int64_t ns) const {
        return [c = c(), ns](void *e) { return gort_chan_recv_timeout(c, e, ns); };
    }

    // Sends v (a const T& or a T&&) with send_op. Boxed: the box is the
    // channel's once the C call succeeds; otherwise it is freed, and an
    // rvalue v gets its value back first.
    template <class V, class Op>
    status put(V &&v, Op send_op, const char *what) const {
        if constexpr (!boxed) {
            return detail::to_status(send_op(&v), what);
        } else {
            std::unique_ptr<T> box(new T(std::forward<V>(v))); // a throw: nothing sent
            T *p = box.get();
            int rc = send_op(&p);
            if (rc == GORT_OK) {
                box.release(); // now the channel's (or its receiver's)
                return status::ok;
            }
            if constexpr (!std::is_lvalue_reference_v<V> && std::is_move_assignable_v<T>)
                v = std::move(*box); // not sent: the caller keeps its value
            return detail::to_status(rc, what);
        }
    }

    // Boxed: receives a box with recv_op into an owner (null unless st is
    // status::ok), so every path out of the caller frees it.
    template <class Op>
    std::unique_ptr<T> take(Op recv_op, status &st, const char *what) const {
        T *p = nullptr;
        int rc = recv_op(&p);
        std::unique_ptr<T> box(p);
        st = detail::to_status(rc, what);
        return box;
    }

    template <class Op>
    status take_into(T &out, Op recv_op, const char *what) const {
        if constexpr (!boxed) {
            return detail::to_status(recv_op(&out), what);
        } else {
            status st;
            std::unique_ptr<T> box = take(recv_op, st, what);
            if (st == status::ok)
                out = std::move(*box); // a throw: box frees it
            return st;
        }
    }

    detail::chan_handle<T> h_;
};

/// A channel that receives the time (gort_nanotime) once d has passed
/// (Go's time.After).
template <class Rep, class Period>
chan<int64_t> after(std::chrono::duration<Rep, Period> d) {
    return chan<int64_t>::adopt(gort_after(detail::to_ns(d)));
}

// ---------------------------------------------------------------------------
// select

namespace detail {
struct case_base {};
} // namespace detail

/// Receive case: f(std::optional<T>) runs if it proceeds (nullopt: closed).
template <class T, class F, bool Boxed = detail::chan_boxed<T>>
struct recv_case : detail::case_base {
    const chan<T> *c;
    F f;
    T v{};
    void fill(gort_select_case &sc) {
        sc.chan = c ? c->native_handle() : nullptr;
        sc.dir = GORT_SELECT_RECV;
        sc.elem = &v;
        sc.closed = false;
    }
    void fire(const gort_select_case &sc) { f(sc.closed ? std::optional<T>() : std::optional<T>(v)); }
};

/// Receive case of a boxed channel: gort_select writes the box only into
/// the chosen case, and fire() takes it at once, so a throwing move or f
/// cannot leak it.
template <class T, class F>
struct recv_case<T, F, true> : detail::case_base {
    const chan<T> *c;
    F f;
    T *box = nullptr;
    void fill(gort_select_case &sc) {
        sc.chan = c ? c->native_handle() : nullptr;
        sc.dir = GORT_SELECT_RECV;
        sc.elem = &box;
        sc.closed = false;
    }
    void fire(const gort_select_case &sc) {
        std::unique_ptr<T> own(std::exchange(box, nullptr));
        if (sc.closed || !own)
            f(std::optional<T>());
        else
            f(std::optional<T>(std::in_place, std::move(*own)));
    }
};

/// Send case: f(bool sent) runs if it proceeds (false: the channel was
/// closed and nothing was sent).
template <class T, class F, bool Boxed = detail::chan_boxed<T>>
struct send_case : detail::case_base {
    const chan<T> *c;
    T v;
    F f;
    void fill(gort_select_case &sc) {
        sc.chan = c ? c->native_handle() : nullptr;
        sc.dir = GORT_SELECT_SEND;
        sc.elem = &v;
        sc.closed = false;
    }
    void fire(const gort_select_case &sc) { f(!sc.closed); }
};

/// Send case of a boxed channel: the value is boxed when the case is made;
/// the box becomes the channel's if this case sends, and is destroyed with
/// the case otherwise (as in Go, an unchosen send's value is dropped).
template <class T, class F>
struct send_case<T, F, true> : detail::case_base {
    const chan<T> *c;
    std::unique_ptr<T> box;
    F f;
    T *p = nullptr; // what gort_select copies into the channel: box.get()
    void fill(gort_select_case &sc) {
        p = box.get();
        sc.chan = c ? c->native_handle() : nullptr;
        sc.dir = GORT_SELECT_SEND;
        sc.elem = &p;
        sc.closed = false;
    }
    void fire(const gort_select_case &sc) {
        if (!sc.closed)
            (void)box.release(); // sent: the channel owns it now
        f(!sc.closed);
    }
};

/// Runs f() if nothing else is ready after d (or at once: Go's default
/// case, with d == 0).
template <class F>
struct timeout_case {
    int64_t ns;
    F f;
};

template <class T, class F>
recv_case<T, F> on_recv(const chan<T> &c, F f) { return {{}, &c, std::move(f)}; }
/// The case sends a copy of v, or v itself moved (on_send(c, std::move(v),
/// f)); T is the channel's.
template <class T, class F>
send_case<T, F> on_send(const chan<T> &c, const detail::identity_t<T> &v, F f) {
    if constexpr (detail::chan_boxed<T>)
        return {{}, &c, std::make_unique<T>(v), std::move(f)};
    else
        return {{}, &c, v, std::move(f)};
}
template <class T, class F>
send_case<T, F> on_send(const chan<T> &c, detail::identity_t<T> &&v, F f) {
    if constexpr (detail::chan_boxed<T>)
        return {{}, &c, std::make_unique<T>(std::move(v)), std::move(f)};
    else
        return {{}, &c, v, std::move(f)};
}
template <class Rep, class Period, class F>
timeout_case<F> on_timeout(std::chrono::duration<Rep, Period> d, F f) { return {detail::to_ns(d), std::move(f)}; }
template <class F>
timeout_case<F> on_default(F f) { return {0, std::move(f)}; }

namespace detail {
template <class C>
struct is_timeout : std::false_type {};
template <class F>
struct is_timeout<timeout_case<F>> : std::true_type {};

template <class Tuple, size_t... I>
void select_fill(Tuple &cs, gort_select_case *sc, int64_t &timeout, std::index_sequence<I...>) {
    auto one = [&](auto &c, size_t i) {
        if constexpr (is_timeout<std::decay_t<decltype(c)>>::value)
            timeout = c.ns;
        else
            c.fill(sc[i]);
    };
    (one(std::get<I>(cs), I), ...);
}

template <class Tuple, size_t... I>
void select_fire(Tuple &cs, const gort_select_case *sc, int k, std::index_sequence<I...>) {
    auto one = [&](auto &c, size_t i) {
        if constexpr (!is_timeout<std::decay_t<decltype(c)>>::value)
            if (static_cast<int>(i) == k)
                c.fire(sc[i]);
    };
    (one(std::get<I>(cs), I), ...);
}
} // namespace detail

/// Go's select: waits until one case can proceed, runs its function, and
/// returns its position among the channel cases (ready cases are chosen
/// uniformly at random). With a trailing on_timeout/on_default case, runs
/// that instead when nothing is ready in time and returns -1.
template <class... Cases>
int select(Cases... cases) {
    constexpr size_t n = sizeof...(Cases);
    constexpr bool has_timeout = (detail::is_timeout<Cases>::value || ...);
    static_assert(!has_timeout || detail::is_timeout<std::tuple_element_t<n - 1, std::tuple<Cases...>>>::value,
                  "the timeout/default case must come last");
    constexpr size_t nchan = has_timeout ? n - 1 : n;
    std::tuple<Cases...> cs(std::move(cases)...);
    gort_select_case sc[nchan > 0 ? nchan : 1];
    int64_t timeout = -1;
    detail::select_fill(cs, sc, timeout, std::index_sequence_for<Cases...>{});
    int k = gort_select(sc, nchan, timeout);
    if (k == GORT_EAGAIN || k == GORT_ETIMEDOUT) {
        if constexpr (has_timeout)
            std::get<n - 1>(cs).f();
        return -1;
    }
    detail::check(k, "gort::select");
    detail::select_fire(cs, sc, k, std::index_sequence_for<Cases...>{});
    return k;
}

// ---------------------------------------------------------------------------
// sync

/// Go's sync.Mutex; meets Lockable (std::lock_guard, std::unique_lock,
/// std::scoped_lock). Not recursive.
class mutex {
public:
    constexpr mutex() noexcept = default;
    mutex(const mutex &) = delete;
    mutex &operator=(const mutex &) = delete;
    void lock() { gort_mutex_lock(&m_); }
    bool try_lock() { return gort_mutex_trylock(&m_) == GORT_OK; }
    void unlock() { detail::check(gort_mutex_unlock(&m_), "gort::mutex::unlock"); }
    gort_mutex *native_handle() noexcept { return &m_; }

private:
    gort_mutex m_ = GORT_MUTEX_INIT;
};

/// Go's sync.RWMutex; meets SharedLockable (std::shared_lock works too).
class shared_mutex {
public:
    constexpr shared_mutex() noexcept = default;
    shared_mutex(const shared_mutex &) = delete;
    shared_mutex &operator=(const shared_mutex &) = delete;
    void lock() { gort_rwmutex_lock(&m_); }
    bool try_lock() { return gort_rwmutex_trylock(&m_) == GORT_OK; }
    void unlock() { detail::check(gort_rwmutex_unlock(&m_), "gort::shared_mutex::unlock"); }
    void lock_shared() { gort_rwmutex_rlock(&m_); }
    bool try_lock_shared() { return gort_rwmutex_tryrlock(&m_) == GORT_OK; }
    void unlock_shared() { detail::check(gort_rwmutex_runlock(&m_), "gort::shared_mutex::unlock_shared"); }
    gort_rwmutex *native_handle() noexcept { return &m_; }

private:
    gort_rwmutex m_ = GORT_RWMUTEX_INIT;
};

/// Go's sync.Cond, used with std::unique_lock<gort::mutex>.
class condition_variable {
public:
    constexpr condition_variable() noexcept = default;
    condition_variable(const condition_variable &) = delete;
    condition_variable &operator=(const condition_variable &) = delete;
    void notify_one() noexcept { gort_cond_signal(&c_); }
    void notify_all() noexcept { gort_cond_broadcast(&c_); }
    void wait(std::unique_lock<mutex> &lk) {
        detail::check(gort_cond_wait(&c_, lk.mutex()->native_handle()), "gort::condition_variable::wait");
    }
    template <class Pred>
    void wait(std::unique_lock<mutex> &lk, Pred pred) {
        while (!pred())
            wait(lk);
    }
    gort_cond *native_handle() noexcept { return &c_; }

private:
    gort_cond c_ = GORT_COND_INIT;
};

/// Go's sync.WaitGroup.
class wait_group {
public:
    constexpr wait_group() noexcept = default;
    wait_group(const wait_group &) = delete;
    wait_group &operator=(const wait_group &) = delete;
    /// Throws gort::error if the counter would go negative.
    void add(int64_t delta = 1) { detail::check(gort_waitgroup_add(&wg_, delta), "gort::wait_group::add"); }
    void done() { add(-1); }
    void wait() { gort_waitgroup_wait(&wg_); }
    gort_waitgroup *native_handle() noexcept { return &wg_; }

private:
    gort_waitgroup wg_ = GORT_WAITGROUP_INIT;
};

/// Go's sync.Once, for gort::call_once.
class once_flag {
public:
    constexpr once_flag() noexcept = default;
    once_flag(const once_flag &) = delete;
    once_flag &operator=(const once_flag &) = delete;

private:
    template <class F, class... Args>
    friend void call_once(once_flag &, F &&, Args &&...);
    gort_once o_ = GORT_ONCE_INIT;
};

/// Calls f(args...) exactly once per flag; concurrent callers wait for it
/// (Go's Once.Do). An exception from f terminates the program.
template <class F, class... Args>
void call_once(once_flag &flag, F &&f, Args &&...args) {
    auto call = [&] { std::invoke(std::forward<F>(f), std::forward<Args>(args)...); };
    using Call = decltype(call);
    gort_once_do(
        &flag.o_, [](void *p) { (*static_cast<Call *>(p))(); }, &call);
}

/// A weighted counting semaphore (golang.org/x/sync/semaphore), FIFO.
class semaphore {
public:
    explicit semaphore(int64_t units = 0) noexcept : s_(GORT_SEMA_INIT(units)) {}
    semaphore(const semaphore &) = delete;
    semaphore &operator=(const semaphore &) = delete;
    void acquire(int64_t n = 1) { detail::check(gort_sema_acquire(&s_, n), "gort::semaphore::acquire"); }
    bool try_acquire(int64_t n = 1) { return gort_sema_try_acquire(&s_, n) == GORT_OK; }
    void release(int64_t n = 1) { detail::check(gort_sema_release(&s_, n), "gort::semaphore::release"); }
    gort_sema *native_handle() noexcept { return &s_; }

private:
    gort_sema s_;
};

/// Go's time.AfterFunc: runs f() in a new goroutine after d. Destroying the
/// timer stops it if it has not fired; a goroutine it already started keeps
/// its own reference to f and runs to completion. An exception escaping f
/// calls std::terminate, as for gort::go.
class timer {
public:
    template <class Rep, class Period, class F>
    timer(std::chrono::duration<Rep, Period> d, F f) : fn_(std::make_shared<std::function<void()>>(std::move(f))) {
        arm(detail::to_ns(d));
    }
    timer(const timer &) = delete;
    timer &operator=(const timer &) = delete;
    ~timer() { disarm(); }
    /// True if this stopped the timer before it fired.
    bool stop() noexcept { return disarm(); }
    /// Re-arms for d from now; true if it had been armed.
    template <class Rep, class Period>
    bool reset(std::chrono::duration<Rep, Period> d) {
        bool was = disarm();
        arm(detail::to_ns(d));
        return was;
    }

private:
    using shared_fn = std::shared_ptr<std::function<void()>>;

    // Each arming hands the goroutine its own ticket (a reference to f): the
    // goroutine may outlive this object.
    static void fire(void *p) {
        std::unique_ptr<shared_fn> ticket(static_cast<shared_fn *>(p));
        try {
            (**ticket)();
        } catch (const std::exception &e) {
            std::fprintf(stderr, "gort: exception escaped goroutine %lld: %s\n",
                         static_cast<long long>(gort_goid()), e.what());
            std::terminate();
        } catch (...) {
            std::fprintf(stderr, "gort: exception escaped goroutine %lld\n", static_cast<long long>(gort_goid()));
            std::terminate();
        }
    }

    void arm(int64_t ns) {
        ticket_ = new shared_fn(fn_);
        t_ = gort_after_func(ns, &timer::fire, ticket_);
        if (!t_) {
            delete ticket_;
            ticket_ = nullptr;
            throw error(detail::null_error(), "gort::timer");
        }
    }

    // Stops and frees the C timer. If that prevented the firing, the ticket
    // is still ours; otherwise the goroutine it started owns it.
    bool disarm() noexcept {
        if (!t_)
            return false;
        bool pending = gort_timer_stop(t_) == 1;
        gort_timer_free(t_);
        if (pending)
            delete ticket_;
        t_ = nullptr;
        ticket_ = nullptr;
        return pending;
    }

    shared_fn fn_;
    shared_fn *ticket_ = nullptr;
    gort_timer *t_ = nullptr;
};

// ---------------------------------------------------------------------------
// I/O: the netpoller's fd calls
//
// Each takes and returns what its C function does (gort.h has the full
// contracts): a byte count or fd, 0 from a read at end of file, and a
// negative errno (-ECONNRESET, -EPIPE, ...), GORT_ETIMEDOUT (a deadline
// passed) or GORT_ECLOSED (gort::close while waiting) on failure. These are
// the ordinary outcomes of I/O, which a program acts on, so they are
// returned as they are; only GORT_ENOTINIT (no runtime yet, a programming
// error) throws gort::error. On a goroutine a call that would block parks
// it; on a host thread it blocks the thread.
//
// The names are the POSIX ones in namespace gort: call them qualified
// (`gort::read`), since under `using namespace gort` an unqualified
// read(fd, buf, n) is ambiguous with ::read.

namespace detail {
template <class R>
R io(R rc, const char *what) {
    if (rc == GORT_ENOTINIT)
        throw error(GORT_ENOTINIT, what);
    return rc;
}

// gort's deadlines are gort_nanotime() values (CLOCK_MONOTONIC), and
// steady_clock is CLOCK_MONOTONIC in libstdc++ and libc++ on Linux, so a
// time_point converts exactly, with no second clock read. Its epoch (0)
// means "no deadline", as in the C API; an earlier time_point is merely
// past, so it becomes 1 (expired) rather than 0 or the negative value the
// C call rejects.
inline int64_t deadline_ns(std::chrono::steady_clock::time_point tp) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count();
    if (ns == 0)
        return 0;
    return ns < 0 ? 1 : static_cast<int64_t>(ns);
}

// now + d, saturating: a duration too long for int64 nanoseconds is a
// deadline that never comes, not an overflow into the past.
template <class Rep, class Period>
int64_t deadline_in(std::chrono::duration<Rep, Period> d) {
    int64_t now = gort_nanotime();
    if (std::chrono::duration<double>(d).count() >= static_cast<double>(INT64_MAX - now) / 1e9)
        return INT64_MAX;
    return now + to_ns(d); // to_ns: a negative d is now, already expired
}
} // namespace detail

/// No deadline: pass to gort::set_deadline and friends to clear one (the
/// steady_clock epoch, 0 in gort_nanotime terms, as Go's zero time.Time).
inline constexpr std::chrono::steady_clock::time_point no_deadline{};

/// Waits until fd is ready for events (GORT_POLLIN, GORT_POLLOUT or both),
/// with no timeout (the fd's deadlines still apply). Returns the ready
/// events (> 0), or GORT_ETIMEDOUT, GORT_ECLOSED, GORT_EINVAL, -EBADF.
inline int fd_wait(int fd, int events) { return detail::io(gort_fd_wait(fd, events, -1), "gort::fd_wait"); }

/// As fd_wait(fd, events), giving up after timeout with GORT_ETIMEDOUT.
/// A zero or negative timeout only checks (unlike the C call, where a
/// negative timeout waits forever: here that is the overload without one).
template <class Rep, class Period>
int fd_wait(int fd, int events, std::chrono::duration<Rep, Period> timeout) {
    return detail::io(gort_fd_wait(fd, events, detail::to_ns(timeout)), "gort::fd_wait");
}

/// read(2): up to n bytes, parking while none are available. Bytes read,
/// 0 at end of file, or a negative error.
inline ssize_t read(int fd, void *buf, size_t n) { return detail::io(gort_read(fd, buf, n), "gort::read"); }

/// Writes all n bytes (Go's Write); fewer only when an error or the write
/// deadline stopped it (the next call reports that error).
inline ssize_t write(int fd, const void *buf, size_t n) { return detail::io(gort_write(fd, buf, n), "gort::write"); }

/// Writes all of s, as write(fd, s.data(), s.size()).
inline ssize_t write(int fd, std::string_view s) { return write(fd, s.data(), s.size()); }

/// readv(2), parking while no data is available.
inline ssize_t readv(int fd, const struct iovec *iov, int iovcnt) {
    return detail::io(gort_readv(fd, iov, iovcnt), "gort::readv");
}

/// Gather write of every byte, as write.
inline ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
    return detail::io(gort_writev(fd, iov, iovcnt), "gort::writev");
}

/// recv(2) on a socket, parking while no data is available.
inline ssize_t recv(int fd, void *buf, size_t n, int flags = 0) {
    return detail::io(gort_recv(fd, buf, n, flags), "gort::recv");
}

/// send(2), never raising SIGPIPE: every byte on a stream socket, one
/// datagram on a datagram socket.
inline ssize_t send(int fd, const void *buf, size_t n, int flags = 0) {
    return detail::io(gort_send(fd, buf, n, flags), "gort::send");
}

/// recvfrom(2): one datagram, with its sender in addr/addrlen if not null.
inline ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *addrlen) {
    return detail::io(gort_recvfrom(fd, buf, n, flags, addr, addrlen), "gort::recvfrom");
}

/// sendto(2), never raising SIGPIPE.
inline ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                      socklen_t addrlen) {
    return detail::io(gort_sendto(fd, buf, n, flags, addr, addrlen), "gort::sendto");
}

/// Accepts a connection, parking until one arrives. Returns the new fd
/// (non-blocking, close-on-exec; wrap it in a gort::fd) or a negative
/// error; GORT_ETIMEDOUT at the listener's read deadline.
inline int accept(int fd, struct sockaddr *addr = nullptr, socklen_t *addrlen = nullptr) {
    return detail::io(gort_accept(fd, addr, addrlen), "gort::accept");
}

/// connect(2), parking until connected or refused. Returns 0 or a negative
/// error (-ECONNREFUSED, ...); GORT_ETIMEDOUT at the write deadline.
inline int connect(int fd, const struct sockaddr *addr, socklen_t addrlen) {
    return detail::io(gort_connect(fd, addr, addrlen), "gort::connect");
}

/// gort_close: wakes everyone waiting on fd (their calls return
/// GORT_ECLOSED), makes the poller forget it, then close(2). Returns 0 or
/// a negative errno. Works before init.
inline int close(int fd) noexcept { return gort_close(fd); }

/// Go's SetDeadline: reads and writes on fd that would wait past tp (or
/// start after it) return GORT_ETIMEDOUT; the fd stays usable.
/// gort::no_deadline clears it. Returns 0, -ENOTSUP (a regular file), or
/// a negative errno.
inline int set_deadline(int fd, std::chrono::steady_clock::time_point tp) {
    return detail::io(gort_set_deadline(fd, detail::deadline_ns(tp)), "gort::set_deadline");
}
/// Go's SetReadDeadline (reads, receives, accepts), as set_deadline.
inline int set_read_deadline(int fd, std::chrono::steady_clock::time_point tp) {
    return detail::io(gort_set_read_deadline(fd, detail::deadline_ns(tp)), "gort::set_read_deadline");
}
/// Go's SetWriteDeadline (writes, sends, connects), as set_deadline.
inline int set_write_deadline(int fd, std::chrono::steady_clock::time_point tp) {
    return detail::io(gort_set_write_deadline(fd, detail::deadline_ns(tp)), "gort::set_write_deadline");
}
/// The deadline d from now (a zero or negative d: already expired).
template <class Rep, class Period>
int set_deadline(int fd, std::chrono::duration<Rep, Period> d) {
    return detail::io(gort_set_deadline(fd, detail::deadline_in(d)), "gort::set_deadline");
}
template <class Rep, class Period>
int set_read_deadline(int fd, std::chrono::duration<Rep, Period> d) {
    return detail::io(gort_set_read_deadline(fd, detail::deadline_in(d)), "gort::set_read_deadline");
}
template <class Rep, class Period>
int set_write_deadline(int fd, std::chrono::duration<Rep, Period> d) {
    return detail::io(gort_set_write_deadline(fd, detail::deadline_in(d)), "gort::set_write_deadline");
}

/// Owns a file descriptor and closes it with gort_close when destroyed
/// (waking any goroutine still waiting on it), as std::unique_ptr owns
/// memory. Move-only. A negative value (an error from gort::accept, say)
/// owns nothing: `gort::fd c(gort::accept(l.get())); if (!c) ... c.get()`
/// still gives the error.
class fd {
public:
    constexpr fd() noexcept = default;
    constexpr explicit fd(int n) noexcept : fd_(n) {}
    fd(fd &&o) noexcept : fd_(o.release()) {}
    fd &operator=(fd &&o) noexcept {
        if (this != &o)
            reset(o.release());
        return *this;
    }
    fd(const fd &) = delete;
    fd &operator=(const fd &) = delete;
    // A destructor cannot report the error; call close() to see it.
    ~fd() {
        if (fd_ >= 0)
            gort_close(fd_);
    }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives up ownership: returns the number, which is no longer closed.
    int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the owned fd, if any, and takes n.
    void reset(int n = -1) noexcept {
        int old = std::exchange(fd_, n);
        if (old >= 0 && old != n)
            gort_close(old);
    }
    /// Closes now: 0 or a negative errno from gort_close; -EBADF if
    /// nothing is owned.
    int close() noexcept {
        int old = release();
        return old >= 0 ? gort_close(old) : -EBADF;
    }

private:
    int fd_ = -1;
};

/// Marks the goroutine as inside a call that may block its thread (Go's
/// entersyscall) for the guard's lifetime: sysmon may hand its P to
/// another thread meanwhile, so other goroutines keep running. For calls
/// gort does not wrap: file I/O on a slow disk, getaddrinfo, waitpid, a
/// library's blocking call. Off a goroutine it does nothing. Throws
/// gort::error (GORT_EPERM) when already inside one: guards do not nest.
class syscall_guard {
public:
    syscall_guard() { detail::check(gort_entersyscall(), "gort::syscall_guard"); }
    ~syscall_guard() { gort_exitsyscall(); }
    syscall_guard(const syscall_guard &) = delete;
    syscall_guard &operator=(const syscall_guard &) = delete;
};

/// Wires the calling goroutine to its current OS thread for the guard's
/// lifetime (Go's runtime.LockOSThread, with the deferred UnlockOSThread):
/// it runs only on this thread, and no other goroutine runs there. Guards
/// nest, each undoing its own lock. Throws gort::error: GORT_EPERM off a
/// goroutine, GORT_EINVAL when nested too deep, GORT_ENOTINIT.
class lock_os_thread_guard {
public:
    lock_os_thread_guard() { detail::check(gort_lock_os_thread(), "gort::lock_os_thread_guard"); }
    ~lock_os_thread_guard() { gort_unlock_os_thread(); }
    lock_os_thread_guard(const lock_os_thread_guard &) = delete;
    lock_os_thread_guard &operator=(const lock_os_thread_guard &) = delete;
};

/// Runs f(args...) inside a syscall_guard and returns what it returns;
/// an exception from f propagates, the guard released.
///   int rc = gort::blocking(getaddrinfo, host, port, &hints, &res);
template <class F, class... Args>
decltype(auto) blocking(F &&f, Args &&...args) {
    syscall_guard guard;
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
}

} // namespace gort

#endif // GORT_HPP
