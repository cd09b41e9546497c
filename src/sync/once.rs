//! `gort_once`: Go's sync.Once.

use super::au32;
use super::mutex::{gort_mutex, Mutex};
use crate::ffi::{GORT_EINVAL, GORT_OK};
use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering;

/// Runs a function exactly once (Go's sync.Once). Zero-initialised
/// (GORT_ONCE_INIT) has not run.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Default)]
pub struct gort_once {
    /// Private: 1 once the function returned.
    pub done: u32,
    /// Private.
    pub pad: u32,
    /// Private.
    pub m: gort_mutex,
}

/// Calls `fn(arg)` if no call on `o` has yet; concurrent callers wait until
/// that first call returns (Go's Once.Do). Returns GORT_OK or GORT_EINVAL.
#[no_mangle]
pub extern "C" fn gort_once_do(
    o: *mut gort_once,
    fn_: Option<unsafe extern "C" fn(arg: *mut c_void)>,
    arg: *mut c_void,
) -> c_int {
    ffi_guard!("gort_once_do", {
        let Some(f) = fn_ else { return GORT_EINVAL };
        if o.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller passes a live once.
        let done = unsafe { au32(&(*o).done) };
        if done.load(Ordering::Acquire) != 0 {
            // TSan: the call of f happens before every return from once_do.
            crate::sanitize::tsan_acquire(o);
            return GORT_OK;
        }
        // SAFETY: as above.
        let m = unsafe { Mutex::from_c(&mut (*o).m) };
        m.lock();
        if done.load(Ordering::Relaxed) == 0 {
            // SAFETY: the user's function with the user's argument.
            unsafe { f(arg) };
            crate::sanitize::tsan_release(o);
            done.store(1, Ordering::Release);
        }
        m.unlock();
        GORT_OK
    })
}
