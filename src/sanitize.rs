//! AddressSanitizer, ThreadSanitizer and Valgrind, taught about goroutines.
//!
//! gort is built once, without sanitizers; the C program around it may be
//! built with `-fsanitize=address` or `-fsanitize=thread`, or run under
//! Valgrind. At init ([`init`]) we look for each tool's run-time interface
//! in the process (`dlsym(RTLD_DEFAULT, ...)`: the sanitizer runtimes
//! export it from the executable or their shared library) and ask Valgrind
//! whether it is there (the `RUNNING_ON_VALGRIND` client request). When none
//! is found every hook below is one load and one never-taken branch on a
//! global flag, and the flags never change after init.
//!
//! What each tool needs to know, and why:
//!
//! * **ASan** keeps the current thread's stack bounds for its reports, for
//!   `__asan_handle_no_return` (which unpoisons "the rest of the stack"
//!   before `exit`, `longjmp`, a C++ throw) and for its fake stacks
//!   (use-after-return detection). Every switch is therefore bracketed by
//!   `__sanitizer_start_switch_fiber` (the destination's bounds; a place to
//!   park the leaving context's fake stack, NULL when it will never resume)
//!   and `__sanitizer_finish_switch_fiber` in the context that arrives. The
//!   redzones an instrumented C frame poisons are unpoisoned when it
//!   returns; a goroutine that ended by `gort_goexit` from deep inside
//!   leaves them behind, so a dead goroutine's stack is unpoisoned when it
//!   goes to a free list (`__asan_unpoison_memory_region` in `gfput`).
//!   LeakSanitizer does not scan memory we mapped ourselves, so each
//!   goroutine's stack unit (its frames and its G, which holds the start
//!   argument) is a root region
//!   (`__lsan_register_root_region`): a block referenced only by a parked
//!   goroutine is not a leak.
//! * **TSan** attributes memory accesses to the running thread; with
//!   goroutines it must attribute them to the goroutine: one TSan fiber per
//!   goroutine (`__tsan_create_fiber` when a G starts a goroutine,
//!   `__tsan_destroy_fiber` when it ends: TSan, like Go's race detector,
//!   allows 8128 live threads and fibers), `__tsan_switch_to_fiber(fiber, 0)` before every switch
//!   (flag 0: the switch itself orders the two contexts on that thread).
//!   gort's own code is not instrumented, so TSan sees none of the atomics
//!   that order goroutines on different threads: every synchronising
//!   operation adds the happens-before edge itself, `__tsan_release(addr)`
//!   on the releasing side and `__tsan_acquire(addr)` on the acquiring one
//!   (Go's racerelease/raceacquire in chan.go, sema.go and package sync).
//!   A dying goroutine releases its G and the next goroutine on that G
//!   acquires it: the new incarnation's stack accesses follow the old
//!   one's (Go resets the shadow of a reused stack instead; C has no
//!   public call for that).
//! * **Valgrind** (memcheck) tells a stack switch from a big stack frame by
//!   the registered stacks: a move of the stack pointer between two
//!   registered stacks is a switch, anything else within 2 MB is taken as
//!   frames being pushed or popped, and goroutine stacks sit next to each
//!   other in their slabs. So every goroutine stack and every M stack is
//!   registered once (`VALGRIND_STACK_REGISTER`), when it is first used;
//!   they are never freed, so never deregistered. Nothing happens per
//!   switch. valgrind.h cannot be included from Rust: [`valgrind_request`]
//!   emits its client-request sequence with inline asm.

use crate::g::{gref, G, GDEAD};
use crate::m::M;
use std::cell::Cell;
use std::ffi::{c_char, c_uint, c_void, CStr};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// ASan or TSan is present: switches go through the hooks.
static SWITCH_ON: AtomicBool = AtomicBool::new(false);
/// TSan is present: synchronising operations add happens-before edges.
static TSAN_ON: AtomicBool = AtomicBool::new(false);
/// Any tool is present: new goroutines and new Ms are announced.
static ANY_ON: AtomicBool = AtomicBool::new(false);

