//! Stack overflow reporting (Go's sigpanic for stack faults, minus the
//! growable stacks).
//!
//! A SIGSEGV handler, run on a per-M alternate signal stack (the faulting
//! stack is unusable by definition), looks the fault address up in the
//! stack slabs. A hit in a guard page prints one line naming the goroutine,
//! its stack size and the knob to raise, then aborts. Any other fault goes
//! to the handler the host had installed before gort, or to the default
//! action, exactly as if gort were not there.

use crate::g::{gref, G};
use crate::os::{fmt_i64, write_stderr};
use std::sync::OnceLock;

struct OldAction(libc::sigaction);
// SAFETY: plain data copied out of the kernel; only read after being set once.
unsafe impl Sync for OldAction {}
// SAFETY: as above.
unsafe impl Send for OldAction {}

static OLD_SEGV: OnceLock<OldAction> = OnceLock::new();
/// Whether gort owns SIGQUIT (the host had not installed a handler).
static QUIT_INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Size of each M's alternate signal stack.
const ALTSTACK: usize = 64 << 10;

/// Go's initsig: installs the SIGSEGV handler once per process.
pub(crate) fn initsig() {
    // SAFETY: sigaction structs are plain data; the handler is async-signal-safe (it only reads atomics and calls write/abort/sigaction).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = sigsegv as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGSEGV, &sa, &mut old) == 0 {
            let _ = OLD_SEGV.set(OldAction(old));
        }
        // SIGQUIT dumps every goroutine and exits 2, as in Go, unless the
        // host installed its own handler (or ignores it) before init.
        let mut cur: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGQUIT, std::ptr::null(), &mut cur) == 0
            && (cur.sa_sigaction == libc::SIG_DFL || cur.sa_sigaction == sigquit as *const () as usize)
        {
            let mut q: libc::sigaction = std::mem::zeroed();
            q.sa_sigaction = sigquit as *const () as usize;
            q.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
            libc::sigfillset(&mut q.sa_mask);
            if libc::sigaction(libc::SIGQUIT, &q, std::ptr::null_mut()) == 0 {
                QUIT_INSTALLED.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// Go's SIGQUIT: "SIGQUIT: quit", every goroutine (unless
/// GORT_TRACEBACK=none), exit status 2 (abort at GORT_TRACEBACK=crash).
extern "C" fn sigquit(_sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // Several threads may get SIGQUIT at once (kill -QUIT to the group, or
    // a terminal's ^\): one prints, the others wait to be ended with it.
    static ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if ONCE.swap(true, std::sync::atomic::Ordering::AcqRel) {
        loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        }
    }
    // SAFETY: the kernel passes a ucontext_t to SA_SIGINFO handlers.
    let (pc, fp, sp) = unsafe { crate::arch::signal_regs(ctx) };
    let mut b = [0u8; 18];
    write_stderr(&["SIGQUIT: quit\nPC=", fmt_hex(pc, &mut b), "\n"]);
    let cur = interrupted(pc, fp, sp);
    if crate::traceback::level() != crate::traceback::LEVEL_NONE {
        write_stderr(&["\n"]);
        crate::traceback::dump(2, cur.as_ref(), true, true);
    }
    crate::traceback::exit_fatal(true)
}

/// The goroutine a signal interrupted on this thread, if it was running
/// on its own stack, with the interrupted registers as its first frame.
fn interrupted(pc: usize, fp: usize, sp: usize) -> Option<crate::traceback::Current> {
    let gp = crate::m::getg();
    if gp.is_null() {
        return None;
    }
    // SAFETY: the goroutine running on this thread.
    let g = unsafe { gref(gp) };
    if sp < g.stack_lo || sp >= g.stack_hi {
        return None;
    }
    Some(crate::traceback::Current { gp, pc: Some(pc), fp, state: "running" })
}

/// abort() with SIGABRT's default action restored, so that it dumps core
/// even if the host catches SIGABRT.
pub(crate) fn abort_for_core() -> ! {
    // SAFETY: restoring a default disposition and aborting.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGABRT, &dfl, std::ptr::null_mut());
        libc::abort()
    }
}

