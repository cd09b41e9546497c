//! P: a processor (Go's `p`), and its run queues.
//!
//! A P runs, in this order:
//! 1. `runnext`: the G readied or spawned most recently by this P's
//!    running goroutine. It runs next and inherits the current time slice
//!    (Go's inheritTime), so a pair handing work to each other stays on one
//!    core with hot caches.
//! 2. `newq`: goroutines that have never run, LIFO: the youngest first.
//!    This is the work-first rule of Cilk: a goroutine that spawns children
//!    and waits for them has them run depth-first, so a spawn tree such as
//!    skynet keeps a few dozen goroutines alive instead of a whole level of
//!    the tree (Go's FIFO expands it breadth-first). Thieves take the
//!    *oldest* unstarted goroutine, the root of the biggest untouched
//!    subtree.
//! 3. `throttled`: a spawner that gave way to a burst of its children
//!    (`spawnyield` in spawn.rs), once `newq` is empty and at most
//!    `throttle_credit` goroutines of `runq` ran after the burst.
//! 4. `runq`: every other runnable goroutine (yielded, readied, demoted),
//!    FIFO as in Go, so goroutines that yield take turns.
//!
//! Every 61st tick the order is global queue, `runq`, `newq`: neither
//! injected work nor a storm of new goroutines can starve the goroutines
//! that already run. Inheriting does not advance `schedtick`, so a pair
//! ping-ponging through `runnext` could hold the P forever; `sysmon`
//! notices a slice older than 10 ms and sets `preempt`, after which
//! `runnext` is demoted once (Go: sysmon preempts the running goroutine).
//!
//! Both queues are crossbeam-deque `Worker`s owned by the P, with
//! `Stealer`s for the other Ps.

use crate::g::{gref, GPtr, G};
use crossbeam_deque::{Steal, Stealer, Worker};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, Ordering};

pub(crate) const PIDLE: u32 = 0;
pub(crate) const PRUNNING: u32 = 1;

/// Every this many time slices a P looks at the global queue and `runq`
/// first (Go's 61: prime, so it does not beat with other periods).
pub(crate) const FAIR_TICKS: u32 = 61;

/// Go's _GoidCacheBatch: goids are taken from the global counter in batches
/// so that spawning does not contend on one cache line.
pub(crate) const GOID_BATCH: i64 = 16;

#[repr(C, align(128))]
pub(crate) struct P {
    pub id: u32,
    /// PIDLE (on the idle list) or PRUNNING (held by an M). Read by sysmon.
    pub status: AtomicU32,
    /// The M holding this P while PRUNNING (Go's p.m): set by acquirep,
    /// cleared by releasep or by sysmon when it takes the P (`retake`).
    pub m: AtomicPtr<crate::m::M>,
    /// Incremented by the owner at each new time slice; read by sysmon.
    pub schedtick: AtomicU32,
    /// Set by sysmon when the current time slice exceeded 10 ms.
    pub preempt: AtomicBool,
    /// Owner sets non-null; thieves may only CAS it back to null.
    pub runnext: AtomicPtr<G>,
    /// A goroutine that spawned a burst (see `spawnyield` in spawn.rs),
    /// waiting for its children in `newq` to start; runs after them and at
    /// most `throttle_credit` goroutines of `runq`.
    /// Owner sets non-null; thieves may CAS it back to null, like runnext.
    pub throttled: AtomicPtr<G>,
    /// While a spawner waits in `throttled`: how many more goroutines of
    /// `runq` may run before it (see `runqget`). Owner only.
    pub throttle_credit: Cell<u32>,
    /// The only P (GORT_MAXPROCS=1): no thief and no idle P can exist, so
    /// the owner fills and empties `runnext` with plain loads and stores.
    pub solo: bool,
    /// Runnable goroutines that have run before, FIFO. Owner only.
    pub runq: Worker<GPtr>,
    pub stealer: Stealer<GPtr>,
    /// Goroutines that have never run, LIFO. Owner only.
    pub newq: Worker<GPtr>,
    pub newq_stealer: Stealer<GPtr>,
    /// Dead Gs with their stacks, owner only (Go's p.gFree): an array, so
    /// that taking one does not touch the (cold) G itself.
    pub gfree: std::cell::UnsafeCell<[*mut G; crate::gfree::LOCAL_MAX]>,
    pub gfree_n: Cell<u32>,
    /// Yields that found nothing local (gosched steals on every 32nd).
    pub lone_yields: Cell<u32>,
    /// Owner only.
    pub goidcache: Cell<i64>,
    pub goidcacheend: Cell<i64>,
    /// Counters written only by the owner, summed by gort_stats.
    pub ncreated: AtomicI64,
    pub nexited: AtomicI64,
    pub nsteals: AtomicI64,
    pub nstolen: AtomicI64,
    /// This P's timer heap (Go's p.timers); any M may run due timers.
    pub timers: crate::timer::Timers,
}