static HOOKS: OnceLock<Hooks> = OnceLock::new();

#[derive(Default)]
struct Hooks {
    asan: Option<Asan>,
    tsan: Option<Tsan>,
    valgrind: bool,
}

/// AddressSanitizer's fiber interface (sanitizer/common_interface_defs.h,
/// sanitizer/asan_interface.h, sanitizer/lsan_interface.h).
struct Asan {
    start_switch_fiber: unsafe extern "C" fn(*mut *mut c_void, *const c_void, usize),
    finish_switch_fiber: unsafe extern "C" fn(*mut c_void, *mut *const c_void, *mut usize),
    unpoison_memory_region: unsafe extern "C" fn(*const c_void, usize),
    /// Absent when ASan runs without LeakSanitizer.
    lsan_register_root_region: Option<unsafe extern "C" fn(*const c_void, usize)>,
}

/// ThreadSanitizer's fiber and annotation interface
/// (sanitizer/tsan_interface.h).
struct Tsan {
    get_current_fiber: unsafe extern "C" fn() -> *mut c_void,
    create_fiber: unsafe extern "C" fn(c_uint) -> *mut c_void,
    switch_to_fiber: unsafe extern "C" fn(*mut c_void, c_uint),
    destroy_fiber: unsafe extern "C" fn(*mut c_void),
    set_fiber_name: unsafe extern "C" fn(*mut c_void, *const c_char),
    acquire: unsafe extern "C" fn(*mut c_void),
    release: unsafe extern "C" fn(*mut c_void),
}

/// Per-G state: the G's TSan fiber (null until its first `newg` under TSan).
pub(crate) struct GSan {
    tsan_fiber: Cell<*mut c_void>,
}

impl GSan {
    pub(crate) const fn new() -> GSan {
        GSan { tsan_fiber: Cell::new(null_mut()) }
    }
}

/// Per-M state, for switches to and from its g0 (the thread's own stack).
pub(crate) struct MSan {
    /// The thread's stack, [lo, lo + size), recorded by `minit`.
    g0_lo: Cell<usize>,
    g0_size: Cell<usize>,
    /// g0's ASan fake stack while a goroutine runs on this M.
    g0_fake_stack: Cell<*mut c_void>,
    /// The thread's own TSan fiber.
    g0_tsan_fiber: Cell<*mut c_void>,
}

impl MSan {
    pub(crate) const fn new() -> MSan {
        MSan {
            g0_lo: Cell::new(0),
            g0_size: Cell::new(0),
            g0_fake_stack: Cell::new(null_mut()),
            g0_tsan_fiber: Cell::new(null_mut()),
        }
    }
}

/// `dlsym(RTLD_DEFAULT, name)` as a function pointer of type `F`.
///
/// # Safety
/// `F` must be an `extern "C" fn` type matching the symbol's C prototype.
unsafe fn sym<F: Copy>(name: &CStr) -> Option<F> {
    // SAFETY: dlsym only reads the NUL-terminated name.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if p.is_null() {
        return None;
    }
    debug_assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: p is the address of that function; the caller vouches for F.
    Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
}

