//! Creating and ending goroutines (Go's newproc, newproc1, goexit0), with
//! gort's spawn throttling, and their C API (`gort_go`, `gort_goexit`).

use crate::arch;
use crate::boot;
use crate::ffi::{Error, GORT_EINVAL, GORT_ENOTINIT, GORT_EPERM};
use crate::g::{gref, GoFn, G, GDEAD, GRUNNABLE};
use crate::gfree::{gfget, gfget_global};
use crate::idle::wakep;
use crate::m::{getg, getm, mref, M};
use crate::p::{runqget, runqput, GOID_BATCH, P};
use crate::panic::throw;
use crate::proc::{injectglist, park_switch};
use crate::sched::sched;
use crate::stack::{canary_ok, stacks};
use crate::switch::{execute, goentry, switch_from, Post};
use crate::syscall::{callin, callout};
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::Ordering;

/// Go's newproc: creates a goroutine running `fnc(arg)` and queues it.
/// With `main`, it is the main goroutine of program mode. `gopc` is the
/// return address of the `gort_go` call (0 from the runtime itself), for
/// the dump's "created by". Returns its goid.
pub(crate) fn newproc(fnc: GoFn, arg: *mut c_void, main: bool, gopc: usize) -> Result<i64, Error> {
    newproc_opts(fnc, arg, main, gopc, &SpawnOpts::DEFAULT)
}

/// What `gort_go_ex` may choose for a goroutine.
pub(crate) struct SpawnOpts<'a> {
    /// Stack size class (`stack::size_class`), None for the default size.
    pub class: Option<usize>,
    /// Name for dumps (`gort_setname`), empty for none.
    pub name: &'a [u8],
}

impl SpawnOpts<'_> {
    const DEFAULT: SpawnOpts<'static> = SpawnOpts { class: None, name: b"" };
}

/// A dead or fresh G for `opts`: the default class from `pp`'s free list
/// (or the global one without a P), another class from its own list.
#[inline(always)]
fn gget(pp: Option<&P>, opts: &SpawnOpts) -> Result<*mut G, Error> {
    if let Some(k) = opts.class {
        return stacks().class_get(k);
    }
    let got = match pp {
        Some(pp) => gfget(pp),
        None => gfget_global(),
    };
    match got {
        Some(gp) => Ok(gp),
        None => stacks().malg(),
    }
}

/// newproc with options; `newproc` is this with the defaults, which the
/// compiler folds away (gget's class test, the name).
#[inline(always)]
fn newproc_opts(fnc: GoFn, arg: *mut c_void, main: bool, gopc: usize, opts: &SpawnOpts) -> Result<i64, Error> {
    let mp = getm();
    if !mp.is_null() {
        // SAFETY: non-null Ms are valid; curg is read by the M's own thread.
        let m = unsafe { mref(mp) };
        let cur = m.curg();
        if !cur.is_null() {
            // SAFETY: the goroutine running on this thread.
            let c = unsafe { gref(cur) };
            let (m, entered) = callin(m, c);
            let r = newproc_p(m, fnc, arg, main, gopc, opts);
            callout(c, entered);
            return r;
        }
        if !m.p.get().is_null() {
            return newproc_p(m, fnc, arg, main, gopc, opts);
        }
    }
    newproc_nop(fnc, arg, main, gopc, opts)
}

/// newproc from a thread without a P (a host thread in library mode).
fn newproc_nop(fnc: GoFn, arg: *mut c_void, main: bool, gopc: usize, opts: &SpawnOpts) -> Result<i64, Error> {
    let s = sched();
    let gp = gget(None, opts)?;
    let goid = s.goidgen.fetch_add(1, Ordering::Relaxed);
    s.ncreated_nop.fetch_add(1, Ordering::Relaxed);
    newproc1(gp, fnc, arg, goid, main, 0, gopc);
    if !opts.name.is_empty() {
        // SAFETY: gp is ours until it is queued below.
        crate::traceback::set_name(unsafe { gref(gp) }, opts.name);
    }
    injectglist(gp);
    Ok(goid)
}

