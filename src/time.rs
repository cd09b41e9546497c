//! Time: `gort_nanotime`, `gort_sleep`, and Go's timers (time.go,
//! Go 1.14's design).
//!
//! Each P owns a min-heap of timers under its own lock, with the earliest
//! deadline mirrored in an atomic (`timer0`, Go's timer0When) so that the
//! scheduler can skip the heap with one load. Timers are run
//! * by their P at every scheduling point, when `timer0` has passed
//!   (`checktimers` from `runqget_sched`), so a timer fires on time even
//!   while two goroutines keep a channel busy and never reach g0;
//! * by any M in `findrunnable`, for every P (so a P whose goroutine never
//!   yields, or an idle P, does not hold its timers back);
//! * and when nothing else runs, one idle M, the *timer sleeper*, sleeps in
//!   a futex until the earliest deadline of all Ps, then takes an idle P to
//!   run them (Go's netpoll(delay) block). Adding a timer earlier than that
//!   deadline kicks the sleeper. Other idle Ms sleep without timeout, so a
//!   thousand sleeping goroutines cost no CPU.
//!
//! A timer's callback runs on the scheduler (g0 or a goroutine stack in
//! the middle of a switch) and must not block: it readies a goroutine,
//! spawns one (`gort_after_func`) or sends without blocking (`gort_after`).

use crate::chan::{self, Chan};
use crate::ffi::{GORT_EINVAL, GORT_ENOTINIT, GORT_OK};
use crate::g::G;
use crate::lock::RawLock;
use crate::m::{getm, mref, M};
use crate::os::{futex_wait, futex_wake, nanotime};
use crate::p::P;
use crate::park::Waiter;
use crate::proc::{getg, gopark, goready, ParkFn};
use crate::sched::sched;
use std::cell::{Cell, UnsafeCell};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{fence, AtomicI64, AtomicPtr, AtomicU32, Ordering};

const IDLE: u32 = 0;
const WAITING: u32 = 1;
const RUNNING: u32 = 2;

/// Runs when the timer fires. Returns false if it freed or re-armed the
/// timer, which the caller must then not touch again.
pub(crate) type TimerFn = unsafe fn(*mut Timer) -> bool;

/// A timer (Go's runtime timer). Lives wherever its owner puts it (often
/// on a parked goroutine's stack); the owner must `deltimer` it before the
/// memory goes away.
pub(crate) struct Timer {
    f: TimerFn,
    pub arg: Cell<*mut c_void>,
    status: AtomicU32,
    /// The P whose heap holds it while WAITING.
    pp: AtomicPtr<P>,
    idx: Cell<usize>,
}

// SAFETY: `idx` is touched under the heap lock of `pp`; `arg`
// only by the owner before arming and by the callback.
unsafe impl Sync for Timer {}
// SAFETY: as above.
unsafe impl Send for Timer {}

impl Timer {
    pub(crate) fn new(f: TimerFn, arg: *mut c_void) -> Timer {
        Timer {
            f,
            arg: Cell::new(arg),
            status: AtomicU32::new(IDLE),
            pp: AtomicPtr::new(std::ptr::null_mut()),
            idx: Cell::new(0),
        }
    }
}

/// A heap slot: the deadline is kept beside the pointer (as Go 1.23's
/// timerWhen), so that sifting compares without touching the timers, which
/// live all over memory (on parked goroutines' stacks): with 100,000
/// sleepers a pop compares ~30 deadlines and moves ~8 timers.
#[derive(Clone, Copy)]
struct HeapEntry {
    when: i64,
    t: *mut Timer,
}

/// A P's timer heap.
pub(crate) struct Timers {
    lock: RawLock,
    heap: UnsafeCell<Vec<HeapEntry>>,
    /// Earliest `when` in the heap, 0 when empty (Go's timer0When).
    pub timer0: AtomicI64,
}

