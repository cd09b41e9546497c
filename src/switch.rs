//! The context switch seen from the scheduler: what happens to the G that
//! leaves an M, and how the G that arrives is made current.
//!
//! # Post-switch actions
//!
//! A G that gives up its M must not become visible to other threads until
//! its registers are saved, or another M could resume it mid-save. So what
//! happens to the outgoing G (requeue it, publish it to a waiter list, free
//! it) is recorded in `m.post` and performed by whichever context runs next
//! on the same M, right after `gort_swap` returns there ([`run_post`]).
//! This is Go's `mcall(fn)`, with `fn` run by the successor instead of on
//! g0.
//!
//! [`switch_from`] is the only place a goroutine switches out; [`execute`]
//! makes a G current; [`goentry`] finishes the switch into a goroutine that
//! has never run. Which G runs next is decided by `proc.rs`.

use crate::arch;
use crate::g::{gref, G, GRUNNABLE, GRUNNING};
use crate::gfree::gfput;
use crate::lock::RawLock;
use crate::m::{mref, M};
use crate::p::{runqput, P};
use crate::panic::throw;
use crate::stack::canary_ok;
use crate::timer::timercheck;
use std::ffi::c_void;
use std::sync::atomic::Ordering;

/// What the next context on this M must do with the G that just left it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Post {
    None,
    /// Yield: put the G at the tail of the local run queue (Go's goyield).
    Runqput(*mut G),
    /// gopark: call `unlockf(gp, lock)`; false means "do not park after
    /// all", and the G is made runnable again.
    Park(*mut G, ParkFn, *mut c_void),
    /// gopark whose only unlock is releasing one runtime lock (a channel's,
    /// a semaphore bucket's, ...): done inline, without Park's indirect call.
    Unlock(*const RawLock),
    /// goexit0: the G is dead; recycle it with its stack.
    Gfput(*mut G),
    /// exitsyscall0: the G found no P for its M after a hand-off; give it
    /// one that became idle meanwhile, or the global run queue.
    Exitsyscall(*mut G),
}

/// Go's gopark unlockf.
pub(crate) type ParkFn = unsafe fn(*mut G, *mut c_void) -> bool;

/// Runs the pending post-switch action on `mp`. Called right after every
/// `gort_swap` returns, on the M that the swap handed over.
/// A yield's requeue and a park's unlock are inlined at every switch; the
/// rest is out of line.
#[inline(always)]
pub(crate) fn run_post(mp: &'static M) {
    // Each arm clears `post` itself, and run_post_slow reads it again:
    // clearing it once before the match and handing the Post over by value
    // cost 4-8 more instructions per switch (callgrind, bench_yield at 1 P:
    // 182.7 against 186.7-190.7 per yield).
    match mp.post.get() {
        Post::None => {}
        Post::Runqput(gp) => {
            mp.post.set(Post::None);
            runqput(mp.pp(), gp, false);
        }
        Post::Unlock(l) => {
            mp.post.set(Post::None);
            // SAFETY: the parking goroutine holds l, which outlives its park (gopark_unlock_g).
            unsafe { &*l }.unlock();
        }
        _ => run_post_slow(mp),
    }
}

/// run_post's rare actions: a goroutine's exit, a park with its own unlockf.
#[inline(never)]
fn run_post_slow(mp: &'static M) {
    let post = mp.post.get();
    mp.post.set(Post::None);
    match post {
        Post::Gfput(gp) => gfput(mp.pp(), gp),
        Post::Park(gp, unlockf, lock) => {
            // SAFETY: gp is saved and parked; unlockf is the primitive's own contract for publishing it.
            if !unsafe { unlockf(gp, lock) } {
                // SAFETY: gp is still ours: unlockf declined to publish it.
                let g = unsafe { gref(gp) };
                g.status.store(GRUNNABLE, Ordering::Relaxed);
                if mp.p.get().is_null() {
                    // The goroutine parked after sysmon took the P (park_g0).
                    crate::proc::injectglist(gp);
                } else {
                    runqput(mp.pp(), gp, true);
                }
            }
        }
        Post::Exitsyscall(gp) => crate::syscall::exitsyscall0(mp, gp),
        Post::None | Post::Runqput(_) | Post::Unlock(_) => throw("run_post_slow: an action run_post handles inline"),
    }
}