/// newproc on an M that holds a P: on a goroutine (inside its callin), or
/// on g0 (a timer callback; the main goroutine before mstart).
fn newproc_p(mp: &'static M, fnc: GoFn, arg: *mut c_void, main: bool, gopc: usize, opts: &SpawnOpts) -> Result<i64, Error> {
    let s = sched();
    let pp = mp.pp();
    let gp = gget(Some(pp), opts)?;
    if pp.goidcache.get() == pp.goidcacheend.get() {
        let start = s.goidgen.fetch_add(GOID_BATCH, Ordering::Relaxed);
        pp.goidcache.set(start);
        pp.goidcacheend.set(start + GOID_BATCH);
    }
    let goid = pp.goidcache.get();
    pp.goidcache.set(goid + 1);
    P::bump(&pp.ncreated, 1);
    let cur = mp.curg();
    // SAFETY: a non-null curg is the goroutine running on this M.
    let parent = if cur.is_null() { 0 } else { unsafe { gref(cur) }.goid.get() };
    newproc1(gp, fnc, arg, goid, main, parent, gopc);
    if !opts.name.is_empty() {
        // SAFETY: gp is ours until runqput publishes it.
        crate::traceback::set_name(unsafe { gref(gp) }, opts.name);
    }
    // From a goroutine, the new G runs next (Go's newproc). From g0 before
    // mstart only the main goroutine does, so it runs first.
    let on_goroutine = !cur.is_null();
    runqput(pp, gp, on_goroutine || main);
    if s.main_started.load(Ordering::Relaxed) {
        wakep();
    }
    if on_goroutine {
        let cur = mp.curg();
        // SAFETY: cur is the running goroutine, ours.
        let c = unsafe { gref(cur) };
        let n = c.spawned.get() + 1;
        c.spawned.set(n);
        // Only a burst from one spawner: a spawn tree (skynet: ten children
        // per node) fills newq with many spawners' children, each of which
        // must keep running depth-first, not be parked aside.
        if n >= SPAWN_BURST as u32 && pp.newq.len() >= SPAWN_BURST && pp.throttled.load(Ordering::Relaxed).is_null() {
            c.spawned.set(0);
            spawnyield(mp, cur);
        }
    }
    Ok(goid)
}

/// spawnyield's post-switch action: gp (saved, GRUNNABLE) waits in the
/// `throttled` slot of `pp`, the P of the M that switched away from it.
unsafe fn throttle_put(gp: *mut G, pp: *mut c_void) -> bool {
    // SAFETY: pp is the P held by the M running this post-switch action.
    let pp = unsafe { &*(pp as *const P) };
    // newproc saw the slot empty, only this P's owner fills it, and nothing
    // ran on this P since: it is still empty (thieves only clear it).
    debug_assert!(pp.throttled.load(Ordering::Relaxed).is_null());
    pp.throttle_credit.set(THROTTLE_CREDIT);
    pp.throttled.store(gp, Ordering::Release);
    true
}

/// Goroutines of `runq` that may run between a burst and its spawner.
const THROTTLE_CREDIT: u32 = 2 * SPAWN_BURST as u32;

/// Unstarted goroutines a P queues before their spawner gives way to them.
const SPAWN_BURST: usize = crate::p::RUNQ_CAP / 2;

/// No Go equivalent: a goroutine that spawns faster than its children
/// start lets them start. Go's spawner runs on and its P's queue overflows
/// to the global queue, so a loop spawning 100,000 goroutines holds 100,000
/// stacks at once, most of them cold by the time they run. Here, once
/// SPAWN_BURST children wait in `newq`, the spawner waits in `throttled`:
/// the children run until they first block, yield or exit (exits hand
/// their warm stacks to the next spawns), then at most THROTTLE_CREDIT
/// goroutines of `runq`, then the spawner, so that neither the spawner nor
/// goroutines readied meanwhile wait without bound. It costs one switch
/// per SPAWN_BURST spawns; the waiting spawner can be stolen by an idle P
/// like `runnext`.
#[cold]
fn spawnyield(mp: &'static M, gp: *mut G) {
    if !mp.lockedg.get().is_null() {
        // A locked M runs only its goroutine: no giving way.
        return;
    }
    let pp = mp.pp();
    let Some((next, inherit)) = runqget(pp, false) else { return };
    if crate::lockosthread::is_locked(next) {
        // Back where it was; the spawner runs on (rare: a locked G queued
        // on a P whose spawner throttles).
        crate::p::runqput(pp, next, false);
        return;
    }
    // SAFETY: gp is the running goroutine of mp.
    unsafe { gref(gp) }.status.store(GRUNNABLE, Ordering::Relaxed);
    // A park whose unlock function queues gp in the slot: no extra Post
    // variant (and no extra branch) on every switch for this rare case.
    mp.post.set(Post::Park(gp, throttle_put, pp as *const P as *mut c_void));
    execute(mp, pp, next, inherit);
    // SAFETY: next is owned by us now.
    let target = unsafe { gref(next) }.sched_sp.get();
    switch_from(mp, gp, target);
}

