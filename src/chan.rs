//! Channels (Go's chan.go): unbuffered channels are rendezvous points,
//! buffered ones FIFO queues, and `close` wakes every waiter.
//!
//! A channel is one allocation: the header below followed by the ring
//! buffer. Its lock is a runtime lock held only for the few instructions of
//! a hand-off; a goroutine that must wait enqueues a sudog on its own stack
//! and parks, and the lock is released after it is saved. Waiters may be
//! goroutines or host threads, mixed ([`crate::park`]).
//!
//! Where Go panics, gort returns `GORT_ECLOSED`: send on a closed channel,
//! close of a closed channel. A receive from a closed, drained channel
//! returns `GORT_ECLOSED` with the element zeroed (Go's `v, ok := <-c` with
//! ok == false).
//!
//! Lifetime: reference counted. `gort_chan_make` returns one reference;
//! every party that keeps the channel calls `gort_chan_retain` and later
//! `gort_chan_release`; the last release frees it. A caller must hold a
//! reference for the duration of each call on the channel.

use crate::g::WaitReason;
use crate::ffi::{GORT_EAGAIN, GORT_ECLOSED, GORT_EINVAL, GORT_ENOTINIT, GORT_ETIMEDOUT, GORT_OK};
use crate::lock::RawLock;
use crate::park::{deadline_after, park_until_unlock};
use crate::park::{Sudog, WaitQ, Waiter};
use std::alloc::Layout;
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Largest element, as in Go (elem.size >= 1<<16 is a compile error there).
pub(crate) const MAX_ELEM: usize = 1 << 16;

/// A channel. Opaque to C.
#[allow(non_camel_case_types)]
pub struct gort_chan {
    pub(crate) lock: RawLock,
    refs: AtomicUsize,
    pub(crate) elem_size: usize,
    pub(crate) cap: usize,
    /// Elements in the buffer; read without the lock by len() and the
    /// non-blocking fast paths.
    qcount: AtomicUsize,
    sendx: Cell<usize>,
    recvx: Cell<usize>,
    closed: AtomicBool,
    pub(crate) recvq: WaitQ,
    pub(crate) sendq: WaitQ,
    buf: *mut u8,
}

pub(crate) type Chan = gort_chan;

// SAFETY: every non-atomic field is touched only under `lock`.
unsafe impl Sync for gort_chan {}
// SAFETY: as above.
unsafe impl Send for gort_chan {}

fn layout(elem_size: usize, cap: usize) -> Option<(Layout, usize)> {
    let header = Layout::new::<Chan>();
    let buf = Layout::from_size_align(elem_size.checked_mul(cap)?, 16).ok()?;
    let (l, off) = header.extend(buf).ok()?;
    Some((l.pad_to_align(), off))
}

/// Allocates a channel with one reference, or null (bad sizes, no memory).
pub(crate) fn make(elem_size: usize, cap: usize) -> *mut Chan {
    // gort_chan_cap and gort_chan_len answer in int64_t, where a negative
    // value is an error code: a capacity past i64::MAX cannot be reported.
    if elem_size > MAX_ELEM || cap > i64::MAX as usize {
        return std::ptr::null_mut();
    }
    let Some((l, off)) = layout(elem_size, cap) else { return std::ptr::null_mut() };
    // SAFETY: l has a non-zero size (the header).
    let p = unsafe { std::alloc::alloc(l) } as *mut Chan;
    if p.is_null() {
        return p;
    }
    // SAFETY: p is a fresh allocation of layout l, large enough for the header at offset 0 and the buffer at `off`.
    unsafe {
        p.write(Chan {
            lock: RawLock::new(),
            refs: AtomicUsize::new(1),
            elem_size,
            cap,
            qcount: AtomicUsize::new(0),
            sendx: Cell::new(0),
            recvx: Cell::new(0),
            closed: AtomicBool::new(false),
            recvq: WaitQ::new(),
            sendq: WaitQ::new(),
            buf: (p as *mut u8).add(off),
        });
    }
    p
}

/// # Safety
/// `c` must be a live channel on which the caller holds a reference.
pub(crate) unsafe fn retain(c: *mut Chan) {
    // SAFETY: forwarded.
    unsafe { &*c }.refs.fetch_add(1, Ordering::Relaxed);
}

