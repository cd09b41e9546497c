//! Blocking calls and preemption by hand-off (Go's entersyscall,
//! exitsyscall, retake and handoffp).
//!
//! # C code is one long system call
//!
//! Go's runtime takes the P of a goroutine that sits in a system call and
//! gives it to another M (sysmon's `retake`), so that the goroutines queued
//! behind it run while the call blocks. In gort every goroutine runs C code
//! between its gort calls, and C code may block anywhere (a plain `read()`,
//! a library's mutex) or compute for seconds. So gort treats *all* C code
//! the way Go treats a system call (or the way Go's cgo treats a call into
//! C): while a goroutine runs outside the runtime its P may be taken.
//! Every gort call that touches scheduler state starts with [`callin`] (Go's
//! `exitsyscall`, as in `cgocallbackg`) and ends with [`callout`] (Go's
//! `entersyscall`). `gort_entersyscall`/`gort_exitsyscall` only mark a call
//! as blocking, so that sysmon hands the P off after ~20 us instead of the
//! 10 ms (Go's forcePreemptNS) it grants a goroutine that computes.
//!
//! The goroutine itself is never interrupted: interrupting C code at an
//! arbitrary instruction is unsafe (it may hold malloc's lock). It keeps
//! running on its M without a P; at its next gort call `callin` notices and
//! gets a P back: its old one if still idle, else any idle one, else it
//! queues itself on the global run queue and its M sleeps (Go's
//! exitsyscallfast / exitsyscall0). Meanwhile its P's queued goroutines,
//! `runnext` and timers run elsewhere. More threads than `GORT_MAXPROCS`
//! may therefore run C code at once, as in Go with cgo.
//!
//! # The handshake
//!
//! `G::rtseq` is odd while the goroutine is inside the runtime (or not
//! running) and even while it runs C code; sysmon samples it. If a running
//! P's goroutine keeps the same even count for long enough, sysmon asks for
//! the P (`M::retake`: NONE -> ASKED) and checks the count again; the
//! goroutine's `callin` bumps the count and then reads `retake`. This is
//! Dekker's mutual exclusion: with a full barrier between the write and the
//! read on both sides, either sysmon sees the new count (and withdraws) or
//! the goroutine sees ASKED (and refuses by moving it back to NONE, or
//! finds TAKEN). The two sides race for the final CAS from ASKED, so
//! exactly one of them wins.
//!
//! The barrier on the goroutine's side would cost a locked instruction on
//! every gort call, so gort uses Linux's asymmetric barrier instead:
//! sysmon issues `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which runs
//! a full barrier on every CPU currently running one of the process's
//! threads, and the goroutine's side needs only a compiler barrier (the
//! technique of liburcu and folly's asymmetric fences). Where membarrier is
//! unavailable (Linux < 4.14, a seccomp filter), `callin` issues a real
//! fence. `callin` thus costs two plain loads, one plain store and two
//! branches, `callout` one load and one store; no locked instruction.

use crate::ffi::{GORT_EPERM, GORT_OK};
use crate::g::{gref, G, GRUNNABLE};
use crate::idle::{acquirep, pidleget, pidleget_prefer, pidleput, startm};
use crate::m::{getm, getm_at_entry, mref, M};
use crate::p::{runqempty, runqput, P, PRUNNING};
use crate::sched::sched;
use crate::switch::{switch_from, Post};
use std::ffi::c_int;
use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicI64, Ordering};

/// `M::retake` states, on top of the idle value (0, or RETAKE_FENCE).
const RETAKE_ASKED: u32 = 1;
const RETAKE_TAKEN: u32 = 2;
/// Set in every M's `retake` for good when membarrier is unavailable: the
/// fast path of `callin` then always finds it non-zero and takes the slow
/// path, which fences before it reads `retake` again. The fast path with
/// membarrier thus never tests which barrier is in use.
const RETAKE_FENCE: u32 = 4;

/// Set at init when membarrier is unavailable: `callin` then needs a fence.
static CALLIN_FENCE: AtomicBool = AtomicBool::new(false);

/// An M without a P, about to wait for one (stopm, stoplockedm), forgets
/// the P sysmon took from it: the next P it gets starts undisturbed.
pub(crate) fn forget_taken_p(mp: &M) {
    mp.retake.store(retake_idle(), Ordering::Relaxed);
    mp.oldp.set(std::ptr::null_mut());
}

