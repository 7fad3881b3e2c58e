"""The comparisons of `make bench`, one function each. Every function starts
what it needs on free ports, measures ours and its baseline (the buy and
GET /livez figures in interleaved rounds, rounds.py), stops everything (pass
or fail) and returns table rows plus data for the plot."""

import os
import socket
import statistics
import subprocess
import time

import clients
import processes
import rounds
from report import fmt

WRK_SECONDS = 15  # the default-stack loadtest at peak
CONNECTIONS = 50
BIG_STOCK = 10_000_000


def row(figure, ours, baseline, unit, target, command, ratio=None, spread=None):
    if ratio is None and ours and baseline:
        ratio = ours / baseline
    text = f"{ratio:.2f}x" if ratio else "n/a"
    if ratio and spread:
        text += f" (rounds {spread[0]:.2f}-{spread[1]:.2f})"
    return {"figure": figure, "ours": fmt(ours, unit), "baseline": fmt(baseline, unit), "ratio": text,
            "target": target, "command": command}


def compared_row(figure, cmp, unit, target, command):
    """A row of a rounds.compare() result: medians of each side, median of the round ratios."""
    return row(figure, cmp["ours"], cmp["base"], unit, target, command, ratio=cmp["ratio"], spread=cmp["spread"])


def in_rounds(command):
    """The command column of an interleaved figure: what ran, and how often."""
    return (f"{rounds.ROUNDS} rounds, sides in turn (order rotating), each: {command}; one "
            f"{rounds.WARMUP_SECONDS}s warm-up round per side first, not counted; ratio = median of round ratios")


class WrkSide:
    """One side measured with wrk and buy.lua; each run gets its own user range.
    `command` is the last run's (a counted round's: warm-up comes first)."""

    def __init__(self, addr, product=1):
        self.addr, self.product, self.runs, self.command = addr, product, 0, None

    def __call__(self, seconds):
        self.runs += 1
        result, self.command = clients.wrk(self.addr, seconds, CONNECTIONS, product=self.product,
                                           user_base=1 + self.runs * 10**11)
        return result


class GetSide:
    """One side of a fixed-answer figure: wrk GETs of one path, get.lua."""

    def __init__(self, addr, path, connections):
        self.addr, self.path, self.connections, self.command = addr, path, connections, None

    def __call__(self, seconds):
        result, self.command = clients.wrk(self.addr, seconds, self.connections, script="get.lua", path=self.path)
        return result


LIVEZ_BODY = '{"status":"ok"}'  # what the server's GET /livez answers, and so nginx and the Poco baseline too
MANY_CONNECTIONS = "20000"  # http.max.connections.per.ip for the runs whose connections all come from 127.0.0.1


