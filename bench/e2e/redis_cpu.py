"""The `redis-cpu` phase: what one accepted buy costs Redis on the redis
profile, end to end. The server runs etc/redis.properties (rate limit,
admission, outbox, request states and notify on one Redis; the in-process
relay and consumer run, so the outbox read/ack/trim/claim and notify are in
the figures), wrk buys with bench/e2e/buy_result.lua (a distinct user per buy
and one GET /result per accepted buy), and the run is over once every accepted
buy is final and its outbox entry acked. Redis's `INFO cpu` (used_cpu_sys +
used_cpu_user) and `INFO commandstats` before and after give the CPU per
accepted buy and each command's calls and time per accepted buy.

Beside it the floor: redis-benchmark on the same Redis calling a minimal
stock-deduct script (DECR if positive) by EVALSHA, with its CPU per call
from `INFO cpu`: what any script-per-buy design pays Redis at the least."""

import os
import statistics
import subprocess
import time

import clients
import processes

RUNS = 3
RUN_SECONDS = 5
CONNECTIONS = 50
STOCK = 10_000_000
STREAM, GROUP = "flash_sale:order_events", "flash-sale-relay-group"
FLOOR_CALLS = 300_000
FLOOR_SCRIPT = ("local n = tonumber(redis.call('GET', KEYS[1])) "
                "if n and n > 0 then return redis.call('DECR', KEYS[1]) end return -1")
FLOOR_KEY = "bench:floor:{p:1}:stock"


def info(cli, section):
    """INFO <section> as {field: text}."""
    out = subprocess.run(cli + ["INFO", section], capture_output=True, text=True, check=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line and not line.startswith("#"))


def cpu_seconds(cli):
    fields = info(cli, "cpu")
    return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"])


def commandstats(cli):
    """{command: (calls, usec)} of INFO commandstats."""
    stats = {}
    for name, text in info(cli, "commandstats").items():
        fields = dict(kv.split("=", 1) for kv in text.split(","))
        stats[name[len("cmdstat_"):]] = (int(fields["calls"]), int(fields["usec"]))
    return stats


def finished(addr):
    counters = clients.http(addr, "GET", "/healthz")["counters"]
    return counters["buy_accepted"], counters["finished_success"] + counters["finished_failed"]


