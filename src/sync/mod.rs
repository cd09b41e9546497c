//! Go's sync package for C: `gort_mutex` (with starvation mode),
//! `gort_rwmutex`, `gort_cond`, `gort_waitgroup`, `gort_once`, and a
//! weighted `gort_sema` (golang.org/x/sync/semaphore).
//!
//! Each is a plain `#[repr(C)]` struct that is valid when zeroed (the
//! `GORT_*_INIT` macros spell that out), needs no destroy, and takes no
//! lock and makes no system call when uncontended. Waiters are parked
//! through the runtime semaphore table ([`crate::sema`]) or a sudog list,
//! so goroutines and host threads can wait on the same object.
//!
//! The fields are private to gort: C code must not read or write them.

mod cond;
mod mutex;
mod once;
mod rwmutex;
mod waitgroup;
mod weighted;

pub use cond::*;
pub use mutex::*;
pub use once::*;
pub use rwmutex::*;
pub use waitgroup::*;
pub use weighted::*;

use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64};

/// Atomic views of the C-visible integer fields.
///
/// # Safety
/// The pointee must be valid, aligned, and accessed only atomically while
/// the view is used.
pub(crate) unsafe fn au32<'a>(p: *const u32) -> &'a AtomicU32 {
    // SAFETY: forwarded to the caller.
    unsafe { AtomicU32::from_ptr(p as *mut u32) }
}
/// See [`au32`].
pub(crate) unsafe fn ai32<'a>(p: *const i32) -> &'a AtomicI32 {
    // SAFETY: forwarded to the caller.
    unsafe { AtomicI32::from_ptr(p as *mut i32) }
}
/// See [`au32`].
pub(crate) unsafe fn au64<'a>(p: *const u64) -> &'a AtomicU64 {
    // SAFETY: forwarded to the caller.
    unsafe { AtomicU64::from_ptr(p as *mut u64) }
}
/// See [`au32`].
#[allow(dead_code)]
pub(crate) unsafe fn ai64<'a>(p: *const i64) -> &'a AtomicI64 {
    // SAFETY: forwarded to the caller.
    unsafe { AtomicI64::from_ptr(p as *mut i64) }
}

/// Go's runtime_canSpin: spin only on a multicore machine, a few times, only
/// while other Ps are running (so the holder can release soon), and not
/// while our own P has other goroutines to run (parking lets them run
/// instead of burning the time slice).
pub(crate) fn can_spin(iter: u32) -> bool {
    if iter >= 4 {
        return false;
    }
    let Some(s) = crate::sched::try_sched() else { return false };
    if s.gomaxprocs <= 1 {
        return false;
    }
    use std::sync::atomic::Ordering::Relaxed;
    if s.gomaxprocs <= s.npidle.load(Relaxed) + s.nmspinning.load(Relaxed) + 1 {
        return false;
    }
    let mp = crate::m::getm();
    // SAFETY: a non-null M is valid and its p is read by its own thread.
    let pp = if mp.is_null() { std::ptr::null_mut() } else { unsafe { crate::m::mref(mp) }.p.get() };
    // SAFETY: Ps are leaked; a non-null P is the one this thread holds.
    pp.is_null() || crate::p::runqempty(unsafe { &*pp })
}

/// Go's runtime_doSpin: 30 PAUSEs.
pub(crate) fn do_spin() {
    for _ in 0..30 {
        std::hint::spin_loop();
    }
}
