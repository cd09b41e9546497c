//! What a debugger needs to find and read goroutines without DWARF (Go's
//! runtime-gdb.py reads Go's DWARF; gort is built with line tables only,
//! and a program may strip even those).
//!
//! `gort_debug_info` is one exported, never-moving table of machine words:
//! a magic word and a version, the size and the field offsets of the G
//! descriptor, the status values, the wait-reason strings, the layout of a
//! parked goroutine's saved context, and where the stack slabs are (every G
//! sits at the top of a slab unit, see [`crate::stack`]). The gdb extension
//! `scripts/gdb/gort-gdb.py` reads it with plain memory reads; it never
//! calls into the program, so it works on a stopped process and on a core
//! file alike.
//!
//! Most of the table is constant. The slab table's address and layout are
//! known only once `stackinit` has run and only to `stack.rs` (its fields
//! are private there), so `stackinit` publishes them through
//! [`publish_stacks`]; until then `stacks` reads 0 and the debugger
//! reports that the runtime is not initialised.
//!
//! # Compatibility
//!
//! Every entry is a 64-bit word (a pointer for `waitreasons`), in the order
//! of the struct below. `size` is the table's size in bytes: a later
//! version appends words and keeps the ones here, so a reader takes what it
//! knows. `version` changes only when a word's meaning changes. The widths
//! of the G fields are fixed by the version: goid, waitsince, parent_goid
//! and M.tid/M.id are i64; status u32; waitreason, insyscall, started and
//! is_main one byte; sched_sp, stack_lo/hi, startpc, gopc, syscallfp/pc
//! and m pointer-sized; name `name_size` bytes, NUL-terminated.
//!
//! Not in the C header: cbindgen exports functions and constants only
//! (cbindgen.toml), and the items below say `cbindgen:ignore` besides.

use crate::g::{G, GDEAD, GIDLE, GRUNNABLE, GRUNNING, GWAITING, NAME_MAX};
use crate::m::M;
use crate::stack::G_RESERVE;
use std::ffi::c_char;
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicU64, Ordering};

/// "gortdbgi" in memory order: what the debugger checks first.
const MAGIC: u64 = u64::from_le_bytes(*b"gortdbgi");
const VERSION: u64 = 1;

/// Number of wait reasons (`WaitReason` values 0..N).
const NWAITREASONS: usize = 13;

/// The wait-reason strings indexed by `WaitReason` value, NUL-terminated,
/// for the debugger (a test checks them against `WaitReason::as_str`).
/// cbindgen:ignore
#[repr(transparent)]
pub(crate) struct WaitReasonTable([*const c_char; NWAITREASONS]);

// SAFETY: the table and the strings it points to are immutable statics.
unsafe impl Sync for WaitReasonTable {}

/// cbindgen:ignore
static WAIT_REASONS: WaitReasonTable = WaitReasonTable([
    c"waiting".as_ptr(),
    c"chan receive".as_ptr(),
    c"chan send".as_ptr(),
    c"select".as_ptr(),
    c"select (no cases)".as_ptr(),
    c"sync.Mutex.Lock".as_ptr(),
    c"sync.RWMutex.RLock".as_ptr(),
    c"sync.RWMutex.Lock".as_ptr(),
    c"sync.WaitGroup.Wait".as_ptr(),
    c"sync.Cond.Wait".as_ptr(),
    c"semacquire".as_ptr(),
    c"sleep".as_ptr(),
    c"IO wait".as_ptr(),
]);

