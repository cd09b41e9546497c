//! Time's C API: `gort_nanotime`, `gort_sleep`, `gort_after`,
//! `gort_after_func` and its timers (Go's time package), on the runtime
//! timers of `timer.rs`.

use crate::chan::{self, gort_chan, Chan};
use crate::ffi::{GORT_EINVAL, GORT_ENOTINIT, GORT_OK};
use crate::g::{WaitReason, G};
use crate::m::getg;
use crate::os::nanotime;
use crate::proc::{gopark, goready};
use crate::timer::{addtimer, deltimer, Timer};
use std::ffi::{c_int, c_void};

// ---------------------------------------------------------------------------
// C API

fn ready() -> bool {
    crate::boot::is_ready()
}

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the clock every gort
/// timeout and timer uses. Usable before init.
#[no_mangle]
pub extern "C" fn gort_nanotime() -> i64 {
    ffi_guard!("gort_nanotime", nanotime())
}

unsafe fn sleep_fire(t: *mut Timer) -> bool {
    // SAFETY: arg is the sleeping G, parked until this goready.
    goready(unsafe { (*t).arg.get() }.cast());
    true
}

unsafe fn sleep_unlock(_gp: *mut G, arg: *mut c_void) -> bool {
    // SAFETY: arg is the (timer, when) pair on the sleeper's stack.
    let (t, when) = unsafe { &*(arg as *const (Timer, i64)) };
    addtimer(t, *when);
    true
}

/// Pauses the calling goroutine for at least `ns` nanoseconds (Go's
/// time.Sleep); its M runs other goroutines meanwhile. Off a goroutine it
/// sleeps the thread. `ns <= 0` returns at once.
///
/// Returns GORT_OK or GORT_ENOTINIT.
#[no_mangle]
pub extern "C" fn gort_sleep(ns: i64) -> c_int {
    ffi_guard!("gort_sleep", {
        if !ready() {
            return GORT_ENOTINIT;
        }
        if ns <= 0 {
            return GORT_OK;
        }
        let deadline = nanotime().saturating_add(ns);
        let gp = getg();
        if gp.is_null() {
            loop {
                let left = deadline - nanotime();
                if left <= 0 {
                    break;
                }
                let ts = libc::timespec { tv_sec: left / 1_000_000_000, tv_nsec: left % 1_000_000_000 };
                // SAFETY: ts is valid; a null remainder is allowed.
                unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
            }
            return GORT_OK;
        }
        let pair = (Timer::new(sleep_fire, gp.cast()), deadline);
        gopark(sleep_unlock, &pair as *const (Timer, i64) as *mut c_void, WaitReason::Sleep);
        // The callback may still be finishing its bookkeeping on another M.
        deltimer(&pair.0);
        GORT_OK
    })
}

/// A timer made by `gort_after_func`. Opaque.
#[allow(non_camel_case_types)]
pub struct gort_timer {
    t: Timer,
    fnc: crate::g::GoFn,
    arg: *mut c_void,
}

unsafe fn after_func_fire(t: *mut Timer) -> bool {
    // SAFETY: gort_after_func stores the owning gort_timer in the timer's arg; it stays alive until gort_timer_free, which waits for this callback.
    let ut = unsafe { &*((*t).arg.get() as *const gort_timer) };
    if crate::spawn::newproc(ut.fnc, ut.arg, false, 0).is_err() {
        // No memory for a stack: try again in a millisecond rather than lose
        // the call. Re-armed straight from RUNNING, so a concurrent
        // gort_timer_free keeps waiting and then removes it.
        crate::os::write_stderr(&["gort: after_func: no memory for a goroutine; retrying in 1 ms\n"]);
        addtimer(&ut.t, nanotime() + 1_000_000);
        return false;
    }
    true
}

