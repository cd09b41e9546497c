//! The C boundary: error codes, `gort_strerror`, version, and the guard that
//! keeps a Rust panic from unwinding into C.
//!
//! Every exported function runs its body inside [`ffi_guard!`]. The crate is
//! built with `panic = "abort"`, so a panic already aborts the process after
//! printing; the guard is the second line for builds that unwind (Rust unit
//! tests): it prints the export's name and aborts instead of unwinding
//! through a C frame.

use std::ffi::{c_char, c_int};

/// Success.
pub const GORT_OK: c_int = 0;
/// Wrong thread or wrong context for this call (for example `gort_mstart`
/// from a thread other than the one that called `gort_init`, or in library
/// mode; `gort_goexit` off a goroutine).
pub const GORT_EPERM: c_int = -1;
/// Out of memory: a goroutine stack or an internal structure could not be
/// allocated. The runtime stays usable.
pub const GORT_ENOMEM: c_int = -12;
/// An argument or an environment variable is invalid.
pub const GORT_EINVAL: c_int = -22;
/// The runtime is already initialised (a second `gort_init` or
/// `gort_init_lib`).
pub const GORT_EALREADY: c_int = -114;
/// Would block: a non-blocking operation (`try_*`, select with timeout 0)
/// found nothing ready.
pub const GORT_EAGAIN: c_int = -11;
/// The timeout given to a blocking operation expired.
pub const GORT_ETIMEDOUT: c_int = -110;
/// The runtime is not initialised yet: call `gort_init` or `gort_init_lib`
/// first.
pub const GORT_ENOTINIT: c_int = -1000;
/// The channel is closed (send on or close of a closed channel, or receive
/// from a closed and drained one), where Go would panic or report !ok; or
/// the file descriptor a call waited on was closed with `gort_close`.
pub const GORT_ECLOSED: c_int = -1001;

/// Major version of the library this header belongs to.
pub const GORT_VERSION_MAJOR: c_int = 0;
/// Minor version.
pub const GORT_VERSION_MINOR: c_int = 1;
/// Patch version.
pub const GORT_VERSION_PATCH: c_int = 0;

// The macros above are what C code compiles against; the library must agree.
const _: () = {
    assert!(GORT_VERSION_MAJOR == parse_u(env!("CARGO_PKG_VERSION_MAJOR")));
    assert!(GORT_VERSION_MINOR == parse_u(env!("CARGO_PKG_VERSION_MINOR")));
    assert!(GORT_VERSION_PATCH == parse_u(env!("CARGO_PKG_VERSION_PATCH")));
};

const fn parse_u(s: &str) -> c_int {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v = 0;
    while i < b.len() {
        v = v * 10 + (b[i] - b'0') as c_int;
        i += 1;
    }
    v
}

/// Errors the runtime reports, each mapping to one `GORT_E*` code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    NoMem,
    Inval,
    Already,
}

impl Error {
    pub(crate) const fn code(self) -> c_int {
        match self {
            Error::NoMem => GORT_ENOMEM,
            Error::Inval => GORT_EINVAL,
            Error::Already => GORT_EALREADY,
        }
    }
}

/// Maps `Result<(), Error>` to the C convention (0 or a negative code).
pub(crate) fn status(r: Result<(), Error>) -> c_int {
    match r {
        Ok(()) => GORT_OK,
        Err(e) => e.code(),
    }
}

/// Returns a static, NUL-terminated description of a `GORT_*` code, or of
/// a negative errno value returned by the I/O calls (`-ECONNREFUSED`, ...).
/// Never returns NULL; unknown codes get a generic text. May be called
/// before `gort_init` and from any thread (unlike strerror, it never writes
/// a shared buffer).
#[no_mangle]
pub extern "C" fn gort_strerror(code: c_int) -> *const c_char {
    let s: &'static [u8] = match code {
        GORT_OK => b"success\0",
        GORT_EPERM => b"operation not permitted from this thread or context\0",
        GORT_ENOMEM => b"out of memory for goroutine stacks or runtime structures\0",
        GORT_EINVAL => b"invalid argument or environment variable\0",
        GORT_EALREADY => b"gort runtime already initialised\0",
        GORT_ENOTINIT => b"gort runtime not initialised (call gort_init or gort_init_lib first)\0",
        GORT_EAGAIN => b"operation would block\0",
        GORT_ETIMEDOUT => b"operation timed out\0",
        GORT_ECLOSED => b"channel or file descriptor closed\0",
        // Linux errno values are 1..4095 (MAX_ERRNO).
        c if (-4095..0).contains(&c) => errno_text(-c),
        _ => b"unknown gort error code\0",
    };
    s.as_ptr().cast()
}

