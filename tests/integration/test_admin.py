"""The operator's commands, `petri admin ...` (issue 14): backup and
restore of a running appliance, purge of a stopped instance's Docker
resources and firewall rules, signing key rotation and blob retention
through the API.
"""
import json
import os
import shutil
import subprocess
import tempfile

from harness import BUILD, Petri, check, docker, _q


def admin(*args, env=None):
    return subprocess.run([os.path.join(BUILD, "petri"), "admin"] + list(args),
                          capture_output=True, text=True, timeout=300, env=env)


def labelled(kind, instance):
    path = ("/containers/json?all=1&filters=" if kind == "containers" else "/networks?filters=")
    st, lst = docker("GET", path + _q(json.dumps({"label": ["petri.instance=%s" % instance]})))
    check(st == 200, (st, lst))
    return lst


def input_rules(bridge):
    out = subprocess.run(["iptables", "-w", "-S", "INPUT"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if (" -i %s " % bridge) in l + " "]


def test_purge_instance_own():
    p = Petri().start()
    try:
        sb = p.sandbox()
        check(p.exec(sb, command="true").json()["exit_code"] == 0)
        inst = p.instance
        check(len(labelled("containers", inst)) >= 1 and len(labelled("networks", inst)) == 1)
        net = labelled("networks", inst)[0]
        bridge = "br-" + net["Id"][:12]
        check(os.geteuid() != 0 or input_rules(bridge), "no host rule for %s" % bridge)
        # refused while its petrid runs, and nothing is touched
        r = admin("purge-instance", "--data-dir", p.data)
        check(r.returncode == 1 and "running" in r.stderr, r)
        check(len(labelled("containers", inst)) >= 1)
        p.stop()
        # a stopped instance leaves its containers and network behind
        check(len(labelled("containers", inst)) >= 1 and len(labelled("networks", inst)) == 1)
        r = admin("purge-instance", "--data-dir", p.data)
        check(r.returncode == 0 and "purged instance %s" % inst in r.stdout, r)
        check(labelled("containers", inst) == [] and labelled("networks", inst) == [], r.stdout)
        check(input_rules(bridge) == [], input_rules(bridge))
        # idempotent: nothing left to remove
        r = admin("purge-instance", "--data-dir", p.data)
        check(r.returncode == 0 and "0 containers, 0 networks" in r.stdout, r)
    finally:
        p.cleanup()


def _bundle_ok(p):
    r = p.request("GET", "/v1/audit/export")
    check(r.status == 200, r)
    code, out = p.verify(r.body)
    check(code == 0, out)


def test_backup_restore_own():
    a = Petri().start()
    b = None
    tmp = tempfile.mkdtemp(prefix="petri-backup-")
    try:
        sb = a.sandbox()
        j = a.exec(sb, command="echo before-backup").json()
        check(j["stdout"] == "before-backup\n", j)
        r = a.request("PUT", "/v1/policies/kept", {"default": "deny", "allow": []})
        check(r.status == 201, r)
        size0 = a.request("GET", "/v1/audit/records?from=0&limit=1000").json()
        # online: petrid keeps running and writing
        bk = os.path.join(tmp, "bk")
        r = admin("backup", "--data-dir", a.data, bk)
        check(r.returncode == 0, r)
        check(admin("backup", "--data-dir", a.data, bk).returncode == 1)  # not over one
        for f in ("instance", "admin.token", "api/state.db", "keeper/audit.db",
                  "keeper/vault/vault.db", "keeper/keys/log.key", "keeper/keys/vault.key"):
            check(os.path.isfile(os.path.join(bk, f)), f)
        check(oct(os.stat(os.path.join(bk, "keeper/keys/log.key")).st_mode & 0o777) == "0o600")
        # the log grows past the backup, and a checkpoint of it is held
        check(a.exec(sb, command="echo after-backup").json()["exit_code"] == 0)
        a.request("GET", "/v1/audit/export")  # seals a checkpoint
        held = a.request("GET", "/v1/audit/checkpoint").body
        # refused while petrid runs
        r = admin("restore", "--data-dir", a.data, bk)
        check(r.returncode == 1 and "runs on it" in r.stderr, r)
        a.stop()
        # the backup's log is a prefix of what the data directory holds:
        # restoring it over that would roll the log back
        r = admin("restore", "--data-dir", a.data, bk)
        check(r.returncode == 1 and "not an extension" in r.stderr, r.stdout + r.stderr)
        hp = os.path.join(tmp, "held.cp")
        with open(hp, "wb") as f:
            f.write(held)
        # into a new data directory: refused against the newer checkpoint
        # held elsewhere, accepted without one
        b = Petri()
        r = admin("restore", "--data-dir", b.data, "--checkpoint", hp, bk)
        check(r.returncode == 1 and "not an extension" in r.stderr, r.stdout + r.stderr)
        shutil.rmtree(b.data)
        r = admin("restore", "--data-dir", b.data, bk)
        check(r.returncode == 0 and "restored" in r.stdout, r.stdout + r.stderr)
        b.start()
        check(b.instance == a.instance and b.token == a.token)
        check(b.request("GET", "/v1/policies/kept").status == 200)
        recs = b.request("GET", "/v1/audit/records?from=0&limit=1000").json()["records"]
        types = [json.loads(x["record"])["type"] for x in recs]
        check("admin.restored" in types, types)
        outs = [x["record"] for x in recs]
        check(not any("after-backup" in o for o in outs), "a record after the backup came back")
        _bundle_ok(b)
        # the restored sandbox is there (adopted: the same instance)
        check(b.request("GET", "/v1/sandboxes/%s" % sb["id"]).status == 200)
        check(size0 is not None)
    finally:
        a.cleanup()
        if b is not None:
            b.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def cli(p, *args):
    return subprocess.run([os.path.join(BUILD, "petri"), "-u", "http://127.0.0.1:%d" % p.port,
                           "admin"] + list(args), capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PETRI_API_KEY=p.token))