/// Go's newproc1: readies a dead or fresh G to run fnc(arg).
fn newproc1(gp: *mut G, fnc: GoFn, arg: *mut c_void, goid: i64, main: bool, parent: i64, gopc: usize) {
    crate::sanitize::newg(gp, goid);
    // SAFETY: gp is GIDLE or GDEAD and owned by the caller.
    let g = unsafe { gref(gp) };
    g.goid.set(goid);
    g.parent_goid.store(parent, Ordering::Relaxed);
    g.gopc.store(gopc, Ordering::Relaxed);
    g.startpc.store(fnc as usize, Ordering::Relaxed);
    g.name[0].store(0, Ordering::Relaxed);
    g.is_main.set(main);
    g.started.set(false);
    g.spawned.set(0);
    g.fnc.set(Some(fnc));
    g.arg.set(arg);
    g.param.set(std::ptr::null_mut());
    g.insyscall.store(false, Ordering::Relaxed);
    debug_assert!(g.rtseq.load(Ordering::Relaxed) & 1 == 1, "newproc1: G not inside the runtime");
    let (start, start_arg): (GoFn, *mut c_void) = if main { (boot::runtime_main, gp.cast()) } else { (fnc, arg) };
    // SAFETY: the stack is owned (see above) and stack_hi is 64-byte aligned.
    let sp = unsafe { arch::init_frame(g.stack_hi, start, start_arg, gp, goentry, goexit_hook) };
    g.sched_sp.set(sp);
    g.status.store(GRUNNABLE, Ordering::Relaxed);
}

/// Called by gort_gostart when the start function returns.
unsafe extern "C" fn goexit_hook() -> ! {
    let mp = getm();
    // SAFETY: we are on a goroutine, so the thread has an M.
    let mp = unsafe { mref(mp) };
    goexit0(mp, mp.curg())
}

/// Go's goexit0: gp is finished; its stack is recycled by the successor.
/// gp stays inside the runtime for good (its count stays odd: newproc1
/// relies on that).
pub(crate) fn goexit0(mp: &'static M, gp: *mut G) -> ! {
    // SAFETY: gp is the running goroutine.
    let g = unsafe { gref(gp) };
    let (mp, _) = callin(mp, g);
    if !canary_ok(g) {
        let cur = crate::traceback::current_here();
        crate::signal::report_overflow(g, 0, cur.as_ref());
    }
    crate::lockosthread::unlock_at_exit(mp, g);
    g.status.store(GDEAD, Ordering::Relaxed);
    g.fnc.set(None);
    let pp = mp.pp();
    P::bump(&pp.nexited, 1);
    if g.is_main.get() {
        boot::main_goexited();
    }
    boot::checkdead_after_exit(sched());
    park_switch(mp, gp, Post::Gfput(gp));
    throw("goexit0: dead goroutine resumed")
}

// ---------------------------------------------------------------------------
// C API