/// Calls `fn(arg)` in a new goroutine once `ns` nanoseconds have passed
/// (Go's time.AfterFunc). The timer belongs to the caller, who must free it
/// with `gort_timer_free` (which also stops it if it has not fired); it can
/// be stopped and re-armed any number of times before that.
///
/// Returns NULL if `fn` is NULL, before init, or when out of memory.
#[no_mangle]
pub extern "C" fn gort_after_func(
    ns: i64,
    fn_: Option<unsafe extern "C" fn(arg: *mut c_void)>,
    arg: *mut c_void,
) -> *mut gort_timer {
    ffi_guard!("gort_after_func", {
        let Some(f) = fn_ else { return std::ptr::null_mut() };
        if !ready() {
            return std::ptr::null_mut();
        }
        let ut =
            Box::into_raw(Box::new(gort_timer { t: Timer::new(after_func_fire, std::ptr::null_mut()), fnc: f, arg }));
        // SAFETY: ut was just allocated and is exclusively ours.
        let r = unsafe { &*ut };
        r.t.arg.set(ut.cast());
        addtimer(&r.t, nanotime().saturating_add(ns.max(0)));
        ut
    })
}

/// Stops a timer (Go's Timer.Stop). Returns 1 if this prevented it from
/// firing, 0 if it had already fired or been stopped, GORT_EINVAL for NULL.
/// The callback may be running when this returns 0.
#[no_mangle]
pub extern "C" fn gort_timer_stop(t: *mut gort_timer) -> c_int {
    ffi_guard!("gort_timer_stop", {
        if t.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller owns a live timer.
        deltimer(&unsafe { &*t }.t) as c_int
    })
}

/// Re-arms a timer to fire `ns` from now (Go's Timer.Reset), whether or not
/// it fired already. Returns 1 if it was armed, 0 if not, GORT_EINVAL for
/// NULL.
#[no_mangle]
pub extern "C" fn gort_timer_reset(t: *mut gort_timer, ns: i64) -> c_int {
    ffi_guard!("gort_timer_reset", {
        if t.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller owns a live timer.
        let r = unsafe { &*t };
        let was = deltimer(&r.t);
        addtimer(&r.t, nanotime().saturating_add(ns.max(0)));
        was as c_int
    })
}

/// Stops the timer if needed (waiting for a callback in progress) and frees
/// it. Returns GORT_OK or GORT_EINVAL for NULL.
#[no_mangle]
pub extern "C" fn gort_timer_free(t: *mut gort_timer) -> c_int {
    ffi_guard!("gort_timer_free", {
        if t.is_null() {
            return GORT_EINVAL;
        }
        // SAFETY: the caller owns the timer and gives it up here.
        let r = unsafe { &*t };
        deltimer(&r.t);
        // A failed newproc re-arms from the callback; stop that too.
        while deltimer(&r.t) {}
        // SAFETY: disarmed and not running: nobody else refers to it.
        drop(unsafe { Box::from_raw(t) });
        GORT_OK
    })
}

struct AfterTimer {
    t: Timer,
    c: *mut Chan,
}

unsafe fn after_fire(t: *mut Timer) -> bool {
    // SAFETY: arg is the AfterTimer that owns t; it is freed here, once.
    let at = unsafe { Box::from_raw((*t).arg.get() as *mut AfterTimer) };
    let now = nanotime();
    // Cap 1 and a single send: never blocks, never fails unless closed.
    // SAFETY: the timer holds a reference to the channel.
    unsafe {
        let _ = chan::chansend(at.c, &now as *const i64 as *const u8, false, 0);
        chan::release(at.c);
    }
    false
}

/// A channel that receives the time (`gort_nanotime()`, an int64_t) once
/// `ns` nanoseconds have passed (Go's time.After). Capacity 1, so the send
/// never blocks. The caller owns one reference (`gort_chan_release`); the
/// timer holds its own until it fires. NULL before init or when out of
/// memory.
#[no_mangle]
pub extern "C" fn gort_after(ns: i64) -> *mut gort_chan {
    ffi_guard!("gort_after", {
        if !ready() {
            return std::ptr::null_mut();
        }
        let c = chan::make(std::mem::size_of::<i64>(), 1);
        if c.is_null() {
            return c;
        }
        // SAFETY: c is live; one more reference for the timer.
        unsafe { chan::retain(c) };
        let at = Box::into_raw(Box::new(AfterTimer { t: Timer::new(after_fire, std::ptr::null_mut()), c }));
        // SAFETY: at was just allocated.
        let r = unsafe { &*at };
        r.t.arg.set(at.cast());
        addtimer(&r.t, nanotime().saturating_add(ns.max(0)));
        c
    })
}
