//! `gort_select` (Go's selectgo, select.go).
//!
//! 1. Poll the cases in a random order, with every channel locked (in
//!    address order, each once), and take the first that can proceed: so a
//!    case is chosen uniformly at random among the ready ones.
//! 2. If none can and the call may block, enqueue one sudog per case, all
//!    pointing to one arbitrated [`Waiter`], and park; the channels are
//!    unlocked after the goroutine is saved.
//! 3. The first party to claim the waiter (a peer on any of the channels,
//!    a close, or the timeout) wakes it; on waking, lock everything again
//!    and unlink the sudogs that did not fire.

use crate::chan::Chan;
use crate::ffi::{GORT_EAGAIN, GORT_EINVAL, GORT_ENOTINIT, GORT_ETIMEDOUT};
use crate::g::{WaitReason, G};
use crate::m::{getm, mref};
use crate::park::{deadline_after, park_until};
use crate::park::{Sudog, Waiter};
use std::ffi::{c_int, c_void};

/// A send case: `elem` points to the value to send.
pub const GORT_SELECT_SEND: c_int = 1;
/// A receive case: `elem` receives the value (may be NULL to discard).
pub const GORT_SELECT_RECV: c_int = 2;

/// One case of `gort_select`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct gort_select_case {
    /// The channel; a NULL channel is never ready (Go's nil channel).
    pub chan: *mut crate::chan::gort_chan,
    /// GORT_SELECT_SEND or GORT_SELECT_RECV.
    pub dir: c_int,
    /// The element to send from or receive into.
    pub elem: *mut c_void,
    /// Output, set on the chosen case: true if its channel was closed (a
    /// receive got a zeroed element; a send did not happen, where Go would
    /// panic). Cleared on the other cases.
    pub closed: bool,
}

const STACK_CASES: usize = 16;

/// Scratch arrays of case indices: on the stack for up to 16 cases.
enum Scratch {
    Stack([usize; STACK_CASES], usize),
    Heap(Vec<usize>),
}

impl Scratch {
    fn new(n: usize) -> Scratch {
        if n <= STACK_CASES {
            Scratch::Stack([0; STACK_CASES], n)
        } else {
            Scratch::Heap(vec![0; n])
        }
    }
    fn as_mut(&mut self) -> &mut [usize] {
        match self {
            Scratch::Stack(a, n) => &mut a[..*n],
            Scratch::Heap(v) => v,
        }
    }
}

struct Sel<'a> {
    cases: &'a mut [gort_select_case],
    /// Indices of the non-NULL cases, sorted by channel address.
    lockorder: &'a [usize],
}

impl Sel<'_> {
    fn chan(&self, i: usize) -> &Chan {
        // SAFETY: non-NULL case channels are live (the caller holds references).
        unsafe { &*self.cases[i].chan }
    }

    /// Go's sellock: each distinct channel once, in address order.
    fn lock(&self) {
        let mut prev: *mut Chan = std::ptr::null_mut();
        for &i in self.lockorder {
            let c = self.cases[i].chan;
            if c != prev {
                self.chan(i).lock.lock();
                prev = c;
            }
        }
    }

    /// Go's selunlock, in reverse order. When called by the M parking this
    /// select, the final unlock can let a waker resume the goroutine, which
    /// then returns and frees `cases` and `lockorder` (they live on its
    /// stack): so a channel is unlocked at the lowest index of its run, and
    /// nothing of `self` is read after the unlock at index 0.
    fn unlock(&self) {
        let order = self.lockorder;
        for k in (0..order.len()).rev() {
            let c = self.cases[order[k]].chan;
            if k > 0 && self.cases[order[k - 1]].chan == c {
                continue;
            }
            self.chan(order[k]).lock.unlock();
        }
    }
}