/// Starts a goroutine running `fn(arg)` (Go's `go` statement, newproc).
///
/// Callable from any thread at any time after `gort_init`/`gort_init_lib`,
/// concurrently. From a goroutine the new goroutine runs next on the same P
/// (Go's runnext); from another thread it enters the global run queue and an
/// idle M is woken for it. In program mode, the first call (on the thread
/// that called `gort_init`, before `gort_mstart`) creates the main goroutine:
/// when it returns the process exits with status 0.
///
/// A goroutine that has spawned 32 goroutines in a row that have not started
/// gives way to them inside this call, and continues once each has run up
/// to its first block, yield or exit (spawn throttling: a loop that spawns
/// 100,000 goroutines keeps a few dozen stacks warm instead of 100,000
/// cold). Like every scheduling point, it may then resume on another thread.
///
/// Returns the goroutine id (> 0), or GORT_EINVAL (`fn` is NULL),
/// GORT_ENOTINIT, GORT_ENOMEM (no memory for its stack; the runtime stays
/// usable).
#[no_mangle]
pub extern "C" fn gort_go(fn_: Option<unsafe extern "C" fn(arg: *mut c_void)>, arg: *mut c_void) -> i64 {
    // Where the caller called from, for "created by" (frame record of this
    // function: gort is built with frame pointers).
    let gopc = crate::traceback::caller_pc(crate::arch::frame_pointer());
    ffi_guard!("gort_go", {
        if !boot::is_ready() {
            return GORT_ENOTINIT as i64;
        }
        let Some(f) = fn_ else { return GORT_EINVAL as i64 };
        let main = boot::claim_main();
        match newproc(f, arg, main, gopc) {
            Ok(id) => {
                if main {
                    crate::trace::boot(format_args!("newproc: main goroutine goid={id} queued in runnext of p0"));
                }
                id
            }
            Err(e) => {
                if main {
                    boot::unclaim_main();
                }
                e.code() as i64
            }
        }
    })
}

/// Options for `gort_go_ex`. Zero-initialise it (`gort_go_opts o = {0};`)
/// and set what you need.
#[repr(C)]
pub struct gort_go_opts {
    /// Usable stack bytes: 0 for the default (`GORT_STACKSIZE`), else from
    /// 16 KiB to 1 GiB, rounded up to a power of two (sizes that round as
    /// the default does, and fit in it, get the default stack). Stacks of
    /// each size are reused by goroutines asking for the same size.
    pub stack_size: usize,
    /// A name for goroutine dumps and gdb (as `gort_setname`: copied, the
    /// first 31 bytes kept), or NULL.
    pub name: *const c_char,
}

/// `gort_go` with options (`opts` may be NULL: the defaults): a stack size
/// for this goroutine alone (a deep recursion among a million small
/// goroutines) and a name. Returns the goroutine id (> 0), or GORT_EINVAL
/// (`fn` is NULL, or a stack size outside 16 KiB to 1 GiB), GORT_ENOTINIT,
/// GORT_ENOMEM. Like `gort_go` in every other way.
#[no_mangle]
pub extern "C" fn gort_go_ex(
    fn_: Option<unsafe extern "C" fn(arg: *mut c_void)>,
    arg: *mut c_void,
    opts: *const gort_go_opts,
) -> i64 {
    let gopc = crate::traceback::caller_pc(crate::arch::frame_pointer());
    ffi_guard!("gort_go_ex", {
        if !boot::is_ready() {
            return GORT_ENOTINIT as i64;
        }
        let Some(f) = fn_ else { return GORT_EINVAL as i64 };
        // SAFETY: the caller passes NULL or a valid gort_go_opts.
        let o = unsafe { opts.as_ref() };
        let size = o.map_or(0, |o| o.stack_size);
        let class = match crate::stack::size_class(size, stacks().size) {
            Ok(c) => c,
            Err(e) => return e.code() as i64,
        };
        let name: &[u8] = match o {
            // SAFETY: the caller passes a NUL-terminated string or NULL.
            Some(o) if !o.name.is_null() => unsafe { std::ffi::CStr::from_ptr(o.name) }.to_bytes(),
            _ => b"",
        };
        let opts = SpawnOpts { class, name };
        let main = boot::claim_main();
        match newproc_opts(f, arg, main, gopc, &opts) {
            Ok(id) => id,
            Err(e) => {
                if main {
                    boot::unclaim_main();
                }
                e.code() as i64
            }
        }
    })
}

/// Ends the calling goroutine at once (Go's runtime.Goexit); other
/// goroutines are unaffected. On the main goroutine the process does not
/// exit: it keeps running the other goroutines, as in Go.
///
/// Does not return on a goroutine. Returns GORT_EPERM when called off a
/// goroutine, GORT_ENOTINIT before init.
#[no_mangle]
pub extern "C" fn gort_goexit() -> c_int {
    ffi_guard!("gort_goexit", {
        if !boot::is_ready() {
            return GORT_ENOTINIT;
        }
        let gp = getg();
        if gp.is_null() {
            return GORT_EPERM;
        }
        // SAFETY: a current G implies a valid M on this thread.
        goexit0(unsafe { mref(getm()) }, gp)
    })
}
