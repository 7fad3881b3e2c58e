"""Writes bench/RESULTS.md (the table of figures beside their baselines, the
machine, the load on it) and bench/throughput.png (gnuplot)."""

import datetime
import os
import platform
import subprocess


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release()}


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt(value, unit=""):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return text + (" " + unit if unit else "")


def plot(png, slices, drain, data_dir):
    """slices: [(second, ours_rps, ours_p99, base_rps, base_p99)];
    drain: [(second, accepted_per_s, persisted_per_s)]."""
    s_path, d_path = os.path.join(data_dir, "slices.dat"), os.path.join(data_dir, "drain.dat")
    with open(s_path, "w") as f:
        f.writelines(" ".join(str(v) for v in row) + "\n" for row in slices)
    with open(d_path, "w") as f:
        f.writelines(" ".join(str(v) for v in row) + "\n" for row in drain)
    top = f"""
set title 'Buy endpoint, embedded profile vs minimal Poco server (wrk -c 50, one 1-s run per point, in turn)'
set xlabel 'second'
set ylabel 'requests/s'
set y2label 'p99 latency (ms)'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key outside bottom center horizontal
plot '{s_path}' using 1:2 with linespoints title 'flashsale rps', \\
     '{s_path}' using 1:4 with linespoints title 'baseline rps', \\
     '{s_path}' using 1:3 axes x1y2 with lines dashtype 2 title 'flashsale p99', \\
     '{s_path}' using 1:5 axes x1y2 with lines dashtype 2 title 'baseline p99'
"""
    bottom = f"""
set title 'Default stack (redis + dev broker + sqlite): /healthz counters sampled each second'
set ylabel 'per second'
unset y2label
unset y2tics
plot '{d_path}' using 1:2 with linespoints title 'buy accepted/s', \\
     '{d_path}' using 1:3 with linespoints title 'orders persisted/s'
"""
    panels = ([top] if slices else []) + ([bottom] if drain else [])
    script = (f"set terminal pngcairo size 1000,{400 * len(panels)} noenhanced\nset output '{png}'\n"
              f"set multiplot layout {len(panels)},1\n" + "".join(panels) + "unset multiplot\n")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def write(path, rows, notes, started, load_before, load_after, extra_sections):
    m = machine()
    # Only the load before counts: during and right after the run it is the
    # benchmark's own (wrk, servers, Redis).
    shared = float(load_before.split()[0]) > 0.5
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `make bench` on {started:%Y-%m-%d %H:%M} UTC. Machine: {m['nproc']} CPUs, "
        f"{m['cpu']}, Linux {m['kernel']}. Everything on loopback; client and server share the CPUs.",
        "",
        f"Load average before the run: {load_before}; after: {load_after}."
        + (" **The machine was busy with other work when the run started**, so absolute figures are noisy; "
           "the buy and GET /livez ratios are medians of interleaved rounds (see their sections), the others compare "
           "measurements taken minutes apart in the same run." if shared else ""),
        "",
        "| figure | ours | baseline | ratio | target | command |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['figure']} | {r['ours']} | {r['baseline']} | {r['ratio']} | {r['target']} | "
                     f"`{r['command']}` |")
    lines += ["", "![throughput and p99 over the run](throughput.png)", "",
              "The upper plot is 1-second wrk runs, ours and the baseline's in turn (wrk reports percentiles only "
              "per run, so each point is its own run with fresh connections); the lower plot is the difference of "
              "/healthz counters sampled every second during the default-stack loadtest.", ""]
    for title, body in extra_sections:
        lines += [f"## {title}", "", body, ""]
    lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    text = "\n".join(lines)
    kept = kept_part(path)
    if kept:
        text += "\n" + kept
    with open(path, "w") as f:
        f.write(text)


# Everything below this line of RESULTS.md is written by hand (where the
# targets stand, comparisons that take two builds) and a new run keeps it.
KEPT_MARKER = "<!-- Written by hand below this line: bench/e2e/report.py keeps it as it is. -->"


def kept_part(path):
    """The hand-written tail of the file at `path`, from KEPT_MARKER on ("" when there is none)."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return ""
    at = text.find(KEPT_MARKER)
    return text[at:] if at >= 0 else ""


def now():
    return datetime.datetime.now(datetime.timezone.utc)