/// Resolves the tools' interfaces once, before any M or G exists
/// (`schedinit`). Idempotent.
pub(crate) fn init() {
    let h = HOOKS.get_or_init(|| {
        // SAFETY: each type below is the symbol's C prototype.
        let asan = unsafe {
            (|| {
                Some(Asan {
                    start_switch_fiber: sym(c"__sanitizer_start_switch_fiber")?,
                    finish_switch_fiber: sym(c"__sanitizer_finish_switch_fiber")?,
                    unpoison_memory_region: sym(c"__asan_unpoison_memory_region")?,
                    lsan_register_root_region: sym(c"__lsan_register_root_region"),
                })
            })()
        };
        // SAFETY: as above.
        let tsan = unsafe {
            (|| {
                Some(Tsan {
                    get_current_fiber: sym(c"__tsan_get_current_fiber")?,
                    create_fiber: sym(c"__tsan_create_fiber")?,
                    switch_to_fiber: sym(c"__tsan_switch_to_fiber")?,
                    destroy_fiber: sym(c"__tsan_destroy_fiber")?,
                    set_fiber_name: sym(c"__tsan_set_fiber_name")?,
                    acquire: sym(c"__tsan_acquire")?,
                    release: sym(c"__tsan_release")?,
                })
            })()
        };
        Hooks { asan, tsan, valgrind: running_on_valgrind() }
    });
    SWITCH_ON.store(h.asan.is_some() || h.tsan.is_some(), Ordering::Relaxed);
    TSAN_ON.store(h.tsan.is_some(), Ordering::Relaxed);
    ANY_ON.store(h.asan.is_some() || h.tsan.is_some() || h.valgrind, Ordering::Relaxed);
}

fn hooks() -> &'static Hooks {
    // The flags are set only after HOOKS, so a hook that saw one finds it.
    HOOKS.get().unwrap_or_else(|| crate::panic::throw("sanitize: hook called before init"))
}

