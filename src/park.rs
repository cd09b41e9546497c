//! Waiting, for goroutines and host threads alike (Go's sudog and
//! gopark/goready, extended to threads that are not goroutines).
//!
//! Every blocking operation puts a [`Waiter`] on its caller's stack and one
//! [`Sudog`] per object it waits on (one channel, or every channel of a
//! select) into that object's [`WaitQ`]. A waker takes a sudog out of the
//! queue under the object's lock and calls [`Waiter::wake`]:
//!
//! * for a goroutine that is `goready`: into the waker's P's `runnext` when
//!   the waker is a goroutine, so a hand-off runs next;
//! * for a host thread it is a futex store and wake.
//!
//! So goroutines and threads can wait on the same object, in the same
//! queue, and wake each other.
//!
//! When several parties may wake the same waiter (the cases of a select, a
//! timeout racing a sender), they first [`Waiter::claim`] it: the one that
//! moves `done` from 0 to 1 performs the wakeup, the others leave the sudog
//! alone. A goroutine's sudogs are published while it still runs; the lock
//! that protects them is released only by the post-switch action, after the
//! goroutine is saved, so no waker can ready it half-parked.

use crate::g::{gref, G};
use crate::lock::RawLock;
use crate::m::getg;
use crate::os::{futex_wait, futex_wake, nanotime};
use crate::g::WaitReason;
use crate::proc::{gopark, goready};
use crate::switch::ParkFn;
use crate::timer::{addtimer, deltimer, Timer};
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};

/// The party blocked in a call: a goroutine or a host thread.
pub(crate) struct Waiter {
    /// The parked goroutine, or null for a host thread.
    pub g: *mut G,
    /// Host thread: 0 while asleep, 1 once woken.
    key: AtomicU32,
    /// 0 while open; the first to set 1 owns the wakeup (only consulted when
    /// `arbitrated`).
    done: AtomicU32,
    arbitrated: bool,
    /// The sudog through which the waiter was woken; null after a timeout.
    pub winner: Cell<*mut Sudog>,
}

// SAFETY: a Waiter is shared with wakers only while it is parked; the fields
// they write are atomics or written by the single claimer before the wakeup.
unsafe impl Sync for Waiter {}

impl Waiter {
    /// A waiter for the calling goroutine or thread. `arbitrated` when more
    /// than one party may try to wake it (several sudogs, or a deadline).
    pub(crate) fn new(arbitrated: bool) -> Waiter {
        Waiter {
            g: getg(),
            key: AtomicU32::new(0),
            done: AtomicU32::new(0),
            arbitrated,
            winner: Cell::new(std::ptr::null_mut()),
        }
    }

    pub(crate) fn is_goroutine(&self) -> bool {
        !self.g.is_null()
    }

    /// Takes the right to wake this waiter. Always true for a waiter with a
    /// single possible waker.
    #[inline]
    pub(crate) fn claim(&self) -> bool {
        !self.arbitrated
            || (self.done.load(Ordering::Relaxed) == 0
                && self.done.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok())
    }

    /// Wakes the waiter through `sg` (null: timeout). Only after a
    /// successful claim; the waiter may be gone as soon as this returns.
    #[inline]
    pub(crate) fn wake(&self, sg: *mut Sudog) {
        self.winner.set(sg);
        if !self.g.is_null() {
            goready(self.g);
        } else {
            self.key.store(1, Ordering::Release);
            // The waiter may already have returned; a wake on a reused address
            // is harmless (every futex user re-checks its condition).
            futex_wake(&self.key, 1);
        }
    }

    /// Blocks until woken. `unlockf(arg)` releases whatever protects the
    /// sudogs; for a goroutine it runs after the goroutine is saved (it is
    /// gopark's unlock function), for a thread right away. A host thread
    /// with a `deadline` (nanotime, > 0) gives up then: returns false after
    /// claiming the waiter for itself. Goroutines implement deadlines with a
    /// timer armed by `unlockf` (see `TimedPark` below) and always return
    /// true.
    #[inline]
    pub(crate) fn park(&self, unlockf: ParkFn, arg: *mut c_void, deadline: i64, reason: WaitReason) -> bool {
        if !self.g.is_null() {
            crate::proc::gopark_g(self.g, unlockf, arg, reason);
            return true;
        }
        self.park_thread(unlockf, arg, deadline)
    }

    /// `park` for a host thread: a futex sleep, out of line so that the
    /// goroutine path saves no registers for it.
    #[inline(never)]
    fn park_thread(&self, unlockf: ParkFn, arg: *mut c_void, deadline: i64) -> bool {
        // SAFETY: a host thread runs no goroutine, so gp is unused by unlockf's contract for threads (they ignore it).
        unsafe { unlockf(std::ptr::null_mut(), arg) };
        loop {
            if self.key.load(Ordering::Acquire) != 0 {
                return true;
            }
            if deadline > 0 {
                let left = deadline - nanotime();
                if left <= 0 {
                    if self.claim() {
                        return false;
                    }
                    // Somebody claimed us first and is about to wake us.
                    while self.key.load(Ordering::Acquire) == 0 {
                        futex_wait(&self.key, 0, -1);
                    }
                    return true;
                }
                futex_wait(&self.key, 0, left);
            } else {
                futex_wait(&self.key, 0, -1);
            }
        }
    }

    /// The waiter's goroutine id, for debugging output.
    #[allow(dead_code)]
    pub(crate) fn goid(&self) -> i64 {
        if self.g.is_null() {
            0
        } else {
            // SAFETY: a parked goroutine's G is stable.
            unsafe { gref(self.g) }.goid.get()
        }
    }
}

