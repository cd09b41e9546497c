#!/usr/bin/env bash
# scripts/bench.sh: gort's benchmarks next to Go and Boost.Fiber (issue 4),
# and the I/O ones next to Go, tokio and a plain epoll server.
#
#   1. tools     installs what is missing (cmake, gcc/g++, golang-go,
#                libboost-fiber-dev, libboost-context-dev, python3-matplotlib,
#                taskset from util-linux)
#   2. build     gort built and installed into build/bench/stage (the root CMake
#                project, as scripts/test.sh does); benches/ built against that
#                install with CMake (find_package(gort)), with the Boost.Fiber
#                peer, the load generator and the plain epoll server; the Go
#                peer built with `go build`, the tokio peer with cargo
#                (CARGO_TARGET_DIR=build/bench/tokio-target; skipped, with a
#                note, when its crates cannot be fetched)
#   3. aarch64   the raw switch cross-built and run under qemu-aarch64, as a
#                correctness check only (when the cross gcc and qemu are there)
#   4. run       for each shape and number of Ps: gort, Go, Boost, gort, Go,
#                Boost, ... for GORT_BENCH_ROUNDS rounds (the order rotates each
#                round); every BENCH line goes to build/bench/raw.txt.
#                echo: per round, fresh gort, Go, tokio and epoll servers at 1 P
#                pinned to one CPU, and benches/peers/c/loadgen on another
#                giving each server the load in turn (see benches/README.md);
#                idle: per round and server, a fresh server, 10,000 idle
#                connections, its RSS growth
#   5. report    benches/report.py: medians over the rounds, one table on
#                stdout and in docs/benchmarks.md, the ratio chart in
#                docs/benchmarks.png
#
# Environment:
#   GORT_BENCH_ROUNDS=N   rounds (default 5; 2 with GORT_BENCH_QUICK=1)
#   GORT_BENCH_RUNS=N     measured runs inside each program (default 5; 3 quick)
#   GORT_BENCH_QUICK=1    smoke run: fewer rounds, sizes / 10; the table says so
#   GORT_BENCH_ONLY="yield chan"  run only these shapes (switch yield chan ring
#                         spawn skynet mutex parked timers syscall hog echo idle);
#                         the report covers them
#   GORT_BENCH_NO_DOCS=1  write the report to build/bench/ instead of docs/
#   GORT_BENCH_BUILD_DIR=DIR  build and run in DIR instead of build/bench
#   GORT_NO_INSTALL=1     never call apt-get; fail if something is missing
#
# Nothing here asserts a timing: a program fails only when its result is
# wrong. A failed run is recorded (FAILED in raw.txt, listed under the
# table) and the others go on; the script then exits 1.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build="${GORT_BENCH_BUILD_DIR:-$repo/build/bench}"
mkdir -p "$build"
build="$(cd "$build" && pwd)"
logs="$build/logs"
mkdir -p "$logs"
started=$SECONDS
command_line="scripts/bench.sh"
for v in GORT_BENCH_QUICK GORT_BENCH_ROUNDS GORT_BENCH_RUNS GORT_BENCH_ONLY; do
    [ -z "${!v:-}" ] || command_line="$v=\"${!v}\" $command_line"
done

case "${GORT_BENCH_QUICK:-0}" in 0 | "" | no | false) quick=0 ;; *) quick=1 ;; esac
if [ "$quick" = 1 ]; then
    rounds="${GORT_BENCH_ROUNDS:-2}"
    runs="${GORT_BENCH_RUNS:-3}"
else
    rounds="${GORT_BENCH_ROUNDS:-5}"
    runs="${GORT_BENCH_RUNS:-5}"
fi
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. tools -----------------------------------------------------------------------
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

# A python3 that has matplotlib: the one on PATH, else Debian's.
find_python() {
    local p
    for p in python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import matplotlib' >/dev/null 2>&1; then
            command -v "$p"
            return 0
        fi
    done
    return 1
}

