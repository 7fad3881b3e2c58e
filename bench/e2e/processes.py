"""The processes an end-to-end run needs, each on a free loopback port and
each stopped at the end, pass or fail: the flashsale server on a profile, the
baseline Poco server, nginx, a scratch redis-server, the Kafka dev broker.
Every process started here is registered in STARTED; stop_all() ends them."""

import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

STARTED = []


def raise_open_files():
    """Lifts this process's soft RLIMIT_NOFILE to its hard limit, so wrk, the
    servers started from here (which inherit it) and the idle-connection
    probe can hold thousands of sockets."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def child_pids(pid):
    """The pids whose parent is `pid` (nginx's workers under its master)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass  # ended meanwhile
    return children


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child whose stdout goes to a log file; `first_line` waits for the
    line the program prints once it is ready. `files` ({name: text}) are
    written into its temp dir before it starts; argv and files may each be a
    function of that dir."""

    def __init__(self, name, argv, env=None, cwd=None, files=None):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="flashsale-bench-" + name + "-")
        if callable(files):
            files = files(self.dir)
        for file_name, text in (files or {}).items():
            with open(os.path.join(self.dir, file_name), "w") as f:
                f.write(text)
        if callable(argv):
            argv = argv(self.dir)
        self.log_path = os.path.join(self.dir, "out.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **(env or {})), cwd=cwd or self.dir)
        STARTED.append(self)

    def first_line(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path) as f:
                line = f.readline()
            if line.endswith("\n"):
                return line.strip()
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start: " + open(self.log_path).read()[-2000:])

    def vm_hwm_kb(self):
        """Peak resident set (VmHWM) of the process so far, in KiB."""
        return self.status_kb("VmHWM")

    def status_kb(self, field):
        """A size field of /proc/PID/status (VmRSS, VmHWM, ...), in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)  # its log, database and sockets
        if self in STARTED:
            STARTED.remove(self)


def stop_all():
    for p in list(reversed(STARTED)):
        p.stop()


def start_server(build, env, name="server", config="etc/embedded.properties"):
    """flashsale-server on a free port; returns (process, "127.0.0.1:PORT")."""
    p = Process(name, [os.path.abspath(os.path.join(build, "bin/flashsale-server")), "--config",
                       os.path.abspath(config)],
                env=dict({"HTTP_ADDR": "127.0.0.1:0"}, **env))
    line = p.first_line()
    if "listening on http://" not in line:
        raise RuntimeError(f"{name}: unexpected first line: {line}")
    return p, line.split("http://", 1)[1]


def start_baseline(build, threads=128, redis=None, command=None, sqlite=None, name="baseline"):
    """flashsale-baseline-http on a free port; with redis ("HOST:PORT") and
    command (a Redis command's words) each POST also sends that command; with
    sqlite (a file holding the flashsale schema) each POST also queues one
    order row for its batching writer. Returns (process, "127.0.0.1:PORT")."""
    argv = [os.path.join(build, "bin/flashsale-baseline-http"), "--addr", "127.0.0.1:0", "--threads", str(threads)]
    if sqlite:
        argv += ["--sqlite", sqlite]
    if redis:
        argv += ["--redis", redis, "--"] + list(command)
    p = Process(name, argv)
    return p, p.first_line().split("http://", 1)[1]


NGINX_CONF = """# nginx for bench/e2e: a fixed answer, no logging, in its own temp dir.
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile {nofile};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections {connections};
}}
http {{
    access_log off;
    keepalive_requests 1000000000;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = {path} {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


def start_nginx(path, body):
    """Debian's nginx, 2 workers, answering GET `path` 200 with the fixed JSON
    `body`, from its own prefix, config, pid and log files in a temp dir;
    returns (process, "127.0.0.1:PORT") once it answers."""
    port = free_port()
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def argv(d):
        return ["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf"), "-e", os.path.join(d, "error.log")]

    def files(d):
        return {"nginx.conf": NGINX_CONF.format(dir=d, port=port, nofile=nofile, connections=nofile // 2,
                                                path=path, body=body)}

    p = Process("nginx", argv, files=files)
    addr = f"127.0.0.1:{port}"
    wait_answering(p, f"http://{addr}{path}")
    return p, addr


def wait_answering(process, url, timeout=10):
    """Polls `url` until it answers 200 (for servers that print no ready line)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{process.name} does not answer {url}: " + open(process.log_path).read()[-2000:])


def lay_out_database(build, path):
    """A new SQLite file at path with the flashsale schema, as the server's
    sqlite plugin lays it out (the server is started on it and stopped)."""
    server, _ = start_server(build, {"DB_PATH": os.path.abspath(path)}, "schema")
    server.stop()


def start_redis():
    """A scratch redis-server; returns (process, "127.0.0.1:PORT")."""
    port = free_port()
    p = Process("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--maxmemory-policy", "noeviction"])
    deadline = time.time() + 10
    while time.time() < deadline:
        if subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True,
                          text=True).stdout.strip() == "PONG":
            return p, f"127.0.0.1:{port}"
        time.sleep(0.05)
    raise RuntimeError("redis-server did not answer PING")


def start_devbroker(build):
    p = Process("devbroker", [os.path.join(build, "bin/flashsale-devbroker")])
    return p, p.first_line()
