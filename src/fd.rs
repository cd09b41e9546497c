//! File-descriptor I/O for goroutines (Go's internal/poll fd_unix.go and
//! the net package's socket calls): the C API over the netpoller.
//!
//! Each call first tries the system call on the non-blocking fd; when it
//! would block (EAGAIN), the goroutine parks on the fd's poll descriptor
//! until the poller sees the fd ready, then tries again. Host threads park
//! the same way, on a futex. Errors are negative errno values (as libuv
//! does), plus GORT_ETIMEDOUT (a deadline passed; the fd stays usable) and
//! GORT_ECLOSED (`gort_close` closed the fd while the call waited). Fds the
//! poller cannot watch (regular files) are read and written with blocking
//! calls inside `gort_entersyscall`/`gort_exitsyscall`.

use crate::ffi::{GORT_EINVAL, GORT_ENOTINIT, GORT_ETIMEDOUT};
use crate::netpoll::{fd_init, fd_init_new, wait, Fd, PdMode};
use crate::os::{errno, sys_read, sys_recvfrom, sys_sendto, sys_write};
use crate::park::deadline_after;
use crate::syscall::blocking;
use std::ffi::{c_int, c_void};

/// Readable (for `gort_fd_wait`); the value of POLLIN.
pub const GORT_POLLIN: c_int = 1;
/// Writable (for `gort_fd_wait`); the value of POLLOUT.
pub const GORT_POLLOUT: c_int = 4;

/// Most iovecs handed to one readv/writev by the loops below.
const IOV_CHUNK: usize = 64;

fn ready() -> bool {
    crate::boot::is_ready()
}

/// A system call's result: the count, or the errno it set.
fn sys(r: isize) -> Result<usize, i32> {
    if r >= 0 {
        Ok(r as usize)
    } else {
        Err(errno())
    }
}

/// Go's fd.Read loop: `op` until it does not fail with EAGAIN/EINTR,
/// parking on the read side in between. `want` is the bytes asked for;
/// with `hint`, a shorter result from a stream marks the fd drained (see
/// netpoll/mod.rs).
fn readloop(f: Fd, want: usize, hint: bool, mut op: impl FnMut() -> Result<usize, i32>) -> isize {
    if !f.pollable() {
        return blocking_call(op);
    }
    let m = &f.pd.rd;
    loop {
        if let Err(e) = m.check_deadline() {
            return e as isize;
        }
        let rev = m.rev();
        if !m.drained_since(rev) {
            match op() {
                Ok(n) => {
                    if hint && n > 0 && n < want && f.drains() {
                        m.set_drained(rev);
                    }
                    return n as isize;
                }
                Err(libc::EINTR) => continue,
                Err(libc::EAGAIN) => m.set_drained(rev),
                Err(e) => return -(e as isize),
            }
        }
        if let Err(e) = wait(f, &[(m, rev)], 0) {
            return e as isize;
        }
    }
}

/// Go's fd.Write loop: writes `total` bytes through `op(done)` (which
/// writes from offset `done`), parking on the write side when the fd is
/// full. With `all` false (datagrams) one successful call is the result.
/// Returns `total`, or the bytes written before an error, or the error.
fn writeloop(f: Fd, total: usize, all: bool, mut op: impl FnMut(usize) -> Result<usize, i32>) -> isize {
    if !f.pollable() {
        return writeall_blocking(total, op);
    }
    let m = &f.pd.wr;
    let mut done = 0usize;
    let stop = |done: usize, e: isize| if done > 0 { done as isize } else { e };
    loop {
        if let Err(e) = m.check_deadline() {
            return stop(done, e as isize);
        }
        let rev = m.rev();
        match op(done) {
            Ok(n) => {
                done += n;
                if !all || done >= total {
                    return done as isize;
                }
            }
            Err(libc::EINTR) => {}
            Err(libc::EAGAIN) => {
                if let Err(e) = wait(f, &[(m, rev)], 0) {
                    return stop(done, e as isize);
                }
            }
            Err(e) => return stop(done, -(e as isize)),
        }
    }
}

/// A blocking call on an fd the poller cannot watch, retried on EINTR.
fn blocking_call(mut op: impl FnMut() -> Result<usize, i32>) -> isize {
    blocking(|| loop {
        match op() {
            Ok(n) => return n as isize,
            Err(libc::EINTR) => continue,
            Err(e) => return -(e as isize),
        }
    })
}

