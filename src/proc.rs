//! The scheduler (Go's proc.go): `schedule`, `findrunnable`, `execute`,
//! `newproc`, `gopark`/`goready`, and the Ms that run them.
//!
//! # Goroutine scheduler
//!
//! The scheduler's job is to distribute ready-to-run goroutines over worker
//! threads. G is a goroutine, M an OS thread, P a processor: the right to
//! run goroutines, `GORT_MAXPROCS` of them. An M must hold a P to run a G;
//! an M without work gives its P back and sleeps.
//!
//! A running goroutine enters the scheduler only at its own scheduling
//! points (`gort_yield`, parking on a primitive, returning); C code cannot
//! be preempted. At such a point the outgoing G asks its P for the next G
//! *on its own stack* (61st-tick global check, `runnext`, local queue,
//! global queue: all non-blocking, no lock in the common case) and switches
//! straight to it. Only when the P has nothing does it switch to the M's g0,
//! where `findrunnable` steals from other Ps and, failing that, parks the M.
//! Go always goes through g0 (`mcall`); the direct switch is what makes a
//! yield cost one context switch instead of two.
//!
//! # Post-switch actions
//!
//! A G that gives up its M must not become visible to other threads until
//! its registers are saved, or another M could resume it mid-save. So what
//! happens to the outgoing G (requeue it, publish it to a waiter list, free
//! it) is recorded in `m.post` and performed by whichever context runs next
//! on the same M, right after `gort_swap` returns there ([`run_post`]).
//! This is Go's `mcall(fn)`, with `fn` run by the successor instead of on
//! g0.
//!
//! # Worker thread parking/unparking
//!
//! We must keep enough Ms running to use the available Ps, and park the
//! rest to save CPU. Go's scheme, kept here: an M is *spinning* when it
//! holds a P, has no work, and is looking for some (stealing). At most
//! about half of the busy Ps' worth of Ms spin (`2*nmspinning < procs -
//! npidle`). Whoever makes a G runnable calls [`wakep`], which starts or
//! wakes an M only if there is an idle P and no M is spinning already. A
//! spinning M that finds work stops spinning and calls `wakep` itself, so
//! the search continues elsewhere ([`resetspinning`]).
//!
//! The lost-wakeup hazard is the last spinning M going to sleep just as
//! work arrives: the submitter sees `nmspinning == 1` and leaves, the
//! spinner already looked. To prevent it, a parking M first puts its P on
//! the idle list, then decrements `nmspinning`, then issues a full fence
//! and re-checks the global queue and every P's run queue; the submitter
//! publishes the G, issues a full fence, then reads `npidle` and
//! `nmspinning`. Dekker's argument: at least one of them sees the other's
//! write, so either the submitter wakes an M or the parker finds the G.
//! Work queued on a running P's local queue needs no wakeup at all: that
//! P's M will run it (a wakeup there only adds parallelism).

use crate::arch;
use crate::boot;
use crate::ffi::{Error, GORT_EINVAL, GORT_ENOTINIT, GORT_EPERM, GORT_OK};
use crate::g::{gref, GoFn, G, GDEAD, GRUNNABLE, GRUNNING, GWAITING};
use crate::gfree::{gfget, gfget_global, gfput};
use crate::lock::RawLock;
use crate::m::{getm, load_nextp, mref, setm, M};
use crate::p::{runqempty, runqget, runqput, runqsteal, GOID_BATCH, P, PIDLE, PRUNNING};
use crate::sched::{sched, try_sched, Locked, MAXMCOUNT};
use crate::stack::{canary_ok, stacks};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{fence, Ordering};

/// What the next context on this M must do with the G that just left it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Post {
    None,
    /// Yield: put the G at the tail of the local run queue (Go's goyield).
    Runqput(*mut G),
    /// gopark: call `unlockf(gp, lock)`; false means "do not park after
    /// all", and the G is made runnable again.
    Park(*mut G, ParkFn, *mut c_void),
    /// gopark whose only unlock is releasing one runtime lock (a channel's,
    /// a semaphore bucket's, ...): done inline, without Park's indirect call.
    Unlock(*const RawLock),
    /// goexit0: the G is dead; recycle it with its stack.
    Gfput(*mut G),
}

/// Go's gopark unlockf.
pub(crate) type ParkFn = unsafe fn(*mut G, *mut c_void) -> bool;

