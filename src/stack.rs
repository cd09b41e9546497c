//! Goroutine stacks: units carved from large slabs (Go's stackalloc, with
//! C's constraint that a stack can never move or grow).
//!
//! # Layout of a unit (addresses grow to the right)
//!
//! ```text
//! | guard page | usable stack (grows <-)                | G descriptor |
//! ^ unit base  ^ stack_lo                               ^ stack_hi = G
//! ```
//!
//! A slab is one `mmap(MAP_NORESERVE)` of many units, marked
//! `MADV_NOHUGEPAGE` so that touching one page of a stack commits 4 KiB,
//! not 2 MiB. Nothing is committed until touched; a parked goroutine with a
//! shallow stack costs one page, shared with its descriptor. Slabs double in
//! size and are placed next to each other so the kernel merges them into
//! few mappings.
//!
//! # Guards
//!
//! `mprotect`ing a guard page in the middle of a slab splits its mapping in
//! three, and Linux allows 65530 mappings per process by default: that is
//! where fiber libraries stop, at ~32k stacks. gort instead uses
//! `madvise(MADV_GUARD_INSTALL)` (Linux 6.13), which marks the page in the
//! page tables without creating a mapping. Where that is unavailable (older
//! kernels, qemu-user) it uses `mprotect` guards while under a budget of a
//! quarter of the remaining mapping count, then a canary at the low end of
//! the stack that is checked every time the goroutine switches out.
//!
//! Units are recycled with their G through the free lists in `gfree.rs`;
//! their pages stay committed so a new goroutine does not pay page faults.

use crate::env::GuardPref;
use crate::ffi::Error;
use crate::g::{Guard, G, GIDLE};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Linux's MADV_GUARD_INSTALL (6.13); not yet in every libc crate release.
const MADV_GUARD_INSTALL: i32 = 102;

const CANARY: u64 = 0x676f_7274_5354_4b21; // "gortSTK!"
const CANARY_WORDS: usize = 8;
const MAX_SLABS: usize = 4096;

/// Bytes reserved at the top of each unit for its G.
pub(crate) const G_RESERVE: usize = (std::mem::size_of::<G>() + 63) & !63;

struct Slab {
    base: AtomicUsize,
    len: AtomicUsize,
    /// Unit size of this slab: the default class's, or a size class's
    /// (`gort_go_ex`). A slab holds units of one size only.
    unit: AtomicUsize,
}

struct Carver {
    next: usize,
    end: usize,
    /// Units in the next slab.
    grow: usize,
}

/// Stack size classes besides the default (`GORT_STACKSIZE`), for
/// `gort_go_ex`: usable sizes 16 KiB << k, k < NCLASS (16 KiB to 1 GiB).
pub(crate) const NCLASS: usize = 17;

/// The class for a requested usable size: None for the default class
/// (a size of 0, or one that rounds to the default's power of two), or
/// Some(k) with 16 KiB << k >= size. Err for sizes outside 16 KiB..1 GiB.
pub(crate) fn size_class(size: usize, default: usize) -> Result<Option<usize>, Error> {
    if size == 0 {
        return Ok(None);
    }
    if !(crate::env::MIN_STACK..=crate::env::MAX_STACK).contains(&size) {
        return Err(Error::Inval);
    }
    let p = size.next_power_of_two();
    if p == default.next_power_of_two() && size <= default {
        return Ok(None);
    }
    Ok(Some((p / crate::env::MIN_STACK).trailing_zeros() as usize))
}

/// A size class's free units: an intrusive stack through `schedlink`
/// (no allocation), with its length.
struct ClassFree {
    head: *mut G,
    n: usize,
}

// SAFETY: the Gs on the list are dead and owned by the list, under its mutex.
unsafe impl Send for ClassFree {}

pub(crate) struct StackAlloc {
    pub page: usize,
    pub unit: usize,
    /// Usable bytes per stack (>= the configured size).
    pub usable: usize,
    /// The configured size (`GORT_STACKSIZE`), for `size_class`.
    pub size: usize,
    /// The best guard available, detected at init.
    pub method: Guard,
    mprotect_budget: AtomicI64,
    carver: Mutex<Carver>,
    /// Carvers and free lists of the size classes (`gort_go_ex`). The
    /// default class keeps the per-P free lists of gfree.rs; these are
    /// global and locked, off the hot path.
    class_carvers: [Mutex<Carver>; NCLASS],
    class_free: [Mutex<ClassFree>; NCLASS],
    /// Lowest slab base so far: the next slab (of any class) is placed
    /// right below it, so the kernel merges slabs into few mappings.
    low: AtomicUsize,
    nslabs: AtomicUsize,
    slabs: [Slab; MAX_SLABS],
    /// Stacks by guard method, for stats.
    pub counts: [AtomicI64; 3],
}

