"""Witnesses (C2SP tlog-witness): petri-witness instances on loopback
cosign the keeper's checkpoints; petri-verify counts the cosignatures; a
witness that is down delays nothing; a rolled-back or forked log is
refused by the witness that saw the other history, and petri-verify
compare proves the fork from two signed checkpoints."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import BUILD, Petri, check, free_port

WITNESS = os.path.join(BUILD, "petri-witness")
VERIFY = os.path.join(BUILD, "petri-verify")


class Witness:
    """One petri-witness on loopback, with its own key and state."""

    def __init__(self, name, root):
        self.name = name
        self.dir = os.path.join(root, name.replace("/", "_"))
        os.makedirs(self.dir)
        self.keyfile = os.path.join(self.dir, "witness.key")
        out = subprocess.run([WITNESS, "keygen", name, self.keyfile],
                             capture_output=True, text=True, timeout=10)
        check(out.returncode == 0, out.stderr)
        self.vkey = out.stdout.strip()
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.proc = None

    def start(self, log_vkey):
        self.log = open(os.path.join(self.dir, "witness.log"), "ab")
        self.proc = subprocess.Popen(
            [WITNESS, "serve", "--key", self.keyfile, "--state",
             os.path.join(self.dir, "state"), "--listen",
             "127.0.0.1:%d" % self.port, "--log", log_vkey],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(os.path.join(self.dir, "witness.log"), "rb") as f:
                if b"witness ready" in f.read():
                    return self
            check(self.proc.poll() is None, "petri-witness exited")
            time.sleep(0.05)
        raise AssertionError("petri-witness did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def evidence(self):
        d = os.path.join(self.dir, "state", "evidence")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def logtext(self):
        with open(os.path.join(self.dir, "witness.log"), "rb") as f:
            return f.read().decode(errors="replace")


def _config(ws, quorum, timeout_ms=1000):
    return {"audit": {"witnesses": [{"url": w.url, "vkey": w.vkey} for w in ws],
                      "witness_quorum": quorum, "witness_timeout_ms": timeout_ms}}


def _status(p):
    r = p.request("GET", "/v1/audit/witnesses")
    check(r.status == 200, r)
    return r.json()


def _wait(cond, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def _records(p, n):
    for _ in range(n):
        p.key("agent")


def _cosigned(p, names):
    """Waits until every named witness cosigned the whole log."""
    def done():
        s = _status(p)
        by = {w["name"]: w for w in s["witnesses"]}
        return s if all(by[n]["cosigned_size"] == s["checkpoint_size"] == s["size"] > 0
                        for n in names) else None
    return _wait(done, "cosignatures from " + ", ".join(names))


def _verify(p, bundle, *extra):
    return p.verify(bundle, *extra)


def test_witness_quorum_own():
    root = tempfile.mkdtemp(prefix="petri-wit-")
    ws = [Witness("w%d.test/witness" % i, root) for i in (1, 2, 3)]
    p = Petri(config=_config(ws, 2))
    try:
        p.start()
        vkey = p.request("GET", "/v1/audit/public-key").json()["vkey"]
        ws[0].start(vkey)
        ws[1].start(vkey)  # w3 stays down
        # an unreachable witness blocks nothing: requests stay fast
        t0 = time.time()
        _records(p, 5)
        check(time.time() - t0 < 5, "appends slowed by a down witness")
        s = _cosigned(p, [ws[0].name, ws[1].name])
        check(s["quorum"] == 2 and s["cosigned_size"] == s["checkpoint_size"], s)
        down = [w for w in s["witnesses"] if w["name"] == ws[2].name][0]
        check(down["state"] == "failing" and down["errors"] >= 1 and down["cosigned_size"] == 0,
              down)
        check(down["lag"] == s["checkpoint_size"], down)
        # the cosigned checkpoint, as the API serves it
        cp = p.request("GET", "/v1/audit/checkpoint").body.decode()
        for w in ws[:2]:
            check(("\u2014 %s " % w.name) in cp, cp)
        check(("\u2014 %s " % ws[2].name) not in cp, cp)
        m = p.request("GET", "/metrics").body.decode()
        check('petri_witness_lag{witness="%s"}' % ws[2].name in m, m[-800:])
        check("petri_audit_cosigned_size %d" % s["cosigned_size"] in m, m[-800:])
        # more records: the witnesses follow with consistency proofs
        _records(p, 3)
        _cosigned(p, [ws[0].name, ws[1].name])
        # the bundle: its newest checkpoint carries the cosignatures
        bundle = p.request("GET", "/v1/audit/export").body
        wargs = []
        for w in ws:
            wargs += ["--witness", w.vkey]
        rc, out = _verify(p, bundle, *(wargs + ["--quorum", "2"]))
        check(rc == 0 and "2 valid cosignature" in out, out)
        rc, out = _verify(p, bundle, *(wargs + ["--quorum", "3"]))
        check(rc == 1 and "[witness]" in out and "2 valid witness cosignature(s), 3 required"
              in out, out)
        # a key that is not the witness's: its lines do not count
        other = Witness("w1.test/witness", os.path.join(root, "other"))
        rc, out = _verify(p, bundle, "--witness", other.vkey)
        check(rc == 1 and "[witness]" in out, out)
        # the third witness comes up: it catches up from size 0
        ws[2].start(vkey)
        _records(p, 1)
        _cosigned(p, [w.name for w in ws])
        bundle = p.request("GET", "/v1/audit/export").body
        rc, out = _verify(p, bundle, *(wargs + ["--quorum", "3"]))
        check(rc == 0, out)
    finally:
        p.cleanup()
        for w in ws:
            w.stop()
        shutil.rmtree(root, ignore_errors=True)


def _keeper_dir(p):
    return os.path.join(p.data, "keeper")


def test_witness_rollback_and_fork_own():
    """Rolls the keeper's store back to a copy: the witness that saw the
    newer history refuses it; the same size with another root is a fork,
    which petri-verify compare proves from the two signed checkpoints."""
    root = tempfile.mkdtemp(prefix="petri-wit-")
    w = Witness("w1.test/witness", root)
    p = Petri(config=_config([w], 1))
    backup = os.path.join(root, "keeper-backup")
    try:
        p.start()
        vkey = p.request("GET", "/v1/audit/public-key").json()["vkey"]
        w.start(vkey)
        _records(p, 3)
        _cosigned(p, [w.name])
        p.stop()
        # cp -a: the keeper's files keep their owner and modes
        subprocess.run(["cp", "-a", _keeper_dir(p), backup], check=True)
        # the history the witness sees: one start (log.started) later
        p.start()
        s = _cosigned(p, [w.name])
        honest = p.request("GET", "/v1/audit/checkpoint").body
        honest_size = s["checkpoint_size"]
        p.stop()
        # the operator rolls the store back and starts again: the tree
        # grows to the same size with another log.started record
        shutil.rmtree(_keeper_dir(p))
        subprocess.run(["cp", "-a", backup, _keeper_dir(p)], check=True)
        p.start()
        try:
            s = _wait(lambda: (lambda s: s if s["witnesses"][0]["errors"] > 0 else None)(
                _status(p)), "the witness's refusal")
        except AssertionError:
            raise AssertionError("no refusal: %r\n%s" % (_status(p), w.logtext()))
        s = _wait(lambda: (lambda s: s if s["checkpoint_size"] == s["size"] else None)(
            _status(p)), "a checkpoint of the whole forked log")
        ws = s["witnesses"][0]
        check(ws["witness_size"] == honest_size, ws)
        forked = p.request("GET", "/v1/audit/checkpoint").body
        check(("\u2014 %s " % w.name).encode() not in forked, forked)
        fsize = int(forked.split(b"\n")[1])
        # both starts after the copy add one log.started: the same size
        check(fsize == honest_size, (fsize, honest_size))
        if fsize == honest_size:
            _wait(lambda: "(a fork)" in (_status(p)["witnesses"][0]["last_error"] or ""),
                  "the witness's fork refusal")
            check(len(w.evidence()) >= 1, "no evidence kept: " + w.logtext())
            check("another root: a fork" in w.logtext(), w.logtext())
            pa, pb = os.path.join(root, "a.txt"), os.path.join(root, "b.txt")
            with open(pa, "wb") as f:
                f.write(honest)
            with open(pb, "wb") as f:
                f.write(forked)
            r = subprocess.run([VERIFY, "compare", "--key", vkey, pa, pb],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 1 and "[fork]" in r.stdout, r.stdout + r.stderr)
            r = subprocess.run([VERIFY, "compare", "--key", vkey, pa, pa],
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 0, r.stdout + r.stderr)
        else:
            # another size: refused as a rollback or a failed proof
            check("rolled back" in ws["last_error"] or "HTTP 422" in ws["last_error"], ws)
        # more records on the forked log are refused too
        _records(p, 2)
        time.sleep(2.5)
        s = _status(p)
        check(s["witnesses"][0]["cosigned_size"] < fsize and s["cosigned_size"] < fsize, s)
        # the bundle of the forked log verifies on its own, but not with
        # the witness's quorum
        bundle = p.request("GET", "/v1/audit/export").body
        rc, out = p.verify(bundle)
        check(rc == 0, out)
        rc, out = p.verify(bundle, "--witness", w.vkey)
        check(rc == 1 and "[witness]" in out, out)
    finally:
        p.cleanup()
        w.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_witness_config_errors_own():
    """A bad witness configuration stops petrid at start with a message."""
    for cfg, msg in (
            ({"audit": {"witnesses": [{"url": "ftp://x/", "vkey": "x"}]}}, "url"),
            ({"audit": {"witnesses": [{"url": "http://127.0.0.1:1/", "vkey": "bad"}]}}, "vkey"),
            ({"audit": {"witness_quorum": 1}}, "witness_quorum"),
            ({"audit": {"nope": 1}}, "unknown key")):
        p = Petri(config=cfg)
        try:
            try:
                p.start()
                raise AssertionError("petrid started with %r" % cfg)
            except RuntimeError as e:
                check(msg in str(e), str(e)[-500:])
        finally:
            p.cleanup()
