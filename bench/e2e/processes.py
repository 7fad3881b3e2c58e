"""The processes an end-to-end run needs, each on a free loopback port and
each stopped at the end, pass or fail: the flashsale server on a profile, the
baseline Poco server, nginx, a scratch redis-server, a local Redis Cluster,
the Kafka dev broker, a throwaway PostgreSQL 15. Every process started here is registered in STARTED;
stop_all() ends them."""

import os
import pwd
import resource
import shutil
import signal
import socket
import stat
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


def redis_argv(port):
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--maxmemory-policy", "noeviction"]


def redis_cli(port, *args, cluster=False):
    """One redis-cli command against 127.0.0.1:port (following MOVED/ASK with
    cluster); returns its output, stripped."""
    argv = ["redis-cli", "-p", str(port)] + (["-c"] if cluster else []) + [str(a) for a in args]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def wait_ping(process, port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline and process.proc.poll() is None:
        if subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True,
                          text=True).stdout.strip() == "PONG":
            return True
        time.sleep(0.05)
    return False


def start_redis(prefix=None):
    """A scratch redis-server, run under `prefix(dir)` (a tool's argv, given
    the process's temp dir) when given; returns (process, "127.0.0.1:PORT")."""
    port = free_port()
    argv = redis_argv(port)
    p = Process("redis", (lambda d: prefix(d) + argv) if prefix else argv)
    if wait_ping(p, port):
        return p, f"127.0.0.1:{port}"
    raise RuntimeError("redis-server did not answer PING: " + open(p.log_path).read()[-2000:])


CLUSTER_SLOTS = 16384


