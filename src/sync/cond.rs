//! `gort_cond`: Go's sync.Cond over a `gort_mutex`, built on Go's
//! notifyList: each waiter takes a ticket before unlocking the mutex, so a
//! Signal issued between the unlock and the park is not lost, and Signal
//! wakes waiters in ticket order.

use crate::g::WaitReason;
use super::au32;
use super::mutex::{gort_mutex, Mutex};
use crate::ffi::{GORT_EINVAL, GORT_EPERM, GORT_OK};
use crate::lock::RawLock;
use crate::park::park_until_unlock;
use crate::park::{Sudog, Waiter};
use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering;

/// A condition variable (Go's sync.Cond) used with a `gort_mutex`.
/// Zero-initialised (GORT_COND_INIT) has no waiters.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct gort_cond {
    /// Private: next ticket to hand out.
    pub wait: u32,
    /// Private: next ticket to notify.
    pub notify: u32,
    /// Private: protects the waiter list.
    pub lock: u32,
    /// Private.
    pub pad: u32,
    /// Private: waiter list.
    pub head: *mut c_void,
    /// Private.
    pub tail: *mut c_void,
}

impl Default for gort_cond {
    fn default() -> Self {
        gort_cond { wait: 0, notify: 0, lock: 0, pad: 0, head: std::ptr::null_mut(), tail: std::ptr::null_mut() }
    }
}

fn less(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

struct List {
    c: *mut gort_cond,
}

impl List {
    fn lock(&self) -> &RawLock {
        // SAFETY: the cond is live and its lock word is only used atomically.
        unsafe { RawLock::from_ptr(&mut (*self.c).lock) }
    }
    fn head(&self) -> *mut Sudog {
        // SAFETY: list fields are touched under the list lock only.
        unsafe { (*self.c).head.cast() }
    }
    fn set_head(&self, s: *mut Sudog) {
        // SAFETY: as above.
        unsafe { (*self.c).head = s.cast() }
    }
    fn tail(&self) -> *mut Sudog {
        // SAFETY: as above.
        unsafe { (*self.c).tail.cast() }
    }
    fn set_tail(&self, s: *mut Sudog) {
        // SAFETY: as above.
        unsafe { (*self.c).tail = s.cast() }
    }
}

/// Atomically unlocks `m` and waits for a signal, then locks `m` again
/// before returning (Go's Cond.Wait). As in Go, wake-ups can be spurious in
/// effect (another party may run first): wait in a loop on your condition.
/// Returns GORT_OK, GORT_EPERM (`m` not locked), GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_cond_wait(c: *mut gort_cond, m: *mut gort_mutex) -> c_int {
    ffi_guard!("gort_cond_wait", {
        if c.is_null() || m.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live mutex.
        if unsafe { (*m).state } & 1 == 0 {
            return GORT_EPERM;
        }
        // SAFETY: the caller passes a live cond; these words are atomic-only.
        let (wait, notify) = unsafe { (au32(&(*c).wait), au32(&(*c).notify)) };
        // Go's notifyListAdd: the ticket is taken before unlocking.
        let t = wait.fetch_add(1, Ordering::AcqRel);
        // SAFETY: as above.
        let mx = unsafe { Mutex::from_c(m) };
        mx.unlock();
        let l = List { c };
        l.lock().lock();
        if less(t, notify.load(Ordering::Relaxed)) {
            // Already notified between the unlock and now.
            l.lock().unlock();
        } else {
            let w = Waiter::new(false);
            let sg = Sudog::new(&w, std::ptr::null_mut());
            sg.ticket.set(t);
            let sgp = &sg as *const Sudog as *mut Sudog;
            if l.tail().is_null() {
                l.set_head(sgp);
            } else {
                // SAFETY: listed sudogs are live until woken.
                unsafe { &*l.tail() }.next.set(sgp);
            }
            l.set_tail(sgp);
            park_until_unlock(&w, l.lock(), 0, WaitReason::CondWait);
        }
        // TSan: the Signal or Broadcast that let us go happens before this.
        crate::sanitize::tsan_acquire(c);
        mx.lock();
        GORT_OK
    })
}

/// Wakes one waiter, the longest waiting (Go's Cond.Signal). Returns GORT_OK
/// or GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_cond_signal(c: *mut gort_cond) -> c_int {
    ffi_guard!("gort_cond_signal", {
        if c.is_null() {
            return GORT_EINVAL;
        }
        crate::sanitize::tsan_release(c);
        // SAFETY: the caller passes a live cond.
        let (wait, notify) = unsafe { (au32(&(*c).wait), au32(&(*c).notify)) };
        if wait.load(Ordering::Acquire) == notify.load(Ordering::Acquire) {
            return GORT_OK;
        }
        let l = List { c };
        l.lock().lock();
        let t = notify.load(Ordering::Relaxed);
        if t == wait.load(Ordering::Acquire) {
            l.lock().unlock();
            return GORT_OK;
        }
        notify.store(t.wrapping_add(1), Ordering::Release);
        // Find ticket t; if its waiter has not queued yet, it will see the
        // new notify value and not sleep.
        let mut prev: *mut Sudog = std::ptr::null_mut();
        let mut s = l.head();
        while !s.is_null() {
            // SAFETY: listed sudogs are live until woken.
            let sg = unsafe { &*s };
            if sg.ticket.get() == t {
                let next = sg.next.get();
                if prev.is_null() {
                    l.set_head(next);
                } else {
                    // SAFETY: as above.
                    unsafe { &*prev }.next.set(next);
                }
                if l.tail() == s {
                    l.set_tail(prev);
                }
                sg.next.set(std::ptr::null_mut());
                l.lock().unlock();
                sg.waiter().wake(s);
                return GORT_OK;
            }
            prev = s;
            s = sg.next.get();
        }
        l.lock().unlock();
        GORT_OK
    })
}

/// Wakes every waiter (Go's Cond.Broadcast). Returns GORT_OK or
/// GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_cond_broadcast(c: *mut gort_cond) -> c_int {
    ffi_guard!("gort_cond_broadcast", {
        if c.is_null() {
            return GORT_EINVAL;
        }
        crate::sanitize::tsan_release(c);
        // SAFETY: the caller passes a live cond.
        let (wait, notify) = unsafe { (au32(&(*c).wait), au32(&(*c).notify)) };
        if wait.load(Ordering::Acquire) == notify.load(Ordering::Acquire) {
            return GORT_OK;
        }
        let l = List { c };
        l.lock().lock();
        let mut s = l.head();
        l.set_head(std::ptr::null_mut());
        l.set_tail(std::ptr::null_mut());
        notify.store(wait.load(Ordering::Acquire), Ordering::Release);
        l.lock().unlock();
        while !s.is_null() {
            // SAFETY: unlinked sudogs stay live until woken; read next first.
            let sg = unsafe { &*s };
            let next = sg.next.get();
            sg.waiter().wake(s);
            s = next;
        }
        GORT_OK
    })
}
