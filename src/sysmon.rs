//! sysmon: the runtime's monitor thread (Go's sysmon), running without a P.
//!
//! Its jobs:
//! * Hand-offs (Go's retake, in `syscall.rs`): the P of a goroutine that has
//!   been in a blocking call (`gort_entersyscall`) since the previous check,
//!   or that has run C code for 10 ms without a gort call, goes to another
//!   M, so the goroutines queued behind it run.
//! * Time slices. A goroutine taken from `runnext` inherits the running
//!   slice and `schedtick` does not advance, so two goroutines handing off
//!   to each other (or a chain of spawns) could keep a P forever while its
//!   queue starves. sysmon watches each running P's `schedtick`; when it has
//!   not moved for 10 ms (Go's forcePreemptNS) it sets the P's `preempt`
//!   flag, and the next `runqget` on that P demotes `runnext` to the tail
//!   once.
//! * Waking an M when timers are overdue.
//!
//! sysmon sleeps 20 us between checks, doubling after 50 rounds without a
//! hand-off up to 10 ms, and sleeps on a note while every P is idle (woken
//! by `startm`), so an idle process costs no CPU; in program mode it looks
//! for a deadlock (`deadlock.rs`) 10 ms, 20 ms and 30 ms into an idle
//! period and then once a second.

use crate::os::{nanotime, newosproc, set_thread_name, usleep};
use crate::p::PRUNNING;
use crate::sched::sched;
use crate::syscall::{retake, RetakeTick, FORCE_PREEMPT_NS};
use std::ffi::c_void;
use std::sync::atomic::{AtomicI64, Ordering};

/// sysmon polls the network when nobody did for this long (Go's 10 ms).
const NETPOLL_STALE_NS: i64 = 10_000_000;
/// Deadlock checks per idle period, and their spacing.
const DEAD_CHECKS: u32 = 3;
const DEAD_CHECK_NS: i64 = 10_000_000;
const DEAD_IDLE_NS: i64 = 1_000_000_000;
/// A timer this late means no M is watching its P: wake one.
const TIMER_SLACK_NS: i64 = 1_000_000;

/// sysmon's clock: nanotime at its last wake-up. Parking goroutines stamp
/// `waitsince` with it (a load instead of a clock read on every park); the
/// dump only shows whole minutes.
static NOW: AtomicI64 = AtomicI64::new(0);

pub(crate) fn coarse_now() -> i64 {
    NOW.load(Ordering::Relaxed)
}

/// Starts the sysmon thread (Go: newm(sysmon, nil) in runtime.main).
pub(crate) fn start() {
    let s = sched();
    s.mcount.fetch_add(1, Ordering::Relaxed);
    if newosproc(128 << 10, sysmon_thread, std::ptr::null_mut()).is_err() {
        s.mcount.fetch_sub(1, Ordering::Relaxed);
        crate::os::write_stderr(&["gort: cannot start sysmon; runnext time slices are not enforced\n"]);
    }
}

