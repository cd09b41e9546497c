//! The scheduler (Go's proc.go): `schedule`, `findrunnable`, the direct
//! switch to the next G (`park_switch`, `gosched`), `gopark`/`goready`.
//!
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
//! The post-switch actions that make the direct switch safe are in
//! `switch.rs`; idle Ps and Ms, `wakep` and the lost-wakeup argument in
//! `idle.rs`; creating and ending goroutines in `spawn.rs`.

use crate::boot;
use crate::ffi::{GORT_ENOTINIT, GORT_OK};
use crate::g::{gref, WaitReason, G, GRUNNABLE, GWAITING};
use crate::idle::{acquirep, pidleget, pidleput, releasep, resetspinning, stopm, wakep};
use crate::lock::RawLock;
use crate::lockosthread::{is_locked, prepare_stop, startlockedm, stoplockedm};
use crate::m::{getg, getm, mref, M};
use crate::netpoll::GList;
use crate::p::{runqempty, runqget, runqput, runqsteal, P};
use crate::panic::throw;
use crate::sched::{sched, try_sched};
use crate::switch::{execute, gogo, run_post, switch_from, ParkFn, Post};
use crate::syscall::{callin, callin_nowait, callout};
use crate::timer::timercheck;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{fence, Ordering};

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

/// gp gives up mp with `post` to be run once it is saved: switch directly
/// to the next local G, or to g0 when the P has none.
pub(crate) fn park_switch(mp: &'static M, gp: *mut G, post: Post) -> &'static M {
    mp.post.set(post);
    let pp = mp.pp();
    // A locked M runs nothing but its goroutine: g0 stops it (stoplockedm).
    // These two tests (M, then the picked G) cost 4-5 instructions per
    // switch; a global "no G is locked" flag would not save them, since the
    // picked G must be tested after it is taken off the queue anyway.
    let picked = if mp.lockedg.get().is_null() { runqget_sched(pp) } else { None };
    let target = match picked {
        Some((next, inherit)) if !is_locked(next) => {
            execute(mp, pp, next, inherit);
            // SAFETY: next is owned by us now (taken from the queue).
            unsafe { gref(next) }.sched_sp.get()
        }
        other => {
            if let Some((next, _)) = other {
                // Locked to another M: g0 hands it over (startlockedm).
                mp.nextlocked.set(next);
            }
            prepare_stop(mp);
            mp.set_curg(std::ptr::null_mut());
            mp.g0_sp.get()
        }
    };
    switch_from(mp, gp, target)
}

/// park_switch for a goroutine whose P sysmon took while it ran C code
/// (its `callin` found out): nothing to pick, so straight to g0, which
/// runs the post-switch action and stops the M until it gets a P.
#[cold]
#[inline(never)]
fn park_g0(mp: &'static M, gp: *mut G, post: Post) -> &'static M {
    mp.post.set(post);
    prepare_stop(mp);
    mp.set_curg(std::ptr::null_mut());
    switch_from(mp, gp, mp.g0_sp.get())
}

/// A yield with nothing local looks at other Ps once in this many.
const LONE_YIELD_STEAL: u32 = 32;

/// Go's goyield (gort_yield on a goroutine): let the next local G run, and
/// queue gp at the tail. When the P has nothing else, gp simply continues.
/// gp is the goroutine running on mp; no runtime lock may be held.
#[inline(always)]
pub(crate) fn gosched(mp: &'static M, gp: *mut G) {
    // SAFETY: gp is the running goroutine of mp.
    let g = unsafe { gref(gp) };
    let (mp, entered) = callin(mp, g);
    goyield(mp, gp);
    callout(g, entered);
}

#[inline(always)]
fn goyield(mp: &'static M, gp: *mut G) {
    if !mp.lockedg.get().is_null() {
        return goyield_locked(mp, gp);
    }
    let pp = mp.pp();
    let picked = match runqget_sched(pp) {
        Some(r) => Some(r),
        None => gosched_alone(mp, pp),
    };
    let Some((next, inherit)) = picked else { return };
    // SAFETY: gp is the running goroutine of mp.
    unsafe { gref(gp) }.status.store(GRUNNABLE, Ordering::Relaxed);
    mp.post.set(Post::Runqput(gp));
    if is_locked(next) {
        mp.nextlocked.set(next);
        mp.set_curg(std::ptr::null_mut());
        switch_from(mp, gp, mp.g0_sp.get());
        return;
    }
    execute(mp, pp, next, inherit);
    // SAFETY: next is owned by us now.
    let target = unsafe { gref(next) }.sched_sp.get();
    switch_from(mp, gp, target);
}

/// goyield on a locked M (Go's goschedImpl then stoplockedm): when other
/// goroutines wait, gp queues behind them and the M sleeps, its P handed
/// to another M; whoever picks gp hands a P back (startlockedm). A yield
/// with nothing else runnable returns at once.
#[cold]
#[inline(never)]
fn goyield_locked(mp: &'static M, gp: *mut G) {
    let pp = mp.pp();
    timercheck(pp);
    if runqempty(pp) && sched().runq.is_empty() {
        return;
    }
    // SAFETY: gp is the running goroutine of mp.
    unsafe { gref(gp) }.status.store(GRUNNABLE, Ordering::Relaxed);
    mp.post.set(Post::Runqput(gp));
    prepare_stop(mp);
    mp.set_curg(std::ptr::null_mut());
    switch_from(mp, gp, mp.g0_sp.get());
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
pub(crate) fn gopark(unlockf: ParkFn, lock: *mut c_void, reason: WaitReason) {
    let mp = getm();
    // SAFETY: callers run on a goroutine, so the thread has an M.
    gopark_g(unsafe { mref(mp) }.curg(), unlockf, lock, reason);
}

/// gopark for a caller that knows it runs as `gp`: the M comes from gp
/// itself (valid while gp runs; no TLS read).
#[inline]
pub(crate) fn gopark_g(gp: *mut G, unlockf: ParkFn, lock: *mut c_void, reason: WaitReason) {
    park_g(gp, Post::Park(gp, unlockf, lock), reason);
}

/// gopark_g whose unlock function would only release `lock`: the next
/// context on this M releases it inline once gp is saved. `lock` must be
/// held by gp and stay valid until then (it guards the queue gp is on, so
/// the object cannot go away before gp can be woken).
#[inline]
pub(crate) fn gopark_unlock_g(gp: *mut G, lock: &RawLock, reason: WaitReason) {
    park_g(gp, Post::Unlock(lock), reason);
}

#[inline(always)]
fn park_g(gp: *mut G, post: Post, reason: WaitReason) {
    // SAFETY: gp is the running goroutine, so its m is this thread's M.
    let g = unsafe { gref(gp) };
    // SAFETY: as above.
    let mp = unsafe { mref(g.m.get()) };
    // Without waiting: the caller may hold the lock `post` releases.
    let (kept, entered) = callin_nowait(mp, g);
    // Parks come straight from the C API, never nested in another call.
    debug_assert!(entered, "park_g: nested in another runtime call");
    g.waitreason.store(reason as u8, Ordering::Relaxed);
    g.waitsince.store(crate::sysmon::coarse_now(), Ordering::Relaxed);
    g.status.store(GWAITING, Ordering::Relaxed);
    match kept {
        Some(mp) => park_switch(mp, gp, post),
        None => park_g0(mp, gp, post),
    };
    callout(g, true);
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
    if mp.is_null() {
        injectglist(gp);
        return;
    }
    // SAFETY: non-null Ms are valid; curg and p are read by the M's own thread.
    let mp = unsafe { mref(mp) };
    let cur = mp.curg();
    if cur.is_null() {
        // g0 (a timer callback in findrunnable), with or without a P.
        if mp.p.get().is_null() {
            injectglist(gp);
        } else {
            runqput(mp.pp(), gp, true);
            wakep();
        }
        return;
    }
    // SAFETY: cur is the goroutine running on this thread.
    let c = unsafe { gref(cur) };
    // Without waiting: a waker may hold locks.
    match callin_nowait(mp, c) {
        (Some(mp), entered) => {
            runqput(mp.pp(), gp, true);
            wakep();
            callout(c, entered);
        }
        (None, entered) => {
            injectglist(gp);
            callout(c, entered);
        }
    }
}

/// Queues gp globally from a thread without a P and wakes an M for it.
pub(crate) fn injectglist(gp: *mut G) {
    let s = sched();
    s.globrunqput(gp);
    // Pairs with the fence in findrunnable before its re-check.
    fence(Ordering::SeqCst);
    if s.main_started.load(Ordering::Relaxed) {
        wakep();
    }
}

/// Go's injectglist: makes a batch of runnable goroutines (readied by the
/// poller, say) run. As many as there are idle Ps go to the global queue,
/// with an M started for each; the rest to this M's P, if it has one. Any
/// thread. On a goroutine it brackets itself with a callin that never
/// waits for a P: a full batch is injected while its builder holds a
/// descriptor lock.
pub(crate) fn injectglist_batch(gs: &[*mut G]) {
    let s = sched();
    let mp = getm();
    // SAFETY: non-null Ms are valid; curg is read by the M's own thread.
    let m = if mp.is_null() { None } else { Some(unsafe { mref(mp) }) };
    let cur = m.map_or(std::ptr::null_mut(), |m| m.curg());
    let (kept, entered) = match m {
        // SAFETY: cur is the goroutine running on this thread.
        Some(m) if !cur.is_null() => callin_nowait(m, unsafe { gref(cur) }),
        Some(m) => (Some(m), false),
        None => (None, false),
    };
    let local = kept.filter(|m| !m.p.get().is_null());
    let nglobal = match local {
        Some(_) => (s.npidle.load(Ordering::SeqCst) as usize).min(gs.len()),
        None => gs.len(),
    };
    for &gp in &gs[..nglobal] {
        s.globrunqput(gp);
    }
    if nglobal > 0 {
        // Pairs with the fence in findrunnable before its re-check.
        fence(Ordering::SeqCst);
        for _ in 0..nglobal {
            if s.npidle.load(Ordering::SeqCst) == 0 {
                break;
            }
            crate::idle::startm(None, false);
        }
    }
    if let Some(m) = local {
        // Go's runqputbatch: as many as fit in the local queue, the rest to
        // the global one (runqput would move half the queue there each time
        // it found it full).
        let pp = m.pp();
        for &gp in &gs[nglobal..] {
            if pp.runq.len() < crate::p::RUNQ_CAP {
                runqput(pp, gp, false);
            } else {
                s.globrunqput(gp);
            }
        }
        wakep();
    }
    if entered {
        // SAFETY: as above.
        callout(unsafe { gref(cur) }, true);
    }
}

/// Go's schedule, on g0: one round of finding a G and running it, forever.
pub(crate) fn schedule(mp: &'static M) -> ! {
    loop {
        run_post(mp);
        let next = mp.nextlocked.replace(std::ptr::null_mut());
        if !next.is_null() {
            // A goroutine stack picked a G locked to another M.
            if mp.p.get().is_null() {
                throw("schedule: locked goroutine picked without a P");
            }
            startlockedm(mp, next);
        }
        let locked = mp.lockedg.get();
        if !locked.is_null() {
            // Go's schedule: a locked M waits for its goroutine alone.
            stoplockedm(mp);
            execute(mp, mp.pp(), locked, false);
            gogo(mp, locked);
            continue;
        }
        if mp.p.get().is_null() {
            // A goroutine whose P sysmon took parked, or found no P to
            // continue with (exitsyscall0): this M waits for a P.
            crate::syscall::forget_taken_p(mp);
            stopm(mp);
        }
        let (gp, inherit) = findrunnable(mp);
        if mp.spinning.get() {
            resetspinning(mp);
        }
        if is_locked(gp) {
            startlockedm(mp, gp);
            continue;
        }
        execute(mp, mp.pp(), gp, inherit);
        gogo(mp, gp);
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
        if crate::timer::checkalltimers(crate::os::nanotime()) {
            continue;
        }
        // Poll the network without blocking, unless an M blocks in the
        // poller already (Go: before stealing, as an optimisation).
        let lastpoll = s.lastpoll.load(Ordering::SeqCst);
        if crate::netpoll::any_waiters() && lastpoll != 0 {
            let mut list = GList::new();
            // Unlike Go, a non-blocking poll counts as a poll: under load
            // the Ms poll here often, and sysmon's poll every 10 ms would
            // only move what it finds to the global queue. A CAS, so that an
            // M that just started to block in the poller keeps its claim.
            let _ = s.lastpoll.compare_exchange(lastpoll, crate::os::nanotime(), Ordering::SeqCst, Ordering::Relaxed);
            if crate::netpoll::netpoll(0, &mut list) {
                if let Some(gp) = list.pop() {
                    list.inject();
                    return (gp, false);
                }
            }
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
        // One M blocks in the poller, until the earliest timer (Go's
        // "poll network until next timer").
        let until = crate::timer::earliest();
        if (crate::netpoll::any_waiters() || until != 0) && s.lastpoll.swap(0, Ordering::SeqCst) != 0 {
            if let Some(r) = netpoll_block(mp, until, was_spinning) {
                return r;
            }
            continue;
        }
        if until != 0 {
            // Another M polls: make sure it wakes up for our timer.
            let pu = s.poll_until.load(Ordering::SeqCst);
            if pu == 0 || pu > until {
                crate::netpoll::netpoll_break();
            }
        }
        stopm(mp);
    }
}

/// findrunnable's blocking poll, by mp without a P after it claimed the
/// poller (`lastpoll` 0): waits for I/O or the earliest timer (`until`),
/// then takes an idle P. Returns a G to run, or None to look again (with a
/// P) or stop (without one: every P is busy and got the readied
/// goroutines).
fn netpoll_block(mp: &'static M, until: i64, was_spinning: bool) -> Option<(*mut G, bool)> {
    let s = sched();
    s.poll_until.store(until, Ordering::SeqCst);
    let delay = if until == 0 { -1 } else { (until - crate::os::nanotime()).max(0) };
    let mut list = GList::new();
    crate::netpoll::netpoll(delay, &mut list);
    s.poll_until.store(0, Ordering::SeqCst);
    s.lastpoll.store(crate::os::nanotime(), Ordering::SeqCst);
    let got = pidleget(&mut s.locked());
    let Some(pp) = got else {
        list.inject();
        stopm(mp);
        return None;
    };
    acquirep(mp, pp);
    // The timers we woke for go on our P; another M must take over the
    // poller for the rest, or an idle P's timers would wait until some M
    // runs out of work.
    if crate::timer::earliest() != 0 {
        wakep();
    }
    if let Some(gp) = list.pop() {
        list.inject();
        return Some((gp, false));
    }
    if was_spinning {
        mp.spinning.set(true);
        s.nmspinning.fetch_add(1, Ordering::SeqCst);
    }
    None
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
    let next = crate::timer::earliest();
    next != 0 && (next - crate::os::nanotime()).abs() < TIMER_SPIN_NS
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

// ---------------------------------------------------------------------------
// C API

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
        let gp = if mp.is_null() { std::ptr::null_mut() } else { unsafe { mref(mp) }.curg() };
        if !gp.is_null() {
            // SAFETY: mp is non-null when gp is.
            gosched(unsafe { mref(mp) }, gp);
            return GORT_OK;
        }
        if !boot::is_ready() {
            return GORT_ENOTINIT;
        }
        crate::os::osyield();
        GORT_OK
    })
}

/// The calling goroutine's id (> 0), 0 when not called on a goroutine, or
/// GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_goid() -> i64 {
    ffi_guard!("gort_goid", {
        if !boot::is_ready() {
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
            Some(s) if boot::is_ready() => s.gcount(),
            _ => GORT_ENOTINIT as i64,
        }
    })
}

/// Number of Ps (Go's runtime.GOMAXPROCS(0)), or GORT_ENOTINIT. Fixed at
/// init from GORT_MAXPROCS, GOMAXPROCS or else the CPU affinity mask,
/// lowered to the cgroup's CPU limit (rounded up, at least 2).
#[no_mangle]
pub extern "C" fn gort_gomaxprocs() -> i32 {
    ffi_guard!("gort_gomaxprocs", {
        match try_sched() {
            Some(s) if boot::is_ready() => s.gomaxprocs as i32,
            _ => GORT_ENOTINIT,
        }
    })
}
