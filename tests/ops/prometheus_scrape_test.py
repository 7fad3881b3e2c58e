#!/usr/bin/env python3
"""A real Prometheus scrapes a real flashsale-server and answers a query with
what the server counted.

The server runs on the embedded profile (temp SQLite file, HTTP_ADDR
127.0.0.1:0, its port read from its first stdout line); Prometheus runs on a
free loopback port with a temp TSDB, the config of etc/prometheus/prometheus.yml
with this server as target, a 1s scrape and evaluation interval and the alert
rules loaded. After N accepted buys, Prometheus' HTTP API must answer N for
the accepted outcome, in total and for the product, before a deadline, every alert rule must evaluate without
error on the real series, and `promtool check metrics` must accept a scrape.
Both processes are stopped however the test ends; the server must exit 0
(under ASan a leak or an error makes it exit otherwise).

usage: prometheus_scrape_test.py <build dir> <source dir>
"""
import ctypes
import datetime
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

BUYS = 25
ADMIN = {"X-Admin-Token": "dev-admin-token"}  # etc/embedded.properties' default
START_TIMEOUT_S = 60  # an ASan build starts slowly on a loaded machine
QUERY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60

# No proxy from the environment for loopback calls.
http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def die_with_test():
    """Runs in the child before exec: a test killed by ctest's timeout takes
    its children along (PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def request(method, url, body=None, headers=None):
    """(status, body text) of one HTTP call; 4xx/5xx are answers, not errors."""
    data = body.encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with http.open(req, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def first_line(process, timeout_s):
    """The process's first stdout line, or '' at the deadline or its exit."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        if not selector.select(timeout=0.1):
            continue
        byte = os.read(process.stdout.fileno(), 1)
        if not byte:
            break
        line += byte
    selector.close()
    return line.decode().strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process, name):
    """SIGTERM, then SIGKILL after the timeout; returns the exit code."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in {STOP_TIMEOUT_S}s: killed")
        process.kill()
        process.wait()
        return -1


def wait_for(what, value, want, timeout_s):
    """Calls value() until it returns `want` or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    last = value()
    while last != want and time.monotonic() < deadline:
        time.sleep(0.2)
        last = value()
    if last != want:
        raise AssertionError(f"timed out after {timeout_s}s waiting for {what} == {want!r} (last: {last!r})")


def start_server(build_dir, source_dir, work, processes):
    env = dict(os.environ,
               HTTP_ADDR="127.0.0.1:0",
               DB_PATH=os.path.join(work, "flash_sale.db"),
               PLUGIN_DIR=os.path.join(build_dir, "plugins"))
    stderr = open(os.path.join(work, "server.log"), "wb")
    server = subprocess.Popen(
        [os.path.join(build_dir, "bin", "flashsale-server"), "--config",
         os.path.join(source_dir, "etc", "embedded.properties")],
        env=env, stdout=subprocess.PIPE, stderr=stderr, preexec_fn=die_with_test)
    stderr.close()
    processes.append(("flashsale-server", server))
    line = first_line(server, START_TIMEOUT_S)
    if not line.startswith("flashsale listening on"):
        raise AssertionError(f"server did not start: {line!r}")
    return int(line.rsplit(":", 1)[1])


def make_sale(base):
    now = time.time()
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    product = {"name": "metrics item", "stock": BUYS, "sale_price": 1000,
               "start_time": time.strftime(fmt, time.gmtime(now - 3600)),
               "end_time": time.strftime(fmt, time.gmtime(now + 86400))}
    status, body = request("POST", base + "/api/products", json.dumps(product), ADMIN)
    assert status == 201, f"create product: {status} {body}"
    product_id = json.loads(body)["id"]
    status, body = request("POST", f"{base}/api/flash_sale/preload/{product_id}", "", ADMIN)
    assert status == 200, f"preload: {status} {body}"
    for user in range(1, BUYS + 1):
        buy = {"product_id": product_id, "user_id": user, "quantity": 1}
        status, body = request("POST", base + "/api/flash_sale/buy", json.dumps(buy))
        assert status == 202, f"buy of user {user}: {status} {body}"
    return product_id