/// # Safety
/// `c` must be a live channel; the caller gives up one reference.
pub(crate) unsafe fn release(c: *mut Chan) {
    // SAFETY: forwarded.
    let ch = unsafe { &*c };
    if ch.refs.fetch_sub(1, Ordering::Release) != 1 {
        return;
    }
    std::sync::atomic::fence(Ordering::Acquire);
    if !ch.recvq.is_empty() || !ch.sendq.is_empty() {
        crate::panic::throw(
            "gort_chan_release: last reference released while goroutines or threads wait on the channel",
        );
    }
    let (l, _) = layout(ch.elem_size, ch.cap).expect("layout was valid at make");
    // SAFETY: the last reference is gone; nobody else can reach c.
    unsafe { std::alloc::dealloc(c as *mut u8, l) };
}

impl Chan {
    fn slot(&self, i: usize) -> *mut u8 {
        // SAFETY: i < cap, so the slot lies inside the buffer.
        unsafe { self.buf.add(i * self.elem_size) }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn qcount(&self) -> usize {
        self.qcount.load(Ordering::Relaxed)
    }

    fn full(&self) -> bool {
        if self.cap == 0 {
            self.recvq.is_empty()
        } else {
            self.qcount() == self.cap
        }
    }

    fn empty(&self) -> bool {
        if self.cap == 0 {
            self.sendq.is_empty()
        } else {
            self.qcount() == 0
        }
    }

    #[inline]
    fn copy(&self, dst: *mut u8, src: *const u8) {
        if dst.is_null() || src.is_null() {
            return;
        }
        // The common sizes are copied inline rather than through a memcpy call.
        // SAFETY: both point to elem_size bytes (the caller's element or a buffer slot), possibly unaligned, never overlapping.
        unsafe {
            match self.elem_size {
                0 => {}
                8 => dst.cast::<u64>().write_unaligned(src.cast::<u64>().read_unaligned()),
                4 => dst.cast::<u32>().write_unaligned(src.cast::<u32>().read_unaligned()),
                16 => dst.cast::<u128>().write_unaligned(src.cast::<u128>().read_unaligned()),
                1 => dst.write(src.read()),
                n => std::ptr::copy_nonoverlapping(src, dst, n),
            }
        }
    }

    fn zero(&self, dst: *mut u8) {
        if self.elem_size != 0 && !dst.is_null() {
            // SAFETY: dst points to the caller's elem_size-byte element.
            unsafe { std::ptr::write_bytes(dst, 0, self.elem_size) };
        }
    }

    /// Go's send: hands ep to a waiting receiver. Lock held; releases it.
    #[inline]
    pub(crate) fn send_to(&self, sg: *mut Sudog, ep: *const u8) {
        // SAFETY: sg was just dequeued, so it is live and claimed by us.
        let s = unsafe { &*sg };
        self.copy(s.elem, ep);
        s.success.set(true);
        self.lock.unlock();
        s.waiter().wake(sg);
    }

    /// Go's recv: takes from a waiting sender (through the buffer when
    /// buffered, keeping FIFO order). Lock held; releases it.
    #[inline]
    pub(crate) fn recv_from(&self, sg: *mut Sudog, ep: *mut u8) {
        // SAFETY: as in send_to.
        let s = unsafe { &*sg };
        if self.cap == 0 {
            self.copy(ep, s.elem);
        } else {
            // The buffer is full: take its head, put the sender's element at
            // the tail (the same slot, since the ring is full).
            let i = self.recvx.get();
            self.copy(ep, self.slot(i));
            self.copy(self.slot(i), s.elem);
            let next = if i + 1 == self.cap { 0 } else { i + 1 };
            self.recvx.set(next);
            self.sendx.set(next);
        }
        s.success.set(true);
        self.lock.unlock();
        s.waiter().wake(sg);
    }

    /// Puts ep into the buffer. Lock held; qcount < cap.
    pub(crate) fn buf_put(&self, ep: *const u8) {
        let i = self.sendx.get();
        self.copy(self.slot(i), ep);
        self.sendx.set(if i + 1 == self.cap { 0 } else { i + 1 });
        self.qcount.store(self.qcount() + 1, Ordering::Relaxed);
    }

    /// Takes the buffer's head into ep. Lock held; qcount > 0.
    pub(crate) fn buf_take(&self, ep: *mut u8) {
        let i = self.recvx.get();
        self.copy(ep, self.slot(i));
        self.zero(self.slot(i));
        self.recvx.set(if i + 1 == self.cap { 0 } else { i + 1 });
        self.qcount.store(self.qcount() - 1, Ordering::Relaxed);
    }

    pub(crate) fn zero_elem(&self, ep: *mut u8) {
        self.zero(ep)
    }
}

/// Go's chansend. `deadline`: nanotime, 0 = none. Returns GORT_OK,
/// GORT_EAGAIN (non-blocking and no room), GORT_ETIMEDOUT, GORT_ECLOSED.
///
/// # Safety
/// `c` is a live channel the caller holds a reference to; `ep` points to
/// elem_size readable bytes.
pub(crate) unsafe fn chansend(c: *mut Chan, ep: *const u8, block: bool, deadline: i64) -> c_int {
    // SAFETY: forwarded.
    let ch = unsafe { &*c };
    // Fast path, as in Go: a failing non-blocking send needs no lock.
    if !block && !ch.is_closed() && ch.full() {
        return GORT_EAGAIN;
    }
    ch.lock.lock();
    if ch.is_closed() {
        ch.lock.unlock();
        return GORT_ECLOSED;
    }
    let sg = ch.recvq.dequeue();
    if !sg.is_null() {
        ch.send_to(sg, ep);
        return GORT_OK;
    }
    if ch.qcount() < ch.cap {
        ch.buf_put(ep);
        ch.lock.unlock();
        return GORT_OK;
    }
    if !block {
        ch.lock.unlock();
        return GORT_EAGAIN;
    }
    let w = Waiter::new(deadline > 0);
    let sg = Sudog::new(&w, ep as *mut u8);
    let sgp = &sg as *const Sudog as *mut Sudog;
    ch.sendq.enqueue(sgp);
    if !park_until_unlock(&w, &ch.lock, deadline, WaitReason::ChanSend) || w.winner.get().is_null() {
        // Timed out: we own the waiter, but our sudog may still be queued.
        ch.lock.lock();
        if ch.sendq.contains(sgp) {
            ch.sendq.remove(sgp);
        }
        ch.lock.unlock();
        return GORT_ETIMEDOUT;
    }
    if sg.success.get() {
        GORT_OK
    } else {
        GORT_ECLOSED
    }
}

/// chansend as the C API performs it: under ThreadSanitizer with Go's
/// racesync edges (every operation on c releases before and acquires
/// after, so a send is ordered with its receive in both directions, and a
/// receive that sees the close acquires it). The flag test sits here, in
/// the exports, not inside chansend: there it cost 17 instructions per ring
/// hop without TSan (callgrind), here 2.
///
/// # Safety
/// As chansend.
#[inline(always)]
unsafe fn chansend_race(c: *mut Chan, ep: *const u8, block: bool, deadline: i64) -> c_int {
    if crate::sanitize::tsan_on() {
        // SAFETY: forwarded.
        return unsafe { chansend_tsan(c, ep, block, deadline) };
    }
    // SAFETY: forwarded.
    unsafe { chansend(c, ep, block, deadline) }
}

/// The TSan half of [`chansend_race`]. Arguments by value, out of line: a
/// closure would make the export spill them to its stack on every call.
///
/// # Safety
/// As chansend.
#[cold]
#[inline(never)]
unsafe fn chansend_tsan(c: *mut Chan, ep: *const u8, block: bool, deadline: i64) -> c_int {
    crate::sanitize::tsan_release(c);
    // SAFETY: forwarded.
    let r = unsafe { chansend(c, ep, block, deadline) };
    crate::sanitize::tsan_acquire(c);
    r
}

/// chanrecv with the TSan edges of [`chansend_race`].
///
/// # Safety
/// As chanrecv.
#[inline(always)]
unsafe fn chanrecv_race(c: *mut Chan, ep: *mut u8, block: bool, deadline: i64) -> c_int {
    if crate::sanitize::tsan_on() {
        // SAFETY: forwarded.
        return unsafe { chanrecv_tsan(c, ep, block, deadline) };
    }
    // SAFETY: forwarded.
    unsafe { chanrecv(c, ep, block, deadline) }
}

/// The TSan half of [`chanrecv_race`].
///
/// # Safety
/// As chanrecv.
#[cold]
#[inline(never)]
unsafe fn chanrecv_tsan(c: *mut Chan, ep: *mut u8, block: bool, deadline: i64) -> c_int {
    crate::sanitize::tsan_release(c);
    // SAFETY: forwarded.
    let r = unsafe { chanrecv(c, ep, block, deadline) };
    crate::sanitize::tsan_acquire(c);
    r
}

/// Go's chanrecv: receives into ep (which may be null to discard). Returns
/// GORT_OK, GORT_EAGAIN, GORT_ETIMEDOUT, or GORT_ECLOSED with *ep zeroed.
///
/// # Safety
/// `c` is a live channel the caller holds a reference to; `ep` is null or
/// points to elem_size writable bytes.
pub(crate) unsafe fn chanrecv(c: *mut Chan, ep: *mut u8, block: bool, deadline: i64) -> c_int {
    // SAFETY: forwarded.
    let ch = unsafe { &*c };
    if !block && ch.empty() {
        if !ch.is_closed() {
            return GORT_EAGAIN;
        }
        // Closed: re-check emptiness after seeing closed (Go's order).
        if ch.empty() {
            ch.zero(ep);
            return GORT_ECLOSED;
        }
    }
    ch.lock.lock();
    if ch.is_closed() && ch.qcount() == 0 {
        ch.lock.unlock();
        ch.zero(ep);
        return GORT_ECLOSED;
    }
    let sg = ch.sendq.dequeue();
    if !sg.is_null() {
        ch.recv_from(sg, ep);
        return GORT_OK;
    }
    if ch.qcount() > 0 {
        ch.buf_take(ep);
        ch.lock.unlock();
        return GORT_OK;
    }
    if !block {
        ch.lock.unlock();
        return GORT_EAGAIN;
    }
    let w = Waiter::new(deadline > 0);
    let sg = Sudog::new(&w, ep);
    let sgp = &sg as *const Sudog as *mut Sudog;
    ch.recvq.enqueue(sgp);
    if !park_until_unlock(&w, &ch.lock, deadline, WaitReason::ChanReceive) || w.winner.get().is_null() {
        ch.lock.lock();
        if ch.recvq.contains(sgp) {
            ch.recvq.remove(sgp);
        }
        ch.lock.unlock();
        return GORT_ETIMEDOUT;
    }
    if sg.success.get() {
        GORT_OK
    } else {
        // Woken by close: the closer zeroed *ep.
        GORT_ECLOSED
    }
}

/// Go's closechan. Returns GORT_OK or GORT_ECLOSED (already closed).
///
/// # Safety
/// `c` is a live channel the caller holds a reference to.
pub(crate) unsafe fn closechan(c: *mut Chan) -> c_int {
    // Go's racerelease in closechan: receivers that see the close acquire it.
    crate::sanitize::tsan_release(c);
    // SAFETY: forwarded.
    let ch = unsafe { &*c };
    ch.lock.lock();
    if ch.is_closed() {
        ch.lock.unlock();
        return GORT_ECLOSED;
    }
    ch.closed.store(true, Ordering::Release);
    // Collect every waiter, then wake them after unlocking (Go's glist).
    let mut list: *mut Sudog = std::ptr::null_mut();
    for q in [&ch.recvq, &ch.sendq] {
        loop {
            let sg = q.dequeue();
            if sg.is_null() {
                break;
            }
            // SAFETY: dequeued and claimed by us.
            let s = unsafe { &*sg };
            if std::ptr::eq(q, &ch.recvq) {
                ch.zero(s.elem);
            }
            s.success.set(false);
            s.next.set(list);
            list = sg;
        }
    }
    ch.lock.unlock();
    while !list.is_null() {
        // SAFETY: each sudog stays live until its waiter is woken; read the link before waking it.
        let s = unsafe { &*list };
        let next = s.next.get();
        s.waiter().wake(list);
        list = next;
    }
    GORT_OK
}

// ---------------------------------------------------------------------------
// C API

fn ready() -> bool {
    crate::boot::is_ready()
}

/// Creates a channel of `cap` elements of `elem_size` bytes each (cap 0:
/// unbuffered). Elements are copied by value. Returns the channel with one
/// reference owned by the caller, or NULL: before init, `elem_size` over
/// 65536, `cap` over INT64_MAX (gort_chan_cap could not report it), or out
/// of memory.
#[no_mangle]
pub extern "C" fn gort_chan_make(elem_size: usize, cap: usize) -> *mut gort_chan {
    ffi_guard!("gort_chan_make", if ready() { make(elem_size, cap) } else { std::ptr::null_mut() })
}

/// Adds a reference to `c`. Returns GORT_OK or GORT_EINVAL (NULL).
#[no_mangle]
pub extern "C" fn gort_chan_retain(c: *mut gort_chan) -> c_int {
    ffi_guard!("gort_chan_retain", {
        if c.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller holds a reference.
        unsafe { retain(c) };
        GORT_OK
    })
}

/// Drops a reference to `c`; the last one frees it. No goroutine or thread
/// may be blocked on `c` then (the runtime aborts with a message if one is).
/// A `gort_chan_send`/`gort_chan_recv` (and their try/timeout forms) no
/// longer touches the channel once its element has been handed over, so
/// the party that received the last value may release the last reference
/// while the sender is still returning (a result channel, as in skynet).
/// `gort_select` does touch all its channels after waking: keep them alive
/// until it returns. Returns GORT_OK or GORT_EINVAL (NULL).
#[no_mangle]
pub extern "C" fn gort_chan_release(c: *mut gort_chan) -> c_int {
    ffi_guard!("gort_chan_release", {
        if c.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller gives up a reference it holds.
        unsafe { release(c) };
        GORT_OK
    })
}

fn check_send(c: *mut gort_chan, elem: *const c_void) -> Option<c_int> {
    if !ready() {
        return Some(GORT_ENOTINIT);
    }
    // SAFETY: checked non-null; the caller holds a reference.
    if c.is_null() || (elem.is_null() && unsafe { &*c }.elem_size != 0) {
        return Some(GORT_EINVAL);
    }
    None
}

fn check_recv(c: *mut gort_chan) -> Option<c_int> {
    if !ready() {
        return Some(GORT_ENOTINIT);
    }
    if c.is_null() {
        return Some(GORT_EINVAL);
    }
    None
}

/// Sends a copy of `*elem` (Go's `c <- v`), blocking until a receiver takes
/// it or there is room in the buffer. Returns GORT_OK, GORT_ECLOSED (the
/// channel is or gets closed), GORT_EINVAL (NULL channel, or NULL elem with
/// elem_size > 0), GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_chan_send(c: *mut gort_chan, elem: *const c_void) -> c_int {
    ffi_guard!("gort_chan_send", {
        if let Some(e) = check_send(c, elem) {
            return e;
        }
        // SAFETY: check_send/check_recv above: c is non-null and the caller holds a reference to it; elem is null only where allowed and else spans elem_size bytes.
        unsafe { chansend_race(c, elem.cast(), true, 0) }
    })
}

