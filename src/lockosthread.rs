//! Thread affinity (Go's LockOSThread): a goroutine wired to its thread.
//!
//! A locked goroutine runs only on its M, and that M runs only it (Go's
//! `g.lockedm` / `m.lockedg`). Everything else follows from keeping both
//! halves of that rule at every point where an M picks the next G:
//!
//! * The locked M never switches straight to another goroutine: when its
//!   goroutine parks, yields or loses its P it switches to g0, where
//!   `schedule` calls [`stoplockedm`]: the P goes to another M
//!   (`handoffp`), so nothing queued behind the locked goroutine stalls,
//!   and the M sleeps on its note until its goroutine is runnable again.
//! * An M that takes a locked goroutine off a run queue (direct switch,
//!   `findrunnable`, a steal) does not run it: it switches to g0 and
//!   [`startlockedm`] hands its own P to the goroutine's M, wakes that M,
//!   and stops. The woken M runs the goroutine with that P.
//!
//! So a locked goroutine waits in the ordinary run queues like any other,
//! and the run queues need no special case; the cost for everyone else is
//! one load and branch on the G about to be switched to, and one on the
//! switching M (callgrind figures in docs/design.md).
//!
//! The lost-wakeup argument: the locked M clears its note *before* the
//! switch to g0, and its goroutine becomes visible to other Ms only in the
//! post-switch action on g0, after that. Whoever then picks the goroutine
//! stores `nextp` and wakes the note, which the M's sleep sees whether it
//! has begun or not.
//!
//! Unlike Go, a goroutine that exits while locked does not take its thread
//! with it: the lock is dropped and the M returns to the pool (gort's Ms
//! are never destroyed). A goroutine that changed its thread (signal mask,
//! affinity, a thread-local library context) must undo that before it
//! exits.

use crate::boot;
use crate::ffi::{GORT_EINVAL, GORT_ENOTINIT, GORT_EPERM, GORT_OK};
use crate::g::{gref, G};
use crate::idle::{acquirep, releasep, stopm};
use crate::m::{getm, load_nextp, mref, M};
use crate::panic::throw;
use std::ffi::c_int;
use std::sync::atomic::Ordering;

/// Whether `gp` is locked to an M, so only that M may run it. The caller
/// owns gp (took it from a run queue).
#[inline(always)]
pub(crate) fn is_locked(gp: *mut G) -> bool {
    // SAFETY: the caller owns gp; lockedm is written only by gp itself while it runs.
    !unsafe { gref(gp) }.lockedm.load(Ordering::Relaxed).is_null()
}

/// Go's stoplockedm, on g0 of a locked M whose goroutine is not running:
/// gives the P away (if the M still has one) and sleeps until an M that
/// picked the goroutine hands over a P ([`startlockedm`]). The note was
/// cleared before the goroutine was published (see the module doc).
pub(crate) fn stoplockedm(mp: &'static M) {
    if mp.p.get().is_null() {
        // Lost to sysmon while the goroutine ran C code (as in schedule).
        crate::syscall::forget_taken_p(mp);
    } else {
        let pp = releasep(mp);
        crate::syscall::handoffp(pp);
    }
    mp.park.sleep();
    let pp = load_nextp(mp);
    if pp.is_null() {
        throw("stoplockedm: woken without a P");
    }
    acquirep(mp, pp);
}

/// Go's startlockedm, on g0 of mp (not locked): gp, taken off a run queue,
/// is locked to another M. Hands mp's P to that M, wakes it to run gp, and
/// stops mp until it is given a P again.
pub(crate) fn startlockedm(mp: &'static M, gp: *mut G) {
    // SAFETY: we own gp (taken from a queue); its M is parked in stoplockedm or about to be.
    let lm = unsafe { mref(gref(gp).lockedm.load(Ordering::Relaxed)) };
    if std::ptr::eq(lm, mp) {
        throw("startlockedm: goroutine locked to the M that picked it");
    }
    let pp = releasep(mp);
    lm.nextp.store(pp, Ordering::Release);
    lm.park.wakeup();
    stopm(mp);
}

/// Prepares a locked M for the switch to g0 that its goroutine makes when
/// it stops running (parks, yields, lost its P): clears the note that
/// [`stoplockedm`] sleeps on, before anything can publish the goroutine.
#[inline(always)]
pub(crate) fn prepare_stop(mp: &M) {
    if !mp.lockedg.get().is_null() {
        mp.park.clear();
    }
}

/// Drops gp's lock (it is exiting, see the module doc). gp runs on mp.
#[inline(always)]
pub(crate) fn unlock_at_exit(mp: &M, g: &G) {
    if g.lockcount.get() != 0 {
        g.lockcount.set(0);
        g.lockedm.store(std::ptr::null_mut(), Ordering::Relaxed);
        mp.lockedg.set(std::ptr::null_mut());
    }
}

/// The calling goroutine and its M, or the error code for a caller that is
/// not a goroutine.
fn current() -> Result<(&'static M, *mut G), c_int> {
    if !boot::is_ready() {
        return Err(GORT_ENOTINIT);
    }
    let mp = getm();
    if mp.is_null() {
        return Err(GORT_EPERM);
    }
    // SAFETY: non-null Ms are valid; curg is read by the M's own thread.
    let mp = unsafe { mref(mp) };
    let gp = mp.curg();
    if gp.is_null() {
        return Err(GORT_EPERM);
    }
    Ok((mp, gp))
}

/// Wires the calling goroutine to its current OS thread (Go's
/// runtime.LockOSThread): until as many `gort_unlock_os_thread` calls as
/// lock calls, it runs only on this thread and no other goroutine runs
/// there. While it is parked the thread sleeps and its P runs other
/// goroutines, so nothing else stalls. Calls nest (Go 1.10+).
///
/// The main goroutine of a program (`gort_init` + `gort_mstart`) starts on
/// the thread that called `gort_mstart`: locking as its first action keeps
/// it on that thread (the main thread, for GUI toolkits). A goroutine that
/// exits while locked releases the thread to the runtime, which keeps it
/// (Go ends the thread instead): undo changes to the thread first.
///
/// Returns GORT_OK, GORT_EPERM (not called on a goroutine), GORT_EINVAL
/// (nesting deeper than 2^32 - 1), GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_lock_os_thread() -> c_int {
    ffi_guard!("gort_lock_os_thread", {
        let (mp, gp) = match current() {
            Ok(v) => v,
            Err(e) => return e,
        };
        // SAFETY: gp is the calling goroutine; its lock fields are its own.
        let g = unsafe { gref(gp) };
        let Some(n) = g.lockcount.get().checked_add(1) else { return GORT_EINVAL };
        g.lockcount.set(n);
        g.lockedm.store(mp as *const M as *mut M, Ordering::Relaxed);
        mp.lockedg.set(gp);
        GORT_OK
    })
}

/// Undoes one `gort_lock_os_thread` (Go's runtime.UnlockOSThread); the
/// last one lets the goroutine run on any thread again. Without a matching
/// lock it does nothing, as in Go.
///
/// Returns GORT_OK, GORT_EPERM (not called on a goroutine), GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_unlock_os_thread() -> c_int {
    ffi_guard!("gort_unlock_os_thread", {
        let (mp, gp) = match current() {
            Ok(v) => v,
            Err(e) => return e,
        };
        // SAFETY: as in gort_lock_os_thread.
        let g = unsafe { gref(gp) };
        match g.lockcount.get() {
            0 => {}
            1 => unlock_at_exit(mp, g),
            n => g.lockcount.set(n - 1),
        }
        GORT_OK
    })
}
