//! Goroutine dumps (Go's traceback.go and GOTRACEBACK).
//!
//! A dump lists every goroutine in Go's shape:
//!
//! ```text
//! (each frame's second line starts with a tab in the real output)
//! goroutine 7 "worker-3" [chan receive, 2 minutes]:
//! gort_chan_recv(...)
//!     /usr/lib/libgort.so.0+0x1f2e3
//! worker(...)
//!     /home/me/server+0x1a2b
//! created by start_workers in goroutine 1
//!     /home/me/server+0x1c40
//! ```
//!
//! Stacks are walked through frame records (saved frame pointer, return
//! address), which gort's own code always has (built with frame pointers)
//! and C code has when compiled with `-fno-omit-frame-pointer`: without it
//! a goroutine's trace ends at the first function of the program (the one
//! that called into gort), which is still the frame one needs most. The
//! runtime's own frames above the `gort_*` call a goroutine is blocked in
//! are left out, as Go leaves out runtime frames. The address under each
//! frame is what `addr2line -f -e <object>` turns into file and line.
//!
//! A parked or runnable goroutine's frames start at its saved context; one
//! in a blocking call (`gort_entersyscall`) at the frame that made the call;
//! the calling goroutine's at the dump call; one running C code elsewhere
//! cannot be walked without stopping it ("stack unavailable", as in Go).
//! The dump reads other goroutines without stopping them: a goroutine that
//! moves meanwhile may show a stale or cut trace (each frame is checked to
//! lie inside its stack, so a walk never leaves it), as in Go's crash
//! dumps. Everything here is async-signal-safe: no malloc, no stdio.

use crate::g::{WaitReason, G, GDEAD, GIDLE, GRUNNABLE, GRUNNING, GWAITING, NAME_MAX};
use crate::symtab::{lookup, Sym};
use std::cell::UnsafeCell;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// GORT_TRACEBACK levels (Go's GOTRACEBACK): what fatal errors and SIGQUIT
/// print.
pub(crate) const LEVEL_NONE: u8 = 0;
/// The failing goroutine only (fatal errors); every goroutine on SIGQUIT
/// and deadlock, as in Go.
pub(crate) const LEVEL_SINGLE: u8 = 1;
pub(crate) const LEVEL_ALL: u8 = 2;
/// LEVEL_ALL, then abort() for a core dump instead of exiting.
pub(crate) const LEVEL_CRASH: u8 = 3;

static LEVEL: AtomicU8 = AtomicU8::new(LEVEL_SINGLE);

pub(crate) fn set_level(l: u8) {
    LEVEL.store(l, Ordering::Relaxed);
}

pub(crate) fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Most frames printed per goroutine (Go prints 100, then "...").
const MAX_FRAMES: usize = 64;

/// A buffered writer to a file descriptor with write(2) only.
pub(crate) struct Out {
    fd: c_int,
    buf: [u8; 1024],
    len: usize,
    /// The first write error (negative errno); later output is dropped.
    pub err: c_int,
}

impl Out {
    pub(crate) fn new(fd: c_int) -> Out {
        Out { fd, buf: [0; 1024], len: 0, err: 0 }
    }

    pub(crate) fn put(&mut self, mut s: &[u8]) {
        while !s.is_empty() {
            if self.len == self.buf.len() {
                self.flush();
            }
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
            self.len += n;
            s = &s[n..];
        }
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.put(s.as_bytes());
    }

    pub(crate) fn dec(&mut self, v: i64) {
        let mut b = [0u8; 24];
        self.str(crate::os::fmt_i64(v, &mut b));
    }

    pub(crate) fn hex(&mut self, v: usize) {
        let mut b = [0u8; 18];
        let mut i = b.len();
        let mut u = v;
        loop {
            i -= 1;
            b[i] = b"0123456789abcdef"[u & 0xf];
            u >>= 4;
            if u == 0 {
                break;
            }
        }
        i -= 2;
        b[i] = b'0';
        b[i + 1] = b'x';
        self.put(&b[i..]);
    }