/// Go's throw: an internal invariant broke. Prints and aborts.
#[cold]
pub(crate) fn throw(msg: &str) -> ! {
    crate::os::write_stderr(&["gort: fatal error: ", msg, "\n"]);
    std::process::abort()
}

/// The goroutine running on this thread, or null (g0, host thread).
pub(crate) fn getg() -> *mut G {
    let mp = getm();
    if mp.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: non-null Ms are leaked and valid; curg is read by the M's own thread.
    unsafe { mref(mp) }.curg.get()
}

/// Runs the pending post-switch action on `mp`. Called right after every
/// `gort_swap` returns, on the M that the swap handed over.
/// A yield's requeue and a park's unlock are inlined at every switch; the
/// rest is out of line.
#[inline(always)]
fn run_post(mp: &'static M) {
    // Each arm clears `post` itself, and run_post_slow reads it again:
    // clearing it once before the match and handing the Post over by value
    // cost 4-8 more instructions per switch (callgrind, bench_yield at 1 P:
    // 182.7 against 186.7-190.7 per yield).
    match mp.post.get() {
        Post::None => {}
        Post::Runqput(gp) => {
            mp.post.set(Post::None);
            runqput(mp.pp(), gp, false);
        }
        Post::Unlock(l) => {
            mp.post.set(Post::None);
            // SAFETY: the parking goroutine holds l, which outlives its park (gopark_unlock_g).
            unsafe { &*l }.unlock();
        }
        _ => run_post_slow(mp),
    }
}

/// run_post's rare actions: a goroutine's exit, a park with its own unlockf.
#[inline(never)]
fn run_post_slow(mp: &'static M) {
    let post = mp.post.get();
    mp.post.set(Post::None);
    match post {
        Post::Gfput(gp) => gfput(mp.pp(), gp),
        Post::Park(gp, unlockf, lock) => {
            // SAFETY: gp is saved and parked; unlockf is the primitive's own contract for publishing it.
            if !unsafe { unlockf(gp, lock) } {
                // SAFETY: gp is still ours: unlockf declined to publish it.
                let g = unsafe { gref(gp) };
                g.status.store(GRUNNABLE, Ordering::Relaxed);
                runqput(mp.pp(), gp, true);
            }
        }
        Post::None | Post::Runqput(_) | Post::Unlock(_) => throw("run_post_slow: an action run_post handles inline"),
    }
}

