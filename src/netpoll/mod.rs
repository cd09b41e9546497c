//! The network poller (Go's netpoll.go): goroutines that wait for an fd to
//! become readable or writable park here, and the scheduler wakes them when
//! the kernel says so.
//!
//! # Poll descriptors
//!
//! Each fd number has a [`PollDesc`] (Go's pollDesc) in a table indexed by
//! the number, allocated in chunks on first use and never freed: a
//! descriptor outlives the fds that reuse its number, so a waiter or an
//! event that refers to an old fd finds a descriptor whose generation
//! (`seq`, Go's fdseq) has moved on. An fd is registered with the kernel
//! once, edge-triggered, the first time gort sees it, and deregistered by
//! `gort_close`.
//!
//! Per direction (read, write) a descriptor holds, under its lock:
//! * `rev`, the number of readiness events seen: an edge-triggered
//!   backend reports an edge, not a level, so a waiter must not miss one
//!   that arrives between its failed `read()` and its park. A waiter reads
//!   `rev` before the system call and parks only if `rev` is unchanged
//!   under the lock (Go's rg/wg words with pdReady play this role);
//! * the waiters (goroutines or host threads, see `park.rs`): readiness,
//!   `gort_close` and a deadline change wake all of them, each with its
//!   reason in `Sudog::ticket`; they retry their call;
//! * `drained`: `rev + 1` as it was before a read that emptied the fd (it
//!   returned EAGAIN, or fewer bytes than asked from a TCP socket). Until the
//!   next event the data cannot be there, so the next read parks at once
//!   instead of paying a system call to learn EAGAIN: an echo server's read
//!   costs one system call per message, as in a plain epoll loop, not two.
//!   Only a TCP socket's short read counts (see `Kind`), and not after
//!   urgent data, a hang-up or an error was seen (the end of file or the
//!   error waits behind the data without a new edge);
//! * the deadline (Go's SetReadDeadline), absolute, 0 for none.
//!
//! # Who polls
//!
//! As in Go: `findrunnable` polls without blocking when it has no local
//! work, sysmon polls when nobody did for 10 ms, and the last M to go idle
//! blocks in `epoll_wait` until the earliest timer (so timers and I/O share
//! one sleeper). `sched.lastpoll` is 0 while an M blocks there and
//! `sched.poll_until` is its deadline; `wake_netpoller` breaks the wait
//! when an earlier timer appears. Readied goroutines are injected as a
//! batch on the poller's P (Go's injectglist); readied host threads are
//! woken directly.

pub(crate) mod epoll;

use crate::g::{gref, WaitReason, G, GRUNNABLE, GWAITING};
use crate::lock::RawLock;
use crate::os::{errno, nanotime};
use crate::panic::throw;
use crate::park::{park_until_unlock, Sudog, WaitQ, Waiter};
use crate::sched::sched;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};

/// Registration states of a descriptor (`PollDesc::state`).
const UNREGISTERED: u8 = 0;
/// Registered with epoll: waits go through the poller.
const POLLABLE: u8 = 1;
/// epoll refused the fd (a regular file, /dev/null): calls block the thread
/// inside gort_entersyscall/gort_exitsyscall instead.
const UNPOLLABLE: u8 = 2;

/// Why a waiter was woken (`Sudog::ticket`).
pub(crate) const WOKE_READY: u32 = 0;
pub(crate) const WOKE_CLOSED: u32 = 1;
pub(crate) const WOKE_DEADLINE: u32 = 2;

/// A direction of a descriptor: read (also accept) or write (also connect).
pub(crate) struct PdMode {
    /// Readiness events seen (see the module doc). Written under the lock,
    /// read without it by the I/O fast paths.
    rev: AtomicU64,
    /// `rev + 1` from before a read that drained the fd; 0: unknown.
    drained: AtomicU64,
    /// Absolute deadline (nanotime), 0 for none.
    deadline: AtomicI64,
    /// Goroutines and threads waiting for this direction. Under the lock.
    waiters: WaitQ,
}

