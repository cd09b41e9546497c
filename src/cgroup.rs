//! The CPU limit of the process's cgroup, which caps the default number of
//! Ps next to the affinity mask (Go 1.25's container-aware GOMAXPROCS:
//! `internal/runtime/cgroup` and `runtime/cgroup_linux.go`).
//!
//! # Finding the limit
//!
//! Three reads, each relative to a filesystem root (`/` at boot; a fake
//! tree in the tests, since a real quota cannot be changed there):
//!
//! 1. `proc/self/cgroup`, lines `hierarchy-ID:controller-list:path`. A v1
//!    hierarchy whose controller list names `cpu` (`3:cpu,cpuacct:/a/b`)
//!    is the CPU controller; otherwise the v2 line (`0::/a/b`), if any.
//!    v1 wins over v2 on hybrid systems because there the v2 hierarchy has
//!    no `cpu` controller while the v1 one does.
//! 2. `proc/self/mountinfo`: the mount of that hierarchy (type `cgroup2`
//!    for v2; type `cgroup` with `cpu` among its super options for v1).
//!    The cgroup's directory is the mount point joined with the cgroup path
//!    *relative to the mount's root* (field 4): a container without a
//!    cgroup namespace sees `/docker/<id>` in `proc/self/cgroup` but has
//!    that very directory mounted at `/sys/fs/cgroup/cpu`, root
//!    `/docker/<id>`. A mount whose root is not a prefix of the path does
//!    not show the cgroup and is passed over. Go 1.25.0 to 1.25.4 appended
//!    the whole path and found no limit in that case (golang/go#76390,
//!    fixed after); gort does what the fix does.
//! 3. The limit, in microseconds of CPU time per period: v2 `cpu.max`
//!    holds `<quota> <period>`, quota `max` meaning none; v1 has
//!    `cpu.cfs_quota_us` (`-1`: none) and `cpu.cfs_period_us`.
//!
//! # No limit is the safe answer
//!
//! A missing file, a malformed line, a path that does not resolve: every
//! failure means "no limit", never a failed `gort_init` and never a panic,
//! as in Go (which falls back to the CPU count on any error). The limit
//! only lowers a default; a wrong "none" costs at worst what gort did
//! before it read cgroups.
//!
//! # What Go does that gort does not
//!
//! * Go keeps the limit files open and sysmon re-reads them (GODEBUG
//!   `updatemaxprocs`), changing GOMAXPROCS when the limit changes. gort's
//!   P count is fixed at init, so the files are read once, in `schedinit`.
//! * Like Go, only the process's own (leaf) cgroup is read: a tighter
//!   limit on a parent cgroup is not seen (container runtimes usually put
//!   the limit on the leaf they hide the parents from).

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
}

/// A CPU bandwidth limit: `quota` microseconds of CPU time per `period`
/// microseconds, across all the cgroup's threads. Invariant (checked by
/// the parsers): `quota >= 0` and `period > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CpuLimit {
    pub version: Version,
    pub quota: i64,
    pub period: i64,
}

impl CpuLimit {
    /// The average number of CPUs the limit allows (Go's ReadCPULimit).
    pub(crate) fn cpus(&self) -> f64 {
        self.quota as f64 / self.period as f64
    }

    /// The number of Ps the limit allows (the rounding of Go's
    /// adjustCgroupGOMAXPROCS): fractions round up, and never fewer than 2,
    /// because a limit is an average over the period, not a cap on
    /// parallelism: a 0.5-CPU cgroup may still run two threads at once,
    /// while with one P every goroutine waits whenever one runs long C
    /// code, until sysmon hands the P off. The `as` conversion saturates,
    /// so an absurd quota cannot wrap (Go's `int32(limit)` could).
    pub(crate) fn procs(&self) -> u32 {
        self.cpus().ceil().max(2.0) as u32
    }
}

