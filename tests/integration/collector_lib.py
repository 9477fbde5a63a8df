"""Helpers for the collector tests: keys, a collector process on loopback,
sensors that publish to it, and HTTP/SQLite look-ups. Everything stays on
127.0.0.1, in a temporary directory."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, fn, timeout=30.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


class Lab:
    # The database of every Lab made while set (a postgresql:// URI: the
    # tests' --pg), else a SQLite file in the Lab's directory; pg: its
    # PgServer.
    default_db = None
    pg = None

    def __init__(self, args, tmp):
        self.a, self.tmp = args, tmp
        self.keys = os.path.join(tmp, "keys")
        self.allow = os.path.join(tmp, "allow")
        os.makedirs(self.keys)
        os.makedirs(self.allow)
        self.port = free_port()
        self.endpoint = "tcp://127.0.0.1:%d" % self.port
        self.http_port = free_port()
        self.alert_port = free_port()
        self.db = Lab.default_db or os.path.join(tmp, "collector.db")
        self.alerts = os.path.join(tmp, "alerts.jsonl")
        self.proc = None
        self.keygen("collector")

    def keygen(self, name, allow=True):
        """A key pair; allowed: its .pub in the allow directory, and the line
        pinhole-keygen prints in the allow-list file (allow.txt)."""
        out = subprocess.run([self.a.keygen, name, self.keys], check=True, capture_output=True,
                             text=True).stdout
        if allow:
            os.link(os.path.join(self.keys, name + ".pub"), os.path.join(self.allow, name + ".pub"))
            with open(os.path.join(self.tmp, "allow.txt"), "a") as f:
                f.write("# %s\n%s" % (name, out))
        return os.path.join(self.keys, name + ".key")

    def start(self, extra=(), inventory=None, rules=None, allow_file=False):
        """Starts the collector and waits for its HTTP server. A restart may
        find its HTTP port taken meanwhile (freed by the collector's death,
        then handed out as another socket's ephemeral port, a sensor's
        connection even): then it takes another port, at most 3 times. The
        sensors' port (--listen) stays: they connect to it."""
        src = self.a.src
        for attempt in range(3):
            cmd = [self.a.collector, "--listen", self.endpoint, "--db", self.db,
                   "--http", "127.0.0.1:%d" % self.http_port, "--alerts", self.alerts,
                   "--alert-publish", "tcp://127.0.0.1:%d" % self.alert_port,
                   "--key", os.path.join(self.keys, "collector.key"),
                   "--allow", os.path.join(self.tmp, "allow.txt") if allow_file else self.allow]
            cmd += ["--inventory", inventory or os.path.join(src, "rules/inventory/lab.yaml")]
            for r in rules or [os.path.join(src, "rules")]:
                cmd += ["--rules", r]
            cmd += list(extra)
            logpath = os.path.join(self.tmp, "collector.log")
            self.log = open(logpath, "a")
            start = self.log.tell()
            self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
            wait_until("the collector's HTTP server",
                       lambda: self.proc.poll() is not None or self.get("/health", quiet=True), 20)
            if self.proc.poll() is None:
                return
            with open(logpath) as f:
                f.seek(start)
                said = f.read()
            if "--http" not in said or "cannot listen" not in said or attempt == 2:
                raise AssertionError("the collector exited %s at start: %s"
                                     % (self.proc.returncode, said[-400:]))
            self.http_port = free_port()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            return self.proc.returncode
        return None

    def get(self, path, quiet=False):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.http_port, path),
                                        timeout=5) as r:
                body = r.read().decode()
                return json.loads(body) if r.headers.get("Content-Type", "").startswith(
                    "application/json") else body
        except urllib.error.HTTPError as e:  # quiet: a 503's JSON body says why
            if not quiet:
                raise
            body = e.read().decode()
            if e.headers.get("Content-Type", "").startswith("application/json"):
                return json.loads(body)
            return None
        except OSError:
            if quiet:
                return None
            raise

    def sensor_cmd(self, name, captures, key=None, inventory=None, rules=None, extra=(),
                   events=True):
        """The command line of a publishing sensor, and its events file
        (None with events=False: then it publishes without writing one)."""
        src = self.a.src
        ev = os.path.join(self.tmp, name + ".events.jsonl") if events else None
        cmd = [self.a.sensor, "--sensor", name, "--report", "none",
               "--publish", self.endpoint,
               "--collector-key", os.path.join(self.keys, "collector.pub"),
               "--key", key or os.path.join(self.keys, name + ".key"),
               "--inventory", inventory or os.path.join(src, "rules/inventory/lab.yaml")]
        for r in rules or [os.path.join(src, "rules")]:
            cmd += ["--rules", r]
        for c in captures:
            cmd += ["--read", c if os.path.isabs(c) else os.path.join(src, "pcaps", c)]
        if ev:
            cmd += ["--events", ev]
        return cmd + list(extra), ev

    def query(self, sql, params=()):
        """The rows of a read of the collector's database (SQLite or PostgreSQL)."""
        return query(self.db, sql, params)

    def stored(self, sensor):
        """(count, distinct seq, max seq) of a sensor's events in the database."""
        return self.query("SELECT COUNT(*), COUNT(DISTINCT epoch || ':' || seq), "
                          "COALESCE(MAX(seq), 0) FROM events WHERE sensor=?", (sensor,))[0]

    def stored_by_epoch(self, sensor):
        """{epoch: (count, distinct seq, max seq)} of a sensor's stored events."""
        rows = self.query("SELECT epoch, COUNT(*), COUNT(DISTINCT seq), COALESCE(MAX(seq), 0) "
                          "FROM events WHERE sensor=? GROUP BY epoch", (sensor,))
        return {r[0]: tuple(r[1:]) for r in rows}

    def sensor_row(self, sensor):
        sensors = self.get("/api/sensors")["sensors"]
        return next((s for s in sensors if s["sensor"] == sensor), None)


