#!/usr/bin/env bash
# Regenerates include/gort.h from the Rust sources: runs cargo build (build.rs
# renders the header with cbindgen into OUT_DIR) and copies the result over
# the checked-in copy. tests/header.rs fails until the two are identical.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
if ! command -v cargo >/dev/null 2>&1 && [ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]; then
    . "${CARGO_HOME:-$HOME/.cargo}/env"
fi

cargo build --release --lib "$@"
# Again, now fresh and quiet: the build-script-executed message of the
# workspace package (the only path+file:// package) names its OUT_DIR.
out_dir="$(cargo build --release --lib --message-format=json "$@" 2>/dev/null |
    grep '"reason":"build-script-executed"' |
    grep '"package_id":"path+file://' |
    sed -n 's/.*"out_dir":"\([^"]*\)".*/\1/p' | tail -n 1 || true)"
if [ -z "$out_dir" ] || [ ! -f "$out_dir/gort.h" ]; then
    echo "regen-header: could not find the generated gort.h (OUT_DIR '$out_dir')" >&2
    exit 1
fi
if cmp -s "$out_dir/gort.h" include/gort.h; then
    echo "include/gort.h is up to date"
else
    cp "$out_dir/gort.h" include/gort.h
    echo "include/gort.h regenerated from $out_dir/gort.h"
fi