/// GORT_EINVAL for a bad argument, unless the runtime is not initialised
/// (GORT_ENOTINIT comes first, as in every other call).
fn inval() -> isize {
    if ready() {
        GORT_EINVAL as isize
    } else {
        GORT_ENOTINIT as isize
    }
}

/// The common prologue: init check, then the fd's descriptor.
fn prologue(fd: c_int) -> Result<Fd, isize> {
    if !ready() {
        return Err(GORT_ENOTINIT as isize);
    }
    fd_init(fd).map_err(|e| e as isize)
}

/// Bytes in an iovec array, or None if it overflows.
///
/// # Safety
/// `iov` points to `cnt` iovecs.
unsafe fn iov_total(iov: *const libc::iovec, cnt: usize) -> Option<usize> {
    let mut t = 0usize;
    for i in 0..cnt {
        // SAFETY: i < cnt.
        t = t.checked_add(unsafe { (*iov.add(i)).iov_len })?;
    }
    Some(t)
}

/// The iovecs of `iov[..cnt]` from byte offset `skip` on, at most
/// IOV_CHUNK of them, copied into `out`. Returns how many.
///
/// # Safety
/// As iov_total; `skip` is less than their total.
unsafe fn iov_from(iov: *const libc::iovec, cnt: usize, mut skip: usize, out: &mut [libc::iovec; IOV_CHUNK]) -> usize {
    let mut n = 0;
    for i in 0..cnt {
        // SAFETY: i < cnt.
        let v = unsafe { *iov.add(i) };
        if skip >= v.iov_len {
            skip -= v.iov_len;
            continue;
        }
        // SAFETY: skip < iov_len, so the pointer stays inside the caller's buffer.
        out[n] =
            libc::iovec { iov_base: unsafe { (v.iov_base as *mut u8).add(skip) }.cast(), iov_len: v.iov_len - skip };
        skip = 0;
        n += 1;
        if n == IOV_CHUNK {
            break;
        }
    }
    n
}

/// (count, total bytes) of a caller's iovec array, or None when invalid.
fn check_iov(iov: *const libc::iovec, iovcnt: c_int) -> Option<(usize, usize)> {
    if iovcnt < 0 || iovcnt as usize > libc::UIO_MAXIOV as usize || (iov.is_null() && iovcnt > 0) {
        return None;
    }
    let cnt = iovcnt as usize;
    // SAFETY: the caller passes iovcnt iovecs.
    unsafe { iov_total(iov, cnt) }.filter(|&t| t <= isize::MAX as usize).map(|t| (cnt, t))
}

// ---------------------------------------------------------------------------
// C API

/// Waits until `fd` is ready for `events` (`GORT_POLLIN`, `GORT_POLLOUT`, or
/// both), parking the goroutine (or blocking the thread). An error or
/// hang-up on the fd counts as ready (the next call reports it). Also ends
/// at the fd's deadlines (`gort_set_deadline`).
///
/// `timeout_ns < 0` waits forever, 0 only checks. Returns the ready events
/// (> 0), GORT_ETIMEDOUT, GORT_ECLOSED (closed by `gort_close` meanwhile),
/// GORT_EINVAL (bad `events`), a negative errno (-EBADF), GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_fd_wait(fd: c_int, events: c_int, timeout_ns: i64) -> c_int {
    ffi_guard!("gort_fd_wait", {
        if events == 0 || events & !(GORT_POLLIN | GORT_POLLOUT) != 0 {
            return inval() as c_int;
        }
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e as c_int,
        };
        let deadline = deadline_after(timeout_ns);
        loop {
            let (rrev, wrev) = (f.pd.rd.rev(), f.pd.wr.rev());
            let mut p = libc::pollfd { fd, events: events as i16, revents: 0 };
            // SAFETY: one valid pollfd; a zero timeout never blocks.
            let r = unsafe { libc::poll(&mut p, 1, 0) };
            if r < 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                return -errno();
            }
            if p.revents & libc::POLLNVAL != 0 {
                return -libc::EBADF;
            }
            let bad = p.revents & (libc::POLLERR | libc::POLLHUP) != 0;
            let mut got = 0;
            if events & GORT_POLLIN != 0 && (bad || p.revents & (libc::POLLIN | libc::POLLRDHUP) != 0) {
                got |= GORT_POLLIN;
            }
            if events & GORT_POLLOUT != 0 && (bad || p.revents & libc::POLLOUT != 0) {
                got |= GORT_POLLOUT;
            }
            if got != 0 {
                return got;
            }
            if timeout_ns == 0 || !f.pollable() {
                return GORT_ETIMEDOUT;
            }
            let modes: [(&PdMode, u64); 2] = [(&f.pd.rd, rrev), (&f.pd.wr, wrev)];
            let which: &[(&PdMode, u64)] = match events {
                GORT_POLLIN => &modes[..1],
                GORT_POLLOUT => &modes[1..],
                _ => &modes[..],
            };
            if let Err(e) = wait(f, which, deadline) {
                return e;
            }
        }
    })
}