extern "C" fn sysmon_thread(_: *mut c_void) -> *mut c_void {
    set_thread_name("gort-sysmon");
    let s = sched();
    let n = s.allp.len();
    let mut last_tick = vec![0u32; n];
    let mut last_when = vec![0i64; n];
    let mut retake_ticks = vec![RetakeTick::new(); n];
    let mut idle = 0u32;
    let mut dead_checks = 0u32;
    NOW.store(nanotime(), Ordering::Relaxed);
    let mut delay = 20u64;
    let start = nanotime();
    let mut last_trace = start;
    loop {
        if idle == 0 {
            delay = 20;
        } else if idle > 50 {
            delay = (delay * 2).min(10_000);
        }
        usleep(delay);
        NOW.store(nanotime(), Ordering::Relaxed);
        if s.schedtrace > 0 && nanotime() - last_trace >= s.schedtrace as i64 * 1_000_000 {
            last_trace = nanotime();
            schedtrace(s, last_trace - start);
        }
        if s.npidle.load(Ordering::SeqCst) == s.gomaxprocs {
            // Every P idle: perhaps nothing can ever run again (Go's
            // checkdead). In program mode a few checks 10 ms apart (a
            // goroutine may be between a P and a queue at the first look),
            // then one a second while idle: a sleeper's timer may fire
            // without waking sysmon, and the program die right after.
            let mut nap = if s.schedtrace > 0 { s.schedtrace as i64 * 1_000_000 } else { 60_000_000_000 };
            if crate::deadlock::applies(s) {
                crate::deadlock::checkdead(s);
                nap = nap.min(if dead_checks < DEAD_CHECKS { DEAD_CHECK_NS } else { DEAD_IDLE_NS });
                dead_checks += 1;
            }
            s.sysmonnote.clear();
            s.sysmonwait.store(true, Ordering::SeqCst);
            if s.npidle.load(Ordering::SeqCst) == s.gomaxprocs {
                // With schedtrace on, keep printing while idle (as Go does).
                s.sysmonnote.tsleep(nap);
            }
            s.sysmonwait.store(false, Ordering::SeqCst);
            NOW.store(nanotime(), Ordering::Relaxed);
            idle = 0;
            continue;
        }
        dead_checks = 0;
        let now = nanotime();
        // Overdue timers: nobody watches their P (Go: sysmon starts an M).
        let next = crate::timer::earliest();
        if next != 0 && now - next > TIMER_SLACK_NS {
            crate::netpoll::wake_netpoller(next);
        }
        // Poll the network if nobody did for 10 ms (every M busy).
        let lastpoll = s.lastpoll.load(Ordering::SeqCst);
        if lastpoll != 0
            && now - lastpoll > NETPOLL_STALE_NS
            && crate::netpoll::any_waiters()
            && s.lastpoll.compare_exchange(lastpoll, now, Ordering::SeqCst, Ordering::Relaxed).is_ok()
        {
            let mut list = crate::netpoll::GList::new();
            if crate::netpoll::netpoll(0, &mut list) {
                list.inject();
                idle = 0;
            }
        }
        for (i, pp) in s.allp.iter().enumerate() {
            if pp.status.load(Ordering::Relaxed) != PRUNNING {
                continue;
            }
            let t = pp.schedtick.load(Ordering::Relaxed);
            if t != last_tick[i] || last_when[i] == 0 {
                last_tick[i] = t;
                last_when[i] = now;
            } else if now - last_when[i] >= FORCE_PREEMPT_NS {
                pp.preempt.store(true, Ordering::Relaxed);
                last_when[i] = now;
            }
        }
        // Setting a flag is not work that warrants polling faster; handing
        // off a P is (Go's sysmon resets its back-off then too).
        if retake(now, &mut retake_ticks) > 0 {
            idle = 0;
        } else {
            idle += 1;
        }
    }
}

/// Go's schedtrace: one line with the scheduler's state, e.g.
/// `SCHED 1000ms: gomaxprocs=2 idleprocs=1 threads=4 spinningthreads=0
/// idlethreads=2 globrunq=empty [p0 R next=1 new=0 run=3 thr=0] [p1 I ...]`
/// (per P: R running / I idle, runnext filled, newq and runq lengths,
/// throttled spawner). Read without locks: a snapshot, as in Go.
fn schedtrace(s: &crate::sched::Sched, ms_since_start: i64) {
    use std::fmt::Write;
    let mut line = String::with_capacity(128 + 48 * s.allp.len());
    let _ = write!(
        line,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} goroutines={} globrunq={}",
        ms_since_start / 1_000_000,
        s.gomaxprocs,
        s.npidle.load(Ordering::Relaxed),
        s.mcount.load(Ordering::Relaxed),
        s.nmspinning.load(Ordering::Relaxed),
        s.nmidle.load(Ordering::Relaxed),
        s.gcount(),
        if s.runq.is_empty() { "empty" } else { "nonempty" },
    );
    for pp in s.allp.iter() {
        let _ = write!(
            line,
            " [p{} {} next={} new={} run={} thr={}]",
            pp.id,
            if pp.status.load(Ordering::Relaxed) == PRUNNING { 'R' } else { 'I' },
            !pp.runnext.load(Ordering::Relaxed).is_null() as u8,
            pp.newq_stealer.len(),
            pp.stealer.len(),
            !pp.throttled.load(Ordering::Relaxed).is_null() as u8,
        );
    }
    line.push('\n');
    crate::os::write_stderr(&[&line]);
}
