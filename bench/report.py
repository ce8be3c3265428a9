#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turns one bench/run results dir into results.md, iops.png and the target verdicts.

Usage: bench/report.py RESULTS_DIR

Reads RESULTS_DIR/raw/ (written by bench/run), prints the Markdown report to stdout
and writes it to RESULTS_DIR/results.md, the chart to RESULTS_DIR/iops.png (gnuplot)
and the verdicts to RESULTS_DIR/raw/targets.json. Every figure comes from raw/.
"""

import glob
import json
import os
import subprocess
import sys

MODES = ("pread", "cycle")
LABEL = {
    "kernel": "kernel",
    "floor": "FUSE floor",
    "lxcfs": "LXCFS",
    "procbox": "procbox",
}


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fio_summary(doc):
    """IOPS, mean and p99 (µs) of a fio JSON document, or None when the job failed."""
    if not doc or not doc.get("jobs"):
        return None
    job = doc["jobs"][0]
    if job.get("error"):
        return None
    rd = job["read"]
    clat = rd.get("clat_ns", {})
    pct = clat.get("percentile", {})
    return {
        "iops": rd.get("iops", 0.0),
        "mean_us": clat.get("mean", 0.0) / 1e3,
        "p99_us": pct.get("99.000000", 0.0) / 1e3,
        "ios": rd.get("total_ios", 0),
    }


def fmt_num(v, digits=0):
    if v is None:
        return "—"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def fmt_ratio(a, b):
    if a is None or b is None or not b:
        return "—"
    return f"{a / b:.2f}×"


class Results:
    def __init__(self, rdir):
        self.dir = rdir
        self.raw = os.path.join(rdir, "raw")
        self.targets = []  # (id, group, file, path, status)
        with open(os.path.join(self.raw, "targets.tsv")) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 5:
                    self.targets.append(tuple(parts))
        self.meta = load_json(os.path.join(self.raw, "meta.json")) or {}
        self.jobs = [int(j) for j in str(self.meta.get("jobs", "1 4")).split()]
        self.nsenter = load_json(os.path.join(self.raw, "nsenter.json"))
        self.callgrind = load_json(os.path.join(self.raw, "callgrind.json")) or {}
        self.scale = load_json(os.path.join(self.raw, "scale.json"))
        self.content = {}
        try:
            with open(os.path.join(self.raw, "content.tsv")) as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition("\t")
                    self.content[k] = v
        except OSError:
            pass
        try:
            with open(os.path.join(rdir, "notes.txt")) as f:
                self.notes = [l.rstrip("\n") for l in f if l.strip()]
        except OSError:
            self.notes = []

    def status(self, tid):
        for t in self.targets:
            if t[0] == tid:
                return t[4]
        return "n/a (unknown target)"

    def rounds(self, tid, mode, jobs, tool):
        return [load_json(p) for p in sorted(glob.glob(
            os.path.join(self.raw, f"{tid}.{mode}.{jobs}.r*.{tool}.json")))]

    def reader(self, tid, mode, jobs):
        """The median round by IOPS (its own mean and p99 with it), plus the spread."""
        docs = [d for d in self.rounds(tid, mode, jobs, "reader") if d and d.get("ops")]
        if not docs:
            return None
        docs.sort(key=lambda d: d["iops"])
        med = dict(docs[len(docs) // 2])
        med["rounds"] = len(docs)
        med["iops_min"] = docs[0]["iops"]
        med["iops_max"] = docs[-1]["iops"]
        med["errors"] = sum(d.get("errors", 0) for d in docs)
        return med

    def reader_error(self, tid, mode, jobs):
        for d in self.rounds(tid, mode, jobs, "reader"):
            if d and d.get("first_error"):
                return d["first_error"]
        return None

    def fio(self, tid, mode, jobs):
        runs = [fio_summary(d) for d in self.rounds(tid, mode, jobs, "fio")]
        runs = sorted((r for r in runs if r), key=lambda r: r["iops"])
        return runs[len(runs) // 2] if runs else None

    def iops(self, tid, mode, jobs):
        r = self.reader(tid, mode, jobs)
        return r["iops"] if r else None


def table(res):
    out = []
    out.append("| target | file | mode | jobs | tool | IOPS | spread | mean µs | p99 µs "
               "| fio IOPS | procbox ÷ LXCFS | procbox ÷ kernel | procbox ÷ floor |")
    out.append("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tid, group, fname, _path, status in res.targets:
        name = LABEL.get(group, group)
        if status != "ok":
            out.append(f"| {name} | {fname} | — | — | — | {status} | | | | | | | |")
            continue
        for mode in MODES:
            for jobs in res.jobs:
                r = res.reader(tid, mode, jobs)
                f = res.fio(tid, mode, jobs)
                fio_cell = fmt_num(f["iops"]) if f else "—"
                if not r:
                    err = "no result"
                    if res.reader_error(tid, mode, jobs):
                        err = f"not served: {res.reader_error(tid, mode, jobs)}"
                    out.append(f"| {name} | {fname} | {mode} | {jobs} | procbox-reader "
                               f"| n/a ({err}) | | | | {fio_cell} | | | |")
                    continue
                vs_lxcfs = vs_kernel = vs_floor = "—"
                if group == "procbox":
                    vs_lxcfs = fmt_ratio(r["iops"], res.iops(f"lxcfs-{fname}", mode, jobs))
                    vs_kernel = fmt_ratio(r["iops"], res.iops(f"kernel-{fname}", mode, jobs))
                    vs_floor = fmt_ratio(r["iops"], res.iops("floor", mode, jobs))
                errs = f" ({r['errors']} errors)" if r.get("errors") else ""
                spread = f"±{(r['iops_max'] - r['iops_min']) / 2 / r['iops'] * 100:.0f}%"
                out.append(f"| {name} | {fname} | {mode} | {jobs} | procbox-reader "
                           f"| {fmt_num(r['iops'])}{errs} | {spread} | {fmt_num(r['mean_us'], 1)} "
                           f"| {fmt_num(r['p99_us'], 1)} | {fio_cell} "
                           f"| {vs_lxcfs} | {vs_kernel} | {vs_floor} |")
    ns = res.nsenter
    if ns:
        out.append(f"| nsenter -t PID -n cat | ip_forward | new process per request | 1 "
                   f"| shell loop ({ns['ops']} requests) | {fmt_num(ns['iops'])} "
                   f"| | {fmt_num(ns['mean_us'], 1)} | — | — | | | |")
    return out


def verdict(value, threshold, higher_is_better=True):
    if value is None:
        return "n/a"
    ok = value >= threshold if higher_is_better else value <= threshold
    return "MET" if ok else "NOT MET"


def targets(res):
    """Issue 8's benchmark targets, each with the measured value, threshold and verdict."""
    rows = []

    def ratio(a, b):
        return a / b if a is not None and b else None

    pb = "procbox-ip_forward"
    pb_status = res.status(pb)
    for mode in MODES:
        for jobs in res.jobs:
            v = ratio(res.iops(pb, mode, jobs), res.iops("floor", mode, jobs))
            rows.append({
                "target": f"1. ip_forward {mode} in a container ÷ FUSE floor {mode}, "
                          f"{jobs} job(s)",
                "value": v, "threshold": 0.8, "op": "≥",
                "why": None if v is not None else pb_status,
            })
    ns = res.nsenter["iops"] if res.nsenter else None
    v = ratio(res.iops(pb, "pread", 1), ns)
    rows.append({
        "target": "2. ip_forward pread (1 job) ÷ fresh `nsenter -t PID -n cat` per request",
        "value": v, "threshold": 100.0, "op": "≥",
        "why": None if v is not None else pb_status,
    })
    for fname, thr in (("uptime", 2.5), ("meminfo", 5.0)):
        for jobs in res.jobs:
            v = ratio(res.iops(f"procbox-{fname}", "pread", jobs),
                      res.iops(f"lxcfs-{fname}", "pread", jobs))
            why = None
            if v is None:
                why = res.status(f"procbox-{fname}")
                if why == "ok":
                    why = res.status(f"lxcfs-{fname}")
            rows.append({
                "target": f"3. {fname} pread in a 256 MiB container ÷ LXCFS, {jobs} job(s)",
                "value": v, "threshold": thr, "op": "≥", "why": why,
            })
    cg_floor = res.callgrind.get("floor")
    cg_pb = res.callgrind.get("procbox")
    try:
        v = float(cg_pb) / float(cg_floor)
        why = None
    except (TypeError, ValueError, ZeroDivisionError):
        v = None
        why = cg_pb if not str(cg_pb).isdigit() else cg_floor
    rows.append({
        "target": f"4. daemon instructions per warm namespaced read ÷ floor's "
                  f"(procbox {cg_pb}, floor {cg_floor})",
        "value": v, "threshold": 3.0, "op": "≤", "why": why,
    })
    sc = res.scale
    if sc:
        peak_mib = sc["peak_rss_kib"] / 1024
        sb, sa = sc.get("stats_before") or {}, sc.get("stats_after") or {}
        left = {k: (sb.get(k), sa.get(k)) for k in ("containers", "agents", "cached_fds", "sysctl_fds")}
        clean = (sc["fds_after"] <= sc["fds_before"]
                 and sc["children_after"] <= sc["children_before"]
                 and all(a is None or b is None or a <= b for b, a in left.values())
                 and sc["failed_containers"] == 0)
        counters = ", ".join(f"{k} {b}→{a}" for k, (b, a) in left.items() if b is not None)
        rows.append({
            "target": f"5. {sc['containers']} containers × 10 sysctls: peak RSS of procbox and "
                      f"its children, MiB (fds {sc['fds_before']}→{sc['fds_after']} besides "
                      f"libfuse's per-thread /dev/fuse {sc.get('fuse_fds_before', '?')}→"
                      f"{sc.get('fuse_fds_after', '?')}, children "
                      f"{sc['children_before']}→{sc['children_after']}"
                      f"{', ' + counters if counters else ''}, failed containers "
                      f"{sc['failed_containers']})",
            "value": peak_mib, "threshold": 100.0, "op": "<",
            "why": None, "extra_ok": clean,
        })
    else:
        rows.append({
            "target": "5. 500 containers × 10 sysctls: peak RSS < 100 MiB, nothing left over",
            "value": None, "threshold": 100.0, "op": "<", "why": pb_status
            if pb_status != "ok" else "n/a (skipped)",
        })

    for r in rows:
        if r["value"] is None:
            r["verdict"] = "n/a"
        elif r["op"] == "≥":
            r["verdict"] = verdict(r["value"], r["threshold"])
        elif r["op"] == "≤":
            r["verdict"] = verdict(r["value"], r["threshold"], higher_is_better=False)
        else:
            met = r["value"] < r["threshold"] and r.get("extra_ok", True)
            r["verdict"] = "MET" if met else "NOT MET"
    return rows


