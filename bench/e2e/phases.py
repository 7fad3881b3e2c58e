"""The comparisons of `make bench`, one function each. Every function starts
what it needs on free ports, measures ours and its baseline in turn, stops
everything (pass or fail) and returns table rows plus data for the plot."""

import os
import subprocess
import time

import clients
import processes
from report import fmt

WRK_SECONDS = 15
CONNECTIONS = 50
BIG_STOCK = 10_000_000


def row(figure, ours, baseline, unit, target, command, ratio=None):
    if ratio is None and ours and baseline:
        ratio = ours / baseline
    return {"figure": figure, "ours": fmt(ours, unit), "baseline": fmt(baseline, unit),
            "ratio": f"{ratio:.2f}x" if ratio else "n/a", "target": target, "command": command}


def micro(build, work):
    rates, cmd = clients.microbench(build, os.path.join(work, "micro.json"))

    def rate(prefix, threads=None):
        for name, value in rates.items():
            if name.startswith(prefix) and (threads is None or name.endswith(f"threads:{threads}")):
                return value
        return None

    plugin, raw = rate("persist/sqlite_plugin"), rate("persist/raw_sqlite_baseline")
    rows = [row("persist: sqlite plugin vs raw batched sqlite3 inserts, same schema (orders/s, batches of 256)",
                plugin, raw, "orders/s", ">= 50,000 orders/s", cmd)]
    for family, threads in (("memory", 1), ("memory", 8), ("redis", 1), ("redis", 16)):
        rows.append(row(f"micro: admit through the {family} plugin, {threads} thread(s) (admissions/s)",
                        rate(f"admit/{family}", threads), None, "/s", "", cmd))
    rows.append(row("micro: JSON parse of a buy body (parses/s)", rate("json/parse_buy_request"), None, "/s", "", cmd))
    rows.append(row("micro: JSON write of a buy answer (writes/s)", rate("json/write_buy_response"), None, "/s", "",
                    cmd))
    return rows, rates


def embedded_buy(build):
    """(a) the buy endpoint on the embedded profile vs the minimal Poco server."""
    server, addr = processes.start_server(build, {"DB_PATH": "bench.db"}, "embedded")
    try:
        product = clients.create_product(addr, BIG_STOCK)
        ours, cmd = clients.wrk(addr, WRK_SECONDS, CONNECTIONS, product=product, user_base=1)
        ours_slices = clients.wrk_slices(addr, 10, CONNECTIONS, product, 10**13)
    finally:
        server.stop()
    baseline, base_addr = processes.start_baseline(build)
    try:
        base, _ = clients.wrk(base_addr, WRK_SECONDS, CONNECTIONS)
        base_slices = clients.wrk_slices(base_addr, 10, CONNECTIONS, 1, 1)
    finally:
        baseline.stop()
    rows = [row("buy, embedded profile vs minimal Poco HTTPServer (requests/s)", ours["rps"], base["rps"], "req/s",
                ">= 0.8x", cmd),
            row("buy, embedded profile vs minimal Poco: p99 latency (ms)", ours["p99_ms"], base["p99_ms"], "ms", "",
                cmd)]
    slices = [(o[0], o[1], o[2], b[1], b[2]) for o, b in zip(ours_slices, base_slices)]
    return rows, slices, {"ours": ours, "baseline": base}


def embedded_rss(build, work):
    """RSS of the embedded server through a 100,000-user loadtest run."""
    server, addr = processes.start_server(build, {"DB_PATH": "bench.db"}, "embedded-rss")
    try:
        report, code, cmd = clients.loadtest(build, addr, 100_000, CONNECTIONS, 0, os.path.join(work, "rss.json"))
        hwm_mb = server.vm_hwm_kb() / 1024
    finally:
        server.stop()
    note = (f"100k-user run: {report['requests']} requests at {report['throughput_rps']:.0f} req/s, "
            f"accepted->final p99 {report['final_latency_ms']['p99']:.0f} ms, loadtest exit {code}, "
            f"violations {report['violations']}")
    return [row("server peak RSS (VmHWM) through a 100,000-user loadtest, embedded profile (MB)", hwm_mb, None, "MB",
                "< 256 MB", cmd)], note


