//! Environment variables read at `schedinit` (Go's goenvs + parsedebugvars).
//!
//! | variable        | meaning                                                 |
//! |-----------------|---------------------------------------------------------|
//! | `GORT_MAXPROCS` | number of Ps; then `GOMAXPROCS`; then the CPUs in the  |
//! |                 | process's affinity mask, lowered to its cgroup's CPU    |
//! |                 | limit (`cgroup.rs`)                                     |
//! | `GORT_STACKSIZE`| usable bytes per goroutine stack, `k`/`m`/`g` suffixes |
//! | `GORT_TRACEBACK`| Go's GOTRACEBACK: `none`, `single` (default), `all`,    |
//! |                 | `crash` (what fatal errors and SIGQUIT print)           |
//! | `GORT_DEBUG`    | comma-separated `key=value`: `inittrace=1`,             |
//! |                 | `guard=madvise|mprotect|canary` (force a guard method), |
//! |                 | `schedtrace=N`: a scheduler state line every N ms,      |
//! |                 | `asyncpreemptoff=1` (no hand-off of running C code),    |
//! |                 | `membarrier=0` (fence-based hand-off handshake),         |
//! |                 | `containermaxprocs=0` (ignore the cgroup CPU limit)     |
//!
//! A malformed value makes `gort_init` fail with `GORT_EINVAL` and a line on
//! stderr naming the variable: silently running with other settings than the
//! user asked for is worse than refusing to start. Empty values count as
//! unset; an unknown `GORT_DEBUG` key or an item without `=` is malformed
//! too (unlike Go, which ignores unknown GODEBUG keys: see `parse`).

use crate::ffi::Error;

