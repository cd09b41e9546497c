//! M: an OS thread (Go's `m`), and the thread-local pointer to it.
//!
//! Each M has a *g0*: the thread's own stack, on which `schedule` runs when
//! the current P has nothing runnable and the M must steal or sleep. While a
//! goroutine runs, `g0_sp` holds the scheduler's saved stack pointer.
//!
//! # The thread-local trap
//!
//! A goroutine can stop on one M and resume on another. Any TLS address
//! computed before a switch may then belong to the wrong thread, and
//! compilers happily keep such addresses in registers (they assume the
//! thread pointer never changes inside a function). So:
//! * the runtime reads the current M only through [`getm`], which is
//!   `#[inline(never)]` and therefore recomputed at each call;
//! * after a switch, code continues with the M that `gort_swap` hands over
//!   (the M of the thread that resumed it), never with one read before.

use crate::g::G;
use crate::os::Note;
use crate::p::P;
use crate::proc::Post;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

#[repr(C, align(128))]
pub(crate) struct M {
    pub id: i64,
    /// Saved sp of the scheduler stack (g0) while a goroutine runs.
    pub g0_sp: Cell<usize>,
    /// The goroutine running on this M, null on g0 or while switching to g0.
    pub curg: Cell<*mut G>,
    /// The P this M holds, null when idle.
    pub p: Cell<*mut P>,
    /// The P handed over by `startm` to a parked M before waking it.
    pub nextp: AtomicPtr<P>,
    /// See "Worker thread parking" in proc.rs.
    pub spinning: Cell<bool>,
    /// Set by `startm` for a woken M: it starts out spinning.
    pub start_spinning: AtomicBool,
    /// Parked here by `stopm` (Go's m.park).
    pub park: Note,
    /// What to do with the G this M just switched away from.
    pub post: Cell<Post>,
    /// xorshift state for steal order (Go's m.fastrand).
    pub fastrand: Cell<u64>,
    pub tid: Cell<i64>,
}

// SAFETY: an M's Cell fields are touched only by its own thread; fields
// written by other threads (nextp, start_spinning, park) are atomics and are
// written only while the M is parked, under sched.lock.
unsafe impl Sync for M {}
// SAFETY: as above.
unsafe impl Send for M {}

impl M {
    pub(crate) fn new(id: i64) -> M {
        M {
            id,
            g0_sp: Cell::new(0),
            curg: Cell::new(std::ptr::null_mut()),
            p: Cell::new(std::ptr::null_mut()),
            nextp: AtomicPtr::new(std::ptr::null_mut()),
            spinning: Cell::new(false),
            start_spinning: AtomicBool::new(false),
            park: Note::new(),
            post: Cell::new(Post::None),
            fastrand: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (id as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9)),
            tid: Cell::new(0),
        }
    }

    /// The P this M holds.
    ///
    /// Only for code running on behalf of an M that holds a P (any goroutine,
    /// and g0 between acquirep and releasep).
    #[inline(always)]
    pub(crate) fn pp(&self) -> &'static P {
        let pp = self.p.get();
        debug_assert!(!pp.is_null(), "M without P");
        // SAFETY: Ps live for the whole process (allp is leaked at schedinit) and the caller holds this one.
        unsafe { &*pp }
    }

    /// Go's cheaprand: xorshift64*.
    pub(crate) fn fastrand(&self) -> u32 {
        let mut x = self.fastrand.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.fastrand.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
}

thread_local! {
    static CUR_M: Cell<*mut M> = const { Cell::new(std::ptr::null_mut()) };
}

/// The M of the calling thread, or null on a thread the runtime did not
/// start (a host thread in library mode, or any thread before init).
///
/// Never inlined: see the module doc.
#[inline(never)]
pub(crate) fn getm() -> *mut M {
    CUR_M.with(|c| c.get())
}

/// Binds `mp` to the calling thread (Go's settls in rt0_go/mstart).
pub(crate) fn setm(mp: *mut M) {
    CUR_M.with(|c| c.set(mp));
}

/// Borrows an M from a raw pointer.
///
/// # Safety
/// `mp` must be non-null; Ms are never freed.
#[inline(always)]
pub(crate) unsafe fn mref<'a>(mp: *mut M) -> &'a M {
    // SAFETY: forwarded to the caller.
    unsafe { &*mp }
}

pub(crate) fn load_nextp(mp: &M) -> *mut P {
    mp.nextp.swap(std::ptr::null_mut(), Ordering::Acquire)
}