// SAFETY: the heap is only touched under `lock`.
unsafe impl Sync for Timers {}
// SAFETY: as above.
unsafe impl Send for Timers {}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers { lock: RawLock::new(), heap: UnsafeCell::new(Vec::new()), timer0: AtomicI64::new(0) }
    }

    /// The heap. `lock` must be held.
    #[allow(clippy::mut_from_ref)]
    fn heap(&self) -> &mut Vec<HeapEntry> {
        // SAFETY: callers hold `lock`, which serialises every access.
        unsafe { &mut *self.heap.get() }
    }

    /// Stores e at i and tells its timer where it is (for deltimer).
    fn set(&self, i: usize, e: HeapEntry) {
        self.heap()[i] = e;
        // SAFETY: e.t is armed in this heap, so its owner keeps it alive until deltimer, which takes our lock; idx is only touched under it.
        unsafe { &*e.t }.idx.set(i);
    }

    fn siftup(&self, mut i: usize) {
        let h = self.heap();
        let e = h[i];
        while i > 0 {
            let parent = (i - 1) / 4;
            if e.when >= h[parent].when {
                break;
            }
            self.set(i, h[parent]);
            i = parent;
        }
        self.set(i, e);
    }

    fn siftdown(&self, mut i: usize) {
        let h = self.heap();
        let n = h.len();
        let e = h[i];
        loop {
            let c = 4 * i + 1;
            if c >= n {
                break;
            }
            let mut best = c;
            for k in c + 1..(c + 4).min(n) {
                if h[k].when < h[best].when {
                    best = k;
                }
            }
            if h[best].when >= e.when {
                break;
            }
            self.set(i, h[best]);
            i = best;
        }
        self.set(i, e);
    }

    fn remove_at(&self, i: usize) {
        let h = self.heap();
        let last = h.pop().expect("remove_at on empty heap");
        if i < h.len() {
            self.set(i, last);
            self.siftdown(i);
            // SAFETY: as in set().
            self.siftup(unsafe { &*last.t }.idx.get());
        }
    }

    fn update_timer0(&self) {
        let h = self.heap();
        self.timer0.store(if h.is_empty() { 0 } else { h[0].when }, Ordering::Release);
    }
}

/// Go's addtimer: arms t to fire at `when` (nanotime), on the current P's
/// heap (p0's from a thread without a P). t must not be armed (idle, or
/// running its own callback, which may re-arm it).
pub(crate) fn addtimer(t: &Timer, when: i64) {
    let s = sched();
    let mp = getm();
    // SAFETY: non-null Ms are valid; p is read by the M's own thread.
    let mut pp = if mp.is_null() { std::ptr::null_mut() } else { unsafe { mref(mp) }.p.get() };
    if pp.is_null() {
        pp = &s.allp[0] as *const P as *mut P;
    }
    // SAFETY: Ps are leaked.
    let timers = &unsafe { &*pp }.timers;
    timers.lock.lock();
    t.pp.store(pp, Ordering::Relaxed);
    t.status.store(WAITING, Ordering::Release);
    let h = timers.heap();
    h.push(HeapEntry { when: when.max(1), t: t as *const Timer as *mut Timer });
    timers.siftup(h.len() - 1);
    timers.update_timer0();
    timers.lock.unlock();
    wake_timer_sleeper(when);
}

/// Go's deltimer: disarms t. Returns true if it was armed (and so will now
/// not fire); false if it already fired or was never armed. If its
/// callback is running right now, waits for it to finish, so the caller may
/// free t afterwards.
pub(crate) fn deltimer(t: &Timer) -> bool {
    loop {
        match t.status.load(Ordering::Acquire) {
            IDLE => return false,
            WAITING => {
                let pp = t.pp.load(Ordering::Relaxed);
                // SAFETY: Ps are leaked.
                let timers = &unsafe { &*pp }.timers;
                timers.lock.lock();
                if t.status.load(Ordering::Relaxed) == WAITING && t.pp.load(Ordering::Relaxed) == pp {
                    timers.remove_at(t.idx.get());
                    timers.update_timer0();
                    t.status.store(IDLE, Ordering::Release);
                    timers.lock.unlock();
                    return true;
                }
                timers.lock.unlock();
            }
            _ => std::hint::spin_loop(),
        }
    }
}

