"""The `redis-cluster` phase: one hot product on a 3-master Redis Cluster,
its stock on one shard (K = 1) and over three (K = 3, `stock_shards`), beside
the same product on one redis-server. What each master's Redis spends per
accepted buy shows how a hot product's load spreads: with K = 1 one master
runs every admission of the product (its keys share the tag {p:N}), while the
rate-limit windows ({<user>}) and request states ({r:<id>}) spread over all
masters by their own keys; with K = 3 the admissions spread too, a buyer's
home shard chosen from the user id.

Two servers on etc/redis.properties run all along: one on the cluster (both
cluster products), one on the single redis-server. The three sides take
turns in rounds (order rotating), each turn a wrk run of buy_result.lua (a
distinct user per buy and one GET /result per accepted buy) over once every
accepted buy is final and no outbox entry is pending, as in redis_cpu.py;
INFO cpu (used_cpu_sys + used_cpu_user) and INFO commandstats of every
master before and after give each master's CPU per accepted buy.

The K = 3 product is one whose three shard tags hash to three different
masters (product ids are tried in turn; the others are never preloaded):
that is where an operator puts a hot product's shards. On this 2-core
machine the masters, the server and wrk share two cores, so admits/s cannot
grow with masters; the per-master CPU is what carries over to a cluster of
machines."""

import statistics
import subprocess
import time

import clients
import processes
from redis_cpu import commandstats, info

RUNS = 3
RUN_SECONDS = 5
WARMUP_SECONDS = 2
CONNECTIONS = 50
SHARDS = 3
STOCK = 10_000_000  # each shard holds millions: no shard runs short (no transfers) in a run
STREAM, GROUP = "flash_sale:order_events", "flash-sale-relay-group"
PICK_TRIES = 40
LESS_THAN_COMMANDS = (
    "The CPU falls less than the commands: what a master pays per round trip (socket reads and writes, outside "
    "commandstats) is spread over smaller pipelined batches once the product's buys split over three masters, the "
    "relay reads each shard's stream with an XREADGROUP of its own, and three busy Redis processes on two shared "
    "cores slow every command (compare the same command's µs per call in the K = 1 and K = 3 columns below). ")


