//! Fatal errors (Go's panic.go): `throw` for broken internal invariants.
//! Low in the layers: it depends on `os`, and on `traceback` for the dump
//! that follows the message.

/// Go's throw: an internal invariant broke. Prints and aborts.
#[cold]
pub(crate) fn throw(msg: &str) -> ! {
    crate::os::write_stderr(&["gort: fatal error: ", msg, "\n"]);
    let cur = crate::traceback::current_here();
    crate::traceback::fatal_dump(cur.as_ref(), false);
    crate::signal::abort_for_core()
}
