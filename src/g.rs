//! G: the goroutine descriptor (Go's `g` in runtime2.go).
//!
//! A G lives at the top of its own stack unit (see [`crate::stack`]): one
//! allocation, one page for a parked goroutine with a shallow stack, and
//! the descriptor is recycled together with its stack by `gfput`/`gfget`.
//!
//! # Ownership by status (who may touch the G and its stack)
//!
//! * `GIDLE`: just allocated, owned by the allocating thread.
//! * `GRUNNABLE`: in exactly one run queue or `runnext` slot (or about to be
//!   put in one by a post-switch action). Whoever removes it from the queue
//!   owns it. Its registers are saved on its stack, `sched_sp` points at them.
//! * `GRUNNING`: owned by the M in `m`, which is executing on its stack.
//! * `GWAITING`: parked by `gopark`; owned by whatever data structure the
//!   unlock function published it to. `goready` moves it back to
//!   `GRUNNABLE`.
//! * `GDEAD`: finished; on a free list, owned by that list's P.
//!
//! The invariant that makes direct G-to-G switches safe: a G becomes
//! visible to other threads (queued, published to a waiter list) only by a
//! post-switch action, which the *next* context runs after `gort_swap` has
//! saved the G's registers. See [`crate::switch::Post`].

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize};

pub(crate) const GIDLE: u32 = 0;
pub(crate) const GRUNNABLE: u32 = 1;
pub(crate) const GRUNNING: u32 = 2;
pub(crate) const GWAITING: u32 = 4;
pub(crate) const GDEAD: u32 = 6;

/// How the stack below this G is protected against overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guard {
    /// A `MADV_GUARD_INSTALL` guard page: no extra mapping.
    Madvise,
    /// An `mprotect(PROT_NONE)` page: splits the slab's mapping, so these are
    /// rationed (see `stack::StackAlloc::mprotect_budget`).
    Mprotect,
    /// No guard page: a canary at the stack's low end, checked each time the
    /// goroutine switches out.
    Canary,
}

pub(crate) type GoFn = unsafe extern "C" fn(*mut c_void);

/// Why a goroutine is parked (Go's waitReason), shown by the goroutine dump
/// (`traceback.rs`) and used by the deadlock check (`deadlock.rs`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitReason {
    Zero = 0,
    ChanReceive,
    ChanSend,
    Select,
    SelectNoCases,
    MutexLock,
    RWMutexRLock,
    RWMutexLock,
    WaitGroupWait,
    CondWait,
    Semacquire,
    Sleep,
    IOWait,
}

impl WaitReason {
    /// Go's spelling where Go has the state (runtime2.go waitReasonStrings).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WaitReason::Zero => "waiting",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::MutexLock => "sync.Mutex.Lock",
            WaitReason::RWMutexRLock => "sync.RWMutex.RLock",
            WaitReason::RWMutexLock => "sync.RWMutex.Lock",
            WaitReason::WaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::CondWait => "sync.Cond.Wait",
            WaitReason::Semacquire => "semacquire",
            WaitReason::Sleep => "sleep",
            WaitReason::IOWait => "IO wait",
        }
    }

    pub(crate) fn from_u8(v: u8) -> WaitReason {
        const ALL: [WaitReason; 13] = [
            WaitReason::Zero,
            WaitReason::ChanReceive,
            WaitReason::ChanSend,
            WaitReason::Select,
            WaitReason::SelectNoCases,
            WaitReason::MutexLock,
            WaitReason::RWMutexRLock,
            WaitReason::RWMutexLock,
            WaitReason::WaitGroupWait,
            WaitReason::CondWait,
            WaitReason::Semacquire,
            WaitReason::Sleep,
            WaitReason::IOWait,
        ];
        ALL.get(v as usize).copied().unwrap_or(WaitReason::Zero)
    }
}

/// Longest goroutine name kept by `gort_setname` (longer ones are cut).
pub(crate) const NAME_MAX: usize = 31;