    pub(crate) fn flush(&mut self) {
        let mut b = &self.buf[..self.len];
        while !b.is_empty() && self.err == 0 {
            // SAFETY: b points to b.len() initialised bytes.
            let n = unsafe { libc::write(self.fd, b.as_ptr().cast(), b.len()) };
            if n < 0 {
                let e = crate::os::errno();
                if e != libc::EINTR {
                    self.err = -e;
                }
                continue;
            }
            b = &b[n as usize..];
        }
        self.len = 0;
    }
}

/// One dump at a time: the symbol cache below is shared. A signal handler
/// that finds a dump running on another thread waits a little, then goes
/// on without the cache.
static DUMPING: AtomicBool = AtomicBool::new(false);

struct Cached {
    pc: usize,
    object: &'static [u8],
    addr: usize,
    name: &'static [u8],
}

/// pc -> symbol, direct-mapped: a dump of a million goroutines blocked at
/// the same few call sites resolves each site once.
struct Cache(UnsafeCell<[Cached; 512]>);
// SAFETY: touched only by the holder of DUMPING.
unsafe impl Sync for Cache {}
static CACHE: Cache = Cache(UnsafeCell::new([const { Cached { pc: 0, object: b"", addr: 0, name: b"" } }; 512]));

struct Dumper {
    out: Out,
    cached: bool,
}

impl Dumper {
    fn sym(&mut self, pc: usize) -> Option<(&'static [u8], usize, &'static [u8])> {
        if self.cached {
            // SAFETY: we hold DUMPING (cached is set only then).
            let c = unsafe { &mut *CACHE.0.get() };
            let e = &mut c[(pc >> 2) % 512];
            if e.pc != pc {
                let Sym { object, addr, name, .. } = lookup(pc)?;
                *e = Cached { pc, object, addr, name };
            }
            return Some((e.object, e.addr, e.name));
        }
        lookup(pc).map(|s| (s.object, s.addr, s.name))
    }

    /// `name(...)` and the object+address line for the call at `pc`.
    fn frame(&mut self, pc: usize) {
        match self.sym(pc) {
            Some((object, addr, name)) => {
                self.out.put(if name.is_empty() { b"?" } else { name });
                self.out.str("(...)\n\t");
                self.out.put(object);
                self.out.str("+");
                self.out.hex(addr);
                self.out.str("\n");
            }
            None => {
                self.out.str("?(...)\n\t?+");
                self.out.hex(pc);
                self.out.str("\n");
            }
        }
    }

    /// The runtime's own functions (Rust, mangled as crate `gort`, and the
    /// switch's asm): hidden from traces, as Go hides runtime frames. The
    /// exported `gort_*` calls are shown: they say what a goroutine waits in.
    fn is_internal(&mut self, pc: usize) -> bool {
        match self.sym(pc) {
            Some((_, _, name)) => {
                name.starts_with(b"_ZN4gort")
                    || (name.starts_with(b"_R") && name.windows(5).any(|w| w == b"4gort"))
                    || name == b"gort_swap"
                    || name == b"gort_gostart"
            }
            None => false,
        }
    }

    /// Prints the frames of `pcs` (innermost first) but the runtime's own.
    /// A pc that resolves to nothing ends the trace: without frame
    /// pointers in the program's code the chain goes astray there.
    fn frames(&mut self, pcs: &[usize], elided: bool) {
        for (i, &pc) in pcs.iter().enumerate() {
            if i > 0 && self.sym(pc).is_none() {
                return;
            }
            if !self.is_internal(pc) {
                self.frame(pc);
            }
        }
        if elided {
            self.out.str("...additional frames elided...\n");
        }
    }

    fn header(&mut self, g: &G, state: Option<&str>) {
        self.out.str("goroutine ");
        self.out.dec(g.goid.get());
        let mut name = [0u8; NAME_MAX];
        let n = read_name(g, &mut name);
        if n > 0 {
            self.out.str(" \"");
            self.out.put(&name[..n]);
            self.out.str("\"");
        }
        self.out.str(" [");
        let status = g.status.load(Ordering::Relaxed);
        let waiting = status == GWAITING;
        self.out.str(match state {
            Some(s) => s,
            None => state_of(g, status),
        });
        let since = g.waitsince.load(Ordering::Relaxed);
        if waiting && since != 0 {
            let mins = (crate::os::nanotime() - since) / 60_000_000_000;
            if mins >= 1 {
                self.out.str(", ");
                self.out.dec(mins);
                self.out.str(if mins == 1 { " minute" } else { " minutes" });
            }
        }
        self.out.str("]:\n");
    }

