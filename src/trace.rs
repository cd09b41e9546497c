//! `GORT_DEBUG=inittrace=1`: one line on stderr per boot step, so the boot
//! sequence can be watched next to Go's (see README, "Boot").

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

static ON: AtomicBool = AtomicBool::new(false);
static T0: AtomicI64 = AtomicI64::new(0);

pub(crate) fn enable(on: bool) {
    T0.store(crate::os::nanotime(), Ordering::Relaxed);
    ON.store(on, Ordering::Relaxed);
}

pub(crate) fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Prints "gort: boot @<ms>ms: <step>" when inittrace is on.
pub(crate) fn boot(step: std::fmt::Arguments<'_>) {
    if !enabled() {
        return;
    }
    let ms = (crate::os::nanotime() - T0.load(Ordering::Relaxed)) as f64 / 1e6;
    crate::os::write_stderr(&[&format!("gort: boot @{ms:.3}ms: {step}\n")]);
}
