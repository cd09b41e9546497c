//! Bootstrap: Go's rt0_go, args, osinit, schedinit, mstart and runtime.main,
//! for both ways a C program can host the runtime.
//!
//! Program mode (Go's default build mode):
//!
//! ```text
//! gort_init(argc, argv)   rt0_go: args, osinit, schedinit; m0 and p0 bound
//!                         to this thread (its stack is m0's g0)
//! gort_go(main_fn, arg)   newproc(mainPC): the main goroutine, in p0's runnext
//! gort_mstart()           mstart: this thread enters schedule() for good;
//!                         the main goroutine runs runtime.main, which starts
//!                         sysmon, calls main_fn and then exit(0)
//! ```
//!
//! Library mode (`-buildmode=c-archive`, where runtime.main returns before
//! main.main): `gort_init_lib` does the same initialisation, but m0 is a new
//! thread; the first goroutine is runtime.main, which starts sysmon and
//! returns, and `gort_init_lib` returns once it has run. The host keeps its
//! own `main` and threads and calls `gort_go` from any of them.

use crate::env::{self, Config};
use crate::ffi::{status, Error, GORT_EINVAL, GORT_ENOTINIT, GORT_EPERM};
use crate::g::{gref, G};
use crate::m::{getm, mref};
use crate::os::{self, Note};
use crate::p::P;
use crate::proc::schedule;
use crate::sched::{self, sched, Locked, Mode, Sched, MAXMCOUNT};
use crate::trace::boot as trace;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};
use std::sync::Mutex;

const UNINIT: u8 = 0;
const INITIALISING: u8 = 1;
const READY: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
/// Program mode: the main goroutine has been created.
static MAIN_CLAIMED: AtomicBool = AtomicBool::new(false);
static MSTARTED: AtomicBool = AtomicBool::new(false);
static MAIN_GOEXITED: AtomicBool = AtomicBool::new(false);
/// Library mode: runtime.main has run.
static LIB_READY: Note = Note::new();

pub(crate) fn is_ready() -> bool {
    STATE.load(Ordering::Acquire) == READY
}

/// Go's rt0_go up to (not including) newproc(mainPC).
fn rt0_go(argc: c_int, argv: *mut *mut c_char, mode: Mode) -> Result<(), Error> {
    if STATE.compare_exchange(UNINIT, INITIALISING, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return Err(Error::Already);
    }
    let r = env::read().and_then(|cfg| {
        crate::trace::enable(cfg.inittrace);
        trace(format_args!(
            "rt0_go: mode={} pid={}",
            if mode == Mode::Program { "program" } else { "c-archive" },
            std::process::id()
        ));
        args(argc, argv);
        let ncpu = osinit();
        schedinit(&cfg, ncpu, mode)
    });
    // A failure anywhere leaves the runtime re-initialisable: nothing has
    // run yet (no M thread, no sysmon), so the half-built Sched is simply
    // abandoned (leaked: `sched()` hands out 'static references) and the
    // next init publishes a fresh one.
    let r = r.and_then(|()| if mode == Mode::Lib { start_lib() } else { Ok(()) });
    if r.is_err() {
        STATE.store(UNINIT, Ordering::Release);
    }
    r
}

/// Go's args: remembers argc/argv.
fn args(argc: c_int, argv: *mut *mut c_char) {
    let argv0 = if argc > 0 && !argv.is_null() {
        // SAFETY: argv has argc > 0 entries (the C main contract).
        let p = unsafe { *argv };
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: argv[0], when non-null, is a NUL-terminated string.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    } else {
        String::new()
    };
    trace(format_args!("args: argc={argc} argv[0]={argv0:?}"));
}

/// Go's osinit: CPU count and page sizes.
fn osinit() -> u32 {
    let ncpu = os::getproccount();
    trace(format_args!(
        "osinit: ncpu={ncpu} (affinity mask) physPageSize={} physHugePageSize={}",
        os::phys_page_size(),
        os::huge_page_size()
    ));
    ncpu
}