/// `M::retake` of an M that holds its P undisturbed (or holds none).
#[inline]
pub(crate) fn retake_idle() -> u32 {
    if CALLIN_FENCE.load(Ordering::Relaxed) {
        RETAKE_FENCE
    } else {
        0
    }
}
/// GORT_DEBUG=asyncpreemptoff=1: never take the P of a goroutine that runs
/// C code outside `gort_entersyscall` (Go's GODEBUG knob of that name).
static ASYNC_PREEMPT_OFF: AtomicBool = AtomicBool::new(false);

/// P hand-offs by sysmon, for gort_stats: blocking calls and running C code.
pub(crate) static HANDOFFS_SYSCALL: AtomicI64 = AtomicI64::new(0);
pub(crate) static HANDOFFS_PREEMPT: AtomicI64 = AtomicI64::new(0);

const MEMBARRIER_CMD_QUERY: libc::c_long = 0;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

/// At schedinit: registers for membarrier, or falls back to fences.
/// `use_membarrier` false (GORT_DEBUG=membarrier=0) forces the fallback.
/// Returns the method, for the init trace.
pub(crate) fn syscallinit(use_membarrier: bool, asyncpreemptoff: bool) -> &'static str {
    ASYNC_PREEMPT_OFF.store(asyncpreemptoff, Ordering::Relaxed);
    // SAFETY: membarrier takes no pointers; an unknown command fails with EINVAL.
    let ok = use_membarrier
        && unsafe {
            let cmds = libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
            cmds >= 0
                && cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED != 0
                && libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
        };
    // Before any M exists: M::new reads it through retake_idle.
    CALLIN_FENCE.store(!ok, Ordering::Relaxed);
    if ok {
        "membarrier"
    } else {
        "fence"
    }
}

/// The heavy side of the handshake's barrier (sysmon only).
fn heavy_barrier() {
    fence(Ordering::SeqCst);
    if !CALLIN_FENCE.load(Ordering::Relaxed) {
        // SAFETY: no pointers; registered at init (else CALLIN_FENCE is set).
        let r = unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) };
        if r != 0 {
            // Cannot happen after a successful registration.
            crate::panic::throw("retake: membarrier failed after registration");
        }
    }
}

/// Go's exitsyscall as run at the start of every gort call that touches
/// scheduler state (see the module doc): marks gp as inside the runtime
/// and makes sure mp still holds its P. Returns the M gp now runs on (it
/// changes only when gp had to wait for a P) and whether this call entered
/// the runtime: false when gp was inside already (a nested call, such as a
/// timer callback readying a goroutine), in which case the caller must not
/// `callout` either.
///
/// It may wait for a P (and then resume on another M), so the caller must
/// hold no runtime lock: gp could be queued for a P while holding a lock
/// every P's M may need. Only for gp, the goroutine running on mp.
#[inline(always)]
pub(crate) fn callin(mp: &'static M, gp: &G) -> (&'static M, bool) {
    match callin_inner(mp, gp, true) {
        (Some(mp), entered) => (mp, entered),
        (None, _) => unreachable!("callin: waiting callin_slow returns an M"),
    }
}

/// callin that never waits nor switches, for callers that may hold a
/// runtime lock: returns `None` for the M when sysmon took the P, and the
/// caller proceeds as a thread without a P (the goroutine's next waiting
/// `callin` gets one).
#[inline(always)]
pub(crate) fn callin_nowait(mp: &'static M, gp: &G) -> (Option<&'static M>, bool) {
    callin_inner(mp, gp, false)
}

#[inline(always)]
fn callin_inner(mp: &'static M, gp: &G, wait: bool) -> (Option<&'static M>, bool) {
    let seq = gp.rtseq.load(Ordering::Relaxed);
    if seq & 1 != 0 {
        return (Some(mp), false);
    }
    gp.rtseq.store(seq + 1, Ordering::Relaxed);
    // The store above must be visible before retake is read (the handshake):
    // sysmon's membarrier supplies the CPU's side of the barrier.
    compiler_fence(Ordering::SeqCst);
    if mp.retake.load(Ordering::Relaxed) != 0 {
        return (callin_slow(mp, gp, wait), true);
    }
    (Some(mp), true)
}

/// Go's entersyscall at the end of a gort call: gp goes back to C code.
/// Release: sysmon, once it sees this count, may take the P, and must then
/// see every write this M made to it.
#[inline(always)]
pub(crate) fn callout(gp: &G, entered: bool) {
    if entered {
        gp.rtseq.store(gp.rtseq.load(Ordering::Relaxed) + 1, Ordering::Release);
    }
}

