//! The thin layer over Linux: futexes, clocks, thread creation, CPU and page
//! facts (Go's os_linux.go). Everything here is a direct system call or libc
//! call with no runtime state.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, Ordering};

/// Monotonic time in nanoseconds (Go's nanotime). vDSO, no system call.
pub(crate) fn nanotime() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// The calling thread's kernel id.
pub(crate) fn gettid() -> i64 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

/// Writes the pieces to stderr with write(2) only: usable from a signal
/// handler and when the heap may be corrupt.
pub(crate) fn write_stderr(parts: &[&str]) {
    for p in parts {
        let mut b = p.as_bytes();
        while !b.is_empty() {
            // SAFETY: b points to b.len() readable bytes.
            let n = unsafe { libc::write(2, b.as_ptr().cast(), b.len()) };
            if n <= 0 {
                if n < 0 && errno() == libc::EINTR {
                    continue;
                }
                return;
            }
            b = &b[n as usize..];
        }
    }
}

pub(crate) fn errno() -> i32 {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Formats an integer into `buf` without allocating; for signal handlers.
pub(crate) fn fmt_i64(v: i64, buf: &mut [u8; 24]) -> &str {
    let mut i = buf.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("?")
}

/// Number of CPUs this process may run on: its affinity mask, not the
/// machine's CPU count (Go's getproccount).
pub(crate) fn getproccount() -> u32 {
    // SAFETY: cpu_set_t is plain data; all-zero is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is writable and its size is passed.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return 1;
    }
    // SAFETY: set was filled by sched_getaffinity.
    let n = unsafe { libc::CPU_COUNT(&set) };
    n.max(1) as u32
}

pub(crate) fn phys_page_size() -> usize {
    // SAFETY: sysconf has no memory arguments.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// Transparent huge page size, 0 when the kernel does not say.
pub(crate) fn huge_page_size() -> usize {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) fn max_map_count() -> usize {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(65530)
}

pub(crate) fn map_count() -> usize {
    std::fs::read("/proc/self/maps").map(|b| b.iter().filter(|&&c| c == b'\n').count()).unwrap_or(0)
}

/// Runs `f` and puts errno back as it was: the runtime's own system calls
/// on a goroutine's behalf (a contended lock's futex, a poller wakeup) must
/// not change the errno the goroutine sees (see switch.rs). Slow paths only.
pub(crate) fn keep_errno<R>(f: impl FnOnce() -> R) -> R {
    let saved = errno();
    let r = f();
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() = saved };
    r
}

fn futex(word: &AtomicU32, op: i32, val: u32, ts: *const libc::timespec) -> i64 {
    // SAFETY: word is a live, aligned u32 for the duration of the call; ts is null or valid.
    keep_errno(|| unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            op | libc::FUTEX_PRIVATE_FLAG,
            val,
            ts,
            std::ptr::null::<u32>(),
            0u32,
        )
    })
}

/// Sleeps while `*word == val`, up to `ns` nanoseconds when `ns >= 0`.
/// Returns on wakeup, timeout, signal or a changed value; callers loop.
pub(crate) fn futex_wait(word: &AtomicU32, val: u32, ns: i64) {
    if ns < 0 {
        futex(word, libc::FUTEX_WAIT, val, std::ptr::null());
    } else {
        let ts = libc::timespec { tv_sec: ns / 1_000_000_000, tv_nsec: ns % 1_000_000_000 };
        futex(word, libc::FUTEX_WAIT, val, &ts);
    }
}

pub(crate) fn futex_wake(word: &AtomicU32, n: i32) {
    futex(word, libc::FUTEX_WAKE, n as u32, std::ptr::null());
}

/// A one-shot wakeup for one sleeper (Go's note): `notesleep` blocks the
/// thread until `notewakeup`; `noteclear` re-arms it. Costs no CPU while
/// asleep.
pub(crate) struct Note {
    key: AtomicU32,
}

impl Note {
    pub(crate) const fn new() -> Note {
        Note { key: AtomicU32::new(0) }
    }

    /// Go's noteclear. Only when no thread sleeps on the note.
    pub(crate) fn clear(&self) {
        self.key.store(0, Ordering::Relaxed);
    }

    /// Go's notewakeup. At most once per clear.
    pub(crate) fn wakeup(&self) {
        // Release: the sleeper sees everything written before the wakeup.
        if self.key.swap(1, Ordering::Release) == 0 {
            futex_wake(&self.key, 1);
        }
    }

    /// Go's notesleep: blocks the thread until wakeup.
    pub(crate) fn sleep(&self) {
        while self.key.load(Ordering::Acquire) == 0 {
            futex_wait(&self.key, 0, -1);
        }
    }