missing=()
need() { # need <command or absolute file> <package>
    if [[ "$1" == /* ]]; then [ -e "$1" ] || missing+=("$2")
    else command -v "$1" >/dev/null 2>&1 || missing+=("$2"); fi
}
need cmake cmake
need make make
need cc gcc
need c++ g++
need go golang-go
need taskset util-linux
need /usr/include/boost/fiber/all.hpp libboost-fiber-dev
need /usr/include/boost/context/fiber.hpp libboost-context-dev
find_python >/dev/null || missing+=(python3-matplotlib)
# shellcheck disable=SC2046
apt_install $(printf '%s\n' "${missing[@]+"${missing[@]}"}" | sort -u)
python="$(find_python)" || die "no python3 with matplotlib"

cargo_target_dir="${CARGO_TARGET_DIR:-$repo/target}"

# A build dir configured from another source tree (a moved clone) is discarded.
fresh_build_dir() { # <build dir> <source dir>
    local cache="$1/CMakeCache.txt" home
    if [ -f "$cache" ]; then
        home="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")"
        [ "$home" = "$2" ] || rm -rf "$1"
    fi
}

# --- 2. build -----------------------------------------------------------------------
stage="$build/stage"
say "gort: configure, build and install into $stage"
fresh_build_dir "$build/gort" "$repo"
cmake -S "$repo" -B "$build/gort" -DCMAKE_INSTALL_PREFIX="$stage" \
    -DGORT_CARGO_TARGET_DIR="$cargo_target_dir" -DGORT_BUILD_EXAMPLES=OFF >"$logs/gort-configure.log"
cmake --build "$build/gort" 2>&1 | tee "$logs/gort-build.log" | tail -n 3
rm -rf "$stage"
cmake --install "$build/gort" >"$logs/gort-install.log"

say "benches: build against the installed gort (and the Boost.Fiber peer)"
fresh_build_dir "$build/benches" "$repo/benches"
cmake -S "$repo/benches" -B "$build/benches" -DCMAKE_PREFIX_PATH="$stage" \
    -DGORT_SOURCE_DIR="$repo" | tee "$logs/benches-configure.log" | grep -E '^-- gort' || true
cmake --build "$build/benches" >"$logs/benches-build.log" 2>&1 ||
    { tail -n 30 "$logs/benches-build.log"; die "benches build failed"; }
have_boost=0
[ -x "$build/benches/boost_bench" ] && have_boost=1

say "Go peer: go build"
go_bin="$build/go-bench"
(cd "$repo/benches/peers/go" && GOFLAGS=-buildvcs=false GOPROXY=off go build -o "$go_bin" .) ||
    die "go build failed"

notes=()
# Not fatal: the crates come from crates.io on the first build.
say "tokio peer: cargo build"
tokio_bin=""
if CARGO_TARGET_DIR="$build/tokio-target" cargo build --release --locked --quiet \
    --manifest-path "$repo/benches/peers/tokio/Cargo.toml" >"$logs/tokio-build.log" 2>&1; then
    tokio_bin="$build/tokio-target/release/tokio-echo"
else
    tail -n 5 "$logs/tokio-build.log"
    notes+=("tokio peer: not built (cargo build failed, see build/bench/logs/tokio-build.log): no tokio figures.")
fi

# --- machine description (for the report) ---------------------------------------------
meta="$build/meta.txt"
boost_version="$(sed -n 's/^#define BOOST_LIB_VERSION "\(.*\)"/\1/p' /usr/include/boost/version.hpp 2>/dev/null | tr _ .)"
git_rev="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$repo" status --porcelain -- src asm include Cargo.toml 2>/dev/null)" ]; then
    git_rev="$git_rev (runtime sources modified)"
fi
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command: \`$command_line\`"
    echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
    echo "cores: $(nproc) online ($(lscpu | sed -n 's/^Hypervisor vendor:[[:space:]]*/virtual machine, /p' | head -n 1))"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -sr)"
    echo "C compiler: $(cc --version | head -n 1)"
    echo "C++ compiler: $(c++ --version | head -n 1)"
    echo "Rust: $(rustc --version)"
    echo "Go: $(go version)"
    echo "Boost: ${boost_version:-not found}"
    echo "tokio: $(if [ -n "$tokio_bin" ]; then sed -n '/^name = "tokio"$/{n;s/^version = "\(.*\)"/\1/p;}' "$repo/benches/peers/tokio/Cargo.lock"; else echo "not built"; fi) (current_thread runtime, cargo --release)"
    echo "gort: $(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1), commit $git_rev; cargo --release, linked $(sed -n 's/^GORT_BENCH_LINK:STRING=//p' "$build/benches/CMakeCache.txt")"
    echo "rounds: $rounds (runs inside each program: $runs; skynet: three fresh processes per round, parked: one)"
} >"$meta"

# --- 3. aarch64: the raw switch under qemu, correctness only ---------------------------
if [ "${GORT_BENCH_AARCH64:-1}" != 0 ] && command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 &&
    command -v qemu-aarch64 >/dev/null 2>&1 && [ -e /usr/aarch64-linux-gnu/include/stdio.h ]; then
    say "aarch64: bench_switch under qemu-aarch64 (correctness only)"
    fresh_build_dir "$build/aarch64" "$repo/benches"
    if cmake -S "$repo/benches" -B "$build/aarch64" -DGORT_BENCH_SWITCH_ONLY=ON -DGORT_SOURCE_DIR="$repo" \
        -DCMAKE_TOOLCHAIN_FILE="$repo/scripts/aarch64-linux-gnu.cmake" >"$logs/aarch64.log" 2>&1 &&
        cmake --build "$build/aarch64" >>"$logs/aarch64.log" 2>&1 &&
        GORT_BENCH_EMULATED=1 qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/aarch64/bench_switch" \
            -n 200000 -runs 3 >"$logs/aarch64-switch.txt" 2>&1; then
        cat "$logs/aarch64-switch.txt"
        notes+=("aarch64: the raw switch (asm/aarch64.S, same ping-pong) ran correctly under qemu-aarch64 (emulated: not timed).")
    else
        cat "$logs/aarch64-switch.txt" 2>/dev/null || tail -n 20 "$logs/aarch64.log"
        notes+=("aarch64: the raw switch under qemu-aarch64 FAILED (see build/bench/logs/aarch64*).")
        aarch64_failed=1
    fi
else
    notes+=("aarch64: skipped (no aarch64-linux-gnu-gcc / qemu-aarch64; scripts/test.sh installs them).")
fi

# --- 4. run ---------------------------------------------------------------------------
# shape | Ps | n | n (quick) | runs per program ("" = $runs)
jobs=(
    "switch|1|10000000|1000000|"
    "yield|1 2|1000000|100000|"
    "chan|1 2|200000|20000|"
    "ring|1 2|500000|50000|"
    "spawn|1 2|100000|10000|"
    "skynet|1 2|1000000|100000|3"
    "mutex|1 2|1000000|100000|"
    "parked|2|1000000|100000|1"
    "timers|1 2|100000|10000|"
    "syscall|1|4000000|400000|"
    "hog|1|1000|300|"
)
only=" ${GORT_BENCH_ONLY:-} "
selected() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }

# A gort program the installed gort could not build (an older gort.h: see
# benches/CMakeLists.txt) leaves its rows to the peers, with a note.
for b in syscall hog echo; do
    [ -x "$build/benches/bench_$b" ] || ! selected "$b" ||
        notes+=("gort: no bench_$b (the installed gort.h lacks its calls; see build/bench/logs/benches-configure.log): its rows have peers only.")
done

raw="$build/raw.txt"
: >"$raw"
rm -f "$logs"/run-*.txt
failed=0

cmd_for() { # <impl> <shape>: the program and its shape argument, or nothing
    case "$1" in
    gort) [ ! -x "$build/benches/bench_$2" ] || echo "$build/benches/bench_$2" ;;
    go) [ "$2" = switch ] || echo "$go_bin $2" ;; # Go has no user-level switch
    boost) # nothing to compare for the blocking-call shapes: Boost.Fiber has no such calls
        [ "$have_boost" = 0 ] || [ "$2" = syscall ] || [ "$2" = hog ] || echo "$build/benches/boost_bench $2" ;;
    esac
}

