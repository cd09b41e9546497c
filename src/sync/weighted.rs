//! `gort_sema`: a weighted counting semaphore (golang.org/x/sync's
//! semaphore.Weighted), FIFO: a large request at the head of the queue is
//! not overtaken by smaller ones behind it.

use crate::g::WaitReason;
use crate::ffi::{GORT_EAGAIN, GORT_EINVAL, GORT_OK};
use crate::lock::RawLock;
use crate::park::park_until_unlock;
use crate::park::{Sudog, Waiter};
use std::ffi::{c_int, c_void};

/// A weighted semaphore. Zero-initialised holds 0 units; GORT_SEMA_INIT(n)
/// starts with n.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct gort_sema {
    /// Private: units available.
    pub count: i64,
    /// Private.
    pub lock: u32,
    /// Private.
    pub pad: u32,
    /// Private: FIFO of waiters.
    pub head: *mut c_void,
    /// Private.
    pub tail: *mut c_void,
}

struct Q {
    s: *mut gort_sema,
}

impl Q {
    fn lock(&self) -> &RawLock {
        // SAFETY: the semaphore is live; its lock word is only used atomically.
        unsafe { RawLock::from_ptr(&mut (*self.s).lock) }
    }
    // The fields below are touched under the lock only.
    fn count(&self) -> i64 {
        // SAFETY: see above.
        unsafe { (*self.s).count }
    }
    fn set_count(&self, v: i64) {
        // SAFETY: see above.
        unsafe { (*self.s).count = v }
    }
    fn head(&self) -> *mut Sudog {
        // SAFETY: see above.
        unsafe { (*self.s).head.cast() }
    }
    fn set_head(&self, v: *mut Sudog) {
        // SAFETY: see above.
        unsafe { (*self.s).head = v.cast() }
    }
    fn set_tail(&self, v: *mut Sudog) {
        // SAFETY: see above.
        unsafe { (*self.s).tail = v.cast() }
    }
    fn tail(&self) -> *mut Sudog {
        // SAFETY: see above.
        unsafe { (*self.s).tail.cast() }
    }
}

fn acquire(s: *mut gort_sema, n: i64, block: bool) -> c_int {
    if s.is_null() || n <= 0 {
        return GORT_EINVAL;
    }
    let q = Q { s };
    q.lock().lock();
    if q.head().is_null() && q.count() >= n {
        q.set_count(q.count() - n);
        q.lock().unlock();
        // TSan: the Release that provided the units happens before this.
        crate::sanitize::tsan_acquire(s);
        return GORT_OK;
    }
    if !block {
        q.lock().unlock();
        return GORT_EAGAIN;
    }
    let w = Waiter::new(false);
    let sg = Sudog::new(&w, std::ptr::null_mut());
    sg.n.set(n);
    let sgp = &sg as *const Sudog as *mut Sudog;
    if q.tail().is_null() {
        q.set_head(sgp);
    } else {
        // SAFETY: queued sudogs are live until woken.
        unsafe { &*q.tail() }.next.set(sgp);
    }
    q.set_tail(sgp);
    // The releaser deducts our units before waking us.
    park_until_unlock(&w, q.lock(), 0, WaitReason::Semacquire);
    crate::sanitize::tsan_acquire(s);
    GORT_OK
}

/// Acquires `n` units, waiting in FIFO order until they are available.
/// Returns GORT_OK, or GORT_EINVAL (NULL or n <= 0).
#[no_mangle]
pub extern "C" fn gort_sema_acquire(s: *mut gort_sema, n: i64) -> c_int {
    ffi_guard!("gort_sema_acquire", acquire(s, n, true))
}

/// Acquires `n` units if available now and nobody is queued. Returns
/// GORT_OK, GORT_EAGAIN, GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_sema_try_acquire(s: *mut gort_sema, n: i64) -> c_int {
    ffi_guard!("gort_sema_try_acquire", acquire(s, n, false))
}

/// Returns `n` units and wakes the waiters at the head of the queue whose
/// requests now fit. Returns GORT_OK or GORT_EINVAL (NULL, n <= 0, or a
/// count that would pass INT64_MAX; the count is then unchanged).
#[no_mangle]
pub extern "C" fn gort_sema_release(s: *mut gort_sema, n: i64) -> c_int {
    ffi_guard!("gort_sema_release", {
        if s.is_null() || n <= 0 {
            return GORT_EINVAL;
        }
        crate::sanitize::tsan_release(s);
        let q = Q { s };
        q.lock().lock();
        // A count past i64::MAX would wrap negative and wedge the semaphore.
        let Some(count) = q.count().checked_add(n) else {
            q.lock().unlock();
            return GORT_EINVAL;
        };
        q.set_count(count);
        let mut wake: *mut Sudog = std::ptr::null_mut();
        let mut wake_tail: *mut Sudog = std::ptr::null_mut();
        loop {
            let h = q.head();
            if h.is_null() {
                break;
            }
            // SAFETY: queued sudogs are live until woken.
            let sg = unsafe { &*h };
            if sg.n.get() > q.count() {
                break; // FIFO: the head blocks the rest
            }
            q.set_count(q.count() - sg.n.get());
            q.set_head(sg.next.get());
            if q.head().is_null() {
                q.set_tail(std::ptr::null_mut());
            }
            sg.next.set(std::ptr::null_mut());
            if wake_tail.is_null() {
                wake = h;
            } else {
                // SAFETY: as above.
                unsafe { &*wake_tail }.next.set(h);
            }
            wake_tail = h;
        }
        q.lock().unlock();
        while !wake.is_null() {
            // SAFETY: dequeued sudogs are live until woken; read next first.
            let sg = unsafe { &*wake };
            let next = sg.next.get();
            sg.waiter().wake(wake);
            wake = next;
        }
        GORT_OK
    })
}
