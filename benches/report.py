#!/usr/bin/env python3
"""benches/report.py: turns the BENCH lines of scripts/bench.sh into one table.

    report.py RAW META OUT_MD OUT_PNG

RAW holds every line the benchmark programs printed, each BENCH line with
` round=R` appended by bench.sh, plus `FAILED ...` lines for runs that did
not complete. META holds `key: value` lines describing the machine and the
run. The table goes to stdout and, with the machine description and notes,
to OUT_MD; a chart of the ratios goes to OUT_PNG (matplotlib; skipped with a
warning when it is not installed).

Each program prints, per metric, the median over its own runs; the table
shows the median of those medians over the rounds. Ratios are peer / gort
for lower-is-better metrics and gort / peer for higher-is-better ones, so a
ratio above 1 always means gort did better.

Two tables: the scheduler rows (peers Go and Boost.Fiber) and the I/O and
blocking-call rows (peers Go, tokio and the plain epoll server "c-epoll",
the floor: shown, but not one of the peers gort has to beat).
"""
import os
import re
import statistics
import sys
from collections import defaultdict

IMPLS = ["gort", "go", "boost", "tokio", "c-epoll"]
PEERS = ["go", "boost", "tokio", "c-epoll"]
PEER_NAMES = {"go": "Go", "boost": "Boost.Fiber", "tokio": "tokio", "c-epoll": "C epoll"}
SCHED_PEERS = ["go", "boost"]
IO_PEERS = ["go", "tokio", "c-epoll"]
# The floor, not a competitor: a single-threaded epoll loop with no runtime.
REFERENCE = {"c-epoll"}

# (metric, procs, label, better, target) with target = (op, value, text).
# better: "lower" or "higher". Rows whose metric nobody printed are dropped.
M = 1_000_000
ROWS = [
    ("switch", 1, "raw context switch, one-way", "lower", ("<=", 2, "<= 2 ns")),
    ("yield", 1, "yield", "lower", ("<=", 25, "<= 25 ns")),
    ("yield", 2, "yield", "lower", None),
    ("chan_pingpong", 1, "unbuffered chan ping-pong, round trip", "lower", ("<=", 150, "<= 150 ns")),
    ("chan_pingpong", 2, "unbuffered chan ping-pong, round trip", "lower", None),
    ("ring", 1, "ring of 1,000, per hop", "lower", ("<=", 100, "<= 100 ns")),
    ("ring", 2, "ring of 1,000, per hop", "lower", None),
    ("spawn_chained", 1, "chained spawn+exit, per goroutine", "lower", ("<=", 100, "<= 100 ns")),
    ("spawn_chained", 2, "chained spawn+exit, per goroutine", "lower", ("<=", 100, "<= 100 ns")),
    ("spawn_fanout", 1, "fan-out spawn + waitgroup, per goroutine", "lower", None),
    ("spawn_fanout", 2, "fan-out spawn + waitgroup, per goroutine", "lower", None),
    ("skynet", 1, "skynet, total", "lower", None),
    ("skynet", 2, "skynet, total", "lower", ("<=", 300, "<= 300 ms")),
    ("skynet_rss", 1, "skynet, peak RSS", "lower", None),
    ("skynet_rss", 2, "skynet, peak RSS", "lower", ("<=", 200, "<= 200 MB")),
    ("skynet_speedup", 2, "skynet speedup, 2 Ps vs 1 P", "higher", (">=", 1.6, ">= 1.6x")),
    ("mutex4", 1, "mutex, 4 goroutines, per lock/unlock", "lower", None),
    ("mutex4", 2, "mutex, 4 goroutines, per lock/unlock", "lower", None),
    ("mutex100", 1, "mutex, 100 goroutines, per lock/unlock", "lower", None),
    ("mutex100", 2, "mutex, 100 goroutines, per lock/unlock", "lower", None),
    ("parked", 2, "parked at once", "higher", (">=", M, "1M")),
    ("parked_guarded", 2, "parked: stacks with a guard page", "higher", (">=", M, "1M guarded")),
    ("parked_rss", 2, "parked: RSS per goroutine", "lower", ("<=", 4.5, "<= 4.5 KB")),
    ("parked_maps_delta", 2, "parked: mappings added", "lower", ("<=", 16, "<= 16")),
    ("parked_maps", 2, "parked: mappings in all", "lower", None),
    ("timer_p50", 1, "sleep wake-up lateness p50", "lower", None),
    ("timer_p50", 2, "sleep wake-up lateness p50", "lower", None),
    ("timer_p99", 1, "sleep wake-up lateness p99", "lower", None),
    ("timer_p99", 2, "sleep wake-up lateness p99", "lower", None),
]


