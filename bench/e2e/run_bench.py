#!/usr/bin/env python3
"""`make bench`: runs every comparison of bench/README.md in one go,
each figure beside its baseline, and writes bench/RESULTS.md and
bench/throughput.png. usage: run_bench.py --build build/bench [--only PHASES]
[--results FILE]. A run of only some phases writes its RESULTS.md (and plot)
under the build dir unless --results says where, so it never replaces the
full run's figures."""

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
import redis_cluster
import redis_cpu
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


# The phases, in the order a full run takes them. `postgres-persist` and
# `stack` each start a throwaway PostgreSQL 15 (processes.Postgres) for their
# postgres figures: the persist pair of the micro-benchmarks (POSTGRES_DSN),
# and the drain capacity with persist on postgres after the sqlite one.
PHASES = ("micro", "postgres-persist", "livez", "livez-c1000", "idle-rss", "embedded", "rss", "redis", "redis-cpu",
          "redis-cluster", "stack")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build/bench")
    parser.add_argument("--only", default=",".join(PHASES), help="comma-separated phases of: " + ",".join(PHASES))
    parser.add_argument("--results", help="where RESULTS.md goes (the plot beside it); default bench/RESULTS.md "
                        "for a run of every phase, <build>/partial/RESULTS.md otherwise")
    args = parser.parse_args()
    os.chdir(ROOT)
    build = os.path.abspath(args.build)
    only = args.only.split(",")
    unknown = [name for name in only if name not in PHASES]
    if unknown:
        parser.error(f"unknown phase(s) {','.join(unknown)}; the phases are {','.join(PHASES)}")
    if args.results:
        results = os.path.abspath(args.results)
    elif set(PHASES) <= set(only):
        results = os.path.join(ROOT, "bench/RESULTS.md")
    else:
        results = os.path.join(build, "partial/RESULTS.md")
    os.makedirs(os.path.dirname(results), exist_ok=True)
    processes.raise_open_files()  # wrk -c 1000, 10,000 idle connections; the servers inherit it
    work = tempfile.mkdtemp(prefix="flashsale-bench-")
    started, load_before = report.now(), report.loadavg()
    rows, notes, sections, slices, drain, failed = [], [], [], [], [], []

    def phase(name, run):
        if name not in only:
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

    def postgres_persist():
        r, table = phases.postgres_persist(build, work)
        rows.extend(r)
        sections.append(("Persist on postgres: plugin and raw libpq, round by round", table))

    def livez(connections):
        def run():
            r, table, detail = phases.fixed_answer(build, connections)
            rows.extend(r)
            sections.append((f"GET /livez: ours, nginx and bare Poco at -c {connections} (wrk), round by round",
                             table + "\n\n" + json_block(detail)))
        return run

    def idle_rss():
        r, note = phases.idle_connection_rss(build)
        rows.extend(r)
        notes.append(note)

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

    def cpu_per_buy():
        r, table, detail = redis_cpu.redis_cpu(build)
        rows.extend(r)
        sections.append(("Redis CPU per accepted buy (redis profile, end to end) and the floor",
                         table + "\n\n" + json_block(detail)))

    def cluster():
        r, table, detail = redis_cluster.redis_cluster(build)
        rows.extend(r)
        sections.append(("One hot product on a 3-master Redis Cluster: Redis CPU per accepted buy on each master, "
                         "K = 1 and K = 3", table + "\n\n" + json_block(detail)))

    def stack():
        nonlocal drain
        r, drain, detail = phases.default_stack(build, work)
        rows.extend(r)
        sections.append(("Default stack loadtests", "```\n" + json.dumps(detail, indent=1) + "\n```"))

    runs = {"micro": micro, "postgres-persist": postgres_persist, "livez": livez(phases.CONNECTIONS),
            "livez-c1000": livez(1000), "idle-rss": idle_rss, "embedded": embedded, "rss": rss, "redis": redis,
            "redis-cpu": cpu_per_buy, "redis-cluster": cluster, "stack": stack}
    for name in PHASES:
        phase(name, runs[name])

    notes.append(f"Every buy run uses a fresh product with stock {phases.BIG_STOCK:,} and a distinct user per "
                 "request, so the path measured is the success path.")
    if slices or drain:
        report.plot(os.path.join(os.path.dirname(results), "throughput.png"), slices, drain, work)
    report.write(results, rows, notes, started, load_before, report.loadavg(), sections)
    print(open(results).read())
    print(f"written: {results}")
    shutil.rmtree(work, ignore_errors=True)  # the reports and plot data the run read back
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