/// Receives into `*elem` (Go's `v, ok := <-c`), blocking until a value is
/// available. `elem` may be NULL to discard the value. Returns GORT_OK, or
/// GORT_ECLOSED with `*elem` zeroed once the channel is closed and drained;
/// GORT_EINVAL, GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_chan_recv(c: *mut gort_chan, elem: *mut c_void) -> c_int {
    ffi_guard!("gort_chan_recv", {
        if let Some(e) = check_recv(c) {
            return e;
        }
        // SAFETY: check_send/check_recv above: c is non-null and the caller holds a reference to it; elem is null only where allowed and else spans elem_size bytes.
        unsafe { chanrecv_race(c, elem.cast(), true, 0) }
    })
}

/// Sends without blocking (Go's select with a default case). Returns
/// GORT_OK, GORT_EAGAIN (no receiver waiting and the buffer is full),
/// GORT_ECLOSED, GORT_EINVAL, GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_chan_try_send(c: *mut gort_chan, elem: *const c_void) -> c_int {
    ffi_guard!("gort_chan_try_send", {
        if let Some(e) = check_send(c, elem) {
            return e;
        }
        // SAFETY: check_send/check_recv above: c is non-null and the caller holds a reference to it; elem is null only where allowed and else spans elem_size bytes.
        unsafe { chansend_race(c, elem.cast(), false, 0) }
    })
}

