//! Deadlock detection in program mode (Go's checkdead).
//!
//! When no goroutine can ever run again, Go prints "all goroutines are
//! asleep - deadlock!" instead of hanging. sysmon asks here each time it
//! finds every P idle (a few times, 10 ms apart, then it sleeps until work
//! appears). The program is dead when, at two looks:
//! * nothing is queued (global queue, every P's runnext and queues) and no
//!   M is spinning;
//! * no timer is pending (a sleeper, a timeout, a `gort_after`, a
//!   `gort_timer` may wake something) and nobody waits on an fd;
//! * every goroutine is parked (none runnable, running C code, or in a
//!   blocking call), and none waits for a timer or I/O;
//! * no thread that gort did not start exists: any such thread (the host's
//!   own, in a program that mixes pthreads with goroutines) might still
//!   send on a channel or call `gort_go`, so its presence vetoes the
//!   report, as Go's cgo callbacks do. (Under qemu-user the emulator's own
//!   threads count too: no report there.)
//!
//! Library mode never reports: the host's threads may do anything later.

use crate::g::{WaitReason, G, GRUNNABLE, GRUNNING, GWAITING};
use crate::sched::{Mode, Sched};
use std::sync::atomic::Ordering;

/// Program mode after runtime.main started: the only mode Go checks.
pub(crate) fn applies(s: &Sched) -> bool {
    s.mode == Mode::Program && s.main_started.load(Ordering::Relaxed)
}

/// Nothing queued, nothing spinning, no timer, no fd waiter.
fn quiet(s: &Sched) -> bool {
    s.npidle.load(Ordering::SeqCst) == s.gomaxprocs
        && s.nmspinning.load(Ordering::SeqCst) == 0
        && s.runq.is_empty()
        && s.allp.iter().all(|pp| {
            pp.runnext.load(Ordering::Acquire).is_null()
                && pp.throttled.load(Ordering::Acquire).is_null()
                && pp.stealer.is_empty()
                && pp.newq_stealer.is_empty()
        })
        && crate::timer::earliest() == 0
        && !crate::netpoll::any_waiters()
}

/// Threads in this process: the entries of /proc/self/task, or None.
/// (Not /proc/self/stat's thread count: qemu-user fakes that file and
/// reports 0 there, which would hide the host's threads. Under qemu the
/// task list also holds the emulator's own threads, so the check never
/// reports there: a missed report, never a false one.)
fn process_threads() -> Option<i64> {
    let n = std::fs::read_dir("/proc/self/task").ok()?.count() as i64;
    (n > 0).then_some(n)
}

/// Counts parked goroutines, or None if one can still run or wake.
fn all_asleep() -> Option<usize> {
    let sa = crate::stack::try_stacks()?;
    let mut asleep = 0usize;
    let mut alive = false;
    sa.for_each_g(|gp| {
        if alive {
            return;
        }
        // SAFETY: a carved or zeroed unit's descriptor (for_each_g); status and waitreason are atomics.
        let g: &G = unsafe { &*gp };
        match g.status.load(Ordering::Acquire) {
            GRUNNABLE | GRUNNING => alive = true,
            GWAITING => match WaitReason::from_u8(g.waitreason.load(Ordering::Relaxed)) {
                WaitReason::Sleep | WaitReason::IOWait => alive = true,
                _ => asleep += 1,
            },
            _ => {}
        }
    });
    (!alive).then_some(asleep)
}

/// Reports and exits (status 2, as Go) if the program can never make
/// progress again; returns otherwise.
pub(crate) fn checkdead(s: &Sched) {
    if !quiet(s) {
        return;
    }
    let Some(threads) = process_threads() else { return };
    if threads > s.mcount.load(Ordering::SeqCst) {
        return;
    }
    let Some(n) = all_asleep() else { return };
    if n == 0 || !quiet(s) {
        return;
    }
    crate::os::write_stderr(&["gort: fatal error: all goroutines are asleep - deadlock!\n"]);
    crate::traceback::fatal_dump(None, true);
    crate::traceback::exit_fatal(false);
}
