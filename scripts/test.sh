#!/usr/bin/env bash
# scripts/test.sh: runs every test gort has.
#
#   1. tools     installs what is missing (cmake, gcc, gdb, pkg-config, qemu-user,
#                the aarch64 cross gcc/libc, the Rust aarch64 target)
#   2. cargo     cargo test --release (unit tests, tests/header.rs, doc tests),
#                cargo clippy -D warnings when clippy is installed
#   3. host      CMake build + install into build/host/stage, examples, the
#                c-tests project built against the installed package (ctest),
#                a pkg-config consumer
#   4. sanitize  the c-tests project (shared flavour) against the host install,
#                built with -fsanitize=address (build/asan) and -fsanitize=thread
#                (build/tsan); a set of host tests under valgrind --error-exitcode=1
#                (build/valgrind). gort itself is the same build: it finds the
#                sanitizer or Valgrind at run time (src/sanitize.rs).
#   5. aarch64   the same as 3, cross-compiled, tests run under qemu-aarch64
#
# Environment:
#   GORT_SKIP_AARCH64=1   skip part 5 (quick local runs)
#   GORT_SKIP_SANITIZERS=1  skip part 4 (quick local runs)
#   GORT_CTEST_JOBS=N     run N tests at once (default 1: tests measure
#                         parallelism and expect the machine's CPUs)
#   GORT_CTEST_ARGS="..." extra ctest arguments (e.g. "-R boot -L static")
#   GORT_NO_INSTALL=1     never call apt-get/rustup; fail if something is missing
#   GORT_REQUIRE_AARCH64=1  fail (instead of skipping loudly) when the Rust
#                         aarch64 target cannot be installed
#
# Runs from any directory, is safe to re-run (builds are incremental; the
# staging prefixes are recreated), exits non-zero if anything failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build="$repo/build"
logs="$build/logs"
mkdir -p "$logs"

ctest_jobs="${GORT_CTEST_JOBS:-1}"
read -r -a ctest_extra <<<"${GORT_CTEST_ARGS:-}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
aarch64_triple=aarch64-unknown-linux-gnu
case "${GORT_SKIP_AARCH64:-0}" in 0 | "" | no | false) skip_aarch64=0 ;; *) skip_aarch64=1 ;; esac
case "${GORT_SKIP_SANITIZERS:-0}" in 0 | "" | no | false) skip_sanitizers=0 ;; *) skip_sanitizers=1 ;; esac

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. tools ---------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]; then
    # shellcheck disable=SC1091
    . "${CARGO_HOME:-$HOME/.cargo}/env"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs)"