/// Go's checkTimers: runs pp's timers that are due at `now`. Returns true
/// if it ran any. Any M holding any P may run any P's timers.
pub(crate) fn checktimers(pp: &P, now: i64) -> bool {
    let timers = &pp.timers;
    let t0 = timers.timer0.load(Ordering::Acquire);
    if t0 == 0 || t0 > now {
        return false;
    }
    let mut ran = false;
    timers.lock.lock();
    loop {
        let h = timers.heap();
        if h.is_empty() || h[0].when > now {
            break;
        }
        let tp = h[0].t;
        timers.remove_at(0);
        // SAFETY: a timer in the heap is live until it is IDLE again.
        let t = unsafe { &*tp };
        t.status.store(RUNNING, Ordering::Relaxed);
        timers.update_timer0();
        timers.lock.unlock();
        // SAFETY: the owner armed t with this callback and keeps t alive while it is not IDLE.
        if unsafe { (t.f)(tp) } {
            let _ = t.status.compare_exchange(RUNNING, IDLE, Ordering::Release, Ordering::Relaxed);
        }
        ran = true;
        timers.lock.lock();
    }
    timers.update_timer0();
    timers.lock.unlock();
    ran
}

/// Runs the due timers of every P (Go: stealWork's timer pass). Returns
/// true if any ran. Needs a P (the callbacks ready goroutines into it).
pub(crate) fn checkalltimers(now: i64) -> bool {
    let mut ran = false;
    for p2 in sched().allp.iter() {
        let t0 = p2.timers.timer0.load(Ordering::Acquire);
        if t0 != 0 && t0 <= now {
            ran |= checktimers(p2, now);
        }
    }
    ran
}

/// The earliest timer of all Ps, 0 if none.
pub(crate) fn earliest() -> i64 {
    let mut next = 0;
    for p2 in sched().allp.iter() {
        let t0 = p2.timers.timer0.load(Ordering::Acquire);
        if t0 != 0 && (next == 0 || t0 < next) {
            next = t0;
        }
    }
    next
}

/// Go's wakeNetPoller: make sure some M will run a timer due at `when`.
fn wake_timer_sleeper(when: i64) {
    let s = sched();
    // Pairs with the SeqCst accesses in timersleep (see there).
    fence(Ordering::SeqCst);
    if !s.timer_sleeper.load(Ordering::SeqCst).is_null() {
        let until = s.sleep_until.load(Ordering::SeqCst);
        if until == 0 || when < until {
            s.timerkick.fetch_add(1, Ordering::SeqCst);
            futex_wake(&s.timerkick, 1);
        }
    } else if s.main_started.load(Ordering::Relaxed) {
        // Nobody sleeps on timers: an idle M, if any, must become the sleeper.
        crate::proc::wakep();
    }
}

/// Called by findrunnable with no P, instead of stopm, when timers exist:
/// become the timer sleeper and sleep until the earliest deadline, then
/// take an idle P to run the due timers. Returns true with a P acquired;
/// false if the caller should stopm (another M is the sleeper, no timers
/// are left, or every P is busy and will run its timers itself).
pub(crate) fn timersleep(mp: &'static M) -> bool {
    let s = sched();
    let me = mp as *const M as *mut M;
    if s.timer_sleeper.compare_exchange(std::ptr::null_mut(), me, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        return false;
    }
    loop {
        let seq = s.timerkick.load(Ordering::SeqCst);
        let next = earliest();
        if next == 0 {
            s.sleep_until.store(0, Ordering::SeqCst);
            s.timer_sleeper.store(std::ptr::null_mut(), Ordering::SeqCst);
            // A timer added after earliest() saw none would have seen us as
            // the sleeper and kicked; re-check so it is not stranded.
            if earliest() != 0 {
                return timersleep(mp);
            }
            return false;
        }
        s.sleep_until.store(next, Ordering::SeqCst);
        let left = next - nanotime();
        if left <= 0 {
            break;
        }
        futex_wait(&s.timerkick, seq, left);
    }
    s.sleep_until.store(0, Ordering::SeqCst);
    s.timer_sleeper.store(std::ptr::null_mut(), Ordering::SeqCst);
    let got = crate::proc::acquire_idle_p(mp);
    // We go on to run the due timers' goroutines; another idle M must take
    // over sleeping on the rest, or an idle P's timers would wait until some
    // M runs out of work.
    if got && earliest() != 0 {
        crate::proc::wakep();
    }
    got
}