/// Reads up to `n` bytes (read(2)), parking while none are available.
/// Returns the bytes read (> 0), 0 at end of file, or a negative errno,
/// GORT_ETIMEDOUT (read deadline), GORT_ECLOSED, GORT_EINVAL (NULL buf),
/// GORT_ENOTINIT. The fd is made non-blocking on first use.
#[no_mangle]
pub extern "C" fn gort_read(fd: c_int, buf: *mut c_void, n: usize) -> libc::ssize_t {
    ffi_guard!("gort_read", {
        if buf.is_null() && n > 0 {
            return GORT_EINVAL as isize;
        }
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e,
        };
        // SAFETY: the caller passes n writable bytes at buf.
        let op = || sys(unsafe { sys_read(fd, buf, n) });
        readloop(f, n, true, op)
    })
}

/// Writes all `n` bytes (Go's Write), parking whenever the fd is full; on a
/// socket without raising SIGPIPE (send with MSG_NOSIGNAL; a pipe raises it
/// as write(2) does). Returns `n`; if an error or the write deadline stops
/// it, the bytes written before (the next call reports the error), or the
/// negative error when nothing was written. GORT_EINVAL for a NULL buf.
#[no_mangle]
pub extern "C" fn gort_write(fd: c_int, buf: *const c_void, n: usize) -> libc::ssize_t {
    ffi_guard!("gort_write", {
        if buf.is_null() && n > 0 {
            return GORT_EINVAL as isize;
        }
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let socket = f.kind().socket;
        let op = |done: usize| {
            // SAFETY: done < n (or both 0): the rest of the caller's buffer.
            let p = unsafe { (buf as *const u8).add(done) }.cast();
            // SAFETY: p points to n - done readable bytes.
            sys(unsafe {
                if socket {
                    sys_sendto(fd, p, n - done, libc::MSG_NOSIGNAL, std::ptr::null(), 0)
                } else {
                    sys_write(fd, p, n - done)
                }
            })
        };
        writeloop(f, n, true, op)
    })
}

/// gort_write's loop on an fd the poller cannot watch.
fn writeall_blocking(total: usize, mut op: impl FnMut(usize) -> Result<usize, i32>) -> isize {
    blocking(|| {
        let mut done = 0;
        loop {
            match op(done) {
                Ok(k) => {
                    done += k;
                    if done >= total || k == 0 {
                        return done as isize;
                    }
                }
                Err(libc::EINTR) => {}
                Err(e) => return if done > 0 { done as isize } else { -(e as isize) },
            }
        }
    })
}

/// Scatter read (readv(2)), parking while no data is available. Results as
/// `gort_read`; GORT_EINVAL for a bad iovec array.
#[no_mangle]
pub extern "C" fn gort_readv(fd: c_int, iov: *const libc::iovec, iovcnt: c_int) -> libc::ssize_t {
    ffi_guard!("gort_readv", {
        let Some((_, total)) = check_iov(iov, iovcnt) else { return inval() };
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e,
        };
        // SAFETY: iov holds iovcnt iovecs describing writable buffers.
        let op = || sys(unsafe { libc::readv(fd, iov, iovcnt) });
        readloop(f, total, true, op)
    })
}

/// Gather write of every byte (writev(2); on a socket sendmsg with
/// MSG_NOSIGNAL), parking whenever the fd is full. Results as `gort_write`.
#[no_mangle]
pub extern "C" fn gort_writev(fd: c_int, iov: *const libc::iovec, iovcnt: c_int) -> libc::ssize_t {
    ffi_guard!("gort_writev", {
        let Some((cnt, total)) = check_iov(iov, iovcnt) else { return inval() };
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let socket = f.kind().socket;
        let op = |done: usize| {
            let mut v = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; IOV_CHUNK];
            // SAFETY: iov holds cnt iovecs; done < total (or total is 0).
            let k = if total == 0 { 0 } else { unsafe { iov_from(iov, cnt, done, &mut v) } };
            // SAFETY: v[..k] describes the unwritten rest of the caller's buffers.
            sys(unsafe {
                if socket {
                    // SAFETY: msghdr is plain data; all-zero is valid.
                    let mut msg: libc::msghdr = std::mem::zeroed();
                    msg.msg_iov = v.as_mut_ptr();
                    msg.msg_iovlen = k as _;
                    libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL)
                } else {
                    libc::writev(fd, v.as_ptr(), k as c_int)
                }
            })
        };
        writeloop(f, total, true, op)
    })
}

