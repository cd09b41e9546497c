# gort-gdb.py: gdb commands for gort's goroutines (Go's runtime-gdb.py for
# gort), on x86_64 and aarch64 Linux.
#
# Commands
#
#   info goroutines       one line per live goroutine:
#                           * 1 [running] main_fn in poll_loop (thread 1)
#                             7 "worker-3" [chan receive] worker in gort_chan_recv
#                         `*` marks the goroutine running on the selected
#                         thread; then the id, the name (gort_setname) if any,
#                         the state ("runnable", "running", "syscall", or the
#                         wait reason, as in gort_dump_goroutines), the start
#                         function, and the frame it is in: the innermost
#                         frame outside the runtime's own (Rust) functions,
#                         usually the gort_* call it waits in.
#   goroutine N CMD       runs the gdb command CMD (default: bt) in goroutine
#                         N's context. A parked or runnable goroutine: its
#                         saved registers (sp, pc, frame pointer and rbx/x19)
#                         are loaded into the selected thread for the command
#                         and put back afterwards, as runtime-gdb.py does. A
#                         running one: CMD runs on the thread it runs on.
#   goroutine all CMD     the same for every goroutine.
#
# Loading
#
#   source <prefix>/share/gort/gort-gdb.py          (any program using gort)
#
# or let gdb load it by itself: libgort (shared or static) names
# "gort-gdb.py" in its .debug_gdb_scripts section, which gdb looks up in
# the current directory and the source path; a shared libgort also gets
# <prefix>/share/gdb/auto-load/<prefix>/lib/libgort.so.X.Y.Z-gdb.py. Either
# way gdb loads only from its auto-load safe path:
#
#   gdb -iex 'add-auto-load-safe-path <prefix>' \
#       -iex 'directory <prefix>/share/gort' ./program
#
# (`add-auto-load-scripts-directory <prefix>/share/gdb/auto-load` instead
# of `directory` works for a dynamically linked program.)
#
# How it reads the runtime: libgort exports `gort_debug_info`
# (src/debuginfo.rs), a table of 64-bit words with the G descriptor's
# layout, the status values, the wait-reason strings, the layout of a
# parked goroutine's saved context and the address of the stack slabs, in
# whose units every G lives. The extension only reads memory; it never
# calls into the program, so it works on core files too (except `goroutine
# N` on a parked goroutine, which needs writable registers).

import re
import struct

import gdb

# The words of gort_debug_info, in order (src/debuginfo.rs, version 1).
_FIELDS = (
    "magic", "version", "size", "g_size", "g_reserve",
    "g_goid", "g_status", "g_waitreason", "g_waitsince", "g_sched_sp",
    "g_stack_lo", "g_stack_hi", "g_startpc", "g_gopc", "g_parent_goid",
    "g_name", "g_name_size", "g_insyscall", "g_syscallfp", "g_syscallpc",
    "g_started", "g_is_main", "g_m", "m_tid", "m_id",
    "gidle", "grunnable", "grunning", "gwaiting", "gdead",
    "nwaitreasons", "waitreasons",
    "saved_reg", "saved_fp", "saved_pc", "saved_size",
    "stacks", "stacks_unit", "stacks_nslabs", "stacks_slabs",
    "slab_size", "slab_base", "slab_len",
)
# Appended later (a table's `size` says whether it has them).
_OPTIONAL_FIELDS = (
    "slab_unit",  # each slab's own unit size (gort_go_ex stack classes)
)
_MAGIC = b"gortdbgi"
_VERSION = 1
_MAX_SLABS = 4096  # src/stack.rs MAX_SLABS: a larger count is garbage
_MAX_FRAMES = 64

# Used when the wait-reason table cannot be read (src/g.rs as_str).
_WAIT_REASONS = (
    "waiting", "chan receive", "chan send", "select", "select (no cases)",
    "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
    "sync.WaitGroup.Wait", "sync.Cond.Wait", "semacquire", "sleep", "IO wait",
)