/// Go's pollDesc. All-zero is its initial state (unregistered, unlocked),
/// so chunks of them come from zeroed memory.
#[repr(C, align(64))]
pub(crate) struct PollDesc {
    lock: RawLock,
    /// Generation: bumped when the fd is closed through gort_close (and when
    /// a stale registration is replaced), so that events and waiters of an
    /// earlier fd with the same number are recognised.
    seq: AtomicU32,
    state: AtomicU8,
    /// Set at registration (see `Kind`).
    kind: Cell<Kind>,
    /// Urgent data, a hang-up or an error was seen: a short read no longer
    /// means drained (reads stop at an urgent mark; after the peer's FIN
    /// or an error the next read returns 0 or the error without a new
    /// edge). Sticky until the fd is registered again.
    nodrain: AtomicBool,
    pub(crate) rd: PdMode,
    pub(crate) wr: PdMode,
}

// SAFETY: the Cell fields are written only under `lock` while the
// descriptor is being registered and read after `state` (Release/Acquire)
// says it is; everything else is atomic or under `lock`.
unsafe impl Sync for PollDesc {}

/// Descriptors per chunk of the table.
const CHUNK: usize = 1024;
/// Fds up to this number can be used with gort's I/O calls (Linux's
/// default fs.nr_open limit is 1,048,576).
pub(crate) const MAX_FDS: usize = 1 << 22;
static TABLE: [AtomicPtr<PollDesc>; MAX_FDS / CHUNK] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_FDS / CHUNK];

/// Goroutines and threads parked on descriptors (Go's netpollWaiters).
static WAITERS: AtomicI32 = AtomicI32::new(0);
/// Fds registered with the poller, for gort_stats.
static REGISTERED: AtomicI64 = AtomicI64::new(0);

/// For gort_stats: (fds registered, goroutines and threads waiting on fds).
pub(crate) fn stats() -> (i64, i64) {
    (REGISTERED.load(Ordering::Relaxed), WAITERS.load(Ordering::Relaxed) as i64)
}

/// Go's netpollinit, at schedinit.
pub(crate) fn netpollinit() -> Result<(), i32> {
    epoll::init()
}

/// The descriptor of `fd`, allocating its chunk on first use. Err: -EBADF
/// for a negative fd, -EMFILE past MAX_FDS, -ENOMEM.
fn pd_of(fd: i32) -> Result<&'static PollDesc, i32> {
    if fd < 0 {
        return Err(-libc::EBADF);
    }
    let fd = fd as usize;
    if fd >= MAX_FDS {
        return Err(-libc::EMFILE);
    }
    let slot = &TABLE[fd / CHUNK];
    let mut chunk = slot.load(Ordering::Acquire);
    if chunk.is_null() {
        chunk = alloc_chunk(slot)?;
    }
    // SAFETY: a chunk holds CHUNK descriptors and is never freed.
    Ok(unsafe { &*chunk.add(fd % CHUNK) })
}

#[cold]
fn alloc_chunk(slot: &AtomicPtr<PollDesc>) -> Result<*mut PollDesc, i32> {
    let layout = std::alloc::Layout::array::<PollDesc>(CHUNK).map_err(|_| -libc::ENOMEM)?;
    // SAFETY: layout is non-zero; all-zero bytes are a valid PollDesc (see its doc).
    let fresh = unsafe { std::alloc::alloc_zeroed(layout) } as *mut PollDesc;
    if fresh.is_null() {
        return Err(-libc::ENOMEM);
    }
    match slot.compare_exchange(std::ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Ok(fresh),
        Err(won) => {
            // SAFETY: fresh was allocated above with this layout and never shared.
            unsafe { std::alloc::dealloc(fresh.cast(), layout) };
            Ok(won)
        }
    }
}

/// A descriptor ready for I/O on `fd`, with the generation the caller's
/// call belongs to.
#[derive(Clone, Copy)]
pub(crate) struct Fd {
    pub pd: &'static PollDesc,
    pub seq: u32,
}