def relative(text, *conds):
    """A target judged against peers' figures of the same run: each cond is
    (peer, op, factor), e.g. ("c-epoll", "<=", 1.05) for gort <= 1.05 x
    c-epoll's figure. A missing peer figure leaves the target unjudged."""
    def judge(vals):
        g = vals.get("gort")
        missing = [p for p, _, _ in conds if vals.get(p) is None]
        if g is None:
            return None, ""
        if missing:
            return None, "n/a (no " + ", ".join(PEER_NAMES[p] for p in missing) + ")"
        ok = all((g <= f * vals[p]) if op == "<=" else (g < f * vals[p]) for p, op, f in conds)
        return ok, ""
    return ("rel", judge, text)


# The I/O and blocking-call rows (scripts/bench.sh: echo, idle, syscall, hog).
ECHO_CPU_TARGET = relative("<= 1.05x C epoll, < Go, < tokio",
                           ("c-epoll", "<=", 1.05), ("go", "<", 1), ("tokio", "<", 1))
IO_ROWS = [
    ("echo_cpu_64", 1, "echo 64 B, server CPU per round trip", "lower", ECHO_CPU_TARGET),
    ("echo_cpu_512", 1, "echo 512 B, server CPU per round trip", "lower", ECHO_CPU_TARGET),
    ("echo_rate_64", 1, "echo 64 B, round trips per second", "higher", None),
    ("echo_rate_512", 1, "echo 512 B, round trips per second", "higher", None),
    ("idle_rss", 1, "idle connections, RSS per connection", "lower", relative("<= Go", ("go", "<=", 1))),
    ("syscall_pair", 1, "entersyscall + exitsyscall pair", "lower", ("<=", 10, "<= 10 ns")),
    ("hog_p50", 1, "sleep lateness beside a C spin loop, p50", "lower", relative("<= Go", ("go", "<=", 1))),
    ("hog_p99", 1, "sleep lateness beside a C spin loop, p99", "lower", relative("<= Go", ("go", "<=", 1))),
]

# Targets that assume the full sizes (1M leaves, 1M goroutines).
FULL_SIZE_TARGETS = {"skynet", "skynet_rss", "skynet_speedup", "parked", "parked_guarded"}

UNIT_SHORT = {
    "ns/switch": "ns", "ns/yield": "ns", "ns/roundtrip": "ns", "ns/hop": "ns",
    "ns/goroutine": "ns", "ns/lock": "ns", "ms": "ms", "MB": "MB", "us": "us",
    "KB/goroutine": "KB", "mappings": "", "goroutines": "", "x": "x",
    "ns/pair": "ns", "roundtrips/s": "1/s", "KB/conn": "KB",
}

LINE = re.compile(r"(\w+)=(\S+)")