/// Go's execute: make gp the current goroutine of mp. With `inherit`, gp
/// shares the current time slice and schedtick does not advance.
#[inline]
pub(crate) fn execute(mp: &'static M, pp: &P, gp: *mut G, inherit: bool) {
    if !inherit {
        pp.schedtick.store(pp.schedtick.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        if pp.preempt.load(Ordering::Relaxed) {
            pp.preempt.store(false, Ordering::Relaxed);
        }
    }
    // SAFETY: gp came out of a run queue, so this M owns it now.
    let g = unsafe { gref(gp) };
    g.status.store(GRUNNING, Ordering::Relaxed);
    g.started.set(true);
    g.m.set(mp as *const M as *mut M);
    mp.set_curg(gp);
}

/// Switches from gp (running on mp) to the context at `target_sp`, which the
/// caller has already made current with `execute` or by clearing curg for
/// g0. Returns, when gp is resumed, the M it now runs on.
#[inline(never)]
pub(crate) fn switch_from(mp: &'static M, gp: *mut G, target_sp: usize) -> &'static M {
    // One test of a flag fixed at init; the instrumented copy is out of line.
    if crate::sanitize::switch_hooks() {
        return switch_from_sanitized(mp, gp, target_sp);
    }
    switch_from_impl::<false>(mp, gp, target_sp)
}

/// switch_from when ASan or TSan must see the switch (`sanitize.rs`). Every
/// switch of the process goes through it (the flag never changes), so each
/// goroutine resumes in the copy it left from.
#[cold]
#[inline(never)]
fn switch_from_sanitized(mp: &'static M, gp: *mut G, target_sp: usize) -> &'static M {
    switch_from_impl::<true>(mp, gp, target_sp)
}

#[inline(always)]
fn switch_from_impl<const SANITIZE: bool>(mp: &'static M, gp: *mut G, target_sp: usize) -> &'static M {
    // SAFETY: gp is the running goroutine of mp; its stack fields are stable.
    let g = unsafe { gref(gp) };
    if !canary_ok(g) {
        // Not current_here: mp's curg is already the next goroutine.
        let cur = crate::traceback::current_of(gp);
        crate::signal::report_overflow(g, 0, Some(&cur));
    }
    // errno belongs to the goroutine: whatever runs next on this thread may
    // change it, and gp may resume on another thread.
    g.errno.set(mp.errno());
    let fake_stack = if SANITIZE { crate::sanitize::switch_start(mp, gp) } else { std::ptr::null_mut() };
    // SAFETY: target_sp was saved by gort_swap or built by init_frame, and the caller owns that context; gp's sched_sp slot lives in gp's descriptor.
    let newm = unsafe { arch::swap(g.sched_sp.as_ptr(), target_sp, mp as *const M as *mut M) };
    // SAFETY: gort_swap hands over the M of the thread that resumed us.
    let mp = unsafe { mref(newm) };
    if SANITIZE {
        crate::sanitize::switch_finish(fake_stack);
    }
    run_post(mp);
    // The previous goroutine's locks are released now: a safe point for
    // timers (see runqget_sched).
    timercheck(mp.pp());
    // Last, so that nothing the runtime did since the swap shows through.
    mp.set_errno(g.errno.get());
    mp
}

/// Go's gogo from schedule: g0 switches to gp, which `execute` made
/// current on mp. Returns when some goroutine switches back to this g0.
#[inline(always)]
pub(crate) fn gogo(mp: &'static M, gp: *mut G) {
    crate::sanitize::gogo_start(mp, gp);
    // SAFETY: gp is owned (taken from a queue) and g0_sp lives in mp, which outlives the switch; g0 always resumes on its own thread.
    unsafe { arch::swap(mp.g0_sp.as_ptr(), gref(gp).sched_sp.get(), mp as *const M as *mut M) };
    crate::sanitize::gogo_finish(mp);
}

/// First code of every goroutine, called by gort_gostart: finishes the
/// switch that started it.
pub(crate) unsafe extern "C" fn goentry(mp: *mut M, gp: *mut G) {
    // Before anything else runs on this stack (timer callbacks may be C).
    crate::sanitize::goentry(gp);
    // SAFETY: gort_swap handed over the M of this thread.
    let mp = unsafe { mref(mp) };
    run_post(mp);
    timercheck(mp.pp());
    // A goroutine starts with errno 0, as a new thread does.
    mp.set_errno(0);
    // The start function is C code: from here on the P may be handed off
    // (syscall.rs). A G starts inside the runtime (odd count).
    // SAFETY: gp is the goroutine being started on this M.
    crate::syscall::callout(unsafe { gref(gp) }, true);
}