/// `cpu.max 150000/100000` (v2) or
/// `cpu.cfs_quota_us/cpu.cfs_period_us 150000/100000` (v1): the file and
/// the quota/period it holds, for the `inittrace` line.
impl fmt::Display for CpuLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = match self.version {
            Version::V2 => "cpu.max",
            Version::V1 => "cpu.cfs_quota_us/cpu.cfs_period_us",
        };
        write!(f, "{file} {}/{}", self.quota, self.period)
    }
}

/// Mirrors Go's defaultGOMAXPROCS: the smaller of the CPUs in the affinity
/// mask (`ncpu`) and the cgroup limit, if any (read from the real root
/// unless `containermaxprocs` is off, Go's GODEBUG=containermaxprocs=0).
/// Returns the number of Ps and what decided it, for `inittrace`.
pub(crate) fn defaultgomaxprocs(ncpu: u32, containermaxprocs: bool) -> (u32, String) {
    if !containermaxprocs {
        return (ncpu, "affinity mask; cgroup not read: containermaxprocs=0".to_string());
    }
    decide(ncpu, cpu_limit(Path::new("/")))
}

/// The choice of defaultgomaxprocs, apart from the reading. Ties go to the
/// affinity mask, as in Go (`if int32(limit) < procs`).
pub(crate) fn decide(ncpu: u32, limit: Option<CpuLimit>) -> (u32, String) {
    match limit {
        None => (ncpu, "affinity mask; no cgroup CPU limit".to_string()),
        Some(l) if l.procs() < ncpu => (l.procs(), format!("cgroup {l}; affinity mask {ncpu}")),
        Some(l) => (ncpu, format!("affinity mask; cgroup {l} allows {}", l.procs())),
    }
}

/// The CPU limit of this process's cgroup, reading `proc/self/cgroup`,
/// `proc/self/mountinfo` and the cgroup's files under `root`; None when
/// there is no limit or it cannot be read (see the module comment).
pub(crate) fn cpu_limit(root: &Path) -> Option<CpuLimit> {
    let (version, cgroup) = parse_cgroup(&std::fs::read(root.join("proc/self/cgroup")).ok()?)?;
    let dir = find_dir(&std::fs::read(root.join("proc/self/mountinfo")).ok()?, version, &cgroup)?;
    // `dir` is absolute; Path::join would replace `root` with it.
    let dir = root.join(OsStr::from_bytes(&dir[1..]));
    match version {
        Version::V2 => parse_cpu_max(&read_small(&dir.join("cpu.max"))?),
        Version::V1 => {
            let quota = parse_i64(&read_small(&dir.join("cpu.cfs_quota_us"))?)?;
            if quota < 0 {
                return None; // -1: no limit
            }
            let period = parse_i64(&read_small(&dir.join("cpu.cfs_period_us"))?)?;
            (period > 0).then_some(CpuLimit { version, quota, period })
        }
    }
}

/// A limit file's contents. The kernel writes at most two 64-bit numbers;
/// anything longer is not a limit file (Go reads 64 bytes and rejects a
/// full buffer the same way).
fn read_small(path: &Path) -> Option<Vec<u8>> {
    let b = std::fs::read(path).ok()?;
    (b.len() < 64).then_some(b)
}

/// Go's parseCPURelativePath: the CPU controller's hierarchy and the
/// process's cgroup path in it, from `proc/self/cgroup`. A line without
/// two colons makes the whole file malformed (None), as in Go.
fn parse_cgroup(text: &[u8]) -> Option<(Version, Vec<u8>)> {
    let mut v2 = None;
    for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let mut f = line.splitn(3, |&c| c == b':');
        let (id, controllers, path) = (f.next()?, f.next()?, f.next()?);
        if id == b"0" {
            // Keep looking: a v1 `cpu` hierarchy takes precedence.
            v2 = Some(path);
        } else if has_option(controllers, b"cpu") {
            return valid_cgroup(path).map(|p| (Version::V1, p));
        }
    }
    valid_cgroup(v2?).map(|p| (Version::V2, p))
}