/// recv(2) on a socket, parking while no data is available. Results as
/// `gort_read`.
#[no_mangle]
pub extern "C" fn gort_recv(fd: c_int, buf: *mut c_void, n: usize, flags: c_int) -> libc::ssize_t {
    gort_recvfrom(fd, buf, n, flags, std::ptr::null_mut(), std::ptr::null_mut())
}

/// send(2) on a socket, never raising SIGPIPE (MSG_NOSIGNAL is added): on a
/// stream socket every byte, as `gort_write`; on a datagram socket one
/// datagram.
#[no_mangle]
pub extern "C" fn gort_send(fd: c_int, buf: *const c_void, n: usize, flags: c_int) -> libc::ssize_t {
    gort_sendto(fd, buf, n, flags, std::ptr::null(), 0)
}

/// recvfrom(2), parking while nothing is available: one datagram on a
/// datagram socket (with its sender in `addr`/`addrlen` when not NULL).
/// Results as `gort_read`.
#[no_mangle]
pub extern "C" fn gort_recvfrom(
    fd: c_int,
    buf: *mut c_void,
    n: usize,
    flags: c_int,
    addr: *mut libc::sockaddr,
    addrlen: *mut libc::socklen_t,
) -> libc::ssize_t {
    ffi_guard!("gort_recvfrom", {
        if (buf.is_null() && n > 0) || (!addr.is_null() && addrlen.is_null()) {
            return inval();
        }
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e,
        };
        // SAFETY: buf has n writable bytes; addr/addrlen are NULL or valid.
        let op = || sys(unsafe { sys_recvfrom(fd, buf, n, flags, addr, addrlen) });
        // MSG_PEEK and friends leave the data in place: no drained hint.
        readloop(f, n, flags == 0, op)
    })
}

/// sendto(2), never raising SIGPIPE: one datagram to `addr` on a datagram
/// socket; on a stream socket every byte (`addr` is ignored by the kernel
/// there). Results as `gort_write`.
#[no_mangle]
pub extern "C" fn gort_sendto(
    fd: c_int,
    buf: *const c_void,
    n: usize,
    flags: c_int,
    addr: *const libc::sockaddr,
    addrlen: libc::socklen_t,
) -> libc::ssize_t {
    ffi_guard!("gort_sendto", {
        if buf.is_null() && n > 0 {
            return inval();
        }
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let op = |done: usize| {
            // SAFETY: done < n (or both 0): the rest of the caller's buffer; addr is NULL or addrlen bytes.
            sys(unsafe {
                sys_sendto(
                    fd,
                    (buf as *const u8).add(done).cast(),
                    n - done,
                    flags | libc::MSG_NOSIGNAL,
                    addr,
                    addrlen,
                )
            })
        };
        writeloop(f, n, !f.kind().messages, op)
    })
}

/// Accepts a connection (accept4(2)), parking until one arrives. The new
/// fd is non-blocking and close-on-exec, and already known to the poller.
/// `addr`/`addrlen` as in accept(2), may be NULL. Returns the fd (>= 0), a
/// negative errno, GORT_ETIMEDOUT (read deadline of the listening fd),
/// GORT_ECLOSED, GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_accept(fd: c_int, addr: *mut libc::sockaddr, addrlen: *mut libc::socklen_t) -> c_int {
    ffi_guard!("gort_accept", {
        if !addr.is_null() && addrlen.is_null() {
            return inval() as c_int;
        }
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e as c_int,
        };
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        loop {
            // SAFETY: addr/addrlen are NULL or valid, as accept4 requires.
            let op = || sys(unsafe { libc::accept4(fd, addr, addrlen, flags) } as isize);
            let r = readloop(f, 1, false, op);
            if r < 0 {
                // Go retries a connection that was aborted while queued.
                if r == -(libc::ECONNABORTED as isize) {
                    continue;
                }
                return r as c_int;
            }
            let nfd = r as c_int;
            return match fd_init_new(nfd, f.kind()) {
                Ok(_) => nfd,
                Err(e) => {
                    // SAFETY: nfd is ours, just accepted.
                    unsafe { libc::close(nfd) };
                    e
                }
            };
        }
    })
}

