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
from `INFO cpu`: what any script-per-buy design pays Redis at the least.

CPU time on a shared 2-core machine moves with whatever else runs (cache and
scheduler effects on Redis itself). With REDIS_CPU_CALLGRIND=1 Redis runs
under valgrind's callgrind instead, and the figures are the instructions
Redis executes in user space (callgrind_control zeroes and dumps them around
each run): they do not move with the load, so two builds compare exactly,
though the kernel's share (the sockets) is left out."""

import os
import statistics
import subprocess
import time

import clients
import processes

CALLGRIND = os.environ.get("REDIS_CPU_CALLGRIND") == "1"
RUNS = 3
RUN_SECONDS = 5
CONNECTIONS = 50
STOCK = 10_000_000
STREAM, GROUP = "flash_sale:order_events", "flash-sale-relay-group"
FLOOR_CALLS = 20_000 if CALLGRIND else 300_000
UNIT = "instructions" if CALLGRIND else "µs"
FLOOR_SCRIPT = ("local n = tonumber(redis.call('GET', KEYS[1])) "
                "if n and n > 0 then return redis.call('DECR', KEYS[1]) end return -1")
FLOOR_KEY = "bench:floor:{p:1}:stock"


def info(cli, section):
    """INFO <section> as {field: text}."""
    out = subprocess.run(cli + ["INFO", section], capture_output=True, text=True, check=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line and not line.startswith("#"))


class Meter:
    """What Redis spends between start() and stop(): CPU µs from INFO cpu
    (used_cpu_sys + used_cpu_user), or under callgrind the instructions it ran."""

    def __init__(self, cli, redis):
        self.cli, self.redis, self.before, self.sys_before = cli, redis, 0.0, 0.0
        self.sys_usec = 0.0  # of the last start()..stop(): the kernel's share (used_cpu_sys), not under callgrind

    def start(self):
        if CALLGRIND:
            subprocess.run(["callgrind_control", "-z", str(self.redis.proc.pid)], check=True, capture_output=True)
        else:
            self.before, self.sys_before = self.cpu_seconds()

    def stop(self):
        if not CALLGRIND:
            total, sys = self.cpu_seconds()
            self.sys_usec = (sys - self.sys_before) * 1e6
            return (total - self.before) * 1e6
        subprocess.run(["callgrind_control", "-d", str(self.redis.proc.pid)], check=True, capture_output=True)
        dumps = [os.path.join(self.redis.dir, f) for f in os.listdir(self.redis.dir) if f.startswith("callgrind.")]
        with open(max(dumps, key=os.path.getmtime)) as f:
            return next(float(line.split()[1]) for line in f if line.startswith("totals:"))

    def cpu_seconds(self):
        """(sys + user, sys) of INFO cpu, seconds."""
        fields = info(self.cli, "cpu")
        return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"]), float(fields["used_cpu_sys"])


def commandstats(cli):
    """{command: (calls, usec)} of INFO commandstats."""
    stats = {}
    for name, text in info(cli, "commandstats").items():
        fields = dict(kv.split("=", 1) for kv in text.split(","))
        stats[name[len("cmdstat_"):]] = (int(fields["calls"]), int(fields["usec"]))
    return stats


def io_events(cli):
    """(reads, writes) Redis has processed on its client sockets: each read is a wake-up with input."""
    fields = info(cli, "stats")
    return int(fields["total_reads_processed"]), int(fields["total_writes_processed"])


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


def measure(addr, cli, meter, product, user_base):
    """One wrk run: the deltas of accepted buys, lookups, Redis's cost and commandstats."""
    accepted0 = wait_settled(addr, cli)
    stats0, io0 = commandstats(cli), io_events(cli)
    meter.start()
    wrk, command = clients.wrk(addr, RUN_SECONDS, CONNECTIONS, product=product, user_base=user_base,
                               script="buy_result.lua")
    accepted = wait_settled(addr, cli) - accepted0
    cost, stats = meter.stop(), commandstats(cli)
    io = [after - before for after, before in zip(io_events(cli), io0)]
    delta = {name: (calls - stats0.get(name, (0, 0))[0], usec - stats0.get(name, (0, 0))[1])
             for name, (calls, usec) in stats.items()}
    delta = {name: d for name, d in delta.items() if d[0] > 0}
    return {"accepted": accepted, "requests": wrk["requests"], "rps": wrk["rps"],
            "cost_per_buy": cost / max(1, accepted), "kernel_per_buy": meter.sys_usec / max(1, accepted),
            "reads_per_buy": io[0] / max(1, accepted), "writes_per_buy": io[1] / max(1, accepted),
            "commands": delta}, command