/// sysmon's timer check (Go: sysmon starts an M when timers are overdue):
/// if a timer is more than `slack` ns late, kick the sleeper or wake an M.
pub(crate) fn sysmon_timers(now: i64, slack: i64) {
    let next = earliest();
    if next != 0 && now - next > slack {
        let s = sched();
        if !s.timer_sleeper.load(Ordering::SeqCst).is_null() {
            s.timerkick.fetch_add(1, Ordering::SeqCst);
            futex_wake(&s.timerkick, 1);
        } else {
            crate::proc::wakep();
        }
    }
}

// ---------------------------------------------------------------------------
// Parking with a deadline (goroutines).

/// A goroutine park with a deadline: `unlockf` releases the caller's locks
/// and then arms a timer that, if it wins the waiter, wakes it with no
/// winner (timeout).
struct TimedPark {
    inner: ParkFn,
    inner_arg: *mut c_void,
    timer: Timer,
    when: i64,
}

unsafe fn timedpark_unlock(gp: *mut G, arg: *mut c_void) -> bool {
    // A waker needs the caller's locks to dequeue us, and our own timeout
    // path needs them to finish, so tp outlives this function's use of it.
    // SAFETY: arg is the TimedPark on the parked goroutine's stack, valid until the caller's locks are released below.
    let tp = unsafe { &*(arg as *const TimedPark) };
    let (inner, inner_arg) = (tp.inner, tp.inner_arg);
    // Arm first, unlock last: once unlocked, a waker may run the goroutine
    // on another P, which returns and reuses this stack frame. Armed after
    // that, the timer would live in dead memory and later "wake" whatever
    // waiter sits there. The goroutine is saved already, so firing at once
    // is fine.
    addtimer(&tp.timer, tp.when);
    // SAFETY: the caller's own unlock function and argument; tp is not touched after this.
    unsafe { inner(gp, inner_arg) }
}

unsafe fn timedpark_fire(t: *mut Timer) -> bool {
    // SAFETY: the timer's arg is the Waiter, alive until its owner deltimers.
    let w = unsafe { &*((*t).arg.get() as *const Waiter) };
    if w.claim() {
        w.wake(std::ptr::null_mut());
    }
    true
}

/// Parks `w` like `Waiter::park`, giving up at `deadline` (nanotime; 0 =
/// never). Returns false on timeout. `w` must be arbitrated when a
/// deadline is given.
#[inline]
pub(crate) fn park_until(w: &Waiter, unlockf: ParkFn, arg: *mut c_void, deadline: i64) -> bool {
    if deadline <= 0 || !w.is_goroutine() {
        return w.park(unlockf, arg, deadline);
    }
    park_timed(w, unlockf, arg, deadline)
}

/// park_until whose unlock would only release `lock` (a channel's, a
/// semaphore bucket's, a cond's or weighted semaphore's list lock): a
/// goroutine without a deadline parks through `gopark_unlock_g`, which
/// releases the lock inline at the switch; everything else as park_until.
#[inline]
pub(crate) fn park_until_unlock(w: &Waiter, lock: &RawLock, deadline: i64) -> bool {
    if deadline <= 0 && w.is_goroutine() {
        crate::proc::gopark_unlock_g(w.g, lock);
        return true;
    }
    park_until(w, unlock_rawlock, lock as *const RawLock as *mut c_void, deadline)
}

/// The ParkFn form of releasing a RawLock, for park_until_unlock's other cases.
unsafe fn unlock_rawlock(_gp: *mut G, arg: *mut c_void) -> bool {
    // SAFETY: arg is the RawLock the parking party holds (park_until_unlock).
    unsafe { &*(arg as *const RawLock) }.unlock();
    true
}

