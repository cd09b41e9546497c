//! Fatal errors (Go's panic.go): `throw` for broken internal invariants.
//! The lowest layer of the runtime: it depends on nothing but `os`.

/// Go's throw: an internal invariant broke. Prints and aborts.
#[cold]
pub(crate) fn throw(msg: &str) -> ! {
    crate::os::write_stderr(&["gort: fatal error: ", msg, "\n"]);
    std::process::abort()
}