/// callin when sysmon asked for or took mp's P.
#[cold]
#[inline(never)]
fn callin_slow(mp: &'static M, gp: &G, wait: bool) -> Option<&'static M> {
    let idle = retake_idle();
    if idle != 0 {
        // No membarrier: the full barrier between our count and retake.
        fence(Ordering::SeqCst);
    }
    let mut v = mp.retake.load(Ordering::Acquire);
    while v == idle | RETAKE_ASKED {
        // Refuse: we are inside the runtime now, so sysmon's CAS to TAKEN
        // fails. Our CAS fails only if sysmon got there first, either way.
        match mp.retake.compare_exchange(v, idle, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some(mp),
            Err(now) => v = now,
        }
    }
    if v == idle {
        return Some(mp);
    }
    debug_assert_eq!(v, idle | RETAKE_TAKEN);
    // TAKEN: the P belongs to someone else. Forget it (it stays TAKEN, so
    // every callin comes here until this M holds a P again).
    let old = mp.p.replace(std::ptr::null_mut());
    if !old.is_null() {
        mp.oldp.set(old);
    }
    if !wait {
        return None;
    }
    Some(exitsyscall_p(mp, gp))
}

/// Go's exitsyscall slow path, for a goroutine whose M lost its P: the old
/// P if it is idle, else any idle P (exitsyscallfast); else gp waits on the
/// global run queue and the M sleeps (exitsyscall0). Returns the M gp runs
/// on afterwards, which holds a P.
fn exitsyscall_p(mp: &'static M, gp: &G) -> &'static M {
    // Cleared before the M can hold a P again, so that a later request by
    // sysmon for that P is not mistaken for this one.
    mp.retake.store(retake_idle(), Ordering::Relaxed);
    let got = pidleget_prefer(&mut sched().locked(), mp.oldp.replace(std::ptr::null_mut()));
    if let Some(pp) = got {
        acquirep(mp, pp);
        return mp;
    }
    let gptr = gp as *const G as *mut G;
    gp.status.store(GRUNNABLE, Ordering::Relaxed);
    mp.post.set(Post::Exitsyscall(gptr));
    crate::lockosthread::prepare_stop(mp);
    mp.set_curg(std::ptr::null_mut());
    switch_from(mp, gptr, mp.g0_sp.get())
}

/// exitsyscall0's second half, run on g0 once gp is saved (`Post::Exitsyscall`):
/// an idle P that appeared meanwhile runs gp next on this M; otherwise gp
/// goes to the global queue, and the caller (schedule) stops the M. Under
/// sched.lock, so that an M idling its P either sees gp queued or leaves
/// its P for us.
pub(crate) fn exitsyscall0(mp: &'static M, gp: *mut G) {
    let s = sched();
    let mut l = s.locked();
    match pidleget(&mut l) {
        Some(pp) => {
            drop(l);
            acquirep(mp, pp);
            runqput(mp.pp(), gp, true);
        }
        None => {
            s.globrunqput(gp);
            drop(l);
        }
    }
}

/// Per-P state sysmon keeps for `retake` (Go's sysmontick).
#[derive(Clone, Copy)]
pub(crate) struct RetakeTick {
    gp: *mut G,
    seq: u64,
    since: i64,
}

impl RetakeTick {
    pub(crate) const fn new() -> RetakeTick {
        RetakeTick { gp: std::ptr::null_mut(), seq: 0, since: 0 }
    }
}

/// A goroutine that runs C code this long loses its P (Go's forcePreemptNS).
pub(crate) const FORCE_PREEMPT_NS: i64 = 10_000_000;

/// Go's retake, run by sysmon at each tick: hands off the Ps of goroutines
/// that have been in a blocking call since the previous tick (once the P
/// has work or nobody is spinning, or after 10 ms anyway), or that have run
/// C code without a gort call for FORCE_PREEMPT_NS. Returns how many Ps it
/// handed off.
pub(crate) fn retake(now: i64, ticks: &mut [RetakeTick]) -> u32 {
    let s = sched();
    let mut n = 0;
    for (pp, pd) in s.allp.iter().zip(ticks.iter_mut()) {
        let Some((mp, gp, seq)) = running_c(pp) else {
            pd.gp = std::ptr::null_mut();
            continue;
        };
        if pd.gp != gp || pd.seq != seq {
            *pd = RetakeTick { gp, seq, since: now };
            continue;
        }
        // SAFETY: Gs are never freed; insyscall is atomic.
        let insyscall = unsafe { gref(gp) }.insyscall.load(Ordering::Relaxed);
        let age = now - pd.since;
        if insyscall {
            // Seen at two ticks (>= 20 us apart). Go's rule: leave the P while
            // it has nothing queued and idle Ps or spinning Ms can take new
            // work, for up to 10 ms.
            if runqempty(pp)
                && s.nmspinning.load(Ordering::SeqCst) + s.npidle.load(Ordering::SeqCst) > 0
                && age < FORCE_PREEMPT_NS
            {
                continue;
            }
        } else if age < FORCE_PREEMPT_NS || ASYNC_PREEMPT_OFF.load(Ordering::Relaxed) {
            continue;
        }
        if handshake(pp, mp, gp, seq) {
            pd.gp = std::ptr::null_mut();
            let counter = if insyscall { &HANDOFFS_SYSCALL } else { &HANDOFFS_PREEMPT };
            counter.fetch_add(1, Ordering::Relaxed);
            handoffp(pp as *const P as *mut P);
            n += 1;
        }
    }
    n
}

/// The M, G and count of a P whose goroutine runs C code right now (a
/// snapshot: the caller confirms it with the handshake).
fn running_c(pp: &P) -> Option<(&'static M, *mut G, u64)> {
    if pp.status.load(Ordering::Relaxed) != PRUNNING {
        return None;
    }
    let mp = pp.m.load(Ordering::Acquire);
    if mp.is_null() {
        return None;
    }
    // SAFETY: Ms are never freed.
    let mp = unsafe { mref(mp) };
    let gp = mp.curg();
    if gp.is_null() {
        return None;
    }
    // SAFETY: Gs are never freed (dead ones are recycled); rtseq is atomic.
    let seq = unsafe { gref(gp) }.rtseq.load(Ordering::Acquire);
    if seq & 1 != 0 {
        return None;
    }
    Some((mp, gp, seq))
}

/// sysmon's side of the handshake (module doc): true when it now owns pp,
/// which mp held while running gp's C code with count `seq`.
fn handshake(pp: &P, mp: &'static M, gp: *mut G, seq: u64) -> bool {
    let idle = retake_idle();
    if mp.retake.compare_exchange(idle, idle | RETAKE_ASKED, Ordering::SeqCst, Ordering::Relaxed).is_err() {
        return false;
    }
    heavy_barrier();
    // SAFETY: as in running_c. Acquire pairs with callout's Release: if the
    // count is still `seq`, everything mp wrote to pp before it is visible.
    let same = unsafe { gref(gp) }.rtseq.load(Ordering::SeqCst) == seq
        && mp.curg() == gp
        && std::ptr::eq(pp.m.load(Ordering::Relaxed), mp);
    if same
        && mp
            .retake
            .compare_exchange(idle | RETAKE_ASKED, idle | RETAKE_TAKEN, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        pp.m.store(std::ptr::null_mut(), Ordering::Relaxed);
        return true;
    }
    // Withdraw; if the goroutine refused first, retake is NONE already.
    let _ = mp.retake.compare_exchange(idle | RETAKE_ASKED, idle, Ordering::AcqRel, Ordering::Relaxed);
    false
}

/// Go's handoffp: sysmon took pp from an M in C code; start an M for it if
/// there is work or nobody else could take new work, else idle it.
pub(crate) fn handoffp(pp: *mut P) {
    let s = sched();
    // SAFETY: Ps are leaked; sysmon owns pp now.
    let p = unsafe { &*pp };
    if !runqempty(p) || !s.runq.is_empty() {
        startm(Some(pp), false);
        return;
    }
    // No local work: an M only if nobody is spinning and no P is idle
    // (otherwise new work already has somewhere to go).
    if s.nmspinning.load(Ordering::SeqCst) + s.npidle.load(Ordering::SeqCst) == 0
        && s.nmspinning.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    {
        startm(Some(pp), true);
        return;
    }
    let mut l = s.locked();
    if !s.runq.is_empty() {
        drop(l);
        startm(Some(pp), false);
        return;
    }
    // The last running P, and nobody polls the network: an M must, or
    // readiness would wait for sysmon.
    if s.npidle.load(Ordering::SeqCst) + 1 == s.gomaxprocs
        && crate::netpoll::any_waiters()
        && s.lastpoll.load(Ordering::SeqCst) != 0
    {
        drop(l);
        startm(Some(pp), false);
        return;
    }
    let when = p.timers.timer0.load(Ordering::Acquire);
    pidleput(&mut l, pp);
    drop(l);
    if when != 0 {
        crate::netpoll::wake_netpoller(when);
    }
}

// ---------------------------------------------------------------------------
// C API

/// Marks the start of a call that may block the thread (Go's
/// entersyscall): file I/O, DNS, a third-party library's blocking call,
/// `pthread_mutex_lock`. Until `gort_exitsyscall`, the goroutine keeps its
/// thread, but its P may be handed to another thread (by sysmon, once the
/// call has lasted ~20 us and other goroutines wait), so the goroutines
/// queued behind it keep running. Costs a few instructions: no lock, no
/// allocation, no system call.
///
/// Without it, a blocking call still loses its P, but only after 10 ms
/// (see the README, "Blocking calls and preemption").
///
/// Returns GORT_OK; GORT_EPERM when already between the two calls. Off a
/// goroutine (a host thread, or before init) it returns GORT_OK and does
/// nothing.
#[no_mangle]
pub extern "C" fn gort_entersyscall() -> c_int {
    ffi_guard!("gort_entersyscall", {
        let mp = getm_at_entry();
        if mp.is_null() {
            return GORT_OK;
        }
        // SAFETY: non-null Ms are valid; curg is read by the M's own thread.
        let gp = unsafe { mref(mp) }.curg();
        if gp.is_null() {
            return GORT_OK;
        }
        // SAFETY: the running goroutine.
        let g = unsafe { gref(gp) };
        if g.insyscall.load(Ordering::Relaxed) {
            return GORT_EPERM;
        }
        if crate::traceback::frame_pointers() {
            let fp = crate::arch::frame_pointer();
            // SAFETY: fp is this function's own frame record (frame pointers checked at init): the caller's record and the return address.
            let (caller_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
            g.syscallfp.store(caller_fp, Ordering::Relaxed);
            g.syscallpc.store(ret, Ordering::Relaxed);
        }
        g.insyscall.store(true, Ordering::Relaxed);
        GORT_OK
    })
}

/// Marks the end of a blocking call (Go's exitsyscall). If the P was handed
/// off meanwhile, it takes back its old P if that is idle, else any idle P;
/// otherwise the goroutine waits in the global run queue and continues when
/// a P is free, possibly on another thread. Costs a few instructions when
/// the P was kept.
///
/// Returns GORT_OK; GORT_EPERM without a matching `gort_entersyscall`. Off
/// a goroutine it returns GORT_OK and does nothing.
#[no_mangle]
pub extern "C" fn gort_exitsyscall() -> c_int {
    ffi_guard!("gort_exitsyscall", {
        let mp = getm_at_entry();
        if mp.is_null() {
            return GORT_OK;
        }
        // SAFETY: non-null Ms are valid; curg is read by the M's own thread.
        let mp = unsafe { mref(mp) };
        let gp = mp.curg();
        if gp.is_null() {
            return GORT_OK;
        }
        // SAFETY: the running goroutine.
        let g = unsafe { gref(gp) };
        if !g.insyscall.load(Ordering::Relaxed) {
            return GORT_EPERM;
        }
        g.insyscall.store(false, Ordering::Relaxed);
        let (_, entered) = callin(mp, g);
        callout(g, entered);
        GORT_OK
    })
}

/// Runs `f`, a call that may block the thread, as if between
/// `gort_entersyscall` and `gort_exitsyscall` (for the I/O calls on fds
/// the poller cannot watch, such as regular files). Off a goroutine, or
/// already inside such a pair, it just runs `f`.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    let mp = getm();
    if !mp.is_null() {
        // SAFETY: non-null Ms are valid; curg is read by the M's own thread.
        let m = unsafe { mref(mp) };
        let gp = m.curg();
        if !gp.is_null() {
            // SAFETY: the goroutine running on this thread.
            let g = unsafe { gref(gp) };
            if !g.insyscall.load(Ordering::Relaxed) {
                let fp = if crate::traceback::frame_pointers() { crate::arch::frame_pointer() } else { 0 };
                g.syscallfp.store(fp, Ordering::Relaxed);
                g.syscallpc.store(0, Ordering::Relaxed);
                g.insyscall.store(true, Ordering::Relaxed);
                let r = f();
                g.insyscall.store(false, Ordering::Relaxed);
                // f did not switch: still on m.
                let (_, entered) = callin(m, g);
                callout(g, entered);
                return r;
            }
        }
    }
    f()
}