def fixed_answer(build, connections):
    """The HTTP front alone: GET /livez of the embedded server (a fixed answer
    made on the I/O threads) vs the bare Poco HTTPServer's fixed GET answer vs
    nginx's `return 200`, all three running all along, wrk -t 2 at
    `connections` in rotating rounds. The Poco server gets a thread per wrk
    connection (at least its default 128), as a thread-per-connection server
    must to serve every connection at once."""
    env = {"DB_PATH": "bench.db", "HTTP_MAX_CONNECTIONS_PER_IP": MANY_CONNECTIONS}
    server, addr = processes.start_server(build, env, "livez")
    baseline = nginx = None
    threads = max(128, connections)
    try:
        baseline, base_addr = processes.start_baseline(build, threads=threads)
        nginx, nginx_addr = processes.start_nginx("/livez", LIVEZ_BODY)
        addrs = {"ours": addr, "poco": base_addr, "nginx": nginx_addr}
        answer = {side: clients.answer_bytes(a, "/livez") for side, a in addrs.items()}
        sides = {side: GetSide(a, "/livez", connections) for side, a in addrs.items()}
        nginx_pids = [nginx.proc.pid] + processes.child_pids(nginx.proc.pid)
        result = rounds.interleave([("ours", sides["ours"], {"flashsale-server": server.proc.pid}),
                                    ("nginx", sides["nginx"], {"nginx": nginx_pids}),
                                    ("poco", sides["poco"], {"baseline": baseline.proc.pid})])
    finally:
        for p in (nginx, baseline, server):
            if p:
                p.stop()
    cmd = in_rounds(sides["ours"].command)
    poco = f"flashsale-baseline-http --threads {threads}"
    nginx_what = "nginx 2 workers, `return 200` with default_type application/json, access_log off"
    c = f"-c {connections}"
    rows = [compared_row(f"GET /livez (fixed answer), {c}: ours (embedded profile, I/O threads) vs bare Poco "
                         "HTTPServer (requests/s)", rounds.compare(result, "ours", "poco"), "req/s", ">= 1.0x",
                         f"{cmd}; baseline {poco}"),
            compared_row(f"GET /livez (fixed answer), {c}: nginx vs bare Poco HTTPServer (requests/s)",
                         rounds.compare(result, "nginx", "poco"), "req/s", "", f"{cmd}; {nginx_what}; {poco}"),
            compared_row(f"GET /livez (fixed answer), {c}: ours vs nginx (requests/s)",
                         rounds.compare(result, "ours", "nginx"), "req/s", "", f"{cmd}; {nginx_what}"),
            compared_row(f"GET /livez (fixed answer), {c}: ours vs bare Poco HTTPServer: p99 latency (ms)",
                         rounds.compare(result, "ours", "poco", "p99_ms"), "ms", "", cmd)]
    names = ["ours", "nginx", "poco"]
    counted = result["rounds"]
    failures = {n: (sum(r[n]["non_2xx"] for r in counted), sum(r[n]["socket_errors"] for r in counted))
                for n in names}
    table = rounds.markdown(result, names, [("ours/poco", "ours", "poco"), ("nginx/poco", "nginx", "poco"),
                                            ("ours/nginx", "ours", "nginx")])
    table += "\n\n" + rounds.cpu_markdown(result, names) + "\n\n" + \
        "Whole answer per request (status line, headers, body): " + \
        ", ".join(f"{n} {answer[n]} bytes" for n in names) + ". Over the counted rounds, non-2xx answers / " + \
        "socket errors (wrk): " + ", ".join(f"{n} {f[0]} / {f[1]}" for n, f in failures.items()) + "."
    return rows, table, dict(result, answer_bytes=answer, failures=failures)


IDLE_CONNECTIONS = 10_000


def idle_connection_rss(build):
    """What an open connection costs the server: VmRSS of the embedded server
    before and after this process opens IDLE_CONNECTIONS TCP connections to it
    and sends nothing, once /healthz counts them all open; and whether a fresh
    GET /healthz is answered while they are held."""
    env = {"DB_PATH": "bench.db", "HTTP_MAX_CONNECTIONS_PER_IP": MANY_CONNECTIONS}
    server, addr = processes.start_server(build, env, "idle-rss")
    held = []
    try:
        clients.http(addr, "GET", "/healthz")  # every I/O path of the server taken once before the first reading
        before_kb = server.status_kb("VmRSS")
        host, port = addr.rsplit(":", 1)
        for _ in range(IDLE_CONNECTIONS):
            held.append(socket.create_connection((host, int(port)), timeout=10))
        deadline, open_now = time.time() + 60, 0
        while time.time() < deadline:
            open_now = clients.http(addr, "GET", "/healthz")["http"]["connections_open"]
            if open_now >= IDLE_CONNECTIONS + 1:  # the probe's own connection too
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"/healthz counts {open_now} connections open, not {IDLE_CONNECTIONS} + 1")
        after_kb = server.status_kb("VmRSS")
        t0 = time.time()
        health = clients.http(addr, "GET", "/healthz")
        probe_ms = (time.time() - t0) * 1000
    finally:
        for s in held:
            s.close()
        server.stop()
    per_connection_kb = (after_kb - before_kb) / IDLE_CONNECTIONS
    cmd = (f"VmRSS (/proc/PID/status) of flashsale-server --config etc/embedded.properties "
           f"(HTTP_MAX_CONNECTIONS_PER_IP={MANY_CONNECTIONS}) before and after {IDLE_CONNECTIONS:,} idle TCP "
           "connections from the bench process, once GET /healthz counts them open; (after - before) / "
           f"{IDLE_CONNECTIONS:,}")
    row_ = row(f"RSS per idle connection, embedded profile, {IDLE_CONNECTIONS:,} connections held (KB per "
               "connection)", per_connection_kb, None, "KB", "<= 8 KB", cmd)
    note = (f"Idle connections: VmRSS {before_kb / 1024:.1f} MB before, {after_kb / 1024:.1f} MB with "
            f"{IDLE_CONNECTIONS:,} held ({per_connection_kb * 1024:,.0f} bytes each); while they were held a fresh "
            f"GET /healthz answered status {health['status']!r} in {probe_ms:.1f} ms, counting "
            f"{health['http']['connections_open']:,} connections open (the held ones and its own). Kernel socket "
            "memory is not in VmRSS.")
    return [row_], note


