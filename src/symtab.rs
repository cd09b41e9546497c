//! Program counters to function names for goroutine dumps (Go's symtab.go,
//! without Go's own pc tables).
//!
//! `dladdr` finds the loaded object that holds a pc and, when the function
//! is exported, its name. Most C functions are not exported (static
//! functions, executables linked without `-rdynamic`), so the object's own
//! ELF symbol table (`.symtab`, kept unless the binary is stripped) is read
//! next, from a read-only mapping of its file. Everything here may run in a
//! signal handler: no malloc, no stdio, only system calls (`open`, `mmap`)
//! and `dladdr`, whose loader lock is recursive, so interrupting the loader
//! on this thread cannot deadlock.
//!
//! File names and line numbers need DWARF, which this does not read: a
//! frame prints its object and the address `addr2line -e <object>` takes.

use std::ffi::{c_char, CStr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One resolved pc.
pub(crate) struct Sym {
    /// The object's path as the loader knows it (argv[0] for the program).
    pub object: &'static [u8],
    /// The address within the object that `addr2line -e object` resolves.
    pub addr: usize,
    /// The function's name (empty when unknown).
    pub name: &'static [u8],
}

/// Mapped object files, one per loaded object that was looked at; never
/// unmapped, so names handed out stay valid.
const MAX_OBJECTS: usize = 32;

struct Object {
    /// Load base from dladdr (dli_fbase), 0 for a free slot.
    base: AtomicUsize,
    /// Start and length of the read-only mapping of the file (0: could not
    /// be mapped; the object is then looked up through dladdr only).
    map: AtomicUsize,
    len: AtomicUsize,
}

static OBJECTS: [Object; MAX_OBJECTS] =
    [const { Object { base: AtomicUsize::new(0), map: AtomicUsize::new(0), len: AtomicUsize::new(0) } }; MAX_OBJECTS];
/// Serialises adding objects (lookups of present ones need no lock).
static ADDING: AtomicBool = AtomicBool::new(false);

/// Resolves `pc` (for a return address, pass the address of the call: pc-1).
pub(crate) fn lookup(pc: usize) -> Option<Sym> {
    // SAFETY: Dl_info is plain data filled by dladdr; dladdr accepts any address.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::dladdr(pc as *const libc::c_void, &mut info) } == 0 {
        return None;
    }
    let base = info.dli_fbase as usize;
    let object = cstr(info.dli_fname);
    let elf = object_map(base, info.dli_fname);
    let exec = elf.is_some_and(|e| e.get(16..18) == Some(&[2, 0])); // e_type == ET_EXEC
    let addr = if exec { pc } else { pc - base };
    if !info.dli_sname.is_null() && !info.dli_saddr.is_null() {
        return Some(Sym { object, addr, name: cstr(info.dli_sname) });
    }
    if let Some((name, _)) = elf.and_then(|e| symtab_find(e, addr)) {
        return Some(Sym { object, addr, name });
    }
    Some(Sym { object, addr, name: b"" })
}

fn cstr(p: *const c_char) -> &'static [u8] {
    if p.is_null() {
        return b"";
    }
    // SAFETY: the loader's strings (object paths, symbol names) live as long as the object stays loaded; gort never unloads what it looked up.
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// The mapped ELF file of the object loaded at `base`, mapping it on first use.
fn object_map(base: usize, fname: *const c_char) -> Option<&'static [u8]> {
    for o in &OBJECTS {
        let b = o.base.load(Ordering::Acquire);
        if b == 0 {
            break;
        }
        if b == base {
            return mapped(o);
        }
    }
    // Not seen yet: add it (one adder at a time; a lookup racing with the
    // add just maps the file again into a later slot, which is harmless).
    if ADDING.swap(true, Ordering::Acquire) {
        return None;
    }
    let mut found = None;
    for o in &OBJECTS {
        let b = o.base.load(Ordering::Acquire);
        if b == base {
            found = mapped(o);
            break;
        }
        if b == 0 {
            let (map, len) = map_file(fname, base).unwrap_or((0, 0));
            o.map.store(map, Ordering::Relaxed);
            o.len.store(len, Ordering::Relaxed);
            o.base.store(base, Ordering::Release);
            found = mapped(o);
            break;
        }
    }
    ADDING.store(false, Ordering::Release);
    found
}

fn mapped(o: &Object) -> Option<&'static [u8]> {
    let map = o.map.load(Ordering::Relaxed);
    if map == 0 {
        return None;
    }
    // SAFETY: map..map+len is a private read-only file mapping that is never unmapped.
    Some(unsafe { std::slice::from_raw_parts(map as *const u8, o.len.load(Ordering::Relaxed)) })
}