/// Go's minitSignalStack: gives the calling thread an alternate signal stack
/// unless it already has one (a host thread may).
pub(crate) fn minit() {
    // SAFETY: querying the calling thread's sigaltstack into a local.
    let has = unsafe {
        let mut cur: libc::stack_t = std::mem::zeroed();
        libc::sigaltstack(std::ptr::null(), &mut cur) == 0 && cur.ss_flags & libc::SS_DISABLE == 0
    };
    if has {
        return;
    }
    // From the heap, not a mapping of its own: one mapping fewer per M. Ms
    // never exit, so it is never freed.
    let mem: &'static mut [u8] = Box::leak(vec![0u8; ALTSTACK].into_boxed_slice());
    let st = libc::stack_t { ss_sp: mem.as_mut_ptr().cast(), ss_flags: 0, ss_size: ALTSTACK };
    // SAFETY: st describes ALTSTACK bytes owned by this thread for the process lifetime.
    unsafe { libc::sigaltstack(&st, std::ptr::null_mut()) };
}

extern "C" fn sigsegv(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(sa) = crate::stack::try_stacks() {
        if let Some(gp) = sa.guard_owner(addr) {
            // SAFETY: the kernel passes a ucontext_t to SA_SIGINFO handlers.
            let (pc, fp, _) = unsafe { crate::arch::signal_regs(ctx) };
            // The faulting sp is below the stack: the walk starts at fp.
            let cur = crate::traceback::Current { gp, pc: Some(pc), fp, state: "running" };
            // SAFETY: guard_owner returns the descriptor at the top of a carved unit.
            report_overflow(unsafe { gref(gp) }, addr, Some(&cur));
        }
    }
    // Not ours: behave as if gort had never installed a handler.
    // SAFETY: re-installing or calling the previous disposition the host chose.
    unsafe {
        match OLD_SEGV.get() {
            Some(OldAction(old)) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
                if old.sa_flags & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(old.sa_sigaction);
                    f(sig, info, ctx);
                } else {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(old.sa_sigaction);
                    f(sig);
                }
            }
            _ => {
                // Returning re-executes the faulting instruction, which now
                // takes the default action (core dump) with the real state.
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGSEGV, &dfl, std::ptr::null_mut());
            }
        }
    }
}

/// Prints the overflow line for gp and aborts. `addr` is the faulting
/// address, 0 when a canary was found overwritten. Async-signal-safe.
pub(crate) fn report_overflow(gp: &G, addr: usize, cur: Option<&crate::traceback::Current>) -> ! {
    let mut b1 = [0u8; 24];
    let mut b2 = [0u8; 24];
    let mut hex = [0u8; 18];
    let goid = fmt_i64(gp.goid.get(), &mut b1);
    let size = fmt_i64((gp.stack_hi - gp.stack_lo) as i64, &mut b2);
    let how: &[&str] = if addr != 0 {
        &[" bytes, guard page hit at ", fmt_hex(addr, &mut hex), ")"]
    } else {
        &[" bytes, stack canary overwritten)"]
    };
    write_stderr(&["gort: fatal error: stack overflow in goroutine ", goid, " (stack ", size]);
    write_stderr(how);
    if gp.sclass == 0 {
        write_stderr(&["; raise GORT_STACKSIZE, e.g. GORT_STACKSIZE=1m\n"]);
    } else {
        write_stderr(&["; raise the stack_size it was started with (gort_go_ex)\n"]);
    }
    crate::traceback::fatal_dump(cur, false);
    abort_for_core()
}

fn fmt_hex(v: usize, buf: &mut [u8; 18]) -> &str {
    buf[0] = b'0';
    buf[1] = b'x';
    for i in 0..16 {
        let d = (v >> ((15 - i) * 4)) & 0xf;
        buf[2 + i] = b"0123456789abcdef"[d];
    }
    std::str::from_utf8(&buf[..]).unwrap_or("?")
}
