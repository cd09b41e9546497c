//! `gort_stats`: a snapshot of the scheduler's counters.

use crate::ffi::{GORT_EINVAL, GORT_ENOTINIT, GORT_OK};
use crate::g::Guard;
use crate::sched::try_sched;
use std::ffi::c_int;
use std::sync::atomic::Ordering;

/// Scheduler counters, filled by `gort_stats`. Each field is read without
/// stopping the world, so the snapshot is only approximately consistent
/// while goroutines run.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(non_camel_case_types)]
pub struct gort_stats {
    /// Goroutines that exist now (created and not finished).
    pub goroutines: i64,
    /// Goroutines created since init.
    pub goroutines_created: i64,
    /// OS threads (Ms) created since init, including m0 and sysmon.
    pub threads: i64,
    /// Ms parked with nothing to do.
    pub idle_threads: i64,
    /// Ps (GORT_MAXPROCS).
    pub procs: i64,
    /// Ps not held by any M.
    pub idle_procs: i64,
    /// Ms currently spinning (looking for work to steal).
    pub spinning_threads: i64,
    /// Successful steals from another P's run queue.
    pub steals: i64,
    /// Goroutines moved by those steals.
    pub stolen_goroutines: i64,
    /// Usable bytes of each goroutine stack (GORT_STACKSIZE, page-rounded).
    pub stack_size: i64,
    /// Stacks guarded by MADV_GUARD_INSTALL (no extra memory mapping).
    pub stacks_guard_madvise: i64,
    /// Stacks guarded by an mprotect'ed page (one extra mapping each).
    pub stacks_guard_mprotect: i64,
    /// Stacks protected only by a canary checked at each switch.
    pub stacks_guard_canary: i64,
    /// Ps that sysmon took from a goroutine in a blocking call
    /// (`gort_entersyscall`) and handed to another thread (Go's retake).
    pub handoffs_syscall: i64,
    /// Ps that sysmon took from a goroutine that ran C code for 10 ms
    /// without a gort call (preemption by hand-off).
    pub handoffs_preempt: i64,
    /// File descriptors registered with the netpoller (seen by gort's I/O
    /// calls and not yet closed with `gort_close`).
    pub io_fds: i64,
    /// Goroutines and threads waiting for an fd to become ready.
    pub io_waiting: i64,
}

/// Fills `*out` with the current counters. Returns GORT_OK, GORT_EINVAL
/// (`out` is NULL) or GORT_ENOTINIT. Any thread.
#[no_mangle]
pub extern "C" fn gort_stats(out: *mut gort_stats) -> c_int {
    ffi_guard!("gort_stats", {
        let Some(s) = try_sched().filter(|_| crate::boot::is_ready()) else { return GORT_ENOTINIT };
        if out.is_null() {
            return GORT_EINVAL;
        }
        let mut st = gort_stats { goroutines: s.gcount(), ..Default::default() };
        st.goroutines_created = s.ncreated_nop.load(Ordering::Relaxed);
        for pp in s.allp.iter() {
            st.goroutines_created += pp.ncreated.load(Ordering::Relaxed);
            st.steals += pp.nsteals.load(Ordering::Relaxed);
            st.stolen_goroutines += pp.nstolen.load(Ordering::Relaxed);
        }
        st.threads = s.mcount.load(Ordering::Relaxed);
        st.idle_threads = s.nmidle.load(Ordering::Relaxed) as i64;
        st.procs = s.gomaxprocs as i64;
        st.idle_procs = s.npidle.load(Ordering::Relaxed) as i64;
        st.spinning_threads = s.nmspinning.load(Ordering::Relaxed) as i64;
        let sa = crate::stack::stacks();
        st.stack_size = sa.usable as i64;
        st.stacks_guard_madvise = sa.counts[Guard::Madvise as usize].load(Ordering::Relaxed);
        st.stacks_guard_mprotect = sa.counts[Guard::Mprotect as usize].load(Ordering::Relaxed);
        st.stacks_guard_canary = sa.counts[Guard::Canary as usize].load(Ordering::Relaxed);
        st.handoffs_syscall = crate::syscall::HANDOFFS_SYSCALL.load(Ordering::Relaxed);
        st.handoffs_preempt = crate::syscall::HANDOFFS_PREEMPT.load(Ordering::Relaxed);
        (st.io_fds, st.io_waiting) = crate::netpoll::stats();
        // SAFETY: out is non-null and the caller promises it points to a writable gort_stats.
        unsafe { out.write(st) };
        GORT_OK
    })
}
