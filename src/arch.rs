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
    extern "C" {
        /// Custom convention: see asm/<arch>.S and [`super::swap`].
        pub fn gort_swap();
        pub fn gort_gostart();
        pub fn gort_frame_pointer() -> usize;
    }
}
use sys::gort_gostart;

/// Entry hook called by gort_gostart with (the M now running us, the G).
pub(crate) type EntryHook = unsafe extern "C" fn(*mut M, *mut G);
/// Exit hook called by gort_gostart after the start function returns.
pub(crate) type ExitHook = unsafe extern "C" fn() -> !;

/// Switches from the context whose sp slot is `save` to the one at
/// `resume`, handing `m` over. Returns, in the resumed-later original
/// context, the M that resumed it.
///
/// The asm preserves only the registers LLVM reserves (rbx/rbp, x19/x29);
/// the operands below declare every other register clobbered, so the
/// compiler saves what is live around this call and nothing more.
///
/// # Safety
/// `resume` must be a context saved by `gort_swap` or built by
/// [`init_frame`] that nobody else is running or about to run, and `save`
/// must stay valid until this context is resumed.
#[inline(always)]
pub(crate) unsafe fn swap(save: *mut usize, resume: usize, m: *mut M) -> *mut M {
    let ret: *mut M;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: forwarded to the caller. No `nostack`: the call pushes a return address, so the compiler keeps nothing in the red zone across it.
    unsafe {
        std::arch::asm!(
            "call {swap}",
            swap = sym sys::gort_swap,
            in("rdi") save,
            in("rsi") resume,
            inout("rdx") m => _,
            out("rax") ret,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
            clobber_abi("C"),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above; bl writes x30, declared clobbered by clobber_abi.
    unsafe {
        std::arch::asm!(
            "bl {swap}",
            swap = sym sys::gort_swap,
            inout("x0") save => ret,
            inout("x1") resume => _,
            inout("x2") m => _,
            out("x20") _, out("x21") _, out("x22") _, out("x23") _, out("x24") _,
            out("x25") _, out("x26") _, out("x27") _, out("x28") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v12") _, out("v13") _, out("v14") _, out("v15") _,
            clobber_abi("C"),
        );
    }
    ret
}

/// Words of the first frame, lowest address first: the registers gort_swap
/// pops and the return address (gort_gostart), then the four words
/// gort_gostart reads above its stack pointer.
/// cbindgen:ignore
#[cfg(target_arch = "x86_64")]
mod frame {
    pub const WORDS: usize = 8;
    pub const GP: usize = 0; // rbx
    pub const RESUME: usize = 2; // return address
    pub const FN: usize = 3;
}

/// See the x86_64 variant; layout from asm/aarch64.S.
/// cbindgen:ignore
#[cfg(target_arch = "aarch64")]
mod frame {
    pub const WORDS: usize = 8;
    pub const GP: usize = 2; // x19
    pub const RESUME: usize = 1; // x30
    pub const FN: usize = 4;
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
    // gort_gostart must start with a 16-byte aligned sp, which points at FN.
    let fn_slot = (stack_hi - 32 - 16) & !15;
    let sp = fn_slot - FN * 8;
    let w = sp as *mut usize;
    // SAFETY: [sp, sp + WORDS*8) lies inside the stack, below stack_hi, and the caller guarantees nothing else uses it.
    unsafe {
        for i in 0..WORDS {
            w.add(i).write(0);
        }
        w.add(GP).write(gp as usize);
        w.add(RESUME).write(gort_gostart as *const () as usize);
        w.add(FN).write(fnc as *const () as usize);
        w.add(FN + 1).write(arg as usize);
        w.add(FN + 2).write(entry as *const () as usize);
        w.add(FN + 3).write(exit as *const () as usize);
    }
    sp
}

/// Offset from a saved context's stack pointer to the frame record that
/// gort_swap's frame holds (saved frame pointer, then the resume address):
/// frame-pointer walks of a parked goroutine start there.
#[cfg(target_arch = "x86_64")]
pub(crate) const SAVED_FRAME_RECORD: usize = 8; // rbp at sp+8, return address at sp+16
#[cfg(target_arch = "aarch64")]
pub(crate) const SAVED_FRAME_RECORD: usize = 0; // x29 at sp+0, x30 at sp+8

/// The frame pointer of the calling function (rbp / x29): the address of
/// its frame record. Only meaningful in code built with frame pointers,
/// which gort is (.cargo/config.toml); `traceback::frame_pointers` says
/// whether that held. An out-of-line call (see asm/x86_64.S for why).
#[inline(always)]
pub(crate) fn frame_pointer() -> usize {
    // SAFETY: reads a register and returns; no memory access.
    unsafe { sys::gort_frame_pointer() }
}

/// The stack pointer of the calling function.
#[inline(always)]
pub(crate) fn stack_pointer() -> usize {
    let sp: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads a register; no memory access.
    unsafe {
        std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    unsafe {
        std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// (pc, frame pointer, stack pointer) of the interrupted code in a signal
/// handler's context.
///
/// # Safety
/// `ctx` must be the `ucontext_t` the kernel passed to an SA_SIGINFO handler.
pub(crate) unsafe fn signal_regs(ctx: *mut c_void) -> (usize, usize, usize) {
    // SAFETY: forwarded to the caller.
    let uc = unsafe { &*(ctx as *const libc::ucontext_t) };
    #[cfg(target_arch = "x86_64")]
    {
        let r = &uc.uc_mcontext.gregs;
        (r[libc::REG_RIP as usize] as usize, r[libc::REG_RBP as usize] as usize, r[libc::REG_RSP as usize] as usize)
    }
    #[cfg(target_arch = "aarch64")]
    {
        let m = &uc.uc_mcontext;
        (m.pc as usize, m.regs[29] as usize, m.sp as usize)
    }
}
