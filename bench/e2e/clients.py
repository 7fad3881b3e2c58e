"""The load generators and probes of an end-to-end run, each returning plain
numbers: wrk with buy.lua or get.lua, redis-benchmark, flashsale-loadtest, the
micro-benchmark binary, the admin API, and a /healthz sampler."""

import datetime
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN = {"X-Admin-Token": "dev-admin-token", "Content-Type": "application/json"}


def http(addr, method, path, body=None, headers=None):
    req = urllib.request.Request(f"http://{addr}{path}", method=method, headers=headers or {},
                                 data=body.encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def create_product(addr, stock, shards=1, preload=True):
    """Creates a product on sale now, its stock over `shards` stock shards,
    and preloads it unless told not to; returns its id."""
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    fields = {"name": "bench", "stock": stock, "sale_price": 100,
              "start_time": (now - datetime.timedelta(hours=1)).strftime(fmt),
              "end_time": (now + datetime.timedelta(days=1)).strftime(fmt)}
    if shards != 1:
        fields["stock_shards"] = shards
    product = http(addr, "POST", "/api/products", json.dumps(fields), ADMIN)["id"]
    if preload:
        preload_product(addr, product)
    return product


def preload_product(addr, product):
    http(addr, "POST", f"/api/flash_sale/preload/{product}", "", ADMIN)


def latency_buckets(addr):
    """The server's cumulative accepted->final histogram: [(bound_ms or None for +Inf, count)]."""
    le = http(addr, "GET", "/healthz")["accepted_to_final_ms"]["le"]
    return [(None if k == "+Inf" else int(k), v) for k, v in le.items()]


def share_bound(before, after, share):
    """The smallest bucket bound holding `share` of what finished between two samples."""
    deltas = [(bound, a - b) for (bound, a), (_, b) in zip(after, before)]
    total = deltas[-1][1]
    for bound, cumulative in deltas:
        if total and cumulative >= share * total:
            return bound
    return None


def wait_until_final(addr, product, user, timeout=60):
    """Buys once and polls /result until the request is final."""
    body = json.dumps({"user_id": user, "product_id": product, "quantity": 1})
    request_id = http(addr, "POST", "/api/flash_sale/buy", body, {"Content-Type": "application/json"})["request_id"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if http(addr, "GET", f"/api/flash_sale/result/{request_id}").get("status") in ("success", "failed"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"warm-up request {request_id} not final within {timeout} s")


def wrk(addr, seconds, connections, threads=2, product=1, user_base=1, script="buy.lua", path=""):
    """Runs wrk with buy.lua (or `script`, on the URL's `path`); returns (the
    parsed WRK_JSON dict, the command)."""
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
           "-s", os.path.join(HERE, script), f"http://{addr}{path}"]
    env = dict(os.environ, PRODUCT_ID=str(product), USER_BASE=str(user_base), LUA_PATH=HERE + "/?.lua;;")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRK_JSON "))
    return json.loads(line[len("WRK_JSON "):]), " ".join(cmd[:-3] + ["bench/e2e/" + script, "URL" + path])


def answer_bytes(addr, path):
    """The size of one keep-alive GET's whole answer (status line, headers and
    body), so fixed-answer figures can say what each side sends."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError(f"{addr}{path}: connection closed before the answer's head")
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0]
        fields = [line.split(b":", 1) for line in head.split(b"\r\n")[1:]]
        length = next(int(value) for name, value in fields if name.strip().lower() == b"content-length")
        return len(head) + 4 + length


def wrk_slices(targets, count, connections):
    """`count` 1-second wrk runs on each target in turn (addr, product, user_base):
    [(second, rps, p99 of the first target, rps, p99 of the next, ...)]."""
    rows = []
    for i in range(count):
        row = [i + 1]
        for addr, product, user_base in targets:
            r, _ = wrk(addr, 1, connections, product=product, user_base=user_base + i * 10**11)
            row += [r["rps"], r["p99_ms"]]
        rows.append(tuple(row))
    return rows


def redis_benchmark(addr, args, requests, connections):
    """redis-benchmark of one command; returns (requests/s, p50 ms, p99 ms, the command)."""
    host, port = addr.split(":")
    cmd = ["redis-benchmark", "-h", host, "-p", port, "-c", str(connections), "-n", str(requests),
           "-r", "100000000", "--csv"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [l for l in out.splitlines() if l.startswith('"') and not l.startswith('"test"')]
    # The first column is the command as given, unescaped (a JSON argument brings quotes and commas): the
    # figures are read from the right.
    fields = [""] + [f.strip('"') for f in rows[-1].rsplit(",", 7)[1:]]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max"
    shown = " ".join(["redis-benchmark", "-p", "PORT"] + cmd[5:])
    return float(fields[1]), float(fields[4]), float(fields[6]), shown


def loadtest(build, addr, users, connections, duration, json_path, stock=10_000_000, wait=60, rate=0):
    """flashsale-loadtest with -json; returns (the report dict, exit code, command)."""
    cmd = [os.path.join(build, "bin/flashsale-loadtest"), "-addr", addr, "-create-stock", str(stock),
           "-users", str(users), "-c", str(connections), "-duration", str(duration), "-wait", str(wait)]
    if rate > 0:
        cmd += ["-rate", str(int(rate))]
    cmd += ["-json", json_path]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    with open(json_path) as f:
        report = json.load(f)
    shown = " ".join(["flashsale-loadtest", "-addr", "ADDR"] + cmd[3:-1] + ["FILE"])
    return report, proc.returncode, shown


def microbench(build, json_path, env=None, benchmark_filter=None):
    """Runs the micro-benchmarks `benchmark_filter` selects (Google
    Benchmark's --benchmark_filter; every one without it), `env` added to the
    environment (e.g. POSTGRES_DSN); returns {name: items_per_second},
    {name: items processed} and the command."""
    cmd = [os.path.join(build, "bin/flashsale-microbench")]
    if benchmark_filter:
        cmd.append("--benchmark_filter=" + benchmark_filter)
    cmd += ["--benchmark_out=" + json_path, "--benchmark_out_format=json"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
    with open(json_path) as f:
        data = json.load(f)
    ran = [b for b in data["benchmarks"] if "error_occurred" not in b]
    rates = {b["name"]: b.get("items_per_second", 0.0) for b in ran}
    # real_time is per iteration, in the benchmark's unit (ms for the persist ones).
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    items = {b["name"]: b.get("items_per_second", 0.0) * b["real_time"] * scale[b["time_unit"]] * b["iterations"]
             for b in ran}
    shown = ["flashsale-microbench"] + ([f"--benchmark_filter='{benchmark_filter}'"] if benchmark_filter else [])
    return rates, items, " ".join(shown + ["--benchmark_out=FILE", "--benchmark_out_format=json"])


class HealthzSampler:
    """Reads /healthz counters once a second in a thread: [(t, counters)]."""

    def __init__(self, addr):
        self.addr, self.samples, self._stop = addr, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        start = time.time()
        while not self._stop.is_set():
            try:
                self.samples.append((time.time() - start, http(self.addr, "GET", "/healthz")["counters"]))
            except OSError:
                pass
            self._stop.wait(1.0)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.samples