class RedisCluster:
    """A local Redis Cluster of `masters` masters and no replicas, each node a
    redis-server in its own temp dir (its nodes.conf there), made one cluster
    by `redis-cli --cluster create`; ready once every node says
    cluster_state:ok with every slot served and they agree on who serves
    which. The options are tests/support/redis_cluster.cpp's: a 1 s node
    timeout, the bus on a free port of its own (port + 10000 may be past
    65535). stop() ends every node."""

    def __init__(self, masters=3, timeout=60):
        self.nodes = []  # (Process, port)
        try:
            for i in range(masters):
                self.nodes.append(self._start_node(i))
            done = subprocess.run(["redis-cli", "--cluster", "create"] +
                                  [f"127.0.0.1:{port}" for _, port in self.nodes] +
                                  ["--cluster-replicas", "0", "--cluster-yes"],
                                  capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0:
                raise RuntimeError("redis-cli --cluster create failed: " + done.stdout[-2000:] + done.stderr[-2000:])
            deadline = time.time() + timeout
            while not self.ready():
                if time.time() > deadline:
                    raise RuntimeError(f"the cluster was not ready within {timeout} s")
                time.sleep(0.05)
        except Exception:
            self.stop()
            raise

    @staticmethod
    def _start_node(i):
        # Both ports were free a moment ago; another process may take one first.
        for attempt in range(3):
            port = free_port()
            p = Process(f"redis-cluster-{i}", redis_argv(port) + [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "1000", "--cluster-port", str(free_port())])
            if wait_ping(p, port):
                return p, port
            p.stop()
        raise RuntimeError(f"cluster node {i} did not start")

    @property
    def ports(self):
        return [port for _, port in self.nodes]

    def seeds(self):
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def slot_owners(self, port=None):
        """[(first slot, last slot, master's port)] as one node's CLUSTER NODES has them."""
        owners = []
        for line in redis_cli(port or self.ports[0], "CLUSTER", "NODES").splitlines():
            fields = line.split()
            if len(fields) < 8 or "master" not in fields[2].split(","):
                continue
            owner = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for r in fields[8:]:
                if not r.startswith("["):  # a migration marker
                    first, _, last = r.partition("-")
                    owners.append((int(first), int(last or first), owner))
        return sorted(owners)

    def master_of(self, key):
        """The port of the master serving `key`'s slot."""
        slot = int(redis_cli(self.ports[0], "CLUSTER", "KEYSLOT", key))
        return next(owner for first, last, owner in self.slot_owners() if first <= slot <= last)

    def ready(self):
        try:
            views = []
            for port in self.ports:
                info = dict(line.split(":", 1) for line in redis_cli(port, "CLUSTER", "INFO").splitlines()
                            if ":" in line)
                if (info.get("cluster_state") != "ok" or info.get("cluster_slots_ok") != str(CLUSTER_SLOTS)
                        or info.get("cluster_known_nodes") != str(len(self.nodes))):
                    return False
                views.append(self.slot_owners(port))
        except (subprocess.CalledProcessError, ValueError):
            return False
        covered = sum(last - first + 1 for first, last, _ in views[0])
        return covered == CLUSTER_SLOTS and all(v == views[0] for v in views)

    def stop(self):
        for p, _ in self.nodes:
            p.stop()


def start_devbroker(build):
    p = Process("devbroker", [os.path.join(build, "bin/flashsale-devbroker")])
    return p, p.first_line()


PG_BIN = os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin")  # Debian's postgresql-15


class Postgres:
    """A throwaway PostgreSQL 15 cluster in `<work>/<name>`: initdb with trust
    auth and superuser `flashsale` (as tests/support/postgres_server.cpp and
    scripts/run-stack.sh make theirs), started by pg_ctl on a free loopback
    port and a Unix socket in that dir, with the server's default settings
    (fsync and synchronous_commit on: a commit waits for its WAL flush).
    PostgreSQL refuses to run as root: run by root, initdb, pg_ctl and so the
    server run as the `postgres` user (runuser), which is handed the dir and
    must be able to reach it (the work dir is made traversable). stop()
    (a fast shutdown) removes the cluster."""

    def __init__(self, work, name="postgres"):
        self.name = name
        for tool in ("initdb", "pg_ctl", "psql"):
            if not os.access(os.path.join(PG_BIN, tool), os.X_OK):
                raise RuntimeError(f"no {PG_BIN}/{tool}: apt-get install postgresql-15 (or set PG_BINDIR)")
        self.dir = os.path.join(os.path.abspath(work), name)
        os.makedirs(self.dir)
        self.as_user = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root, and there is no postgres user to run PostgreSQL as "
                                   "(apt-get install postgresql-15)") from None
            self.as_user = ["runuser", "-u", "postgres", "--"]
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            up = os.path.dirname(self.dir)
            os.chmod(up, stat.S_IMODE(os.stat(up).st_mode) | 0o711)  # the work dir, made by mkdtemp with 0700
            while up != os.path.dirname(up):
                up = os.path.dirname(up)
                if not os.stat(up).st_mode & 0o001:
                    raise RuntimeError(f"{up} is not traversable by the postgres user: set TMPDIR to a folder that is")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.port = None
        self._run(["initdb", "-D", self.data, "-U", "flashsale", "--auth=trust", "--no-locale", "-E", "UTF8"],
                  "initdb")
        for attempt in range(5):  # a port taken between the probe and the bind: another
            self.port = free_port()
            started = subprocess.run(self.as_user + [os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l",
                                                     self.log_path, "-w", "-t", "30", "-o",
                                                     f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}",
                                                     "start"], cwd=self.dir, capture_output=True, text=True)
            if started.returncode == 0:
                break
        else:
            raise RuntimeError("PostgreSQL did not start: " + started.stdout + started.stderr +
                               open(self.log_path).read()[-2000:])
        STARTED.append(self)

    def _run(self, argv, what):
        done = subprocess.run(self.as_user + [os.path.join(PG_BIN, argv[0])] + argv[1:], cwd=self.dir,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{what} failed: " + done.stdout + done.stderr)
        return done.stdout

    def dsn(self, database="postgres"):
        return f"postgresql://flashsale@127.0.0.1:{self.port}/{database}"

    def cpu_seconds(self):
        """CPU time (user + system) of the whole cluster so far: the postmaster,
        the children it has reaped (a session's backend ends with it) and the
        ones still running."""
        tick = os.sysconf("SC_CLK_TCK")
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())

        def fields(pid):
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()

        total = sum(int(x) for x in fields(postmaster)[11:15])  # utime stime cutime cstime
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                child = fields(pid)
            except OSError:  # gone meanwhile: counted in cutime once reaped
                continue
            if int(child[1]) == postmaster:
                total += int(child[11]) + int(child[12])
        return total / tick

    def create_database(self, database):
        """A new database; returns its DSN."""
        subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", self.dsn(), "-c",
                        f"CREATE DATABASE {database}"], check=True, capture_output=True)
        return self.dsn(database)

    def stop(self, timeout=30):
        if self.port is not None:
            argv = self.as_user + [os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-t", str(timeout), "stop"]
            if subprocess.run(argv + ["-m", "fast"], cwd=self.dir, capture_output=True).returncode != 0:
                subprocess.run(argv + ["-m", "immediate"], cwd=self.dir, capture_output=True)
            self.port = None
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in STARTED:
            STARTED.remove(self)


def start_postgres(work, name="postgres"):
    """A throwaway PostgreSQL (Postgres above); returns it."""
    return Postgres(work, name)
