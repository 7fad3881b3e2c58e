#!/usr/bin/python3
"""GET /dashboard in a real headless Chromium during a load test.

Starts flashsale-server (embedded profile, free port, its own temp dir),
creates and preloads a product, opens /dashboard in headless Chromium (driven
by Debian's chromedriver and python3-selenium), runs flashsale-loadtest
against the product and checks that the page's accepted counter moves while
the sale runs, that it shows the product's own accepted/s, that its charts
draw, and that once the load test is over and the page has polled again its
figures equal what /metrics says. Saves a
screenshot (--screenshot, and $FLASHSALE_SCREENSHOT when set). Every wait has
a deadline; the server, the load test and the browser are stopped pass or
fail, and the server must exit cleanly (under ASan: no leak).
"""
import argparse
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from datetime import datetime, timedelta, timezone

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

ADMIN = {"X-Admin-Token": "dev-admin-token"}
# 2,000 buyers, a fifth of them clicking twice, at 100 requests/s: a sale of
# about 24 s, which the page (one poll a second) sees climb for some 15 s.
STOCK = 1500
USERS = 2000
# Deadlines sized for an ASan server, Chromium and the load test sharing two
# loaded cores; they bound a hang, a passing run takes well under them.
START_SECONDS = 60
LOADTEST_SECONDS = 300
SETTLE_SECONDS = 60


class Failure(Exception):
    pass


def wait_for(what, deadline_seconds, probe, interval=0.1):
    """Calls probe() until it returns something truthy; its value, or Failure naming `what`."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {deadline_seconds} s waiting for {what}")
        time.sleep(interval)


def http(base, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, answer.read().decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(base):
    """/metrics as {(name, frozenset(labels)): value}: the test's own reading of the text format."""
    _, text = http(base, "GET", "/metrics")
    samples = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            name, labels, value = match.groups()
            samples[(name, frozenset(LABEL.findall(labels or "")))] = float(value)
    return samples


