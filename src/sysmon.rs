//! sysmon: the runtime's monitor thread (Go's sysmon), running without a P.
//!
//! Its jobs: time slices, and waking an M when timers are overdue. A goroutine taken from `runnext`
//! inherits the running slice and `schedtick` does not advance, so two
//! goroutines handing off to each other (or a chain of spawns) could keep a
//! P forever while its queue starves. sysmon watches each running P's
//! `schedtick`; when it has not moved for 10 ms (Go's forcePreemptNS) it
//! sets the P's `preempt` flag, and the next `runqget` on that P demotes
//! `runnext` to the tail once. C code cannot be interrupted, so a goroutine
//! that never reaches a scheduling point still keeps its P.
//!
//! sysmon sleeps 20 us between checks, doubling after 50 rounds up to
//! 10 ms, and sleeps on a note while every P is idle (woken by `startm`), so
//! an idle process costs no CPU.

use crate::os::{nanotime, newosproc, set_thread_name, usleep};
use crate::p::PRUNNING;
use crate::sched::sched;
use std::ffi::c_void;
use std::sync::atomic::Ordering;

/// Go's forcePreemptNS.
const FORCE_PREEMPT_NS: i64 = 10_000_000;
/// A timer this late means no M is watching its P: wake one.
const TIMER_SLACK_NS: i64 = 1_000_000;

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
    let mut idle = 0u32;
    let mut delay = 20u64;
    loop {
        if idle == 0 {
            delay = 20;
        } else if idle > 50 {
            delay = (delay * 2).min(10_000);
        }
        usleep(delay);
        if s.npidle.load(Ordering::SeqCst) == s.gomaxprocs {
            s.sysmonnote.clear();
            s.sysmonwait.store(true, Ordering::SeqCst);
            if s.npidle.load(Ordering::SeqCst) == s.gomaxprocs {
                s.sysmonnote.tsleep(60_000_000_000);
            }
            s.sysmonwait.store(false, Ordering::SeqCst);
            idle = 0;
            continue;
        }
        let now = nanotime();
        crate::time::sysmon_timers(now, TIMER_SLACK_NS);
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
        // Setting a flag is not work that warrants polling faster (Go's
        // sysmon likewise resets its back-off only when retake hands off Ps).
        idle += 1;
    }
}