/// Whether switches must go through [`switch_start`] and [`switch_finish`].
#[inline(always)]
pub(crate) fn switch_hooks() -> bool {
    SWITCH_ON.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// Switches

/// Bounds of the context `target` (a G, or null for mp's g0): (lo, size).
fn bounds(mp: &M, target: *mut G) -> (usize, usize) {
    if target.is_null() {
        (mp.san.g0_lo.get(), mp.san.g0_size.get())
    } else {
        // SAFETY: stack bounds are stable for a G's lifetime.
        let g = unsafe { gref(target) };
        (g.stack_lo, g.stack_hi - g.stack_lo)
    }
}

fn tsan_fiber(mp: &M, target: *mut G) -> *mut c_void {
    if target.is_null() {
        mp.san.g0_tsan_fiber.get()
    } else {
        // SAFETY: the switcher owns target (execute made it current).
        unsafe { gref(target) }.san.tsan_fiber.get()
    }
}

/// Before goroutine gp (running on mp) switches to mp's current G, or to
/// mp's g0 when there is none. Returns the value to hand to
/// [`switch_finish`] when gp resumes: its ASan fake stack.
#[inline(never)]
pub(crate) fn switch_start(mp: &M, gp: *mut G) -> *mut c_void {
    let h = hooks();
    let target = mp.curg();
    // SAFETY: gp is the running goroutine of mp.
    let dying = unsafe { gref(gp) }.status.load(Ordering::Relaxed) == GDEAD;
    if let Some(t) = &h.tsan {
        // SAFETY: TSan's documented calls; fibers were created by newg/minit.
        unsafe {
            if dying {
                // Paired with the acquire in goentry of the G's next life.
                (t.release)(gp.cast());
            }
            (t.switch_to_fiber)(tsan_fiber(mp, target), 0);
            if dying {
                // Go's racegoend. TSan counts live fibers as threads (at
                // most 8128), so a dead goroutine's fiber goes now, not
                // when its G is reused; newg makes the next one. It is no
                // longer current, which destroy requires.
                let g = gref(gp);
                (t.destroy_fiber)(g.san.tsan_fiber.replace(null_mut()));
            }
        }
    }
    let mut fake: *mut c_void = null_mut();
    if let Some(a) = &h.asan {
        let (lo, size) = bounds(mp, target);
        // A goroutine that will never resume passes no save slot: ASan then
        // frees its fake stack.
        let save: *mut *mut c_void = if dying { null_mut() } else { &mut fake };
        // SAFETY: [lo, lo + size) is the destination's stack; save is null or a local.
        unsafe { (a.start_switch_fiber)(save, lo as *const c_void, size) };
    }
    fake
}

/// First thing in a goroutine that resumes after a switch: `fake` is what
/// its [`switch_start`] returned.
#[inline(never)]
pub(crate) fn switch_finish(fake: *mut c_void) {
    if let Some(a) = &hooks().asan {
        // SAFETY: a switch was started on this thread by whoever switched to us.
        unsafe { (a.finish_switch_fiber)(fake, null_mut(), null_mut()) };
    }
}

/// gogo: g0 of mp is about to switch to gp.
#[inline(always)]
pub(crate) fn gogo_start(mp: &M, gp: *mut G) {
    if switch_hooks() {
        gogo_start_slow(mp, gp);
    }
}

#[inline(never)]
fn gogo_start_slow(mp: &M, gp: *mut G) {
    let h = hooks();
    if let Some(t) = &h.tsan {
        // SAFETY: gp's fiber was created by newg.
        unsafe { (t.switch_to_fiber)(tsan_fiber(mp, gp), 0) };
    }
    if let Some(a) = &h.asan {
        let (lo, size) = bounds(mp, gp);
        // SAFETY: gp's stack bounds; the save slot lives in mp, which outlives g0's suspension.
        unsafe { (a.start_switch_fiber)(mp.san.g0_fake_stack.as_ptr(), lo as *const c_void, size) };
    }
}

/// gogo: g0 of mp resumes.
#[inline(always)]
pub(crate) fn gogo_finish(mp: &M) {
    if switch_hooks() {
        switch_finish(mp.san.g0_fake_stack.get());
    }
}

/// First thing a new goroutine gp runs (goentry): finish the switch that
/// started it, and take the happens-before edge of its `gort_go`.
#[inline(always)]
pub(crate) fn goentry(gp: *mut G) {
    if switch_hooks() {
        goentry_slow(gp);
    }
}

#[inline(never)]
fn goentry_slow(gp: *mut G) {
    let h = hooks();
    if let Some(a) = &h.asan {
        // SAFETY: the switch into this new goroutine was started; it has no fake stack yet.
        unsafe { (a.finish_switch_fiber)(null_mut(), null_mut(), null_mut()) };
    }
    if let Some(t) = &h.tsan {
        // SAFETY: gp is a valid address; released by newg (the spawner) and by the G's previous life.
        unsafe { (t.acquire)(gp.cast()) };
    }
}

// ---------------------------------------------------------------------------
// New goroutines and threads

/// newproc1, in the spawner's context, before gp (fresh: GIDLE, or reused:
/// GDEAD) is set up to run goroutine `goid`.
#[inline(always)]
pub(crate) fn newg(gp: *mut G, goid: i64) {
    if ANY_ON.load(Ordering::Relaxed) {
        newg_slow(gp, goid);
    }
}

#[inline(never)]
fn newg_slow(gp: *mut G, goid: i64) {
    let h = hooks();
    // SAFETY: the caller owns gp (just allocated or taken from a free list).
    let g = unsafe { gref(gp) };
    let fresh = g.status.load(Ordering::Relaxed) != GDEAD;
    let size = g.stack_hi - g.stack_lo;
    if fresh && h.valgrind {
        // Valgrind's end is the highest addressable byte.
        valgrind_request(VG_USERREQ_STACK_REGISTER, [g.stack_lo, g.stack_hi - 1, 0, 0, 0]);
    }
    if let Some(reg) = h.asan.as_ref().and_then(|a| a.lsan_register_root_region) {
        if fresh {
            // SAFETY: the unit (stack and G) is mapped for the process's life.
            unsafe { reg(g.stack_lo as *const c_void, size + std::mem::size_of::<G>()) };
        }
    }
    if let Some(t) = &h.tsan {
        // SAFETY: TSan's documented calls; the name is copied by TSan.
        unsafe {
            if g.san.tsan_fiber.get().is_null() {
                g.san.tsan_fiber.set((t.create_fiber)(0));
            }
            // "goroutine <goid>", NUL-terminated.
            let mut buf = [0u8; 40];
            let mut digits = [0u8; 24];
            let id = crate::os::fmt_i64(goid, &mut digits).as_bytes();
            buf[..10].copy_from_slice(b"goroutine ");
            buf[10..10 + id.len()].copy_from_slice(id);
            (t.set_fiber_name)(g.san.tsan_fiber.get(), buf.as_ptr().cast());
            // Go's racegostart: what the spawner did so far happens before
            // the goroutine starts (acquired in goentry).
            (t.release)(gp.cast());
        }
    }
}

/// gfput: gp is dead and its stack goes to a free list. Its instrumented
/// frames may not all have returned (`gort_goexit` from deep down), leaving
/// their redzones poisoned; the runtime writes into dead stacks (gfree's
/// batches) and the next goroutine's uninstrumented frames land there, and
/// ASan's interceptors (memcpy, clock_gettime, ...) would report those.
#[inline(always)]
pub(crate) fn gfput(gp: *mut G) {
    if SWITCH_ON.load(Ordering::Relaxed) {
        gfput_slow(gp);
    }
}

#[inline(never)]
fn gfput_slow(gp: *mut G) {
    if let Some(a) = &hooks().asan {
        // SAFETY: stack bounds are stable; the dead stack is the free list's, and unpoisoning only rewrites shadow memory.
        let g = unsafe { gref(gp) };
        // SAFETY: as above.
        unsafe { (a.unpoison_memory_region)(g.stack_lo as *const c_void, g.stack_hi - g.stack_lo) };
    }
}

/// minit, on the new M's thread: record its stack (g0) and TSan fiber.
/// `m_stack` is the size gort asks for an M thread's stack.
pub(crate) fn minit(mp: &M, m_stack: usize) {
    if !ANY_ON.load(Ordering::Relaxed) {
        return;
    }
    let h = hooks();
    let (mut lo, mut size) = thread_stack_bounds();
    // A thread gort started has (at most) the stack it asked for, below the
    // top that pthread_getattr_np reports; the main thread keeps the
    // reported range.
    let want = thread_stack_size(m_stack);
    // SAFETY: getpid has no preconditions.
    if crate::os::gettid() != i64::from(unsafe { libc::getpid() }) && size > want {
        lo += size - want;
        size = want;
    }
    mp.san.g0_lo.set(lo);
    mp.san.g0_size.set(size);
    if h.valgrind && size != 0 {
        valgrind_request(VG_USERREQ_STACK_REGISTER, [lo, lo + size - 1, 0, 0, 0]);
    }
    if let Some(t) = &h.tsan {
        // SAFETY: returns the calling thread's own fiber.
        mp.san.g0_tsan_fiber.set(unsafe { (t.get_current_fiber)() });
    }
}

/// The stack size to ask for a new thread of `size` bytes. glibc places a
/// thread's static TLS on its stack, and a sanitizer runtime's is large
/// (TSan's ~900 KiB: pthread_create fails with EINVAL on gort's 256 KiB M
/// stacks), so under ASan or TSan threads get 4 MiB more, from glibc
/// (`stack::thread_stack` carves only up to 256 KiB).
pub(crate) fn thread_stack_size(size: usize) -> usize {
    if switch_hooks() {
        size + (4 << 20)
    } else {
        size
    }
}

/// Whether new threads must take their stacks from glibc rather than from
/// gort's slot mapping (`stack::thread_stack`): under a tool. Valgrind
/// registers a new thread's stack itself as the whole mapping around its
/// stack pointer, and gort's slot mapping merges with the goroutine slab
/// next to it, so that registration covered goroutine stacks, and
/// Valgrind, which picks the newest registered stack containing the stack
/// pointer, took switches into them for moves within the M's stack. A
/// glibc stack ends in a PROT_NONE guard page, a mapping of its own.
pub(crate) fn glibc_thread_stacks() -> bool {
    ANY_ON.load(Ordering::Relaxed)
}

/// The calling thread's stack as (lowest address, size), or (0, 0).
fn thread_stack_bounds() -> (usize, usize) {
    // SAFETY: attr is filled by pthread_getattr_np before it is read and destroyed once.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return (0, 0);
        }
        let mut addr: *mut c_void = null_mut();
        let mut size: usize = 0;
        let r = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if r != 0 {
            return (0, 0);
        }
        (addr as usize, size)
    }
}