def floor(cli, meter, addr):
    """redis-benchmark EVALSHA of FLOOR_SCRIPT: Redis's cost per call (the meter's unit) and usec per call
    (commandstats)."""
    sha = subprocess.run(cli + ["SCRIPT", "LOAD", FLOOR_SCRIPT], capture_output=True, text=True,
                         check=True).stdout.strip()
    subprocess.run(cli + ["SET", FLOOR_KEY, str(10**12)], check=True, capture_output=True)
    stats0 = commandstats(cli).get("evalsha", (0, 0))
    meter.start()
    rps, _, _, command = clients.redis_benchmark(addr, ["EVALSHA", sha, "1", FLOOR_KEY], FLOOR_CALLS, CONNECTIONS)
    cost, stats = meter.stop(), commandstats(cli)["evalsha"]
    calls = stats[0] - stats0[0]
    return {"cost_per_call": cost / calls, "kernel_per_call": meter.sys_usec / calls,
            "usec_per_call": (stats[1] - stats0[1]) / calls, "rps": rps,
            "command": command.replace(sha, "<sha of the DECR-if-positive script>")}


def callgrind(d):
    return ["valgrind", "--tool=callgrind", "--callgrind-out-file=" +
            os.path.join(d, "callgrind.%p")]


def redis_cpu(build):
    """Returns (rows for the results table, a markdown section, the detail)."""
    redis, raddr = processes.start_redis(callgrind if CALLGRIND else None)
    server = None
    cli = ["redis-cli", "-p", raddr.split(":")[1]]
    meter = Meter(cli, redis)
    try:
        env = {"REDIS_ADDR": raddr, "DB_PATH": "bench.db", "ORDER_EVENT_STREAM": STREAM, "ORDER_EVENT_GROUP": GROUP}
        server, addr = processes.start_server(build, env, "redis-cpu", config="etc/redis.properties")
        product = clients.create_product(addr, STOCK)
        clients.wrk(addr, 2, CONNECTIONS, product=product, user_base=1, script="buy_result.lua")  # warm-up
        runs = []
        for i in range(RUNS):
            run, command = measure(addr, cli, meter, product, user_base=1 + (i + 1) * 10**11)
            runs.append(run)
        server.stop()
        server = None
        bottom = floor(cli, meter, raddr)
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
    per_buy = statistics.median(r["cost_per_buy"] for r in runs)
    what = "instructions of redis-server (callgrind, user space)" if CALLGRIND else "Redis CPU (INFO cpu)"
    digits = 0 if CALLGRIND else 1
    lines = ["| command | calls per accepted buy | µs per accepted buy (commandstats) |", "|---|---|---|"]
    for name, (calls, usec) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| {name} | {calls / accepted:.3f} | {usec / accepted:.2f} |")
    lines.append(f"| **{what} per accepted buy, median of {len(runs)} runs** | | **{per_buy:,.{digits}f}** |")
    lines.append(f"| floor: EVALSHA DECR-if-positive, per call | 1 | {bottom['cost_per_call']:,.{digits}f} "
                 f"(commandstats {bottom['usec_per_call']:.2f} µs) |")
    how = (f"{len(runs)} runs of {command} (product stock {STOCK:,}) against flashsale-server --config "
           "etc/redis.properties, each until every accepted buy is final and its outbox entry acked; "
           + ("redis-server under valgrind --tool=callgrind, callgrind_control -z and -d around each run"
              if CALLGRIND else "INFO cpu") + " and INFO commandstats of redis-server before and after")
    kernel = "" if CALLGRIND else lambda r: f" (kernel {r['kernel_per_buy']:.1f})"
    note = ("Commands a script calls are counted under their own name too (their time is inside the "
            "script's). Runs: " + ", ".join(f"{r['accepted']:,} buys at {r['rps']:,.0f} req/s, "
                                          f"{r['cost_per_buy']:,.{digits}f} {UNIT}" + (kernel(r) if kernel else "")
                                          + f", {r['reads_per_buy']:.2f} socket reads and "
                                            f"{r['writes_per_buy']:.2f} writes per buy"
                                          for r in runs) + ".")
    if not CALLGRIND:
        note += f" Floor: {bottom['cost_per_call']:.1f} µs per call (kernel {bottom['kernel_per_call']:.1f})."
    table = "\n".join(lines) + "\n\n" + note + "\n\nFloor: " + bottom["command"]
    row = {"figure": f"{what} per accepted buy, redis profile end to end ({UNIT}) vs the floor: EVALSHA of a "
                     f"DECR-if-positive script ({UNIT} per call)",
           "ours": f"{per_buy:,.{digits}f} {UNIT}", "baseline": f"{bottom['cost_per_call']:,.{digits}f} {UNIT}",
           "ratio": f"{per_buy / bottom['cost_per_call']:.2f}x", "target": "" if CALLGRIND else "<= 17 µs",
           "command": how + "; floor: " + bottom["command"]}
    brief = [{k: v for k, v in r.items() if k != "commands"} for r in runs]  # the commands are in the table
    return [row], table, {"unit": UNIT, "runs": brief, "floor": bottom}
