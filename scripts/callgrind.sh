#!/usr/bin/env bash
# scripts/callgrind.sh: instructions per operation on the scheduler's hot
# paths, counted by valgrind's callgrind (exact and repeatable on a noisy
# machine, unlike timings).
#
# For each benchmark below it runs the program twice at GORT_MAXPROCS=1,
# with -n N and -n 2N (one measured run each, plus the warm-up run every
# benchmark makes), and prints (Ir(2N) - Ir(N)) / (ops(2N) - ops(N)): the
# start-up and tear-down cancel out.
#
#   yield   bench_yield: instructions per gort_yield
#   ring    bench_ring: instructions per channel hop (recv + send + switch)
#   chan    bench_chan: instructions per unbuffered ping-pong round trip
#
# Usage: scripts/callgrind.sh [names...]   (default: yield ring)
# Builds gort and the benchmarks into build/callgrind (static link, as
# scripts/bench.sh does). Needs valgrind and cmake.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build/callgrind"
mkdir -p "$build"
if ! command -v cargo >/dev/null 2>&1 && [ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]; then
    # shellcheck disable=SC1091
    . "${CARGO_HOME:-$HOME/.cargo}/env"
fi
for tool in valgrind cmake; do
    command -v "$tool" >/dev/null 2>&1 || { echo "callgrind.sh: $tool not found" >&2; exit 1; }
done

names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(yield ring)

stage="$build/stage"
cmake -S "$repo" -B "$build/gort" -DCMAKE_INSTALL_PREFIX="$stage" \
    -DGORT_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" -DGORT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build/gort" >/dev/null
rm -rf "$stage"
cmake --install "$build/gort" >/dev/null
cmake -S "$repo/benches" -B "$build/benches" -DCMAKE_PREFIX_PATH="$stage" -DGORT_SOURCE_DIR="$repo" \
    -DGORT_BENCH_BOOST=OFF >/dev/null
cmake --build "$build/benches" >/dev/null

# ir <program> <n>: total instructions of one run (1 measured + 1 warm-up).
ir() {
    local out="$build/$1.$2.out"
    GORT_MAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$build/benches/$1" -runs 1 -n "$2" >/dev/null 2>"$build/$1.$2.log"
    sed -n 's/^summary: *//p' "$out"
}

# per_op <name> <program> <n> <ops per unit of n> <warm-up: full|tenth>
# The warm-up run has the same n (full) or n/10 + 1 (tenth); n is a
# multiple of 10, so going from n to 2n adds n (+ n or n/10) units.
per_op() {
    local a b units
    a="$(ir "$2" "$3")"
    b="$(ir "$2" "$(($3 * 2))")"
    case "$5" in full) units=$((2 * $3)) ;; tenth) units=$(($3 + $3 / 10)) ;; esac
    awk -v a="$a" -v b="$b" -v u="$units" -v k="$4" -v n="$3" -v name="$1" \
        'BEGIN { printf "%-8s %8.1f instructions per op (Ir %d -> %d, n %d -> %d)\n", name, (b - a) / (u * k), a, b, n, 2 * n }'
}

for name in "${names[@]}"; do
    case "$name" in
        yield) per_op yield bench_yield 200000 2 full ;;
        ring) per_op ring bench_ring 200000 1 tenth ;;
        chan) per_op chan bench_chan 100000 1 tenth ;;
        *) echo "callgrind.sh: unknown benchmark $name" >&2; exit 1 ;;
    esac
done