/// The table a debugger reads (see the module doc for the contract).
/// cbindgen:ignore
#[repr(C)]
pub(crate) struct DebugInfo {
    pub magic: u64,
    pub version: u64,
    /// Size of this table in bytes.
    pub size: u64,
    /// `size_of::<G>()`, and the bytes reserved for it at the top of a unit.
    pub g_size: u64,
    pub g_reserve: u64,
    /// Offsets of G fields.
    pub g_goid: u64,
    pub g_status: u64,
    pub g_waitreason: u64,
    pub g_waitsince: u64,
    pub g_sched_sp: u64,
    pub g_stack_lo: u64,
    pub g_stack_hi: u64,
    pub g_startpc: u64,
    pub g_gopc: u64,
    pub g_parent_goid: u64,
    pub g_name: u64,
    /// Bytes of the name field (the name is NUL-terminated in it).
    pub g_name_size: u64,
    pub g_insyscall: u64,
    pub g_syscallfp: u64,
    pub g_syscallpc: u64,
    pub g_started: u64,
    pub g_is_main: u64,
    /// The M running the G (valid while GRUNNING), and the offsets in the M
    /// of its thread id (the LWP a debugger shows) and its number.
    pub g_m: u64,
    pub m_tid: u64,
    pub m_id: u64,
    /// Status values.
    pub gidle: u64,
    pub grunnable: u64,
    pub grunning: u64,
    pub gwaiting: u64,
    pub gdead: u64,
    /// `nwaitreasons` C strings indexed by the G's `waitreason` byte.
    pub nwaitreasons: u64,
    pub waitreasons: *const *const c_char,
    /// A parked or runnable G's saved context, at its `sched_sp`: the
    /// offsets of the callee-saved register gort_swap keeps besides the
    /// frame pointer (rbx on x86_64, x19 on aarch64), of the saved frame
    /// pointer (rbp / x29) and of the resume address; and the frame's size:
    /// the context resumes at that address with sp = sched_sp + saved_size.
    pub saved_reg: u64,
    pub saved_fp: u64,
    pub saved_pc: u64,
    pub saved_size: u64,
    /// Set by `stackinit` ([`publish_stacks`]): the address of the stack
    /// allocator (0 before init), and the offsets in it of the unit size
    /// (bytes per unit), the slab count and the slab array; each slab entry
    /// is `slab_size` bytes with the slab's base address and length (bytes)
    /// at `slab_base` and `slab_len`. Unit k of a slab spans
    /// [base + k*unit, base + (k+1)*unit) and its G is at the unit's end
    /// minus `g_reserve`. Units not yet handed out read as zeroes (GIDLE).
    pub stacks: AtomicU64,
    pub stacks_unit: AtomicU64,
    pub stacks_nslabs: AtomicU64,
    pub stacks_slabs: AtomicU64,
    pub slab_size: AtomicU64,
    pub slab_base: AtomicU64,
    pub slab_len: AtomicU64,
    /// Appended: the offset in a slab entry of its own unit size. Slabs of
    /// `gort_go_ex` size classes have units of other sizes than
    /// `stacks_unit`; a reader that finds this word (`size` covers it)
    /// takes each slab's unit from its entry.
    pub slab_unit: AtomicU64,
}

// SAFETY: `waitreasons` points to immutable statics; every field that
// changes after load time is atomic.
unsafe impl Sync for DebugInfo {}

/// The saved context's layout (must match the comment at the top of the
/// .S file and `arch::SAVED_FRAME_RECORD`).
/// cbindgen:ignore
#[cfg(target_arch = "x86_64")]
mod saved {
    // asm/x86_64.S: sp -> [rbx][rbp][return address].
    pub const REG: u64 = 0;
    pub const FP: u64 = 8;
    pub const PC: u64 = 16;
    pub const SIZE: u64 = 24;
}
/// See the x86_64 variant.
/// cbindgen:ignore
#[cfg(target_arch = "aarch64")]
mod saved {
    // asm/aarch64.S: sp -> [x29][x30][x19][pad].
    pub const FP: u64 = 0;
    pub const PC: u64 = 8;
    pub const REG: u64 = 16;
    pub const SIZE: u64 = 32;
}
// The frame-pointer walks of the dump start at the same record.
const _: () = assert!(saved::FP == crate::arch::SAVED_FRAME_RECORD as u64 && saved::PC == saved::FP + 8);