def redis_buy(build, root):
    """(b) the buy endpoint on the redis-stages profile vs redis-benchmark EVALSHA of lua/admit.lua."""
    redis, raddr = processes.start_redis()
    try:
        env = {"STAGE_RATELIMIT": "redis", "STAGE_ADMIT": "redis", "STAGE_OUTBOX": "redis", "STAGE_NOTIFY": "redis",
               "STAGE_RELAY": "memory", "STAGE_PERSIST": "sqlite", "REDIS_ADDR": raddr, "DB_PATH": "bench.db"}
        server, addr = processes.start_server(build, env, "redis-stages")
        try:
            product = clients.create_product(addr, BIG_STOCK)
            ours, cmd = clients.wrk(addr, WRK_SECONDS, CONNECTIONS, product=product, user_base=1)
        finally:
            server.stop()
        port = raddr.split(":")[1]
        cli = ["redis-cli", "-p", port]
        with open(os.path.join(root, "lua/admit.lua")) as f:
            sha = subprocess.run(cli + ["SCRIPT", "LOAD", f.read()], capture_output=True, text=True,
                                 check=True).stdout.strip()
        sale = "fs:{p:999}:sale"
        subprocess.run(cli + ["HSET", sale, "remaining", "1000000000", "start_ms", "0", "end_ms", "99999999999999"],
                       check=True, capture_output=True)
        # A random user lock per call and no idempotency key: the success path (stock check, decrement,
        # SET lock, XADD) on a stream no relay reads. __rand_int__ repeats within 10^8, so a few calls
        # find the lock taken; the success share is counted below.
        args = ["EVALSHA", sha, "4", sale, "fs:{p:999}:lock:__rand_int__", "fs:{p:999}:idem:none",
                "bench:evalsha:stream", "req-__rand_int__", "__rand_int__", "999", "1", "100", "0", "0"]
        requests = 400_000
        rps, p50, p99, bcmd = clients.redis_benchmark(raddr, args, requests, CONNECTIONS)
        remaining = int(subprocess.run(cli + ["HGET", sale, "remaining"], capture_output=True, text=True,
                                       check=True).stdout.strip())
        success_share = (1_000_000_000 - remaining) / requests
    finally:
        redis.stop()
    bcmd = bcmd.replace(sha, "<sha of lua/admit.lua>")
    return [row("buy, redis-stages profile vs redis-benchmark EVALSHA admit.lua (requests/s)", ours["rps"], rps,
                "req/s", ">= 0.7x", f"{cmd}  vs  {bcmd}"),
            row("buy, redis-stages profile vs EVALSHA: p99 latency (ms)", ours["p99_ms"], p99, "ms", "", cmd)], \
        {"ours": ours, "evalsha_success_share": success_share, "evalsha_p50": p50}