/// Go's _MaxGomaxprocs.
pub(crate) const MAX_PROCS: u32 = 1024;
pub(crate) const DEFAULT_STACK: usize = 64 << 10;
pub(crate) const MIN_STACK: usize = 16 << 10;
pub(crate) const MAX_STACK: usize = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GuardPref {
    /// Best available: MADV_GUARD_INSTALL, then mprotect under a budget,
    /// then canaries.
    Auto,
    Madvise,
    Mprotect,
    Canary,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    /// None: the default (`cgroup::defaultgomaxprocs`); else the number
    /// and the variable it came from.
    pub procs: Option<(u32, &'static str)>,
    /// Go's GODEBUG=containermaxprocs (on by default since Go 1.25): the
    /// cgroup's CPU limit caps the default number of Ps.
    pub containermaxprocs: bool,
    pub stack_size: usize,
    pub inittrace: bool,
    pub guard: GuardPref,
    /// Go's GODEBUG=schedtrace: print the scheduler state every this many
    /// ms (0: off).
    pub schedtrace: u32,
    /// Go's GODEBUG=asyncpreemptoff=1: never hand off the P of a goroutine
    /// running C code outside gort_entersyscall.
    pub asyncpreemptoff: bool,
    /// membarrier=0: the hand-off handshake uses a fence on every gort call
    /// instead of membarrier (testing the fallback).
    pub membarrier: bool,
    /// GORT_TRACEBACK (Go's GOTRACEBACK): a `traceback::LEVEL_*`.
    pub traceback: u8,
}

pub(crate) fn read() -> Result<Config, Error> {
    parse(|k| std::env::var(k).ok())
}

/// Parses with an injectable lookup so tests need not touch the process
/// environment.
pub(crate) fn parse(get: impl Fn(&str) -> Option<String>) -> Result<Config, Error> {
    let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let mut procs = None;
    for key in ["GORT_MAXPROCS", "GOMAXPROCS"] {
        if let Some(v) = nonempty(key) {
            match v.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_PROCS).contains(&n) => {
                    procs = Some((n, if key == "GORT_MAXPROCS" { "GORT_MAXPROCS" } else { "GOMAXPROCS" }));
                    break;
                }
                _ => return Err(bad(key, &v, "an integer from 1 to 1024")),
            }
        }
    }
    let stack_size = match nonempty("GORT_STACKSIZE") {
        None => DEFAULT_STACK,
        Some(v) => match parse_size(&v) {
            Some(n) if (MIN_STACK..=MAX_STACK).contains(&n) => n,
            _ => return Err(bad("GORT_STACKSIZE", &v, "bytes from 16k to 1g, e.g. 65536, 256k, 1m")),
        },
    };
    let traceback = match nonempty("GORT_TRACEBACK").as_deref().map(str::trim) {
        None => crate::traceback::LEVEL_SINGLE,
        Some("none" | "0") => crate::traceback::LEVEL_NONE,
        Some("single" | "1") => crate::traceback::LEVEL_SINGLE,
        Some("all" | "2" | "system") => crate::traceback::LEVEL_ALL,
        Some("crash") => crate::traceback::LEVEL_CRASH,
        Some(v) => return Err(bad("GORT_TRACEBACK", v, "none, single, all or crash")),
    };
    let mut inittrace = false;
    let mut guard = GuardPref::Auto;
    let mut schedtrace = 0;
    let mut asyncpreemptoff = false;
    let mut membarrier = true;
    let mut containermaxprocs = true;
    if let Some(v) = nonempty("GORT_DEBUG") {
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((key, val)) = item.split_once('=') else {
                return Err(bad("GORT_DEBUG", &v, DEBUG_KEYS));
            };
            let (key, val) = (key.trim(), val.trim());
            match key {
                "inittrace" => {
                    inittrace = match val {
                        "0" => false,
                        "1" => true,
                        _ => return Err(bad("GORT_DEBUG", &v, "inittrace=0 or inittrace=1")),
                    }
                }
                "schedtrace" => {
                    schedtrace = match val.parse::<u32>() {
                        Ok(n) if n <= 3_600_000 => n,
                        _ => return Err(bad("GORT_DEBUG", &v, "schedtrace=<ms>, 0 to 3600000")),
                    }
                }
                "asyncpreemptoff" | "membarrier" | "containermaxprocs" => {
                    let on = match val {
                        "0" => false,
                        "1" => true,
                        _ => {
                            return Err(bad(
                                "GORT_DEBUG",
                                &v,
                                "asyncpreemptoff=0|1, membarrier=0|1, containermaxprocs=0|1",
                            ))
                        }
                    };
                    match key {
                        "asyncpreemptoff" => asyncpreemptoff = on,
                        "membarrier" => membarrier = on,
                        _ => containermaxprocs = on,
                    }
                }
                "guard" => {
                    guard = match val {
                        "auto" => GuardPref::Auto,
                        "madvise" => GuardPref::Madvise,
                        "mprotect" => GuardPref::Mprotect,
                        "canary" => GuardPref::Canary,
                        _ => return Err(bad("GORT_DEBUG", &v, "guard=auto|madvise|mprotect|canary")),
                    }
                }
                // Go ignores unknown GODEBUG keys because GODEBUG is shared by
                // every Go program and version; GORT_DEBUG is read by one
                // library, so a typo (`inittace=1`) is a mistake to report.
                _ => return Err(bad("GORT_DEBUG", &v, DEBUG_KEYS)),
            }
        }
    }
    Ok(Config {
        procs,
        containermaxprocs,
        stack_size,
        inittrace,
        guard,
        schedtrace,
        asyncpreemptoff,
        membarrier,
        traceback,
    })
}

/// "65536", "64k", "64K", "1m", "1g" (binary multiples).
pub(crate) fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1usize << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok()?.checked_mul(mult)
}

const DEBUG_KEYS: &str =
    "comma-separated key=value items of inittrace, schedtrace, guard, asyncpreemptoff, membarrier, containermaxprocs";

