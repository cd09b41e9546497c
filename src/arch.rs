//! The Rust side of the context switch in `asm/<arch>.S`: the two symbols it
//! exports and the hand-built first frame of a goroutine that has never run.
//!
//! A new goroutine's saved stack pointer points at a frame shaped exactly
//! like the one `gort_swap` pushes, whose return address is `gort_gostart`.
//! The first `gort_swap` into it therefore pops the seeded registers and
//! "returns" into `gort_gostart`, which calls the entry hook (to finish the
//! switch), the start function, and the exit hook. The layouts here must
//! match the comments at the top of each .S file.

use crate::g::G;
use crate::m::M;
use std::ffi::c_void;

/// cbindgen:ignore
mod sys {
    use std::ffi::c_void;
    extern "C" {
        /// Saves the callee-saved state on the current stack, stores sp in
        /// `*save_sp`, resumes the context whose sp is `resume_sp`, and makes
        /// *its* pending `gort_swap` return `handoff`.
        pub fn gort_swap(save_sp: *mut usize, resume_sp: usize, handoff: *mut c_void) -> *mut c_void;
        pub fn gort_gostart();
    }
}
use sys::{gort_gostart, gort_swap};

/// Entry hook called by gort_gostart with (the M now running us, the G).
pub(crate) type EntryHook = unsafe extern "C" fn(*mut M, *mut G);
/// Exit hook called by gort_gostart after the start function returns.
pub(crate) type ExitHook = unsafe extern "C" fn() -> !;

/// Switches from the context whose sp slot is `save` to the one at
/// `resume`, handing `m` over. Returns, in the resumed-later original
/// context, the M that resumed it.
///
/// # Safety
/// `resume` must be a context saved by `gort_swap` or built by
/// [`init_frame`] that nobody else is running or about to run, and `save`
/// must stay valid until this context is resumed.
#[inline(always)]
pub(crate) unsafe fn swap(save: *mut usize, resume: usize, m: *mut M) -> *mut M {
    // SAFETY: forwarded to the caller; gort_swap follows the C ABI for every
    // callee-saved register.
    unsafe { gort_swap(save, resume, m.cast()) }.cast()
}

/// cbindgen:ignore
#[cfg(target_arch = "x86_64")]
mod frame {
    /// Words in gort_swap's saved frame (see asm/x86_64.S).
    pub const WORDS: usize = 8;
    pub const FPCTL: usize = 0;
    pub const R12: usize = 4;
    pub const R13: usize = 3;
    pub const R14: usize = 2;
    pub const R15: usize = 1;
    pub const RBX: usize = 5;
    pub const RBP: usize = 6;
    pub const RET: usize = 7;
    /// MXCSR 0x1F80 (all exceptions masked, round to nearest) and x87 control
    /// word 0x037F (the same for x87, extended precision): a new thread's state.
    pub const FPCTL_DEFAULT: usize = 0x1F80 | (0x037F << 32);
}

/// cbindgen:ignore
#[cfg(target_arch = "aarch64")]
mod frame {
    /// Words in gort_swap's saved frame (see asm/aarch64.S).
    pub const WORDS: usize = 22;
    pub const X29: usize = 0;
    pub const X30: usize = 1;
    pub const X19: usize = 2;
    pub const X20: usize = 3;
    pub const X21: usize = 4;
    pub const X22: usize = 5;
    pub const X23: usize = 6;
    pub const FPCR: usize = 20;
}

/// Builds the first frame of a goroutine below `stack_hi` and returns the
/// stack pointer to resume it with.
///
/// # Safety
/// `stack_hi` must be the 16-byte aligned top of a stack of at least a page
/// that nothing is running on.
pub(crate) unsafe fn init_frame(
    stack_hi: usize,
    fnc: unsafe extern "C" fn(*mut c_void),
    arg: *mut c_void,
    gp: *mut G,
    entry: EntryHook,
    exit: ExitHook,
) -> usize {
    use frame::*;
    // Keep a 16-byte gap under the G, then the frame; WORDS is even on both
    // arches so sp and the post-frame sp stay 16-byte aligned.
    const _: () = assert!(WORDS % 2 == 0);
    let sp = (stack_hi - 16 - WORDS * 8) & !15;
    let w = sp as *mut usize;
    // SAFETY: [sp, sp + WORDS*8) lies inside the stack, below stack_hi, and the
    // caller guarantees nothing else uses it.
    unsafe {
        for i in 0..WORDS {
            w.add(i).write(0);
        }
        #[cfg(target_arch = "x86_64")]
        {
            w.add(FPCTL).write(FPCTL_DEFAULT);
            w.add(R12).write(fnc as *const () as usize);
            w.add(R13).write(arg as usize);
            w.add(R14).write(entry as *const () as usize);
            w.add(R15).write(exit as *const () as usize);
            w.add(RBX).write(gp as usize);
            w.add(RBP).write(0);
            w.add(RET).write(gort_gostart as *const () as usize);
        }
        #[cfg(target_arch = "aarch64")]
        {
            w.add(X29).write(0);
            w.add(X30).write(gort_gostart as *const () as usize);
            w.add(X19).write(fnc as *const () as usize);
            w.add(X20).write(arg as usize);
            w.add(X21).write(gp as usize);
            w.add(X22).write(entry as *const () as usize);
            w.add(X23).write(exit as *const () as usize);
            w.add(FPCR).write(0);
        }
    }
    sp
}