apt_install() {
    [ "$#" -gt 0 ] || return 0
    [ "${GORT_NO_INSTALL:-0}" = 0 ] || die "missing packages: $* (GORT_NO_INSTALL is set)"
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "missing packages: $*; not root and no sudo"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing packages: $*; no apt-get: install them by hand"
    say "apt-get install $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

have_cxx_tests=0
compgen -G "$repo/c-tests/test_*.cpp" >/dev/null && have_cxx_tests=1

missing=()
need() { # need <command or absolute file> <package>
    if [[ "$1" == /* ]]; then [ -e "$1" ] || missing+=("$2")
    else command -v "$1" >/dev/null 2>&1 || missing+=("$2"); fi
}
need cmake cmake
need make make
need cc gcc
need /usr/include/stdio.h libc6-dev
need gdb gdb
need pkg-config pkg-config
need curl curl # examples/http_hello is also tested against curl
[ "$have_cxx_tests" = 0 ] || need c++ g++
if [ "$skip_sanitizers" = 0 ] || grep -qs valgrind "$repo"/c-tests/CMakeLists.txt "$repo"/c-tests/test_*; then
    need valgrind valgrind
fi
if [ "$skip_aarch64" = 0 ]; then
    need qemu-aarch64 qemu-user
    need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
    need /usr/aarch64-linux-gnu/include/stdio.h libc6-dev-arm64-cross
    [ "$have_cxx_tests" = 0 ] || need aarch64-linux-gnu-g++ g++-aarch64-linux-gnu
fi
# shellcheck disable=SC2046
apt_install $(printf '%s\n' "${missing[@]+"${missing[@]}"}" | sort -u)

if [ "$skip_aarch64" = 0 ] && [ ! -d "$(rustc --print sysroot)/lib/rustlib/$aarch64_triple" ]; then
    [ "${GORT_NO_INSTALL:-0}" = 0 ] || die "Rust target $aarch64_triple missing (GORT_NO_INSTALL is set)"
    command -v rustup >/dev/null 2>&1 || die "Rust target $aarch64_triple missing and no rustup"
    say "rustup target add $aarch64_triple"
    if ! rustup target add "$aarch64_triple"; then
        # The target comes from static.rust-lang.org, which a machine limited
        # to package registries may not reach. Say so loudly and go on with
        # the host suite, unless the caller insists on aarch64.
        [ "${GORT_REQUIRE_AARCH64:-0}" = 0 ] ||
            die "could not add the Rust target $aarch64_triple (GORT_REQUIRE_AARCH64 is set)"
        printf '\n\033[1;31mWARNING: could not add the Rust target %s (no access to static.rust-lang.org?): the aarch64 part is SKIPPED.\033[0m\n' "$aarch64_triple" >&2
        skip_aarch64=1
        aarch64_unavailable=1
    fi
fi

cargo_target_dir="${CARGO_TARGET_DIR:-$repo/target}"
# gdb was installed above: a test that needs it must not skip.
export GORT_TEST_REQUIRE_GDB=1

# --- helpers ------------------------------------------------------------------------
declare -A result seconds
parts=()

# A build dir configured from another source tree (a moved clone) is discarded.
fresh_build_dir() { # <build dir> <source dir>
    local cache="$1/CMakeCache.txt" home
    if [ -f "$cache" ]; then
        home="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")"
        [ "$home" = "$2" ] || rm -rf "$1"
    fi
}

# ctest with the summary line kept: "<passed>/<total>".
run_ctest() { # <name> <build dir> [more ctest arguments]
    local name="$1" log="$logs/ctest-${1// /-}.log" rc=0 dir="$2"
    shift 2
    (cd "$dir" && ctest --output-on-failure --no-tests=ignore -j "$ctest_jobs" \
        "${ctest_extra[@]+"${ctest_extra[@]}"}" "$@") 2>&1 | tee "$log" || rc=$?
    local line total failed skipped
    line="$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)"
    if [ -n "$line" ]; then
        failed="$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")"
        total="$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")"
    else
        failed=0 total=0
    fi
    # Skipped tests (exit 77) count as passed in ctest's summary line.
    skipped="$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)$' "$log" || true)"
    counts+=("$name: $((total - failed - skipped)) passed, $failed failed, $skipped skipped (of $total)")
    return "$rc"
}

# Configure, build and install gort for one flavour, then run its examples.
# $1 = name (build/<name>/{gort,stage,c-tests}), rest = extra cmake arguments.
gort_part() {
    local name="$1"; shift
    local dir="$build/$name" stage="$build/$name/stage"
    say "$name: configure, build and install gort into $stage"
    fresh_build_dir "$dir/gort" "$repo"
    cmake -S "$repo" -B "$dir/gort" -DCMAKE_INSTALL_PREFIX="$stage" \
        -DGORT_CARGO_TARGET_DIR="$cargo_target_dir" "$@"
    cmake --build "$dir/gort"
    rm -rf "$stage"
    cmake --install "$dir/gort"

    say "$name: examples"
    run_ctest "$name examples" "$dir/gort"
    cmake --build "$dir/gort" --target run-hello
}

# The c-tests project, built against the installed package.
# $1 = name, rest = extra cmake arguments (the toolchain file).
c_tests_part() {
    local name="$1"; shift
    local dir="$build/$name" stage="$build/$name/stage"
    say "$name: c-tests against $stage"
    fresh_build_dir "$dir/c-tests" "$repo/c-tests"
    cmake -S "$repo/c-tests" -B "$dir/c-tests" -DCMAKE_PREFIX_PATH="$stage" "$@"
    cmake --build "$dir/c-tests"
    run_ctest "$name c-tests" "$dir/c-tests"
}

# A program built with nothing but pkg-config, from a copy of the install
# moved elsewhere (gort.pc is relocatable).
pkg_config_check() { # <stage> <cc> [runner...]
    local stage="$1" cc="$2"; shift 2
    local moved="$build/host/moved-stage" out="$build/host/hello-pkg-config"
    rm -rf "$moved" && cp -a "$stage" "$moved"
    local flags
    flags="$(PKG_CONFIG_PATH="$moved/lib/pkgconfig" pkg-config --cflags --libs gort)"
    say "pkg-config: $cc hello.c $flags"
    # shellcheck disable=SC2086
    "$cc" -o "$out" "$repo/examples/hello/hello.c" $flags -Wl,-rpath,"$moved/lib"
    "$@" "$out" | tee "$logs/hello-pkg-config.log"
    grep -q "all 8 goroutines said hello" "$logs/hello-pkg-config.log"
    counts+=("pkg-config consumer: 1 passed")
}

part() { # <name> <function> [args...]: runs a part, records its status and time
    local name="$1"; shift
    parts+=("$name")
    local start=$SECONDS rc=0
    : >"$logs/counts-$name"
    set +e
    (
        set -e
        counts=()
        trap 'printf "%s\n" "${counts[@]+"${counts[@]}"}" >"$logs/counts-'"$name"'"' EXIT
        "$@"
    )
    rc=$?
    set -e
    seconds[$name]=$((SECONDS - start))
    if [ "$rc" = 0 ]; then result[$name]=ok; else result[$name]="FAILED (exit $rc)"; fi
}

# --- 2. cargo -------------------------------------------------------------------------
cargo_part() {
    say "cargo test --release"
    local rc=0 passed failed
    cargo test --release --locked 2>&1 | tee "$logs/cargo-test.log" || rc=$?
    passed="$(sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\1/p' "$logs/cargo-test.log" |
        awk '{s+=$1} END {print s+0}')"
    failed="$(sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\2/p' "$logs/cargo-test.log" |
        awk '{s+=$1} END {print s+0}')"
    counts+=("cargo test: $passed passed, $failed failed")
    # Lints, where the toolchain has them (rustup's default profile does).
    if cargo clippy --version >/dev/null 2>&1; then
        say "cargo clippy --release -- -D warnings"
        if cargo clippy --release --locked -- -D warnings 2>&1 | tee "$logs/cargo-clippy.log"; then
            counts+=("clippy: clean")
        else
            counts+=("clippy: warnings (see $logs/cargo-clippy.log)")
            rc=1
        fi
    else
        counts+=("clippy: not installed, skipped")
    fi
    return "$rc"
}

host_part() {
    gort_part host
    pkg_config_check "$build/host/stage" cc
    c_tests_part host
}

# The c-tests project built with -fsanitize=<address|thread> against the host
# install; only the shared flavour runs (the static one links the same code),
# which keeps the slowed-down suite to a few minutes. Tests skip (77) what a
# sanitizer makes impossible (check_sanitizer() in c-tests/check.h). Any
# sanitizer report fails its test: ASan and TSan exit non-zero after one.
sanitizer_part() { # <name> <sanitizer>
    local name="$1" san="$2" dir="$build/$1" stage="$build/host/stage"
    say "$name: c-tests built with -fsanitize=$san against $stage"
    fresh_build_dir "$dir" "$repo/c-tests"
    cmake -S "$repo/c-tests" -B "$dir" -DCMAKE_PREFIX_PATH="$stage" -DGORT_TEST_SANITIZER="$san"
    cmake --build "$dir"
    # Two at a time at least: the slowed-down tests mostly wait, and the
    # leg then takes ~5 minutes instead of ~10 on two CPUs.
    local jobs=$((ctest_jobs > 2 ? ctest_jobs : 2))
    if [ "$san" = thread ]; then
        TSAN_OPTIONS="suppressions=$stage/share/gort/tsan.supp ${TSAN_OPTIONS:-}" \
            run_ctest "$name c-tests" "$dir" -L shared -j "$jobs"
    else
        run_ctest "$name c-tests" "$dir" -L shared -j "$jobs"
    fi
}

# Tests run under valgrind (memcheck) with their re-executed children: small
# ones that cover switching, migration, every primitive, timers and exits.
valgrind_tests=(test_smoke_infra test_chan_fanin test_chan_close_wakeall test_select_same_chan
    test_sync_api test_goexit test_errno test_migration test_timer_park_locks test_boot_lib)

valgrind_part() {
    local dir="$build/valgrind" stage="$build/host/stage" t rc=0 passed=0 failed=0
    say "valgrind: ${valgrind_tests[*]}"
    fresh_build_dir "$dir" "$repo/c-tests"
    cmake -S "$repo/c-tests" -B "$dir" -DCMAKE_PREFIX_PATH="$stage"
    cmake --build "$dir" --target "${valgrind_tests[@]/%/_shared}"
    for t in "${valgrind_tests[@]}"; do
        say "valgrind $t"
        if (cd "$dir" && GORT_TEST_VALGRIND=1 valgrind --error-exitcode=1 --trace-children=yes \
            --suppressions="$repo/scripts/valgrind.supp" "./${t}_shared") 2>&1 |
            tee "$logs/valgrind-$t.log"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1)) rc=1
        fi
    done
    counts+=("valgrind: $passed passed, $failed failed (of ${#valgrind_tests[@]})")
    return "$rc"
}

sanitizers_part() {
    local rc=0
    sanitizer_part asan address || rc=1
    sanitizer_part tsan thread || rc=1
    valgrind_part || rc=1
    return "$rc"
}

aarch64_part() {
    local toolchain=-DCMAKE_TOOLCHAIN_FILE="$repo/scripts/aarch64-linux-gnu.cmake"
    gort_part aarch64 "$toolchain" -DGORT_RUST_TARGET="$aarch64_triple"
    c_tests_part aarch64 "$toolchain"
}

total_start=$SECONDS
part cargo cargo_part
part host host_part
if [ "$skip_sanitizers" = 0 ]; then
    part sanitize sanitizers_part
fi
if [ "$skip_aarch64" = 0 ]; then
    part aarch64 aarch64_part
fi

# --- summary ------------------------------------------------------------------------
status=0
say "summary"
for p in "${parts[@]}"; do
    printf '  %-8s %-18s %4ss\n' "$p" "${result[$p]}" "${seconds[$p]}"
    while IFS= read -r line; do
        [ -z "$line" ] || printf '             %s\n' "$line"
    done <"$logs/counts-$p"
    [ "${result[$p]}" = ok ] || status=1
done
if [ "${aarch64_unavailable:-0}" = 1 ]; then
    printf '  aarch64  SKIPPED: the Rust target %s could not be installed\n' "$aarch64_triple"
elif [ "$skip_aarch64" = 1 ]; then
    printf '  aarch64  skipped (GORT_SKIP_AARCH64=1)\n'
fi
[ "$skip_sanitizers" = 0 ] || printf '  sanitize skipped (GORT_SKIP_SANITIZERS=1)\n'
printf '  total %ss; logs in %s\n' "$((SECONDS - total_start))" "$logs"
if [ "$status" = 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit "$status"