impl Fd {
    pub(crate) fn pollable(&self) -> bool {
        self.pd.state.load(Ordering::Relaxed) == POLLABLE
    }
    pub(crate) fn kind(&self) -> Kind {
        self.pd.kind.get()
    }
    /// A short read from this fd means it is drained (see the module doc).
    #[inline]
    pub(crate) fn drains(&self) -> bool {
        self.pd.kind.get().drains && !self.pd.nodrain.load(Ordering::Relaxed)
    }
}

/// Go's poll.FD.Init: the descriptor of fd, registering it on first use:
/// made non-blocking and added to epoll, or marked unpollable when epoll
/// refuses it (regular files). Returns a negative errno on failure (EBADF
/// for a closed fd).
#[inline]
pub(crate) fn fd_init(fd: i32) -> Result<Fd, i32> {
    let pd = pd_of(fd)?;
    if pd.state.load(Ordering::Acquire) != UNREGISTERED {
        return Ok(Fd { pd, seq: pd.seq.load(Ordering::Relaxed) });
    }
    register(pd, fd, None)
}

/// Registers an fd the caller just got from the kernel (accept4): any
/// registration of that number is stale by definition (the old fd was
/// closed without gort_close), so it is replaced. Its kind is the
/// listener's, so no system call asks.
pub(crate) fn fd_init_new(fd: i32, kind: Kind) -> Result<Fd, i32> {
    let pd = pd_of(fd)?;
    register(pd, fd, Some(kind))
}

#[cold]
fn register(pd: &'static PollDesc, fd: i32, known: Option<Kind>) -> Result<Fd, i32> {
    pd.lock.lock();
    let r = register_locked(pd, fd, known);
    pd.lock.unlock();
    r
}

fn register_locked(pd: &'static PollDesc, fd: i32, known: Option<Kind>) -> Result<Fd, i32> {
    let state = pd.state.load(Ordering::Relaxed);
    if state != UNREGISTERED {
        if known.is_none() {
            return Ok(Fd { pd, seq: pd.seq.load(Ordering::Relaxed) });
        }
        // Stale: wake whoever still waits on the old fd, start a new generation.
        evict(pd, WOKE_CLOSED);
        if state == POLLABLE {
            REGISTERED.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let seq = pd.seq.load(Ordering::Relaxed);
    pd.kind.set(match known {
        Some(k) => k,
        None => kind(fd)?,
    });
    pd.nodrain.store(false, Ordering::Relaxed);
    for m in [&pd.rd, &pd.wr] {
        m.drained.store(0, Ordering::Relaxed);
        m.deadline.store(0, Ordering::Relaxed);
    }
    let key = (fd as u32 as u64) | ((seq as u64) << 32);
    let state = match epoll::open(fd, key) {
        0 => POLLABLE,
        e if e == -libc::EEXIST => {
            // Registered by an earlier generation of this descriptor whose
            // fd was replaced behind gort's back (dup2): take it over.
            epoll::close(fd);
            match epoll::open(fd, key) {
                0 => POLLABLE,
                e => return Err(e),
            }
        }
        e if e == -libc::EPERM => UNPOLLABLE,
        e => return Err(e),
    };
    if state == POLLABLE && known.is_none() {
        // SAFETY: fcntl on an int fd.
        let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        if fl < 0
            || (fl & libc::O_NONBLOCK == 0 && unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) } < 0)
        {
            let e = -errno();
            epoll::close(fd);
            return Err(e);
        }
    }
    if state == POLLABLE {
        REGISTERED.fetch_add(1, Ordering::Relaxed);
    }
    pd.state.store(state, Ordering::Release);
    Ok(Fd { pd, seq })
}

/// What the I/O calls need to know of an fd, learnt once at registration.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Kind {
    /// A TCP socket, whose read returns fewer bytes than asked only when
    /// its receive queue is empty (or at an urgent mark, or with the peer's
    /// FIN queued: see `PollDesc::nodrain`). Not a pipe (reads stop at the pipe's page
    /// buffers), not a Unix stream socket (reads stop between writers when
    /// credentials are passed), not a datagram socket.
    pub drains: bool,
    /// A socket: writes use send(MSG_NOSIGNAL), never raising SIGPIPE.
    pub socket: bool,
    /// Datagram or seqpacket socket: one send is one message, never
    /// continued with the rest of the buffer.
    pub messages: bool,
}

