//! Idle Ps and Ms (Go's proc.go: pidleget/pidleput, wakep, startm, stopm,
//! acquirep/releasep).
//!
//! # Worker thread parking/unparking
//!
//! We must keep enough Ms running to use the available Ps, and park the
//! rest to save CPU. Go's scheme, kept here: an M is *spinning* when it
//! holds a P, has no work, and is looking for some (stealing). At most
//! about half of the busy Ps' worth of Ms spin (`2*nmspinning < procs -
//! npidle`). Whoever makes a G runnable calls [`wakep`], which starts or
//! wakes an M only if there is an idle P and no M is spinning already. A
//! spinning M that finds work stops spinning and calls `wakep` itself, so
//! the search continues elsewhere ([`resetspinning`]).
//!
//! The lost-wakeup hazard is the last spinning M going to sleep just as
//! work arrives: the submitter sees `nmspinning == 1` and leaves, the
//! spinner already looked. To prevent it, a parking M first puts its P on
//! the idle list, then decrements `nmspinning`, then issues a full fence
//! and re-checks the global queue and every P's run queue; the submitter
//! publishes the G, issues a full fence, then reads `npidle` and
//! `nmspinning`. Dekker's argument: at least one of them sees the other's
//! write, so either the submitter wakes an M or the parker finds the G.
//! Work queued on a running P's local queue needs no wakeup at all: that
//! P's M will run it (a wakeup there only adds parallelism).
//!
//! When no goroutine is runnable, one idle M blocks in the netpoller until
//! the earliest timer or an I/O event (see netpoll/mod.rs, "Who polls");
//! the others sleep on their notes without timeout, so a thousand sleeping
//! goroutines cost no CPU.

use crate::m::{load_nextp, mref, newm, M};
use crate::p::{P, PIDLE, PRUNNING};
use crate::panic::throw;
use crate::sched::{sched, Locked};
use std::sync::atomic::Ordering;

/// Go's resetspinning: mp found work; if it was spinning, another M takes
/// over the search.
pub(crate) fn resetspinning(mp: &'static M) {
    mp.spinning.set(false);
    if sched().nmspinning.fetch_sub(1, Ordering::SeqCst) == 0 {
        throw("resetspinning: negative nmspinning");
    }
    wakep();
}

/// Go's wakep: start or wake an M to run Gs, if there is an idle P and no
/// M is already spinning.
#[inline]
pub(crate) fn wakep() {
    // The common case, every P busy, is one load and no call.
    if sched().npidle.load(Ordering::SeqCst) != 0 {
        wakep_slow();
    }
}

#[cold]
#[inline(never)]
fn wakep_slow() {
    let s = sched();
    if s.nmspinning.load(Ordering::SeqCst) != 0
        || s.nmspinning.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_err()
    {
        return;
    }
    startm(None, true);
}

/// Go's startm: run some M with pp (or an idle P). With `spinning`, the
/// caller incremented nmspinning and the M starts out spinning.
pub(crate) fn startm(pp: Option<*mut P>, spinning: bool) {
    let s = sched();
    let mut l = s.locked();
    let pp = match pp.or_else(|| pidleget(&mut l)) {
        Some(pp) => pp,
        None => {
            // Give the spinning token back *under* sched.lock, as Go's wakep
            // does. Between our nmspinning CAS and this decrement other
            // wakers see a spinning M and leave their work to it, although
            // none exists. Done after unlocking, an M could meanwhile park
            // (pidleput under the lock, re-check finds the queues empty) and
            // a waker then see npidle > 0 but nmspinning == 1 and return: the
            // work sat in the global queue with every M asleep
            // (test_lib_mixed, 1 run in ~10 under qemu-aarch64). Under the
            // lock, a waker that sees the parked M's npidle also sees this
            // decrement (the lock orders it before that pidleput).
            if spinning {
                s.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
            drop(l);
            return;
        }
    };
    let nmp = mget(&mut l);
    drop(l);
    match nmp {
        Some(nmp) => {
            // SAFETY: nmp came off the idle list, so it is parked in stopm and waits for exactly this hand-over.
            let m = unsafe { mref(nmp) };
            m.start_spinning.store(spinning, Ordering::Relaxed);
            m.nextp.store(pp, Ordering::Release);
            m.park.wakeup();
        }
        None => {
            if newm(pp, spinning).is_err() {
                let mut l = s.locked();
                pidleput(&mut l, pp);
                if spinning {
                    s.nmspinning.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }
}

/// Go's stopm: park mp until startm hands it a P.
pub(crate) fn stopm(mp: &'static M) {
    let s = sched();
    {
        let mut l = s.locked();
        mp.park.clear();
        l.midle.push(mp as *const M as *mut M);
        s.nmidle.fetch_add(1, Ordering::Relaxed);
    }
    mp.park.sleep();
    let pp = load_nextp(mp);
    if pp.is_null() {
        throw("stopm: woken without a P");
    }
    acquirep(mp, pp);
    if mp.start_spinning.swap(false, Ordering::Relaxed) {
        mp.spinning.set(true);
    }
}

pub(crate) fn mget(l: &mut Locked) -> Option<*mut M> {
    let mp = l.midle.pop()?;
    sched().nmidle.fetch_sub(1, Ordering::Relaxed);
    Some(mp)
}

/// Go's pidleget. sched.lock must be held.
pub(crate) fn pidleget(l: &mut Locked) -> Option<*mut P> {
    let pp = l.pidle.pop()?;
    pidletaken(pp)
}

/// pidleget that takes `want` if it is idle, else any idle P (exitsyscall
/// prefers the P it had: its caches, its timers). sched.lock must be held.
pub(crate) fn pidleget_prefer(l: &mut Locked, want: *mut P) -> Option<*mut P> {
    match l.pidle.iter().position(|&p| p == want) {
        Some(i) => pidletaken(l.pidle.swap_remove(i)),
        None => pidleget(l),
    }
}

fn pidletaken(pp: *mut P) -> Option<*mut P> {
    let s = sched();
    s.npidle.fetch_sub(1, Ordering::SeqCst);
    // sysmon sleeps while every P is idle; a P is about to run again, by
    // whatever path (startm, a parking M's re-check, the timer sleeper), so
    // time slices and timers must be watched again.
    if s.sysmonwait.load(Ordering::Relaxed) && s.sysmonwait.swap(false, Ordering::SeqCst) {
        s.sysmonnote.wakeup();
    }
    Some(pp)
}

/// Go's pidleput. sched.lock must be held.
pub(crate) fn pidleput(l: &mut Locked, pp: *mut P) {
    // SAFETY: Ps are leaked; the caller released this one.
    unsafe { &*pp }.status.store(PIDLE, Ordering::Relaxed);
    l.pidle.push(pp);
    sched().npidle.fetch_add(1, Ordering::SeqCst);
}

/// Go's acquirep: mp takes pp.
pub(crate) fn acquirep(mp: &M, pp: *mut P) {
    mp.p.set(pp);
    // SAFETY: Ps are leaked.
    let p = unsafe { &*pp };
    p.m.store(mp as *const M as *mut M, Ordering::Release);
    p.status.store(PRUNNING, Ordering::Relaxed);
}

/// Go's releasep: mp lets go of its P.
pub(crate) fn releasep(mp: &M) -> *mut P {
    let pp = mp.p.replace(std::ptr::null_mut());
    if pp.is_null() {
        throw("releasep: no P");
    }
    // SAFETY: Ps are leaked.
    unsafe { &*pp }.m.store(std::ptr::null_mut(), Ordering::Relaxed);
    pp
}