    fn created_by(&mut self, g: &G) {
        let pc = g.gopc.load(Ordering::Relaxed);
        let parent = g.parent_goid.load(Ordering::Relaxed);
        if g.is_main.get() || pc == 0 {
            return;
        }
        self.out.str("created by ");
        let sym = self.sym(pc - 1);
        match sym {
            Some((_, _, name)) if !name.is_empty() => self.out.put(name),
            _ => self.out.str("?"),
        }
        if parent > 0 {
            self.out.str(" in goroutine ");
            self.out.dec(parent);
        } else {
            self.out.str(" on a thread outside the runtime");
        }
        self.out.str("\n\t");
        match sym {
            Some((object, addr, _)) => {
                self.out.put(object);
                self.out.str("+");
                self.out.hex(addr);
            }
            None => {
                self.out.str("?+");
                self.out.hex(pc - 1);
            }
        }
        self.out.str("\n");
    }

    /// One goroutine that is not the caller's.
    fn goroutine(&mut self, gp: *mut G) {
        // SAFETY: gp is a carved unit's descriptor (see for_each_g).
        let g = unsafe { &*gp };
        let status = g.status.load(Ordering::Relaxed);
        if status == GIDLE || status == GDEAD {
            return;
        }
        self.header(g, None);
        let mut pcs = [0usize; MAX_FRAMES];
        let lo = g.stack_lo;
        let hi = g.stack_hi;
        if status == GRUNNING {
            let fp = g.syscallfp.load(Ordering::Relaxed);
            let pc = g.syscallpc.load(Ordering::Relaxed);
            if g.insyscall.load(Ordering::Relaxed) && fp != 0 {
                // pc is a return address: name the call, as walk does.
                let (n, elided) = walk((pc != 0).then(|| pc - 1), fp, lo, hi, &mut pcs);
                self.frames(&pcs[..n], elided);
            } else {
                self.out.str("\tgoroutine running on other thread; stack unavailable\n");
            }
        } else if !g.started.get() {
            // Never ran: its start function is all there is (Go prints the
            // same for a goroutine that has not started).
            let f = g.startpc.load(Ordering::Relaxed);
            if f != 0 {
                self.frame(f);
            }
        } else {
            let sp = g.sched_sp.get();
            if sp >= lo && sp < hi {
                let (n, elided) = walk(None, sp + crate::arch::SAVED_FRAME_RECORD, lo, hi, &mut pcs);
                self.frames(&pcs[..n], elided);
            }
        }
        self.created_by(g);
        self.out.str("\n");
    }
}

fn state_of(g: &G, status: u32) -> &'static str {
    match status {
        GRUNNABLE => "runnable",
        GRUNNING if g.insyscall.load(Ordering::Relaxed) => "syscall",
        GRUNNING => "running",
        GWAITING => WaitReason::from_u8(g.waitreason.load(Ordering::Relaxed)).as_str(),
        _ => "dead",
    }
}

/// Copies the goroutine's name; returns its length.
pub(crate) fn read_name(g: &G, buf: &mut [u8; NAME_MAX]) -> usize {
    for (i, b) in buf.iter_mut().enumerate() {
        let c = g.name[i].load(Ordering::Relaxed);
        if c == 0 {
            return i;
        }
        *b = c;
    }
    NAME_MAX
}

/// Walks frame records from `rec` (the address of a saved frame pointer,
/// with the return address one word above), recording return addresses
/// (minus one: the call instruction) after `first_pc` (an exact pc, for an
/// interrupted context). Stops at a record outside [lo, hi), one that does
/// not move outwards, a null pc, or MAX_FRAMES. Returns (count, elided).
pub(crate) fn walk(first_pc: Option<usize>, mut rec: usize, lo: usize, hi: usize, pcs: &mut [usize; MAX_FRAMES]) -> (usize, bool) {
    let mut n = 0;
    if let Some(pc) = first_pc {
        pcs[0] = pc;
        n = 1;
    }
    while rec >= lo && rec + 16 <= hi && rec % 8 == 0 {
        // SAFETY: [rec, rec+16) lies inside the goroutine's stack mapping, which stays mapped (units are never unmapped); a racing change gives a wrong value, never a fault.
        let (next, ret) = unsafe { (std::ptr::read_volatile(rec as *const usize), std::ptr::read_volatile((rec + 8) as *const usize)) };
        if ret == 0 {
            break;
        }
        if n == MAX_FRAMES {
            return (n, true);
        }
        pcs[n] = ret - 1;
        n += 1;
        if next <= rec {
            break;
        }
        rec = next;
    }
    (n, false)
}

