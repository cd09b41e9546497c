//! The epoll backend of the netpoller (Go's netpoll_epoll.go): five
//! functions behind which the rest of the runtime never sees epoll.
//!
//! Every fd is registered once, edge-triggered, for both directions
//! (`EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET`), with its poll descriptor's
//! fd number and generation as the event data; an eventfd, registered
//! level-triggered, breaks a blocked `epoll_wait` (Go's netpollBreak).

use crate::os::errno;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

static EPFD: AtomicI32 = AtomicI32::new(-1);
static BREAKFD: AtomicI32 = AtomicI32::new(-1);
/// Go's netpollWakeSig: a break is pending, so further breaks need not
/// write to the eventfd again until the poller has drained it.
static WAKE_SIG: AtomicU32 = AtomicU32::new(0);

/// Event data of the break fd (fd numbers are never this large).
const BREAK_KEY: u64 = u64::MAX;

/// What one epoll event reports, for `netpollready`.
pub(crate) struct Event {
    /// The registration key passed to `open`.
    pub key: u64,
    pub readable: bool,
    pub writable: bool,
    /// Urgent data (reads stop at its mark), a hang-up or an error: a read
    /// that returns fewer bytes than asked no longer means nothing is left
    /// to read (the end of file or the error is).
    pub nodrain: bool,
}

/// Go's netpollinit. Returns a negative errno on failure.
pub(crate) fn init() -> Result<(), i32> {
    if EPFD.load(Ordering::Acquire) >= 0 {
        // An earlier gort_init got this far before failing.
        return Ok(());
    }
    // SAFETY: plain system calls on integers.
    unsafe {
        let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
        if ep < 0 {
            return Err(-errno());
        }
        let bfd = libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC);
        if bfd < 0 {
            let e = -errno();
            libc::close(ep);
            return Err(e);
        }
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: BREAK_KEY };
        if libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, bfd, &mut ev) != 0 {
            let e = -errno();
            libc::close(bfd);
            libc::close(ep);
            return Err(e);
        }
        EPFD.store(ep, Ordering::Release);
        BREAKFD.store(bfd, Ordering::Release);
    }
    Ok(())
}

/// Go's netpollopen: registers fd for both directions, edge-triggered.
/// Returns 0 or the negative errno of epoll_ctl (EPERM: fd does not
/// support polling, e.g. a regular file; EEXIST: already registered).
pub(crate) fn open(fd: i32, key: u64) -> i32 {
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLPRI | libc::EPOLLET) as u32,
        u64: key,
    };
    // SAFETY: ev is a valid epoll_event for the call's duration.
    if unsafe { libc::epoll_ctl(EPFD.load(Ordering::Relaxed), libc::EPOLL_CTL_ADD, fd, &mut ev) } == 0 {
        0
    } else {
        -errno()
    }
}

/// Go's netpollclose: removes fd (before it is closed).
pub(crate) fn close(fd: i32) {
    let mut ev = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: as in open; a non-null event for kernels before 2.6.9.
    unsafe { libc::epoll_ctl(EPFD.load(Ordering::Relaxed), libc::EPOLL_CTL_DEL, fd, &mut ev) };
}

/// Go's netpollBreak: makes a blocked `poll` return at once (or the next
/// one, if nobody blocks now).
pub(crate) fn wakeup() {
    if WAKE_SIG.swap(1, Ordering::AcqRel) != 0 {
        return;
    }
    crate::os::keep_errno(wakeup_write)
}

fn wakeup_write() {
    let one: u64 = 1;
    loop {
        // SAFETY: writes 8 bytes from a local to our eventfd.
        let r = unsafe { libc::write(BREAKFD.load(Ordering::Relaxed), (&one as *const u64).cast(), 8) };
        if r == 8 || (r < 0 && errno() == libc::EAGAIN) {
            // EAGAIN: the counter is saturated, a wakeup is pending anyway.
            return;
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        crate::panic::throw("netpollBreak: write to the eventfd failed");
    }
}

/// Go's netpoll(delay) without the bookkeeping: waits up to `delay_ns`
/// (< 0: forever, 0: not at all) and calls `f` for every fd event. Returns
/// whether the wait was broken by `wakeup`.
pub(crate) fn poll(delay_ns: i64, mut f: impl FnMut(Event)) -> bool {
    let ms: i32 = if delay_ns < 0 {
        -1
    } else if delay_ns == 0 {
        0
    } else if delay_ns < 1_000_000 {
        // epoll_wait counts milliseconds; do not turn a short wait into a
        // busy loop of zero-timeouts, nor oversleep by a whole millisecond
        // more than needed. (Go rounds the same way.)
        1
    } else {
        (delay_ns / 1_000_000).min(i32::MAX as i64) as i32
    };
    const N: usize = 128;
    let mut evs = [libc::epoll_event { events: 0, u64: 0 }; N];
    let n = loop {
        // SAFETY: evs has room for N events.
        let n = unsafe { libc::epoll_wait(EPFD.load(Ordering::Relaxed), evs.as_mut_ptr(), N as i32, ms) };
        if n >= 0 {
            break n as usize;
        }
        if errno() != libc::EINTR {
            crate::panic::throw("netpoll: epoll_wait failed");
        }
        if ms != 0 {
            // Interrupted by a signal: return and let the caller recompute
            // its deadline (Go does the same).
            return false;
        }
    };
    let mut broken = false;
    for ev in &evs[..n] {
        let bits = ev.events as i32;
        if ev.u64 == BREAK_KEY {
            let mut buf = 0u64;
            // SAFETY: reads 8 bytes into a local from our eventfd.
            unsafe { libc::read(BREAKFD.load(Ordering::Relaxed), (&mut buf as *mut u64).cast(), 8) };
            WAKE_SIG.store(0, Ordering::Release);
            broken = true;
            continue;
        }
        f(Event {
            key: ev.u64,
            readable: bits & (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) != 0,
            writable: bits & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) != 0,
            nodrain: bits & (libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) != 0,
        });
    }
    broken
}