/// A cgroup path is absolute. A `..` component appears when the cgroup is
/// outside the reader's cgroup namespace (`0::/../../x`); that cgroup is
/// not under any mount we can see, so there is nothing to read.
fn valid_cgroup(path: &[u8]) -> Option<Vec<u8>> {
    let ok = path.first() == Some(&b'/') && !path.split(|&c| c == b'/').any(|c| c == b"..");
    ok.then(|| path.to_vec())
}

/// Go's containsCPU: whether a comma-separated list names `want` exactly
/// (`cpuacct` and `cpuset` are not `cpu`).
fn has_option(list: &[u8], want: &[u8]) -> bool {
    list.split(|&c| c == b',').any(|o| o == want)
}

/// Go's parseCPUMount, by the cgroup's hierarchy and path: the directory
/// of `cgroup` under the first mount of that hierarchy that shows it.
///
/// A line is `36 35 98:0 /root /mnt/point rw,noatime master:1 - cgroup2
/// cgroup2 rw,nsdelegate`: mount id, parent id, device, root (4), mount
/// point (5), mount options, optional fields up to `-`, then filesystem
/// type, source and super options. Paths have space, tab, newline and
/// backslash escaped as `\ooo`. A line too short to hold these makes the
/// file malformed (None), as in Go.
fn find_dir(mountinfo: &[u8], version: Version, cgroup: &[u8]) -> Option<Vec<u8>> {
    for line in mountinfo.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let f: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
        if f.len() < 10 {
            return None;
        }
        let sep = 6 + f[6..].iter().position(|&x| x == b"-")?;
        let (fstype, superopts) = (*f.get(sep + 1)?, *f.get(sep + 3)?);
        let ours = match version {
            Version::V2 => fstype == b"cgroup2",
            Version::V1 => fstype == b"cgroup" && has_option(superopts, b"cpu"),
        };
        if !ours {
            continue;
        }
        let (root, point) = (unescape(f[3])?, unescape(f[4])?);
        let Some(rel) = strip_root(cgroup, &root) else {
            continue; // a mount of another subtree of the hierarchy
        };
        if point.first() != Some(&b'/') {
            return None;
        }
        let mut dir = point;
        dir.extend_from_slice(rel);
        return Some(dir);
    }
    None
}

/// The part of `cgroup` below the mount root `root` (`/a/b` under `/a` is
/// `/b`; under `/` or `/a/b` itself it is all or nothing), or None when
/// the root is not an ancestor (`/ab` is not under `/a`).
fn strip_root<'a>(cgroup: &'a [u8], root: &[u8]) -> Option<&'a [u8]> {
    let root = root.strip_suffix(b"/").unwrap_or(root);
    let rest = cgroup.strip_prefix(root)?;
    (rest.is_empty() || rest[0] == b'/').then_some(rest)
}

/// Undoes the kernel's show_path escaping: `\ooo` (three octal digits) is
/// one byte. Go's unescapePath; a broken escape is malformed (None).
fn unescape(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let digits = s.get(i + 1..i + 4)?;
        let mut v: u32 = 0;
        for &d in digits {
            if !(b'0'..=b'7').contains(&d) {
                return None;
            }
            v = v * 8 + (d - b'0') as u32;
        }
        out.push(u8::try_from(v).ok()?);
        i += 4;
    }
    Some(out)
}

/// Go's parseV2Limit: `<quota> <period>`, quota `max` for no limit.
fn parse_cpu_max(text: &[u8]) -> Option<CpuLimit> {
    let text = std::str::from_utf8(text).ok()?;
    let mut f = text.split_ascii_whitespace();
    let (quota, period) = (f.next()?, f.next()?);
    if f.next().is_some() || quota == "max" {
        return None;
    }
    let (quota, period) = (quota.parse::<i64>().ok()?, period.parse::<i64>().ok()?);
    (quota >= 0 && period > 0).then_some(CpuLimit { version: Version::V2, quota, period })
}

