//! include/gort.h is checked in so that C users need no Rust toolchain to
//! read the API; build.rs renders the same header from the code with
//! cbindgen into OUT_DIR. This test fails when the two differ.
//! Fix: `scripts/regen-header.sh`, then commit include/gort.h.

/// The header build.rs generated for this very build.
const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/gort.h"));

#[test]
fn checked_in_header_matches_generated() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/gort.h");
    let checked_in = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    if checked_in == GENERATED {
        return;
    }
    let first_diff = checked_in
        .lines()
        .zip(GENERATED.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| checked_in.lines().count().min(GENERATED.lines().count()));
    let line = |s: &str| s.lines().nth(first_diff).unwrap_or("<end of file>").to_owned();
    panic!(
        "include/gort.h is stale: it differs from the header build.rs generates \
         ({}/gort.h), first at line {}:\n  include/gort.h: {}\n  generated:      {}\n\
         Run scripts/regen-header.sh and commit include/gort.h.",
        env!("OUT_DIR"),
        first_diff + 1,
        line(&checked_in),
        line(GENERATED),
    );
}

/// Every name the header declares at file scope (functions, types, tags,
/// macros) carries the `gort_`/`GORT_` prefix: a C header shares one
/// namespace with everything its includer declares, so an internal name
/// such as `Chan` breaks any program with a `Chan` of its own.
#[test]
fn header_declares_only_gort_names() {
    let mut bad = Vec::new();
    let mut in_comment = false;
    for (i, raw) in GENERATED.lines().enumerate() {
        let line = raw.trim_end();
        if in_comment {
            in_comment = !line.contains("*/");
            continue;
        }
        if line.trim_start().starts_with("/*") {
            in_comment = !line.contains("*/");
            continue;
        }
        if line.trim_start().starts_with("//") || line.is_empty() {
            continue;
        }
        let mut names = Vec::new();
        if let Some(rest) = line.strip_prefix("#define ") {
            names.push(ident_at_start(rest));
        } else if line.starts_with("typedef ") {
            // `typedef struct gort_x gort_x;` or `typedef R (*gort_fn)(A);`
            let decl = line.trim_end_matches(';');
            if let Some(p) = decl.find("(*") {
                names.push(ident_at_start(&decl[p + 2..]));
            } else {
                names.push(decl.rsplit(|c: char| !is_ident(c)).find(|w| !w.is_empty()).unwrap_or(""));
            }
            for tag in tags(decl) {
                names.push(tag);
            }
        } else if line.starts_with("struct ") || line.starts_with("enum ") || line.starts_with("union ") {
            names.extend(tags(line));
        } else if !line.starts_with(|c: char| c.is_whitespace() || c == '#' || c == '}' || c == '{')
            && line.contains('(')
            && !line.starts_with("extern \"C\"")
        {
            // A function declaration at column 0: the name stands before its '('.
            let head = &line[..line.find('(').unwrap()];
            names.push(head.rsplit(|c: char| !is_ident(c)).next().unwrap_or(""));
        }
        for n in names {
            if n.is_empty() || n == "GORT_H" || n.starts_with("gort_") || n.starts_with("GORT_") {
                continue;
            }
            bad.push(format!("line {}: `{n}` in `{}`", i + 1, line.trim()));
        }
    }
    assert!(bad.is_empty(), "include/gort.h declares names without the gort_/GORT_ prefix:\n  {}", bad.join("\n  "));
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ident_at_start(s: &str) -> &str {
    let s = s.trim_start();
    &s[..s.find(|c: char| !is_ident(c)).unwrap_or(s.len())]
}

/// The tags a line defines or names after `struct`/`enum`/`union`, except the
/// C library's own (`struct sockaddr`, `struct iovec`).
fn tags(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for kw in ["struct ", "enum ", "union "] {
        let mut rest = line;
        while let Some(p) = rest.find(kw) {
            let t = ident_at_start(&rest[p + kw.len()..]);
            if !matches!(t, "sockaddr" | "iovec" | "timespec") {
                out.push(t);
            }
            rest = &rest[p + kw.len()..];
        }
    }
    out
}