impls=(gort go boost)
for job in "${jobs[@]}"; do
    IFS='|' read -r shape procs_list n n_quick job_runs <<<"$job"
    if [ "$only" != "  " ] && [[ "$only" != *" $shape "* ]]; then continue; fi
    [ "$quick" = 0 ] || n="$n_quick"
    r_inside="${job_runs:-$runs}"
    # Each round measures every number of Ps back to back (1 2, then 2 1 in
    # the next round), so that a ratio between them, e.g. skynet's speedup,
    # compares runs made in the same phase of this shared host.
    say "$shape, ${procs_list// /, } P: $rounds rounds (n=$n, $r_inside runs per program)"
    for ((round = 1; round <= rounds; round++)); do
        order="$procs_list"
        [ $((round % 2)) = 1 ] || order="$(printf '%s\n' $procs_list | tac | paste -sd' ' -)"
        for procs in $order; do
            for ((k = 0; k < ${#impls[@]}; k++)); do
                impl="${impls[$(((k + round - 1) % ${#impls[@]}))]}"
                cmd="$(cmd_for "$impl" "$shape")"
                [ -n "$cmd" ] || continue
                prog="${cmd%% *}"
                arg=""
                [ "$prog" = "$cmd" ] || arg="${cmd#* }"
                out="$logs/run-$shape-$procs-$impl-$round.txt"
                rc=0
                # shellcheck disable=SC2086
                env GORT_MAXPROCS="$procs" GOMAXPROCS="$procs" timeout 900 \
                    "$prog" -runs "$r_inside" -n "$n" $arg >"$out" 2>&1 || rc=$?
                if [ "$rc" = 0 ] && grep -q '^BENCH ' "$out"; then
                    grep '^BENCH ' "$out" | sed "s/\$/ round=$round/" | tee -a "$raw" |
                        sed -E 's/^BENCH //; s/ (runs|min|max)=[^ ]*//g'
                    # stderr notes of the peers (e.g. Boost's parked limit)
                    grep -v '^BENCH ' "$out" | head -n 3 | sed 's/^/    /' || true
                else
                    failed=1
                    echo "FAILED impl=$impl shape=$shape procs=$procs round=$round rc=$rc: $(grep -v '^BENCH ' "$out" | tail -n 1)" |
                        tee -a "$raw"
                fi
            done
        done
    done
done

# --- 4b. I/O: echo servers and idle connections ------------------------------------------
# The servers run on one CPU, the load generator on another (the first two
# CPUs this script may use), so that the client's work never lands in a
# server's CPU time and the server's 1 P is one whole CPU.
read -r cpu_server cpu_client < <("$python" -c \
    'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[1] if len(c) > 1 else c[0])')
if [ "$cpu_server" = "$cpu_client" ] && { selected echo || selected idle; }; then
    notes+=("echo/idle: one CPU only: the servers and the load generator share it; the figures mix their work.")
fi
io_impls=(gort go tokio c-epoll)

server_cmd() { # <impl>: the echo server's command line, or nothing
    case "$1" in
    gort) [ ! -x "$build/benches/bench_echo" ] || echo "$build/benches/bench_echo" ;;
    go) echo "$go_bin echo" ;;
    tokio) [ -z "$tokio_bin" ] || echo "$tokio_bin" ;;
    c-epoll) echo "$build/benches/epoll_echo_server" ;;
    esac
}