// SAFETY: the Cell fields and `runq` are touched only by the M holding the P
// (acquirep/releasep transfer that right under sched.lock); every field
// shared with other threads is atomic or a Stealer.
unsafe impl Sync for P {}
// SAFETY: as above.
unsafe impl Send for P {}

impl P {
    /// Whether this time slice is a fair tick (Go's `schedtick%61 == 0`).
    #[inline(always)]
    pub(crate) fn fair(&self) -> bool {
        self.schedtick.load(Ordering::Relaxed) % FAIR_TICKS == 0
    }

    pub(crate) fn new(id: u32, nprocs: u32) -> P {
        let runq = Worker::new_fifo();
        let stealer = runq.stealer();
        let newq = Worker::new_lifo();
        let newq_stealer = newq.stealer();
        P {
            id,
            status: AtomicU32::new(PIDLE),
            m: AtomicPtr::new(std::ptr::null_mut()),
            schedtick: AtomicU32::new(0),
            preempt: AtomicBool::new(false),
            runnext: AtomicPtr::new(std::ptr::null_mut()),
            throttled: AtomicPtr::new(std::ptr::null_mut()),
            throttle_credit: Cell::new(0),
            solo: nprocs == 1,
            runq,
            stealer,
            newq,
            newq_stealer,
            gfree: std::cell::UnsafeCell::new([std::ptr::null_mut(); crate::gfree::LOCAL_MAX]),
            gfree_n: Cell::new(0),
            lone_yields: Cell::new(0),
            goidcache: Cell::new(0),
            goidcacheend: Cell::new(0),
            ncreated: AtomicI64::new(0),
            nexited: AtomicI64::new(0),
            nsteals: AtomicI64::new(0),
            nstolen: AtomicI64::new(0),
            timers: crate::timer::Timers::new(),
        }
    }