/// Go's schedinit: stacks, signals, m0, and procresize(procs).
fn schedinit(cfg: &Config, ncpu: u32, mode: Mode) -> Result<(), Error> {
    crate::sanitize::init();
    let sa = crate::stack::stackinit(cfg.stack_size, cfg.guard);
    crate::traceback::set_level(cfg.traceback);
    crate::traceback::probe_frame_pointers();
    crate::signal::initsig();
    // Go's schedinit: GOMAXPROCS from the environment, else
    // defaultGOMAXPROCS (the affinity mask, capped by the cgroup's CPU
    // limit). The cgroup files are read only when they can matter.
    let (procs, from) = match cfg.procs {
        Some((n, var)) => (n, var.to_string()),
        None => crate::cgroup::defaultgomaxprocs(ncpu, cfg.containermaxprocs),
    };
    let allp: Box<[P]> = (0..procs).map(|id| P::new(id, procs)).collect();
    let coprimes = (1..=procs).filter(|&i| gcd(i, procs) == 1).collect();
    if let Err(e) = crate::netpoll::netpollinit() {
        let mut b = [0u8; 24];
        os::write_stderr(&["gort: cannot create the netpoller (errno ", os::fmt_i64(-e as i64, &mut b), ")\n"]);
        return Err(Error::NoMem);
    }
    sched::publish(Box::new(Sched {
        lock: Mutex::new(Locked { pidle: Vec::with_capacity(procs as usize), midle: Vec::new(), allm: Vec::new() }),
        npidle: Default::default(),
        nmspinning: Default::default(),
        nmidle: Default::default(),
        runq: Default::default(),
        gfree: Mutex::new((crate::g::GPtr(std::ptr::null_mut()), 0)),
        goidgen: 1.into(),
        mcount: Default::default(),
        ncreated_nop: Default::default(),
        nexited_nop: Default::default(),
        allp,
        gomaxprocs: procs,
        coprimes,
        main_started: AtomicBool::new(false),
        mode,
        schedtrace: cfg.schedtrace,
        init_tid: os::gettid(),
        m0: Default::default(),
        sysmonwait: AtomicBool::new(false),
        sysmonnote: Note::new(),
        lastpoll: AtomicI64::new(os::nanotime()),
        poll_until: Default::default(),
    }));
    let s = sched();
    let handshake = crate::syscall::syscallinit(cfg.membarrier, cfg.asyncpreemptoff);
    let m0 = crate::m::allocm()?;
    s.m0.store(m0 as *const _ as *mut _, Ordering::Release);
    procresize(s, m0, mode);
    trace(format_args!(
        "schedinit: procs={procs} (from {from}) maxmcount={MAXMCOUNT} stacksize={} guard={:?} handoff={handshake}{} m0=m{}",
        sa.usable,
        sa.method,
        if cfg.asyncpreemptoff { " asyncpreemptoff" } else { "" },
        m0.id
    ));
    Ok(())
}