def chart(res):
    """A two-panel PNG: IOPS and mean latency per target, both on log scales."""
    series = [(m, j) for m in MODES for j in res.jobs]
    lines = []
    for tid, group, fname, _path, status in res.targets:
        label = f"{LABEL.get(group, group)}\\n{fname}"
        if status != "ok":
            label += "\\n(n/a)"
        iops, lat = [], []
        for mode, jobs in series:
            r = res.reader(tid, mode, jobs) if status == "ok" else None
            iops.append(f"{r['iops']:.1f}" if r else "?")
            lat.append(f"{r['mean_us']:.3f}" if r else "?")
        lines.append((label, iops, lat))
    if res.nsenter:
        ns = res.nsenter
        vals = ["?"] * len(series)
        lvals = ["?"] * len(series)
        # One process per request is closest to the cycle load with one job.
        idx = series.index(("cycle", 1)) if ("cycle", 1) in series else 0
        vals[idx] = f"{ns['iops']:.1f}"
        lvals[idx] = f"{ns['mean_us']:.3f}"
        lines.append(("nsenter+cat\\nip_forward\\n(new process\\nper request)", vals, lvals))

    dat = os.path.join(res.dir, "iops.dat")
    with open(dat, "w") as f:
        f.write("# label " + " ".join(f"{m}-{j}" for m, j in series) + " (iops, then mean_us)\n")
        for label, iops, lat in lines:
            f.write(f"\"{label}\" " + " ".join(iops) + " " + " ".join(lat) + "\n")

    n = len(series)
    titles = [f"{m}, {j} job{'s' if j > 1 else ''}" for m, j in series]
    iops_plot = ", ".join(
        f"'{dat}' using {i + 2}:xtic(1) title '{titles[i]}'" for i in range(n))
    lat_plot = ", ".join(
        f"'{dat}' using {n + i + 2}:xtic(1) title '{titles[i]}'" for i in range(n))
    meta = res.meta
    title = ("procbox benchmark: reads from inside a container "
             "(user+net+uts+ipc ns, 256 MiB memory cgroup)\\n"
             f"{meta.get('date', '')}, kernel {meta.get('kernel', '')}, "
             f"{meta.get('cpus', '?')} CPUs, {meta.get('seconds_per_run', '?')} s per cell "
             f"(median of {meta.get('rounds', '?')} rounds), procbox-reader")
    gp = os.path.join(res.dir, "iops.gp")
    png = os.path.join(res.dir, "iops.png")
    with open(gp, "w") as f:
        f.write(f"""set terminal pngcairo size 1500,1100 font 'DejaVu Sans,11'
set output '{png}'
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set grid ytics mytics
set key outside top center horizontal
set bmargin 5
set xtics font ',10' noenhanced
set multiplot layout 2,1 title "{title}" font ',13'
set title 'IOPS (higher is better; log scale)'
set ylabel 'operations / s'
set format y '%.0s%c'
set yrange [10:*]
plot {iops_plot}
set title 'mean latency per operation (lower is better; log scale)'
set ylabel 'µs'
set format y '%g'
set yrange [0.1:*]
plot {lat_plot}
unset multiplot
""")
    try:
        subprocess.run(["gnuplot", gp], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        msg = getattr(e, "stderr", "") or str(e)
        return f"chart failed: {msg.strip()}"
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 1
    res = Results(sys.argv[1])
    out = []
    m = res.meta
    out.append(f"# procbox benchmark, {m.get('date', '?')}")
    out.append("")
    out.append(f"Kernel {m.get('kernel', '?')}, {m.get('cpus', '?')} CPUs, "
               f"{m.get('seconds_per_run', '?')} s per cell, {m.get('lxcfs', '?')}, "
               f"{m.get('fio', '?')}, procbox {m.get('procbox_commit', '?')} "
               f"({m.get('procbox_bin', '?')}).")
    out.append("Every reader runs inside one container: its own user (root mapped), network, "
               "UTS and IPC namespaces, in a memory cgroup limited to "
               f"{m.get('container_memory_limit_mib', 256)} MiB.")
    out.append("procbox-reader: pread = open once, pread(fd, buf, 4096, 0) in a loop; cycle = "
               "open + read(4096) + close. IOPS over all jobs; latency per operation. "
               f"Each cell is the median of {m.get('rounds', '?')} interleaved rounds; spread is "
               "half the range of the rounds' IOPS around that median. With 4 jobs on "
               f"{m.get('cpus', '?')} CPUs, a mean above p99 is time spent waiting for a CPU.")
    out.append("fio IOPS: bench/jobs/{pread,cycle}.fio, 1-byte reads at offset 0 "
               "(fio cannot do a 4096-byte read of a shorter file, nor read a file whose "
               "st_size is 0, such as the kernel's /proc files).")
    out.append("")
    out.extend(table(res))
    out.append("")
    out.append("## Issue 8 targets")
    out.append("")
    rows = targets(res)
    for r in rows:
        val = "n/a" if r["value"] is None else f"{r['value']:.2f}"
        line = f"- {r['target']}: {val} (target {r['op']} {r['threshold']:g}) **{r['verdict']}**"
        if r["verdict"] == "n/a" and r.get("why"):
            why = r["why"]
            if why.startswith("n/a (") and why.endswith(")"):
                why = why[5:-1]
            line += f": {why}"
        out.append(line)
    with open(os.path.join(res.raw, "targets.json"), "w") as f:
        json.dump(rows, f, indent=1, default=str)
    out.append("")
    if res.content:
        out.append("## What the container sees")
        out.append("")
        for k, v in res.content.items():
            out.append(f"- {k}: `{v}`")
        out.append("")
    if res.notes:
        out.append("## Notes")
        out.append("")
        out.extend(f"- {n}" for n in res.notes)
        out.append("")
    err = chart(res)
    out.append(f"Chart: {os.path.join(res.dir, 'iops.png')}" if not err else err)
    text = "\n".join(out) + "\n"
    with open(os.path.join(res.dir, "results.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
