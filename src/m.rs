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

use crate::ffi::Error;
use crate::g::G;
use crate::idle::acquirep;
use crate::os::Note;
use crate::p::P;
use crate::panic::throw;
use crate::proc::schedule;
use crate::sched::{sched, MAXMCOUNT};
use crate::switch::Post;
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

#[repr(C, align(128))]
pub(crate) struct M {
    pub id: i64,
    /// Saved sp of the scheduler stack (g0) while a goroutine runs.
    pub g0_sp: Cell<usize>,
    /// The goroutine running on this M, null on g0 or while switching to g0.
    /// Written by the M's own thread only; atomic because sysmon reads it
    /// (`retake`). Use `curg()`/`set_curg()`.
    curg: AtomicPtr<G>,
    /// The P this M holds, null when idle.
    pub p: Cell<*mut P>,
    /// sysmon's hand-off handshake with this M (see syscall.rs): idle,
    /// asked (sysmon wants the P), taken (sysmon took it; the M's `p` is no
    /// longer its own until it acquires one again).
    pub retake: AtomicU32,
    /// The P sysmon took, which `exitsyscall` tries to get back first
    /// (Go's m.oldp). M's own thread only.
    pub oldp: Cell<*mut P>,
    /// The P handed over by `startm` to a parked M before waking it.
    pub nextp: AtomicPtr<P>,
    /// See "Worker thread parking" in idle.rs.
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
    /// This thread's `errno` (`__errno_location()`, set by `minit`): each
    /// goroutine keeps its own errno across switches (see `switch_from`),
    /// and the address is fixed per thread, so it is looked up once.
    errno_loc: Cell<*mut c_int>,
    /// What sanitizers need per M (`sanitize.rs`): its g0's stack and fiber.
    pub san: crate::sanitize::MSan,
    /// The goroutine locked to this M, null if none (Go's m.lockedg).
    pub lockedg: Cell<*mut G>,
    /// A locked goroutine this M took off a run queue on a goroutine
    /// stack; g0 hands it to its M (`startlockedm`).
    pub nextlocked: Cell<*mut G>,
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
            curg: AtomicPtr::new(std::ptr::null_mut()),
            retake: AtomicU32::new(crate::syscall::retake_idle()),
            oldp: Cell::new(std::ptr::null_mut()),
            p: Cell::new(std::ptr::null_mut()),
            nextp: AtomicPtr::new(std::ptr::null_mut()),
            spinning: Cell::new(false),
            start_spinning: AtomicBool::new(false),
            park: Note::new(),
            post: Cell::new(Post::None),
            fastrand: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (id as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9)),
            tid: Cell::new(0),
            errno_loc: Cell::new(std::ptr::null_mut()),
            san: crate::sanitize::MSan::new(),
            lockedg: Cell::new(std::ptr::null_mut()),
            nextlocked: Cell::new(std::ptr::null_mut()),
        }
    }

    /// The calling thread's errno, which must be this M's thread.
    #[inline(always)]
    pub(crate) fn errno(&self) -> c_int {
        // SAFETY: errno_loc is the errno of the thread that ran minit for this
        // M, and an M's code runs only on that thread.
        unsafe { *self.errno_loc.get() }
    }

    #[inline(always)]
    pub(crate) fn set_errno(&self, v: c_int) {
        // SAFETY: as in errno().
        unsafe { *self.errno_loc.get() = v }
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

    /// The goroutine running on this M (null on g0).
    #[inline(always)]
    pub(crate) fn curg(&self) -> *mut G {
        self.curg.load(Ordering::Relaxed)
    }

    /// Only by the M's own thread.
    #[inline(always)]
    pub(crate) fn set_curg(&self, gp: *mut G) {
        self.curg.store(gp, Ordering::Relaxed)
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

/// getm inlined, for an exported function's first read of its M, before
/// anything in it can switch goroutines: the address computed here cannot
/// be reused after a switch, because the function reads TLS only once and
/// exports are never inlined into other runtime code. Saves a call on the
/// hottest entry points (`gort_entersyscall`/`gort_exitsyscall`).
#[inline(always)]
pub(crate) fn getm_at_entry() -> *mut M {
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

/// The goroutine running on this thread, or null (g0, host thread).
pub(crate) fn getg() -> *mut G {
    let mp = getm();
    if mp.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: non-null Ms are leaked and valid; curg is read by the M's own thread.
    unsafe { mref(mp) }.curg()
}

/// Go's allocm: a new M, registered in allm. Fails past maxmcount.
pub(crate) fn allocm() -> Result<&'static M, Error> {
    let s = sched();
    let id = s.mcount.fetch_add(1, Ordering::Relaxed);
    if id >= MAXMCOUNT {
        s.mcount.fetch_sub(1, Ordering::Relaxed);
        crate::os::write_stderr(&["gort: thread limit (maxmcount 10000) reached\n"]);
        return Err(Error::NoMem);
    }
    let mp: &'static M = Box::leak(Box::new(M::new(id)));
    s.locked().allm.push(mp as *const M as *mut M);
    Ok(mp)
}

/// Go's newm: a new M (OS thread) that starts with pp.
pub(crate) fn newm(pp: *mut P, spinning: bool) -> Result<(), Error> {
    startthread(allocm()?, pp, spinning)
}

/// Starts the OS thread of an allocated M, which begins with pp.
pub(crate) fn startthread(mp: &'static M, pp: *mut P, spinning: bool) -> Result<(), Error> {
    mp.start_spinning.store(spinning, Ordering::Relaxed);
    mp.nextp.store(pp, Ordering::Release);
    crate::os::newosproc(M_STACK, mstart_thread, mp as *const M as *mut c_void).map_err(|e| {
        sched().mcount.fetch_sub(1, Ordering::Relaxed);
        let mut b = [0u8; 24];
        crate::os::write_stderr(&["gort: cannot create thread (errno ", crate::os::fmt_i64(e as i64, &mut b), ")\n"]);
        Error::NoMem
    })
}

/// Size of an M's own stack (its g0), where schedule runs.
const M_STACK: usize = 256 << 10;

/// Start routine of every M thread but m0 in program mode (Go's mstart).
extern "C" fn mstart_thread(arg: *mut c_void) -> *mut c_void {
    // SAFETY: newm passes a leaked M.
    let mp: &'static M = unsafe { mref(arg.cast()) };
    minit(mp);
    let mut b = [0u8; 24];
    let name = crate::os::fmt_i64(mp.id, &mut b);
    crate::os::set_thread_name(&format!("gort-m{name}"));
    let pp = load_nextp(mp);
    if pp.is_null() {
        throw("mstart: M started without a P");
    }
    acquirep(mp, pp);
    if mp.start_spinning.swap(false, Ordering::Relaxed) {
        mp.spinning.set(true);
    }
    schedule(mp)
}

/// Go's minit: per-thread setup of an M.
pub(crate) fn minit(mp: &'static M) {
    setm(mp as *const M as *mut M);
    mp.tid.set(crate::os::gettid());
    // SAFETY: __errno_location has no preconditions; it returns this thread's errno.
    mp.errno_loc.set(unsafe { libc::__errno_location() });
    crate::signal::minit();
    crate::sanitize::minit(mp, M_STACK);
}