class Side:
    """One product on one server and the masters its Redis has."""

    def __init__(self, name, addr, product, ports, cluster, tags):
        self.name, self.addr, self.product, self.ports, self.cluster = name, addr, product, ports, cluster
        self.tags = tags  # {port: [the product's hash tags that master serves]}
        self.runs = []
        self.command = None

    def cli(self, *args):
        return processes.redis_cli(self.ports[0], *args, cluster=self.cluster)

    def streams(self):
        if not self.cluster:
            return [STREAM]
        return [s for s in self.cli("ZRANGE", STREAM + ":live_streams", "0", "-1").split() if s]

    def counters(self):
        c = clients.http(self.addr, "GET", "/healthz")["counters"]
        return c["buy_accepted"], c["finished_success"], c["finished_failed"]

    def settled(self, timeout=120):
        """Until every accepted buy is final and no outbox entry of any stream
        is pending; returns the counters."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            accepted, success, failed = self.counters()
            if success + failed >= accepted and all(
                    self.cli("XPENDING", s, GROUP).split()[:1] == ["0"] for s in self.streams()):
                return accepted, success, failed
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: not settled within {timeout} s: {self.counters()}")

    def snapshot(self):
        return {port: (cpu_seconds(port), commandstats(["redis-cli", "-p", str(port)])) for port in self.ports}

    def run(self, seconds, user_base, counted=True):
        accepted0, _, failed0 = self.settled()
        before = self.snapshot()
        wrk, self.command = clients.wrk(self.addr, seconds, CONNECTIONS, product=self.product,
                                        user_base=user_base, script="buy_result.lua")
        accepted1, _, failed1 = self.settled()
        after = self.snapshot()
        if not counted:
            return
        accepted = accepted1 - accepted0
        masters = {}
        for port in self.ports:
            (cpu0, stats0), (cpu1, stats1) = before[port], after[port]
            commands = {}
            for name, (calls, usec) in stats1.items():
                c0, u0 = stats0.get(name, (0, 0))
                if calls > c0 and name != "info":  # INFO is this phase's own probe, not the server's
                    commands[name] = ((calls - c0) / accepted, (usec - u0) / accepted)
            masters[port] = {"us": (cpu1 - cpu0) * 1e6 / accepted, "calls": sum(c for c, _ in commands.values()),
                             "commands": commands}
        self.runs.append({"accepted": accepted, "failed": failed1 - failed0, "admits_per_s": accepted / wrk["seconds"],
                          "rps": wrk["rps"], "non_2xx": wrk["non_2xx"], "masters": masters})

    def median(self, port, figure="us"):
        return statistics.median(r["masters"][port][figure] for r in self.runs)

    def median_total(self):
        return statistics.median(sum(m["us"] for m in r["masters"].values()) for r in self.runs)

    def median_busiest(self):
        return statistics.median(max(m["us"] for m in r["masters"].values()) for r in self.runs)

    def admits(self):
        return statistics.median(r["admits_per_s"] for r in self.runs)


def cpu_seconds(port):
    fields = info(["redis-cli", "-p", str(port)], "cpu")
    return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"])


def idle_cpu(ports, seconds=2):
    """ms of CPU per second each master spends with no load."""
    before = [cpu_seconds(p) for p in ports]
    time.sleep(seconds)  # a measuring window, not a wait for a condition
    return [(cpu_seconds(p) - b) * 1e3 / seconds for p, b in zip(ports, before)]


def shard_tags(product, shards):
    return [f"p:{product}"] if shards == 1 else [f"p:{product}:s:{i}" for i in range(shards)]


def placement(cluster, product, shards):
    """{port: [the product's tags whose slot that master serves]}."""
    tags = {port: [] for port in cluster.ports}
    for tag in shard_tags(product, shards):
        tags[cluster.master_of("{" + tag + "}")].append(tag)
    return tags


def pick_spread_product(cluster, addr):
    """A new K = SHARDS product whose shards are on SHARDS different masters, preloaded."""
    for _ in range(PICK_TRIES):
        product = clients.create_product(addr, STOCK, shards=SHARDS, preload=False)
        tags = placement(cluster, product, SHARDS)
        if sum(1 for t in tags.values() if t) == SHARDS:
            clients.preload_product(addr, product)
            return product, tags
    raise RuntimeError(f"no product of {PICK_TRIES} had its {SHARDS} shards on {SHARDS} masters")


def redis_cluster(build):
    """Returns (rows for the results table, a markdown section, the detail)."""
    cluster = single = on_cluster = on_single = None
    try:
        cluster = processes.RedisCluster(masters=3)
        single, single_addr = processes.start_redis()
        base_env = {"DB_PATH": "bench.db", "ORDER_EVENT_STREAM": STREAM, "ORDER_EVENT_GROUP": GROUP}
        on_cluster, cluster_addr = processes.start_server(
            build, dict(base_env, REDIS_ADDR=cluster.seeds(), REDIS_CLUSTER="true"), "redis-cluster",
            config="etc/redis.properties")
        on_single, one_addr = processes.start_server(
            build, dict(base_env, REDIS_ADDR=single_addr, REDIS_CLUSTER="false"), "redis-single",
            config="etc/redis.properties")
        hot = clients.create_product(cluster_addr, STOCK)
        spread, spread_tags = pick_spread_product(cluster, cluster_addr)
        single_port, alone = int(single_addr.split(":")[1]), clients.create_product(one_addr, STOCK)
        sides = [Side("K = 1, 3 masters", cluster_addr, hot, cluster.ports, True, placement(cluster, hot, 1)),
                 Side(f"K = {SHARDS}, 3 masters", cluster_addr, spread, cluster.ports, True, spread_tags),
                 Side("K = 1, 1 master", one_addr, alone, [single_port], False, {single_port: [f"p:{alone}"]})]
        users = 1
        for side in sides:
            side.run(WARMUP_SECONDS, users, counted=False)
            users += 10**11
        idle_ms = idle_cpu(cluster.ports)
        for r in range(RUNS):
            for side in sides[r % len(sides):] + sides[:r % len(sides)]:
                side.run(RUN_SECONDS, users)
                users += 10**11
        owners = cluster.slot_owners()
    finally:
        for p in (on_single, on_cluster, single, cluster):
            if p:
                p.stop()
    return summarize(sides, owners, idle_ms)


def fmt_us(v):
    return f"{v:.1f}"


def summarize(sides, owners, idle_ms):
    one, spread, single = sides
    slots = {}
    for first, last, port in owners:
        slots.setdefault(port, []).append(f"{first}-{last}")
    names = {port: f"master {i + 1} (slots {','.join(slots[port])})" for i, port in enumerate(one.ports)}
    hot_port = next(p for p, t in one.tags.items() if t)
    cold = [one.median(p) for p in one.ports if p != hot_port]
    # What the rate-limit windows and request states cost a master per buy
    # (their keys spread evenly by user and request id): a K = 1 master the
    # product is not on carries only those.
    spread_part = statistics.mean(cold)
    product_k1 = one.median(hot_port) - spread_part
    product_k3 = statistics.mean(spread.median(p) for p in spread.ports) - spread_part
    # The same split in commands run (deterministic where CPU time is not).
    spread_calls = statistics.mean(one.median(p, "calls") for p in one.ports if p != hot_port)
    calls_k1 = one.median(hot_port, "calls") - spread_calls
    calls_k3 = statistics.mean(spread.median(p, "calls") for p in spread.ports) - spread_calls
    total_k1, total_k3 = one.median_total(), spread.median_total()

    lines = ["| master | K = 1: Redis CPU µs per accepted buy | K = 1: the product's tags | "
             f"K = {SHARDS}: Redis CPU µs per accepted buy | K = {SHARDS}: the product's tags |",
             "|---|---|---|---|---|"]
    for port in one.ports:
        lines.append(f"| {names[port]} | {fmt_us(one.median(port))} | {', '.join(one.tags[port]) or '—'} | "
                     f"{fmt_us(spread.median(port))} | {', '.join(spread.tags[port]) or '—'} |")
    lines.append(f"| **sum over the masters** | **{fmt_us(total_k1)}** | | **{fmt_us(total_k3)}** | |")
    lines.append(f"| busiest master | {fmt_us(one.median_busiest())} | | {fmt_us(spread.median_busiest())} | |")
    lines.append(f"| the hot product's own share per shard (its master(s) minus a master it is not on) | "
                 f"{fmt_us(product_k1)} | | {fmt_us(product_k3)} ({product_k3 / product_k1:.2f}x) | |")
    lines.append("| commands run per accepted buy (commandstats calls, those scripts call included), per master | " +
                 " / ".join(f"{one.median(p, 'calls'):.2f}" for p in one.ports) + " | | " +
                 " / ".join(f"{spread.median(p, 'calls'):.2f}" for p in spread.ports) + " | |")
    lines.append(f"| the hot product's own commands per buy, per shard (as above) | {calls_k1:.2f} | | "
                 f"{calls_k3:.2f} ({calls_k3 / calls_k1:.2f}x) | |")
    lines.append(f"| admits/s (accepted buys per second of wrk) | {one.admits():,.0f} | | {spread.admits():,.0f} | |")
    lines.append("")
    lines.append(f"One redis-server, the same product with K = 1: **{fmt_us(single.median_total())} µs** of Redis "
                 f"CPU per accepted buy, {single.admits():,.0f} admits/s.")

    commands = ["| command: calls / µs per accepted buy (commandstats) | " +
                " | ".join(f"K = 1: master {i + 1}" for i in range(len(one.ports))) + " | " +
                " | ".join(f"K = {SHARDS}: master {i + 1}" for i in range(len(spread.ports))) +
                " | one redis-server |", "|---|" + "---|" * (2 * len(one.ports) + 1)]

    def cell(side, port, name):
        values = [r["masters"][port]["commands"].get(name) for r in side.runs]
        if not any(values):
            return "—"
        calls = statistics.median(v[0] if v else 0 for v in values)
        usec = statistics.median(v[1] if v else 0 for v in values)
        return f"{calls:.2f} / {usec:.1f}"

    every = set()
    for side in sides:
        for r in side.runs:
            for m in r["masters"].values():
                every.update(n for n, (_, usec) in m["commands"].items() if usec >= 0.05)
    order = sorted(every, key=lambda n: -sum(r["masters"][p]["commands"].get(n, (0, 0))[1]
                                             for r in one.runs for p in one.ports))
    for name in order:
        commands.append(f"| {name} | " + " | ".join(cell(one, p, name) for p in one.ports) + " | " +
                        " | ".join(cell(spread, p, name) for p in spread.ports) + " | " +
                        cell(single, single.ports[0], name) + " |")

    def ceiling(per_master_us):
        return 1e6 / per_master_us

    n_lines = []
    for n in (3, 6, 12):
        us = (SHARDS * product_k3 + 3 * spread_part) / n
        n_lines.append(f"N = K = {n}: ~{fmt_us(us)} µs per buy on each master, a ceiling of "
                       f"~{ceiling(us):,.0f} admits/s for the one hot product")
    implication = (
        f"The hot product's own admission work is {fmt_us(product_k1)} µs per buy on its one master with K = 1 "
        f"and {fmt_us(product_k3)} µs on each of its {SHARDS} masters with K = {SHARDS} "
        f"({product_k3 / product_k1:.2f}x; 1/K would be {1 / SHARDS:.2f}x), while the commands it runs per buy "
        f"fall from {calls_k1:.2f} to {calls_k3:.2f} per shard ({calls_k3 / calls_k1:.2f}x). "
        + (LESS_THAN_COMMANDS if product_k3 / product_k1 > calls_k3 / calls_k1 + 0.05 else "") + "The rate-limit windows and request "
        f"states add {fmt_us(spread_part)} µs per buy on every master ({fmt_us(3 * spread_part)} µs in all, "
        "spread by user and request id whatever K is). The busiest master bounds what one hot product can admit "
        "while each master has its own core: 1e6 / its µs per buy, "
        f"~{ceiling(one.median_busiest()):,.0f} admits/s with K = 1 and ~{ceiling(spread.median_busiest()):,.0f} "
        f"with K = {SHARDS} on 3 masters. On a cluster of N machines, one master each, with the hot product "
        "over K = N shards, each master carries 1/N of both parts (the product's part as measured with "
        f"K = {SHARDS}, {fmt_us(SHARDS * product_k3)} µs per buy in all): "
        + "; ".join(n_lines) + ". The ceiling grows about linearly with N for as long as the shards stay "
        "full (a shard that runs short borrows from the others, a few extra round trips that these runs never "
        "take) and the flashsale servers in front scale with it (they keep no state of their own but their "
        "SQLite or PostgreSQL order store). With K = 1 it stays at one master's, however many masters the "
        "cluster has. CPU µs here are measured with the masters, the server and wrk sharing 2 cores, which "
        "inflates them (cache and scheduler contention); the ratios carry over, the absolute ceilings are "
        "conservative.")
    evalsha = {side.name: sum(statistics.median(r["masters"][p]["commands"].get("evalsha", (0, 0))[1]
                                                for r in side.runs) for p in side.ports) for side in (one, single)}
    cost = (f"Summed over the masters a buy costs {total_k1 / single.median_total():.2f}x of Redis CPU what it costs "
            f"one redis-server ({fmt_us(total_k1)} vs {fmt_us(single.median_total())} µs): on a cluster the rate "
            "limit is a script call of its own, in its own slot (two EVALSHA per buy instead of one: "
            f"{fmt_us(evalsha[one.name])} vs {fmt_us(evalsha[single.name])} µs of EVALSHA per buy in commandstats), "
            "and each master's part of a buy's commands comes in smaller pipelined batches, each paying its own "
            "socket reads and writes. Idle, with both servers running and no load, each master spends "
            + ", ".join(f"{ms:.1f}" for ms in idle_ms) + " ms of CPU per second (cluster bus, cron, the idle relay's "
            f"reads): under {max(idle_ms) * 1e3 / one.admits():.1f} µs per buy at these rates.")
    how = (f"{RUNS} rounds, the three sides in turn (order rotating; one {WARMUP_SECONDS}s warm-up run each "
           f"first), each run {one.command} against flashsale-server --config etc/redis.properties "
           "(REDIS_ADDR=<3 seeds> REDIS_CLUSTER=true, or one redis-server), until every accepted buy is final "
           "and no outbox entry pending; INFO cpu and INFO commandstats of every master before and after; "
           "medians of the runs")
    runs = "Runs: " + "; ".join(
        f"{s.name}: " + ", ".join(f"{r['accepted']:,} buys at {r['admits_per_s']:,.0f}/s "
                                  f"({'/'.join(fmt_us(m['us']) for m in r['masters'].values())} µs)"
                                  for r in s.runs) for s in sides) + "."
    failed = sum(r["failed"] + r["non_2xx"] for s in sides for r in s.runs)
    section = ("\n".join(lines) + "\n\n" + implication + "\n\n" + cost + "\n\n" + "\n".join(commands) + "\n\n" +
               "Commands a script calls are counted under their own name too (their time is inside the "
               "script's). " + runs + f" Failed buys and non-2xx answers over all runs: {failed}.\n\n"
               "Command: " + how + ".")
    rows = [
        {"figure": f"Redis CPU per accepted buy of one hot product's own admission work, per shard, on a 3-master "
                   f"cluster: K = {SHARDS} vs K = 1 (µs; a master's µs minus those of a master the product is "
                   "not on)",
         "ours": f"{fmt_us(product_k3)} µs", "baseline": f"{fmt_us(product_k1)} µs",
         "ratio": f"{product_k3 / product_k1:.2f}x", "target": f"~1/{SHARDS}", "command": how},
        {"figure": f"Commands run per accepted buy for one hot product's own admission work, per shard, on a "
                   f"3-master cluster: K = {SHARDS} vs K = 1 (commandstats calls, those scripts call included; a "
                   "master's minus those of a master the product is not on)",
         "ours": f"{calls_k3:.2f}", "baseline": f"{calls_k1:.2f}", "ratio": f"{calls_k3 / calls_k1:.2f}x",
         "target": f"~1/{SHARDS}", "command": how},
        {"figure": f"Redis CPU per accepted buy on the busiest master, one hot product on a 3-master cluster: "
                   f"K = {SHARDS} vs K = 1 (µs)",
         "ours": f"{fmt_us(spread.median_busiest())} µs", "baseline": f"{fmt_us(one.median_busiest())} µs",
         "ratio": f"{spread.median_busiest() / one.median_busiest():.2f}x", "target": "", "command": how},
        {"figure": "Redis CPU per accepted buy summed over the masters: 3-master cluster (K = 1) vs one "
                   "redis-server (µs)",
         "ours": f"{fmt_us(total_k1)} µs", "baseline": f"{fmt_us(single.median_total())} µs",
         "ratio": f"{total_k1 / single.median_total():.2f}x", "target": "", "command": how},
        {"figure": f"Admits/s of one hot product: K = {SHARDS} on 3 masters vs K = 1 on one redis-server "
                   "(all on 2 shared cores: not a scaling figure)",
         "ours": f"{spread.admits():,.0f}/s", "baseline": f"{single.admits():,.0f}/s",
         "ratio": f"{spread.admits() / single.admits():.2f}x", "target": "", "command": how},
    ]
    detail = {s.name: {"product": s.product, "tags": {names.get(p, str(p)): t for p, t in s.tags.items()},
                       "runs": [{k: v for k, v in r.items() if k != "masters"} |
                                {"us_per_master": [round(m["us"], 2) for m in r["masters"].values()]}
                                for r in s.runs]} for s in sides}
    detail["idle_cpu_ms_per_s_per_master"] = [round(ms, 2) for ms in idle_ms]
    return rows, section, detail
