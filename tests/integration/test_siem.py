"""SIEM export (issue 6, contract SIEM.md): every audit record streamed to
the configured sinks, at least once, in order, with no gaps.

Receivers run on 127.0.0.1 only and are started and stopped by PID here:
Debian's rsyslogd (plain TCP and TLS with a test CA made with the openssl
CLI, octet-counted framing, omfile output, its own configuration, work
directory and pid file; no /dev/log, no system configuration), a small
HEC-compatible receiver and a webhook receiver (Python http.server over
TLS).  Every wait is bounded.  Standard library only.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from harness import ROOT, Petri, check, free_port

KPR_USER = "_petri_kpr"  # the keeper reads the sink files as this user
RSYSLOGD = "/usr/sbin/rsyslogd"


# --- helpers ------------------------------------------------------------------


def wait_for(cond, timeout=60, what="condition", step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def scratch():
    d = tempfile.mkdtemp(prefix="petri-siem-")
    os.chmod(d, 0o755)
    return d


def keeper_owned(path):
    """A directory the keeper (running as _petri_kpr under root) may write."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, KPR_USER, KPR_USER)
    return path


def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)
    return path


def openssl(*args, cwd=None):
    subprocess.run(["openssl"] + list(args), check=True, cwd=cwd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)


class Pki:
    """A test CA with a server certificate for 127.0.0.1/localhost and a
    client certificate, all made with the openssl CLI in dir."""

    def __init__(self, d, name="ca"):
        self.dir = d
        self.ca = os.path.join(d, name + ".pem")
        self.ca_key = os.path.join(d, name + ".key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", self.ca_key, "-out", self.ca,
                "-days", "2", "-subj", "/CN=Petri test CA %s" % name,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.server, self.server_key = self._leaf(
            name + "-server", ec, "localhost",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        self.client, self.client_key = self._leaf(
            name + "-client", ec, "petri-client",
            "extendedKeyUsage=clientAuth\n")
        for f in os.listdir(d):
            if os.path.isfile(os.path.join(d, f)):
                os.chmod(os.path.join(d, f), 0o644)

    def _leaf(self, base, ec, cn, ext):
        key = os.path.join(self.dir, base + ".key")
        csr = os.path.join(self.dir, base + ".csr")
        crt = os.path.join(self.dir, base + ".pem")
        extf = write(os.path.join(self.dir, base + ".ext"), ext)
        openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", extf)
        return crt, key


class Rsyslog:
    """rsyslogd on 127.0.0.1 with a generated configuration: imtcp (plain
    or gtls), every petri message written raw to out.log by omfile."""

    def __init__(self, d, pki=None, client_auth=False, port=None):
        self.port = port or free_port()
        self.dir = os.path.join(d, "rsyslog-%d" % self.port)
        os.makedirs(os.path.join(self.dir, "work"), exist_ok=True)
        self.out = os.path.join(self.dir, "out.log")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        self.proc = None
        g = ['workDirectory="%s"' % os.path.join(self.dir, "work"),
             'maxMessageSize="512k"']
        mod = 'module(load="imtcp" maxSessions="500"'
        if pki is not None:
            g += ['defaultNetstreamDriver="gtls"',
                  'defaultNetstreamDriverCAFile="%s"' % pki.ca,
                  'defaultNetstreamDriverCertFile="%s"' % pki.server,
                  'defaultNetstreamDriverKeyFile="%s"' % pki.server_key]
            mod += (' streamDriver.name="gtls" streamDriver.mode="1"'
                    ' streamDriver.authMode="%s"'
                    % ("x509/certvalid" if client_auth else "anon"))
        mod += ")"
        write(self.conf, "\n".join([
            "global(%s)" % " ".join(g),
            mod,
            'input(type="imtcp" address="127.0.0.1" port="%d")' % self.port,
            'template(name="raw" type="string" string="%rawmsg%\\n")',
            'if $app-name == "petri" then {',
            '  action(type="omfile" file="%s" template="raw")' % self.out,
            '  stop',
            '}',
            'action(type="omfile" file="%s")' % os.path.join(self.dir, "other.log"),
            ""]))

    def start(self):
        self.log = open(os.path.join(self.dir, "rsyslogd.stderr"), "ab")
        self.proc = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
            stdout=self.log, stderr=self.log, cwd=self.dir)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError("rsyslogd exited: " + self.stderr())
            with open("/proc/net/tcp") as f:
                return (":%04X" % self.port) in f.read()
        wait_for(listening, 20, "rsyslogd to listen")
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if self.proc is not None:
            self.log.close()
        self.proc = None

    def stderr(self):
        try:
            with open(os.path.join(self.dir, "rsyslogd.stderr"), "rb") as f:
                return f.read().decode(errors="replace")[-3000:]
        except OSError:
            return ""

    def messages(self):
        """Every received petri message, parsed as RFC 5424."""
        try:
            with open(self.out, "rb") as f:
                lines = f.read().decode().splitlines()
        except FileNotFoundError:
            return []
        return [parse_5424(x) for x in lines if x]


SD_PARAM = re.compile(r'\s*([^=\s\]"]{1,32})="((?:[^"\\\]]|\\["\\\]])*)"')


def parse_5424(line):
    """Parses one RFC 5424 message strictly (as far as Petri writes them)."""
    m = re.match(r'<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ', line)
    check(m is not None, "not RFC 5424: %r" % line[:200])
    pri, ts, host, app, procid, msgid = m.groups()
    check(0 <= int(pri) <= 191, pri)
    check(ts == "-" or re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)", ts), ts)
    rest = line[m.end():]
    sd = {}
    if rest.startswith("-"):
        rest = rest[1:]
    while rest.startswith("["):
        end = re.match(r'\[([^\s\]=]+)', rest)
        sid = end.group(1)
        pos = end.end()
        params = {}
        while True:
            pm = SD_PARAM.match(rest, pos)
            if not pm:
                break
            params[pm.group(1)] = re.sub(r'\\(["\\\]])', r"\1", pm.group(2))
            pos = pm.end()
        check(rest[pos] == "]", "bad structured data: %r" % rest[:300])
        sd[sid] = params
        rest = rest[pos + 1:]
    check(rest.startswith(" "), "no message after the structured data")
    return {"pri": int(pri), "time": ts, "host": host, "app": app,
            "procid": procid, "msgid": msgid, "sd": sd, "msg": rest[1:]}


def seqs_of(msgs):
    return [int(m["sd"]["petri@32473"]["seq"]) for m in msgs]


def check_in_order(seqs, size, allow_dups=False):
    """Every seq of [0, size) arrives, first appearances in order; no
    duplicates unless allowed (then every duplicate re-sends a run)."""
    seen, firsts = set(), []
    for s in seqs:
        if s not in seen:
            seen.add(s)
            firsts.append(s)
    check(firsts == list(range(size)),
          "gap or disorder: first appearances %r (size %d)" % (firsts[:50], size))
    if not allow_dups:
        check(len(seqs) == size, "duplicates: %d seqs for %d records" % (len(seqs), size))


def log_size(p):
    return p.request("GET", "/v1/audit/records?limit=1").json()["size"]


def sinks(p):
    r = p.request("GET", "/v1/audit/sinks")
    check(r.status == 200, r)
    return {s["name"]: s for s in r.json()["sinks"]}


def caught_up(p, name):
    def ok():
        size = log_size(p)
        s = sinks(p)[name]
        return s if s["cursor"] == size and s["lag"] == 0 else None
    return ok


def make_records(p, n, tenant="siem"):
    """n cheap records (key.created), through the API."""
    for i in range(n):
        r = p.request("POST", "/v1/keys", {"role": "agent", "tenant": "%s%d" % (tenant, i // 90),
                                           "name": "k%d" % i})
        check(r.status == 201, r)


def ed25519_verify(pub_hex, sig, msg, d):
    """Verifies an Ed25519 signature with the openssl CLI (no Python lib)."""
    der = bytes.fromhex("302a300506032b6570032100") + bytes.fromhex(pub_hex)
    pem = write(os.path.join(d, "pub.pem"), "-----BEGIN PUBLIC KEY-----\n%s\n"
                "-----END PUBLIC KEY-----\n" % base64.b64encode(der).decode())
    write(os.path.join(d, "msg.bin"), msg)
    write(os.path.join(d, "sig.bin"), sig)
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin",
                        "-in", os.path.join(d, "msg.bin"), "-sigfile",
                        os.path.join(d, "sig.bin")], capture_output=True, timeout=30)
    return r.returncode == 0