/// Go's procresize at boot: p0 goes to m0 (program mode: this thread), the
/// other Ps to the idle list.
fn procresize(s: &'static Sched, m0: &'static crate::m::M, mode: Mode) {
    let mut l = s.locked();
    for pp in s.allp.iter().skip(1).rev() {
        crate::idle::pidleput(&mut l, pp as *const P as *mut P);
    }
    drop(l);
    let p0 = &s.allp[0] as *const P as *mut P;
    match mode {
        Mode::Program => {
            crate::m::minit(m0);
            crate::idle::acquirep(m0, p0);
        }
        Mode::Lib => m0.nextp.store(p0, Ordering::Release),
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Library mode: start m0 on its own thread with runtime.main queued, and
/// wait until runtime.main has run.
fn start_lib() -> Result<(), Error> {
    let s = sched();
    // The init thread has no P, so this goes to the global queue, where m0's
    // first schedule() finds it.
    let goid = crate::spawn::newproc(runtime_main_lib, std::ptr::null_mut(), false, 0)?;
    trace(format_args!("newproc: runtime.main goid={goid} (c-archive: returns before any user goroutine)"));
    // SAFETY: m0 was stored by schedinit.
    let m0 = unsafe { mref(s.m0.load(Ordering::Acquire)) };
    let p0 = m0.nextp.load(Ordering::Acquire);
    crate::m::startthread(m0, p0, false)?;
    trace(format_args!("mstart: m0 thread started"));
    LIB_READY.sleep();
    Ok(())
}

/// runtime.main in library mode: starts sysmon and returns, like Go's does
/// for -buildmode=c-archive before main.main.
unsafe extern "C" fn runtime_main_lib(_: *mut c_void) {
    let s = sched();
    s.main_started.store(true, Ordering::Release);
    crate::sysmon::start();
    // SAFETY: we run on a goroutine, so getg is the running G.
    let goid = unsafe { gref(crate::m::getg()) }.goid.get();
    trace(format_args!("runtime.main: goid={goid} sysmon started; c-archive mode returns before main.main"));
    STATE.store(READY, Ordering::Release);
    LIB_READY.wakeup();
}

/// runtime.main in program mode: the main goroutine's real start function.
/// `arg` is its own G, whose fnc/arg hold the user's main.
pub(crate) unsafe extern "C" fn runtime_main(arg: *mut c_void) {
    // SAFETY: newproc1 passes the main G itself, which is running here.
    let g: &G = unsafe { gref(arg.cast()) };
    let s = sched();
    s.main_started.store(true, Ordering::Release);
    crate::sysmon::start();
    let mp = getm();
    // SAFETY: a goroutine always runs on an M.
    let mid = unsafe { mref(mp) }.id;
    trace(format_args!("runtime.main: goid={} on m{mid}; sysmon started; calling main", g.goid.get()));
    // Goroutines queued before mstart may now get Ms of their own.
    crate::idle::wakep();
    if let Some(f) = g.fnc.get() {
        // SAFETY: the user's function, called with the argument they gave.
        unsafe { f(g.arg.get()) };
    }
    trace(format_args!("runtime.main: main returned; exit(0)"));
    // SAFETY: exit runs the host's atexit handlers and never returns.
    unsafe { libc::exit(0) }
}

/// Program mode: the first gort_go on the init thread before gort_mstart
/// creates the main goroutine. Returns true when the caller is making it.
pub(crate) fn claim_main() -> bool {
    let s = sched();
    s.mode == Mode::Program
        && !MSTARTED.load(Ordering::Acquire)
        && os::gettid() == s.init_tid
        && MAIN_CLAIMED.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok()
}

pub(crate) fn unclaim_main() {
    MAIN_CLAIMED.store(false, Ordering::Release);
}

/// The main goroutine called gort_goexit: as in Go, the program goes on
/// until no goroutine is left, which is then reported as a deadlock.
pub(crate) fn main_goexited() {
    MAIN_GOEXITED.store(true, Ordering::Release);
}

/// After a goroutine exit: Go's checkdead for the Goexit-from-main case.
pub(crate) fn checkdead_after_exit(s: &Sched) {
    if MAIN_GOEXITED.load(Ordering::Relaxed) && s.gcount() == 0 {
        os::write_stderr(&["gort: fatal error: no goroutines (main called gort_goexit) - deadlock!\n"]);
        // SAFETY: _exit ends the process without returning.
        unsafe { libc::_exit(2) };
    }
}

/// Initialises the runtime for program mode (Go's rt0_go up to newproc):
/// reads GORT_MAXPROCS/GOMAXPROCS, GORT_STACKSIZE and GORT_DEBUG, creates
/// the Ps, installs the stack-overflow handler, and binds m0 and p0 to the
/// calling thread, which must later call `gort_mstart`.
///
/// `argv` may be NULL. Returns GORT_OK, GORT_EALREADY (already initialised
/// in either mode), GORT_EINVAL (a malformed environment variable, named on
/// stderr; the call may be retried), GORT_ENOMEM.
#[no_mangle]
pub extern "C" fn gort_init(argc: c_int, argv: *mut *mut c_char) -> c_int {
    ffi_guard!("gort_init", {
        let r = rt0_go(argc, argv, Mode::Program);
        if r.is_ok() {
            STATE.store(READY, Ordering::Release);
        }
        status(r)
    })
}

/// Initialises the runtime in library mode (Go's -buildmode=c-archive): the
/// scheduler runs on background threads and this returns once it is ready.
/// The caller keeps its thread; any thread may then call `gort_go`, at any
/// time, concurrently. `gort_mstart` is not used in this mode.
///
/// Returns GORT_OK, GORT_EALREADY, GORT_EINVAL, GORT_ENOMEM.
#[no_mangle]
pub extern "C" fn gort_init_lib(argc: c_int, argv: *mut *mut c_char) -> c_int {
    ffi_guard!("gort_init_lib", status(rt0_go(argc, argv, Mode::Lib)))
}

/// Turns the calling thread into m0 and runs the scheduler on it (Go's
/// mstart). Program mode only, on the thread that called `gort_init`, after
/// the main goroutine was created with `gort_go`.
///
/// Does not return on success: the process ends when the main goroutine
/// returns (exit status 0) or someone calls `gort_exit`. Returns
/// GORT_ENOTINIT, GORT_EPERM (library mode, another thread, on a goroutine,
/// or called twice), or GORT_EINVAL (no main goroutine yet).
#[no_mangle]
pub extern "C" fn gort_mstart() -> c_int {
    ffi_guard!("gort_mstart", {
        if !is_ready() {
            return GORT_ENOTINIT;
        }
        let s = sched();
        if s.mode != Mode::Program || os::gettid() != s.init_tid || !crate::m::getg().is_null() {
            return GORT_EPERM;
        }
        if !MAIN_CLAIMED.load(Ordering::Acquire) {
            return GORT_EINVAL;
        }
        if MSTARTED.swap(true, Ordering::AcqRel) {
            return GORT_EPERM;
        }
        let mp = getm();
        // SAFETY: program-mode init bound m0 to this thread.
        let m0 = unsafe { mref(mp) };
        trace(format_args!("mstart: m{} enters schedule() on the main thread", m0.id));
        schedule(m0)
    })
}

/// Ends the process with `code` (runs atexit handlers, flushes stdio),
/// from any thread or goroutine, initialised or not.
#[no_mangle]
pub extern "C" fn gort_exit(code: c_int) {
    ffi_guard!("gort_exit", {
        // SAFETY: exit never returns.
        unsafe { libc::exit(code) }
    })
}