/// Go's execute: make gp the current goroutine of mp. With `inherit`, gp
/// shares the current time slice and schedtick does not advance.
#[inline]
fn execute(mp: &'static M, pp: &P, gp: *mut G, inherit: bool) {
    if !inherit {
        pp.schedtick.store(pp.schedtick.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        if pp.preempt.load(Ordering::Relaxed) {
            pp.preempt.store(false, Ordering::Relaxed);
        }
    }
    // SAFETY: gp came out of a run queue, so this M owns it now.
    let g = unsafe { gref(gp) };
    g.status.store(GRUNNING, Ordering::Relaxed);
    g.started.set(true);
    g.m.set(mp as *const M as *mut M);
    mp.curg.set(gp);
}

/// Go's globrunqget: a batch from the global queue into pp's, returning one.
/// Executed by the owner of pp.
fn globrunqget(pp: &P) -> Option<*mut G> {
    loop {
        match sched().runq.steal_batch_and_pop(&pp.runq) {
            crossbeam_deque::Steal::Success(g) => return Some(g.0),
            crossbeam_deque::Steal::Empty => return None,
            crossbeam_deque::Steal::Retry => continue,
        }
    }
}

/// The non-blocking first half of Go's schedule/findRunnable, safe to run on
/// a goroutine stack: every 61st tick the global queue first (so it cannot
/// starve behind local work), then runnext and the local queues (see p.rs
/// for their order), then the global queue. Executed by the owner of pp.
///
/// It runs no timers: when called from `park_switch` the parking goroutine
/// still holds the locks its post-switch action releases, and a timer
/// callback (a `gort_after` send) could need one of them. Timers run in
/// [`timercheck`] instead, where no runtime lock is held.
#[inline(always)]
fn runqget_sched(pp: &P) -> Option<(*mut G, bool)> {
    let s = sched();
    let fair = pp.fair();
    if fair && !s.runq.is_empty() {
        // Just one, as Go's globrunqget(pp, 1) here: the local queue may be
        // full, and a batch would grow it.
        loop {
            match s.runq.steal() {
                crossbeam_deque::Steal::Success(g) => return Some((g.0, false)),
                crossbeam_deque::Steal::Empty => break,
                crossbeam_deque::Steal::Retry => continue,
            }
        }
    }
    if let Some(r) = runqget(pp, fair) {
        return Some(r);
    }
    if !s.runq.is_empty() {
        return globrunqget(pp).map(|gp| (gp, false));
    }
    None
}

/// Go's checkTimers at the top of schedule: runs pp's due timers (their
/// goroutines go to runnext), and every 61st tick every P's (an idle P's
/// timers have no M of their own while every M is busy; Go: stealWork's
/// timer pass). One atomic load when nothing is pending. Only where the
/// caller holds no runtime lock: after a switch, in gosched, on g0.
#[inline(always)]
fn timercheck(pp: &P) {
    if pp.timers.timer0.load(Ordering::Relaxed) != 0 || pp.fair() {
        timercheck_slow(pp);
    }
}

#[cold]
#[inline(never)]
fn timercheck_slow(pp: &P) {
    if pp.timers.timer0.load(Ordering::Relaxed) != 0 {
        crate::time::checktimers(pp, crate::os::nanotime());
    }
    if pp.fair() && sched().allp.len() > 1 && crate::time::earliest() != 0 {
        crate::time::checkalltimers(crate::os::nanotime());
    }
}

/// Switches from gp (running on mp) to the context at `target_sp`, which the
/// caller has already made current with `execute` or by clearing curg for
/// g0. Returns, when gp is resumed, the M it now runs on.
#[inline(never)]
fn switch_from(mp: &'static M, gp: *mut G, target_sp: usize) -> &'static M {
    // SAFETY: gp is the running goroutine of mp; its stack fields are stable.
    let g = unsafe { gref(gp) };
    if !canary_ok(g) {
        crate::signal::report_overflow(g, 0);
    }
    // SAFETY: target_sp was saved by gort_swap or built by init_frame, and the caller owns that context; gp's sched_sp slot lives in gp's descriptor.
    let newm = unsafe { arch::swap(g.sched_sp.as_ptr(), target_sp, mp as *const M as *mut M) };
    // SAFETY: gort_swap hands over the M of the thread that resumed us.
    let mp = unsafe { mref(newm) };
    run_post(mp);
    // The previous goroutine's locks are released now: a safe point for
    // timers (see runqget_sched).
    timercheck(mp.pp());
    mp
}

/// gp gives up mp with `post` to be run once it is saved: switch directly
/// to the next local G, or to g0 when the P has none.
fn park_switch(mp: &'static M, gp: *mut G, post: Post) -> &'static M {
    mp.post.set(post);
    let pp = mp.pp();
    let target = match runqget_sched(pp) {
        Some((next, inherit)) => {
            execute(mp, pp, next, inherit);
            // SAFETY: next is owned by us now (taken from the queue).
            unsafe { gref(next) }.sched_sp.get()
        }
        None => {
            mp.curg.set(std::ptr::null_mut());
            mp.g0_sp.get()
        }
    };
    switch_from(mp, gp, target)
}

/// A yield with nothing local looks at other Ps once in this many.
const LONE_YIELD_STEAL: u32 = 32;

/// Go's goyield (gort_yield on a goroutine): let the next local G run, and
/// queue gp at the tail. When the P has nothing else, gp simply continues.
pub(crate) fn gosched(mp: &'static M, gp: *mut G) {
    let pp = mp.pp();
    let picked = match runqget_sched(pp) {
        Some(r) => Some(r),
        None => gosched_alone(mp, pp),
    };
    let Some((next, inherit)) = picked else { return };
    // SAFETY: gp is the running goroutine of mp.
    unsafe { gref(gp) }.status.store(GRUNNABLE, Ordering::Relaxed);
    mp.post.set(Post::Runqput(gp));
    execute(mp, pp, next, inherit);
    // SAFETY: next is owned by us now.
    let target = unsafe { gref(next) }.sched_sp.get();
    switch_from(mp, gp, target);
}

/// gosched with nothing in the local and global queues.
#[inline(never)]
fn gosched_alone(mp: &'static M, pp: &P) -> Option<(*mut G, bool)> {
    // Timers run after the switch (switch_from); only when there is nothing
    // to switch to must they run here, or a goroutine yielding alone while it
    // waits for a timer would wait forever.
    timercheck(pp);
    runqget_sched(pp).or_else(|| {
        // Nothing local: look at the other Ps, as Go's Gosched does (it
        // goes through schedule and findrunnable). Without it, a yield
        // loop on one P would spin beside a goroutine stranded on another
        // P whose runner never yields (C code is not preempted); a
        // thief that took the yielder off that P is enough to get there
        // (test_parallel hit it under qemu-aarch64).
        // Only every LONE_YIELD_STEAL-th lone yield: a steal attempt
        // costs ~100 ns of fences on empty deques, and two goroutines
        // yielding alone on two Ps would pay it on every yield.
        let n = pp.lone_yields.get().wrapping_add(1);
        pp.lone_yields.set(n);
        if pp.solo || n % LONE_YIELD_STEAL != 0 {
            None
        } else {
            stealwork(mp, pp).map(|gp| (gp, false))
        }
    })
}

/// Go's gopark: puts the current goroutine to sleep. Once it is saved,
/// `unlockf(gp, lock)` runs on the next context; it publishes gp where a
/// waker will find it (and typically releases `lock`), or returns false to
/// keep running. Returns when [`goready`] made it runnable and it was
/// scheduled again, possibly on another M.
/// Only on a goroutine.
pub(crate) fn gopark(unlockf: ParkFn, lock: *mut c_void) {
    let mp = getm();
    // SAFETY: callers run on a goroutine, so the thread has an M.
    gopark_g(unsafe { mref(mp) }.curg.get(), unlockf, lock);
}

/// gopark for a caller that knows it runs as `gp`: the M comes from gp
/// itself (valid while gp runs; no TLS read).
#[inline]
pub(crate) fn gopark_g(gp: *mut G, unlockf: ParkFn, lock: *mut c_void) {
    park_g(gp, Post::Park(gp, unlockf, lock));
}

/// gopark_g whose unlock function would only release `lock`: the next
/// context on this M releases it inline once gp is saved. `lock` must be
/// held by gp and stay valid until then (it guards the queue gp is on, so
/// the object cannot go away before gp can be woken).
#[inline]
pub(crate) fn gopark_unlock_g(gp: *mut G, lock: &RawLock) {
    park_g(gp, Post::Unlock(lock));
}

#[inline(always)]
fn park_g(gp: *mut G, post: Post) {
    // SAFETY: gp is the running goroutine, so its m is this thread's M.
    let g = unsafe { gref(gp) };
    // SAFETY: as above.
    let mp = unsafe { mref(g.m.get()) };
    g.status.store(GWAITING, Ordering::Relaxed);
    park_switch(mp, gp, post);
}

/// Go's goready: makes a parked G runnable. From a goroutine it goes to
/// `runnext`, so a hand-off runs next; from a thread without a P to the
/// global queue. Any thread.
pub(crate) fn goready(gp: *mut G) {
    // SAFETY: the caller removed gp from the structure it was published to, so it owns it.
    let g = unsafe { gref(gp) };
    // A store, not Go's casgstatus: whoever took gp out of the structure it
    // was parked on owns it exclusively, so nobody else can race here.
    if g.status.load(Ordering::Relaxed) != GWAITING {
        throw("goready: goroutine not waiting");
    }
    g.status.store(GRUNNABLE, Ordering::Relaxed);
    let mp = getm();
    // SAFETY: non-null Ms are valid and p is read by the M's own thread.
    if !mp.is_null() && !unsafe { mref(mp) }.p.get().is_null() {
        // SAFETY: mp is non-null (checked above) and holds a P.
        runqput(unsafe { mref(mp) }.pp(), gp, true);
        wakep();
    } else {
        injectglist(gp);
    }
}

/// Queues gp globally from a thread without a P and wakes an M for it.
fn injectglist(gp: *mut G) {
    let s = sched();
    s.globrunqput(gp);
    // Pairs with the fence in findrunnable before its re-check.
    fence(Ordering::SeqCst);
    if s.main_started.load(Ordering::Relaxed) {
        wakep();
    }
}

/// Go's newproc: creates a goroutine running `fnc(arg)` and queues it.
/// With `main`, it is the main goroutine of program mode. Returns its goid.
pub(crate) fn newproc(fnc: GoFn, arg: *mut c_void, main: bool) -> Result<i64, Error> {
    let s = sched();
    let mp = getm();
    // SAFETY: non-null Ms are valid; p is read by the M's own thread.
    let pp = if mp.is_null() { std::ptr::null_mut() } else { unsafe { mref(mp) }.p.get() };
    if pp.is_null() {
        // A thread without a P (a host thread in library mode).
        let gp = match gfget_global() {
            Some(gp) => gp,
            None => stacks().malg()?,
        };
        let goid = s.goidgen.fetch_add(1, Ordering::Relaxed);
        s.ncreated_nop.fetch_add(1, Ordering::Relaxed);
        newproc1(gp, fnc, arg, goid, main);
        injectglist(gp);
        return Ok(goid);
    }
    // SAFETY: this thread's M holds pp.
    let pp = unsafe { &*pp };
    let gp = match gfget(pp) {
        Some(gp) => gp,
        None => stacks().malg()?,
    };
    if pp.goidcache.get() == pp.goidcacheend.get() {
        let start = s.goidgen.fetch_add(GOID_BATCH, Ordering::Relaxed);
        pp.goidcache.set(start);
        pp.goidcacheend.set(start + GOID_BATCH);
    }
    let goid = pp.goidcache.get();
    pp.goidcache.set(goid + 1);
    P::bump(&pp.ncreated, 1);
    newproc1(gp, fnc, arg, goid, main);
    // From a goroutine, the new G runs next (Go's newproc). From g0 before
    // mstart only the main goroutine does, so it runs first.
    // SAFETY: mp is non-null here.
    let on_goroutine = !unsafe { mref(mp) }.curg.get().is_null();
    runqput(pp, gp, on_goroutine || main);
    if s.main_started.load(Ordering::Relaxed) {
        wakep();
    }
    if on_goroutine {
        // SAFETY: mp is non-null and runs a goroutine (on_goroutine).
        let mp = unsafe { mref(mp) };
        let cur = mp.curg.get();
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
    let pp = mp.pp();
    let Some((next, inherit)) = runqget(pp, false) else { return };
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
fn newproc1(gp: *mut G, fnc: GoFn, arg: *mut c_void, goid: i64, main: bool) {
    // SAFETY: gp is GIDLE or GDEAD and owned by the caller.
    let g = unsafe { gref(gp) };
    g.goid.set(goid);
    g.is_main.set(main);
    g.started.set(false);
    g.spawned.set(0);
    g.fnc.set(Some(fnc));
    g.arg.set(arg);
    g.param.set(std::ptr::null_mut());
    let (start, start_arg): (GoFn, *mut c_void) = if main { (boot::runtime_main, gp.cast()) } else { (fnc, arg) };
    // SAFETY: the stack is owned (see above) and stack_hi is 64-byte aligned.
    let sp = unsafe { arch::init_frame(g.stack_hi, start, start_arg, gp, goentry, goexit_hook) };
    g.sched_sp.set(sp);
    g.status.store(GRUNNABLE, Ordering::Relaxed);
}

/// First code of every goroutine, called by gort_gostart: finishes the
/// switch that started it.
unsafe extern "C" fn goentry(mp: *mut M, _gp: *mut G) {
    // SAFETY: gort_swap handed over the M of this thread.
    let mp = unsafe { mref(mp) };
    run_post(mp);
    timercheck(mp.pp());
}

/// Called by gort_gostart when the start function returns.
unsafe extern "C" fn goexit_hook() -> ! {
    let mp = getm();
    // SAFETY: we are on a goroutine, so the thread has an M.
    let mp = unsafe { mref(mp) };
    goexit0(mp, mp.curg.get())
}

/// Go's goexit0: gp is finished; its stack is recycled by the successor.
pub(crate) fn goexit0(mp: &'static M, gp: *mut G) -> ! {
    // SAFETY: gp is the running goroutine.
    let g = unsafe { gref(gp) };
    if !canary_ok(g) {
        crate::signal::report_overflow(g, 0);
    }
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

/// Go's schedule, on g0: one round of finding a G and running it, forever.
pub(crate) fn schedule(mp: &'static M) -> ! {
    loop {
        run_post(mp);
        let (gp, inherit) = findrunnable(mp);
        if mp.spinning.get() {
            resetspinning(mp);
        }
        execute(mp, mp.pp(), gp, inherit);
        // SAFETY: gp is owned (taken from a queue) and g0_sp lives in mp, which outlives the switch; g0 always resumes on its own thread.
        unsafe { arch::swap(mp.g0_sp.as_ptr(), gref(gp).sched_sp.get(), mp as *const M as *mut M) };
    }
}

/// Go's findRunnable: a G to run, stealing and parking the M as needed.
/// Returns with mp holding a P.
fn findrunnable(mp: &'static M) -> (*mut G, bool) {
    let s = sched();
    loop {
        let pp = mp.pp();
        timercheck(pp);
        if let Some(r) = runqget_sched(pp) {
            return r;
        }
        // Due timers of every P, including idle ones (Go: stealWork's timer
        // pass); whatever they ready lands in our runnext.
        if crate::time::checkalltimers(crate::os::nanotime()) {
            continue;
        }
        let procs = s.gomaxprocs;
        if procs > 1
            && (mp.spinning.get() || 2 * s.nmspinning.load(Ordering::SeqCst) < procs - s.npidle.load(Ordering::SeqCst))
        {
            if !mp.spinning.get() {
                mp.spinning.set(true);
                s.nmspinning.fetch_add(1, Ordering::SeqCst);
            }
            if let Some(gp) = stealwork(mp, pp) {
                return (gp, false);
            }
        }

        // A timer due within TIMER_SPIN_NS: keep the P and poll for it.
        // Giving the P back and sleeping on a futex costs more than that on
        // a virtual machine (wake-up latency and the hand-over of the P),
        // and every goroutine the timer readies would be as late.
        if timer_soon() {
            std::hint::spin_loop();
            continue;
        }
        // Nothing to do: give the P back, stop spinning, re-check, sleep.
        {
            let mut l = s.locked();
            if !s.runq.is_empty() {
                drop(l);
                if let Some(gp) = globrunqget(pp) {
                    return (gp, false);
                }
                continue;
            }
            releasep(mp);
            pidleput(&mut l, pp as *const P as *mut P);
        }
        let was_spinning = mp.spinning.get();
        if was_spinning {
            mp.spinning.set(false);
            if s.nmspinning.fetch_sub(1, Ordering::SeqCst) == 0 {
                throw("findrunnable: negative nmspinning");
            }
        }
        // Pairs with the fence in injectglist; see "Worker thread parking".
        fence(Ordering::SeqCst);
        if !s.runq.is_empty() || s.allp.iter().any(|p2| !runqempty(p2)) {
            let got = pidleget(&mut s.locked());
            if let Some(pp) = got {
                acquirep(mp, pp);
                if was_spinning {
                    mp.spinning.set(true);
                    s.nmspinning.fetch_add(1, Ordering::SeqCst);
                }
                continue;
            }
        }
        // Pending timers: one M sleeps until the earliest (Go's netpoll block).
        if crate::time::earliest() != 0 && crate::time::timersleep(mp) {
            continue;
        }
        stopm(mp);
    }
}

/// An idle M keeps its P and polls, rather than sleeping, for a timer due
/// within this many ns.
const TIMER_SPIN_NS: i64 = 20_000;

/// Whether some P's earliest timer is due within TIMER_SPIN_NS, or became
/// due less than TIMER_SPIN_NS ago (after findrunnable's last pass over the
/// timers: the next pass runs it). One overdue for longer is still listed
/// although every pass saw it (its owner is changing it right now), and
/// polling for it must not turn into spinning for ever.
fn timer_soon() -> bool {
    let next = crate::time::earliest();
    next != 0 && (next - crate::os::nanotime()).abs() < TIMER_SPIN_NS
}

/// Takes an idle P for mp (after the timer sleeper woke). False if none.
pub(crate) fn acquire_idle_p(mp: &'static M) -> bool {
    let got = pidleget(&mut sched().locked());
    match got {
        Some(pp) => {
            acquirep(mp, pp);
            true
        }
        None => false,
    }
}

/// Go's stealWork: four rounds over the other Ps in random order, taking
/// half of a victim's queue; the last round may take its runnext too.
fn stealwork(mp: &'static M, pp: &P) -> Option<*mut G> {
    let s = sched();
    let n = s.allp.len() as u32;
    for round in 0..4 {
        let last = round == 3;
        let start = mp.fastrand() % n;
        let stride = s.coprimes[(mp.fastrand() as usize) % s.coprimes.len()];
        let mut i = start;
        for _ in 0..n {
            let p2 = &s.allp[i as usize];
            i = (i + stride) % n;
            if std::ptr::eq(p2, pp) {
                continue;
            }
            if let Some(gp) = runqsteal(pp, p2, last) {
                return Some(gp);
            }
        }
    }
    None
}

/// Go's resetspinning: mp found work; if it was spinning, another M takes
/// over the search.
fn resetspinning(mp: &'static M) {
    mp.spinning.set(false);
    if sched().nmspinning.fetch_sub(1, Ordering::SeqCst) == 0 {
        throw("resetspinning: negative nmspinning");
    }
    wakep();
}

/// Go's wakep: start or wake an M to run Gs, if there is an idle P and no
/// M is already spinning.
#[inline]
pub(crate) fn wakep() {
    // The common case, every P busy, is one load and no call.
    if sched().npidle.load(Ordering::SeqCst) != 0 {
        wakep_slow();
    }
}

#[cold]
#[inline(never)]
fn wakep_slow() {
    let s = sched();
    if s.nmspinning.load(Ordering::SeqCst) != 0
        || s.nmspinning.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_err()
    {
        return;
    }
    startm(None, true);
}

/// Go's startm: run some M with pp (or an idle P). With `spinning`, the
/// caller incremented nmspinning and the M starts out spinning.
pub(crate) fn startm(pp: Option<*mut P>, spinning: bool) {
    let s = sched();
    let mut l = s.locked();
    let pp = match pp.or_else(|| pidleget(&mut l)) {
        Some(pp) => pp,
        None => {
            // Give the spinning token back *under* sched.lock, as Go's wakep
            // does. Between our nmspinning CAS and this decrement other
            // wakers see a spinning M and leave their work to it, although
            // none exists. Done after unlocking, an M could meanwhile park
            // (pidleput under the lock, re-check finds the queues empty) and
            // a waker then see npidle > 0 but nmspinning == 1 and return: the
            // work sat in the global queue with every M asleep
            // (test_lib_mixed, 1 run in ~10 under qemu-aarch64). Under the
            // lock, a waker that sees the parked M's npidle also sees this
            // decrement (the lock orders it before that pidleput).
            if spinning {
                s.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
            drop(l);
            return;
        }
    };
    let nmp = mget(&mut l);
    drop(l);
    match nmp {
        Some(nmp) => {
            // SAFETY: nmp came off the idle list, so it is parked in stopm and waits for exactly this hand-over.
            let m = unsafe { mref(nmp) };
            m.start_spinning.store(spinning, Ordering::Relaxed);
            m.nextp.store(pp, Ordering::Release);
            m.park.wakeup();
        }
        None => {
            if newm(pp, spinning).is_err() {
                let mut l = s.locked();
                pidleput(&mut l, pp);
                if spinning {
                    s.nmspinning.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }
}

/// Go's stopm: park mp until startm hands it a P.
fn stopm(mp: &'static M) {
    let s = sched();
    {
        let mut l = s.locked();
        mp.park.clear();
        l.midle.push(mp as *const M as *mut M);
        s.nmidle.fetch_add(1, Ordering::Relaxed);
    }
    mp.park.sleep();
    let pp = load_nextp(mp);
    if pp.is_null() {
        throw("stopm: woken without a P");
    }
    acquirep(mp, pp);
    if mp.start_spinning.swap(false, Ordering::Relaxed) {
        mp.spinning.set(true);
    }
}

fn mget(l: &mut Locked) -> Option<*mut M> {
    let mp = l.midle.pop()?;
    sched().nmidle.fetch_sub(1, Ordering::Relaxed);
    Some(mp)
}

/// Go's pidleget. sched.lock must be held.
fn pidleget(l: &mut Locked) -> Option<*mut P> {
    let pp = l.pidle.pop()?;
    let s = sched();
    s.npidle.fetch_sub(1, Ordering::SeqCst);
    // sysmon sleeps while every P is idle; a P is about to run again, by
    // whatever path (startm, a parking M's re-check, the timer sleeper), so
    // time slices and timers must be watched again.
    if s.sysmonwait.load(Ordering::Relaxed) && s.sysmonwait.swap(false, Ordering::SeqCst) {
        s.sysmonnote.wakeup();
    }
    Some(pp)
}

/// Go's pidleput. sched.lock must be held.
pub(crate) fn pidleput(l: &mut Locked, pp: *mut P) {
    // SAFETY: Ps are leaked; the caller released this one.
    unsafe { &*pp }.status.store(PIDLE, Ordering::Relaxed);
    l.pidle.push(pp);
    sched().npidle.fetch_add(1, Ordering::SeqCst);
}

/// Go's acquirep: mp takes pp.
pub(crate) fn acquirep(mp: &M, pp: *mut P) {
    mp.p.set(pp);
    // SAFETY: Ps are leaked.
    unsafe { &*pp }.status.store(PRUNNING, Ordering::Relaxed);
}

/// Go's releasep: mp lets go of its P.
fn releasep(mp: &M) -> *mut P {
    let pp = mp.p.replace(std::ptr::null_mut());
    if pp.is_null() {
        throw("releasep: no P");
    }
    pp
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
    crate::signal::minit();
}

// ---------------------------------------------------------------------------
// C API

fn initialised() -> bool {
    boot::is_ready()
}

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
    ffi_guard!("gort_go", {
        if !initialised() {
            return GORT_ENOTINIT as i64;
        }
        let Some(f) = fn_ else { return GORT_EINVAL as i64 };
        let main = boot::claim_main();
        match newproc(f, arg, main) {
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

/// Lets other goroutines run (Go's runtime.Gosched).
///
/// On a goroutine: the next runnable goroutine of this P runs and the caller
/// goes to the tail of the P's local run queue; if the P has nothing else to
/// run, it takes work from the global queue (and, every 32nd time, from
/// another P's queues); only if there is none the caller continues at once. It may resume on
/// another thread. Off
/// a goroutine (a host thread, or before `gort_mstart`) it yields the OS
/// thread (`sched_yield`).
///
/// Returns GORT_OK, or GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_yield() -> c_int {
    ffi_guard!("gort_yield", {
        // A thread has an M only after init, so test that first: on a
        // goroutine the init check is implied.
        let mp = getm();
        // SAFETY: non-null Ms are valid; curg is read by the M's own thread.
        let gp = if mp.is_null() { std::ptr::null_mut() } else { unsafe { mref(mp) }.curg.get() };
        if !gp.is_null() {
            // SAFETY: mp is non-null when gp is.
            gosched(unsafe { mref(mp) }, gp);
            return GORT_OK;
        }
        if !initialised() {
            return GORT_ENOTINIT;
        }
        crate::os::osyield();
        GORT_OK
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
        if !initialised() {
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

/// The calling goroutine's id (> 0), 0 when not called on a goroutine, or
/// GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_goid() -> i64 {
    ffi_guard!("gort_goid", {
        if !initialised() {
            return GORT_ENOTINIT as i64;
        }
        let gp = getg();
        if gp.is_null() {
            0
        } else {
            // SAFETY: the current G is valid and owned by this thread.
            unsafe { gref(gp) }.goid.get()
        }
    })
}

/// Number of goroutines that exist (created and not yet finished), or
/// GORT_ENOTINIT (Go's runtime.NumGoroutine).
#[no_mangle]
pub extern "C" fn gort_numgoroutine() -> i64 {
    ffi_guard!("gort_numgoroutine", {
        match try_sched() {
            Some(s) if initialised() => s.gcount(),
            _ => GORT_ENOTINIT as i64,
        }
    })
}

/// Number of Ps (Go's runtime.GOMAXPROCS(0)), or GORT_ENOTINIT. Fixed at
/// init from GORT_MAXPROCS, GOMAXPROCS or the CPU affinity mask.
#[no_mangle]
pub extern "C" fn gort_gomaxprocs() -> i32 {
    ffi_guard!("gort_gomaxprocs", {
        match try_sched() {
            Some(s) if initialised() => s.gomaxprocs as i32,
            _ => GORT_ENOTINIT,
        }
    })
}
