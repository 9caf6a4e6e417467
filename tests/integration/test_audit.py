"""The audit log through the API: what executions record, proofs, blobs,
the export bundle checked by petri-verify, secrets kept out, and a crash."""
import base64
import hashlib
import json
import os
import subprocess
import threading
import time

from harness import BUILD, Petri, check

CANARY = "petri-canary-7f3a9c1e5b"


def _records(p, since=0):
    out, frm = [], since
    while True:
        r = p.request("GET", "/v1/audit/records?from=%d&limit=1000" % frm)
        check(r.status == 200, r)
        recs = r.json()["records"]
        out += recs
        if len(recs) < 1000:
            return out
        frm += 1000


def test_exec_record_fields(p):
    sb = p.sandbox("python", env={"API_TOKEN": CANARY})
    p.upload(sb, [("app.py", b"print('from app')\n"), ("lib/x.py", b"X = 1\n")])
    d = p.exec(sb, command="python3 app.py; echo $API_TOKEN | wc -c", prompt="run the app",
               model="acme/model-1", env={"OTHER": CANARY}).json()
    seq = d["audit"]["seq"]
    r = p.request("GET", "/v1/audit/records/%d" % seq)
    check(r.status == 200, r)
    body = r.json()
    rec = json.loads(body["record"])
    check(rec["type"] == "exec.finished" and rec["seq"] == seq and rec["exec"] == d["id"], rec)
    leaf = hashlib.sha256(b"\0" + body["record"].encode()).hexdigest()
    check(leaf == body["leaf_hash"] == d["audit"]["leaf_hash"], "leaf hash")
    for k in ("v", "origin", "prev", "id", "time", "tenant", "actor", "source_ip", "appliance",
              "sandbox", "image", "runtime", "limits", "policy", "prompt", "model", "command",
              "cwd", "env", "code", "stdout", "stderr", "exit_code", "timed_out", "oom_killed",
              "duration_ms", "network"):
        check(k in rec, "record lacks " + k)
    check(rec["prompt"]["text"] == "run the app" and
          rec["prompt"]["sha256"] == hashlib.sha256(b"run the app").hexdigest(), rec["prompt"])
    check(sorted(rec["env"]) == ["API_TOKEN", "OTHER"], rec["env"])
    check(rec["policy"]["name"] == "deny-all" and len(rec["policy"]["sha256"]) == 64, rec)
    files = {f["path"]: f for f in rec["code"]["files"]}
    check(set(files) == {"app.py", "lib/x.py"}, files)
    check(files["app.py"]["blob"] is True, files)
    r = p.request("GET", "/v1/audit/blobs/" + files["app.py"]["sha256"])
    check(r.status == 200 and r.body == b"print('from app')\n", r)
    r = p.request("GET", "/v1/audit/blobs/" + rec["stdout"]["sha256"])
    check(r.status == 200 and r.body.decode() == d["stdout"], r)
    inc = body["inclusion"]
    check(inc["leaf_index"] == seq and inc["tree_size"] > seq and inc["checkpoint"], inc)
    p.delete(sb)


def test_routes_and_roles(p):
    auditor = p.key("auditor")
    agent = p.key("agent")
    check(p.request("GET", "/v1/audit/checkpoint", token=agent).status == 403)
    r = p.request("GET", "/v1/audit/checkpoint", token=auditor)
    check(r.status == 200 and r.body.decode().count("\n") >= 4, r)
    lines = r.body.decode().split("\n")
    size = int(lines[1])
    check(lines[0].startswith("petri/") and size > 0, lines)
    check("\u2014 " in r.body.decode(), "no signature line")
    r = p.request("GET", "/v1/audit/public-key", token=auditor)
    check(r.status == 200 and r.json()["vkey"].startswith(lines[0] + "+"), r)
    r = p.request("GET", "/v1/audit/proof/consistency?from=1&to=%d" % size, token=auditor)
    check(r.status == 200 and "hashes" in r.json(), r)
    check(p.request("GET", "/v1/audit/proof/consistency?from=0&to=1", token=auditor).status == 422)
    check(p.request("GET", "/v1/audit/records/99999999", token=auditor).status == 404)
    check(p.request("GET", "/v1/audit/blobs/" + "0" * 64, token=auditor).status == 404)
    check(p.request("GET", "/v1/audit/blobs/xyz", token=auditor).status == 404)


def test_export_verifies(p):
    sb = p.sandbox("python")
    p.exec(sb, code="print('exported')")
    p.delete(sb)
    r = p.request("GET", "/v1/audit/export")
    check(r.status == 200 and r.headers.get("Content-Type") == "application/x-tar", r)
    rc, out = p.verify(r.body)
    check(rc == 0, "petri-verify failed (%d):\n%s" % (rc, out))
    # one flipped byte in a record is found and named
    bad = bytearray(r.body)
    i = bad.find(b'"type":"exec.finished"')
    check(i > 0, "no exec record in the bundle")
    bad[i + 9] ^= 0x01
    rc, out = p.verify(bytes(bad))
    check(rc != 0 and "seq" in out, "tampering not found:\n" + out)
    types = [json.loads(x["record"])["type"] for x in _records(p)]
    check("audit.exported" in types, types)


def test_no_secret_in_store(p):
    sb = p.sandbox("python", env={"SECRET_ENV": CANARY})
    p.exec(sb, command="echo $SECRET_ENV > /dev/null; true", env={"MORE": CANARY})
    p.delete(sb)
    keeper = os.path.join(p.data, "keeper")
    found = []
    for root, _, names in os.walk(keeper):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                if CANARY.encode() in f.read():
                    found.append(os.path.join(root, n))
    check(not found, "canary in the audit store: %r" % found)
    with open(os.path.join(p.data, "admin.token")) as f:
        token = f.read().strip().encode()
    for root, _, names in os.walk(keeper):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                check(token not in f.read(), "an API key in the audit store")


def test_crash_keeps_acknowledged_own():
    p = Petri().start()
    try:
        sbs = [p.sandbox("python") for _ in range(4)]
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(sb):
            while not stop.is_set():
                try:
                    r = p.exec(sb, command="echo x")
                except OSError:
                    return
                if r.status == 200:
                    d = r.json()
                    with lock:
                        acked.append((d["id"], d["audit"]["seq"], d["audit"]["leaf_hash"]))

        ts = [threading.Thread(target=worker, args=(sb,)) for sb in sbs]
        for t in ts:
            t.start()
        deadline = time.time() + 20
        while time.time() < deadline and len(acked) < 20:
            time.sleep(0.1)
        p.crash()
        stop.set()
        for t in ts:
            t.join(60)
        check(len(acked) >= 5, "too few executions before the crash: %d" % len(acked))
        p.start()
        recs = {json.loads(x["record"])["seq"]: x for x in _records(p)}
        for eid, seq, leaf in acked:
            check(seq in recs, "acknowledged exec %s (seq %d) lost" % (eid, seq))
            check(recs[seq]["leaf_hash"] == leaf, "record %d changed" % seq)
            check(json.loads(recs[seq]["record"])["exec"] == eid, "record %d is another" % seq)
        seqs = sorted(recs)
        check(seqs == list(range(len(seqs))), "gap in the log")
        r = p.request("GET", "/v1/audit/export")
        rc, out = p.verify(r.body)
        check(rc == 0, "log does not verify after the crash:\n" + out)
    finally:
        p.cleanup()