def record_of_json_line(line):
    """The verbatim record bytes inside a json-format event (last member)."""
    i = line.index(',"record":')
    check(line.endswith("}"), line[-50:])
    return line[i + 10:-1].encode()


def event_seq(e):
    """The seq of an exported event in any format."""
    if isinstance(e, str):  # cef
        return int(re.search(r"(?:^| )cn1=(\d+)", e).group(1))
    if "unmapped" in e:  # ocsf
        return e["unmapped"]["petri"]["seq"]
    if "petri" in e and "ecs" in e:  # ecs
        return e["petri"]["seq"]
    return e["seq"]  # json


class HttpReceiver:
    """A TLS HTTP receiver on 127.0.0.1 (ThreadingHTTPServer) recording
    requests; subclasses answer them."""

    def __init__(self, pki):
        self.lock = threading.Lock()
        self.requests = []
        recv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n) if n else b""
                status, ans = recv.answer(self.path, dict(self.headers), body)
                data = json.dumps(ans).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.server, pki.server_key)
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(timeout=10)


class HecReceiver(HttpReceiver):
    """Splunk HEC lookalike: checks "Authorization: Splunk <token>", takes
    newline-separated event objects, fails the first `fail` requests with
    503, and with indexer acknowledgement answers ackIds that are
    acknowledged on the second ack query."""

    def __init__(self, pki, token, fail=0):
        super().__init__(pki)
        self.token = token
        self.fail = fail
        self.batches = []   # lists of events accepted
        self.refused = 0
        self.next_ack = 0
        self.ack_polls = {}

    def answer(self, path, hdrs, body):
        with self.lock:
            self.requests.append((path, hdrs))
            if hdrs.get("Authorization") != "Splunk " + self.token:
                self.refused += 1
                return 403, {"text": "Invalid token", "code": 4}
            chan = hdrs.get("X-Splunk-Request-Channel")
            if path.startswith("/services/collector/ack"):
                if not chan or ("channel=" + chan) not in path:
                    return 400, {"text": "Data channel is missing", "code": 10}
                ids = json.loads(body)["acks"]
                acks = {}
                for i in ids:
                    self.ack_polls[i] = self.ack_polls.get(i, 0) + 1
                    acks[str(i)] = self.ack_polls[i] >= 2
                return 200, {"acks": acks}
            if path != "/services/collector/event":
                return 404, {"text": "not found", "code": 404}
            if self.fail > 0:
                self.fail -= 1
                self.refused += 1
                return 503, {"text": "Server is busy", "code": 9}
            events = [json.loads(x) for x in body.decode().split("\n") if x]
            for e in events:
                for k in ("time", "host", "source", "sourcetype", "event", "fields"):
                    check(k in e, "HEC event lacks %s" % k)
            self.batches.append(events)
            ans = {"text": "Success", "code": 0}
            if chan:
                ans["ackId"] = self.next_ack
                self.next_ack += 1
            return 200, ans

    def seqs(self):
        with self.lock:
            return [event_seq(e["event"]) for b in self.batches for e in b]