def test_rotate_signing_key_own():
    p = Petri().start()
    try:
        before = p.request("GET", "/v1/audit/public-key").json()
        r = cli(p, "rotate-signing-key")
        check(r.returncode == 0, r)
        j = json.loads(r.stdout)
        check(j["key_id"] != j["new_key_id"] and j["audit"]["seq"] > j["seq"], j)
        after = p.request("GET", "/v1/audit/public-key").json()
        check(after["vkey"] != before["vkey"] and len(after["history"]) == len(before["history"]) + 1,
              after)
        rec = json.loads(p.request("GET", "/v1/audit/records/%d" % j["seq"]).json()["record"])
        check(rec["type"] == "log.key_rotated", rec)
        act = json.loads(p.request("GET", "/v1/audit/records/%d" % j["audit"]["seq"])
                         .json()["record"])
        check(act["type"] == "audit.key_rotation" and act["new_key_id"] == j["new_key_id"], act)
        # only an admin may rotate
        k = p.key("auditor")
        check(p.request("POST", "/v1/audit/rotate-key", {}, token=k).status == 403)
        # the log verifies from its first key across the rotation
        sb = p.sandbox()
        check(p.exec(sb, command="echo signed-by-the-new-key").json()["exit_code"] == 0)
        bundle = p.request("GET", "/v1/audit/export").body
        path = os.path.join(p.dir, "rot.tar")
        with open(path, "wb") as f:
            f.write(bundle)
        v = subprocess.run([os.path.join(BUILD, "petri-verify"), path, "--key",
                            before["history"][0]["vkey"]], capture_output=True, text=True)
        check(v.returncode == 0, v.stdout + v.stderr)
    finally:
        p.cleanup()


def test_blob_retention_own():
    import sqlite3
    p = Petri().start()
    try:
        sb = p.sandbox()
        old = p.exec(sb, command="echo old-output-to-erase").json()
        p.request("GET", "/v1/audit/export")  # seals a checkpoint over it
        r = p.request("POST", "/v1/audit/retention", {"older_than_days": 0})
        check(r.status == 422, r)
        p.stop()
        # age what is there by three days (the checkpoints' local times)
        db = sqlite3.connect(os.path.join(p.data, "keeper", "audit.db"))
        db.execute("UPDATE checkpoints SET time = time - 3 * 86400 * 1000000")
        db.commit()
        db.close()
        p.start()
        new = p.exec(sb, command="echo new-output-kept").json()
        p.request("GET", "/v1/audit/export")
        oldrec = json.loads(p.request("GET", "/v1/audit/records/%d" % old["audit"]["seq"])
                            .json()["record"])
        newrec = json.loads(p.request("GET", "/v1/audit/records/%d" % new["audit"]["seq"])
                            .json()["record"])
        olds, news = oldrec["stdout"]["sha256"], newrec["stdout"]["sha256"]
        check(p.request("GET", "/v1/audit/blobs/" + olds).status == 200)
        r = cli(p, "blob-retention", "--older-than-days", "2")
        check(r.returncode == 0, r)
        j = json.loads(r.stdout)
        check(j["erased"] >= 1 and j["complete"], j)
        check(p.request("GET", "/v1/audit/blobs/" + olds).status == 404)
        check(p.request("GET", "/v1/audit/blobs/" + news).status == 200)
        recs = [json.loads(x["record"]) for x in
                p.request("GET", "/v1/audit/records?from=0&limit=1000").json()["records"]]
        erased = [x for x in recs if x["type"] == "blob.deleted"]
        check(any(x["sha256"] == olds for x in erased), erased)
        check(any(x["type"] == "audit.retention" and x["erased"] == j["erased"] for x in recs))
        # the verifier accepts the erasures it was told about
        code, out = p.verify(p.request("GET", "/v1/audit/export").body)
        check(code == 0, out)
        # a second run finds nothing more
        check(json.loads(cli(p, "blob-retention", "--older-than-days", "2").stdout)["erased"] == 0)
    finally:
        p.cleanup()