def query(db, sql, params=()):
    """Rows of a read query on a SQLite file or a postgresql:// URI (with
    psql; ? placeholders, values quoted here: test values only)."""
    if not db.startswith("postgresql://"):
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    parts = sql.split("?")
    assert len(parts) == len(params) + 1, sql
    text = parts[0]
    for v, rest in zip(params, parts[1:]):
        text += (str(int(v)) if isinstance(v, int) else "'%s'" % str(v).replace("'", "''")) + rest
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-d", db, "-c", text],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("psql: %s" % out.stderr.strip())

    def value(v):
        return int(v) if v.lstrip("-").isdigit() else (None if v == "" else v)
    return [tuple(value(v) for v in line.split("\t")) for line in out.stdout.splitlines()]


class PgServer:
    """A PostgreSQL server of the Debian packages in a temporary directory:
    its own cluster (initdb), a Unix socket only (no TCP), trust for the
    local user "pinhole", and a database "pinhole". As root, the server runs
    as the postgres user (PostgreSQL refuses root)."""
    BIN = "/usr/lib/postgresql/15/bin"

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "pg")
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        self.run_as = []
        if os.geteuid() == 0:
            os.chmod(tmp, 0o711)
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.uri = "postgresql:///pinhole?host=%s&user=pinhole" % self.dir

    def _run(self, *cmd):
        return subprocess.run(self.run_as + [os.path.join(self.BIN, cmd[0])] + list(cmd[1:]),
                              check=True, capture_output=True, text=True, timeout=120, cwd=self.dir)

    def start(self):
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "pinhole", "--no-sync")
        self.restart()
        self._run("createdb", "-h", self.dir, "-U", "pinhole", "pinhole")
        return self

    def database(self, name):
        """The URI of another, new database on this server."""
        self._run("createdb", "-h", self.dir, "-U", "pinhole", name)
        return self.uri.replace("/pinhole?", "/%s?" % name, 1)

    def crash(self):
        """Stops the server at once, as a crash would (recovery at the next start)."""
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def restart(self):
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                  "-k %s -c listen_addresses='' -c max_connections=60" % self.dir, "start")

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


def spool_batches(spool):
    """The whole batches in a spool directory, [(file, epoch, first, count,
    end offset)], oldest first. A file is a run of records: a header line
    (JSON: sensor, epoch, first, count, len), len bytes of event lines, and
    a newline."""
    out = []
    for name in sorted(os.listdir(spool)) if os.path.isdir(spool) else []:
        if not name.endswith(".seg"):
            continue
        data = open(os.path.join(spool, name), "rb").read()
        off = 0
        while off < len(data):
            nl = data.find(b"\n", off)
            if nl < 0:
                break
            try:
                h = json.loads(data[off:nl])
            except ValueError:
                break
            if "len" not in h:  # one batch per file, to its end (before the write-ahead log)
                end = len(data)
                if data[nl + 1:].count(b"\n") + 1 != h["count"]:
                    break
            else:
                end = nl + 1 + h["len"] + 1
                if end > len(data) or data[end - 1:end] != b"\n":
                    break
            out.append((name, h["epoch"], h["first"], h["count"], end))
            off = end
    return out


def lines(path):
    with open(path) as f:
        return sum(1 for _ in f)


def metric(text, name, **labels):
    """The value of one sample of the Prometheus text, or None."""
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        key, value = line.rsplit(" ", 1)
        n, _, rest = key.partition("{")
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if n == name and got == want:
            return float(value)
    return None
