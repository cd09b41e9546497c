//! The global scheduler state (Go's `schedt` and `allp`).
//!
//! Fixed at `schedinit` and leaked: Ps, Ms and Gs live for the whole
//! process, so raw pointers to them never dangle.

use crate::g::{GPtr, G};
use crate::m::M;
use crate::os::Note;
use crate::p::P;
use crossbeam_deque::Injector;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, Ordering};
use std::sync::Mutex;

/// Go's sched.maxmcount.
pub(crate) const MAXMCOUNT: i64 = 10000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// gort_init + gort_mstart: the host's main thread becomes m0.
    Program,
    /// gort_init_lib: c-archive style, the host keeps its threads.
    Lib,
}

/// State guarded by `Sched::lock` (Go's sched.lock).
pub(crate) struct Locked {
    /// Idle Ps (Go's sched.pidle).
    pub pidle: Vec<*mut P>,
    /// Idle Ms parked in stopm (Go's sched.midle).
    pub midle: Vec<*mut M>,
    /// Every M ever created, for stats (Go's allm).
    pub allm: Vec<*mut M>,
}

// SAFETY: the raw pointers refer to leaked Ps and Ms; the lock serialises
// every access to the lists.
unsafe impl Send for Locked {}

pub(crate) struct Sched {
    pub lock: Mutex<Locked>,
    /// Mirrors pidle.len() for lock-free checks in wakep.
    pub npidle: AtomicU32,
    /// See "Worker thread parking" in idle.rs.
    pub nmspinning: AtomicU32,
    pub nmidle: AtomicU32,
    /// The global run queue (Go's sched.runq).
    pub runq: Injector<GPtr>,
    /// Global list of dead Gs (Go's sched.gFree), head and length.
    pub gfree: Mutex<(GPtr, u32)>,
    pub goidgen: AtomicI64,
    /// Ms created, including m0 and sysmon (Go's mcount).
    pub mcount: AtomicI64,
    /// Goroutines created/exited by threads without a P (library mode host
    /// threads); per-P counters hold the rest.
    pub ncreated_nop: AtomicI64,
    pub nexited_nop: AtomicI64,
    pub allp: Box<[P]>,
    pub gomaxprocs: u32,
    /// Strides coprime with gomaxprocs, for random steal orders (Go's
    /// stealOrder).
    pub coprimes: Vec<u32>,
    /// Go's mainStarted: newproc may start Ms only after runtime.main began.
    pub main_started: AtomicBool,
    pub mode: Mode,
    /// Thread id of the thread that called gort_init (m0 in program mode).
    pub init_tid: i64,
    pub m0: AtomicPtr<M>,
    /// Go's sched.sysmonwait/sysmonnote: sysmon sleeps here while all Ps idle.
    pub sysmonwait: AtomicBool,
    pub sysmonnote: Note,
    /// Go's sched.lastpoll: when the network was last polled, 0 while an M
    /// blocks in the poller (see netpoll/mod.rs, "Who polls").
    pub lastpoll: AtomicI64,
    /// Go's sched.pollUntil: when the blocked poller's wait ends, 0 if none.
    pub poll_until: AtomicI64,
    /// GORT_DEBUG=schedtrace period in ms, 0 = off (see sysmon.rs).
    pub schedtrace: u32,
}

static SCHED: AtomicPtr<Sched> = AtomicPtr::new(std::ptr::null_mut());

/// The scheduler, or None before `schedinit` finished.
#[inline]
pub(crate) fn try_sched() -> Option<&'static Sched> {
    let s = SCHED.load(Ordering::Acquire);
    if s.is_null() {
        None
    } else {
        // SAFETY: SCHED is set once, to a leaked Box, and never freed.
        Some(unsafe { &*s })
    }
}

/// The scheduler. Only after `schedinit` (everything reached from a
/// goroutine or an M qualifies).
#[inline]
pub(crate) fn sched() -> &'static Sched {
    let s = SCHED.load(Ordering::Acquire);
    debug_assert!(!s.is_null(), "sched: runtime not initialised");
    // SAFETY: callers run after schedinit (see above), which set SCHED to a leaked Box that is never freed.
    unsafe { &*s }
}

pub(crate) fn publish(s: Box<Sched>) {
    SCHED.store(Box::into_raw(s), Ordering::Release);
}

impl Sched {
    pub(crate) fn locked(&self) -> std::sync::MutexGuard<'_, Locked> {
        // panic = "abort": a poisoned lock cannot be observed.
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Go's globrunqput. Any thread.
    pub(crate) fn globrunqput(&self, gp: *mut G) {
        self.runq.push(GPtr(gp));
    }

    /// Live goroutines (Go's gcount).
    pub(crate) fn gcount(&self) -> i64 {
        let mut n = self.ncreated_nop.load(Ordering::Relaxed) - self.nexited_nop.load(Ordering::Relaxed);
        for pp in self.allp.iter() {
            n += pp.ncreated.load(Ordering::Relaxed) - pp.nexited.load(Ordering::Relaxed);
        }
        n
    }
}
