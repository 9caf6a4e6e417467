"""RFC 3161 timestamps of checkpoints: a TSA made with `openssl ts -reply`
behind a tiny loopback HTTP responder; the keeper stores each token after
checking it, bundles carry it, petri-verify --tsa-cert checks it against
the TSA's CA, and refuses another CA or a changed token.  A TSA that is
down delays nothing."""
import http.server
import io
import json
import os
import subprocess
import tarfile
import tempfile
import threading
import time

from harness import Petri, check, free_port

TSA_CNF = """
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = %(cn)s
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[ tsa_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = %(dir)s
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, timeout=60)
    check(r.returncode == 0, r.stderr.decode(errors="replace"))
    return r.stdout


def make_ca(d, cn):
    """A CA and a TSA certificate it issued (EKU timeStamping, critical)."""
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tsa.cnf"), "w") as f:
        f.write(TSA_CNF % {"cn": cn, "dir": d})
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("01\n")
    cnf = os.path.join(d, "tsa.cnf")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-config", cnf, "-extensions", "ca_ext", "-subj", "/CN=%s CA" % cn, cwd=d)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-config", cnf,
             "-subj", "/CN=%s TSA" % cn, cwd=d)
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "tsa.pem", "-days", "2", "-extfile", cnf,
             "-extensions", "tsa_ext", cwd=d)
    for n in ("ca.pem", "tsa.pem"):
        os.chmod(os.path.join(d, n), 0o644)
    os.chmod(d, 0o755)
    return os.path.join(d, "ca.pem")


class Tsa:
    """`openssl ts -reply` behind an HTTP responder on loopback."""

    def __init__(self, d):
        self.dir = d
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.requests = 0
        tsa = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(min(n, 65536))
                tsa.requests += 1
                with tempfile.TemporaryDirectory(dir=tsa.dir) as t:
                    q, r = os.path.join(t, "q.tsq"), os.path.join(t, "r.tsr")
                    with open(q, "wb") as f:
                        f.write(body)
                    p = subprocess.run(["openssl", "ts", "-reply", "-config",
                                        os.path.join(tsa.dir, "tsa.cnf"), "-queryfile", q,
                                        "-out", r], capture_output=True, timeout=30)
                    if p.returncode != 0:
                        self.send_response(500)
                        self.end_headers()
                        return
                    with open(r, "rb") as f:
                        out = f.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def _status(p):
    r = p.request("GET", "/v1/audit/witnesses")
    check(r.status == 200, r)
    return r.json()["tsa"]


def _retar(bundle, change):
    """Rewrites a bundle with change(name, data) -> data applied."""
    src = tarfile.open(fileobj=io.BytesIO(bundle))
    out = io.BytesIO()
    dst = tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT)
    for m in src.getmembers():
        data = change(m.name, src.extractfile(m).read())
        info = tarfile.TarInfo(m.name)
        info.size = len(data)
        info.mtime = m.mtime
        info.mode = m.mode
        dst.addfile(info, io.BytesIO(data))
    dst.close()
    return out.getvalue()


def test_tsa_own():
    p = Petri()
    tsa = None
    try:
        ca = make_ca(os.path.join(p.dir, "tsa"), "Petri Test")
        other = make_ca(os.path.join(p.dir, "other"), "Other")
        tsa = Tsa(os.path.join(p.dir, "tsa"))
        with open(p.config_path) as f:
            cfg = json.load(f)
        cfg["audit"] = {"tsa": {"url": tsa.url, "ca_file": ca, "interval_ms": 1000,
                                "timeout_ms": 2000}}
        with open(p.config_path, "w") as f:
            json.dump(cfg, f)
        p.start()
        for _ in range(3):
            p.key("agent")
        deadline = time.time() + 20
        while time.time() < deadline and _status(p)["timestamped_size"] == 0:
            time.sleep(0.2)
        st = _status(p)
        check(st["state"] == "ok" and st["timestamped_size"] > 0 and st["gen_time"], st)
        m = p.request("GET", "/metrics").body.decode()
        check("petri_audit_timestamped_size " in m and "petri_tsa_errors_total 0" in m, m[-600:])
        bundle = p.request("GET", "/v1/audit/export").body
        names = tarfile.open(fileobj=io.BytesIO(bundle)).getnames()
        stamps = [n for n in names if n.startswith("timestamps/")]
        check(stamps, names)
        rc, out = p.verify(bundle, "--tsa-cert", ca)
        check(rc == 0 and "stamped by the TSA at" in out, out)
        # the newest checkpoint of the export was stamped before it left
        newest = max(int(n[len("checkpoints/"):-4]) for n in names
                     if n.startswith("checkpoints/"))
        check("timestamps/%020d.tsr" % newest in stamps, (newest, stamps))
        # another CA: refused; without --tsa-cert: counted, not checked
        rc, out = p.verify(bundle, "--tsa-cert", other)
        check(rc == 1 and "[timestamp]" in out, out)
        rc, out = p.verify(bundle)
        check(rc == 0 and "not checked" in out, out)
        # a changed token: refused
        bad = _retar(bundle, lambda n, d: d[:-40] + bytes([d[-40] ^ 1]) + d[-39:]
                     if n.startswith("timestamps/") else d)
        rc, out = p.verify(bad, "--tsa-cert", ca)
        check(rc == 1 and "[timestamp]" in out, out)
        # a token moved to another checkpoint: refused
        sizes = sorted(int(n[len("checkpoints/"):-4]) for n in names
                       if n.startswith("checkpoints/"))
        if len(sizes) > 1 and "timestamps/%020d.tsr" % sizes[0] not in stamps:
            moved = _retar(bundle, lambda n, d: d)
            src = tarfile.open(fileobj=io.BytesIO(moved))
            tok = src.extractfile(stamps[-1]).read()
            out_b = io.BytesIO()
            dst = tarfile.open(fileobj=out_b, mode="w", format=tarfile.USTAR_FORMAT)
            for m in src.getmembers():
                data = src.extractfile(m).read()
                info = tarfile.TarInfo(m.name)
                info.size, info.mode = len(data), m.mode
                dst.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo("timestamps/%020d.tsr" % sizes[0])
            info.size = len(tok)
            dst.addfile(info, io.BytesIO(tok))
            dst.close()
            rc, out = p.verify(out_b.getvalue(), "--tsa-cert", ca)
            check(rc == 1 and "[timestamp]" in out, out)
        # the TSA goes down: appends stay fast, the state says so
        tsa.stop()
        tsa = None
        t0 = time.time()
        for _ in range(3):
            p.key("agent")
        check(time.time() - t0 < 5, "appends slowed by a down TSA")
        deadline = time.time() + 20
        while time.time() < deadline and _status(p)["errors"] == 0:
            time.sleep(0.2)
        st = _status(p)
        check(st["errors"] > 0 and st["state"] == "failing", st)
    finally:
        if tsa is not None:
            tsa.stop()
        p.cleanup()