# start_server <impl> <log>: a fresh server at 1 P on $cpu_server; sets
# srv_port and srv_pid from its "LISTEN port=N pid=P" line. env and taskset
# exec, so the pid is also this shell's child (for wait).
start_server() {
    local cmd i line
    cmd="$(server_cmd "$1")"
    srv_port="" srv_pid=""
    # shellcheck disable=SC2086
    env GORT_MAXPROCS=1 GOMAXPROCS=1 taskset -c "$cpu_server" $cmd >"$2" 2>&1 &
    local job=$!
    for ((i = 0; i < 200; i++)); do
        line="$(grep -m 1 '^LISTEN ' "$2" 2>/dev/null || true)"
        if [ -n "$line" ]; then
            srv_port="$(sed -n 's/.* port=\([0-9]*\).*/\1/p' <<<"$line")"
            srv_pid="$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' <<<"$line")"
            [ -n "$srv_port" ] && [ "$srv_pid" = "$job" ] && return 0
            break
        fi
        kill -0 "$job" 2>/dev/null || break
        sleep 0.05
    done
    kill "$job" 2>/dev/null || true
    wait "$job" 2>/dev/null || true
    return 1
}

stop_servers() { # <pid>...
    local pid
    for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# echo: every round starts a fresh server of each kind and one loadgen per
# message size that gives them the load in turn, several short intervals
# each (benches/peers/c/loadgen.c), so that all four are measured within
# seconds of each other.
if selected echo; then
    if [ "$quick" = 1 ]; then e_secs=1 e_runs=3 e_warm=0.3; else e_secs=1 e_runs=8 e_warm=0.5; fi
    sizes=(64 512)
    say "echo: ${sizes[*]} B, 100 connections; servers at 1 P on CPU $cpu_server, loadgen on CPU $cpu_client: $rounds rounds, $e_runs intervals of $e_secs s per server and size"
    for ((round = 1; round <= rounds; round++)); do
        targets=() pids=()
        for ((k = 0; k < ${#io_impls[@]}; k++)); do
            impl="${io_impls[$(((k + round - 1) % ${#io_impls[@]}))]}"
            [ -n "$(server_cmd "$impl")" ] || continue
            slog="$logs/run-echo-server-$impl-$round.txt"
            if start_server "$impl" "$slog"; then
                targets+=(-target "$impl:$srv_port:$srv_pid")
                pids+=("$srv_pid")
            else
                failed=1
                echo "FAILED impl=$impl shape=echo procs=1 round=$round rc=no-listen: $(tail -n 1 "$slog")" | tee -a "$raw"
            fi
        done
        order="${sizes[*]}"
        [ $((round % 2)) = 1 ] || order="$(printf '%s\n' "${sizes[@]}" | tac | paste -sd' ' -)"
        for size in $order; do
            [ "${#targets[@]}" -gt 0 ] || break
            out="$logs/run-echo-$size-$round.txt"
            rc=0
            taskset -c "$cpu_client" timeout 900 "$build/benches/loadgen" echo "${targets[@]}" -c 100 \
                -size "$size" -warmup "$e_warm" -secs "$e_secs" -runs "$e_runs" -procs 1 >"$out" 2>&1 || rc=$?
            grep '^BENCH ' "$out" | sed "s/\$/ round=$round/" | tee -a "$raw" |
                sed -E 's/^BENCH //; s/ (runs|min|max|conns|secs|roundtrips|targets)=[^ ]*//g' || true
            if [ "$rc" != 0 ]; then
                failed=1
                if grep -q '^FAIL loadgen: ' "$out"; then
                    grep '^FAIL loadgen: ' "$out" | while IFS= read -r l; do
                        l="${l#FAIL loadgen: }"
                        echo "FAILED impl=${l%%:*} shape=echo_$size procs=1 round=$round rc=$rc: ${l#*: }"
                    done | tee -a "$raw"
                else
                    echo "FAILED impl=loadgen shape=echo_$size procs=1 round=$round rc=$rc: $(tail -n 1 "$out")" | tee -a "$raw"
                fi
            fi
        done
        stop_servers "${pids[@]+"${pids[@]}"}"
    done
fi

# idle: per round and server, a fresh server and N connections that each
# echo one byte and then stay open; loadgen reads the server's VmRSS before
# and after.
if selected idle; then
    n_idle=10000
    [ "$quick" = 0 ] || n_idle=1000
    say "idle: $n_idle connections per server at 1 P, RSS growth: $rounds rounds"
    for ((round = 1; round <= rounds; round++)); do
        for ((k = 0; k < ${#io_impls[@]}; k++)); do
            impl="${io_impls[$(((k + round - 1) % ${#io_impls[@]}))]}"
            [ -n "$(server_cmd "$impl")" ] || continue
            slog="$logs/run-idle-server-$impl-$round.txt"
            if ! start_server "$impl" "$slog"; then
                failed=1
                echo "FAILED impl=$impl shape=idle procs=1 round=$round rc=no-listen: $(tail -n 1 "$slog")" | tee -a "$raw"
                continue
            fi
            out="$logs/run-idle-$impl-$round.txt"
            rc=0
            taskset -c "$cpu_client" timeout 900 "$build/benches/loadgen" idle -port "$srv_port" -pid "$srv_pid" \
                -impl "$impl" -n "$n_idle" -procs 1 </dev/null >"$out" 2>&1 || rc=$?
            stop_servers "$srv_pid"
            if [ "$rc" = 0 ] && grep -q '^BENCH ' "$out"; then
                grep '^BENCH ' "$out" | sed "s/\$/ round=$round/" | tee -a "$raw" |
                    sed -E 's/^BENCH //; s/ (runs|min|max)=[^ ]*//g'
            else
                failed=1
                echo "FAILED impl=$impl shape=idle procs=1 round=$round rc=$rc: $(grep -v '^loadgen: ' "$out" | tail -n 1)" |
                    tee -a "$raw"
            fi
        done
    done
fi

# --- 5. report --------------------------------------------------------------------------
elapsed=$((SECONDS - started))
{
    if [ "$quick" = 1 ]; then echo "mode: QUICK smoke run (GORT_BENCH_QUICK=1): sizes / 10, $rounds rounds"
    else echo "mode: full"; fi
    echo "duration: $((elapsed / 60)) min $((elapsed % 60)) s for the whole of scripts/bench.sh (builds included)"
    for nt in "${notes[@]+"${notes[@]}"}"; do echo "note: $nt"; done
    stops="$(sed -n 's/.*stopped after \([0-9]*\) fibers (\(.*\))/\1 (\2)/p' \
        "$logs"/run-parked-*-boost-*.txt 2>/dev/null | paste -sd, - | sed 's/,/, /g' || true)"
    if selected echo || selected idle; then
        io="servers at 1 P (GORT_MAXPROCS=1, GOMAXPROCS=1, tokio current_thread) pinned to CPU $cpu_server, benches/peers/c/loadgen pinned to CPU $cpu_client"
        ! selected echo || io="$io; echo: 100 connections, $e_runs intervals of $e_secs s per server, size and round, the servers taking turns"
        ! selected idle || io="$io; idle: $n_idle connections"
        echo "io: $io"
    fi
    [ -z "$stops" ] || echo "note: Boost.Fiber, parked, protected_fixedsize_stack: creating fibers failed after $stops in the rounds; each guarded stack costs two mappings and vm.max_map_count is $(cat /proc/sys/vm/max_map_count 2>/dev/null || echo unknown)."
} >>"$meta"
if [ "${GORT_BENCH_NO_DOCS:-0}" != 0 ]; then
    out_md="$build/benchmarks.md" out_png="$build/benchmarks.png"
else
    out_md="$repo/docs/benchmarks.md" out_png="$repo/docs/benchmarks.png"
fi
say "report: $out_md, $out_png (raw lines: $raw)"
"$python" "$repo/benches/report.py" "$raw" "$meta" "$out_md" "$out_png"
printf '\nbench.sh: %d min %d s\n' $((elapsed / 60)) $((elapsed % 60))
if [ "$failed" != 0 ] || [ "${aarch64_failed:-0}" != 0 ]; then
    echo "bench.sh: some runs FAILED (see above and $logs)"
    exit 1
fi