static STACKS: OnceLock<StackAlloc> = OnceLock::new();

/// Serialises slab registration (`grow` of different carvers).
static SLAB_REG: Mutex<()> = Mutex::new(());

pub(crate) fn stacks() -> &'static StackAlloc {
    STACKS.get().unwrap_or_else(|| crate::panic::throw("stackalloc before stackinit"))
}

/// For the signal handler: never blocks, never allocates.
pub(crate) fn try_stacks() -> Option<&'static StackAlloc> {
    STACKS.get()
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Go's stackinit: sizes the units and picks the guard method.
///
/// Never inlined: the allocator (its slab table is ~100 KiB) is built in
/// this frame before it moves into STACKS, and inlined into `rt0_go` that
/// frame would be paid by every `gort_init` call, including one made by
/// mistake on a goroutine's 64 KiB stack (test_misuse), where the stack
/// probe hits the guard page before the call can return GORT_EALREADY.
#[inline(never)]
pub(crate) fn stackinit(stack_size: usize, pref: GuardPref) -> &'static StackAlloc {
    let page = crate::os::phys_page_size();
    let unit = page + round_up(stack_size + G_RESERVE, page);
    let method = match pref {
        GuardPref::Canary => Guard::Canary,
        GuardPref::Mprotect => Guard::Mprotect,
        GuardPref::Auto | GuardPref::Madvise => {
            if guard_install_works(page) {
                Guard::Madvise
            } else {
                Guard::Mprotect
            }
        }
    };
    let budget = (crate::os::max_map_count().saturating_sub(crate::os::map_count()) / 4) as i64;
    let initial = (256usize << 20) / unit;
    let sa = StackAlloc {
        page,
        unit,
        usable: unit - page - G_RESERVE,
        size: stack_size,
        method,
        mprotect_budget: AtomicI64::new(budget),
        carver: Mutex::new(Carver { next: 0, end: 0, grow: initial.clamp(1, 64) }),
        class_carvers: std::array::from_fn(|_| Mutex::new(Carver { next: 0, end: 0, grow: 4 })),
        class_free: std::array::from_fn(|_| Mutex::new(ClassFree { head: std::ptr::null_mut(), n: 0 })),
        low: AtomicUsize::new(0),
        nslabs: AtomicUsize::new(0),
        slabs: std::array::from_fn(|_| Slab {
            base: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            unit: AtomicUsize::new(0),
        }),
        counts: std::array::from_fn(|_| AtomicI64::new(0)),
    };
    let _ = STACKS.set(sa);
    let sa = stacks();
    // For debuggers (src/debuginfo.rs, scripts/gdb/gort-gdb.py): where the
    // slabs are, so every G can be found from outside the process. The
    // offsets are taken here because the fields are private to this module.
    crate::debuginfo::publish_stacks(
        sa as *const StackAlloc as usize,
        crate::debuginfo::StacksLayout {
            unit: std::mem::offset_of!(StackAlloc, unit),
            nslabs: std::mem::offset_of!(StackAlloc, nslabs),
            slabs: std::mem::offset_of!(StackAlloc, slabs),
            slab_size: std::mem::size_of::<Slab>(),
            slab_base: std::mem::offset_of!(Slab, base),
            slab_len: std::mem::offset_of!(Slab, len),
            slab_unit: std::mem::offset_of!(Slab, unit),
        },
    );
    sa
}