#[repr(C, align(64))]
pub(crate) struct G {
    /// Saved stack pointer while the G is not running; gort_swap writes it.
    pub sched_sp: Cell<usize>,
    pub status: AtomicU32,
    pub goid: Cell<i64>,
    /// The M executing this G; valid only while GRUNNING.
    pub m: Cell<*mut crate::m::M>,
    /// Global free list: next batch head, and this batch's size.
    pub schedlink: Cell<*mut G>,
    pub batch_len: Cell<u32>,
    /// Usable stack: [stack_lo, stack_hi). stack_hi is this G's address.
    pub stack_lo: usize,
    pub stack_hi: usize,
    pub guard: Guard,
    /// Start function and argument of the current incarnation.
    pub fnc: Cell<Option<GoFn>>,
    pub arg: Cell<*mut c_void>,
    /// The main goroutine (program mode): its return ends the process.
    pub is_main: Cell<bool>,
    /// Has run at least once (decides newq vs runq, see p.rs).
    pub started: Cell<bool>,
    /// Goroutines this G spawned since it last gave way to them
    /// (`spawnyield`); only a G that spawns in bursts is throttled.
    pub spawned: Cell<u32>,
    /// Value handed over by `goready` to the parked goroutine (Go's param).
    pub param: Cell<*mut c_void>,
    /// Odd while the G is inside the runtime (or not running), even while it
    /// runs C code between gort calls; bumped by `callin`/`callout`, read by
    /// sysmon, which may hand off the P of a G whose count stays even (see
    /// `syscall.rs`). Written only by the M running the G.
    pub rtseq: AtomicU64,
    /// Between `gort_entersyscall` and `gort_exitsyscall` (Go's _Gsyscall):
    /// sysmon hands off the P after ~20 us instead of 10 ms. Read by sysmon.
    pub insyscall: AtomicBool,
    /// The goroutine's errno while it is switched out: C code reads errno
    /// from the thread, and the G may resume on another thread, or after
    /// others ran on this one (`switch_from`).
    pub errno: Cell<std::ffi::c_int>,
    // The fields below are read by the goroutine dump and the deadlock check
    // from other threads without stopping this G, hence atomics (Relaxed
    // stores compile to plain moves).
    /// A `WaitReason` while GWAITING.
    pub waitreason: AtomicU8,
    /// sysmon's clock when the G parked (Go's waitsince), for "N minutes".
    pub waitsince: AtomicI64,
    /// The goroutine that created this one (0: the runtime or a host
    /// thread), and the return address of its `gort_go` call.
    pub parent_goid: AtomicI64,
    pub gopc: AtomicUsize,
    /// The start function, for `created by` and the gdb extension.
    pub startpc: AtomicUsize,
    /// Where a goroutine in a blocking call is, for the dump: the frame
    /// record of the function that called `gort_entersyscall` and the pc
    /// of that call (those frames stay put until `gort_exitsyscall`; the
    /// frame of gort_entersyscall itself is gone, reused by the blocking
    /// call). syscallpc is 0 when syscallfp is the record of a gort I/O
    /// call that blocks inside itself (`syscall::blocking`).
    pub syscallfp: AtomicUsize,
    pub syscallpc: AtomicUsize,
    /// `gort_setname`, NUL-terminated; written only by the G itself.
    pub name: [AtomicU8; NAME_MAX + 1],
    /// What sanitizers need per goroutine (`sanitize.rs`).
    pub san: crate::sanitize::GSan,
    /// The M this G is locked to (`gort_lock_os_thread`), null if none
    /// (Go's g.lockedm). Written by the G itself while it runs; read by an
    /// M that took the G off a run queue (`lockosthread.rs`).
    pub lockedm: AtomicPtr<crate::m::M>,
    /// Nesting depth of `gort_lock_os_thread` (Go's lockedExt).
    pub lockcount: Cell<u32>,
    /// Stack size class: 0 for the default size, k + 1 for class k
    /// (`stack::NCLASS`, `gort_go_ex`). Fixed for the unit's life.
    pub sclass: u8,
}

// SAFETY: a G is handed between threads only through the run queues and
// post-switch actions, which transfer ownership (see the module doc); the
// Cell fields are touched only by the current owner.
unsafe impl Sync for G {}
// SAFETY: as above.
unsafe impl Send for G {}

/// A raw G pointer that may travel through crossbeam's queues.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct GPtr(pub *mut G);
// SAFETY: ownership of the pointee moves with the value (module doc).
unsafe impl Send for GPtr {}

/// Borrows a G from a raw pointer.
///
/// # Safety
/// `gp` must point to a live G (they are never freed, only recycled), and
/// the caller must own it according to its status, or only read fields that
/// are stable for the G's lifetime (`stack_*`, `guard`).
#[inline(always)]
pub(crate) unsafe fn gref<'a>(gp: *mut G) -> &'a G {
    // SAFETY: forwarded to the caller.
    unsafe { &*gp }
}