/// Exported under this name for debuggers; `#[used]` keeps it in every
/// link, and the stores of [`publish_stacks`] reference it from code that
/// every program runs, so a linker's `--gc-sections` keeps it too.
/// cbindgen:ignore
#[no_mangle]
#[used]
pub static gort_debug_info: DebugInfo = DebugInfo {
    magic: MAGIC,
    version: VERSION,
    size: size_of::<DebugInfo>() as u64,
    g_size: size_of::<G>() as u64,
    g_reserve: G_RESERVE as u64,
    g_goid: offset_of!(G, goid) as u64,
    g_status: offset_of!(G, status) as u64,
    g_waitreason: offset_of!(G, waitreason) as u64,
    g_waitsince: offset_of!(G, waitsince) as u64,
    g_sched_sp: offset_of!(G, sched_sp) as u64,
    g_stack_lo: offset_of!(G, stack_lo) as u64,
    g_stack_hi: offset_of!(G, stack_hi) as u64,
    g_startpc: offset_of!(G, startpc) as u64,
    g_gopc: offset_of!(G, gopc) as u64,
    g_parent_goid: offset_of!(G, parent_goid) as u64,
    g_name: offset_of!(G, name) as u64,
    g_name_size: (NAME_MAX + 1) as u64,
    g_insyscall: offset_of!(G, insyscall) as u64,
    g_syscallfp: offset_of!(G, syscallfp) as u64,
    g_syscallpc: offset_of!(G, syscallpc) as u64,
    g_started: offset_of!(G, started) as u64,
    g_is_main: offset_of!(G, is_main) as u64,
    g_m: offset_of!(G, m) as u64,
    m_tid: offset_of!(M, tid) as u64,
    m_id: offset_of!(M, id) as u64,
    gidle: GIDLE as u64,
    grunnable: GRUNNABLE as u64,
    grunning: GRUNNING as u64,
    gwaiting: GWAITING as u64,
    gdead: GDEAD as u64,
    nwaitreasons: NWAITREASONS as u64,
    waitreasons: WAIT_REASONS.0.as_ptr(),
    saved_reg: saved::REG,
    saved_fp: saved::FP,
    saved_pc: saved::PC,
    saved_size: saved::SIZE,
    stacks: AtomicU64::new(0),
    stacks_unit: AtomicU64::new(0),
    stacks_nslabs: AtomicU64::new(0),
    stacks_slabs: AtomicU64::new(0),
    slab_size: AtomicU64::new(0),
    slab_base: AtomicU64::new(0),
    slab_len: AtomicU64::new(0),
    slab_unit: AtomicU64::new(0),
};

/// Where `StackAlloc`'s fields are, as offsets only `stack.rs` can take.
pub(crate) struct StacksLayout {
    pub unit: usize,
    pub nslabs: usize,
    pub slabs: usize,
    pub slab_size: usize,
    pub slab_base: usize,
    pub slab_len: usize,
    pub slab_unit: usize,
}

/// Called by `stackinit` once the allocator at `addr` is in place: the
/// layout first, the address last, so a reader that finds the address
/// finds the layout too (a debugger normally reads a stopped process).
pub(crate) fn publish_stacks(addr: usize, l: StacksLayout) {
    let d = &gort_debug_info;
    d.stacks_unit.store(l.unit as u64, Ordering::Relaxed);
    d.stacks_nslabs.store(l.nslabs as u64, Ordering::Relaxed);
    d.stacks_slabs.store(l.slabs as u64, Ordering::Relaxed);
    d.slab_size.store(l.slab_size as u64, Ordering::Relaxed);
    d.slab_base.store(l.slab_base as u64, Ordering::Relaxed);
    d.slab_len.store(l.slab_len as u64, Ordering::Relaxed);
    d.slab_unit.store(l.slab_unit as u64, Ordering::Relaxed);
    d.stacks.store(addr as u64, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g::WaitReason;

    #[test]
    fn wait_reason_strings_match() {
        for (i, &p) in WAIT_REASONS.0.iter().enumerate() {
            // SAFETY: every entry is a C string literal.
            let s = unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap();
            assert_eq!(s, WaitReason::from_u8(i as u8).as_str(), "wait reason {i}");
        }
        // from_u8 maps values past the table to Zero: the table is complete
        // when the value after its last entry is no longer a reason.
        assert_eq!(WaitReason::from_u8(NWAITREASONS as u8), WaitReason::Zero);
        assert_ne!(WaitReason::from_u8(NWAITREASONS as u8 - 1), WaitReason::Zero);
    }

    #[test]
    fn table_shape() {
        let d = &gort_debug_info;
        assert_eq!(&d.magic.to_le_bytes(), b"gortdbgi");
        // All words: the reader indexes them.
        // 43 words in version 1 as first published, then slab_unit.
        assert_eq!(d.size as usize, 44 * 8);
        assert_eq!(d.size as usize % 8, 0);
        assert!(d.g_reserve >= d.g_size);
        for off in [d.g_goid, d.g_status, d.g_waitreason, d.g_sched_sp, d.g_startpc, d.g_name, d.g_m] {
            assert!(off < d.g_size);
        }
        assert!(d.g_name + d.g_name_size <= d.g_size);
    }
}
