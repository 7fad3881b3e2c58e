#!/usr/bin/env python3
"""`make bench`: runs every comparison of bench/README.md in one go, each
figure beside its baseline, and writes bench/RESULTS.md and
bench/throughput.png. usage: run_bench.py --build build/bench"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

import phases
import processes
import report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def json_block(detail):
    """A fenced JSON object with one line per top-level key and per round."""
    parts = []
    for key, value in detail.items():
        if key == "rounds":
            parts.append(' "rounds": [\n' + ",\n".join("  " + json.dumps(r) for r in value) + "\n ]")
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "```\n{\n" + ",\n".join(parts) + "\n}\n```"


def settle_writeback(limit_kb=8192, timeout=15):
    """Flushes what earlier phases wrote (SQLite files of 100,000s of orders)
    and waits for the kernel's writeback to finish, so it does not run during
    the next phase's measurement."""
    os.sync()
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open("/proc/meminfo") as f:
            kb = sum(int(line.split()[1]) for line in f if line.startswith(("Dirty:", "Writeback:")))
        if kb < limit_kb:
            return
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build/bench")
    parser.add_argument("--only", default="micro,embedded,rss,redis,stack", help="comma-separated phases")
    args = parser.parse_args()
    os.chdir(ROOT)
    build = os.path.abspath(args.build)
    work = tempfile.mkdtemp(prefix="flashsale-bench-")
    started, load_before = report.now(), report.loadavg()
    rows, notes, sections, slices, drain, failed = [], [], [], [], [], []

    def phase(name, run):
        if name not in args.only.split(","):
            return
        settle_writeback()
        print(f"== {name}", flush=True)
        try:
            run()
        except Exception:
            failed.append(name)
            notes.append(f"phase `{name}` failed: " + traceback.format_exc().strip().splitlines()[-1])
            traceback.print_exc()
        finally:
            processes.stop_all()

    def micro():
        r, rates = phases.micro(build, work)
        rows.extend(r)
        sections.append(("Micro-benchmarks (items/s)", "\n".join(f"- `{k}`: {v:,.0f}/s" for k, v in rates.items())))

    def embedded():
        nonlocal slices
        r, slices, table, detail = phases.embedded_buy(build, work)
        rows.extend(r)
        sections.append(("Embedded buy, ceiling and baseline (wrk), round by round",
                         table + "\n\n" + json_block(detail)))

    def rss():
        r, note = phases.embedded_rss(build, work)
        rows.extend(r)
        notes.append(note)

    def redis():
        r, table, detail = phases.redis_buy(build, ROOT)
        rows.extend(r)
        notes.append(f"EVALSHA baseline: {detail['evalsha_success_share']:.1%} of calls took the success path "
                     "(the rest found a random user lock already taken); ceiling server: "
                     f"{detail['ceiling_success_share']:.1%} of its answered requests admitted (a distinct user "
                     "each; requests still in flight when a wrk run ends are executed but not counted by wrk).")
        sections.append(("Redis-stages buy, ceiling and EVALSHA, round by round", table + "\n\n" + json_block(detail)))

    def stack():
        nonlocal drain
        r, drain, detail = phases.default_stack(build, work)
        rows.extend(r)
        sections.append(("Default stack loadtests", "```\n" + json.dumps(detail, indent=1) + "\n```"))

    for name, run in (("micro", micro), ("embedded", embedded), ("rss", rss), ("redis", redis), ("stack", stack)):
        phase(name, run)

    notes.append(f"Every buy run uses a fresh product with stock {phases.BIG_STOCK:,} and a distinct user per "
                 "request, so the path measured is the success path.")
    if slices or drain:
        report.plot(os.path.join(ROOT, "bench/throughput.png"), slices, drain, work)
    report.write(os.path.join(ROOT, "bench/RESULTS.md"), rows, notes, started, load_before, report.loadavg(),
                 sections)
    print(open(os.path.join(ROOT, "bench/RESULTS.md")).read())
    shutil.rmtree(work, ignore_errors=True)  # the reports and plot data the run read back
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
