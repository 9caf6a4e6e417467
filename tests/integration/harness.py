"""Integration harness: starts petrid on loopback against the real Docker
engine and gives scenarios a small client.  Standard library only.

Each run uses its own data directory, its own Docker network name and an
instance id of its own, so it never touches another petrid's containers;
everything it created is removed at the end.
"""
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
DOCKER_SOCK = "/var/run/docker.sock"
SANITIZER_FINDINGS = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


def docker(method, path, body=None, timeout=60):
    """Calls the Docker Engine API directly (for checks from the outside)."""
    conn = http.client.HTTPConnection("localhost", timeout=timeout)
    conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.sock.settimeout(timeout)
    conn.sock.connect(DOCKER_SOCK)
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    conn.request(method, "/v1.41" + path, body=data, headers=hdrs)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    try:
        return r.status, json.loads(raw) if raw else None
    except ValueError:
        return r.status, raw


class SocketRelay:
    """A unix-socket relay in front of docker.sock: stopping it makes
    Docker unreachable for petrid without touching the real engine."""

    def __init__(self, path):
        self.path = path
        self.srv = None
        self.conns = []
        self.lock = threading.Lock()

    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        os.chmod(self.path, 0o666)
        self.srv.listen(64)
        threading.Thread(target=self._accept, args=(self.srv,), daemon=True).start()

    def stop(self):
        srv, self.srv = self.srv, None
        if srv:
            srv.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns = []
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept(self, srv):
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                u.connect(DOCKER_SOCK)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Petri:
    """One petrid under test."""

    def __init__(self, config=None, relay=False):
        self.dir = tempfile.mkdtemp(prefix="petri-it-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.net = "petri-it-%s" % uuid.uuid4().hex[:10]
        self.relay = None
        # no warm pool unless a test asks for one: it would make sandboxes
        # in the background of every scenario
        cfg = {"network": self.net, "reaper_interval_seconds": 1, "pool": {}}
        # the preview gateway of this instance: a port of its own
        self.preview_port = free_port()
        cfg["preview"] = {"listen": "127.0.0.1:%d" % self.preview_port,
                          "report_interval_seconds": 1}
        if relay:
            self.relay = SocketRelay(os.path.join(self.dir, "docker.sock"))
            self.relay.start()
            cfg["docker_socket"] = self.relay.path
        cfg.update(config or {})
        if "listen" in cfg.get("preview", {}):
            self.preview_port = int(cfg["preview"]["listen"].rsplit(":", 1)[1])
        self.config_path = os.path.join(self.dir, "petri.json")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        self.proc = None
        self.log = open(os.path.join(self.dir, "petrid.log"), "ab")
        self.instance = None

    def start(self, wait_ready=True):
        env = dict(os.environ)
        # sanitizer builds: the daemon's processes exit without freeing what
        # lives as long as they do; leaks are checked by the unit tests
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "petrid"), "--listen", "127.0.0.1:%d" % self.port,
             "--data-dir", self.data, "--config", self.config_path],
            stdout=self.log, stderr=self.log, start_new_session=True, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("petrid exited early:\n" + self.logtext())
            try:
                r = self.request("GET", "/healthz", token=None)
                if r.status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError("petrid did not answer:\n" + self.logtext())
        with open(os.path.join(self.data, "admin.token")) as f:
            self.token = f.read().strip()
        with open(os.path.join(self.data, "instance")) as f:
            self.instance = f.read().strip()
        if wait_ready:
            deadline = time.time() + 30
            while time.time() < deadline:
                if self.request("GET", "/readyz", token=None).status == 200:
                    break
                time.sleep(0.1)
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def crash(self):
        """SIGKILL every process of petrid at once: a power cut, as far as
        the processes can tell."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def verify(self, bundle, *extra):
        """Runs petri-verify on bundle bytes with the log's public key."""
        vkey = self.request("GET", "/v1/audit/public-key").json()["vkey"]
        path = os.path.join(self.dir, "bundle-%s.tar" % uuid.uuid4().hex[:8])
        with open(path, "wb") as f:
            f.write(bundle)
        r = subprocess.run([os.path.join(BUILD, "petri-verify"), path, "--key", vkey] +
                           list(extra), capture_output=True, timeout=300)
        return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

    def restart(self):
        self.stop()
        return self.start()

    def logtext(self):
        self.log.flush()
        with open(os.path.join(self.dir, "petrid.log"), "rb") as f:
            return f.read().decode(errors="replace")[-6000:]

    def sanitizer_reports(self):
        """Sanitizer findings in petrid's log (builds with SANITIZER=...)."""
        self.log.flush()
        with open(os.path.join(self.dir, "petrid.log"), "rb") as f:
            text = f.read().decode(errors="replace")
        marks = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                 "WARNING: ThreadSanitizer")
        return [l for l in text.splitlines() if any(m in l for m in marks)]

    def cleanup(self):
        self.stop()
        found = self.sanitizer_reports()
        if found:
            SANITIZER_FINDINGS.extend(found)
        if self.instance:
            st, lst = docker("GET", '/containers/json?all=1&filters=' +
                             _q(json.dumps({"label": ["petri.instance=%s" % self.instance]})))
            for c in lst or []:
                docker("DELETE", "/containers/%s?force=1&v=1" % c["Id"])
        drop_bridge_rules(self.net)
        docker("DELETE", "/networks/%s" % self.net)
        if self.relay:
            self.relay.stop()
        self.log.close()
        self.unmount()
        shutil.rmtree(self.dir, ignore_errors=True)

    def unmount(self):
        """Workspace disks stay mounted when petrid stops (sandboxes outlive
        it); a test run takes its own down before removing its directory."""
        prefix = self.dir.rstrip("/") + "/"
        with open("/proc/self/mountinfo") as f:
            points = [l.split()[4] for l in f if l.split()[4].startswith(prefix)]
        for mp in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    # --- HTTP ---------------------------------------------------------------

    def request(self, method, path, body=None, token="admin", headers=None,
                raw=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = dict(headers or {})
        if token == "admin":
            token = self.token
        if token:
            hdrs["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        out = Response(r.status, dict(r.getheaders()), r.read())
        conn.close()
        return out

    def request_early(self, method, path, body, token="admin", headers=None):
        """Sends a request whose body the server may refuse before reading
        it all (413 from the Content-Length), and reads the answer even when
        the server closed its side before the body was sent."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        hdrs = dict(headers or {})
        hdrs["Authorization"] = "Bearer " + (self.token if token == "admin" else token)
        hdrs["Content-Length"] = str(len(body))
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (
            method, path, "".join("%s: %s\r\n" % kv for kv in hdrs.items()))
        s.sendall(head.encode())
        try:
            s.sendall(body)
        except OSError:
            pass  # the server answered early and closed
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    hdr, _, rest = data.partition(b"\r\n\r\n")
                    m = [l for l in hdr.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                    if m and len(rest) >= int(m[0].split(b":")[1]):
                        break
        except OSError:
            pass
        s.close()
        hdr, _, rest = data.partition(b"\r\n\r\n")
        status = int(hdr.split(b" ")[1]) if hdr else 0
        return Response(status, {}, rest)

    def sse(self, path, body, token="admin", timeout=120):
        """POSTs and parses a Server-Sent Events answer into (event, data)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = {"Authorization": "Bearer " + (self.token if token == "admin" else token),
                "Accept": "text/event-stream", "Content-Type": "application/json"}
        conn.request("POST" if body is not None else "GET", path,
                     body=json.dumps(body).encode() if body is not None else None,
                     headers=hdrs)
        r = conn.getresponse()
        events, ev, data = [], None, []
        for line in io.TextIOWrapper(r, encoding="utf-8"):
            line = line.rstrip("\n")
            if line.startswith("event: "):
                ev = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and ev is not None:
                events.append((ev, json.loads("\n".join(data))))
                ev, data = None, []
        conn.close()
        return r.status, events

    # --- conveniences -----------------------------------------------------

    def sandbox(self, language="python", token="admin", **kw):
        body = {"language": language}
        body.update(kw)
        r = self.request("POST", "/v1/sandboxes", body, token=token)
        if r.status != 201:
            raise AssertionError("create sandbox: %r" % r)
        return r.json()

    def exec(self, sb, token="admin", **body):
        r = self.request("POST", "/v1/sandboxes/%s/exec" % sb["id"], body, token=token)
        return r

    def upload(self, sb, files, path=None, token="admin"):
        """files: list of (filename, bytes); multipart/form-data."""
        boundary = "----petri%s" % uuid.uuid4().hex
        parts = []
        if path is not None:
            parts.append(b"--%s\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n%s\r\n"
                         % (boundary.encode(), path.encode()))
        for name, content in files:
            parts.append(b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                         b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(), name.encode())
                         + content + b"\r\n")
        parts.append(b"--%s--\r\n" % boundary.encode())
        return self.request("POST", "/v1/sandboxes/%s/files" % sb["id"], raw=b"".join(parts),
                            token=token,
                            headers={"Content-Type": "multipart/form-data; boundary=%s" % boundary})

    def delete(self, sb, token="admin"):
        return self.request("DELETE", "/v1/sandboxes/%s" % sb["id"], token=token)

    def key(self, role="agent", tenant="default"):
        r = self.request("POST", "/v1/keys", {"role": role, "tenant": tenant, "name": "test"})
        assert r.status == 201, r
        return r.json()["key"]


def drop_bridge_rules(net):
    """Removes the INPUT rules petrid added for a network's bridge (they
    outlive petrid on purpose; a test network goes away with its test)."""
    st, info = docker("GET", "/networks/%s" % net)
    if st != 200:
        return
    bridge = (info.get("Options") or {}).get("com.docker.network.bridge.name") or \
        "br-" + info["Id"][:12]
    out = subprocess.run(["iptables", "-w", "-S", "INPUT"], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("-A INPUT ") and (" -i %s " % bridge) in line + " ":
            subprocess.run(["iptables", "-w", "-D"] + line.split()[1:],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _q(s):
    from urllib.parse import quote
    return quote(s, safe="")


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)