def parse(raw_path):
    """Returns samples[(name, procs, impl)] = [median per round],
    by_round[(name, procs, impl)] = {round: median}, units,
    extras[(name, procs, impl)] = {key: value} of the last line, failures."""
    samples = defaultdict(list)
    by_round = defaultdict(dict)
    units = {}
    extras = {}
    failures = []
    with open(raw_path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("FAILED"):
                failures.append(line[len("FAILED"):].strip())
                continue
            if not line.startswith("BENCH "):
                continue
            kv = dict(LINE.findall(line))
            try:
                key = (kv["name"], int(kv["procs"]), kv["impl"])
                samples[key].append(float(kv["median"]))
                if "round" in kv:
                    by_round[key][int(kv["round"])] = float(kv["median"])
            except (KeyError, ValueError):
                continue
            units[kv["name"]] = kv.get("unit", "")
            extras[key] = kv
    return samples, by_round, units, extras, failures


def med(v):
    return statistics.median(v) if v else None


def fmt(v):
    if v is None:
        return "—"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 100000 and float(v).is_integer():
        return f"{int(v):,}"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def ratio(gort, peer, better):
    if gort is None or peer is None or gort <= 0 or peer <= 0:
        return None
    return peer / gort if better == "lower" else gort / peer


def paired_speedup(by_round, impl):
    """skynet's 2 P speedup as the median over rounds of (1 P ms / 2 P ms)
    of the same round: bench.sh runs both back to back, so each ratio
    compares runs made in the same phase of the host, which a ratio of
    separate medians would not. None when no round has both."""
    one, two = by_round.get(("skynet", 1, impl), {}), by_round.get(("skynet", 2, impl), {})
    ratios = [one[r] / two[r] for r in sorted(one.keys() & two.keys()) if two[r] > 0]
    return (med(ratios), len(ratios)) if ratios else (None, 0)


def build_table(specs, peers, samples, by_round, units, extras, quick):
    """One table: a row per spec whose metric somebody printed. `peers` are
    its comparison columns; "gort beats peers" leaves out the REFERENCE ones."""
    agg = {k: med(v) for k, v in samples.items()}
    rounds = {k: len(v) for k, v in samples.items()}
    # the derived speedup row
    for impl in IMPLS:
        sp, n = paired_speedup(by_round, impl)
        if sp:
            agg[("skynet_speedup", 2, impl)] = sp
            rounds[("skynet_speedup", 2, impl)] = n
    units["skynet_speedup"] = "x"
    rows = []
    for name, procs, label, better, target in specs:
        vals = {impl: agg.get((name, procs, impl)) for impl in IMPLS}
        if all(v is None for v in vals.values()):
            continue
        unit = UNIT_SHORT.get(units.get(name, ""), units.get(name, ""))
        size = ""
        ex = {}
        for impl in IMPLS:
            ex = extras.get((name, procs, impl)) or ex
            if ex:
                break
        if name.startswith("skynet"):
            ex = extras.get(("skynet", procs, "gort")) or extras.get(("skynet", 1, "gort")) or {}
            if "leaves" in ex:
                size = f"{int(ex['leaves']):,} leaves"
        elif name.startswith("parked") or name.startswith("timer") or name.startswith("spawn"):
            if "goroutines" in ex:
                size = f"{int(ex['goroutines']):,}"
        elif name.startswith("echo") or name.startswith("idle"):
            if "conns" in ex:
                size = f"{int(ex['conns']):,} connections"
        ratios = {p: ratio(vals["gort"], vals[p], better) for p in peers}
        compete = [p for p in peers if p not in REFERENCE and vals[p] is not None]
        if vals["gort"] is None:
            best = "—"
        elif not compete:
            best = "(no peer)"
        else:
            best = "yes" if all(ratios[p] is not None and ratios[p] >= 1 for p in compete) else "no"
        tgt_text, met = "", ""
        if target:
            op, tv, tgt_text = target
            if quick and name in FULL_SIZE_TARGETS:
                met = "n/a (quick)"
            elif vals["gort"] is None:
                met = "—"
            elif op == "rel":
                ok, why = tv(vals)
                met = why or ("—" if ok is None else "yes" if ok else "**no**")
            else:
                ok = vals["gort"] <= tv if op == "<=" else vals["gort"] >= tv
                met = "yes" if ok else "**no**"
        rows.append({
            "name": name, "procs": procs, "label": label, "unit": unit, "size": size,
            "vals": vals, "ratios": ratios, "better": better, "best": best, "peers": peers,
            "target": tgt_text, "met": met,
            "rounds": max((rounds.get((name, procs, i), 0) for i in IMPLS), default=0),
        })
    return rows


def ratio_cell(r, p, none):
    x = r["ratios"].get(p)
    return f"{x:.2f}x" if x else none


def markdown_table(rows, peers):
    head = (["benchmark", "Ps", "unit", "gort"] + [PEER_NAMES[p] for p in peers]
            + [f"{PEER_NAMES[p].split('.')[0]}/gort" for p in peers]
            + ["gort beats peers", "gort target", "target met"])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        label = r["label"] + (f" ({r['size']})" if r["size"] else "")
        if r["better"] == "higher":
            label += " (higher is better)"
        cells = ([label, str(r["procs"]), r["unit"] or "count", fmt(r["vals"]["gort"])]
                 + [fmt(r["vals"][p]) for p in peers]
                 + [ratio_cell(r, p, "—") for p in peers]
                 + [r["best"], r["target"] or "", r["met"] or ""])
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def text_table(rows, peers):
    head = (["benchmark", "Ps", "unit", "gort"] + peers + [f"{p}/gort" for p in peers]
            + ["best", "target", "met"])
    body = []
    for r in rows:
        label = r["label"] + (f" ({r['size']})" if r["size"] else "")
        body.append([label, str(r["procs"]), r["unit"] or "count", fmt(r["vals"]["gort"])]
                    + [fmt(r["vals"][p]) for p in peers]
                    + [ratio_cell(r, p, "-") for p in peers]
                    + [r["best"], r["target"], r["met"].replace("**", "")])
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(b, widths)))
    return "\n".join(lines)


