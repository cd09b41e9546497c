//! Builds the per-architecture context switch (asm/<arch>.S) with the `cc`
//! crate, gives the shared library its SONAME, and renders the C header from
//! the code with cbindgen into OUT_DIR. `tests/header.rs` fails when the
//! checked-in include/gort.h differs from that rendering;
//! `scripts/regen-header.sh` refreshes it.

use std::env;
use std::path::PathBuf;

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    let os = env::var("CARGO_CFG_TARGET_OS").expect("cargo sets CARGO_CFG_TARGET_OS");
    if os != "linux" {
        panic!("gort supports Linux only (target os is {os})");
    }
    let asm = match arch.as_str() {
        "x86_64" => "asm/x86_64.S",
        "aarch64" => "asm/aarch64.S",
        other => panic!("gort has no context switch for {other}; add asm/{other}.S"),
    };
    println!("cargo:rerun-if-changed={asm}");
    cc::Build::new().file(asm).compile("gort_asm");

    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libgort.so.{major}");

    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("gort.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen renders the header")
        .write_to_file(&out);
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src");
}