fn bad(key: &str, val: &str, want: &str) -> Error {
    crate::os::write_stderr(&["gort: invalid ", key, "=\"", val, "\": want ", want, "\n"]);
    Error::Inval
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, Error> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(move |k| pairs.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            c,
            Config {
                procs: None,
                containermaxprocs: true,
                stack_size: DEFAULT_STACK,
                inittrace: false,
                guard: GuardPref::Auto,
                schedtrace: 0,
                asyncpreemptoff: false,
                membarrier: true,
                traceback: crate::traceback::LEVEL_SINGLE,
            }
        );
    }

    #[test]
    fn maxprocs_precedence_and_errors() {
        assert_eq!(cfg(&[("GORT_MAXPROCS", "3"), ("GOMAXPROCS", "5")]).unwrap().procs, Some((3, "GORT_MAXPROCS")));
        assert_eq!(cfg(&[("GOMAXPROCS", "5")]).unwrap().procs, Some((5, "GOMAXPROCS")));
        assert_eq!(cfg(&[("GORT_MAXPROCS", ""), ("GOMAXPROCS", "2")]).unwrap().procs, Some((2, "GOMAXPROCS")));
        for bad in ["0", "-1", "x", "1025", "2.5"] {
            assert_eq!(cfg(&[("GORT_MAXPROCS", bad)]), Err(Error::Inval), "{bad}");
        }
        assert_eq!(cfg(&[("GORT_MAXPROCS", "1024")]).unwrap().procs, Some((1024, "GORT_MAXPROCS")));
    }

    #[test]
    fn stack_sizes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("64k"), Some(65536));
        assert_eq!(parse_size("64K"), Some(65536));
        assert_eq!(parse_size("2m"), Some(2 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        for s in ["", "k", "1x", "-4k", "1.5m", "99999999999999999999g"] {
            assert_eq!(parse_size(s), None, "{s}");
        }
        assert_eq!(cfg(&[("GORT_STACKSIZE", "256k")]).unwrap().stack_size, 256 << 10);
        assert_eq!(cfg(&[("GORT_STACKSIZE", "8k")]), Err(Error::Inval));
        assert_eq!(cfg(&[("GORT_STACKSIZE", "2g")]), Err(Error::Inval));
    }

    #[test]
    fn debug_keys() {
        let c = cfg(&[("GORT_DEBUG", "inittrace=1, guard=canary ,")]).unwrap();
        assert!(c.inittrace);
        assert_eq!(c.guard, GuardPref::Canary);
        for bad in ["bogus=1", "garbage", "inittrace=1,unknown=7", "inittrace", "=1", "inittace=1"] {
            assert_eq!(cfg(&[("GORT_DEBUG", bad)]), Err(Error::Inval), "{bad}");
        }
        assert_eq!(cfg(&[("GORT_DEBUG", "inittrace=yes")]), Err(Error::Inval));
        assert_eq!(cfg(&[("GORT_DEBUG", "schedtrace=250")]).unwrap().schedtrace, 250);
        assert_eq!(cfg(&[("GORT_DEBUG", "schedtrace=-1")]), Err(Error::Inval));
        assert_eq!(cfg(&[("GORT_DEBUG", "guard=steel")]), Err(Error::Inval));
        let c = cfg(&[("GORT_DEBUG", "asyncpreemptoff=1,membarrier=0")]).unwrap();
        assert!(c.asyncpreemptoff && !c.membarrier);
        assert_eq!(cfg(&[("GORT_DEBUG", "membarrier=yes")]), Err(Error::Inval));
        assert!(!cfg(&[("GORT_DEBUG", "containermaxprocs=0")]).unwrap().containermaxprocs);
        assert!(cfg(&[("GORT_DEBUG", "containermaxprocs=1")]).unwrap().containermaxprocs);
        assert_eq!(cfg(&[("GORT_DEBUG", "containermaxprocs=off")]), Err(Error::Inval));
    }

    #[test]
    fn traceback_levels() {
        use crate::traceback::*;
        for (v, want) in [("none", LEVEL_NONE), ("0", LEVEL_NONE), ("single", LEVEL_SINGLE), ("all", LEVEL_ALL), ("system", LEVEL_ALL), ("crash", LEVEL_CRASH), (" all ", LEVEL_ALL)] {
            assert_eq!(cfg(&[("GORT_TRACEBACK", v)]).unwrap().traceback, want, "{v}");
        }
        for bad in ["everything", "3", "al"] {
            assert_eq!(cfg(&[("GORT_TRACEBACK", bad)]), Err(Error::Inval), "{bad}");
        }
    }
}
