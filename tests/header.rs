//! include/gort.h is checked in so that C users need no Rust toolchain to
//! read the API; build.rs renders the same header from the code with
//! cbindgen into OUT_DIR. This test fails when the two differ.
//! Fix: `scripts/regen-header.sh`, then commit include/gort.h.

/// The header build.rs generated for this very build.
const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/gort.h"));

#[test]
fn checked_in_header_matches_generated() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/gort.h");
    let checked_in = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    if checked_in == GENERATED {
        return;
    }
    let first_diff = checked_in
        .lines()
        .zip(GENERATED.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| checked_in.lines().count().min(GENERATED.lines().count()));
    let line = |s: &str| s.lines().nth(first_diff).unwrap_or("<end of file>").to_owned();
    panic!(
        "include/gort.h is stale: it differs from the header build.rs generates \
         ({}/gort.h), first at line {}:\n  include/gort.h: {}\n  generated:      {}\n\
         Run scripts/regen-header.sh and commit include/gort.h.",
        env!("OUT_DIR"),
        first_diff + 1,
        line(&checked_in),
        line(GENERATED),
    );
}