def _read(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def _u64(addr):
    return struct.unpack("<Q", _read(addr, 8))[0]


def _cstring(addr, limit=256):
    """The NUL-terminated string at addr (at most limit bytes)."""
    out = b""
    while len(out) < limit:
        # Read up to the end of the page so a string near the end of a
        # mapping does not fail the whole read.
        n = min(limit - len(out), 4096 - (addr % 4096))
        chunk = _read(addr, n)
        i = chunk.find(b"\0")
        if i >= 0:
            return (out + chunk[:i]).decode("utf-8", "replace")
        out += chunk
        addr += n
    return out.decode("utf-8", "replace")


def _debug_info_address():
    """Address of gort_debug_info: a debug symbol, or a minimal symbol of
    the executable (static libgort) or of libgort.so."""
    try:
        sym = gdb.lookup_global_symbol("gort_debug_info")
        if sym is not None:
            return int(sym.value().address)
    except gdb.error:
        pass
    try:
        return int(gdb.parse_and_eval("(unsigned long)&gort_debug_info"))
    except gdb.error:
        pass
    try:
        out = gdb.execute("info address gort_debug_info", to_string=True)
        m = re.search(r"is at (0x[0-9a-fA-F]+)", out)
        if m:
            return int(m.group(1), 16)
    except gdb.error:
        pass
    raise gdb.GdbError("gort: no symbol gort_debug_info: is the program linked with "
                       "libgort (and, when it is linked dynamically, running)?")


class _Arch(object):
    """Register names of the selected frame's architecture."""

    def __init__(self):
        try:
            name = gdb.selected_frame().architecture().name()
        except gdb.error:
            name = gdb.selected_inferior().architecture().name()
        if "aarch64" in name:
            self.sp, self.pc, self.fp, self.reg = "sp", "pc", "x29", "x19"
            self.lr = "x30"
        elif "x86-64" in name or "x86_64" in name:
            self.sp, self.pc, self.fp, self.reg = "rsp", "rip", "rbp", "rbx"
            self.lr = None
        else:
            raise gdb.GdbError("gort: unsupported architecture %s (x86_64 and aarch64 only)" % name)
        self.name = name


class G(object):
    """One goroutine descriptor, read from the inferior."""

    def __init__(self, rt, addr, raw):
        d = rt.di
        self.addr = addr

        def q(off):
            return struct.unpack_from("<Q", raw, off)[0]

        def i64(off):
            return struct.unpack_from("<q", raw, off)[0]

        self.status = struct.unpack_from("<I", raw, d["g_status"])[0]
        self.goid = i64(d["g_goid"])
        self.waitreason = raw[d["g_waitreason"]]
        self.sched_sp = q(d["g_sched_sp"])
        self.stack_lo = q(d["g_stack_lo"])
        self.stack_hi = q(d["g_stack_hi"])
        self.startpc = q(d["g_startpc"])
        self.gopc = q(d["g_gopc"])
        self.parent_goid = i64(d["g_parent_goid"])
        self.insyscall = raw[d["g_insyscall"]] != 0
        self.syscallfp = q(d["g_syscallfp"])
        self.syscallpc = q(d["g_syscallpc"])
        self.started = raw[d["g_started"]] != 0
        self.is_main = raw[d["g_is_main"]] != 0
        self.m = q(d["g_m"])
        name = raw[d["g_name"]:d["g_name"] + d["g_name_size"]]
        self.name = name.split(b"\0", 1)[0].decode("utf-8", "replace")
        self.rt = rt

    def live(self):
        d = self.rt.di
        return self.status not in (d["gidle"], d["gdead"]) and self.goid > 0

    def running(self):
        return self.status == self.rt.di["grunning"]

    def state(self):
        d = self.rt.di
        if self.status == d["grunnable"]:
            return "runnable"
        if self.status == d["grunning"]:
            return "syscall" if self.insyscall else "running"
        if self.status == d["gwaiting"]:
            return self.rt.wait_reason(self.waitreason)
        return "status %d" % self.status

    def tid(self):
        """The LWP of the thread running this G (GRUNNING only), or None."""
        if not self.running() or self.m == 0:
            return None
        try:
            return struct.unpack("<q", _read(self.m + self.rt.di["m_tid"], 8))[0]
        except gdb.MemoryError:
            return None

    def saved_context(self):
        """(sp, pc, fp, reg) the goroutine resumes with, or None."""
        d = self.rt.di
        sp = self.sched_sp
        if not (self.stack_lo <= sp and sp + d["saved_size"] <= self.stack_hi):
            return None
        frame = _read(sp, d["saved_size"])

        def w(off):
            return struct.unpack_from("<Q", frame, off)[0]

        return (sp + d["saved_size"], w(d["saved_pc"]), w(d["saved_fp"]), w(d["saved_reg"]))

    def saved_pcs(self):
        """Return addresses (minus one, the call) along the frame records of
        a parked goroutine, innermost first (src/traceback.rs walk)."""
        lo, hi = self.stack_lo, self.stack_hi
        sp = self.sched_sp
        if not (lo <= sp < hi):
            return []
        rec = sp + self.rt.di["saved_fp"]
        pcs = []
        while lo <= rec and rec + 16 <= hi and rec % 8 == 0 and len(pcs) < _MAX_FRAMES:
            try:
                nxt, ret = struct.unpack("<QQ", _read(rec, 16))
            except gdb.MemoryError:
                break
            if ret == 0:
                break
            pcs.append(ret - 1)
            if nxt <= rec:
                break
            rec = nxt
        return pcs


class Runtime(object):
    """gort_debug_info and the goroutines it leads to; one per command."""

    def __init__(self):
        addr = _debug_info_address()
        try:
            head = _read(addr, 24)
        except gdb.MemoryError:
            raise gdb.GdbError("gort: cannot read gort_debug_info at 0x%x" % addr)
        magic, version, size = struct.unpack("<8sQQ", head)
        if magic != _MAGIC:
            raise gdb.GdbError("gort: gort_debug_info at 0x%x has a bad magic word: "
                               "not gort's, or a different version of this script" % addr)
        if version != _VERSION:
            raise gdb.GdbError("gort: gort_debug_info version %d, this script reads version %d"
                               % (version, _VERSION))
        names = _FIELDS + _OPTIONAL_FIELDS
        n = min(size // 8, len(names))
        if n < len(_FIELDS):
            raise gdb.GdbError("gort: gort_debug_info is too short (%d bytes)" % size)
        words = struct.unpack("<%dQ" % n, _read(addr, n * 8))
        self.di = dict(zip(names, words))
        self._reasons = None
        self._syms = {}

    def wait_reason(self, v):
        if self._reasons is None:
            reasons = []
            try:
                base = self.di["waitreasons"]
                for i in range(min(self.di["nwaitreasons"], 256)):
                    reasons.append(_cstring(_u64(base + 8 * i), 64))
            except gdb.MemoryError:
                reasons = list(_WAIT_REASONS)
            self._reasons = reasons
        if v < len(self._reasons):
            return self._reasons[v]
        return "waiting"

    def all_gs(self):
        """Every live goroutine, in the order of the stack slabs."""
        d = self.di
        stacks = d["stacks"]
        if stacks == 0:
            if gdb.selected_inferior().pid == 0:
                raise gdb.GdbError("gort: the program is not running")
            raise gdb.GdbError("gort: the runtime is not initialised (gort_init has not run)")
        unit = _u64(stacks + d["stacks_unit"])
        nslabs = _u64(stacks + d["stacks_nslabs"])
        if unit < d["g_reserve"] or nslabs > _MAX_SLABS:
            raise gdb.GdbError("gort: the stack allocator at 0x%x looks corrupt" % stacks)
        slabs = stacks + d["stacks_slabs"]
        ssize = d["slab_size"]
        for i in range(nslabs):
            ent = _read(slabs + i * ssize, ssize)
            base = struct.unpack_from("<Q", ent, d["slab_base"])[0]
            length = struct.unpack_from("<Q", ent, d["slab_len"])[0]
            if "slab_unit" in d:
                unit = struct.unpack_from("<Q", ent, d["slab_unit"])[0]
                if unit < d["g_reserve"]:
                    continue  # being registered right now
            u = base
            while u + unit <= base + length:
                gaddr = u + unit - d["g_reserve"]
                u += unit
                try:
                    raw = _read(gaddr, d["g_size"])
                except gdb.MemoryError:
                    continue
                g = G(self, gaddr, raw)
                if g.live():
                    yield g

    def find(self, goid):
        for g in self.all_gs():
            if g.goid == goid:
                return g
        return None

    # --- symbols ------------------------------------------------------------

    def _info_symbol(self, pc, demangle):
        old = gdb.parameter("print demangle")
        try:
            gdb.execute("set print demangle %s" % ("on" if demangle else "off"), to_string=True)
            out = gdb.execute("info symbol 0x%x" % pc, to_string=True)
        except gdb.error:
            return None
        finally:
            gdb.execute("set print demangle %s" % ("on" if old else "off"), to_string=True)
        line = out.strip().splitlines()[0] if out.strip() else ""
        m = re.match(r"^(.*?)(?: \+ \d+)? in section \S+", line)
        if not m:
            return None
        return m.group(1)

    def sym(self, pc):
        """(display name, linkage name) of the function containing pc, or None."""
        if pc in self._syms:
            return self._syms[pc]
        r = None
        linkage = self._info_symbol(pc, False)
        if linkage:
            shown = self._info_symbol(pc, True) or linkage
            # Rust's legacy mangling: drop the hash gdb leaves in.
            shown = re.sub(r"::h[0-9a-f]{16}$", "", shown)
            r = (shown, linkage)
        self._syms[pc] = r
        return r

    def name_of(self, pc):
        s = self.sym(pc)
        return s[0] if s else "0x%x" % pc

    def is_internal(self, pc):
        """The runtime's own functions (the dump's rule, traceback.rs):
        Rust code of crate gort and the switch's asm. The exported gort_*
        calls are not: they say what a goroutine waits in."""
        s = self.sym(pc)
        if not s:
            return False
        name = s[1]
        return (name.startswith("_ZN4gort")
                or (name.startswith("_R") and "4gort" in name)
                or name in ("gort_swap", "gort_gostart"))

    def first_outside(self, pcs):
        """The innermost pc of pcs outside the runtime (the dump's frames)."""
        for i, pc in enumerate(pcs):
            if i > 0 and self.sym(pc) is None:
                break
            if not self.is_internal(pc):
                return pc
        return pcs[0] if pcs else None


def _threads_by_lwp():
    return {t.ptid[1]: t for t in gdb.selected_inferior().threads() if t.is_valid()}


def _thread_frame_pcs(thread):
    """pcs of the frames of thread (a call's pc minus one above frame 0)."""
    pcs = []
    cur = gdb.selected_thread()
    try:
        cur_frame = gdb.selected_frame()
    except gdb.error:
        cur_frame = None
    try:
        if thread != cur:
            thread.switch()
        f = gdb.newest_frame()
        while f is not None and len(pcs) < _MAX_FRAMES:
            pc = f.pc()
            pcs.append(pc if f.level() == 0 or f.type() != gdb.NORMAL_FRAME else pc - 1)
            try:
                f = f.older()
            except gdb.error:
                break
    except gdb.error:
        pass
    finally:
        if thread != cur and cur is not None and cur.is_valid():
            cur.switch()
            if cur_frame is not None and cur_frame.is_valid():
                cur_frame.select()
    return pcs


def _selected_sp(arch):
    try:
        return int(gdb.newest_frame().read_register(arch.sp))
    except (gdb.error, RuntimeError):
        return None


def _memory_errors(invoke):
    """Reports a failed memory read as a gdb error, not a Python trace."""

    def wrapped(self, arg, from_tty):
        try:
            return invoke(self, arg, from_tty)
        except gdb.MemoryError as e:
            raise gdb.GdbError("gort: %s" % e)

    wrapped.__doc__ = invoke.__doc__
    return wrapped


class InfoGoroutines(gdb.Command):
    """List gort's goroutines: info goroutines

One line per live goroutine: `*` for the one running on the selected
thread, the id, "name" if set, [state or wait reason], the start function,
and the frame it is in (the innermost one outside the runtime), with the
thread of a running goroutine."""

    def __init__(self):
        super(InfoGoroutines, self).__init__("info goroutines", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    @_memory_errors
    def invoke(self, arg, from_tty):
        rt = Runtime()
        threads = _threads_by_lwp()
        sel = gdb.selected_thread()
        sel_lwp = sel.ptid[1] if sel is not None else None
        sp = _selected_sp(_Arch()) if sel is not None else None
        count = 0
        for g in rt.all_gs():
            count += 1
            tid = g.tid()
            th = threads.get(tid) if tid is not None else None
            # Its M's thread, or a thread on its stack (a switch under way).
            on_selected = (sel_lwp is not None and tid == sel_lwp) or \
                (sp is not None and g.stack_lo <= sp < g.stack_hi)
            mark = "*" if on_selected else " "
            start = rt.name_of(g.startpc) if g.startpc else "?"
            if g.running():
                if th is not None:
                    pc = rt.first_outside(_thread_frame_pcs(th))
                    where = " in %s" % rt.name_of(pc) if pc is not None else ""
                    where += " (thread %d)" % th.num
                else:
                    where = " (thread with LWP %s)" % tid if tid else ""
            elif not g.started:
                where = " in %s" % start
            else:
                pc = rt.first_outside(g.saved_pcs())
                where = " in %s" % rt.name_of(pc) if pc is not None else ""
            name = ' "%s"' % g.name if g.name else ""
            gdb.write("%s %d%s [%s] %s%s\n" % (mark, g.goid, name, g.state(), start, where))
        if count == 0:
            gdb.write("No goroutines.\n")


def _set_regs(values):
    """Writes registers of the newest frame: values is [(name, int)]."""
    gdb.newest_frame().select()
    for name, v in values:
        gdb.execute("set var $%s = 0x%x" % (name, v), to_string=True)


def _run_in_goroutine(g, cmd, from_tty):
    arch = _Arch()
    if g.running():
        tid = g.tid()
        th = _threads_by_lwp().get(tid) if tid is not None else None
        if th is None:
            raise gdb.GdbError("goroutine %d is running on a thread gdb does not show (LWP %s)"
                               % (g.goid, tid))
        gdb.write("goroutine %d is running on thread %d (LWP %d)\n" % (g.goid, th.num, tid))
        cur = gdb.selected_thread()
        try:
            level = gdb.selected_frame().level()
        except gdb.error:
            level = 0
        if th == cur:
            gdb.execute(cmd, from_tty)
            return
        th.switch()
        try:
            gdb.execute(cmd, from_tty)
        finally:
            if cur.is_valid():
                cur.switch()
                gdb.execute("select-frame %d" % level, to_string=True)
        return
    ctx = g.saved_context()
    if ctx is None:
        raise gdb.GdbError("goroutine %d: saved stack pointer 0x%x is outside its stack"
                           % (g.goid, g.sched_sp))
    sp, pc, fp, reg = ctx
    names = [arch.sp, arch.pc, arch.fp, arch.reg] + ([arch.lr] if arch.lr else [])
    try:
        level = gdb.selected_frame().level()
    except gdb.error:
        level = 0
    frame0 = gdb.newest_frame()
    saved = [(n, int(frame0.read_register(n))) for n in names]
    new = [(arch.sp, sp), (arch.pc, pc), (arch.fp, fp), (arch.reg, reg)]
    if arch.lr:
        new.append((arch.lr, pc))  # x30 still holds the resume address after `ret`
    try:
        _set_regs(new)
    except gdb.error as e:
        try:
            _set_regs(saved)
        except gdb.error:
            pass
        raise gdb.GdbError("goroutine %d: cannot load its registers (%s); a core file's "
                           "registers cannot be written" % (g.goid, e))
    try:
        gdb.execute(cmd, from_tty)
    finally:
        _set_regs(saved)
        try:
            gdb.execute("select-frame %d" % level, to_string=True)
        except gdb.error:
            pass


class GoroutineCmd(gdb.Command):
    """Run a command in a goroutine's context: goroutine N|all [CMD]

goroutine 7 bt        backtrace of goroutine 7
goroutine 7 info registers
goroutine all bt      every goroutine's backtrace

CMD defaults to bt. A parked or runnable goroutine's saved registers (sp,
pc, frame pointer, rbx/x19) are loaded into the selected thread for the
command and restored afterwards; a running goroutine's command runs on its
thread."""

    def __init__(self):
        super(GoroutineCmd, self).__init__("goroutine", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    @_memory_errors
    def invoke(self, arg, from_tty):
        parts = arg.strip().split(None, 1)
        if not parts:
            raise gdb.GdbError("usage: goroutine N|all [CMD]")
        cmd = parts[1] if len(parts) > 1 else "bt"
        rt = Runtime()
        if parts[0] == "all":
            for g in list(rt.all_gs()):
                gdb.write("\ngoroutine %d [%s]:\n" % (g.goid, g.state()))
                try:
                    _run_in_goroutine(g, cmd, from_tty)
                except gdb.GdbError as e:
                    gdb.write("%s\n" % e)
            return
        try:
            goid = int(gdb.parse_and_eval(parts[0]))
        except gdb.error:
            raise gdb.GdbError("goroutine: %s is not a goroutine id" % parts[0])
        g = rt.find(goid)
        if g is None:
            raise gdb.GdbError("no goroutine %d" % goid)
        _run_in_goroutine(g, cmd, from_tty)


InfoGoroutines()
GoroutineCmd()