/// Receives without blocking. Returns GORT_OK, GORT_EAGAIN (nothing
/// available), GORT_ECLOSED (closed and drained; `*elem` zeroed),
/// GORT_EINVAL, GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_chan_try_recv(c: *mut gort_chan, elem: *mut c_void) -> c_int {
    ffi_guard!("gort_chan_try_recv", {
        if let Some(e) = check_recv(c) {
            return e;
        }
        // SAFETY: check_send/check_recv above: c is non-null and the caller holds a reference to it; elem is null only where allowed and else spans elem_size bytes.
        unsafe { chanrecv_race(c, elem.cast(), false, 0) }
    })
}

/// Like `gort_chan_send`, giving up after `timeout_ns` nanoseconds with
/// GORT_ETIMEDOUT (0: try once, like try_send but returning
/// GORT_ETIMEDOUT; negative: wait forever).
#[no_mangle]
pub extern "C" fn gort_chan_send_timeout(c: *mut gort_chan, elem: *const c_void, timeout_ns: i64) -> c_int {
    ffi_guard!("gort_chan_send_timeout", {
        if let Some(e) = check_send(c, elem) {
            return e;
        }
        // SAFETY: check_send/check_recv above: c is non-null and the caller holds a reference to it; elem is null only where allowed and else spans elem_size bytes.
        let r = unsafe { chansend_race(c, elem.cast(), timeout_ns != 0, deadline_after(timeout_ns)) };
        if r == GORT_EAGAIN {
            GORT_ETIMEDOUT
        } else {
            r
        }
    })
}