# What the postgres rows' command cells say about the server behind POSTGRES_DSN.
THROWAWAY_POSTGRES = ("a throwaway PostgreSQL 15 the run starts (initdb --auth=trust, server defaults: fsync and "
                      "synchronous_commit on)")


# The postgres persist pair: measured in rounds of their own (postgres_persist_rounds).
POSTGRES_PERSIST = {"plugin": "persist/postgres_plugin/", "raw libpq": "persist/raw_postgres_baseline/"}


def micro(build, work):
    """Every micro-benchmark but the postgres persist pair (postgres_persist),
    in one run of the binary."""
    others = "-^(" + "|".join(POSTGRES_PERSIST.values()) + ")"
    rates, _, cmd = clients.microbench(build, os.path.join(work, "micro.json"), benchmark_filter=others)

    def rate(prefix, threads=None):
        for name, value in rates.items():
            if name.startswith(prefix) and (threads is None or name.endswith(f"threads:{threads}")):
                return value
        return None

    plugin, raw = rate("persist/sqlite_plugin/"), rate("persist/raw_sqlite_baseline/")
    with_expirer = rate("persist/sqlite_plugin_with_expirer/")
    rows = [row("persist: sqlite plugin vs raw batched sqlite3 inserts, same schema (orders/s, batches of 256)",
                plugin, raw, "orders/s", ">= 50,000 orders/s", cmd),
            row("persist with an expiry scan every 1 ms on the same store vs persist alone (orders/s, batches of 256)",
                with_expirer, plugin, "orders/s", ">= 0.9x", cmd)]
    for family, threads in (("memory", 1), ("memory", 8), ("redis", 1), ("redis", 16)):
        rows.append(row(f"micro: admit through the {family} plugin, {threads} thread(s) (admissions/s)",
                        rate(f"admit/{family}", threads), None, "/s", "", cmd))
    rows.append(row("micro: JSON parse of a buy body (parses/s)", rate("json/parse_buy_request"), None, "/s", "", cmd))
    rows.append(row("micro: JSON write of a buy answer (writes/s)", rate("json/write_buy_response"), None, "/s", "",
                    cmd))
    return rows, rates


def postgres_persist(build, work):
    """The postgres persist pair (bench/micro: the plugin and raw libpq into
    the same schema) in interleaved rounds against a throwaway PostgreSQL
    started for it (POSTGRES_DSN), each run of theirs in a fresh schema.
    Returns the row and the rounds as markdown."""
    postgres = processes.start_postgres(work, "postgres-persist")
    try:
        pair = postgres_persist_rounds(build, work, postgres)
    finally:
        postgres.stop()
    cmp = rounds.compare(pair, "plugin", "raw libpq")
    row_ = compared_row("persist: postgres plugin vs raw libpq (one pipeline per batch: BEGIN, INSERT ... SELECT "
                        "FROM unnest(...), product_sales upsert, COMMIT), same schema (orders/s, batches of 256)",
                        cmp, "orders/s", ">= 0.8x", postgres_persist_command())
    return [row_], postgres_persist_markdown(pair)


def postgres_persist_command():
    return (f"POSTGRES_DSN=<{THROWAWAY_POSTGRES}> {rounds.ROUNDS} rounds, sides in turn (order rotating), each one "
            "process: flashsale-microbench --benchmark_filter='^persist/postgres_plugin/' (or "
            "'^persist/raw_postgres_baseline/') --benchmark_out=FILE --benchmark_out_format=json, 400 batches into a "
            "fresh schema; one warm-up run per side first, not counted; ratio = median of round ratios")