// ---------------------------------------------------------------------------
// Happens-before edges (TSan)

/// `__tsan_release(addr)` when TSan is present: what the calling goroutine
/// or thread did so far happens before whatever follows a
/// [`tsan_acquire`] of the same address.
#[inline(always)]
pub(crate) fn tsan_release<T>(addr: *const T) {
    if TSAN_ON.load(Ordering::Relaxed) {
        tsan_release_slow(addr.cast());
    }
}

/// `__tsan_acquire(addr)` when TSan is present.
#[inline(always)]
pub(crate) fn tsan_acquire<T>(addr: *const T) {
    if TSAN_ON.load(Ordering::Relaxed) {
        tsan_acquire_slow(addr.cast());
    }
}

/// [`tsan_release`] of every non-null address (a select's channels).
#[inline(always)]
pub(crate) fn tsan_release_each<T>(addrs: impl Iterator<Item = *mut T>) {
    if TSAN_ON.load(Ordering::Relaxed) {
        for a in addrs.filter(|a| !a.is_null()) {
            tsan_release_slow(a.cast());
        }
    }
}

/// Whether TSan is present.
#[inline(always)]
pub(crate) fn tsan_on() -> bool {
    TSAN_ON.load(Ordering::Relaxed)
}

#[cold]
#[inline(never)]
fn tsan_release_slow(addr: *const c_void) {
    if let Some(t) = &hooks().tsan {
        // SAFETY: TSan only uses the address as a key.
        unsafe { (t.release)(addr as *mut c_void) };
    }
}

