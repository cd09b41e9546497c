//! gort: Go's GMP scheduler as a library with a C ABI.
//!
//! # The three letters
//!
//! * **G**, a goroutine ([`g`]): a start function, its argument and a stack.
//!   The `G` descriptor lives at the top of its own stack unit ([`stack`]).
//! * **M**, a machine ([`m`]): an OS thread. Each M has a *g0*, the thread's
//!   own stack, where the scheduler runs when no goroutine can be picked
//!   without help (stealing, parking the thread).
//! * **P**, a processor ([`p`]): the right to run Go code, one per
//!   `GORT_MAXPROCS`. A P owns a local run queue with a `runnext` slot and a
//!   free list of dead Gs. An M must hold a P to run goroutines.
//!
//! # Reading order
//!
//! 1. [`boot`]: `gort_init` is Go's `rt0_go` (`args`, `osinit`,
//!    `schedinit`), `gort_go` of the first goroutine is `newproc(mainPC)`,
//!    `gort_mstart` is `mstart`. Also the c-archive mode (`gort_init_lib`).
//!    [`cgroup`]: the CPU limit that caps the default number of Ps.
//! 2. [`proc`]: `schedule`, `findrunnable`, the direct switch to the next
//!    G, `gopark`/`goready`. [`switch`]: post-switch actions, `execute`.
//!    [`spawn`]: `newproc`, spawn throttling, `goexit0`.
//! 3. [`idle`]: idle Ps and Ms, `wakep`/`startm`/`stopm`; the essay at its
//!    top explains spinning Ms and why no wakeup is lost. [`lockosthread`]:
//!    goroutines locked to their thread (`stoplockedm`/`startlockedm`).
//! 4. [`p`] (run queues), [`gfree`] (G and stack reuse), [`sched`] (the
//!    global state), [`m`] (threads, TLS, the M lifecycle).
//! 5. [`arch`] and `asm/<arch>.S`: the context switch.
//! 6. [`stack`] and [`signal`]: stack slabs, guard pages, overflow reports.
//! 7. [`timer`] (per-P timer heaps), [`park`] (waiters, timed parks), then
//!    the primitives on top: `chan`, `select`, `sema`, `sync`, `time`.
//! 8. [`syscall`]: blocking calls, preemption by hand-off, sysmon's
//!    `retake` and the handshake that lets it take a P without a locked
//!    instruction on the goroutine's side.
//! 9. [`netpoll`] (the poller, its epoll backend) and [`fd`] (the I/O calls).
//! 10. [`sysmon`]: hand-offs, time slices, overdue timers, stale polls,
//!     and [`deadlock`] (Go's checkdead), which it runs when all is idle.
//! 11. [`traceback`] (goroutine dumps, SIGQUIT, GORT_TRACEBACK) and
//!     [`symtab`] (pcs to names without DWARF); [`debuginfo`] (the table
//!     the gdb extension reads) and [`sanitize`] (ASan, TSan, Valgrind).
//!
//! `docs/design.md` has the long form; `docs/hacking.md` the rules for
//! working on the runtime (what may run on a goroutine stack, what may
//! allocate).

#![deny(unsafe_op_in_unsafe_fn)]
// The C API's `extern "C"` functions take raw pointers from C callers, who
// cannot see Rust's `unsafe`; each documents its pointer contract in the
// header and validates what it can (NULL -> GORT_EINVAL).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

#[macro_use]
mod ffi;

mod arch;
pub mod boot;
mod cgroup;
pub mod chan;
mod deadlock;
mod debuginfo;
mod env;
pub mod fd;
mod g;
mod gfree;
mod idle;
mod lock;
pub mod lockosthread;
mod m;
mod netpoll;
mod os;
mod p;
mod panic;
mod park;
pub mod proc;
mod sanitize;
mod sched;
pub mod select;
mod sema;
mod signal;
pub mod spawn;
mod stack;
pub mod stats;
mod switch;
mod symtab;
pub mod sync;
pub mod syscall;
mod sysmon;
pub mod time;
mod timer;
mod trace;
pub mod traceback;

pub use ffi::*;