/// Connects a socket (connect(2)), parking until the connection is made or
/// refused. Returns 0, a negative errno (-ECONNREFUSED, -ETIMEDOUT from the
/// kernel, ...), GORT_ETIMEDOUT (write deadline), GORT_ECLOSED,
/// GORT_EINVAL (NULL addr), GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_connect(fd: c_int, addr: *const libc::sockaddr, addrlen: libc::socklen_t) -> c_int {
    ffi_guard!("gort_connect", {
        if addr.is_null() {
            return inval() as c_int;
        }
        let f = match prologue(fd) {
            Ok(f) => f,
            Err(e) => return e as c_int,
        };
        // SAFETY: addr points to addrlen bytes.
        let op = || sys(unsafe { libc::connect(fd, addr, addrlen) } as isize);
        if !f.pollable() {
            return blocking_call(op) as c_int;
        }
        let m = &f.pd.wr;
        if let Err(e) = m.check_deadline() {
            return e;
        }
        let mut rev = m.rev();
        match op() {
            Ok(_) => return 0,
            Err(libc::EINPROGRESS | libc::EALREADY | libc::EINTR) => {}
            Err(libc::EISCONN) => return 0,
            Err(e) => return -e,
        }
        loop {
            if let Err(e) = wait(f, &[(m, rev)], 0) {
                return e;
            }
            rev = m.rev();
            let mut err: c_int = 0;
            let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
            // SAFETY: err and len are valid for getsockopt's output.
            if unsafe {
                libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, (&mut err as *mut c_int).cast(), &mut len)
            } != 0
            {
                return -errno();
            }
            match err {
                libc::EINPROGRESS | libc::EALREADY | libc::EINTR => continue,
                libc::EISCONN => return 0,
                0 => {
                    // The poller can report writability spuriously: connected
                    // only if the socket has a peer (Go does the same).
                    // SAFETY: sa and sl are valid for getpeername's output.
                    let mut sa: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
                    let mut sl = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                    // SAFETY: as above.
                    if unsafe { libc::getpeername(fd, (&mut sa as *mut libc::sockaddr_storage).cast(), &mut sl) } == 0 {
                        return 0;
                    }
                }
                e => return -e,
            }
        }
    })
}

/// Closes `fd` (close(2)) after waking every goroutine and thread waiting
/// on it, whose calls return GORT_ECLOSED. Use it instead of close(2) for
/// any fd gort's I/O calls have seen: the poller must forget the fd before
/// its number is reused. Returns 0 or a negative errno. Usable before init.
#[no_mangle]
pub extern "C" fn gort_close(fd: c_int) -> c_int {
    ffi_guard!("gort_close", crate::netpoll::fd_close(fd))
}

fn set_deadline(fd: c_int, read: bool, write: bool, deadline: i64) -> c_int {
    if deadline < 0 {
        return inval() as c_int;
    }
    let f = match prologue(fd) {
        Ok(f) => f,
        Err(e) => return e as c_int,
    };
    if !f.pollable() {
        // Calls on such fds block their thread: nothing could end them
        // early (Go: ErrNoDeadline).
        return -libc::ENOTSUP;
    }
    crate::netpoll::set_deadline(f, read, write, deadline);
    0
}

/// Sets the read and write deadlines of `fd` (Go's SetDeadline):
/// `deadline` is a `gort_nanotime()` value, 0 for none. A call that would
/// wait past it, or starts after it, returns GORT_ETIMEDOUT; the fd stays
/// usable (set a new deadline and call again). Calls waiting now see the
/// new deadline at once. Returns 0, GORT_EINVAL (negative deadline),
/// -ENOTSUP (an fd the poller cannot watch, such as a regular file), a
/// negative errno (-EBADF), GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_set_deadline(fd: c_int, deadline: i64) -> c_int {
    ffi_guard!("gort_set_deadline", set_deadline(fd, true, true, deadline))
}

/// Sets the deadline of reads, receives and accepts on `fd` (Go's
/// SetReadDeadline). As `gort_set_deadline`.
#[no_mangle]
pub extern "C" fn gort_set_read_deadline(fd: c_int, deadline: i64) -> c_int {
    ffi_guard!("gort_set_read_deadline", set_deadline(fd, true, false, deadline))
}

/// Sets the deadline of writes, sends and connects on `fd` (Go's
/// SetWriteDeadline). As `gort_set_deadline`.
#[no_mangle]
pub extern "C" fn gort_set_write_deadline(fd: c_int, deadline: i64) -> c_int {
    ffi_guard!("gort_set_write_deadline", set_deadline(fd, false, true, deadline))
}
