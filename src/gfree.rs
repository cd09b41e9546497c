//! Recycling dead Gs together with their stacks (Go's gfput/gfget).
//!
//! Each P keeps an array of up to 64 dead Gs, so spawning and exiting in
//! steady state takes no lock, makes no system call, and pays no page fault
//! (the stacks' pages stay committed). A full array spills 32 to a global
//! list; an empty one takes 32 back, as in Go.
//!
//! The global list is a list of *batches*: the head G of each batch keeps
//! the pointers to the other 31 in its own dead stack. Moving a batch
//! therefore reads or writes one contiguous block instead of chasing a link
//! through 32 cold G descriptors, which is what made spawning 100,000
//! goroutines at once cache-miss bound.

use crate::g::{gref, GPtr, G};
use crate::p::P;
use crate::sched::sched;

/// Capacity of a P's array (Go spills above 64).
pub(crate) const LOCAL_MAX: usize = 64;
const BATCH: usize = 32;

/// The other members of a batch, stored in its head's dead stack, just
/// below the descriptor.
fn batch_slots(head: *mut G) -> *mut *mut G {
    // SAFETY: a dead G's stack is unused; BATCH words below stack_hi lie inside it (stacks are at least 16 KiB).
    let hi = unsafe { gref(head) }.stack_hi;
    (hi - BATCH * std::mem::size_of::<*mut G>()) as *mut *mut G
}

/// Pushes `gs` (1..=BATCH dead Gs) onto the global list as one batch.
fn push_batch(gs: &[*mut G]) {
    let head = gs[0];
    let slots = batch_slots(head);
    for (i, &g) in gs[1..].iter().enumerate() {
        // SAFETY: see batch_slots; i < BATCH - 1.
        unsafe { slots.add(i).write(g) };
    }
    // SAFETY: head is dead and ours.
    let h = unsafe { gref(head) };
    h.batch_len.set(gs.len() as u32);
    let mut global = sched().gfree.lock().unwrap_or_else(|e| e.into_inner());
    h.schedlink.set(global.0 .0);
    global.0 = GPtr(head);
    global.1 += gs.len() as u32;
}

/// Pops one batch from the global list into `out`; returns how many.
fn pop_batch(out: &mut [*mut G; BATCH]) -> usize {
    let head = {
        let mut global = sched().gfree.lock().unwrap_or_else(|e| e.into_inner());
        let head = global.0 .0;
        if head.is_null() {
            return 0;
        }
        // SAFETY: entries of the global list are dead Gs owned by the list.
        let h = unsafe { gref(head) };
        global.0 = GPtr(h.schedlink.get());
        global.1 -= h.batch_len.get();
        head
    };
    // SAFETY: the batch is ours now.
    let n = unsafe { gref(head) }.batch_len.get() as usize;
    out[0] = head;
    let slots = batch_slots(head);
    for (i, o) in out.iter_mut().enumerate().take(n).skip(1) {
        // SAFETY: written by push_batch for this batch.
        *o = unsafe { slots.add(i - 1).read() };
    }
    n
}

/// Go's gfput: put gp on pp's free list. Executed only by the owner P.
pub(crate) fn gfput(pp: &P, gp: *mut G) {
    crate::sanitize::gfput(gp);
    // SAFETY: gp is dead and ours; sclass is fixed for the unit's life.
    if unsafe { gref(gp) }.sclass != 0 {
        // A gort_go_ex stack of another size: its class's list.
        crate::stack::stacks().class_put(gp);
        return;
    }
    // SAFETY: the array belongs to pp, whose owner is the caller.
    let arr = unsafe { &mut *pp.gfree.get() };
    let mut n = pp.gfree_n.get() as usize;
    if n == LOCAL_MAX {
        push_batch(&arr[n - BATCH..n]);
        n -= BATCH;
    }
    arr[n] = gp;
    pp.gfree_n.set(n as u32 + 1);
}

/// Go's gfget: a dead G from pp's list, refilling from the global list when
/// empty. Executed only by the owner P.
pub(crate) fn gfget(pp: &P) -> Option<*mut G> {
    // SAFETY: as in gfput.
    let arr = unsafe { &mut *pp.gfree.get() };
    let mut n = pp.gfree_n.get() as usize;
    if n == 0 {
        let mut batch = [std::ptr::null_mut(); BATCH];
        n = pop_batch(&mut batch);
        arr[..n].copy_from_slice(&batch[..n]);
        if n == 0 {
            return None;
        }
    }
    n -= 1;
    pp.gfree_n.set(n as u32);
    if n > 0 {
        // The next spawn will write this G's descriptor and first frame;
        // start fetching them now (cold after a burst of 100k spawns).
        prefetch_write(arr[n - 1]);
    }
    Some(arr[n])
}

/// Prefetches the descriptor and the first-frame line of a dead G.
#[inline(always)]
fn prefetch_write(gp: *mut G) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch instructions never fault, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0};
        _mm_prefetch::<_MM_HINT_ET0>(gp as *const i8);
        _mm_prefetch::<_MM_HINT_ET0>((gp as *const i8).wrapping_sub(64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = gp;
}

/// For threads without a P: one dead G from the global list (the rest of
/// its batch goes back).
pub(crate) fn gfget_global() -> Option<*mut G> {
    let mut batch = [std::ptr::null_mut(); BATCH];
    let n = pop_batch(&mut batch);
    if n == 0 {
        return None;
    }
    if n > 1 {
        push_batch(&batch[1..n]);
    }
    Some(batch[0])
}