def default_stack(build, work):
    """(d) the whole default stack: accepted->final latency and the drain rate."""
    redis, raddr = processes.start_redis()
    broker = server = None
    try:
        broker, brokers = processes.start_devbroker(build)
        env = {"REDIS_ADDR": raddr, "KAFKA_BROKERS": brokers, "DB_PATH": "bench.db"}
        server, addr = processes.start_server(build, env, "default-stack", config="etc/flashsale.properties")
        # Warm-up, not measured: the first consumer of a new group gets its
        # partitions only after the broker's initial rebalance delay (~3 s).
        clients.wait_until_final(addr, clients.create_product(addr, 10), user=1)
        sampler = clients.HealthzSampler(addr)
        peak, code_peak, cmd = clients.loadtest(build, addr, 1_000_000, CONNECTIONS, WRK_SECONDS,
                                                os.path.join(work, "stack-peak.json"), wait=90)
        half = peak["throughput_rps"] / 2
        time.sleep(3)  # the half-load run measures a steady state, not the tail of the peak run
        buckets_before = clients.latency_buckets(addr)
        low, code_low, cmd_low = clients.loadtest(build, addr, 1_000_000, CONNECTIONS, 10,
                                                  os.path.join(work, "stack-low.json"), wait=90, rate=half)
        server_p99 = clients.share_bound(buckets_before, clients.latency_buckets(addr), 0.99)
        time.sleep(3)  # a few samples after the last accepted request, so the lag can be seen to close
        samples = sampler.stop()
        backlog = clients.http(addr, "GET", "/healthz")["counters"]["relayed"]
        server.stop()
        drain_rate = backlog_drain_rate(build, brokers, backlog, work)
    finally:
        for p in (server, broker, redis):
            if p:
                p.stop()
    drain = []
    for (t0, c0), (t1, c1) in zip(samples, samples[1:]):
        dt = t1 - t0
        drain.append((round(t1), (c1["buy_accepted"] - c0["buy_accepted"]) / dt,
                      (c1["persisted"] - c0["persisted"]) / dt))
    accept_rate = peak["throughput_rps"]
    share = low["throughput_rps"] / peak["throughput_rps"] if peak["throughput_rps"] else 0
    rows = [
        row("default stack: accepted->final p99 at peak, -c 50 (ms)", peak["final_latency_ms"]["p99"], None, "ms",
            "", cmd),
        row(f"default stack: accepted->final p99 at {share:.0%} of peak (-rate half of peak) (ms)",
            low["final_latency_ms"]["p99"],
            None, "ms", "< 250 ms at half of peak", cmd_low),
        row(f"default stack: accepted->final p99 at {share:.0%} of peak, server-side (/healthz histogram: the bucket "
            "bound holding 99%) (ms)", server_p99, None, "ms", "< 250 ms at half of peak",
            "GET /healthz before and after the half-load run"),
        row("default stack: drain capacity (a fresh consumer working off the whole topic as a backlog, orders/s) vs "
            "admission at peak (accepted/s)", drain_rate, accept_rate, "/s", ">= 1.0x",
            "ROLES=api,consumer KAFKA_GROUP_ID=<new> on a fresh Redis and SQLite file, /healthz every 100 ms"),
    ]
    rows.append(row("default stack: accepted->persisted lag from /healthz counters, worst second (ms, 1-s "
                    "resolution)", persist_lag_ms(samples), None, "ms", "", "GET /healthz every second"))
    details = {"peak": peak, "low": low, "exit_codes": (code_peak, code_low)}
    return rows, drain, details


def backlog_drain_rate(build, brokers, events, work):
    """How fast the async path can go, not just whether it keeps up: a
    consumer-only server in a new group (auto.offset.reset=earliest) with its
    own Redis and SQLite file works off every event the runs put on the topic.
    Its rate is counted from its first persisted order (after the group join)
    to the last one."""
    redis, raddr = processes.start_redis()
    server = None
    try:
        env = {"REDIS_ADDR": raddr, "KAFKA_BROKERS": brokers, "DB_PATH": "drain.db", "ROLES": "api,consumer",
               "KAFKA_GROUP_ID": "bench-drain"}
        server, addr = processes.start_server(build, env, "drain", config="etc/flashsale.properties")
        first = last = None
        deadline = time.time() + 120
        while time.time() < deadline:
            persisted = clients.http(addr, "GET", "/healthz")["counters"]["persisted"]
            now = time.time()
            if persisted > 0 and first is None:
                first = (now, persisted)
            if persisted >= events:
                last = (now, persisted)
                break
            time.sleep(0.1)
        if first is None or last is None or last[0] <= first[0]:
            return None
        return (last[1] - first[1]) / (last[0] - first[0])
    finally:
        for p in (server, redis):
            if p:
                p.stop()


def persist_lag_ms(samples):
    """The longest wait, over the samples, until the persisted counter caught
    up with the accepted count of that moment: an upper bound (to within the
    1-s sampling) on accepted->persisted that involves no client polling."""
    worst = 0.0
    for i, (t, c) in enumerate(samples):
        caught = next((t2 for t2, c2 in samples[i:] if c2["persisted"] >= c["buy_accepted"]), None)
        if caught is None:
            continue  # not caught up before sampling stopped: the run's tail, left out
        worst = max(worst, caught - t)
    return worst * 1000