def check_metrics_text(base):
    status, text = request("GET", base + "/metrics")
    assert status == 200, f"GET /metrics: {status}"
    checked = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text.encode(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert checked.returncode == 0, "promtool check metrics: " + checked.stdout.decode()


def start_prometheus(source_dir, server_port, work, processes):
    with open(os.path.join(source_dir, "etc", "prometheus", "prometheus.yml")) as f:
        config = yaml.safe_load(f)
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [os.path.join(source_dir, "etc", "prometheus", "alerts.yml")]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [f"127.0.0.1:{server_port}"]}]
    config_path = os.path.join(work, "prometheus.yml")
    with open(config_path, "w") as f:
        yaml.safe_dump(config, f)
    port = free_port()
    log = open(os.path.join(work, "prometheus.log"), "wb")
    prometheus = subprocess.Popen(
        ["/usr/bin/prometheus", "--config.file=" + config_path,
         "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_test)
    log.close()
    processes.append(("prometheus", prometheus))
    return f"http://127.0.0.1:{port}"


def query(prometheus_url, expression):
    """The instant vector's first value as a float, or None (also while
    Prometheus is not yet listening)."""
    url = prometheus_url + "/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    try:
        status, body = request("GET", url)
    except (urllib.error.URLError, ConnectionError):
        return None
    if status != 200:
        return None
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def evaluated_at(timestamp):
    """Seconds since the epoch of an RFC 3339 time with up to 9 decimals."""
    whole, _, fraction = timestamp.rstrip("Z").partition(".")
    moment = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp() + float("0." + (fraction or "0"))


def rules_evaluated_ok(prometheus_url, since):
    """How many rules Prometheus evaluated without error after `since` (the
    epoch seconds when the server's series were in)."""
    try:
        status, body = request("GET", prometheus_url + "/api/v1/rules")
    except (urllib.error.URLError, ConnectionError):
        return 0
    if status != 200:
        return 0
    groups = json.loads(body)["data"]["groups"]
    return sum(rule["health"] == "ok" and evaluated_at(rule["lastEvaluation"]) > since
               for group in groups for rule in group["rules"])


def run(build_dir, source_dir, work, processes):
    port = start_server(build_dir, source_dir, work, processes)
    base = f"http://127.0.0.1:{port}"
    product = make_sale(base)
    check_metrics_text(base)

    prometheus_url = start_prometheus(source_dir, port, work, processes)
    accepted = 'flashsale_buy_requests_total{job="flashsale",outcome="accepted"}'
    wait_for(accepted, lambda: query(prometheus_url, accepted), BUYS, QUERY_TIMEOUT_S)
    per_product = f'flashsale_product_buy_requests_total{{job="flashsale",product="{product}",outcome="accepted"}}'
    wait_for(per_product, lambda: query(prometheus_url, per_product), BUYS, QUERY_TIMEOUT_S)
    assert query(prometheus_url, 'up{job="flashsale"}') == 1
    with open(os.path.join(source_dir, "etc", "prometheus", "alerts.yml")) as f:
        rules = sum(len(group["rules"]) for group in yaml.safe_load(f)["groups"])
    series_in = time.time()
    wait_for("the alert rules evaluated without error", lambda: rules_evaluated_ok(prometheus_url, series_in),
             rules, QUERY_TIMEOUT_S)
    print(f"prometheus read {BUYS} accepted buys back from the server")


def main():
    # Absolute: Prometheus reads rule_files relative to its config file.
    build_dir, source_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    processes = []
    with tempfile.TemporaryDirectory(prefix="flashsale-prometheus-") as work:
        failure = None
        try:
            run(build_dir, source_dir, work, processes)
        except Exception as error:  # every failure still stops the processes
            failure = f"{type(error).__name__}: {error}"
        for name, process in reversed(processes):
            code = stop(process, name)
            if name == "flashsale-server" and code != 0 and failure is None:
                failure = f"flashsale-server exited {code} after SIGTERM"
        if failure is not None:
            print("FAILED:", failure)
            for log in ("server.log", "prometheus.log"):
                path = os.path.join(work, log)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        print(f"--- {log} (last 60 lines)")
                        print("".join(f.readlines()[-60:]))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
