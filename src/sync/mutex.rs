//! `gort_mutex`: Go's sync.Mutex, with its two modes.
//!
//! Normal mode: waiters queue FIFO, but a woken waiter competes with
//! newly arriving goroutines for the lock, and usually loses (the newcomers
//! are already on a CPU); a loser goes back to the front of the queue.
//! A waiter that fails to get the lock for more than 1 ms switches the
//! mutex to starvation mode: ownership is handed directly from the
//! unlocker to the first waiter, newcomers queue at the tail without
//! trying. The last waiter, or one that waited less than 1 ms, switches it
//! back. Normal mode is much faster; starvation mode bounds tail latency.

use crate::g::WaitReason;
use super::{ai32, au32, can_spin, do_spin};
use crate::ffi::{GORT_EAGAIN, GORT_EINVAL, GORT_EPERM, GORT_OK};
use crate::os::nanotime;
use crate::sema::{semacquire, semrelease};
use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

const LOCKED: i32 = 1;
const WOKEN: i32 = 2;
const STARVING: i32 = 4;
const WAITER_SHIFT: i32 = 3;
/// Go's starvationThresholdNs.
const STARVATION_NS: i64 = 1_000_000;

/// A mutual exclusion lock for goroutines and threads (Go's sync.Mutex).
/// Zero-initialised (GORT_MUTEX_INIT) is unlocked. Not recursive. May be
/// unlocked by a different goroutine or thread than the one that locked it,
/// as in Go.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Default)]
pub struct gort_mutex {
    /// Private.
    pub state: i32,
    /// Private.
    pub sema: u32,
}

pub(crate) struct Mutex<'a> {
    state: &'a AtomicI32,
    sema: &'a AtomicU32,
}

impl<'a> Mutex<'a> {
    /// # Safety
    /// m must be valid and only accessed through gort functions.
    pub(crate) unsafe fn from_c(m: *mut gort_mutex) -> Mutex<'a> {
        // SAFETY: fields of a live gort_mutex, accessed atomically only.
        unsafe { Mutex { state: ai32(&(*m).state), sema: au32(&(*m).sema) } }
    }

    pub(crate) fn lock(&self) {
        if self.state.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
        // TSan: the previous unlock happens before this lock.
        crate::sanitize::tsan_acquire(self.state);
    }

    pub(crate) fn try_lock(&self) -> bool {
        let old = self.state.load(Ordering::Relaxed);
        if old & (LOCKED | STARVING) != 0 {
            return false;
        }
        let ok = self.state.compare_exchange(old, old | LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok();
        if ok {
            crate::sanitize::tsan_acquire(self.state);
        }
        ok
    }

    #[cold]
    fn lock_slow(&self) {
        let mut wait_start = 0i64;
        let mut starving = false;
        let mut awoke = false;
        let mut iter = 0;
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Spin while locked in normal mode: the holder may release soon.
            if old & (LOCKED | STARVING) == LOCKED && can_spin(iter) {
                // Tell Unlock not to wake others while we spin.
                if !awoke
                    && old & WOKEN == 0
                    && old >> WAITER_SHIFT != 0
                    && self.state.compare_exchange(old, old | WOKEN, Ordering::Relaxed, Ordering::Relaxed).is_ok()
                {
                    awoke = true;
                }
                do_spin();
                iter += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            // Newcomers do not grab a starving mutex: they queue.
            if old & STARVING == 0 {
                new |= LOCKED;
            }
            if old & (LOCKED | STARVING) != 0 {
                new += 1 << WAITER_SHIFT;
            }
            // Switch to starvation mode, unless the mutex is already free.
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                new &= !WOKEN;
            }
            match self.state.compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    if old & (LOCKED | STARVING) == 0 {
                        return; // locked with the CAS
                    }
                    // Waited before: back to the front of the queue.
                    let lifo = wait_start != 0;
                    if wait_start == 0 {
                        wait_start = nanotime();
                    }
                    semacquire(self.sema, lifo, WaitReason::MutexLock);
                    starving = starving || nanotime() - wait_start > STARVATION_NS;
                    old = self.state.load(Ordering::Relaxed);
                    if old & STARVING != 0 {
                        // Handed off to us: fix up the state and own it.
                        let mut delta = LOCKED - (1 << WAITER_SHIFT);
                        if !starving || old >> WAITER_SHIFT == 1 {
                            // Leave starvation mode (Go's rule: the last waiter,
                            // or one that did not wait long).
                            delta -= STARVING;
                        }
                        self.state.fetch_add(delta, Ordering::Acquire);
                        return;
                    }
                    awoke = true;
                    iter = 0;
                }
                Err(x) => old = x,
            }
        }
    }

    /// Returns false when the mutex was not locked.
    pub(crate) fn unlock(&self) -> bool {
        crate::sanitize::tsan_release(self.state);
        let new = self.state.fetch_sub(LOCKED, Ordering::Release) - LOCKED;
        if new != 0 {
            return self.unlock_slow(new);
        }
        true
    }

    #[cold]
    fn unlock_slow(&self, new: i32) -> bool {
        if (new + LOCKED) & LOCKED == 0 {
            // Undo: it was not locked.
            self.state.fetch_add(LOCKED, Ordering::Relaxed);
            return false;
        }
        if new & STARVING == 0 {
            let mut old = new;
            loop {
                // Nobody to wake, or someone is awake or already has it.
                if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                    return true;
                }
                let new = (old - (1 << WAITER_SHIFT)) | WOKEN;
                match self.state.compare_exchange(old, new, Ordering::Release, Ordering::Relaxed) {
                    Ok(_) => {
                        semrelease(self.sema, false);
                        return true;
                    }
                    Err(x) => old = x,
                }
            }
        } else {
            // Starvation mode: hand ownership to the first waiter and let it
            // run at once on our P.
            semrelease(self.sema, true);
            true
        }
    }
}

