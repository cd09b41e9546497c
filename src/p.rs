//! P: a processor (Go's `p`), and its run queue.
//!
//! The local run queue is a crossbeam-deque FIFO `Worker` owned by the P
//! (only the M holding the P pushes and pops) with a `Stealer` that any M may
//! use to take half of it. In front of it sits `runnext`: the G readied or
//! spawned most recently by this P's running goroutine runs next, ahead of
//! the queue, and inherits the current time slice (Go's inheritTime), so a
//! pair of goroutines handing work to each other keeps its data in cache.
//! Because inheriting does not advance `schedtick`, such a pair could starve
//! everything behind it; `sysmon` notices a slice older than 10 ms and sets
//! `preempt`, after which `runnext` is demoted to the tail once.

use crate::g::{GPtr, G};
use crossbeam_deque::{Steal, Stealer, Worker};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, Ordering};

pub(crate) const PIDLE: u32 = 0;
pub(crate) const PRUNNING: u32 = 1;

/// Go's _GoidCacheBatch: goids are taken from the global counter in batches
/// so that spawning does not contend on one cache line.
pub(crate) const GOID_BATCH: i64 = 16;

#[repr(C, align(128))]
pub(crate) struct P {
    pub id: u32,
    /// PIDLE (on the idle list) or PRUNNING (held by an M). Read by sysmon.
    pub status: AtomicU32,
    /// Incremented by the owner at each new time slice; read by sysmon.
    pub schedtick: AtomicU32,
    /// Set by sysmon when the current time slice exceeded 10 ms.
    pub preempt: AtomicBool,
    /// Owner sets non-null; thieves may only CAS it back to null.
    pub runnext: AtomicPtr<G>,
    /// Owner only.
    pub runq: Worker<GPtr>,
    pub stealer: Stealer<GPtr>,
    /// Dead Gs with their stacks, owner only (Go's p.gFree).
    pub gfree: Cell<*mut G>,
    pub gfree_n: Cell<u32>,
    /// Owner only.
    pub goidcache: Cell<i64>,
    pub goidcacheend: Cell<i64>,
    /// Counters written only by the owner, summed by gort_stats.
    pub ncreated: AtomicI64,
    pub nexited: AtomicI64,
    pub nsteals: AtomicI64,
    pub nstolen: AtomicI64,
    /// This P's timer heap (Go's p.timers); any M may run due timers.
    pub timers: crate::time::Timers,
}

// SAFETY: the Cell fields and `runq` are touched only by the M holding the P
// (acquirep/releasep transfer that right under sched.lock); every field
// shared with other threads is atomic or a Stealer.
unsafe impl Sync for P {}
// SAFETY: as above.
unsafe impl Send for P {}

impl P {
    pub(crate) fn new(id: u32) -> P {
        let runq = Worker::new_fifo();
        let stealer = runq.stealer();
        P {
            id,
            status: AtomicU32::new(PIDLE),
            schedtick: AtomicU32::new(0),
            preempt: AtomicBool::new(false),
            runnext: AtomicPtr::new(std::ptr::null_mut()),
            runq,
            stealer,
            gfree: Cell::new(std::ptr::null_mut()),
            gfree_n: Cell::new(0),
            goidcache: Cell::new(0),
            goidcacheend: Cell::new(0),
            ncreated: AtomicI64::new(0),
            nexited: AtomicI64::new(0),
            nsteals: AtomicI64::new(0),
            nstolen: AtomicI64::new(0),
            timers: crate::time::Timers::new(),
        }
    }

    /// Adds to an owner-written counter without a locked instruction.
    #[inline(always)]
    pub(crate) fn bump(c: &AtomicI64, n: i64) {
        c.store(c.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }
}

/// Capacity of a local run queue (Go's len(p.runq)). Bounding it keeps the
/// crossbeam buffer from growing after warm-up, so queueing never
/// allocates (and never aborts when memory runs out), and spreads a burst
/// of spawns over the global queue where idle Ps find it.
pub(crate) const RUNQ_CAP: usize = 256;

/// Go's runqput: puts gp on pp's local queue. With `next`, gp goes into
/// `runnext` and the G it displaces goes to the tail. A full queue spills
/// half of itself to the global queue.
/// Executed only by the owner P.
#[inline]
pub(crate) fn runqput(pp: &P, gp: *mut G, next: bool) {
    let mut gp = gp;
    if next {
        // Swap, not CAS: only the owner stores non-null, so whatever we get
        // back (null if a thief just took it) is ours to requeue.
        let old = pp.runnext.swap(gp, Ordering::AcqRel);
        if old.is_null() {
            return;
        }
        gp = old;
    }
    if pp.runq.len() >= RUNQ_CAP {
        runqputslow(pp, gp);
        return;
    }
    pp.runq.push(GPtr(gp));
}

/// Go's runqputslow: moves the older half of pp's full local queue, then
/// gp, to the global queue. Executed only by the owner P.
#[cold]
fn runqputslow(pp: &P, gp: *mut G) {
    let global = &crate::sched::sched().runq;
    for _ in 0..RUNQ_CAP / 2 {
        match pp.runq.pop() {
            Some(g) => global.push(g),
            None => break,
        }
    }
    global.push(GPtr(gp));
}

/// Go's runqget: the next G from pp's local queue and whether it inherits
/// the time slice (true when taken from `runnext`).
/// Executed only by the owner P.
#[inline]
pub(crate) fn runqget(pp: &P) -> Option<(*mut G, bool)> {
    let next = pp.runnext.load(Ordering::Relaxed);
    if !next.is_null()
        && pp.runnext.compare_exchange(next, std::ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed).is_ok()
    {
        if !pp.preempt.load(Ordering::Relaxed) {
            return Some((next, true));
        }
        // The slice that runnext would inherit is used up: queue it behind
        // the others and start a fresh slice from the head.
        runqput(pp, next, false);
    }
    pp.runq.pop().map(|g| (g.0, false))
}

/// Go's runqempty. Any thread; a snapshot.
pub(crate) fn runqempty(pp: &P) -> bool {
    pp.runnext.load(Ordering::Acquire).is_null() && pp.stealer.is_empty()
}

/// Go's runqsteal: moves about half of p2's queue to pp's and returns one G.
/// With `steal_runnext`, takes p2's runnext when its queue is empty.
/// Executed by the owner of pp.
pub(crate) fn runqsteal(pp: &P, p2: &P, steal_runnext: bool) -> Option<*mut G> {
    loop {
        let before = pp.runq.len();
        match p2.stealer.steal_batch_and_pop(&pp.runq) {
            Steal::Success(g) => {
                P::bump(&pp.nsteals, 1);
                P::bump(&pp.nstolen, (pp.runq.len() - before) as i64 + 1);
                return Some(g.0);
            }
            Steal::Retry => continue,
            Steal::Empty => break,
        }
    }
    if steal_runnext {
        let next = p2.runnext.load(Ordering::Acquire);
        if !next.is_null()
            && p2.runnext.compare_exchange(next, std::ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed).is_ok()
        {
            P::bump(&pp.nsteals, 1);
            P::bump(&pp.nstolen, 1);
            return Some(next);
        }
    }
    None
}