/// A fresh private anonymous MAP_NORESERVE mapping of `len` bytes (near
/// `hint` if it is free; `extra` mmap flags), or None. Creating it replaces
/// nothing; the caller owns it.
fn map_anon(hint: usize, len: usize, prot: libc::c_int, extra: libc::c_int) -> Option<*mut libc::c_void> {
    // SAFETY: no MAP_FIXED, so the kernel picks unused address space and nothing existing is replaced.
    let p = unsafe {
        libc::mmap(
            hint as *mut libc::c_void,
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | extra,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p)
}

/// Threads gort starts (Ms, sysmon) whose stacks come from one mapping.
const THREAD_STACK_SLOTS: usize = 64;
/// The largest thread stack carved there (an M's).
const THREAD_STACK_MAX: usize = 256 << 10;

/// Base of the thread stack mapping, None if it could not be made.
static THREAD_STACK_BASE: OnceLock<Option<usize>> = OnceLock::new();
static THREAD_STACK_NEXT: AtomicUsize = AtomicUsize::new(0);

/// A stack for a new OS thread of `size` bytes (at most 256 KiB), with a
/// MADV_GUARD_INSTALL guard page below it: (lowest usable address, size).
/// The stacks of all such threads are slots of one mapping, so a thread
/// adds no mapping, where glibc's own thread stacks add two (stack and
/// guard). None when guard pages would need a mapping split (no
/// MADV_GUARD_INSTALL: glibc then allocates as usual), past 64 threads,
/// or before stackinit. Ms never exit, so slots are never freed.
pub(crate) fn thread_stack(size: usize) -> Option<(*mut libc::c_void, usize)> {
    let sa = try_stacks()?;
    if sa.method != Guard::Madvise || size > THREAD_STACK_MAX {
        return None;
    }
    let slot = sa.page + THREAD_STACK_MAX;
    let base = (*THREAD_STACK_BASE.get_or_init(|| {
        // MAP_STACK: the kernel then merges the mapping with glibc's
        // neighbouring ones (one mapping fewer, measured).
        map_anon(0, THREAD_STACK_SLOTS * slot, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_STACK).map(|p| p as usize)
    }))?;
    let i = THREAD_STACK_NEXT.fetch_add(1, Ordering::Relaxed);
    if i >= THREAD_STACK_SLOTS {
        return None;
    }
    let lo = base + i * slot;
    // SAFETY: slot i of our mapping is handed out once (the counter), and its lowest page becomes the guard.
    if unsafe { libc::madvise(lo as *mut libc::c_void, sa.page, MADV_GUARD_INSTALL) } != 0 {
        return None;
    }
    let size = round_up(size, sa.page);
    Some(((lo + slot - size) as *mut libc::c_void, size))
}

/// Probes MADV_GUARD_INSTALL for real: the call can succeed without effect
/// (qemu-user accepts and ignores unknown advice), so after installing a
/// guard we ask the kernel to read the page through write(2) into a pipe,
/// which must fail with EFAULT.
fn guard_install_works(page: usize) -> bool {
    let Some(p) = map_anon(0, 2 * page, libc::PROT_READ | libc::PROT_WRITE, 0) else { return false };
    // SAFETY: p is our fresh mapping, unmapped before returning; the pipe fds are closed before returning.
    unsafe {
        let mut ok = libc::madvise(p, page, MADV_GUARD_INSTALL) == 0;
        if ok {
            let mut fds = [0i32; 2];
            if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) == 0 {
                let r = libc::write(fds[1], p, 1);
                ok = r < 0 && crate::os::errno() == libc::EFAULT;
                libc::close(fds[0]);
                libc::close(fds[1]);
            } else {
                ok = false;
            }
        }
        libc::munmap(p, 2 * page);
        ok
    }
}

impl StackAlloc {
    /// Go's malg: a new unit with its G constructed at the top, status
    /// GIDLE. Fails with ENOMEM when no address space or memory is left.
    pub(crate) fn malg(&self) -> Result<*mut G, Error> {
        let base = self.carve(&self.carver, self.unit)?;
        self.construct(base, self.unit, 0)
    }

    /// Unit size of size class k.
    fn class_unit(&self, k: usize) -> usize {
        self.page + round_up((crate::env::MIN_STACK << k) + G_RESERVE, self.page)
    }

    /// A dead G of size class k from its free list, or a new unit.
    pub(crate) fn class_get(&self, k: usize) -> Result<*mut G, Error> {
        {
            let mut f = self.class_free[k].lock().unwrap_or_else(|e| e.into_inner());
            let gp = f.head;
            if !gp.is_null() {
                // SAFETY: Gs on the list are dead, owned by the list.
                f.head = unsafe { &*gp }.schedlink.get();
                f.n -= 1;
                return Ok(gp);
            }
        }
        let unit = self.class_unit(k);
        let base = self.carve(&self.class_carvers[k], unit)?;
        self.construct(base, unit, k as u8 + 1)
    }