def postgres_persist_rounds(build, work, postgres):
    """The postgres persist pair in rounds.interleave's rounds, each turn one
    run of the binary with only that benchmark. Besides its rate, each turn
    records the CPU the whole PostgreSQL cluster spent per batch (its
    backends end with the run, so they are counted once reaped)."""
    def side(prefix):
        def measure(_seconds):
            before = postgres.cpu_seconds()
            rates, items, _ = clients.microbench(build, os.path.join(work, "postgres-persist.json"),
                                                 {"POSTGRES_DSN": postgres.dsn()}, "^" + prefix)
            server = postgres.cpu_seconds() - before
            name = next(iter(rates))
            batches = items[name] / POSTGRES_PERSIST_BATCH
            return {"rps": rates[name], "p99_ms": 0.0, "requests": int(items[name]),
                    "server_cpu_ms_per_batch": round(server * 1e3 / batches, 3)}
        return measure

    return rounds.interleave([(name, side(prefix), {}) for name, prefix in POSTGRES_PERSIST.items()])


POSTGRES_PERSIST_BATCH = 256  # bench/micro/persist_batch.h, kPersistBatch


def postgres_persist_markdown(result):
    """The pair's rounds: each side's orders/s and the cluster's CPU per batch, and their ratio."""
    names = list(POSTGRES_PERSIST)
    lines = ["| round | " + " | ".join(f"{n} orders/s | {n} server CPU ms/batch" for n in names) +
             " | plugin/raw |", "|" + "---|" * (2 + 2 * len(names))]
    turns = [("warm-up (not counted)", result["warmup"])] + [(str(i + 1), r) for i, r in enumerate(result["rounds"])]
    for label, r in turns:
        cells = [f"{r[n]['rps']:,.0f} | {r[n]['server_cpu_ms_per_batch']:.2f}" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {r['plugin']['rps'] / r['raw libpq']['rps']:.2f}x |")
    cpu = {n: statistics.median(r[n]["server_cpu_ms_per_batch"] for r in result["rounds"]) for n in names}
    client = {n: statistics.median(r[n]["cpu_us_per_req"]["client"] for r in result["rounds"]) * POSTGRES_PERSIST_BATCH
              / 1e3 for n in names}
    lines.append("")
    for n in names:
        lines.append(f"- {n}: PostgreSQL {cpu[n]:.2f} ms + client process {client[n]:.2f} ms of CPU per batch of "
                     f"{POSTGRES_PERSIST_BATCH} (medians over the rounds; the client's includes its start and the "
                     "schema's setup)")
    return "\n".join(lines)


def embedded_buy(build, work):
    """(a) the buy endpoint on the embedded profile vs the minimal Poco server,
    and the ceiling of any server that makes each buy a durable order here:
    the bare Poco server handing one order row per request to a thread that
    batches them into SQLite. All three run all along, measured in rotating
    rounds."""
    orders_db = os.path.join(work, "ceiling-orders.db")
    processes.lay_out_database(build, orders_db)
    server, addr = processes.start_server(build, {"DB_PATH": "bench.db"}, "embedded")
    baseline = ceiling = None
    try:
        baseline, base_addr = processes.start_baseline(build)
        ceiling, ceiling_addr = processes.start_baseline(build, sqlite=orders_db, name="ceiling")
        product = clients.create_product(addr, BIG_STOCK)
        ours, base, top = WrkSide(addr, product), WrkSide(base_addr), WrkSide(ceiling_addr)
        result = rounds.interleave([("ours", ours, {"flashsale-server": server.proc.pid}),
                                    ("ceiling", top, {"baseline": ceiling.proc.pid}),
                                    ("baseline", base, {"baseline": baseline.proc.pid})])
        slices = clients.wrk_slices([(addr, product, 10**13), (base_addr, 1, 1)], 10, CONNECTIONS)
    finally:
        for p in (ceiling, baseline, server):
            if p:
                p.stop()
    rps, p99 = rounds.compare(result, "ours", "baseline"), rounds.compare(result, "ours", "baseline", "p99_ms")
    cmd = in_rounds(ours.command)
    rows = [compared_row("buy, embedded profile vs minimal Poco HTTPServer (requests/s)", rps, "req/s", ">= 0.9x",
                         cmd),
            compared_row("buy, embedded profile vs minimal Poco: p99 latency (ms)", p99, "ms", "", cmd),
            compared_row("ceiling: bare Poco HTTPServer + one order row per request, batched into SQLite by a "
                         "writer thread (no flashsale code) vs minimal Poco HTTPServer (requests/s)",
                         rounds.compare(result, "ceiling", "baseline"), "req/s", "",
                         in_rounds(f"{top.command} against flashsale-baseline-http --sqlite FILE"))]
    sides = ["ours", "ceiling", "baseline"]
    table = rounds.markdown(result, sides, [("ours/baseline", "ours", "baseline"),
                                            ("ceiling/baseline", "ceiling", "baseline"),
                                            ("ours/ceiling", "ours", "ceiling")])
    return rows, slices, table + "\n\n" + rounds.cpu_markdown(result, sides), result


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


def admit_sale_key(product):
    return f"fs:{{p:{product}}}:sale"


def admit_evalsha_args(sha, product, stream):
    """The one EVALSHA of lua/admit.lua that the redis baselines send (redis-benchmark, and the ceiling
    server per request): KEYS and ARGV in the order of the script's header, a batch of one: the success
    path of a buyer of `product` (its sale hash preloaded by preload_admit_sale) with no idempotency key,
    XADDing to `stream`, which no relay reads. "__rand_int__" is the user: redis-benchmark puts a
    random number there (-r), flashsale-baseline-http a counter distinct per request.
    When admit.lua's KEYS/ARGV change, this is the one place to follow."""
    lock = f"fs:{{p:{product}}}:lock:__rand_int__"
    idem = f"fs:{{p:{product}}}:idem:none"
    paused = f"fs:{{p:{product}}}:paused"
    # The buyer's rate-limit window, counted in the same call as the server does with both stages on
    # redis, under the server's default limit (buy.rate.limit 1000 per buy.rate.window.sec 1).
    window = "fs:rl:{u:__rand_int__}"
    event = ('{"v":1,"request_id":"req-__rand_int__","user_id":__rand_int__,"product_id":%d,"quantity":1,'
             '"unit_price":100,"accepted_ms":0}' % product)
    argv = ["1000", "1000", "req-__rand_int__", "__rand_int__", "1", "01", event]
    return ["EVALSHA", sha, "6", admit_sale_key(product), stream, paused, lock, idem, window] + argv


SALE_STOCK = 1_000_000_000


def preload_admit_sale(cli, product):
    subprocess.run(cli + ["HSET", admit_sale_key(product), "remaining", str(SALE_STOCK), "start_ms", "0",
                          "end_ms", "99999999999999"], check=True, capture_output=True)


def admitted(cli, product):
    return SALE_STOCK - int(subprocess.run(cli + ["HGET", admit_sale_key(product), "remaining"],
                                           capture_output=True, text=True, check=True).stdout.strip())


class EvalshaSide:
    """redis-benchmark of admit_evalsha_args(); each run's request count is set
    from the last run's rate so that it lasts about `seconds`."""

    def __init__(self, raddr, args, cli, product):
        self.raddr, self.args, self.cli, self.product = raddr, args, cli, product
        self.rate, self.command = 20_000, None

    def __call__(self, seconds):
        n = max(5_000, int(self.rate * seconds))
        before = admitted(self.cli, self.product)
        rps, p50, p99, cmd = clients.redis_benchmark(self.raddr, self.args, n, CONNECTIONS)
        self.command = cmd.replace(f"-n {n} ", f"-n <the last run's rate x {seconds} s> ")
        self.rate = rps
        return {"requests": n, "rps": rps, "p50_ms": p50, "p99_ms": p99,
                "admitted": admitted(self.cli, self.product) - before}


def redis_buy(build, root):
    """(b) the buy endpoint on the redis-stages profile vs redis-benchmark
    EVALSHA of lua/admit.lua, and the ceiling of any HTTP server in front of
    that script here: the bare Poco server sending one EVALSHA per request.
    All three run on one Redis, all along, measured in rotating rounds."""
    redis, raddr = processes.start_redis()
    server = ceiling = None
    try:
        port = raddr.split(":")[1]
        cli = ["redis-cli", "-p", port]
        with open(os.path.join(root, "lua/admit.lua")) as f:
            sha = subprocess.run(cli + ["SCRIPT", "LOAD", f.read()], capture_output=True, text=True,
                                 check=True).stdout.strip()
        # The benchmark's calls and the ceiling's each on their own sale, so
        # each one's success share can be counted from its stock.
        bench_product, ceiling_product = 999, 998
        for product in (bench_product, ceiling_product):
            preload_admit_sale(cli, product)
        bench_args = admit_evalsha_args(sha, bench_product, "bench:evalsha:stream")
        ceiling_args = admit_evalsha_args(sha, ceiling_product, "bench:ceiling:stream")

        # etc/redis.properties: the handlers, which wait on Redis, run on http.threads, not on the I/O threads.
        server, addr = processes.start_server(build, {"REDIS_ADDR": raddr, "DB_PATH": "bench.db"}, "redis-stages",
                                              config="etc/redis.properties")
        ceiling, ceiling_addr = processes.start_baseline(build, redis=raddr, command=ceiling_args,
                                                         name="ceiling")
        product = clients.create_product(addr, BIG_STOCK)
        ours, top = WrkSide(addr, product), WrkSide(ceiling_addr)
        evalsha = EvalshaSide(raddr, bench_args, cli, bench_product)
        rpid = redis.proc.pid
        result = rounds.interleave([("ours", ours, {"redis-server": rpid, "flashsale-server": server.proc.pid}),
                                    ("ceiling", top, {"redis-server": rpid, "baseline": ceiling.proc.pid}),
                                    ("evalsha", evalsha, {"redis-server": rpid})])
        runs = [result["warmup"]] + result["rounds"]
        bench_share = admitted(cli, bench_product) / sum(r["evalsha"]["requests"] for r in runs)
        ceiling_share = admitted(cli, ceiling_product) / sum(r["ceiling"]["requests"] for r in runs)
    finally:
        for p in (ceiling, server, redis):
            if p:
                p.stop()
    bcmd = evalsha.command.replace(sha, "<sha of lua/admit.lua>")
    ceiling_cmd = (f"{top.command} against flashsale-baseline-http --redis ADDR -- " +
                   " ".join(ceiling_args).replace(sha, "<sha of lua/admit.lua>"))
    vs_bench = rounds.compare(result, "ours", "evalsha")
    rows = [compared_row("buy, redis-stages profile vs redis-benchmark EVALSHA admit.lua (requests/s)", vs_bench,
                         "req/s", ">= 0.7x", in_rounds(f"{ours.command}  vs  {bcmd}")),
            compared_row("buy, redis-stages profile vs EVALSHA: p99 latency (ms)",
                         rounds.compare(result, "ours", "evalsha", "p99_ms"), "ms", "",
                         in_rounds(f"{ours.command}  vs  {bcmd}")),
            compared_row("ceiling: bare Poco HTTPServer + one EVALSHA admit.lua per request (no flashsale code) vs "
                         "redis-benchmark EVALSHA (requests/s)", rounds.compare(result, "ceiling", "evalsha"),
                         "req/s", "", in_rounds(f"{ceiling_cmd}  vs  {bcmd}"))]
    bounds = {side: cpu_bound(rounds.cpu_medians(result, side)) for side in ("ours", "ceiling", "evalsha")}
    cores = os.cpu_count()
    rows.append(row(f"ceiling vs EVALSHA, each alone on {cores} idle cores: CPU bound min(1 core / Redis CPU, "
                    f"{cores} cores / all CPU) per request (requests/s)", bounds["ceiling"], bounds["evalsha"],
                    "req/s", "",
                    "computed from the median CPU time per request of the rounds above (/proc/PID/stat of "
                    "redis-server and the server, rusage of wrk / redis-benchmark)"))
    table = rounds.markdown(result, ["ours", "ceiling", "evalsha"],
                            [("ours/evalsha", "ours", "evalsha"), ("ceiling/evalsha", "ceiling", "evalsha"),
                             ("ours/ceiling", "ours", "ceiling")])
    table += "\n\n" + rounds.cpu_markdown(result, ["ours", "ceiling", "evalsha"]) + "\n\n" + \
        "CPU bound on idle cores (requests/s): " + ", ".join(f"{k} {v:,.0f}" for k, v in bounds.items())
    detail = dict(result, evalsha_success_share=bench_share, ceiling_success_share=ceiling_share,
                  cpu_bound_rps=bounds)
    return rows, table, detail


def cpu_bound(cpu_us):
    """The most requests/s a side could serve on this machine's cores if nothing
    else ran: Redis is one thread, everything together shares all cores."""
    total = sum(cpu_us.values())
    redis = cpu_us.get("redis-server", 0)
    limits = [os.cpu_count() * 1e6 / total] if total else []
    if redis:
        limits.append(1e6 / redis)
    return min(limits) if limits else None


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
        drain_rate, drain_seen = backlog_drain_rate(build, brokers, backlog, work)
        postgres_rate, postgres_seen, postgres_seconds = postgres_drain_rate(build, brokers, backlog, work)
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
        row("default stack with STAGE_PERSIST=postgres: drain capacity (a fresh consumer working off the same "
            "backlog, orders/s) vs admission at peak (accepted/s)", postgres_rate, accept_rate, "/s", ">= 1.0x",
            "flashsale-server --config etc/postgres.properties (the default stack's with stage.persist = postgres) "
            "ROLES=api,consumer KAFKA_GROUP_ID=<new> POSTGRES_DSN=<a new database on "
            f"{THROWAWAY_POSTGRES}> on a fresh Redis, /healthz every 100 ms"),
    ]
    rows.append(row("default stack: accepted->persisted lag from /healthz counters, worst second (ms, 1-s "
                    "resolution)", persist_lag_ms(samples), None, "ms", "", "GET /healthz every second"))
    details = {"peak": peak, "low": low, "exit_codes": (code_peak, code_low), "drain": drain_seen,
               "drain_postgres": dict(postgres_seen, seconds_with_server_start=postgres_seconds)}
    return rows, drain, details