    /// Go's notetsleep: sleeps at most `ns`; true when woken.
    pub(crate) fn tsleep(&self, ns: i64) -> bool {
        let deadline = nanotime() + ns;
        loop {
            if self.key.load(Ordering::Acquire) != 0 {
                return true;
            }
            let left = deadline - nanotime();
            if left <= 0 {
                return false;
            }
            futex_wait(&self.key, 0, left);
        }
    }
}

/// read(2) as a bare system call. glibc's wrapper is a pthread
/// cancellation point and pays for it on every call (two calls into
/// libpthread's cancel state, ~60 instructions); an M must never be
/// cancelled, so gort's I/O calls are not cancellation points anyway.
/// Returns the count or -1 with errno set, as the wrapper does.
///
/// # Safety
/// As read(2): `buf` is valid for `n` writable bytes.
#[inline]
pub(crate) unsafe fn sys_read(fd: i32, buf: *mut c_void, n: usize) -> isize {
    // SAFETY: forwarded to the caller; syscall(2) takes the same arguments as read(2).
    unsafe { libc::syscall(libc::SYS_read, fd, buf, n) as isize }
}

/// write(2) as a bare system call (see `sys_read`).
///
/// # Safety
/// As write(2): `buf` is valid for `n` readable bytes.
#[inline]
pub(crate) unsafe fn sys_write(fd: i32, buf: *const c_void, n: usize) -> isize {
    // SAFETY: forwarded to the caller.
    unsafe { libc::syscall(libc::SYS_write, fd, buf, n) as isize }
}

/// sendto(2) as a bare system call (see `sys_read`); send(2) is sendto
/// with no address.
///
/// # Safety
/// As sendto(2): `buf` is valid for `n` readable bytes; `addr` is null or
/// valid for `addrlen` bytes.
#[inline]
pub(crate) unsafe fn sys_sendto(
    fd: i32,
    buf: *const c_void,
    n: usize,
    flags: i32,
    addr: *const libc::sockaddr,
    addrlen: libc::socklen_t,
) -> isize {
    // SAFETY: forwarded to the caller.
    unsafe { libc::syscall(libc::SYS_sendto, fd, buf, n, flags, addr, addrlen) as isize }
}

/// recvfrom(2) as a bare system call (see `sys_read`).
///
/// # Safety
/// As recvfrom(2): `buf` is valid for `n` writable bytes; `addr` and
/// `addrlen` are null or valid.
#[inline]
pub(crate) unsafe fn sys_recvfrom(
    fd: i32,
    buf: *mut c_void,
    n: usize,
    flags: i32,
    addr: *mut libc::sockaddr,
    addrlen: *mut libc::socklen_t,
) -> isize {
    // SAFETY: forwarded to the caller.
    unsafe { libc::syscall(libc::SYS_recvfrom, fd, buf, n, flags, addr, addrlen) as isize }
}

/// Sleeps the thread (Go's usleep).
pub(crate) fn usleep(us: u64) {
    let ts = libc::timespec { tv_sec: (us / 1_000_000) as i64, tv_nsec: ((us % 1_000_000) * 1000) as i64 };
    // SAFETY: ts is valid; a null remainder is allowed.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

/// Yields the OS thread (Go's osyield).
pub(crate) fn osyield() {
    // SAFETY: sched_yield has no arguments.
    unsafe { libc::sched_yield() };
}

/// Starts an OS thread running `start(arg)` on a `stack_size` stack, with
/// all signals but the synchronous ones blocked while it starts (Go's
/// newosproc). The thread is detached; Ms never exit.
pub(crate) fn newosproc(
    stack_size: usize,
    start: extern "C" fn(*mut c_void) -> *mut c_void,
    arg: *mut c_void,
) -> Result<(), i32> {
    let stack_size = crate::sanitize::thread_stack_size(stack_size);
    // SAFETY: attr is initialised by pthread_attr_init before any other use and destroyed once; pthread_create copies what it needs from it; a stack from thread_stack is ours for the thread's (endless) life.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        libc::pthread_attr_init(&mut attr);
        let slot = if crate::sanitize::glibc_thread_stacks() { None } else { crate::stack::thread_stack(stack_size) };
        match slot {
            Some((lo, size)) => libc::pthread_attr_setstack(&mut attr, lo, size),
            None => libc::pthread_attr_setstacksize(&mut attr, stack_size),
        };
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let mut tid: libc::pthread_t = 0;
        let r = libc::pthread_create(&mut tid, &attr, start, arg);
        libc::pthread_attr_destroy(&mut attr);
        if r != 0 {
            Err(r)
        } else {
            Ok(())
        }
    }
}

pub(crate) fn set_thread_name(name: &str) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: buf is NUL-terminated and at most 16 bytes, the kernel's limit.
    unsafe { libc::pthread_setname_np(libc::pthread_self(), buf.as_ptr().cast()) };
}
