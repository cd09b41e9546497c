//! The runtime semaphore (Go's sema.go): `semacquire`/`semrelease` on any
//! 32-bit word, used by the sync primitives. Waiters do not live in the
//! word's owner: they hang in a global table of 251 buckets keyed by the
//! word's address, so `gort_mutex` and friends are 8-24 byte structs that
//! are valid when zeroed and need no destroy.
//!
//! Each bucket holds a lock, a count of waiters (so a release with no
//! waiter takes no lock) and a list of per-address queues: the first
//! waiter for an address heads its queue (Go uses a treap of these heads;
//! a bucket rarely holds more than a few distinct addresses, so a list is
//! enough). Waiters are goroutines or host threads ([`crate::park`]).

use crate::g::WaitReason;
use crate::lock::RawLock;
use crate::m::getg;
use crate::park::park_until_unlock;
use crate::park::{Sudog, Waiter};
use crate::proc::gosched;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

const SEMTABSZ: usize = 251;

struct SemaRoot {
    lock: RawLock,
    /// Waiters in this bucket; read without the lock by semrelease.
    nwait: AtomicU32,
    /// First queue head (a sudog per distinct address, linked by `hnext`).
    heads: Cell<*mut Sudog>,
}

// SAFETY: `heads` and the sudogs it reaches are touched only under `lock`.
unsafe impl Sync for SemaRoot {}

#[repr(align(64))]
struct Padded(SemaRoot);

static SEMTABLE: [Padded; SEMTABSZ] = [const {
    Padded(SemaRoot { lock: RawLock::new(), nwait: AtomicU32::new(0), heads: Cell::new(std::ptr::null_mut()) })
}; SEMTABSZ];

fn semroot(addr: *const AtomicU32) -> &'static SemaRoot {
    &SEMTABLE[((addr as usize) >> 3) % SEMTABSZ].0
}

/// Go's cansemacquire: decrements *addr if positive.
fn cansemacquire(addr: &AtomicU32) -> bool {
    let mut v = addr.load(Ordering::Relaxed);
    loop {
        if v == 0 {
            return false;
        }
        match addr.compare_exchange_weak(v, v - 1, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(x) => v = x,
        }
    }
}

impl SemaRoot {
    /// Adds sg to addr's queue (at the front with `lifo`). Lock held.
    fn queue(&self, sg: *mut Sudog, lifo: bool) {
        // SAFETY: sg is our live sudog; queued sudogs are live while queued.
        let s = unsafe { &*sg };
        s.next.set(std::ptr::null_mut());
        s.hnext.set(std::ptr::null_mut());
        s.qtail.set(sg);
        let mut link = &self.heads;
        loop {
            let h = link.get();
            if h.is_null() {
                link.set(sg);
                return;
            }
            // SAFETY: as above.
            let hd = unsafe { &*h };
            if hd.addr == s.addr {
                if lifo {
                    // sg becomes the head, in front of the old head's queue.
                    s.next.set(h);
                    s.qtail.set(hd.qtail.get());
                    s.hnext.set(hd.hnext.get());
                    link.set(sg);
                } else {
                    // SAFETY: as above.
                    unsafe { &*hd.qtail.get() }.next.set(sg);
                    hd.qtail.set(sg);
                }
                return;
            }
            link = &hd.hnext;
        }
    }

    /// Removes and returns the first waiter for addr, or null. Lock held.
    fn dequeue(&self, addr: usize) -> *mut Sudog {
        let mut link = &self.heads;
        loop {
            let h = link.get();
            if h.is_null() {
                return h;
            }
            // SAFETY: queued sudogs are live.
            let hd = unsafe { &*h };
            if hd.addr == addr {
                let next = hd.next.get();
                if next.is_null() {
                    link.set(hd.hnext.get());
                } else {
                    // SAFETY: as above.
                    let n = unsafe { &*next };
                    n.hnext.set(hd.hnext.get());
                    n.qtail.set(hd.qtail.get());
                    link.set(next);
                }
                return h;
            }
            link = &hd.hnext;
        }
    }
}

/// Go's semacquire1: waits until *addr > 0, then decrements it. `lifo`
/// queues at the front (a waiter that was woken and lost the race again).
pub(crate) fn semacquire(addr: &AtomicU32, lifo: bool, reason: WaitReason) {
    semacquire1(addr, lifo, reason);
    // TSan: the release that let us through happens before what follows.
    crate::sanitize::tsan_acquire(addr);
}

fn semacquire1(addr: &AtomicU32, lifo: bool, reason: WaitReason) {
    if cansemacquire(addr) {
        return;
    }
    let root = semroot(addr);
    loop {
        root.lock.lock();
        // Announce the waiter before the re-check, so a concurrent release
        // sees nwait > 0 and takes the lock.
        root.nwait.fetch_add(1, Ordering::SeqCst);
        if cansemacquire(addr) {
            root.nwait.fetch_sub(1, Ordering::SeqCst);
            root.lock.unlock();
            return;
        }
        let w = Waiter::new(false);
        let mut sg = Sudog::new(&w, std::ptr::null_mut());
        sg.addr = addr as *const AtomicU32 as usize;
        let sgp = &sg as *const Sudog as *mut Sudog;
        root.queue(sgp, lifo);
        park_until_unlock(&w, &root.lock, 0, reason);
        if sg.ticket.get() != 0 || cansemacquire(addr) {
            return;
        }
    }
}

/// Go's semrelease1: increments *addr and wakes one waiter. With
/// `handoff`, the unit goes straight to the waiter, which then runs next on
/// this P (Go's starvation-mode hand-off).
pub(crate) fn semrelease(addr: &AtomicU32, handoff: bool) {
    crate::sanitize::tsan_release(addr);
    addr.fetch_add(1, Ordering::SeqCst);
    let root = semroot(addr);
    if root.nwait.load(Ordering::SeqCst) == 0 {
        return;
    }
    root.lock.lock();
    if root.nwait.load(Ordering::SeqCst) == 0 {
        root.lock.unlock();
        return;
    }
    let sg = root.dequeue(addr as *const AtomicU32 as usize);
    if !sg.is_null() {
        root.nwait.fetch_sub(1, Ordering::SeqCst);
    }
    root.lock.unlock();
    if sg.is_null() {
        return;
    }
    // SAFETY: dequeued: ours until woken.
    let s = unsafe { &*sg };
    let mut handed = false;
    if handoff && cansemacquire(addr) {
        s.ticket.set(1);
        handed = true;
    }
    s.waiter().wake(sg);
    if handed {
        // Let the waiter run now, on our P (Go: goyield after a hand-off).
        let gp = getg();
        if !gp.is_null() {
            // SAFETY: a current G implies this thread's M.
            gosched(unsafe { crate::m::mref(crate::m::getm()) }, gp);
        }
    }
}