/// Go's parseV1Number: one decimal integer, surrounding whitespace allowed.
fn parse_i64(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fake filesystem root under the temp dir, removed on drop.
    struct Tree(PathBuf);

    impl Tree {
        fn new() -> Tree {
            static N: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "gort-cgroup-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Tree(dir)
        }

        /// Writes `rel` (relative to the root), creating its directories.
        fn file(&self, rel: &str, text: &str) -> &Tree {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
            self
        }

        fn limit(&self) -> Option<CpuLimit> {
            cpu_limit(&self.0)
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const V2_MOUNT: &str = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
        30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

    /// A hybrid host, as on the test machine: v1 controllers, and a v2
    /// hierarchy without the cpu controller at .../unified.
    const V1_MOUNTS: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n\
        33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

    const V1_CGROUP: &str =
        "4:memory:/\n3:cpuset:/\n2:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice\n";

    fn v2(quota: i64, period: i64) -> Option<CpuLimit> {
        Some(CpuLimit { version: Version::V2, quota, period })
    }

    fn v1(quota: i64, period: i64) -> Option<CpuLimit> {
        Some(CpuLimit { version: Version::V1, quota, period })
    }

    #[test]
    fn v2_limit() {
        let t = Tree::new();
        t.file("proc/self/cgroup", "0::/\n").file("proc/self/mountinfo", V2_MOUNT);
        t.file("sys/fs/cgroup/cpu.max", "150000 100000\n");
        assert_eq!(t.limit(), v2(150000, 100000));
        assert_eq!(t.limit().unwrap().to_string(), "cpu.max 150000/100000");
    }

    #[test]
    fn v2_max_is_no_limit() {
        let t = Tree::new();
        t.file("proc/self/cgroup", "0::/\n").file("proc/self/mountinfo", V2_MOUNT);
        t.file("sys/fs/cgroup/cpu.max", "max 100000\n");
        assert_eq!(t.limit(), None);
    }

    #[test]
    fn v2_nested_cgroup() {
        let t = Tree::new();
        t.file("proc/self/cgroup", "0::/kubepods.slice/pod-1.slice/cri-abc.scope\n");
        t.file("proc/self/mountinfo", V2_MOUNT);
        // The parent's limit is not the process's: only the leaf is read.
        t.file("sys/fs/cgroup/kubepods.slice/cpu.max", "800000 100000\n");
        t.file("sys/fs/cgroup/kubepods.slice/pod-1.slice/cri-abc.scope/cpu.max", "250000 100000\n");
        assert_eq!(t.limit(), v2(250000, 100000));
    }

    #[test]
    fn v2_mounted_elsewhere() {
        // mountinfo, not a fixed /sys/fs/cgroup, says where v2 lives; the
        // mount point has an escaped space.
        let t = Tree::new();
        t.file("proc/self/cgroup", "0::/app\n");
        t.file(
            "proc/self/mountinfo",
            "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
             40 27 0:40 / /mnt/my\\040cgroups rw,relatime shared:9 master:2 - cgroup2 none rw\n",
        );
        t.file("sys/fs/cgroup/app/cpu.max", "100000 100000\n"); // not this one
        t.file("mnt/my cgroups/app/cpu.max", "300000 100000\n");
        assert_eq!(t.limit(), v2(300000, 100000));
    }

    #[test]
    fn v2_mount_root_below_hierarchy_root() {
        // No cgroup namespace: the full path in proc/self/cgroup, and the
        // container's own cgroup mounted as the root of /sys/fs/cgroup.
        let t = Tree::new();
        t.file("proc/self/cgroup", "0::/docker/abc\n");
        t.file(
            "proc/self/mountinfo",
            "50 40 0:26 /other /mnt/other rw - cgroup2 cgroup2 rw\n\
             51 40 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
        );
        t.file("sys/fs/cgroup/cpu.max", "200000 100000\n");
        assert_eq!(t.limit(), v2(200000, 100000));
        // `/docker/abcd` is not under the root `/docker/abc`.
        t.file("proc/self/cgroup", "0::/docker/abcd\n");
        assert_eq!(t.limit(), None);
    }

    #[test]
    fn v1_limit() {
        let t = Tree::new();
        t.file("proc/self/cgroup", V1_CGROUP).file("proc/self/mountinfo", V1_MOUNTS);
        t.file("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_quota_us", "50000\n");
        t.file("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_period_us", "100000\n");
        // v1's cpu hierarchy wins over the v2 line (which has no cpu.max here).
        assert_eq!(t.limit(), v1(50000, 100000));
        assert_eq!(t.limit().unwrap().to_string(), "cpu.cfs_quota_us/cpu.cfs_period_us 50000/100000");
    }

    #[test]
    fn v1_minus_one_is_no_limit() {
        let t = Tree::new();
        t.file("proc/self/cgroup", V1_CGROUP).file("proc/self/mountinfo", V1_MOUNTS);
        t.file("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_quota_us", "-1\n");
        t.file("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_period_us", "100000\n");
        assert_eq!(t.limit(), None);
    }

    #[test]
    fn v1_container_without_cgroup_namespace() {
        // Docker on a v1 host: the cgroup is /docker/<id>, and the mount's
        // root is that same directory.
        let t = Tree::new();
        t.file("proc/self/cgroup", "12:cpuacct,cpu:/docker/0123\n11:memory:/docker/0123\n");
        t.file(
            "proc/self/mountinfo",
            "396 394 0:21 /docker/0123 /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpuacct,cpu\n",
        );
        t.file("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "100000\n");
        t.file("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
        assert_eq!(t.limit(), v1(100000, 100000));
    }

    #[test]
    fn v1_ignores_cpuset_and_cpuacct() {
        // Neither `cpuset` nor `cpuacct` alone is the cpu controller; with
        // no v2 line either there is no CPU cgroup.
        let t = Tree::new();
        t.file("proc/self/cgroup", "3:cpuset:/\n2:cpuacct:/\n").file("proc/self/mountinfo", V1_MOUNTS);
        assert_eq!(t.limit(), None);
    }

    #[test]
    fn missing_files() {
        let t = Tree::new();
        assert_eq!(t.limit(), None); // no proc/self/cgroup
        t.file("proc/self/cgroup", "0::/\n");
        assert_eq!(t.limit(), None); // no mountinfo
        t.file("proc/self/mountinfo", V2_MOUNT);
        assert_eq!(t.limit(), None); // no cpu.max (v2 without the cpu controller)
        t.file("proc/self/mountinfo", "22 27 0:21 / /proc rw,relatime - proc proc rw\n");
        t.file("sys/fs/cgroup/cpu.max", "100000 100000\n");
        assert_eq!(t.limit(), None); // no cgroup2 mount
        t.file("proc/self/cgroup", V1_CGROUP).file("proc/self/mountinfo", V1_MOUNTS);
        t.file("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_quota_us", "50000\n");
        assert_eq!(t.limit(), None); // quota without period
    }

    #[test]
    fn malformed_files() {
        let t = Tree::new();
        t.file("proc/self/mountinfo", V2_MOUNT);
        for bad in ["0::/\ngarbage\n", "0:/\n", "0::\n", "0::relative\n", "0::/../../outside\n", "\u{0}\u{ff}"] {
            t.file("proc/self/cgroup", bad);
            t.file("sys/fs/cgroup/cpu.max", "100000 100000\n");
            assert_eq!(t.limit(), None, "cgroup {bad:?}");
        }
        t.file("proc/self/cgroup", "0::/\n");
        for bad in [
            "30 23 0:26 / /sys/fs/cgroup rw - cgroup2\n",                     // short
            "30 23 0:26 / /sys/fs/cgroup rw shared:4 cgroup2 cgroup2 rw x\n", // no `-`
            "30 23 0:26 / /sys/fs/cgroup\\04 rw - cgroup2 cgroup2 rw\n",      // broken escape
            "30 23 0:26 / /sys/fs/cgroup\\777 rw - cgroup2 cgroup2 rw\n",     // escape > 255
            "30 23 0:26 / sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",           // relative point
        ] {
            t.file("proc/self/mountinfo", bad);
            assert_eq!(t.limit(), None, "mountinfo {bad:?}");
        }
        t.file("proc/self/mountinfo", V2_MOUNT);
        for bad in [
            "",
            "\n",
            "150000\n",
            "150000 100000 7\n",
            "x 100000\n",
            "150000 0\n",
            "-5 100000\n",
            "150000 -1\n",
            "max\n",
            "1.5 100000\n",
            "99999999999999999999 100000\n",
            "\u{ff}\u{fe} 1\n",
        ] {
            t.file("sys/fs/cgroup/cpu.max", bad);
            assert_eq!(t.limit(), None, "cpu.max {bad:?}");
        }
        t.file("sys/fs/cgroup/cpu.max", &format!("150000 100000{}\n", " ".repeat(64)));
        assert_eq!(t.limit(), None, "oversized cpu.max");
        t.file("sys/fs/cgroup/cpu.max", "150000 100000"); // no newline: still fine
        assert_eq!(t.limit(), v2(150000, 100000));
        t.file("proc/self/cgroup", V1_CGROUP).file("proc/self/mountinfo", V1_MOUNTS);
        for (quota, period) in [("abc\n", "100000\n"), ("50000\n", "0\n"), ("50000\n", "x\n"), ("\n", "100000\n")] {
            t.file("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_quota_us", quota);
            t.file("sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_period_us", period);
            assert_eq!(t.limit(), None, "v1 {quota:?} {period:?}");
        }
    }

    #[test]
    fn rounding_as_go() {
        let l = |quota| CpuLimit { version: Version::V2, quota, period: 100000 };
        // ceil(quota/period), at least 2.
        assert_eq!(l(150000).procs(), 2);
        assert_eq!(l(200000).procs(), 2);
        assert_eq!(l(200001).procs(), 3);
        assert_eq!(l(50000).procs(), 2);
        assert_eq!(l(0).procs(), 2);
        assert_eq!(l(100000).procs(), 2);
        assert_eq!(l(350000).procs(), 4);
        assert_eq!(l(i64::MAX).procs(), u32::MAX); // saturates, never wraps
    }

    #[test]
    fn decide_min_of_affinity_and_cgroup() {
        let l = |quota| Some(CpuLimit { version: Version::V2, quota, period: 100000 });
        assert_eq!(decide(8, l(150000)), (2, "cgroup cpu.max 150000/100000; affinity mask 8".to_string()));
        assert_eq!(decide(8, l(50000)), (2, "cgroup cpu.max 50000/100000; affinity mask 8".to_string()));
        assert_eq!(decide(8, l(350000)).0, 4);
        // The affinity mask decides ties and when it is smaller, even below
        // the cgroup's minimum of 2.
        assert_eq!(decide(2, l(150000)), (2, "affinity mask; cgroup cpu.max 150000/100000 allows 2".to_string()));
        assert_eq!(decide(1, l(50000)), (1, "affinity mask; cgroup cpu.max 50000/100000 allows 2".to_string()));
        assert_eq!(decide(4, l(800000)).0, 4);
        assert_eq!(decide(4, None), (4, "affinity mask; no cgroup CPU limit".to_string()));
        assert_eq!(defaultgomaxprocs(3, false), (3, "affinity mask; cgroup not read: containermaxprocs=0".to_string()));
    }

    #[test]
    fn strip_root_and_unescape() {
        assert_eq!(strip_root(b"/a/b", b"/"), Some(&b"/a/b"[..]));
        assert_eq!(strip_root(b"/a/b", b"/a"), Some(&b"/b"[..]));
        assert_eq!(strip_root(b"/a/b", b"/a/"), Some(&b"/b"[..]));
        assert_eq!(strip_root(b"/a/b", b"/a/b"), Some(&b""[..]));
        assert_eq!(strip_root(b"/ab", b"/a"), None);
        assert_eq!(strip_root(b"/", b"/a"), None);
        assert_eq!(unescape(b"a\\040b\\011c\\012d\\134"), Some(b"a b\tc\nd\\".to_vec()));
        assert_eq!(unescape(b"\\04"), None);
        assert_eq!(unescape(b"\\089"), None);
    }
}