/// The calling context for a dump: the goroutine doing the dump (or
/// interrupted by a signal), with where to start walking its stack.
pub(crate) struct Current {
    pub gp: *mut G,
    /// Exact pc of the interrupted instruction (signal), if any.
    pub pc: Option<usize>,
    /// The first frame record to walk.
    pub fp: usize,
    /// The state to print ("running").
    pub state: &'static str,
}

/// Writes the dump to `fd`: `cur` first (if any), then every other
/// goroutine when `all`. Returns 0 or the first write error (negative
/// errno).
pub(crate) fn dump(fd: c_int, cur: Option<&Current>, all: bool, in_signal: bool) -> c_int {
    let mut locked = false;
    for _ in 0..if in_signal { 1000 } else { usize::MAX } {
        if !DUMPING.swap(true, Ordering::Acquire) {
            locked = true;
            break;
        }
        // SAFETY: sched_yield has no preconditions.
        unsafe { libc::sched_yield() };
    }
    let mut d = Dumper { out: Out::new(fd), cached: locked };
    if let Some(c) = cur {
        // SAFETY: the caller passes the goroutine running on this thread.
        let g = unsafe { &*c.gp };
        d.header(g, Some(c.state));
        let mut pcs = [0usize; MAX_FRAMES];
        let (n, elided) = walk(c.pc, c.fp, g.stack_lo, g.stack_hi, &mut pcs);
        d.frames(&pcs[..n], elided);
        d.created_by(g);
        d.out.str("\n");
    }
    if all {
        if let Some(sa) = crate::stack::try_stacks() {
            let skip = cur.map_or(std::ptr::null_mut(), |c| c.gp);
            sa.for_each_g(|gp| {
                if gp != skip {
                    d.goroutine(gp);
                }
            });
        }
    }
    d.out.flush();
    if locked {
        DUMPING.store(false, Ordering::Release);
    }
    d.out.err
}

/// Whether this build of gort keeps frame pointers (it is built with
/// `-C force-frame-pointers`, see .cargo/config.toml; a build without them,
/// say through a RUSTFLAGS that replaces that setting, must not follow
/// them). Probed at init.
static FP_OK: AtomicBool = AtomicBool::new(false);

pub(crate) fn probe_frame_pointers() {
    FP_OK.store(probe(), Ordering::Relaxed);
}

#[inline(never)]
fn probe() -> bool {
    let fp = crate::arch::frame_pointer();
    let sp = crate::arch::stack_pointer();
    if fp < sp || fp - sp > 256 || fp % 8 != 0 {
        return false;
    }
    // SAFETY: fp lies within 1 KiB above this function's sp: our own frame.
    let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
    next > fp && ret != 0
}

pub(crate) fn frame_pointers() -> bool {
    FP_OK.load(Ordering::Relaxed)
}

/// The return address stored in the frame record `fp` of the calling
/// function (its caller's pc), or 0 without frame pointers.
#[inline(always)]
pub(crate) fn caller_pc(fp: usize) -> usize {
    let sp = crate::arch::stack_pointer();
    if !frame_pointers() || fp < sp || fp - sp > 4096 || fp % 8 != 0 {
        return 0;
    }
    // SAFETY: fp is this function's own frame record, just above its sp.
    unsafe { *((fp + 8) as *const usize) }
}

/// The goroutine running on this thread, if any, as a dump's `Current`
/// starting at the caller's frame (the caller must be built with frame
/// pointers: gort is).
#[inline(always)]
pub(crate) fn current_here() -> Option<Current> {
    let gp = crate::m::getg();
    if gp.is_null() {
        return None;
    }
    Some(current_of(gp))
}