    /// gfput for a G of a size class (`G::sclass` != 0).
    pub(crate) fn class_put(&self, gp: *mut G) {
        // SAFETY: gp is dead and the caller hands it to the list.
        let g = unsafe { &*gp };
        let k = usize::from(g.sclass) - 1;
        let mut f = self.class_free[k].lock().unwrap_or_else(|e| e.into_inner());
        g.schedlink.set(f.head);
        f.head = gp;
        f.n += 1;
    }

    /// Constructs a G (GIDLE) at the top of the fresh unit at `base`.
    fn construct(&self, base: usize, unit: usize, sclass: u8) -> Result<*mut G, Error> {
        let guard = self.install_guard(base);
        self.counts[guard as usize].fetch_add(1, Ordering::Relaxed);
        let g_addr = base + unit - G_RESERVE;
        let stack_lo = base + self.page;
        let gp = g_addr as *mut G;
        // SAFETY: [base, base+unit) is a fresh, exclusively owned, writable part of a slab; g_addr is 64-byte aligned (unit and page are multiples of 64) and G_RESERVE bytes fit below the unit's end.
        unsafe {
            gp.write(G {
                sched_sp: Cell::new(0),
                status: AtomicU32::new(GIDLE),
                goid: Cell::new(0),
                m: Cell::new(std::ptr::null_mut()),
                schedlink: Cell::new(std::ptr::null_mut()),
                batch_len: Cell::new(0),
                stack_lo,
                stack_hi: g_addr,
                guard,
                fnc: Cell::new(None),
                arg: Cell::new(std::ptr::null_mut()),
                is_main: Cell::new(false),
                started: Cell::new(false),
                spawned: Cell::new(0),
                param: Cell::new(std::ptr::null_mut()),
                // Odd: not running C code (see syscall.rs).
                rtseq: AtomicU64::new(1),
                insyscall: AtomicBool::new(false),
                errno: Cell::new(0),
                waitreason: AtomicU8::new(0),
                waitsince: AtomicI64::new(0),
                parent_goid: AtomicI64::new(0),
                gopc: AtomicUsize::new(0),
                startpc: AtomicUsize::new(0),
                syscallfp: AtomicUsize::new(0),
                syscallpc: AtomicUsize::new(0),
                name: std::array::from_fn(|_| AtomicU8::new(0)),
                san: crate::sanitize::GSan::new(),
                lockedm: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
                lockcount: Cell::new(0),
                sclass,
            });
        }
        if guard == Guard::Canary {
            write_canary(stack_lo);
        }
        Ok(gp)
    }

    fn carve(&self, carver: &Mutex<Carver>, unit: usize) -> Result<usize, Error> {
        let mut c = carver.lock().unwrap_or_else(|e| e.into_inner());
        if c.next + unit > c.end {
            self.grow(&mut c, unit)?;
        }
        let base = c.next;
        c.next += unit;
        Ok(base)
    }

    /// Maps the next slab of `unit`-sized units, halving the request until
    /// it fits.
    fn grow(&self, c: &mut Carver, unit: usize) -> Result<(), Error> {
        let mut units = c.grow;
        let max_units = ((8usize << 30) / unit).max(1);
        loop {
            let len = units * unit;
            let hint = self.low.load(Ordering::Relaxed).saturating_sub(len);
            if let Some(p) = map_anon(hint, len, libc::PROT_READ | libc::PROT_WRITE, 0) {
                if !headroom_left() {
                    // Taking this slab would leave the heap no room to grow,
                    // and the scheduler must keep working after ENOMEM.
                    // SAFETY: p..p+len is the mapping just created, unused.
                    unsafe { libc::munmap(p, len) };
                    return Err(Error::NoMem);
                }
                // SAFETY: p..p+len is the mapping just created. Advice only.
                unsafe { libc::madvise(p, len, libc::MADV_NOHUGEPAGE) };
                let base = p as usize;
                {
                    // Carvers of several classes may grow at once.
                    let _reg = SLAB_REG.lock().unwrap_or_else(|e| e.into_inner());
                    let i = self.nslabs.load(Ordering::Relaxed);
                    if i < MAX_SLABS {
                        self.slabs[i].base.store(base, Ordering::Relaxed);
                        self.slabs[i].len.store(len, Ordering::Relaxed);
                        self.slabs[i].unit.store(unit, Ordering::Relaxed);
                        // Release: the signal handler reads base/len/unit after nslabs.
                        self.nslabs.store(i + 1, Ordering::Release);
                    }
                    let low = self.low.load(Ordering::Relaxed);
                    self.low.store(if low == 0 { base } else { low.min(base) }, Ordering::Relaxed);
                }
                c.next = base;
                c.end = base + len;
                c.grow = (units * 2).min(max_units);
                return Ok(());
            }
            if units == 1 {
                return Err(Error::NoMem);
            }
            units /= 2;
        }
    }