/// park_until for a goroutine with a deadline: a timer armed once it is
/// saved (see TimedPark).
#[inline(never)]
fn park_timed(w: &Waiter, unlockf: ParkFn, arg: *mut c_void, deadline: i64) -> bool {
    let tp = TimedPark {
        inner: unlockf,
        inner_arg: arg,
        timer: Timer::new(timedpark_fire, w as *const Waiter as *mut c_void),
        when: deadline,
    };
    gopark(timedpark_unlock, &tp as *const TimedPark as *mut c_void);
    // Either the timer claimed us, or a waker did and the timer must go.
    deltimer(&tp.timer);
    !w.winner.get().is_null()
}

/// Deadline for a relative timeout: <0 = none (0 returned), else now + ns.
pub(crate) fn deadline_after(ns: i64) -> i64 {
    if ns < 0 {
        0
    } else {
        nanotime().saturating_add(ns).max(1)
    }
}

// ---------------------------------------------------------------------------
// C API

fn ready() -> bool {
    crate::boot::is_ready()
}

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the clock every gort
/// timeout and timer uses. Usable before init.
#[no_mangle]
pub extern "C" fn gort_nanotime() -> i64 {
    ffi_guard!("gort_nanotime", nanotime())
}

unsafe fn sleep_fire(t: *mut Timer) -> bool {
    // SAFETY: arg is the sleeping G, parked until this goready.
    goready(unsafe { (*t).arg.get() }.cast());
    true
}

unsafe fn sleep_unlock(_gp: *mut G, arg: *mut c_void) -> bool {
    // SAFETY: arg is the (timer, when) pair on the sleeper's stack.
    let (t, when) = unsafe { &*(arg as *const (Timer, i64)) };
    addtimer(t, *when);
    true
}

/// Pauses the calling goroutine for at least `ns` nanoseconds (Go's
/// time.Sleep); its M runs other goroutines meanwhile. Off a goroutine it
/// sleeps the thread. `ns <= 0` returns at once.
///
/// Returns GORT_OK or GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_sleep(ns: i64) -> c_int {
    ffi_guard!("gort_sleep", {
        if !ready() {
            return GORT_ENOTINIT;
        }
        if ns <= 0 {
            return GORT_OK;
        }
        let deadline = nanotime().saturating_add(ns);
        let gp = getg();
        if gp.is_null() {
            loop {
                let left = deadline - nanotime();
                if left <= 0 {
                    break;
                }
                let ts = libc::timespec { tv_sec: left / 1_000_000_000, tv_nsec: left % 1_000_000_000 };
                // SAFETY: ts is valid; a null remainder is allowed.
                unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
            }
            return GORT_OK;
        }
        let pair = (Timer::new(sleep_fire, gp.cast()), deadline);
        gopark(sleep_unlock, &pair as *const (Timer, i64) as *mut c_void);
        // The callback may still be finishing its bookkeeping on another M.
        deltimer(&pair.0);
        GORT_OK
    })
}

/// A timer made by `gort_after_func`. Opaque.
#[allow(non_camel_case_types)]
pub struct gort_timer {
    t: Timer,
    fnc: crate::g::GoFn,
    arg: *mut c_void,
}

unsafe fn after_func_fire(t: *mut Timer) -> bool {
    // SAFETY: gort_after_func stores the owning gort_timer in the timer's arg; it stays alive until gort_timer_free, which waits for this callback.
    let ut = unsafe { &*((*t).arg.get() as *const gort_timer) };
    if crate::proc::newproc(ut.fnc, ut.arg, false).is_err() {
        // No memory for a stack: try again in a millisecond rather than lose
        // the call. Re-armed straight from RUNNING, so a concurrent
        // gort_timer_free keeps waiting and then removes it.
        crate::os::write_stderr(&["gort: after_func: no memory for a goroutine; retrying in 1 ms\n"]);
        addtimer(&ut.t, nanotime() + 1_000_000);
        return false;
    }
    true
}