/// Like `gort_chan_recv`, giving up after `timeout_ns` nanoseconds with
/// GORT_ETIMEDOUT (0: try once; negative: wait forever).
#[no_mangle]
pub extern "C" fn gort_chan_recv_timeout(c: *mut gort_chan, elem: *mut c_void, timeout_ns: i64) -> c_int {
    ffi_guard!("gort_chan_recv_timeout", {
        if let Some(e) = check_recv(c) {
            return e;
        }
        // SAFETY: check_send/check_recv above: c is non-null and the caller holds a reference to it; elem is null only where allowed and else spans elem_size bytes.
        let r = unsafe { chanrecv_race(c, elem.cast(), timeout_ns != 0, deadline_after(timeout_ns)) };
        if r == GORT_EAGAIN {
            GORT_ETIMEDOUT
        } else {
            r
        }
    })
}

/// Closes the channel (Go's close): every blocked receiver wakes with
/// GORT_ECLOSED and a zeroed element once the buffer is drained, every
/// blocked sender with GORT_ECLOSED. Returns GORT_OK, GORT_ECLOSED
/// (already closed), GORT_EINVAL, GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_chan_close(c: *mut gort_chan) -> c_int {
    ffi_guard!("gort_chan_close", {
        if let Some(e) = check_recv(c) {
            return e;
        }
        // SAFETY: validated above.
        unsafe { closechan(c) }
    })
}

/// Number of elements queued in the buffer (Go's len), or GORT_EINVAL for
/// NULL. A snapshot.
#[no_mangle]
pub extern "C" fn gort_chan_len(c: *const gort_chan) -> i64 {
    ffi_guard!("gort_chan_len", {
        if c.is_null() {
            return GORT_EINVAL as i64;
        }
        // SAFETY: the caller holds a reference.
        unsafe { &*c }.qcount() as i64
    })
}

/// Buffer capacity (Go's cap), or GORT_EINVAL for NULL.
#[no_mangle]
pub extern "C" fn gort_chan_cap(c: *const gort_chan) -> i64 {
    ffi_guard!("gort_chan_cap", {
        if c.is_null() {
            return GORT_EINVAL as i64;
        }
        // SAFETY: the caller holds a reference.
        unsafe { &*c }.cap as i64
    })
}