def wait_settled(addr, cli, timeout=120):
    """Until every accepted buy is final and no outbox entry is pending: the
    whole path of every buy so far has run. Returns the accepted count."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        accepted, final = finished(addr)
        pending = subprocess.run(cli + ["XPENDING", STREAM, GROUP], capture_output=True, text=True,
                                 check=True).stdout.split()
        if final >= accepted and pending and pending[0] == "0":
            return accepted
        time.sleep(0.05)
    raise RuntimeError(f"not settled within {timeout} s: {finished(addr)} (accepted, final)")


def measure(addr, cli, product, user_base):
    """One wrk run: the deltas of accepted buys, lookups, Redis CPU and commandstats."""
    accepted0 = wait_settled(addr, cli)
    cpu0, stats0 = cpu_seconds(cli), commandstats(cli)
    wrk, command = clients.wrk(addr, RUN_SECONDS, CONNECTIONS, product=product, user_base=user_base,
                               script="buy_result.lua")
    accepted = wait_settled(addr, cli) - accepted0
    cpu, stats = cpu_seconds(cli) - cpu0, commandstats(cli)
    delta = {name: (calls - stats0.get(name, (0, 0))[0], usec - stats0.get(name, (0, 0))[1])
             for name, (calls, usec) in stats.items()}
    delta = {name: d for name, d in delta.items() if d[0] > 0}
    return {"accepted": accepted, "requests": wrk["requests"], "rps": wrk["rps"], "cpu_s": cpu,
            "cpu_us_per_buy": cpu * 1e6 / max(1, accepted), "commands": delta}, command


def floor(cli, addr):
    """redis-benchmark EVALSHA of FLOOR_SCRIPT: Redis CPU per call (INFO cpu) and usec per call (commandstats)."""
    sha = subprocess.run(cli + ["SCRIPT", "LOAD", FLOOR_SCRIPT], capture_output=True, text=True,
                         check=True).stdout.strip()
    subprocess.run(cli + ["SET", FLOOR_KEY, str(10**12)], check=True, capture_output=True)
    cpu0, stats0 = cpu_seconds(cli), commandstats(cli).get("evalsha", (0, 0))
    rps, _, _, command = clients.redis_benchmark(addr, ["EVALSHA", sha, "1", FLOOR_KEY], FLOOR_CALLS, CONNECTIONS)
    cpu, stats = cpu_seconds(cli) - cpu0, commandstats(cli)["evalsha"]
    calls = stats[0] - stats0[0]
    return {"cpu_us_per_call": cpu * 1e6 / calls, "usec_per_call": (stats[1] - stats0[1]) / calls, "rps": rps,
            "command": command.replace(sha, "<sha of the DECR-if-positive script>")}


def redis_cpu(build):
    """Returns (rows for the results table, a markdown section, the detail)."""
    redis, raddr = processes.start_redis()
    server = None
    cli = ["redis-cli", "-p", raddr.split(":")[1]]
    try:
        env = {"REDIS_ADDR": raddr, "DB_PATH": "bench.db", "ORDER_EVENT_STREAM": STREAM, "ORDER_EVENT_GROUP": GROUP}
        server, addr = processes.start_server(build, env, "redis-cpu", config="etc/redis.properties")
        product = clients.create_product(addr, STOCK)
        clients.wrk(addr, 2, CONNECTIONS, product=product, user_base=1, script="buy_result.lua")  # warm-up
        runs = []
        for i in range(RUNS):
            run, command = measure(addr, cli, product, user_base=1 + (i + 1) * 10**11)
            runs.append(run)
        server.stop()
        server = None
        bottom = floor(cli, raddr)
    finally:
        for p in (server, redis):
            if p:
                p.stop()
    return summarize(runs, bottom, command)


def summarize(runs, bottom, command):
    accepted = sum(r["accepted"] for r in runs)
    totals = {}
    for r in runs:
        for name, (calls, usec) in r["commands"].items():
            c, u = totals.get(name, (0, 0))
            totals[name] = (c + calls, u + usec)
    per_buy = statistics.median(r["cpu_us_per_buy"] for r in runs)
    lines = ["| command | calls per accepted buy | µs per accepted buy (commandstats) |", "|---|---|---|"]
    for name, (calls, usec) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| {name} | {calls / accepted:.3f} | {usec / accepted:.2f} |")
    lines.append(f"| **Redis CPU (INFO cpu), median of {len(runs)} runs** | | **{per_buy:.1f}** |")
    lines.append(f"| floor: EVALSHA DECR-if-positive, per call | 1 | {bottom['cpu_us_per_call']:.1f} "
                 f"(commandstats {bottom['usec_per_call']:.2f}) |")
    what = (f"{len(runs)} runs of {command} (product stock {STOCK:,}) against flashsale-server --config "
            "etc/redis.properties, each until every accepted buy is final and its outbox entry acked; "
            "INFO cpu and INFO commandstats of redis-server before and after")
    note = ("Commands a script calls are counted under their own name too (their time is inside the "
            "script's). Runs: " + ", ".join(f"{r['accepted']:,} buys at {r['rps']:,.0f} req/s, "
                                          f"{r['cpu_us_per_buy']:.1f} µs" for r in runs) + ".")
    table = "\n".join(lines) + "\n\n" + note + "\n\nFloor: " + bottom["command"]
    row = {"figure": "Redis CPU per accepted buy, redis profile end to end (µs, INFO cpu) vs the floor: "
                     "EVALSHA of a DECR-if-positive script (µs per call)",
           "ours": f"{per_buy:.1f} µs", "baseline": f"{bottom['cpu_us_per_call']:.1f} µs",
           "ratio": f"{per_buy / bottom['cpu_us_per_call']:.2f}x", "target": "<= 17 µs",
           "command": what + "; floor: " + bottom["command"]}
    brief = [{k: v for k, v in r.items() if k != "commands"} for r in runs]  # the commands are in the table
    return [row], table, {"runs": brief, "floor": bottom}