def metric(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def start_server(args, workdir):
    env = dict(os.environ, HTTP_ADDR="127.0.0.1:0", DB_PATH=os.path.join(workdir, "flash_sale.db"),
               PLUGIN_DIR=args.plugins,
               # One buy per user a second: the load test's double clicks meet the rate limit and the
               # page has 429s to show.
               BUY_RATE_LIMIT="1")
    out = open(os.path.join(workdir, "server.out"), "w+")
    err = open(os.path.join(workdir, "server.err"), "w+")
    process = subprocess.Popen([args.server, "--config", args.config], stdout=out, stderr=err, env=env,
                               cwd=workdir)

    def listening():
        if process.poll() is not None:
            raise Failure(f"the server exited with {process.returncode}:\n{read(err.name)}")
        first = read(out.name).split("\n", 1)
        return len(first) == 2 and first[0]

    line = wait_for("the server's first line", START_SECONDS, listening)
    if not line.startswith("flashsale listening on http://"):
        process.kill()
        raise Failure(f"unexpected first line: {line!r}")
    return process, line[len("flashsale listening on "):]


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def create_sale(base):
    now = datetime.now(timezone.utc)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    status, body = http(base, "POST", "/api/products",
                        {"name": "dashboard item", "stock": STOCK, "sale_price": 399900,
                         "start_time": stamp(now - timedelta(hours=1)), "end_time": stamp(now + timedelta(days=1))},
                        ADMIN)
    if status != 201:
        raise Failure(f"create product: {status} {body}")
    product = json.loads(body)["id"]
    status, body = http(base, "POST", f"/api/flash_sale/preload/{product}", None, ADMIN)
    if status != 200:
        raise Failure(f"preload: {status} {body}")
    return str(product)


def start_browser(workdir):
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,720", "--user-data-dir=" + os.path.join(workdir, "chromium")):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service("/usr/bin/chromedriver", log_path=os.path.join(workdir, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(START_SECONDS)
    driver.set_script_timeout(START_SECONDS)
    return driver


READ_PAGE = """
const figures = {};
for (const element of document.querySelectorAll('[data-metric]')) {
  const key = element.dataset.product === undefined ? element.dataset.metric
                                                    : element.dataset.metric + '@' + element.dataset.product;
  figures[key] = element.textContent;
}
figures.status = document.getElementById('status').textContent;
return figures;
"""

# Pixels a chart's canvas has drawn (not transparent).
CHART_INK = """
const canvas = document.getElementById(arguments[0]);
const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let ink = 0;
for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) ink++;
return ink;
"""


def number(text):
    """A figure as the page shows it: an int, or None for '–'/'n/a'."""
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def rate(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def run(args, workdir, stop_list):
    server, base = start_server(args, workdir)
    stop_list.append(("server", server))
    product = create_sale(base)

    driver = start_browser(workdir)
    stop_list.append(("browser", driver))
    driver.get(base + "/dashboard")
    page = lambda: driver.execute_script(READ_PAGE)
    wait_for("the page's first poll", START_SECONDS, lambda: (number(page().get("polls")) or 0) >= 1)
    if number(page().get("accepted_total")) != 0:
        raise Failure(f"before the sale the page shows accepted {page().get('accepted_total')}")

    report_file = os.path.join(workdir, "loadtest.json")
    loadtest_out = open(os.path.join(workdir, "loadtest.out"), "w+")
    loadtest = subprocess.Popen(
        [args.loadtest, "-addr", base[len("http://"):], "-product", product, "-users", str(USERS), "-c", "8",
         "-dup-ratio", "0.2", "-rate", "100", "-wait", "120", "-json", report_file],
        stdout=loadtest_out, stderr=subprocess.STDOUT)
    stop_list.append(("loadtest", loadtest))

    # While the sale runs: the accepted total climbs through values between 0 and the end.
    accepted_seen, fastest, fastest_product, p99_seen, screenshot_taken = set(), 0.0, 0.0, False, False
    deadline = time.monotonic() + LOADTEST_SECONDS
    while loadtest.poll() is None:
        if time.monotonic() > deadline:
            raise Failure(f"the load test ran past {LOADTEST_SECONDS} s:\n{read(loadtest_out.name)}")
        figures = page()
        accepted = number(figures.get("accepted_total"))
        if accepted:
            accepted_seen.add(accepted)
        fastest = max(fastest, rate(figures.get("accepted_rate")) or 0.0)
        fastest_product = max(fastest_product, rate(figures.get("accepted_rate@" + product)) or 0.0)
        p99_seen = p99_seen or figures.get("p99", "–").endswith(" ms")
        stock = number(figures.get("stock_remaining@" + product))
        # The README's picture: mid-sale, with a few seconds of history in the charts.
        if not screenshot_taken and stock is not None and stock < STOCK // 3 and stock > 0 and \
                number(figures.get("polls")) >= 6:
            save_screenshot(driver, args)
            screenshot_taken = True
        time.sleep(0.2)
    output = read(loadtest_out.name)
    if loadtest.returncode != 0 or "invariants: all hold" not in output:
        raise Failure(f"the load test failed ({loadtest.returncode}):\n{output}")
    with open(report_file) as f:
        report = json.load(f)
    if len(accepted_seen) < 2:
        raise Failure(f"the page's accepted total did not move during the sale: saw {sorted(accepted_seen)}")
    if fastest <= 0:
        raise Failure("the page never showed a positive accepted/s")
    if fastest_product <= 0:
        raise Failure(f"the page never showed a positive accepted/s for product {product}")
    if not p99_seen:
        raise Failure("the page never showed an accepted->final p99")

    # The sale is over and every accepted request final: /metrics holds still. Two polls later (the first
    # may have started before), the page must show exactly what /metrics says.
    def settled():
        samples = scrape(base)
        accepted = metric(samples, "flashsale_buy_requests_total", outcome="accepted")
        finished = sum(metric(samples, "flashsale_requests_finished_total", status=s) for s in ("success", "failed"))
        return accepted == finished and samples

    wait_for("every accepted request to be counted final in /metrics", SETTLE_SECONDS, settled)
    polls = number(page()["polls"])
    figures = wait_for("two more polls of the page", SETTLE_SECONDS,
                       lambda: (lambda f: number(f["polls"]) >= polls + 2 and f)(page()))
    samples = scrape(base)
    expected = {
        "accepted_total": metric(samples, "flashsale_buy_requests_total", outcome="accepted"),
        "success": metric(samples, "flashsale_requests_finished_total", status="success"),
        "failed": metric(samples, "flashsale_requests_finished_total", status="failed"),
        "pending": 0,
        "outbox_backlog": metric(samples, "flashsale_outbox_backlog"),
        "stock_remaining@" + product: metric(samples, "flashsale_stock_remaining", product=product),
        "orders_created@" + product: metric(samples, "flashsale_orders_created_total", product=product),
        "requests_failed@" + product: metric(samples, "flashsale_requests_failed_total", product=product),
    }
    wrong = {key: (figures.get(key), int(value)) for key, value in expected.items()
             if number(figures.get(key)) != int(value)}
    if wrong:
        raise Failure(f"the page differs from /metrics (shown, /metrics): {wrong}")
    if figures.get("consumer_lag") != "n/a":
        raise Failure(f"the embedded profile has no consumer lag, the page shows {figures.get('consumer_lag')!r}")
    if number(figures["success"]) != report["success"] or number(figures["stock_remaining@" + product]) != \
            STOCK - report["success"]:
        raise Failure(f"the load test saw {report['success']} successes, the page {figures}")
    for chart in ("chart-accepted", "chart-limited", "chart-backlog", "chart-p99"):
        if driver.execute_script(CHART_INK, chart) == 0:
            raise Failure(f"{chart} drew nothing")
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    if errors:
        raise Failure(f"the browser's console has errors: {errors}")
    if not screenshot_taken:
        save_screenshot(driver, args)
    print(f"page matches /metrics: {json.dumps({k: figures[k] for k in expected})}")
    print(f"accepted totals seen during the sale: {len(accepted_seen)}, fastest accepted/s {fastest}")


def save_screenshot(driver, args):
    driver.save_screenshot(args.screenshot)
    print(f"screenshot: {args.screenshot}")
    extra = os.environ.get("FLASHSALE_SCREENSHOT")
    if extra:
        shutil.copyfile(args.screenshot, extra)
        print(f"screenshot: {extra}")


def stop(stop_list):
    """Stops what run() started, newest first; the server's exit code (None if it was not started)."""
    code = None
    for kind, thing in reversed(stop_list):
        if kind == "browser":
            try:
                thing.quit()
            except Exception as error:  # a browser that died already: nothing left to stop
                print(f"stopping the browser: {error}", file=sys.stderr)
            continue
        if thing.poll() is None:
            thing.send_signal(signal.SIGTERM if kind == "server" else signal.SIGKILL)
        try:
            thing.wait(timeout=60)
        except subprocess.TimeoutExpired:
            thing.kill()
            thing.wait()
        if kind == "server":
            code = thing.returncode
    return code


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--loadtest", required=True)
    parser.add_argument("--plugins", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()
    for tool in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.path.exists(tool):
            print(f"{tool} is missing: run scripts/install-deps.sh", file=sys.stderr)
            return 1

    workdir = tempfile.mkdtemp(prefix="flashsale-dashboard-")
    stop_list = []
    failure = None
    try:
        run(args, workdir, stop_list)
    except Failure as error:
        failure = str(error)
    except Exception:  # selenium's or the OS's: the same clean-up and report
        failure = traceback.format_exc()
    finally:
        for kind, thing in stop_list:
            if kind == "browser" and failure is not None:
                try:  # what the page showed when it failed
                    thing.save_screenshot(os.path.join(os.path.dirname(args.screenshot), "dashboard-failed.png"))
                except Exception:
                    pass
        server_code = stop(stop_list)
    if server_code not in (None, 0):
        failure = (failure + "\n" if failure else "") + f"the server exited with {server_code}:\n" + \
                  read(os.path.join(workdir, "server.err"))[-20000:]
    if failure is not None:
        for log in ("loadtest.out", "server.err"):
            path = os.path.join(workdir, log)
            if os.path.exists(path):
                print(f"--- {log} (last lines)\n" + "\n".join(read(path).splitlines()[-40:]), file=sys.stderr)
        print("FAILED: " + failure, file=sys.stderr)
    shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failure is not None else 0


if __name__ == "__main__":
    sys.exit(main())