/// The errno values gort's I/O calls pass on, described as glibc does.
fn errno_text(e: c_int) -> &'static [u8] {
    match e {
        libc::ENOENT => b"no such file or directory\0",
        libc::EINTR => b"interrupted system call\0",
        libc::EIO => b"input/output error\0",
        libc::EBADF => b"bad file descriptor\0",
        libc::EACCES => b"permission denied\0",
        libc::EFAULT => b"bad address\0",
        libc::EEXIST => b"file exists\0",
        libc::EISDIR => b"is a directory\0",
        libc::ENFILE => b"too many open files in system\0",
        libc::EMFILE => b"too many open files\0",
        libc::ENOSPC => b"no space left on device\0",
        libc::ESPIPE => b"illegal seek\0",
        libc::EPIPE => b"broken pipe\0",
        libc::ENOTSOCK => b"socket operation on non-socket\0",
        libc::EDESTADDRREQ => b"destination address required\0",
        libc::EMSGSIZE => b"message too long\0",
        libc::EPROTOTYPE => b"protocol wrong type for socket\0",
        libc::ENOPROTOOPT => b"protocol not available\0",
        libc::EOPNOTSUPP => b"operation not supported\0",
        libc::EAFNOSUPPORT => b"address family not supported by protocol\0",
        libc::EADDRINUSE => b"address already in use\0",
        libc::EADDRNOTAVAIL => b"cannot assign requested address\0",
        libc::ENETDOWN => b"network is down\0",
        libc::ENETUNREACH => b"network is unreachable\0",
        libc::ECONNABORTED => b"software caused connection abort\0",
        libc::ECONNRESET => b"connection reset by peer\0",
        libc::ENOBUFS => b"no buffer space available\0",
        libc::EISCONN => b"transport endpoint is already connected\0",
        libc::ENOTCONN => b"transport endpoint is not connected\0",
        libc::ECONNREFUSED => b"connection refused\0",
        libc::EHOSTDOWN => b"host is down\0",
        libc::EHOSTUNREACH => b"no route to host\0",
        libc::EINPROGRESS => b"operation now in progress\0",
        _ => b"system error (negative errno value)\0",
    }
}

/// Returns the library's version as a static string, "MAJOR.MINOR.PATCH".
/// Compare with the GORT_VERSION_* macros to detect a header/library
/// mismatch. May be called before `gort_init`.
#[no_mangle]
pub extern "C" fn gort_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Runs an export's body; a panic (only possible in unwinding builds) is
/// reported with the export's name and aborts instead of crossing into C.
macro_rules! ffi_guard {
    ($name:literal, $body:expr) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => {
                // No tail call out of an export: its frame stays on the
                // stack, so goroutine dumps show the gort call a goroutine
                // blocks in (the fence emits no instruction).
                ::std::sync::atomic::compiler_fence(::std::sync::atomic::Ordering::SeqCst);
                v
            }
            Err(_) => $crate::ffi::panic_abort($name),
        }
    };
}

#[cold]
pub(crate) fn panic_abort(name: &str) -> ! {
    crate::os::write_stderr(&["gort: internal error (Rust panic) in ", name, "; aborting\n"]);
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn strerror_names_every_code() {
        for (code, needle) in [
            (GORT_OK, "success"),
            (GORT_EPERM, "not permitted"),
            (GORT_ENOMEM, "out of memory"),
            (GORT_EINVAL, "invalid"),
            (GORT_EALREADY, "already"),
            (GORT_ENOTINIT, "not initialised"),
            (GORT_EAGAIN, "would block"),
            (GORT_ETIMEDOUT, "timed out"),
            (GORT_ECLOSED, "closed"),
            (12345, "unknown"),
            (-libc::ECONNREFUSED, "connection refused"),
            (-libc::EBADF, "bad file descriptor"),
            (-libc::ENOTSOCK, "non-socket"),
            (-4095, "negative errno"),
            (-9999, "unknown"),
        ] {
            // SAFETY: gort_strerror returns a pointer to a static NUL-terminated literal.
            let s = unsafe { CStr::from_ptr(gort_strerror(code)) }.to_str().unwrap();
            assert!(s.contains(needle), "{code}: {s}");
        }
    }

    #[test]
    fn version_string_matches_macros() {
        // SAFETY: gort_version returns a static NUL-terminated literal.
        let v = unsafe { CStr::from_ptr(gort_version()) }.to_str().unwrap();
        assert_eq!(v, format!("{GORT_VERSION_MAJOR}.{GORT_VERSION_MINOR}.{GORT_VERSION_PATCH}"));
    }
}