/// Locks `m`, parking the goroutine (or blocking the thread) while another
/// holds it. Returns GORT_OK or GORT_EINVAL (NULL). Works before init
/// (host threads only).
#[no_mangle]
pub extern "C" fn gort_mutex_lock(m: *mut gort_mutex) -> c_int {
    ffi_guard!("gort_mutex_lock", {
        if m.is_null() {
            return GORT_EINVAL;
        }
        // Fast path first, without building the view (which would live on the
        // stack because lock_slow takes it by reference).
        // SAFETY: the caller passes a live mutex; state is only used atomically.
        if unsafe { ai32(&(*m).state) }.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            crate::sanitize::tsan_acquire(m);
            return GORT_OK;
        }
        mutex_lock_slow(m)
    })
}

/// Out of line so that the uncontended gort_mutex_lock needs no stack frame:
/// it tail-calls this. The result goes through black_box because a return
/// value LLVM can see is constant is folded into the caller, which then must
/// keep the call's frame to produce it (a push and a pop on the fast path).
#[cold]
#[inline(never)]
fn mutex_lock_slow(m: *mut gort_mutex) -> c_int {
    // SAFETY: gort_mutex_lock checked m is non-null; the caller passes a live mutex.
    unsafe { Mutex::from_c(m) }.lock_slow();
    crate::sanitize::tsan_acquire(m);
    std::hint::black_box(GORT_OK)
}

/// Locks `m` if it is free and not in starvation mode. Returns GORT_OK,
/// GORT_EAGAIN (held), GORT_EINVAL (NULL).
#[no_mangle]
pub extern "C" fn gort_mutex_trylock(m: *mut gort_mutex) -> c_int {
    ffi_guard!("gort_mutex_trylock", {
        if m.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live mutex.
        if unsafe { Mutex::from_c(m) }.try_lock() {
            GORT_OK
        } else {
            GORT_EAGAIN
        }
    })
}

/// Unlocks `m`, waking one waiter if any. Returns GORT_OK, GORT_EPERM (it
/// was not locked; Go throws "unlock of unlocked mutex"), GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_mutex_unlock(m: *mut gort_mutex) -> c_int {
    ffi_guard!("gort_mutex_unlock", {
        if m.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live mutex.
        if unsafe { Mutex::from_c(m) }.unlock() {
            GORT_OK
        } else {
            GORT_EPERM
        }
    })
}
