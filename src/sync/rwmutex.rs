//! `gort_rwmutex`: Go's sync.RWMutex. Any number of readers or one writer;
//! a waiting writer blocks new readers, so writers are not starved.

use crate::g::WaitReason;
use super::mutex::{gort_mutex, Mutex};
use super::{ai32, au32};
use crate::ffi::{GORT_EAGAIN, GORT_EINVAL, GORT_EPERM, GORT_OK};
use crate::sema::{semacquire, semrelease};
use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

/// Go's rwmutexMaxReaders.
const MAX_READERS: i32 = 1 << 30;

/// A reader/writer lock (Go's sync.RWMutex). Zero-initialised
/// (GORT_RWMUTEX_INIT) is unlocked.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Default)]
pub struct gort_rwmutex {
    /// Private: held by writers.
    pub w: gort_mutex,
    /// Private: writers wait here for departing readers.
    pub writer_sem: u32,
    /// Private: readers wait here for a writer.
    pub reader_sem: u32,
    /// Private: pending readers (negative while a writer is pending).
    pub reader_count: i32,
    /// Private: departing readers a pending writer waits for.
    pub reader_wait: i32,
}

struct Rw<'a> {
    w: Mutex<'a>,
    writer_sem: &'a AtomicU32,
    reader_sem: &'a AtomicU32,
    reader_count: &'a AtomicI32,
    reader_wait: &'a AtomicI32,
}

/// # Safety
/// rw must be a live gort_rwmutex only accessed through gort functions.
unsafe fn view<'a>(rw: *mut gort_rwmutex) -> Rw<'a> {
    // SAFETY: fields of a live struct, accessed atomically only.
    unsafe {
        Rw {
            w: Mutex::from_c(&mut (*rw).w),
            writer_sem: au32(&(*rw).writer_sem),
            reader_sem: au32(&(*rw).reader_sem),
            reader_count: ai32(&(*rw).reader_count),
            reader_wait: ai32(&(*rw).reader_wait),
        }
    }
}

/// Locks for reading. Returns GORT_OK or GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_rwmutex_rlock(rw: *mut gort_rwmutex) -> c_int {
    ffi_guard!("gort_rwmutex_rlock", {
        if rw.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live rwmutex.
        let r = unsafe { view(rw) };
        if r.reader_count.fetch_add(1, Ordering::Acquire) + 1 < 0 {
            // A writer is pending: wait for it.
            semacquire(r.reader_sem, false, WaitReason::RWMutexRLock);
        }
        // TSan, as Go's RWMutex: a writer's Unlock happens before RLock.
        crate::sanitize::tsan_acquire(r.reader_sem);
        GORT_OK
    })
}

/// Locks for reading if no writer holds or waits for the lock. Returns
/// GORT_OK, GORT_EAGAIN, GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_rwmutex_tryrlock(rw: *mut gort_rwmutex) -> c_int {
    ffi_guard!("gort_rwmutex_tryrlock", {
        if rw.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live rwmutex.
        let r = unsafe { view(rw) };
        let mut c = r.reader_count.load(Ordering::Relaxed);
        loop {
            if c < 0 {
                return GORT_EAGAIN;
            }
            match r.reader_count.compare_exchange(c, c + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    crate::sanitize::tsan_acquire(r.reader_sem);
                    return GORT_OK;
                }
                Err(x) => c = x,
            }
        }
    })
}

/// Undoes one rlock. Returns GORT_OK, GORT_EPERM (not read-locked),
/// GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_rwmutex_runlock(rw: *mut gort_rwmutex) -> c_int {
    ffi_guard!("gort_rwmutex_runlock", {
        if rw.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live rwmutex.
        let r = unsafe { view(rw) };
        // TSan: every RUnlock happens before the next Lock (Go's ReleaseMerge).
        crate::sanitize::tsan_release(r.writer_sem);
        let c = r.reader_count.fetch_sub(1, Ordering::Release) - 1;
        if c < 0 {
            if c + 1 == 0 || c + 1 == -MAX_READERS {
                r.reader_count.fetch_add(1, Ordering::Relaxed);
                return GORT_EPERM;
            }
            // A writer is pending; the last departing reader lets it in.
            if r.reader_wait.fetch_sub(1, Ordering::AcqRel) - 1 == 0 {
                semrelease(r.writer_sem, false);
            }
        }
        GORT_OK
    })
}

/// Locks for writing. Returns GORT_OK or GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_rwmutex_lock(rw: *mut gort_rwmutex) -> c_int {
    ffi_guard!("gort_rwmutex_lock", {
        if rw.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live rwmutex.
        let r = unsafe { view(rw) };
        r.w.lock();
        // Announce the writer to readers, then wait for active readers.
        let readers = r.reader_count.fetch_sub(MAX_READERS, Ordering::AcqRel);
        if readers != 0 && r.reader_wait.fetch_add(readers, Ordering::AcqRel) + readers != 0 {
            semacquire(r.writer_sem, false, WaitReason::RWMutexLock);
        }
        crate::sanitize::tsan_acquire(r.reader_sem);
        crate::sanitize::tsan_acquire(r.writer_sem);
        GORT_OK
    })
}

/// Locks for writing if nobody holds the lock. Returns GORT_OK,
/// GORT_EAGAIN, GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_rwmutex_trylock(rw: *mut gort_rwmutex) -> c_int {
    ffi_guard!("gort_rwmutex_trylock", {
        if rw.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live rwmutex.
        let r = unsafe { view(rw) };
        if !r.w.try_lock() {
            return GORT_EAGAIN;
        }
        if r.reader_count.compare_exchange(0, -MAX_READERS, Ordering::Acquire, Ordering::Relaxed).is_err() {
            r.w.unlock();
            return GORT_EAGAIN;
        }
        crate::sanitize::tsan_acquire(r.reader_sem);
        crate::sanitize::tsan_acquire(r.writer_sem);
        GORT_OK
    })
}

/// Unlocks a write lock, letting blocked readers in. Returns GORT_OK,
/// GORT_EPERM (not write-locked), GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_rwmutex_unlock(rw: *mut gort_rwmutex) -> c_int {
    ffi_guard!("gort_rwmutex_unlock", {
        if rw.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live rwmutex.
        let r = unsafe { view(rw) };
        // TSan: Unlock happens before the next RLock and Lock.
        crate::sanitize::tsan_release(r.reader_sem);
        let readers = r.reader_count.fetch_add(MAX_READERS, Ordering::AcqRel) + MAX_READERS;
        if readers >= MAX_READERS {
            r.reader_count.fetch_sub(MAX_READERS, Ordering::Relaxed);
            return GORT_EPERM;
        }
        for _ in 0..readers {
            semrelease(r.reader_sem, false);
        }
        r.w.unlock();
        GORT_OK
    })
}