#[cold]
#[inline(never)]
fn tsan_acquire_slow(addr: *const c_void) {
    if let Some(t) = &hooks().tsan {
        // SAFETY: as above.
        unsafe { (t.acquire)(addr as *mut c_void) };
    }
}

// ---------------------------------------------------------------------------
// Valgrind client requests

/// valgrind.h's request codes.
const VG_USERREQ_RUNNING_ON_VALGRIND: usize = 0x1001;
const VG_USERREQ_STACK_REGISTER: usize = 0x1501;

fn running_on_valgrind() -> bool {
    valgrind_request(VG_USERREQ_RUNNING_ON_VALGRIND, [0; 5]) != 0
}

/// valgrind.h's VALGRIND_DO_CLIENT_REQUEST_EXPR with default 0: the
/// "special instruction preamble" (rotations of a register by a total of
/// 128 or 64 bits: no effect on a real CPU) followed by the marker
/// instruction, which Valgrind's JIT recognises as "perform the request
/// whose arguments are at [rax]/[x4] and return the result in rdx/x3". On
/// a real CPU the result register keeps the default, 0.
fn valgrind_request(request: usize, args: [usize; 5]) -> usize {
    let block = [request, args[0], args[1], args[2], args[3], args[4]];
    #[allow(unused_mut)]
    let mut result: usize = 0;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the rotations leave rdi unchanged and xchg rbx,rbx is a no-op; Valgrind reads `block` (hence no `nomem`).
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") result,
            in("rax") block.as_ptr(),
            out("rdi") _,
            options(nostack),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: the rotations leave x12 unchanged and orr x10,x10,x10 is a no-op; Valgrind reads `block`.
    unsafe {
        std::arch::asm!(
            "ror x12, x12, #3",
            "ror x12, x12, #13",
            "ror x12, x12, #51",
            "ror x12, x12, #61",
            "orr x10, x10, x10",
            inout("x3") result,
            in("x4") block.as_ptr(),
            out("x12") _,
            options(nostack, preserves_flags),
        );
    }
    let _ = &block;
    result
}