    /// Adds to an owner-written counter without a locked instruction.
    #[inline(always)]
    pub(crate) fn bump(c: &AtomicI64, n: i64) {
        c.store(c.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }
}

/// Capacity of a local run queue (Go's is 256). It equals crossbeam's
/// MIN_CAP: a `Worker` grows its buffer when a push finds it full and
/// shrinks it when a pop leaves it a quarter full, and each resize
/// allocates and defers the old buffer's free through an epoch. Kept at
/// 64 entries the buffer never resizes, so queueing never allocates (nor
/// aborts when memory runs out); bursts spill to the global queue, where
/// idle Ps find them. Steals land only in an empty queue and bring at most
/// 33, so they never grow it either.
pub(crate) const RUNQ_CAP: usize = 64;

/// Go's runqput: puts gp on pp's local queues. With `next`, gp goes into
/// `runnext` and the G it displaces is queued instead. A G that has never
/// run goes to `newq`, any other to `runq`; a full queue spills half of
/// itself to the global queue.
/// Executed only by the owner P.
#[inline]
pub(crate) fn runqput(pp: &P, gp: *mut G, next: bool) {
    let mut gp = gp;
    if next && pp.solo {
        // No other P: nobody steals runnext and wakep has no idle P to
        // find, so neither the barrier below nor a locked instruction is
        // needed (Release: the P may pass to another M, under sched.lock).
        let old = pp.runnext.load(Ordering::Relaxed);
        pp.runnext.store(gp, Ordering::Release);
        if old.is_null() {
            return;
        }
        gp = old;
    } else if next {
        // A swap, i.e. a full barrier, not a plain store even when the slot is
        // empty: the callers go on to read npidle/nmspinning in wakep, and a
        // parking M re-checks our queues after publishing npidle (see
        // "Worker thread parking" in idle.rs). Store-then-load needs the
        // barrier on x86, or both sides can miss each other and the G waits
        // while this P is busy (test_lost_wakeup, part F). Go uses a CAS.
        // Only the owner stores non-null, so whatever comes back (null if a
        // thief just took it) is ours to requeue.
        let old = pp.runnext.swap(gp, Ordering::SeqCst);
        if old.is_null() {
            return;
        }
        gp = old;
    }
    // SAFETY: gp is owned by the caller (it is being queued).
    let q = if unsafe { gref(gp) }.started.get() { &pp.runq } else { &pp.newq };
    if q.len() >= RUNQ_CAP {
        runqputslow(q, gp);
        return;
    }
    q.push(GPtr(gp));
}

/// Go's runqputslow: moves half of a full local queue, then gp, to the
/// global queue. Executed only by the owner P.
#[cold]
fn runqputslow(q: &Worker<GPtr>, gp: *mut G) {
    let global = &crate::sched::sched().runq;
    for _ in 0..RUNQ_CAP / 2 {
        match q.pop() {
            Some(g) => global.push(g),
            None => break,
        }
    }
    global.push(GPtr(gp));
}

/// Go's runqget: the next G from pp's local queues and whether it inherits
/// the time slice (true when taken from `runnext`). With `fair` (every
/// 61st tick), `runq` is served before `newq`.
/// Executed only by the owner P.
#[inline(always)]
pub(crate) fn runqget(pp: &P, fair: bool) -> Option<(*mut G, bool)> {
    let next = pp.runnext.load(Ordering::Relaxed);
    if !next.is_null()
        && (pp.solo && {
            pp.runnext.store(std::ptr::null_mut(), Ordering::Relaxed);
            true
        } || pp.runnext.compare_exchange(next, std::ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed).is_ok())
    {
        if !pp.preempt.load(Ordering::Relaxed) {
            return Some((next, true));
        }
        // The slice that runnext would inherit is used up: let someone else
        // run. Queue it at the tail of runq (even if it never ran: in newq
        // it would be popped straight back) and take, as a fresh slice, the
        // head of runq if it held anyone before it, else the youngest of
        // newq; only when both were empty does it run again itself.
        let others_waiting = !pp.runq.is_empty();
        if pp.runq.len() >= RUNQ_CAP {
            runqputslow(&pp.runq, next);
        } else {
            pp.runq.push(GPtr(next));
        }
        let g = if others_waiting { pp.runq.pop() } else { pp.newq.pop().or_else(|| pp.runq.pop()) };
        return g.map(|g| (g.0, false));
    }
    if fair {
        return runqget_fair(pp);
    }
    // is_empty is two inlined loads; pop is an out-of-line call.
    if !pp.newq.is_empty() {
        if let Some(g) = pp.newq.pop() {
            return Some((g.0, false));
        }
    }
    if !pp.throttled.load(Ordering::Relaxed).is_null() {
        return runqget_throttled(pp);
    }
    pp.runq.pop().map(|g| (g.0, false))
}

/// runqget on a fair tick, past runnext: `runq` first, then `newq`, then a
/// throttled spawner (it follows `newq`).
#[cold]
#[inline(never)]
fn runqget_fair(pp: &P) -> Option<(*mut G, bool)> {
    if let Some(g) = pp.runq.pop().or_else(|| pp.newq.pop()) {
        return Some((g.0, false));
    }
    take_throttled(pp)
}

/// runqget with `newq` empty and a spawner in `throttled`: it resumes after
/// at most `throttle_credit` goroutines of `runq`, so that neither the
/// goroutines readied meanwhile (a timer's sleepers, a channel's receivers)
/// wait for the whole spawn loop, nor can yielders that keep `runq` full
/// make the loop quadratic.
#[inline(never)]
fn runqget_throttled(pp: &P) -> Option<(*mut G, bool)> {
    let credit = pp.throttle_credit.get();
    if credit > 0 && !pp.runq.is_empty() {
        pp.throttle_credit.set(credit - 1);
        if let Some(g) = pp.runq.pop() {
            return Some((g.0, false));
        }
    }
    take_throttled(pp).or_else(|| pp.runq.pop().map(|g| (g.0, false)))
}

/// Takes the goroutine parked by `spawnyield`, once its children started.
#[cold]
fn take_throttled(pp: &P) -> Option<(*mut G, bool)> {
    let gp = pp.throttled.load(Ordering::Relaxed);
    if gp.is_null() {
        return None;
    }
    if pp.solo {
        pp.throttled.store(std::ptr::null_mut(), Ordering::Relaxed);
    } else if pp.throttled.compare_exchange(gp, std::ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed).is_err() {
        return None;
    }
    Some((gp, false))
}

/// Go's runqempty. Any thread; a snapshot.
pub(crate) fn runqempty(pp: &P) -> bool {
    pp.runnext.load(Ordering::Acquire).is_null()
        && pp.throttled.load(Ordering::Acquire).is_null()
        && pp.newq_stealer.is_empty()
        && pp.stealer.is_empty()
}

/// How long a thief leaves a running P's runnext alone (Go's usleep(3) in
/// runqgrab).
const RUNNEXT_GRACE_US: u64 = 3;

/// Go's runqsteal: moves about half of p2's queue to pp's and returns one G.
/// With `steal_runnext`, takes p2's runnext when its queue is empty.
/// Executed by the owner of pp.
pub(crate) fn runqsteal(pp: &P, p2: &P, steal_runnext: bool) -> Option<*mut G> {
    // Unstarted goroutines first: the oldest is the biggest untouched
    // subtree. They land in our newq, the others in our runq.
    for (from, to) in [(&p2.newq_stealer, &pp.newq), (&p2.stealer, &pp.runq)] {
        loop {
            let before = to.len();
            match from.steal_batch_and_pop(to) {
                Steal::Success(g) => {
                    P::bump(&pp.nsteals, 1);
                    P::bump(&pp.nstolen, (to.len() - before) as i64 + 1);
                    return Some(g.0);
                }
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
    }
    if steal_runnext {
        // Then the slots, throttled spawner first: its P is busy with a
        // child that did not finish quickly, and it has more to spawn.
        for (slot, grace) in [(&p2.throttled, false), (&p2.runnext, true)] {
            let gp = slot.load(Ordering::Acquire);
            if grace && !gp.is_null() && p2.status.load(Ordering::Relaxed) == PRUNNING {
                // Go's runqgrab: a running P that just readied runnext is
                // usually about to block and run it; taking it now would
                // move it (and its cache) between Ps for nothing. A channel
                // hand-off takes ~50 ns: 3 us is ample. Then only that same
                // gp may be taken (a newer runnext was readied just now).
                // A sleep, as Go's usleep(3), not a spin: polling the slot
                // would pull the owner's hot cache line away on every hop
                // (bench_ring at 2 Ps: 52 -> 65 ns with a 3 us spin). With
                // Linux's default timer slack the sleep lasts ~55 us.
                crate::os::usleep(RUNNEXT_GRACE_US);
            }
            if !gp.is_null()
                && slot.compare_exchange(gp, std::ptr::null_mut(), Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                P::bump(&pp.nsteals, 1);
                P::bump(&pp.nstolen, 1);
                return Some(gp);
            }
        }
    }
    None
}