def chart(rows, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib not available, no chart", file=sys.stderr)
        return False
    rs = [r for r in rows if any(r["ratios"].get(p) for p in PEERS)]
    shown = [p for p in PEERS if any(r["ratios"].get(p) for r in rs)]
    labels = [f"{r['label']} ({r['procs']}P)" for r in rs]
    fig, ax = plt.subplots(figsize=(11, 0.21 * max(2, len(shown)) * len(rs) + 1.6))
    h = 0.76 / max(1, len(shown))
    colors = {"go": "#00add8", "boost": "#c0392b", "tokio": "#6a3d9a", "c-epoll": "#7f7f7f"}
    for j, p in enumerate(shown):
        ys = [i + (j - (len(shown) - 1) / 2) * h for i in range(len(rs))]
        xs = [r["ratios"].get(p) or 0 for r in rs]
        ax.barh(ys, [x if x > 0 else float("nan") for x in xs], height=h,
                color=colors.get(p, "#999999"), label=f"{PEER_NAMES[p]} / gort")
        for y, x in zip(ys, xs):
            if x > 0:
                txt = f"{x:,.0f}x" if x >= 100 else f"{x:.2g}x"
                ax.text(x * 1.04, y, txt, va="center", fontsize=7)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rs)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ratio (log scale): > 1 means gort is better (faster, smaller, more)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    raw, meta_path, out_md, out_png = sys.argv[1:]
    meta, run_notes = [], []
    with open(meta_path) as f:
        for line in f:
            if ":" in line:
                k, v = line.rstrip("\n").split(":", 1)
                if k.strip() == "note":
                    run_notes.append(v.strip())
                else:
                    meta.append((k.strip(), v.strip()))
    md = dict(meta)
    quick = md.get("mode", "").startswith("QUICK")
    samples, by_round, units, extras, failures = parse(raw)
    rows = build_table(ROWS, SCHED_PEERS, samples, by_round, units, extras, quick)
    io_rows = build_table(IO_ROWS, IO_PEERS, samples, by_round, units, extras, quick)

    if rows:
        print(text_table(rows, SCHED_PEERS))
    if io_rows:
        print(("\n" if rows else "") + text_table(io_rows, IO_PEERS))
    print("\nratio = peer / gort (gort / peer for rows marked higher-is-better): > 1 means gort did better")
    if failures:
        print("\nfailed runs:")
        for fl in failures:
            print("  " + fl)

    vs = ("Go, Boost.Fiber, tokio and C epoll" if rows and io_rows
          else "Go, tokio and C epoll" if io_rows else "Go and Boost.Fiber")
    title = f"gort vs {vs} ({md.get('date', '')}, {md.get('cpu', '')})"
    if quick:
        title = "QUICK SMOKE RUN, not representative: " + title
    have_chart = chart(rows + io_rows, out_png, title)

    # The method and the peers' configuration: benches/README.md, from its
    # "## Method" heading on.
    readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")
    method = ""
    if os.path.exists(readme):
        text = open(readme).read()
        i = text.find("## Method")
        method = text[i:] if i >= 0 else ""
    with open(out_md, "w") as f:
        f.write(f"# Benchmarks: gort vs {vs}\n\n")
        f.write("Generated by `scripts/bench.sh` (issue 4); do not edit by hand: re-run it.\n\n")
        if quick:
            f.write("**QUICK SMOKE RUN (GORT_BENCH_QUICK=1): fewer rounds and smaller sizes; "
                    "the figures are not representative and the full-size targets are not judged.**\n\n")
        f.write("## Machine and run\n\n")
        for k, v in meta:
            if k == "mode":
                continue
            f.write(f"- **{k}**: {v}\n")
        f.write(f"- **mode**: {md.get('mode', '')}\n")
        f.write("\n## Results\n\n")
        f.write("Medians over the rounds of each program's own median (lower is better unless the row says "
                "otherwise). **Ratio = peer / gort** (gort / peer on higher-is-better rows), so a ratio "
                "above 1 means gort did better. \"gort beats peers\": gort's figure is at least as good as "
                "every peer's in this run. \"target met\" compares gort with the targets of issue 4 "
                "(for the I/O rows, the I/O targets: see \"Targets\" below). "
                "The skynet speedup is the median over rounds of each round's 1 P / 2 P ratio (both "
                "measured back to back).\n\n")
        if rows:
            f.write(markdown_table(rows, SCHED_PEERS) + "\n\n")
        if io_rows:
            f.write("### I/O and blocking calls\n\n")
            f.write("Peers: Go, tokio and C epoll, a single-threaded level-triggered epoll loop with no "
                    "runtime: the floor, shown with its ratio but not counted in \"gort beats peers\". "
                    "Relative targets (\"<= 1.05x C epoll\", \"< Go\", \"<= Go\") are judged against "
                    "the peers' figures of the same run. Method: benches/README.md, \"I/O shapes\".\n\n")
            f.write(markdown_table(io_rows, IO_PEERS) + "\n\n")
        if have_chart:
            f.write("![ratios](benchmarks.png)\n\n")
        if failures:
            f.write("### Runs that failed\n\n")
            for fl in failures:
                f.write(f"- `{fl}`\n")
            f.write("\n")
        if run_notes:
            f.write("### Notes from this run\n\n")
            for n in run_notes:
                f.write(f"- {n}\n")
            f.write("\n")
        f.write(method)


if __name__ == "__main__":
    main()