unsafe fn selunlock(_gp: *mut G, arg: *mut c_void) -> bool {
    // SAFETY: arg is the Sel on the parked party's stack.
    unsafe { &*(arg as *const Sel<'_>) }.unlock();
    true
}

/// The unlock function of a select that locked nothing: it must not touch
/// the select's state (see the park in selectgo).
unsafe fn sel_nothing_locked(_gp: *mut G, _arg: *mut c_void) -> bool {
    true
}

fn fastrand() -> u32 {
    let mp = getm();
    if !mp.is_null() {
        // SAFETY: non-null Ms are valid and fastrand is per-thread state.
        return unsafe { mref(mp) }.fastrand();
    }
    // Host threads: a per-thread xorshift seeded from the stack address.
    thread_local! { static R: std::cell::Cell<u64> = const { std::cell::Cell::new(0) }; }
    R.with(|r| {
        let mut x = r.get();
        if x == 0 {
            x = (&x as *const u64 as u64) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        (x >> 32) as u32
    })
}

/// Go's selectgo. Returns the chosen index or a negative code.
///
/// # Safety
/// `cases[..]` channels are NULL or live with a reference held by the
/// caller; elems point to elem_size bytes (send) or are NULL/writable (recv).
unsafe fn selectgo(cases: &mut [gort_select_case], timeout_ns: i64) -> c_int {
    let n = cases.len();
    for c in cases.iter_mut() {
        c.closed = false;
    }
    // Poll order: a random permutation of the non-NULL cases.
    let mut poll_s = Scratch::new(n);
    let mut lock_s = Scratch::new(n);
    let poll = poll_s.as_mut();
    let mut live = 0;
    for (i, c) in cases.iter().enumerate() {
        if c.chan.is_null() {
            continue;
        }
        let j = (fastrand() as usize) % (live + 1);
        poll[live] = poll[j];
        poll[j] = i;
        live += 1;
    }
    let poll = &poll[..live];
    let lockorder = &mut lock_s.as_mut()[..live];
    lockorder.copy_from_slice(poll);
    lockorder.sort_unstable_by_key(|&i| cases[i].chan as usize);
    let sel = Sel { cases, lockorder };

    // Pass 1: anything ready?
    sel.lock();
    for &i in poll {
        let ch = sel.chan(i);
        let elem = sel.cases[i].elem as *mut u8;
        if sel.cases[i].dir == GORT_SELECT_RECV {
            let sg = ch.sendq.dequeue();
            if !sg.is_null() {
                // recv_from releases this channel's lock; release the others.
                unlock_except(&sel, i);
                ch.recv_from(sg, elem);
                return i as c_int;
            }
            if ch.qcount() > 0 {
                ch.buf_take(elem);
                sel.unlock();
                return i as c_int;
            }
            if ch.is_closed() {
                ch.zero_elem(elem);
                sel.unlock();
                sel.cases[i].closed = true;
                return i as c_int;
            }
        } else {
            if ch.is_closed() {
                sel.unlock();
                sel.cases[i].closed = true;
                return i as c_int;
            }
            let sg = ch.recvq.dequeue();
            if !sg.is_null() {
                unlock_except(&sel, i);
                ch.send_to(sg, elem);
                return i as c_int;
            }
            if ch.qcount() < ch.cap {
                ch.buf_put(elem);
                sel.unlock();
                return i as c_int;
            }
        }
    }
    if timeout_ns == 0 {
        sel.unlock();
        return GORT_EAGAIN;
    }

    // Pass 2: enqueue on every channel and park.
    let w = Waiter::new(true);
    let mut sgs: Vec<Sudog>;
    let mut stack_sgs: [std::mem::MaybeUninit<Sudog>; STACK_CASES] =
        [const { std::mem::MaybeUninit::uninit() }; STACK_CASES];
    let sudogs: &mut [Sudog] = if live <= STACK_CASES {
        for (k, &i) in sel.lockorder.iter().enumerate() {
            let mut sg = Sudog::new(&w, sel.cases[i].elem.cast());
            sg.case = i;
            stack_sgs[k].write(sg);
        }
        // SAFETY: the first `live` entries were just initialised; Sudog has no Drop, so leaving the rest uninitialised is fine.
        unsafe { std::slice::from_raw_parts_mut(stack_sgs.as_mut_ptr().cast::<Sudog>(), live) }
    } else {
        sgs = sel
            .lockorder
            .iter()
            .map(|&i| {
                let mut sg = Sudog::new(&w, sel.cases[i].elem.cast());
                sg.case = i;
                sg
            })
            .collect();
        &mut sgs
    };
    for sg in sudogs.iter() {
        let ch = sel.chan(sg.case);
        let p = sg as *const Sudog as *mut Sudog;
        if sel.cases[sg.case].dir == GORT_SELECT_RECV {
            ch.recvq.enqueue(p)
        } else {
            ch.sendq.enqueue(p)
        }
    }
    let deadline = deadline_after(timeout_ns);
    let reason = if sel.cases.is_empty() { WaitReason::SelectNoCases } else { WaitReason::Select };
    if sel.lockorder.is_empty() {
        // Nothing is locked (no cases, or only NULL channels), so nothing
        // keeps this goroutine parked while the parking M finishes: with a
        // deadline the timer is armed first and may fire on another M at
        // once, and the goroutine return and reuse this frame before
        // selunlock would have read `sel` (test_select_nocases_timeout).
        park_until(&w, sel_nothing_locked, std::ptr::null_mut(), deadline, reason);
    } else {
        // Safe to read `sel` in selunlock: we stay parked, or blocked in
        // `sel.lock()` below, until it has unlocked the last channel.
        park_until(&w, selunlock, &sel as *const Sel<'_> as *mut c_void, deadline, reason);
    }

    // Pass 3: unlink the sudogs that did not fire.
    let winner = w.winner.get();
    sel.lock();
    for sg in sudogs.iter() {
        let p = sg as *const Sudog as *mut Sudog;
        if p == winner {
            continue;
        }
        let ch = sel.chan(sg.case);
        let q = if sel.cases[sg.case].dir == GORT_SELECT_RECV { &ch.recvq } else { &ch.sendq };
        if q.contains(p) {
            q.remove(p);
        }
    }
    sel.unlock();
    if winner.is_null() {
        return GORT_ETIMEDOUT;
    }
    // SAFETY: the winner is one of our sudogs.
    let sg = unsafe { &*winner };
    if !sg.success.get() {
        sel.cases[sg.case].closed = true;
    }
    sg.case as c_int
}

/// Unlocks every channel of the select except case `keep`'s.
fn unlock_except(sel: &Sel<'_>, keep: usize) {
    let keepc = sel.cases[keep].chan;
    let mut prev: *mut Chan = std::ptr::null_mut();
    for &i in sel.lockorder.iter().rev() {
        let c = sel.cases[i].chan;
        if c != prev && c != keepc {
            sel.chan(i).lock.unlock();
        }
        prev = c;
    }
}

/// Waits until one of `n` channel operations can proceed and performs it
/// (Go's select statement). Among the cases ready at the same time one is
/// chosen uniformly at random. `timeout_ns`: 0 returns GORT_EAGAIN at once
/// when nothing is ready (Go's `default:`), negative waits forever,
/// positive gives up with GORT_ETIMEDOUT. NULL channels are never ready.
///
/// Returns the index of the case that proceeded (check its `closed`), or
/// GORT_EAGAIN, GORT_ETIMEDOUT, GORT_EINVAL (NULL `cases` with n > 0, a bad
/// `dir`, a send case with NULL elem and elem_size > 0), GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_select(cases: *mut gort_select_case, n: usize, timeout_ns: i64) -> c_int {
    ffi_guard!("gort_select", {
        if !crate::boot::is_ready() {
            return GORT_ENOTINIT;
        }
        if cases.is_null() && n > 0 {
            return GORT_EINVAL;
        }
        if n > i32::MAX as usize {
            return GORT_EINVAL;
        }
        let cs: &mut [gort_select_case] =
            // SAFETY: the caller passes n valid cases (or n == 0).
            if n == 0 { &mut [] } else { unsafe { std::slice::from_raw_parts_mut(cases, n) } };
        for c in cs.iter() {
            if c.dir != GORT_SELECT_SEND && c.dir != GORT_SELECT_RECV {
                return GORT_EINVAL;
            }
            // SAFETY: non-NULL channels are live.
            if c.dir == GORT_SELECT_SEND && !c.chan.is_null() && c.elem.is_null() && unsafe { &*c.chan }.elem_size != 0
            {
                return GORT_EINVAL;
            }
        }
        // TSan: every case's channel is released, the chosen one acquired
        // (the edges of the channel operation the select performs).
        crate::sanitize::tsan_release_each(cs.iter().map(|c| c.chan));
        // SAFETY: the loop above checked every case (direction, a send's elem for elem_size > 0); the caller holds references to the non-null channels.
        let r = unsafe { selectgo(cs, timeout_ns) };
        if r >= 0 {
            crate::sanitize::tsan_acquire(cs[r as usize].chan);
        }
        r
    })
}
