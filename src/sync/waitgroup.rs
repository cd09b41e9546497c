//! `gort_waitgroup`: Go's sync.WaitGroup. One 64-bit word holds the counter
//! (high half) and the number of waiters (low half), so Add and Wait agree
//! without a lock; waiters sleep on the semaphore word.

use crate::g::WaitReason;
use super::{au32, au64};
use crate::ffi::{GORT_EINVAL, GORT_OK};
use crate::sema::{semacquire, semrelease};
use std::ffi::c_int;
use std::sync::atomic::Ordering;

/// Waits for a collection of goroutines to finish (Go's sync.WaitGroup).
/// Zero-initialised (GORT_WAITGROUP_INIT) has a counter of 0.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Default)]
pub struct gort_waitgroup {
    /// Private: counter << 32 | waiters.
    pub state: u64,
    /// Private.
    pub sema: u32,
    /// Private.
    pub pad: u32,
}

/// Adds `delta` (may be negative) to the counter; when it reaches zero,
/// every waiter is released. Returns GORT_OK, or GORT_EINVAL (NULL, or the
/// counter would go negative or past INT32_MAX; the counter is then left
/// unchanged, where Go panics).
#[no_mangle]
pub extern "C" fn gort_waitgroup_add(wg: *mut gort_waitgroup, delta: i64) -> c_int {
    ffi_guard!("gort_waitgroup_add", {
        if wg.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live waitgroup.
        let (state, sema) = unsafe { (au64(&(*wg).state), au32(&(*wg).sema)) };
        if delta < 0 {
            // TSan: Go's race.ReleaseMerge(wg) in Add; Wait acquires it.
            crate::sanitize::tsan_release(wg);
        }
        let mut old = state.load(Ordering::Relaxed);
        loop {
            let v = (old >> 32) as u32 as i32 as i64;
            let w = old as u32;
            let nv = v + delta;
            if !(0..=i32::MAX as i64).contains(&nv) {
                return GORT_EINVAL;
            }
            // Reaching zero with waiters: reset the word and release them all.
            let new = if nv == 0 && w > 0 { 0 } else { ((nv as u64) << 32) | w as u64 };
            match state.compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => {
                    if nv == 0 && w > 0 {
                        return release_waiters(sema, w);
                    }
                    return GORT_OK;
                }
                Err(x) => old = x,
            }
        }
    })
}

/// Out of line and tail-called, so that an Add or Done that releases nobody
/// needs no frame; black_box as in gort_mutex_lock's slow path (a constant
/// result would be folded into the caller, which would keep the frame).
#[cold]
#[inline(never)]
fn release_waiters(sema: &std::sync::atomic::AtomicU32, w: u32) -> c_int {
    for _ in 0..w {
        semrelease(sema, false);
    }
    std::hint::black_box(GORT_OK)
}

/// Decrements the counter (gort_waitgroup_add(wg, -1)).
#[no_mangle]
pub extern "C" fn gort_waitgroup_done(wg: *mut gort_waitgroup) -> c_int {
    gort_waitgroup_add(wg, -1)
}

/// Blocks until the counter is zero. Returns GORT_OK or GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_waitgroup_wait(wg: *mut gort_waitgroup) -> c_int {
    ffi_guard!("gort_waitgroup_wait", {
        if wg.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live waitgroup.
        let (state, sema) = unsafe { (au64(&(*wg).state), au32(&(*wg).sema)) };
        let mut old = state.load(Ordering::Acquire);
        loop {
            if old >> 32 == 0 {
                crate::sanitize::tsan_acquire(wg);
                return GORT_OK;
            }
            match state.compare_exchange_weak(old, old + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    semacquire(sema, false, WaitReason::WaitGroupWait);
                    crate::sanitize::tsan_acquire(wg);
                    return GORT_OK;
                }
                Err(x) => old = x,
            }
        }
    })
}
