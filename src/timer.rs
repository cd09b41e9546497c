//! Go's runtime timers (time.go, Go 1.14's design): per-P heaps.
//!
//! Each P owns a min-heap of timers under its own lock, with the earliest
//! deadline mirrored in an atomic (`timer0`, Go's timer0When) so that the
//! scheduler can skip the heap with one load. Timers are run
//! * by their P at every scheduling point, when `timer0` has passed
//!   ([`timercheck`] after every switch), so a timer fires on time even
//!   while two goroutines keep a channel busy and never reach g0;
//! * by any M in `findrunnable`, for every P (so a P whose goroutine never
//!   yields, or an idle P, does not hold its timers back);
//! * and when nothing else runs, by the M blocked in the netpoller until
//!   the earliest timer (Go's netpoll(delay); `netpoll/mod.rs`).
//!
//! A timer's callback runs on the scheduler (g0 or a goroutine stack in
//! the middle of a switch) and must not block: it readies a goroutine,
//! spawns one (`gort_after_func`) or sends without blocking (`gort_after`).

use crate::lock::RawLock;
use crate::m::{getm, mref};
use crate::p::P;
use crate::sched::sched;
use std::cell::{Cell, UnsafeCell};
use std::ffi::c_void;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, Ordering};

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
    // TSan: what the arming goroutine did happens before the callback (Go's
    // racerelease in modtimer).
    crate::sanitize::tsan_release(t);
    timers.lock.lock();
    t.pp.store(pp, Ordering::Relaxed);
    t.status.store(WAITING, Ordering::Release);
    let h = timers.heap();
    h.push(HeapEntry { when: when.max(1), t: t as *const Timer as *mut Timer });
    timers.siftup(h.len() - 1);
    timers.update_timer0();
    timers.lock.unlock();
    crate::netpoll::wake_netpoller(when);
}

/// Go's deltimer: disarms t. Returns true if it was armed (and so will now
/// not fire); false if it already fired or was never armed. If its
/// callback is running right now, waits for it to finish, so the caller may
/// free t afterwards.
pub(crate) fn deltimer(t: &Timer) -> bool {
    loop {
        match t.status.load(Ordering::Acquire) {
            IDLE => {
                // TSan: a callback that ran (and that we may have waited
                // for) happens before our return.
                crate::sanitize::tsan_acquire(t);
                return false;
            }
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
        crate::sanitize::tsan_acquire(tp);
        // SAFETY: TimerFn's contract: the owner armed t with this callback and keeps t (and its arg) alive until t is IDLE again, which it is not while RUNNING.
        let done = unsafe { (t.f)(tp) };
        // TSan: the callback happens before a deltimer that waited for it.
        crate::sanitize::tsan_release(tp);
        if done {
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

/// Go's checkTimers at the top of schedule: runs pp's due timers (their
/// goroutines go to runnext), and every 61st tick every P's (an idle P's
/// timers have no M of their own while every M is busy; Go: stealWork's
/// timer pass). One atomic load when nothing is pending. Only where the
/// caller holds no runtime lock: after a switch, in gosched, on g0.
#[inline(always)]
pub(crate) fn timercheck(pp: &P) {
    if pp.timers.timer0.load(Ordering::Relaxed) != 0 || pp.fair() {
        timercheck_slow(pp);
    }
}

#[cold]
#[inline(never)]
fn timercheck_slow(pp: &P) {
    if pp.timers.timer0.load(Ordering::Relaxed) != 0 {
        checktimers(pp, crate::os::nanotime());
    }
    if pp.fair() && sched().allp.len() > 1 && crate::timer::earliest() != 0 {
        crate::timer::checkalltimers(crate::os::nanotime());
    }
}