/// Maps the object's file read-only. The program itself is opened through
/// /proc/self/exe: dladdr names it by argv[0], which may be relative or
/// stale.
fn map_file(fname: *const c_char, base: usize) -> Option<(usize, usize)> {
    let path: *const c_char = if is_program(base) || fname.is_null() || cstr(fname).is_empty() {
        c"/proc/self/exe".as_ptr()
    } else {
        fname
    };
    // SAFETY: plain system calls; the fd is closed before returning and the mapping is kept for good.
    unsafe {
        let fd = libc::open(path, libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let mut st: libc::stat = std::mem::zeroed();
        let ok = libc::fstat(fd, &mut st) == 0 && st.st_size >= 64;
        let len = st.st_size as usize;
        let p = if ok { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, fd, 0) } else { libc::MAP_FAILED };
        libc::close(fd);
        if p == libc::MAP_FAILED {
            return None;
        }
        let b = std::slice::from_raw_parts(p as *const u8, len);
        if &b[..4] != b"\x7fELF" || b[4] != 2 {
            libc::munmap(p, len);
            return None; // not a 64-bit ELF file
        }
        Some((p as usize, len))
    }
}

/// Whether the object loaded at `base` is the program: its program headers
/// (AT_PHDR) lie inside it.
fn is_program(base: usize) -> bool {
    // SAFETY: getauxval has no preconditions.
    let phdr = unsafe { libc::getauxval(libc::AT_PHDR) } as usize;
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr accepts any address and fills info.
    phdr != 0 && unsafe { libc::dladdr(phdr as *const libc::c_void, &mut info) } != 0 && info.dli_fbase as usize == base
}

fn rd<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}
fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    rd::<2>(b, at).map(|x| u16::from_le_bytes(x) as usize)
}
fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    rd::<4>(b, at).map(|x| u32::from_le_bytes(x) as usize)
}
fn u64_at(b: &[u8], at: usize) -> Option<usize> {
    rd::<8>(b, at).map(|x| u64::from_le_bytes(x) as usize)
}

/// The function symbol of a 64-bit little-endian ELF image whose range holds
/// `addr` (an address in the object's own terms), from `.symtab`, else
/// `.dynsym`: (name, start). A symbol without a size counts up to the next
/// symbol above it. Every offset is checked against the file's length.
pub(crate) fn symtab_find(elf: &[u8], addr: usize) -> Option<(&[u8], usize)> {
    const SHT_SYMTAB: usize = 2;
    const SHT_DYNSYM: usize = 11;
    const STT_FUNC: u8 = 2;
    let shoff = u64_at(elf, 0x28)?;
    let shentsize = u16_at(elf, 0x3a)?;
    let shnum = u16_at(elf, 0x3c)?;
    let section = |i: usize| shoff.checked_add(i.checked_mul(shentsize)?);
    let mut table = None;
    for want in [SHT_SYMTAB, SHT_DYNSYM] {
        for i in 0..shnum {
            let sh = section(i)?;
            if u32_at(elf, sh + 4)? == want {
                table = Some(sh);
                break;
            }
        }
        if table.is_some() {
            break;
        }
    }
    let sh = table?;
    let (off, size, link, entsize) = (u64_at(elf, sh + 0x18)?, u64_at(elf, sh + 0x20)?, u32_at(elf, sh + 0x28)?, u64_at(elf, sh + 0x38)?);
    let strsh = section(link)?;
    let (stroff, strsize) = (u64_at(elf, strsh + 0x18)?, u64_at(elf, strsh + 0x20)?);
    if entsize < 24 {
        return None;
    }
    // Best: the sized symbol that contains addr; else the closest start below.
    let mut best: Option<(usize, usize, bool)> = None; // (name offset, value, sized)
    for k in 0..size / entsize {
        let e = off.checked_add(k * entsize)?;
        let info = *elf.get(e + 4)?;
        let value = u64_at(elf, e + 8)?;
        let sz = u64_at(elf, e + 16)?;
        if info & 0xf != STT_FUNC || value == 0 || value > addr {
            continue;
        }
        let name = u32_at(elf, e)?;
        if sz > 0 && addr < value + sz {
            best = Some((name, value, true));
            break;
        }
        if sz == 0 && best.map_or(true, |(_, v, sized)| !sized && value > v) {
            best = Some((name, value, false));
        }
    }
    let (name, value, _) = best?;
    if name >= strsize {
        return None;
    }
    let s = elf.get(stroff + name..stroff + strsize)?;
    let end = s.iter().position(|&c| c == 0)?;
    Some((&s[..end], value))
}
