#!/usr/bin/env bash
# scripts/demo.sh: build gort and run examples/hello with the boot trace on.
#
# Needs Rust (rustup); installs cmake, make and a C compiler with apt-get when
# they are missing (through sudo when not root). Builds into build/demo.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if ! command -v cargo >/dev/null 2>&1 && [ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]; then
    # shellcheck disable=SC1091
    . "${CARGO_HOME:-$HOME/.cargo}/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "demo.sh: cargo not found. Install Rust first: https://rustup.rs" >&2
    exit 1
fi

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
[ -e /usr/include/stdio.h ] || missing+=(libc6-dev)
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "demo.sh: please install ${missing[*]} (not root, no sudo)" >&2
            exit 1
        fi
        sudo=(sudo)
    fi
    echo "==> apt-get install ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "==> building gort and examples/hello (cargo build --release via CMake)"
cmake -S "$repo" -B "$repo/build/demo" -DGORT_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" >/dev/null
cmake --build "$repo/build/demo" --target hello --parallel "$(nproc)"

echo
echo "==> GORT_DEBUG=inittrace=1 build/demo/examples/hello"
echo
GORT_DEBUG=inittrace=1 "$repo/build/demo/examples/hello"