/// Calls `fn(arg)` in a new goroutine once `ns` nanoseconds have passed
/// (Go's time.AfterFunc). The timer belongs to the caller, who must free it
/// with `gort_timer_free` (which also stops it if it has not fired); it can
/// be stopped and re-armed any number of times before that.
///
/// Returns NULL if `fn` is NULL, before init, or when out of memory.
#[no_mangle]
pub extern "C" fn gort_after_func(
    ns: i64,
    fn_: Option<unsafe extern "C" fn(arg: *mut c_void)>,
    arg: *mut c_void,
) -> *mut gort_timer {
    ffi_guard!("gort_after_func", {
        let Some(f) = fn_ else { return std::ptr::null_mut() };
        if !ready() {
            return std::ptr::null_mut();
        }
        let ut =
            Box::into_raw(Box::new(gort_timer { t: Timer::new(after_func_fire, std::ptr::null_mut()), fnc: f, arg }));
        // SAFETY: ut was just allocated and is exclusively ours.
        let r = unsafe { &*ut };
        r.t.arg.set(ut.cast());
        addtimer(&r.t, nanotime().saturating_add(ns.max(0)));
        ut
    })
}

/// Stops a timer (Go's Timer.Stop). Returns 1 if this prevented it from
/// firing, 0 if it had already fired or been stopped, GORT_EINVAL for NULL.
/// The callback may be running when this returns 0.
#[no_mangle]
pub extern "C" fn gort_timer_stop(t: *mut gort_timer) -> c_int {
    ffi_guard!("gort_timer_stop", {
        if t.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller owns a live timer.
        deltimer(&unsafe { &*t }.t) as c_int
    })
}

/// Re-arms a timer to fire `ns` from now (Go's Timer.Reset), whether or not
/// it fired already. Returns 1 if it was armed, 0 if not, GORT_EINVAL for
/// NULL.
#[no_mangle]
pub extern "C" fn gort_timer_reset(t: *mut gort_timer, ns: i64) -> c_int {
    ffi_guard!("gort_timer_reset", {
        if t.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller owns a live timer.
        let r = unsafe { &*t };
        let was = deltimer(&r.t);
        addtimer(&r.t, nanotime().saturating_add(ns.max(0)));
        was as c_int
    })
}

/// Stops the timer if needed (waiting for a callback in progress) and frees
/// it. Returns GORT_OK or GORT_EINVAL for NULL.
#[no_mangle]
pub extern "C" fn gort_timer_free(t: *mut gort_timer) -> c_int {
    ffi_guard!("gort_timer_free", {
        if t.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller owns the timer and gives it up here.
        let r = unsafe { &*t };
        deltimer(&r.t);
        // A failed newproc re-arms from the callback; stop that too.
        while deltimer(&r.t) {}
        // SAFETY: disarmed and not running: nobody else refers to it.
        drop(unsafe { Box::from_raw(t) });
        GORT_OK
    })
}

struct AfterTimer {
    t: Timer,
    c: *mut Chan,
}

unsafe fn after_fire(t: *mut Timer) -> bool {
    // SAFETY: arg is the AfterTimer that owns t; it is freed here, once.
    let at = unsafe { Box::from_raw((*t).arg.get() as *mut AfterTimer) };
    let now = nanotime();
    // Cap 1 and a single send: never blocks, never fails unless closed.
    // SAFETY: the timer holds a reference to the channel.
    unsafe {
        let _ = chan::chansend(at.c, &now as *const i64 as *const u8, false, 0);
        chan::release(at.c);
    }
    false
}

/// A channel that receives the time (`gort_nanotime()`, an int64_t) once
/// `ns` nanoseconds have passed (Go's time.After). Capacity 1, so the send
/// never blocks. The caller owns one reference (`gort_chan_release`); the
/// timer holds its own until it fires. NULL before init or when out of
/// memory.
#[no_mangle]
pub extern "C" fn gort_after(ns: i64) -> *mut Chan {
    ffi_guard!("gort_after", {
        if !ready() {
            return std::ptr::null_mut();
        }
        let c = chan::make(std::mem::size_of::<i64>(), 1);
        if c.is_null() {
            return c;
        }
        // SAFETY: c is live; one more reference for the timer.
        unsafe { chan::retain(c) };
        let at = Box::into_raw(Box::new(AfterTimer { t: Timer::new(after_fire, std::ptr::null_mut()), c }));
        // SAFETY: at was just allocated.
        let r = unsafe { &*at };
        r.t.arg.set(at.cast());
        addtimer(&r.t, nanotime().saturating_add(ns.max(0)));
        c
    })
}
