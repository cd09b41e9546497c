//! Recycling dead Gs together with their stacks (Go's gfput/gfget).
//!
//! Each P keeps a private list, so spawning and exiting in steady state
//! takes no lock and makes no system call; the stack's pages stay committed
//! (a page fault costs microseconds on a VM, a reuse nothing). Lists longer
//! than 64 spill half to a global list, and an empty P refills 32 at a time
//! from it, exactly Go's thresholds.

use crate::g::{gref, GPtr, G};
use crate::p::P;
use crate::sched::sched;

const LOCAL_MAX: u32 = 64;
const BATCH: u32 = 32;

/// Go's gfput: put gp on pp's free list. Executed only by the owner P.
pub(crate) fn gfput(pp: &P, gp: *mut G) {
    // SAFETY: gp is GDEAD and owned by this P.
    let g = unsafe { gref(gp) };
    g.schedlink.set(pp.gfree.get());
    pp.gfree.set(gp);
    pp.gfree_n.set(pp.gfree_n.get() + 1);
    if pp.gfree_n.get() >= LOCAL_MAX {
        // Move BATCH to the global list, chained locally before taking the lock.
        let first = pp.gfree.get();
        let mut last = first;
        for _ in 1..BATCH {
            // SAFETY: the local list is owned by this P and has >= BATCH entries.
            last = unsafe { gref(last) }.schedlink.get();
        }
        // SAFETY: as above.
        let lastg = unsafe { gref(last) };
        pp.gfree.set(lastg.schedlink.get());
        pp.gfree_n.set(pp.gfree_n.get() - BATCH);
        let mut global = sched().gfree.lock().unwrap_or_else(|e| e.into_inner());
        lastg.schedlink.set(global.0 .0);
        global.0 = GPtr(first);
        global.1 += BATCH;
    }
}

/// Go's gfget: a dead G from pp's list, refilling from the global list when
/// empty. Executed only by the owner P.
pub(crate) fn gfget(pp: &P) -> Option<*mut G> {
    if pp.gfree.get().is_null() {
        let mut global = sched().gfree.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        while n < BATCH && !global.0 .0.is_null() {
            let gp = global.0 .0;
            // SAFETY: entries of the global list are GDEAD and owned by the list,
            // whose lock we hold.
            let g = unsafe { gref(gp) };
            global.0 = GPtr(g.schedlink.get());
            global.1 -= 1;
            g.schedlink.set(pp.gfree.get());
            pp.gfree.set(gp);
            n += 1;
        }
        pp.gfree_n.set(pp.gfree_n.get() + n);
    }
    let gp = pp.gfree.get();
    if gp.is_null() {
        return None;
    }
    // SAFETY: owned by this P's list.
    pp.gfree.set(unsafe { gref(gp) }.schedlink.get());
    pp.gfree_n.set(pp.gfree_n.get() - 1);
    Some(gp)
}

/// For threads without a P: take one dead G from the global list.
pub(crate) fn gfget_global() -> Option<*mut G> {
    let mut global = sched().gfree.lock().unwrap_or_else(|e| e.into_inner());
    let gp = global.0 .0;
    if gp.is_null() {
        return None;
    }
    // SAFETY: owned by the global list, whose lock we hold.
    global.0 = GPtr(unsafe { gref(gp) }.schedlink.get());
    global.1 -= 1;
    Some(gp)
}