    fn install_guard(&self, base: usize) -> Guard {
        if self.method == Guard::Madvise {
            // SAFETY: [base, base+page) is this unit's guard page, owned by us.
            if unsafe { libc::madvise(base as *mut libc::c_void, self.page, MADV_GUARD_INSTALL) } == 0 {
                return Guard::Madvise;
            }
        }
        if self.method != Guard::Canary && self.mprotect_budget.fetch_sub(1, Ordering::Relaxed) > 0 {
            // SAFETY: as above; the page is never handed out as stack.
            if unsafe { libc::mprotect(base as *mut libc::c_void, self.page, libc::PROT_NONE) } == 0 {
                return Guard::Mprotect;
            }
        }
        Guard::Canary
    }

    /// The G whose guard page contains `addr`, if any. Async-signal-safe.
    /// Calls `f` with the descriptor of every unit of every slab, carved or
    /// not (an uncarved unit reads as zeroes: status GIDLE), for dumps and
    /// the deadlock check. Never blocks or allocates: usable from a signal
    /// handler. Units are never unmapped, so every pointer stays readable.
    pub(crate) fn for_each_g(&self, mut f: impl FnMut(*mut G)) {
        let n = self.nslabs.load(Ordering::Acquire);
        for s in &self.slabs[..n] {
            let base = s.base.load(Ordering::Relaxed);
            let len = s.len.load(Ordering::Relaxed);
            let size = s.unit.load(Ordering::Relaxed);
            let mut unit = base;
            while unit + size <= base + len {
                f((unit + size - G_RESERVE) as *mut G);
                unit += size;
            }
        }
    }

    pub(crate) fn guard_owner(&self, addr: usize) -> Option<*mut G> {
        let n = self.nslabs.load(Ordering::Acquire);
        for s in &self.slabs[..n] {
            let base = s.base.load(Ordering::Relaxed);
            let len = s.len.load(Ordering::Relaxed);
            if addr >= base && addr < base + len {
                let size = s.unit.load(Ordering::Relaxed);
                let off = (addr - base) % size;
                if off < self.page {
                    let unit = addr - off;
                    return Some((unit + size - G_RESERVE) as *mut G);
                }
                return None;
            }
        }
        None
    }
}

/// Address space kept free for the heap when stacks exhaust it (an
/// RLIMIT_AS, a 32-bit-like limit): queues, timers and channels allocate.
const HEADROOM: usize = 64 << 20;

/// True if HEADROOM bytes of address space can still be mapped.
fn headroom_left() -> bool {
    let Some(p) = map_anon(0, HEADROOM, libc::PROT_NONE, 0) else { return false };
    // SAFETY: p is our fresh PROT_NONE reservation, touched by nobody.
    unsafe { libc::munmap(p, HEADROOM) };
    true
}

fn write_canary(stack_lo: usize) {
    let p = stack_lo as *mut u64;
    for i in 0..CANARY_WORDS {
        // SAFETY: the lowest CANARY_WORDS words of a canary stack are reserved for the canary and are inside the unit.
        unsafe { p.add(i).write_volatile(CANARY) };
    }
}

/// True when the canary at the bottom of gp's stack is intact (always true
/// for guarded stacks).
pub(crate) fn canary_ok(gp: &G) -> bool {
    if gp.guard != Guard::Canary {
        return true;
    }
    let p = gp.stack_lo as *const u64;
    // SAFETY: see write_canary.
    (0..CANARY_WORDS).all(|i| unsafe { p.add(i).read_volatile() } == CANARY)
}