fn kind(fd: i32) -> Result<Kind, i32> {
    let opt = |name: libc::c_int| {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: v and len are valid for getsockopt's output.
        let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, name, (&mut v as *mut libc::c_int).cast(), &mut len) };
        if r == 0 {
            Ok(v)
        } else {
            Err(errno())
        }
    };
    match opt(libc::SO_TYPE) {
        Ok(ty) => Ok(Kind {
            drains: ty == libc::SOCK_STREAM && opt(libc::SO_PROTOCOL) == Ok(libc::IPPROTO_TCP),
            socket: true,
            messages: ty != libc::SOCK_STREAM,
        }),
        Err(libc::ENOTSOCK) => Ok(Kind::default()),
        Err(e) => Err(-e),
    }
}

/// Wakes every waiter of pd with `why` and starts a new generation.
/// pd.lock must be held.
fn evict(pd: &PollDesc, why: u32) {
    pd.seq.store(pd.seq.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    pd.state.store(UNREGISTERED, Ordering::Release);
    let mut list = GList::new();
    for m in [&pd.rd, &pd.wr] {
        wake_all(m, why, &mut list);
    }
    list.inject();
}

/// Wakes every waiter of m (a readiness event, a close, a deadline change):
/// goroutines are collected in `list` for a batch injection, host threads
/// are woken at once. The owner's lock must be held.
fn wake_all(m: &PdMode, why: u32, list: &mut GList) {
    loop {
        let sg = m.waiters.dequeue();
        if sg.is_null() {
            return;
        }
        // SAFETY: dequeued and claimed: the sudog and its waiter stay alive until woken.
        let s = unsafe { &*sg };
        s.ticket.set(why);
        let w = s.waiter();
        if w.is_goroutine() {
            w.winner.set(sg);
            // SAFETY: the claimed waiter's goroutine is parked and now ours to ready.
            let g = unsafe { gref(w.g) };
            if g.status.load(Ordering::Relaxed) != GWAITING {
                throw("netpoll: waiting goroutine not parked");
            }
            g.status.store(GRUNNABLE, Ordering::Relaxed);
            list.push(w.g);
        } else {
            w.wake(sg);
        }
    }
}

/// `gort_close`: wakes every waiter with GORT_ECLOSED, deregisters and
/// closes fd. The descriptor lock is held across close(2), so that a new fd
/// with the same number, which can exist only once close returns, finds the
/// descriptor reset. Returns 0 or a negative errno.
pub(crate) fn fd_close(fd: i32) -> i32 {
    let pd = match pd_of(fd) {
        Ok(pd) => pd,
        Err(_) => return close_raw(fd),
    };
    pd.lock.lock();
    let state = pd.state.load(Ordering::Relaxed);
    if state != UNREGISTERED {
        if state == POLLABLE {
            epoll::close(fd);
            REGISTERED.fetch_sub(1, Ordering::Relaxed);
        }
        evict(pd, WOKE_CLOSED);
    }
    let r = close_raw(fd);
    pd.lock.unlock();
    r
}

fn close_raw(fd: i32) -> i32 {
    // SAFETY: close on an int fd. On Linux the fd is released even when
    // close reports EINTR, so it is never retried.
    if unsafe { libc::close(fd) } == 0 {
        0
    } else {
        -errno()
    }
}

/// Sets the deadline of one or both directions and wakes their waiters so
/// they re-evaluate it (Go's poll_runtime_pollSetDeadline).
pub(crate) fn set_deadline(f: Fd, read: bool, write: bool, deadline: i64) {
    let pd = f.pd;
    pd.lock.lock();
    let mut list = GList::new();
    if pd.seq.load(Ordering::Relaxed) == f.seq {
        for (on, m) in [(read, &pd.rd), (write, &pd.wr)] {
            if on {
                m.deadline.store(deadline, Ordering::Relaxed);
                wake_all(m, WOKE_DEADLINE, &mut list);
            }
        }
    }
    pd.lock.unlock();
    list.inject();
}

/// Result of a wait that did not end with readiness.
pub(crate) const WAIT_CLOSED: i32 = crate::ffi::GORT_ECLOSED;
pub(crate) const WAIT_TIMEDOUT: i32 = crate::ffi::GORT_ETIMEDOUT;

impl PdMode {
    /// Events seen so far: read before an I/O attempt, passed to `wait`.
    #[inline(always)]
    pub(crate) fn rev(&self) -> u64 {
        self.rev.load(Ordering::Acquire)
    }

    /// Whether the fd is known to be empty since event count `rev`: the
    /// next read may skip its system call and wait.
    #[inline(always)]
    pub(crate) fn drained_since(&self, rev: u64) -> bool {
        self.drained.load(Ordering::Relaxed) == rev.wrapping_add(1)
    }

    /// Records that a read begun at event count `rev` left the fd empty.
    #[inline(always)]
    pub(crate) fn set_drained(&self, rev: u64) {
        self.drained.store(rev.wrapping_add(1), Ordering::Relaxed);
    }

    /// The direction's deadline, 0 for none; GORT_ETIMEDOUT once it passed
    /// (Go's netpollcheckerr: an expired deadline fails a call at once,
    /// even when data is available).
    #[inline(always)]
    pub(crate) fn check_deadline(&self) -> Result<i64, i32> {
        let d = self.deadline.load(Ordering::Relaxed);
        if d != 0 && nanotime() >= d {
            return Err(WAIT_TIMEDOUT);
        }
        Ok(d)
    }
}

/// Go's netpollblock: waits until `m` (or, for `gort_fd_wait`, either of
/// `modes`) sees an event after `revs`, the fd is closed, or the deadline
/// (the earlier of the direction's and `deadline`, 0 for none) passes.
/// Ok(()) means "try the call again"; Err is WAIT_CLOSED or WAIT_TIMEDOUT.
pub(crate) fn wait(f: Fd, modes: &[(&PdMode, u64)], deadline: i64) -> Result<(), i32> {
    debug_assert!(!modes.is_empty() && modes.len() <= 2);
    let pd = f.pd;
    loop {
        pd.lock.lock();
        if pd.seq.load(Ordering::Relaxed) != f.seq {
            pd.lock.unlock();
            return Err(WAIT_CLOSED);
        }
        if modes.iter().any(|&(m, rev)| m.rev.load(Ordering::Relaxed) != rev) {
            pd.lock.unlock();
            return Ok(());
        }
        let mut until = deadline;
        for &(m, _) in modes {
            let d = m.deadline.load(Ordering::Relaxed);
            if d != 0 && (until == 0 || d < until) {
                until = d;
            }
        }
        if until != 0 && nanotime() >= until {
            pd.lock.unlock();
            return Err(WAIT_TIMEDOUT);
        }
        // Every waker of a direction holds pd.lock, so one sudog has one
        // waker; only a deadline's timer, or a second direction's queue,
        // makes a second one, which must then win the waiter first.
        let w = Waiter::new(modes.len() > 1 || until != 0);
        let sg0 = Sudog::new(&w, std::ptr::null_mut());
        let sg1 = if modes.len() > 1 { Some(Sudog::new(&w, std::ptr::null_mut())) } else { None };
        let sgs: [*mut Sudog; 2] = [
            &sg0 as *const Sudog as *mut Sudog,
            sg1.as_ref().map_or(std::ptr::null_mut(), |s| s as *const Sudog as *mut Sudog),
        ];
        for (i, &(m, _)) in modes.iter().enumerate() {
            m.waiters.enqueue(sgs[i]);
        }
        WAITERS.fetch_add(1, Ordering::SeqCst);
        if !w.is_goroutine() {
            // A goroutine's M goes on to findrunnable, which polls when it
            // runs out of work; a host thread has no M to do that.
            ensure_poller();
        }
        let woken = park_until_unlock(&w, &pd.lock, until, WaitReason::IOWait);
        WAITERS.fetch_sub(1, Ordering::SeqCst);
        let winner = w.winner.get();
        if modes.len() > 1 || !woken {
            // Unlink the sudogs nobody dequeued (the other direction, or all
            // of them after a timeout).
            pd.lock.lock();
            for (i, &(m, _)) in modes.iter().enumerate() {
                let sg = sgs[i];
                if sg != winner && m.waiters.contains(sg) {
                    m.waiters.remove(sg);
                }
            }
            pd.lock.unlock();
        }
        if !woken || winner.is_null() {
            return Err(WAIT_TIMEDOUT);
        }
        // SAFETY: the winning sudog is one of ours, on this stack.
        match unsafe { &*winner }.ticket.get() {
            WOKE_READY => return Ok(()),
            WOKE_CLOSED => return Err(WAIT_CLOSED),
            // The deadline changed: evaluate it again.
            _ => continue,
        }
    }
}

/// A host thread (or the first goroutine) started waiting: if no M blocks
/// in the poller, get one there. Busy Ms poll in findrunnable, sysmon
/// every 10 ms.
fn ensure_poller() {
    let s = sched();
    if s.lastpoll.load(Ordering::SeqCst) != 0 {
        crate::idle::wakep();
    }
}

/// Whether anyone waits on an fd (Go's netpollAnyWaiters).
#[inline]
pub(crate) fn any_waiters() -> bool {
    WAITERS.load(Ordering::SeqCst) > 0
}

/// Go's netpoll(delay): waits up to `delay_ns` (< 0 forever, 0 not at all)
/// for events, wakes the host threads they concern and collects the
/// goroutines in `list`. Returns whether anything was readied.
pub(crate) fn netpoll(delay_ns: i64, list: &mut GList) -> bool {
    let mut any = false;
    epoll::poll(delay_ns, |ev| {
        let fd = (ev.key & 0xffff_ffff) as u32 as i32;
        let seq = (ev.key >> 32) as u32;
        let Ok(pd) = pd_of(fd) else { return };
        pd.lock.lock();
        if pd.seq.load(Ordering::Relaxed) == seq {
            if ev.nodrain {
                pd.nodrain.store(true, Ordering::Relaxed);
            }
            for (on, m) in [(ev.readable, &pd.rd), (ev.writable, &pd.wr)] {
                if on {
                    m.rev.store(m.rev.load(Ordering::Relaxed).wrapping_add(1), Ordering::Release);
                    any |= !m.waiters.is_empty();
                    wake_all(m, WOKE_READY, list);
                }
            }
        }
        pd.lock.unlock();
    });
    any
}

/// Go's netpollBreak.
pub(crate) fn netpoll_break() {
    epoll::wakeup();
}

/// Go's wakeNetPoller: make sure some M will run a timer due at `when`:
/// break the blocked poller if it would sleep past it, else wake an M.
pub(crate) fn wake_netpoller(when: i64) {
    let s = sched();
    if s.lastpoll.load(Ordering::SeqCst) == 0 {
        // An M blocks in the poller (or is about to: its poll_until may
        // still be 0, which only costs a spurious wakeup).
        let until = s.poll_until.load(Ordering::SeqCst);
        if until == 0 || until > when {
            netpoll_break();
        }
    } else if s.main_started.load(Ordering::Relaxed) {
        crate::idle::wakep();
    }
}

/// A batch of goroutines readied by the poller (Go's gList), injected
/// together; a full batch is injected early. No allocation.
pub(crate) struct GList {
    gs: [*mut G; 64],
    n: usize,
}

impl GList {
    pub(crate) fn new() -> GList {
        GList { gs: [std::ptr::null_mut(); 64], n: 0 }
    }

    fn push(&mut self, gp: *mut G) {
        if self.n == self.gs.len() {
            self.inject();
        }
        self.gs[self.n] = gp;
        self.n += 1;
    }

    /// Removes one goroutine, for the caller to run itself.
    pub(crate) fn pop(&mut self) -> Option<*mut G> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(self.gs[self.n])
    }

    /// Go's injectglist: makes every goroutine of the batch runnable.
    pub(crate) fn inject(&mut self) {
        if self.n > 0 {
            crate::proc::injectglist_batch(&self.gs[..self.n]);
            self.n = 0;
        }
    }
}