/// One waiter's entry in one wait queue (Go's sudog). Lives on the waiter's
/// stack.
pub(crate) struct Sudog {
    pub w: *const Waiter,
    /// The element to send from or receive into.
    pub elem: *mut u8,
    pub next: Cell<*mut Sudog>,
    pub prev: Cell<*mut Sudog>,
    /// Select: index of the case this sudog belongs to.
    pub case: usize,
    /// Channel ops: true if woken by a communication, false by close.
    pub success: Cell<bool>,
    /// Semaphores: the address waited on, the units wanted, and whether
    /// the releaser handed the units over directly.
    pub addr: usize,
    pub n: Cell<i64>,
    pub ticket: Cell<u32>,
    /// Semaphore table: next queue head in the bucket, and (on a head) the
    /// last sudog of its queue.
    pub hnext: Cell<*mut Sudog>,
    pub qtail: Cell<*mut Sudog>,
}

impl Sudog {
    pub(crate) fn new(w: &Waiter, elem: *mut u8) -> Sudog {
        Sudog {
            w,
            elem,
            next: Cell::new(std::ptr::null_mut()),
            prev: Cell::new(std::ptr::null_mut()),
            case: 0,
            success: Cell::new(false),
            addr: 0,
            n: Cell::new(0),
            ticket: Cell::new(0),
            hnext: Cell::new(std::ptr::null_mut()),
            qtail: Cell::new(std::ptr::null_mut()),
        }
    }

    pub(crate) fn waiter(&self) -> &Waiter {
        // SAFETY: a queued sudog's waiter is parked and outlives the sudog.
        unsafe { &*self.w }
    }
}

/// A FIFO of sudogs (Go's waitq), protected by its owner's lock.
pub(crate) struct WaitQ {
    first: Cell<*mut Sudog>,
    last: Cell<*mut Sudog>,
}

// SAFETY: only touched under the owning object's lock.
unsafe impl Sync for WaitQ {}
// SAFETY: as above.
unsafe impl Send for WaitQ {}

impl WaitQ {
    pub(crate) const fn new() -> WaitQ {
        WaitQ { first: Cell::new(std::ptr::null_mut()), last: Cell::new(std::ptr::null_mut()) }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.get().is_null()
    }

    pub(crate) fn enqueue(&self, sg: *mut Sudog) {
        // SAFETY: sg is a live sudog not in any queue; the lock is held.
        let s = unsafe { &*sg };
        s.next.set(std::ptr::null_mut());
        let last = self.last.get();
        s.prev.set(last);
        if last.is_null() {
            self.first.set(sg);
        } else {
            // SAFETY: queued sudogs are live while queued.
            unsafe { &*last }.next.set(sg);
        }
        self.last.set(sg);
    }

    /// Go's dequeue: the first sudog whose waiter can be claimed. Sudogs of
    /// waiters already claimed elsewhere (a select that proceeded on another
    /// case, a timed-out waiter) are dropped from the queue.
    pub(crate) fn dequeue(&self) -> *mut Sudog {
        loop {
            let sg = self.first.get();
            if sg.is_null() {
                return sg;
            }
            self.remove(sg);
            // SAFETY: it was queued, so it is live.
            if unsafe { &*sg }.waiter().claim() {
                return sg;
            }
        }
    }

    /// Unlinks sg, which must be in this queue.
    pub(crate) fn remove(&self, sg: *mut Sudog) {
        // SAFETY: sg and its neighbours are queued, hence live.
        let s = unsafe { &*sg };
        let (prev, next) = (s.prev.get(), s.next.get());
        if prev.is_null() {
            self.first.set(next);
        } else {
            // SAFETY: as above.
            unsafe { &*prev }.next.set(next);
        }
        if next.is_null() {
            self.last.set(prev);
        } else {
            // SAFETY: as above.
            unsafe { &*next }.prev.set(prev);
        }
        s.next.set(std::ptr::null_mut());
        s.prev.set(std::ptr::null_mut());
    }

    /// True if sg is still linked here (checked after a timeout).
    pub(crate) fn contains(&self, sg: *mut Sudog) -> bool {
        // SAFETY: sg is the caller's own sudog, alive on its stack.
        let s = unsafe { &*sg };
        !s.prev.get().is_null() || self.first.get() == sg
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
    // `inner` must not read what only the caller's locks keep alive after
    // releasing them, nor anything of the goroutine's stack when it holds
    // no lock at all: the timer may have fired already (selectgo's park).
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
pub(crate) fn park_until(w: &Waiter, unlockf: ParkFn, arg: *mut c_void, deadline: i64, reason: WaitReason) -> bool {
    if deadline <= 0 || !w.is_goroutine() {
        return w.park(unlockf, arg, deadline, reason);
    }
    park_timed(w, unlockf, arg, deadline, reason)
}

/// park_until whose unlock would only release `lock` (a channel's, a
/// semaphore bucket's, a cond's or weighted semaphore's list lock): a
/// goroutine without a deadline parks through `gopark_unlock_g`, which
/// releases the lock inline at the switch; everything else as park_until.
#[inline]
pub(crate) fn park_until_unlock(w: &Waiter, lock: &RawLock, deadline: i64, reason: WaitReason) -> bool {
    if deadline <= 0 && w.is_goroutine() {
        crate::proc::gopark_unlock_g(w.g, lock, reason);
        return true;
    }
    park_until(w, unlock_rawlock, lock as *const RawLock as *mut c_void, deadline, reason)
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
fn park_timed(w: &Waiter, unlockf: ParkFn, arg: *mut c_void, deadline: i64, reason: WaitReason) -> bool {
    let tp = TimedPark {
        inner: unlockf,
        inner_arg: arg,
        timer: Timer::new(timedpark_fire, w as *const Waiter as *mut c_void),
        when: deadline,
    };
    gopark(timedpark_unlock, &tp as *const TimedPark as *mut c_void, reason);
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