/// `gp`, which runs this code although it may no longer be the M's curg
/// (a switch in progress), as a dump's `Current` from the caller's frame.
#[inline(always)]
pub(crate) fn current_of(gp: *mut G) -> Current {
    let fp = if frame_pointers() { crate::arch::frame_pointer() } else { 0 };
    Current { gp, pc: None, fp, state: "running" }
}

/// Prints what GORT_TRACEBACK asks for after a fatal error message on
/// stderr: the failing goroutine (`cur`), and the others at level all or
/// when `all_anyway` (deadlock, or a failure outside any goroutine, as in
/// Go). Then the caller exits or aborts.
pub(crate) fn fatal_dump(cur: Option<&Current>, all_anyway: bool) {
    let level = level();
    if level == LEVEL_NONE {
        return;
    }
    crate::os::write_stderr(&["\n"]);
    dump(2, cur, level >= LEVEL_ALL || all_anyway || cur.is_none(), true);
}

/// Ends the process after a fatal report that Go ends with exit status 2
/// (deadlock, SIGQUIT): abort() for a core dump at GORT_TRACEBACK=crash.
/// From a signal handler only _exit is safe; elsewhere exit(2) also
/// flushes the program's stdio buffers, so its output up to the deadlock
/// is not lost.
pub(crate) fn exit_fatal(in_signal: bool) -> ! {
    if level() == LEVEL_CRASH {
        crate::signal::abort_for_core();
    }
    // SAFETY: both end the process; exit is called only outside signal handlers.
    unsafe {
        if in_signal {
            libc::_exit(2)
        } else {
            libc::exit(2)
        }
    }
}

/// `gort_setname`'s store: the name (cut to NAME_MAX bytes, NUL-ended).
pub(crate) fn set_name(g: &G, name: &[u8]) {
    let n = name.len().min(NAME_MAX);
    for (i, &c) in name[..n].iter().enumerate() {
        g.name[i].store(c, Ordering::Relaxed);
    }
    g.name[n].store(0, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------
// C API

/// Writes every goroutine to `fd` in Go's format: `goroutine N ["name"]
/// [state, M minutes]:`, its frames (function name, then the object and the
/// address `addr2line -f -e <object>` resolves), and `created by FN in
/// goroutine N`. The calling goroutine comes first, as `[running]`.
///
/// Frames come from frame pointers: build the program with
/// `-fno-omit-frame-pointer` to see more than the function that called
/// into gort, and link with `-rdynamic` or keep the symbol table (do not
/// strip) for names. Other goroutines are read without stopping them: one
/// that moves during the dump may show a stale or short trace. Goroutines
/// running C code on other threads show `stack unavailable`, as in Go.
/// Uses write(2) only (no malloc, no stdio).
///
/// Returns GORT_OK, GORT_EINVAL (`fd` < 0), GORT_ENOTINIT, or the negative
/// errno of a failed write.
#[no_mangle]
pub extern "C" fn gort_dump_goroutines(fd: c_int) -> c_int {
    ffi_guard!("gort_dump_goroutines", {
        if !crate::boot::is_ready() {
            return crate::ffi::GORT_ENOTINIT;
        }
        if fd < 0 {
            return crate::ffi::GORT_EINVAL;
        }
        let cur = current_here();
        dump(fd, cur.as_ref(), true, false)
    })
}

/// Names the calling goroutine for goroutine dumps (`goroutine 7
/// "worker-3" [...]`); Go has no such thing, Boost.Fiber and Photon users
/// ask for it. The name is copied (at most 31 bytes; longer names are cut)
/// and lasts until the goroutine ends or is renamed; NULL or "" clears it.
///
/// Returns GORT_OK, GORT_EPERM (not on a goroutine), GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_setname(name: *const std::ffi::c_char) -> c_int {
    ffi_guard!("gort_setname", {
        if !crate::boot::is_ready() {
            return crate::ffi::GORT_ENOTINIT;
        }
        let gp = crate::m::getg();
        if gp.is_null() {
            return crate::ffi::GORT_EPERM;
        }
        let bytes: &[u8] = if name.is_null() {
            b""
        } else {
            // SAFETY: the caller passes a NUL-terminated string.
            unsafe { std::ffi::CStr::from_ptr(name) }.to_bytes()
        };
        // SAFETY: the goroutine running on this thread.
        set_name(unsafe { &*gp }, bytes);
        crate::ffi::GORT_OK
    })
}