class WebhookReceiver(HttpReceiver):
    """Checks X-Petri-Signature (HMAC-SHA256 of the body) on JSON arrays."""

    def __init__(self, pki, key):
        super().__init__(pki)
        self.key = key
        self.batches = []
        self.bad = 0

    def answer(self, path, hdrs, body):
        with self.lock:
            want = "sha256=" + hmac.new(self.key, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(hdrs.get("X-Petri-Signature", ""), want):
                self.bad += 1
                return 401, {"error": "bad signature"}
            arr = json.loads(body)
            check(isinstance(arr, list) and arr, "not a JSON array")
            lo, hi = (int(x) for x in hdrs["X-Petri-Seq"].split("-"))
            check([event_seq(e) for e in arr] == list(range(lo, hi + 1)), "X-Petri-Seq")
            check(abs(int(hdrs["X-Petri-Timestamp"]) - time.time()) < 300, "timestamp")
            self.batches.append(arr)
            return 200, {"ok": True}

    def seqs(self):
        with self.lock:
            return [event_seq(e) for b in self.batches for e in b]


# --- scenarios --------------------------------------------------------------


def test_syslog_tls_own():
    """N execs reach rsyslog over TLS, exactly once, in order, as RFC 5424
    with the petri@32473 structured data; the exported record verifies
    with the log's public key; sinks and /metrics show cursor and lag."""
    d = scratch()
    rs = p = None
    try:
        pki = Pki(d)
        rs = Rsyslog(d, pki).start()
        p = Petri(config={"sinks": [{
            "name": "soc", "type": "syslog", "address": "127.0.0.1:%d" % rs.port,
            "tls": True, "ca_file": pki.ca, "server_name": "localhost",
            "format": "json", "hostname": "petri-test"}]}).start()
        sb = p.sandbox("python")
        audits = []
        for i in range(5):
            r = p.exec(sb, command="echo %d" % i)
            check(r.status == 200, r)
            audits.append(r.json()["audit"])
        st = wait_for(caught_up(p, "soc"), 60, "the sink to catch up")
        check(st["state"] in ("idle", "sending") and st["type"] == "syslog", st)
        check(st["target"] == "tls://127.0.0.1:%d" % rs.port, st)
        size = log_size(p)
        msgs = wait_for(lambda: (lambda m: m if len(m) >= size else None)(rs.messages()),
                        30, "every record in rsyslog")
        check_in_order(seqs_of(msgs), size)
        execs = [m for m in msgs if m["msgid"] == "exec.finished"]
        check(len(execs) == 5, "exec records: %d" % len(execs))
        pub = p.request("GET", "/v1/audit/public-key").json()
        for m, a in zip(execs, audits):
            sd = m["sd"]["petri@32473"]
            check(int(sd["seq"]) == a["seq"] and sd["hash"] == a["leaf_hash"], (sd, a))
            check(sd["origin"] == pub["origin"] and m["host"] == "petri-test", m)
            check(m["app"] == "petri" and m["pri"] == 13 * 8 + 6, m)
            ev = json.loads(m["msg"])
            check(ev["seq"] == a["seq"] and ev["leaf_hash"] == a["leaf_hash"], ev)
            check(ev["record"]["type"] == "exec.finished" and ev["record"]["sandbox"] == sb["id"], ev)
            raw = record_of_json_line(m["msg"])
            leaf = hashlib.sha256(b"\x00" + raw).digest()
            check(leaf.hex() == sd["hash"], "leaf hash of the exported bytes")
            check(base64.b64decode(sd["sig"]) == base64.b64decode(ev["signature"]), "sig")
        raw = record_of_json_line(execs[0]["msg"])
        check(ed25519_verify(pub["public_key_hex"], base64.b64decode(
            execs[0]["sd"]["petri@32473"]["sig"]),
            hashlib.sha256(b"\x00" + raw).digest(), d), "signature does not verify")
        met = p.request("GET", "/metrics").body.decode()
        check('petri_sink_lag{sink="soc"} 0' in met, met[-800:])
        check('petri_sink_errors_total{sink="soc"} 0' in met, met[-800:])
        p.delete(sb)
    finally:
        if p:
            p.cleanup()
        if rs:
            rs.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_syslog_receiver_outage_own():
    """Plain TCP, CEF.  rsyslog is stopped while records keep coming: the
    sink backs off (errors and lag grow, shown in /v1/audit/sinks and
    /metrics), and once rsyslog is back every seq arrives exactly once,
    in order."""
    d = scratch()
    rs = p = None
    try:
        rs = Rsyslog(d).start()
        p = Petri(config={"sinks": [{
            "name": "soc", "type": "syslog", "address": "127.0.0.1:%d" % rs.port,
            "tls": False, "format": "cef", "retry_initial_ms": 50,
            "retry_max_ms": 400, "batch_events": 25, "linger_ms": 0}]}).start()
        make_records(p, 10)
        wait_for(caught_up(p, "soc"), 30, "the sink to catch up")
        rs.stop()
        make_records(p, 30, "down")
        st = wait_for(lambda: (lambda s: s if s["errors"] >= 3 and s["lag"] > 0 else None)(
            sinks(p)["soc"]), 30, "failed attempts")
        check(st["state"] == "retrying" and "127.0.0.1" in st["last_error"], st)
        met = p.request("GET", "/metrics").body.decode()
        check(re.search(r'petri_sink_lag\{sink="soc"\} [1-9]', met), met[-600:])
        check(re.search(r'petri_sink_errors_total\{sink="soc"\} [1-9]', met), met[-600:])
        rs.start()
        make_records(p, 5, "back")
        wait_for(caught_up(p, "soc"), 30, "the sink to catch up again")
        size = log_size(p)
        msgs = wait_for(lambda: (lambda m: m if len(m) >= size else None)(rs.messages()),
                        30, "every record")
        check_in_order(seqs_of(msgs), size)
        for m in msgs:
            check(m["msg"].startswith("CEF:0|Petri|petri|"), m["msg"][:80])
            check("cn1=%s " % m["sd"]["petri@32473"]["seq"] in m["msg"], m["msg"][:300])

    finally:
        if p:
            p.cleanup()
        if rs:
            rs.stop()
        shutil.rmtree(d, ignore_errors=True)


def keeper_pid(p):
    """The keeper child of this petrid."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid == p.proc.pid and b"keeper" in argv:
            return int(pid)
    raise AssertionError("no keeper process")


def test_syslog_petrid_restart_own():
    """petrid stopped and started again resumes from the sink's durable
    cursor: nothing is sent twice, nothing is missed."""
    d = scratch()
    rs = p = None
    try:
        pki = Pki(d)
        rs = Rsyslog(d, pki).start()
        p = Petri(config={"sinks": [{
            "name": "soc", "type": "syslog", "address": "127.0.0.1:%d" % rs.port,
            "ca_file": pki.ca, "format": "ecs", "retry_initial_ms": 50,
            "retry_max_ms": 500}]}).start()
        make_records(p, 8)
        wait_for(caught_up(p, "soc"), 30, "the sink to catch up")
        cur = os.path.join(p.data, "keeper", "sinks", "soc.cursor")
        p.stop()
        saved = json.load(open(cur))
        check(saved["sink"] == "soc" and saved["next"] > 8, saved)
        size0 = saved["next"]
        rs.stop()  # records written while petrid is down: none
        rs.start()
        p.start()
        make_records(p, 8, "again")
        wait_for(caught_up(p, "soc"), 30, "the sink to catch up after the restart")
        size = log_size(p)
        msgs = wait_for(lambda: (lambda m: m if len(m) >= size else None)(rs.messages()),
                        30, "every record")
        check_in_order(seqs_of(msgs), size)
        check(seqs_of(msgs)[size0] == size0, "resumed from the cursor")
        for m in msgs:
            ev = json.loads(m["msg"])
            check(ev["event"]["sequence"] == int(m["sd"]["petri@32473"]["seq"]), ev)

    finally:
        if p:
            p.cleanup()
        if rs:
            rs.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_syslog_tls_verification_own():
    """The server certificate is verified: a CA that did not sign it, or a
    name it does not carry, gets nothing delivered (errors, lag, reason in
    last_error).  A receiver that demands a client certificate gets the
    configured one."""
    d = scratch()
    rs = p = None
    try:
        pki = Pki(d)
        other = Pki(keeper_owned(os.path.join(d, "other")), "other")
        rs = Rsyslog(d, pki, client_auth=True).start()
        addr = "127.0.0.1:%d" % rs.port
        common = {"type": "syslog", "address": addr, "retry_initial_ms": 100,
                  "retry_max_ms": 500}
        p = Petri(config={"sinks": [
            dict(common, name="wrong-ca", ca_file=other.ca, cert_file=pki.client,
                 key_file=pki.client_key),
            dict(common, name="wrong-name", ca_file=pki.ca, server_name="evil.example",
                 cert_file=pki.client, key_file=pki.client_key),
            dict(common, name="no-client-cert", ca_file=pki.ca),
            dict(common, name="good", ca_file=pki.ca, server_name="localhost",
                 cert_file=pki.client, key_file=pki.client_key)]}).start()
        make_records(p, 3)
        wait_for(caught_up(p, "good"), 30, "the good sink")

        def failing():
            s = sinks(p)
            bad = [s[n] for n in ("wrong-ca", "wrong-name", "no-client-cert")]
            return bad if all(b["errors"] >= 2 for b in bad) else None
        bad = wait_for(failing, 30, "the bad sinks to fail")
        size = log_size(p)
        for b in bad:
            check(b["cursor"] == 0 and b["lag"] == size and b["delivered"] == 0, b)
        check("certificate" in bad[0]["last_error"], bad[0])
        check("certificate" in bad[1]["last_error"], bad[1])
        msgs = rs.messages()
        check_in_order(seqs_of(msgs), size)  # only the good sink's copies
    finally:
        if p:
            p.cleanup()
        if rs:
            rs.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_hec_own():
    """Splunk HEC over TLS: the token header is checked, events come in
    batches, the first refused requests are retried with back-off, and
    with indexer acknowledgement a batch counts once its ackId is
    acknowledged.  A wrong token delivers nothing."""
    d = scratch()
    hec = p = None
    try:
        pki = Pki(d)
        token = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
        hec = HecReceiver(pki, token, fail=3).start()
        tok = write(os.path.join(d, "hec.token"), token + "\n")
        bad = write(os.path.join(d, "bad.token"), "wrong-token")
        common = {"type": "hec", "url": hec.url, "ca_file": pki.ca,
                  "retry_initial_ms": 50, "retry_max_ms": 400}
        p = Petri(config={"sinks": [
            dict(common, name="splunk", token_file=tok, format="json",
                 index="petri", sourcetype="petri:audit", batch_events=20,
                 linger_ms=300),
            dict(common, name="splunk-ack", token_file=tok, format="cef", ack=True,
                 url=hec.url + "/services/collector/event"),
            dict(common, name="splunk-bad", token_file=bad)]}).start()
        make_records(p, 60)
        wait_for(caught_up(p, "splunk"), 60, "the HEC sink")
        wait_for(caught_up(p, "splunk-ack"), 60, "the HEC sink with ack")
        size = log_size(p)
        with hec.lock:
            batches = list(hec.batches)
        plain = [e for b in batches for e in b if e["sourcetype"] == "petri:audit"]
        acked = [e for b in batches for e in b if e["sourcetype"] == "petri:cef"]
        check_in_order([e["event"]["seq"] for e in plain], size)
        check_in_order([int(e["fields"]["petri_seq"]) for e in acked], size)
        nplain = len([b for b in batches if b[0]["sourcetype"] == "petri:audit"])
        check(nplain < size / 2, "no batching: %d batches for %d events" % (nplain, size))
        for e in plain:
            check(e["index"] == "petri" and e["source"].startswith("petri:petri/"), e)
            check(e["event"]["record"]["seq"] == e["event"]["seq"], e)
        for e in acked:
            check(e["event"].startswith("CEF:0|Petri|petri|"), e)
            check("index" not in e, e)
        check(hec.ack_polls and all(v >= 2 for v in hec.ack_polls.values()), hec.ack_polls)
        st = sinks(p)
        check(st["splunk"]["errors"] + st["splunk-ack"]["errors"] >= 3, st)
        check("503" in (st["splunk"]["last_error"] or "") + (st["splunk-ack"]["last_error"] or ""), st)
        b = wait_for(lambda: (lambda s: s if s["errors"] >= 2 else None)(sinks(p)["splunk-bad"]),
                     30, "the bad token to fail")
        check(b["delivered"] == 0 and "403" in b["last_error"], b)
        check("wrong-token" not in json.dumps(st) and token not in json.dumps(st), "secret shown")
        check(token not in p.logtext() and "wrong-token" not in p.logtext(), "secret logged")
    finally:
        if p:
            p.cleanup()
        if hec:
            hec.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_webhook_own():
    """Webhook: JSON arrays over TLS signed with HMAC-SHA256 of the body;
    every seq arrives once, in order; a receiver that rejects the
    signature (wrong key) gets retries, not a skip."""
    d = scratch()
    wh = p = None
    try:
        pki = Pki(d)
        key = b"k" * 40
        wh = WebhookReceiver(pki, key).start()
        good = write(os.path.join(d, "hmac.key"), key)
        wrong = write(os.path.join(d, "wrong.key"), b"w" * 40)
        common = {"type": "webhook", "url": wh.url + "/petri/events", "ca_file": pki.ca,
                  "retry_initial_ms": 50, "retry_max_ms": 300}
        p = Petri(config={"sinks": [
            dict(common, name="hook", hmac_key_file=good, batch_events=7),
            dict(common, name="hook-wrong", hmac_key_file=wrong)]}).start()
        make_records(p, 30)
        wait_for(caught_up(p, "hook"), 30, "the webhook sink")
        size = log_size(p)
        check_in_order(wh.seqs(), size)
        check(max(len(b) for b in wh.batches) <= 7, "batch_events")
        st = wait_for(lambda: (lambda s: s if s["errors"] >= 2 else None)(
            sinks(p)["hook-wrong"]), 30, "the wrong key to be refused")
        check(st["cursor"] == 0 and "401" in st["last_error"], st)
        check(wh.bad >= 2, wh.bad)
    finally:
        if p:
            p.cleanup()
        if wh:
            wh.stop()
        shutil.rmtree(d, ignore_errors=True)


def doc_fields():
    """The field lists of docs/siem.md: {"ocsf 1007": [...], "ecs": [...]}."""
    with open(os.path.join(ROOT, "docs", "siem.md")) as f:
        text = f.read()
    out = {}
    for m in re.finditer(r"<!-- fields: ([a-z0-9 ]+) -->\n(.*?)<!-- /fields -->", text, re.S):
        out[m.group(1)] = re.findall(r"^\| `([^`]+)` \|", m.group(2), re.M)
    check(out.get("ecs") and out.get("ocsf common"), "field lists in docs/siem.md")
    return out


def has_path(doc, path):
    for k in path.split("."):
        if not isinstance(doc, dict) or k not in doc:
            return False
        doc = doc[k]
    return True


def test_file_rotation_own():
    """File sinks: JSON Lines rotated by size (path, path.1 .. path.keep,
    oldest dropped), every seq once and in order across the files; OCSF
    and ECS events carry every field docs/siem.md lists for them."""
    d = scratch()
    p = None
    try:
        out = keeper_owned(os.path.join(d, "out"))
        path = os.path.join(out, "audit.ocsf.jsonl")
        p = Petri(config={"sinks": [
            {"name": "ocsf-file", "type": "file", "path": path, "format": "ocsf",
             "rotate_bytes": 65536, "rotate_keep": 3, "mode": "0640"},
            {"name": "ecs-file", "type": "file", "path": os.path.join(out, "audit.ecs.jsonl"),
             "format": "ecs", "fsync": False}]}).start()
        sb = p.sandbox("python")
        check(p.exec(sb, command="echo hi").status == 200)
        check(p.exec(sb, code="print(1)").status == 200)
        make_records(p, 200)
        wait_for(caught_up(p, "ocsf-file"), 60, "the file sink")
        wait_for(caught_up(p, "ecs-file"), 60, "the ecs file sink")
        size = log_size(p)
        names = sorted(os.listdir(out))
        check(names == ["audit.ecs.jsonl", "audit.ocsf.jsonl", "audit.ocsf.jsonl.1",
                        "audit.ocsf.jsonl.2", "audit.ocsf.jsonl.3"], names)
        check(os.stat(path).st_mode & 0o777 == 0o640, oct(os.stat(path).st_mode))
        events = []
        for f in (path + ".3", path + ".2", path + ".1", path):
            check(os.path.getsize(f) <= 65536, (f, os.path.getsize(f)))
            with open(f) as fh:
                events += [json.loads(x) for x in fh.read().splitlines()]
        seqs = [e["metadata"]["sequence"] for e in events]
        first = seqs[0]
        check(first > 0 and seqs == list(range(first, size)), "rotated files: %r" % seqs[:5])
        fields = doc_fields()
        classes = set()
        for e in events:
            cls = e["class_uid"]
            classes.add(cls)
            for f in fields["ocsf common"] + fields["ocsf %d" % cls]:
                check(has_path(e, f), "OCSF %d event lacks %s" % (cls, f))
            check(e["unmapped"]["petri"]["seq"] == e["metadata"]["sequence"], e)
        with open(os.path.join(out, "audit.ecs.jsonl")) as fh:
            ecs = [json.loads(x) for x in fh.read().splitlines()]
        check([e["event"]["sequence"] for e in ecs] == list(range(size)), "ecs seqs")
        for e in ecs:
            for f in fields["ecs"]:
                check(has_path(e, f), "ECS event lacks %s" % f)
        execs = [e for e in ecs if e["event"]["action"] == "exec.finished"]
        check(len(execs) == 2 and all(has_path(e, "process.args") for e in execs), execs)
        check(6003 in classes, classes)
        p.delete(sb)
    finally:
        if p:
            p.cleanup()
        shutil.rmtree(d, ignore_errors=True)


def refused(sink_list, want):
    """petrid must stop at start with want in its log."""
    p = Petri(config={"sinks": sink_list})
    try:
        try:
            p.start(wait_ready=False)
        except Exception:  # noqa: BLE001 (it exits early: expected)
            pass
        if p.proc is not None:
            try:
                p.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                raise AssertionError("petrid runs with %r" % sink_list)
        check(want in p.logtext(), "%r: %s" % (want, p.logtext()[-600:]))
    finally:
        p.cleanup()


def test_config_errors_own():
    """A bad "sinks" value stops petrid at start with a message naming the
    sink and the key; so does a secret file the keeper cannot read."""
    d = scratch()
    try:
        cases = [
            ({"name": "x", "type": "syslog", "address": "127.0.0.1:1", "colour": 1},
             'sinks.x: unknown key "colour"'),
            ({"name": "x", "type": "hec", "url": "http://127.0.0.1:1", "token_file": "/t"},
             "sinks.x.url: must be https://"),
            ({"name": "x", "type": "file", "path": "relative.log"},
             "sinks.x.path: must be an absolute path"),
            ({"name": "x", "type": "syslog", "address": "127.0.0.1:1", "format": "xml"},
             "sinks.x.format"),
            ({"name": "Bad Name", "type": "file", "path": "/tmp/x"}, 'sinks: "name"'),
            ({"name": "x", "type": "syslog", "address": "nope"}, "sinks.x.address"),
            ({"name": "x", "type": "syslog", "address": "127.0.0.1:1", "tls": False,
              "ca_file": "/etc/ssl/certs/ca-certificates.crt"}, 'need "tls": true'),
            ({"name": "x", "type": "webhook", "url": "https://127.0.0.1:1"},
             'sinks.x: "hmac_key_file" is required'),
            ({"name": "x", "type": "hec", "url": "https://127.0.0.1:1",
              "token_file": os.path.join(d, "missing.token")},
             "cannot read token_file"),
        ]
        for sink, want in cases:
            refused([sink], want)
        refused([{"name": "a", "type": "file", "path": "/tmp/a"},
                 {"name": "a", "type": "file", "path": "/tmp/b"}], "used twice")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_syslog_keeper_crash_own():
    """The keeper is killed (SIGKILL) while a batch is on the wire and not
    yet confirmed (rsyslog is frozen with SIGSTOP, so the session cannot
    end): after the restart that batch is sent again.  rsyslog, thawed,
    also processes the copy it had received, so the batch arrives twice:
    duplicates across a crash, and only of the unconfirmed batch; no gap,
    first appearances in order."""
    d = scratch()
    rs = p = None
    try:
        rs = Rsyslog(d).start()
        p = Petri(config={"sinks": [{
            "name": "soc", "type": "syslog", "address": "127.0.0.1:%d" % rs.port,
            "tls": False, "format": "json", "batch_events": 40, "timeout_ms": 60000,
            "retry_initial_ms": 50, "retry_max_ms": 400}]}).start()
        make_records(p, 10)
        wait_for(caught_up(p, "soc"), 30, "the sink to catch up")
        rs.proc.send_signal(signal.SIGSTOP)
        make_records(p, 30, "crash")
        st = wait_for(lambda: (lambda s: s if s["state"] == "sending" else None)(
            sinks(p)["soc"]), 30, "a batch on the wire")
        time.sleep(0.3)  # the frames reach rsyslog's socket buffer
        unconfirmed = st["cursor"]
        os.kill(keeper_pid(p), signal.SIGKILL)
        try:
            p.proc.wait(timeout=30)  # the parent stops when a child dies
        except subprocess.TimeoutExpired:
            p.stop()
        p.proc = None
        cur = json.load(open(os.path.join(p.data, "keeper", "sinks", "soc.cursor")))
        check(cur["next"] == unconfirmed, (cur, unconfirmed))
        rs.proc.send_signal(signal.SIGCONT)
        p.start()
        wait_for(caught_up(p, "soc"), 60, "the sink to catch up after the crash")
        size = log_size(p)
        msgs = wait_for(lambda: (lambda m: m if len(set(seqs_of(m))) >= size else None)(
            rs.messages()), 30, "every record after the crash")
        seqs = seqs_of(msgs)
        check_in_order(seqs, size, allow_dups=True)
        dups = sorted(x for x in set(seqs) if seqs.count(x) > 1)
        check(dups and all(unconfirmed <= x < unconfirmed + 40 for x in dups),
              "duplicates %r, unconfirmed batch from %d" % (dups, unconfirmed))
        check(all(seqs.count(x) == 2 for x in dups), "a seq came more than twice")
    finally:
        if rs and rs.proc:
            rs.proc.send_signal(signal.SIGCONT)
        if p:
            p.cleanup()
        if rs:
            rs.stop()
        shutil.rmtree(d, ignore_errors=True)


class PartialReceiver:
    """A syslog receiver (plain TCP, octet counting) that reads only the
    first `keep` frames of its first session and then closes it, as a
    collector that dies in the middle of a batch; later sessions are read
    to the end.  Every frame read is recorded."""

    def __init__(self, keep):
        self.keep = keep
        self.frames = []
        self.sessions = 0
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.sessions += 1
            limit = self.keep if self.sessions == 1 else None
            with c:
                c.settimeout(10)
                buf = b""
                try:
                    while limit is None or limit > 0:
                        sp = buf.find(b" ")
                        if sp > 0 and len(buf) >= sp + 1 + int(buf[:sp]):
                            n = int(buf[:sp])
                            self.frames.append(buf[sp + 1:sp + 1 + n].decode())
                            buf = buf[sp + 1 + n:]
                            if limit is not None:
                                limit -= 1
                            continue
                        d = c.recv(65536)
                        if not d:
                            break
                        buf += d
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        try:
            self.srv.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self.srv.close()
        self.thread.join(timeout=10)


def test_syslog_receiver_dies_mid_batch_own():
    """A receiver that closes a session after reading only part of a batch
    (crash, restart) does not confirm it: the whole batch is sent again on
    a new session.  No gap; the frames it had read come twice."""
    d = scratch()
    rx = p = None
    try:
        rx = PartialReceiver(keep=7)
        p = Petri(config={"sinks": [{
            "name": "soc", "type": "syslog", "address": "127.0.0.1:%d" % rx.port,
            "tls": False, "batch_events": 1000, "linger_ms": 2000,
            "retry_initial_ms": 50, "retry_max_ms": 200}]}).start()
        make_records(p, 60)
        st = wait_for(caught_up(p, "soc"), 60, "the sink to catch up")
        size = log_size(p)
        seqs = seqs_of([parse_5424(f) for f in rx.frames])
        check_in_order(seqs, size, allow_dups=True)
        check(rx.sessions >= 2 and st["errors"] >= 1, (rx.sessions, st))
        check(seqs[:7] == list(range(7)) and seqs[7:14] == list(range(7)), seqs[:20])
        check(len(seqs) == size + 7, "duplicates: %d" % (len(seqs) - size))
    finally:
        if p:
            p.cleanup()
        if rx:
            rx.stop()
        shutil.rmtree(d, ignore_errors=True)
