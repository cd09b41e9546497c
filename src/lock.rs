//! The runtime's internal mutex (Go's lock_futex.go): a futex word, spun on
//! briefly before sleeping. Unlike `std::sync::Mutex` it has no guard, so a
//! goroutine can take a channel's lock, park, and have the lock released by
//! the post-switch action on another stack (Go's gopark unlockf).
//!
//! Critical sections under these locks are short and never switch
//! goroutines; a host thread may block on one in the futex.

use crate::os::{futex_wait, futex_wake};
use std::sync::atomic::{AtomicU32, Ordering};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
/// Locked, and a thread may be asleep in the futex.
const SLEEPING: u32 = 2;

/// Go's runtime mutex. Zero is unlocked.
#[repr(transparent)]
pub(crate) struct RawLock {
    key: AtomicU32,
}

impl RawLock {
    pub(crate) const fn new() -> RawLock {
        RawLock { key: AtomicU32::new(UNLOCKED) }
    }

    /// A lock living in a C-visible struct field.
    ///
    /// # Safety
    /// `p` must be 4-byte aligned and valid for the returned lifetime, and
    /// only ever accessed atomically.
    pub(crate) unsafe fn from_ptr<'a>(p: *mut u32) -> &'a RawLock {
        // SAFETY: RawLock is a transparent AtomicU32; forwarded to the caller.
        unsafe { &*(p as *const RawLock) }
    }

    #[inline]
    pub(crate) fn lock(&self) {
        if self.key.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
    }

    #[cold]
    fn lock_slow(&self) {
        // Go's lock2: a few rounds of active spinning, then passive, then sleep.
        let mut wait = LOCKED;
        loop {
            for i in 0..4 {
                if self.key.load(Ordering::Relaxed) == UNLOCKED
                    && self.key.compare_exchange(UNLOCKED, wait, Ordering::Acquire, Ordering::Relaxed).is_ok()
                {
                    return;
                }
                for _ in 0..30 << i {
                    std::hint::spin_loop();
                }
            }
            // Mark SLEEPING so that unlock knows to wake someone.
            if self.key.swap(SLEEPING, Ordering::Acquire) == UNLOCKED {
                return;
            }
            wait = SLEEPING;
            futex_wait(&self.key, SLEEPING, -1);
        }
    }

    #[inline]
    pub(crate) fn unlock(&self) {
        if self.key.swap(UNLOCKED, Ordering::Release) == SLEEPING {
            futex_wake(&self.key, 1);
        }
    }
}