def backlog_drain_rate(build, brokers, events, work, persist=None, group="bench-drain",
                       config="etc/flashsale.properties"):
    """How fast the async path can go, not just whether it keeps up: a
    consumer-only server in a new group (auto.offset.reset=earliest) with its
    own Redis and SQLite file (or, with `persist`, the settings of another
    store, and its profile as `config`) works off every event the runs put on
    the topic. Its rate is counted from its first persisted order (after the
    group join) to the last one. Returns (orders/s or None, what was seen)."""
    redis, raddr = processes.start_redis()
    server = None
    try:
        env = dict({"REDIS_ADDR": raddr, "KAFKA_BROKERS": brokers, "ROLES": "api,consumer", "KAFKA_GROUP_ID": group},
                   **(persist or {"DB_PATH": "drain.db"}))
        server, addr = processes.start_server(build, env, "drain", config=config)
        first = last = None  # (time, persisted) of the first sample above 0, of the last that grew
        persisted = 0
        deadline = time.time() + 120
        while time.time() < deadline and persisted < events:
            persisted = clients.http(addr, "GET", "/healthz")["counters"]["persisted"]
            now = time.time()
            if persisted > 0 and first is None:
                first = (now, persisted)
            if last is None or persisted > last[1]:
                last = (now, persisted)
            elif first is not None and now - last[0] > 10:
                break  # stalled: report what was drained
            time.sleep(0.1)
        seen = {"events": events, "persisted": persisted, "first": first, "last": last}
        if first is None or last[0] <= first[0]:
            return None, seen
        return (last[1] - first[1]) / (last[0] - first[0]), seen
    finally:
        for p in (server, redis):
            if p:
                p.stop()


def postgres_drain_rate(build, brokers, events, work):
    """backlog_drain_rate with persist on postgres (etc/postgres.properties:
    the default stack's profile with stage.persist = postgres): the same
    backlog, in a group of its own, into a new database on a throwaway
    PostgreSQL started for it (and stopped after). Returns (orders/s or None,
    what was seen, the seconds it all took, the server's start included)."""
    started = time.time()
    postgres = processes.start_postgres(work, "postgres-drain")
    try:
        dsn = postgres.create_database("drain")
        rate, seen = backlog_drain_rate(build, brokers, events, work, {"POSTGRES_DSN": dsn}, "bench-drain-postgres",
                                        config="etc/postgres.properties")
    finally:
        postgres.stop()
    return rate, seen, round(time.time() - started, 1)


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
