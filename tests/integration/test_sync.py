"""Delta sync: POST /v1/sandboxes/{id}/sync plans, PUT .../sync/{sync}
commits only what changed, in one step, recorded like an upload."""
import hashlib
import io
import json
import tarfile

from harness import check


def _manifest(files):
    return [{"path": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
            for n, d in sorted(files.items())]


def _tar(files, gz=True):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz" if gz else "w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def _plan(p, sb, files, **kw):
    body = {"files": _manifest(files)}
    body.update(kw)
    return p.request("POST", "/v1/sandboxes/%s/sync" % sb["id"], body)


def _commit(p, sb, plan, files, names=None):
    names = plan["upload"] if names is None else names
    raw = _tar([(n, files[n]) for n in names]) if names else b""
    return p.request("PUT", "/v1/sandboxes/%s/sync/%s" % (sb["id"], plan["sync"]), raw=raw,
                     headers={"Content-Type": "application/x-tar"})


def _sync(p, sb, files, **kw):
    r = _plan(p, sb, files, **kw)
    check(r.status == 200, r)
    plan = r.json()
    r = _commit(p, sb, plan, files)
    check(r.status == 200, r)
    return plan, r.json()


def _read(p, sb, path):
    r = p.request("GET", "/v1/sandboxes/%s/files/%s" % (sb["id"], path))
    return r.body if r.status == 200 else None


def _paths(p, sb):
    r = p.request("GET", "/v1/sandboxes/%s/files" % sb["id"])
    check(r.status == 200, r)
    return sorted(f["path"] for f in r.json()["files"] if f["type"] != "dir")


def test_sync_plan_and_commit(p):
    sb = p.sandbox("python")
    files = {"main.py": b"print('v1')\n", "lib/util.py": b"X = 1\n", "README": b"r\n"}
    plan, done = _sync(p, sb, files)
    check(sorted(plan["upload"]) == sorted(files) and plan["extra"] == [] and
          plan["unchanged"] == 0 and plan["sync"].startswith("sy_") and plan["expires_at"], plan)
    check(done["uploaded"] == 3 and done["deleted"] == 0 and done["unchanged"] == 0 and
          done["bytes"] == sum(len(v) for v in files.values()), done)
    check(_read(p, sb, "lib/util.py") == b"X = 1\n")
    r = p.exec(sb, command="python3 main.py")
    check(r.status == 200 and r.json()["stdout"] == "v1\n", r)

    # one file changed: only it is asked for and sent
    files["main.py"] = b"print('v2')\n"
    plan, done = _sync(p, sb, files)
    check(plan["upload"] == ["main.py"] and plan["unchanged"] == 2, plan)
    check(done["uploaded"] == 1 and done["unchanged"] == 2 and
          done["bytes"] == len(files["main.py"]), done)
    check(_read(p, sb, "main.py") == b"print('v2')\n")

    # nothing changed: an empty body commits nothing
    plan, done = _sync(p, sb, files)
    check(plan["upload"] == [] and plan["unchanged"] == 3, plan)
    check(done["uploaded"] == 0 and done["bytes"] == 0, done)

    # the commit is recorded as files.uploaded with the sync's fields
    seq = done["audit"]["seq"]
    rec = json.loads(p.request("GET", "/v1/audit/records/%d" % seq).json()["record"])
    check(rec["type"] == "files.uploaded" and rec["sync"] == plan["sync"] and
          rec["unchanged"] == 3 and rec["count"] == 0, rec)
    check(p.delete(sb).status == 204)


def test_sync_target_dir_and_delete(p):
    sb = p.sandbox("python")
    check(p.upload(sb, [("keep.txt", b"k")]).status == 201)
    files = {"a.py": b"a\n", "pkg/b.py": b"b\n"}
    plan, _ = _sync(p, sb, files, path="proj")
    check(sorted(plan["upload"]) == ["a.py", "pkg/b.py"], plan)
    check(_read(p, sb, "proj/pkg/b.py") == b"b\n")
    # an old file under proj/ is extra; outside proj/ nothing is looked at
    check(p.upload(sb, [("old.txt", b"o")], path="proj/pkg").status == 201)
    r = _plan(p, sb, files, path="/sandbox/proj")
    check(r.status == 200 and r.json()["extra"] == ["pkg/old.txt"] and
          r.json()["upload"] == [], r)
    # without delete, extras stay
    check(_commit(p, sb, r.json(), files).status == 200)
    check("proj/pkg/old.txt" in _paths(p, sb))
    # with delete, they go in the same commit as the upload
    files["a.py"] = b"a2\n"
    plan, done = _sync(p, sb, files, path="proj", delete=True)
    check(plan["extra"] == ["pkg/old.txt"] and plan["upload"] == ["a.py"], plan)
    check(done["deleted"] == 1 and done["uploaded"] == 1, done)
    check(_paths(p, sb) == ["keep.txt", "proj/a.py", "proj/pkg/b.py"], _paths(p, sb))
    seq = done["audit"]["seq"]
    rec = json.loads(p.request("GET", "/v1/audit/records/%d" % seq).json()["record"])
    check(rec["deleted"] == ["proj/pkg/old.txt"] and rec["deleted_count"] == 1 and
          rec["path"] == "proj" and rec["files"][0]["path"] == "proj/a.py", rec)
    check(p.delete(sb).status == 204)


def test_sync_conflict_when_workspace_changed(p):
    sb = p.sandbox("python")
    files = {"a.txt": b"1", "b.txt": b"2"}
    _sync(p, sb, files)
    files["a.txt"] = b"11"
    r = _plan(p, sb, files)
    check(r.status == 200, r)
    plan = r.json()
    # the sandbox's code changes the workspace between the two steps
    check(p.exec(sb, command="echo x > /sandbox/c.txt").status == 200)
    r = _commit(p, sb, plan, files)
    check(r.status == 409 and r.json()["error"]["code"] == "sync_conflict", r)
    check(_read(p, sb, "a.txt") == b"1", "a conflicting sync changed nothing")
    # planned again, it goes through
    plan, done = _sync(p, sb, files)
    check(done["uploaded"] == 1, done)
    check(p.delete(sb).status == 204)


def test_sync_wrong_content_refused(p):
    sb = p.sandbox("python")
    files = {"a.txt": b"right", "b.txt": b"bee"}
    r = _plan(p, sb, files)
    plan = r.json()
    # same size, other bytes: the hash does not match
    bad = dict(files, **{"a.txt": b"wrong"})
    r = _commit(p, sb, plan, bad)
    check(r.status == 409 and r.json()["error"]["code"] == "sync_conflict" and
          "a.txt" in r.json()["error"]["message"], r)
    check(_paths(p, sb) == [], "nothing was committed: %r" % _paths(p, sb))
    # a file left out, a file not asked for, a link: refused
    for names, extra in ((["a.txt"], None), (["a.txt", "b.txt"], "c.txt")):
        plan = _plan(p, sb, files).json()
        raw_files = [(n, files[n]) for n in names]
        if extra:
            raw_files.append((extra, b"c"))
        r = p.request("PUT", "/v1/sandboxes/%s/sync/%s" % (sb["id"], plan["sync"]),
                      raw=_tar(raw_files))
        check(r.status == 422, r)
    plan = _plan(p, sb, files).json()
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        ln = tarfile.TarInfo("a.txt")
        ln.type = tarfile.SYMTYPE
        ln.linkname = "b.txt"
        t.addfile(ln)
    r = p.request("PUT", "/v1/sandboxes/%s/sync/%s" % (sb["id"], plan["sync"]), raw=b.getvalue())
    check(r.status == 422, r)
    # an upload list with no body at all
    plan = _plan(p, sb, files).json()
    r = p.request("PUT", "/v1/sandboxes/%s/sync/%s" % (sb["id"], plan["sync"]), raw=b"")
    check(r.status == 422, r)
    check(_paths(p, sb) == [], _paths(p, sb))
    check(p.delete(sb).status == 204)


def test_sync_single_use_and_scope(p):
    sb = p.sandbox("python")
    other = p.sandbox("python")
    files = {"a.txt": b"a"}
    plan = _plan(p, sb, files).json()
    # another sandbox cannot use it, nor another tenant
    r = _commit(p, other, plan, files)
    check(r.status == 404, r)
    agent = p.key("agent", tenant="sync-other")
    r = p.request("PUT", "/v1/sandboxes/%s/sync/%s" % (sb["id"], plan["sync"]), raw=b"",
                  token=agent)
    check(r.status == 404, r)
    # the attempts above did not use it up: the owner commits once
    plan2 = _plan(p, sb, files).json()
    check(_commit(p, sb, plan2, files).status == 200)
    r = _commit(p, sb, plan2, files)
    check(r.status == 404 and r.json()["error"]["code"] == "not_found", r)
    # the first plan was made before the commit: the workspace changed
    r = _commit(p, sb, plan, files)
    check(r.status == 409, r)
    for bad in ("sy_nope", "sy_" + "a" * 24, "../x"):
        r = p.request("PUT", "/v1/sandboxes/%s/sync/%s" % (sb["id"], bad), raw=b"")
        check(r.status == 404, (bad, r))
    check(p.delete(sb).status == 204 and p.delete(other).status == 204)


def test_sync_manifest_validation(p):
    sb = p.sandbox("python")
    url = "/v1/sandboxes/%s/sync" % sb["id"]
    good = {"path": "a.py", "sha256": "0" * 64, "size": 1}
    bad_bodies = [
        {},
        {"files": "x"},
        {"files": [good], "unknown": 1},
        {"files": [good], "delete": "yes"},
        {"files": [dict(good, extra=1)]},
        {"files": [dict(good, sha256="0" * 63)]},
        {"files": [dict(good, sha256="G" * 64)]},
        {"files": [dict(good, size=-1)]},
        {"files": [dict(good, size=(64 << 20) + 1)]},
        {"files": [dict(good, size="1")]},
        {"files": [good, good]},
        {"files": [good, dict(good, path="a.py/b")]},
        {"files": [1]},
    ]
    for body in bad_bodies:
        r = p.request("POST", url, body)
        check(r.status == 422 and r.json()["error"]["code"] == "invalid_request", (body, r))
    for bad in ("../etc/passwd", "a/../../b", "/etc/passwd", ".petri/x", "a\\b", "a\x01b", "",
                "x/" * 70 + "y"):
        r = p.request("POST", url, {"files": [dict(good, path=bad)]})
        check(r.status == 422, (bad, r))
    for bad in ("../up", "/etc", ".petri"):
        r = p.request("POST", url, {"path": bad, "files": [good]})
        check(r.status == 422, (bad, r))
    # a target that is a file
    check(p.upload(sb, [("f", b"x")]).status == 201)
    r = p.request("POST", url, {"path": "f", "files": [good]})
    check(r.status == 409, r)
    # a traversal inside the archive is refused by the archive reader
    plan = p.request("POST", url, {"files": [good]}).json()
    r = p.request("PUT", url + "/" + plan["sync"], raw=_tar([("../a.py", b"x")]))
    check(r.status == 422, r)
    # limits: entries, bytes to send, body size
    many = [{"path": "%x" % i, "sha256": "0" * 64, "size": 0} for i in range(10001)]
    raw = json.dumps({"files": many}, separators=(",", ":")).encode()
    check(len(raw) < (1 << 20), "the manifest fits the JSON body limit")
    r = p.request_early("POST", url, raw, headers={"Content-Type": "application/json"})
    check(r.status == 413 and b"10000" in r.body, r)
    huge = [{"path": "h%d" % i, "sha256": "0" * 64, "size": 64 << 20} for i in range(9)]
    r = p.request("POST", url, {"files": huge})
    check(r.status == 413, r)
    r = p.request_early("POST", url, b'{"files": [' + b" " * (1 << 20) + b"]}",
                        headers={"Content-Type": "application/json"})
    check(r.status == 413, r)
    r = p.request("POST", "/v1/sandboxes/sb_nosuchsandbox0000000000/sync", {"files": []})
    check(r.status == 404, r)
    check(p.delete(sb).status == 204)


def _cli(p, *args):
    import os
    import subprocess
    from harness import BUILD
    env = dict(os.environ, PETRI_URL="http://127.0.0.1:%d" % p.port, PETRI_API_KEY=p.token)
    return subprocess.run([os.path.join(BUILD, "petri")] + list(args), capture_output=True,
                          env=env, timeout=120)


def test_cli_sync(p):
    import os
    import tempfile
    sb = p.sandbox("python")
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "pkg"))
        os.makedirs(os.path.join(d, ".git"))
        for name, text in (("main.py", "from pkg import m\nprint(m.V)\n"),
                           ("pkg/__init__.py", ""), ("pkg/m.py", "V = 1\n"),
                           (".git/HEAD", "ref\n")):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        os.symlink("/etc/passwd", os.path.join(d, "link"))
        r = _cli(p, "sync", d, sb["id"])
        check(r.returncode == 0, r)
        out = json.loads(r.stdout)
        check(out["files"] == 3 and out["uploaded"] == 3 and out["skipped"] == 2 and
              out["audit_seq"] > 0, out)
        check(p.exec(sb, command="python3 -B main.py").json()["stdout"] == "1\n")
        # one change: one file sent; a local removal is removed with --delete
        with open(os.path.join(d, "pkg/m.py"), "w") as f:
            f.write("V = 2\n")
        os.unlink(os.path.join(d, "pkg/__init__.py"))
        r = _cli(p, "sync", d, sb["id"], "--delete")
        out = json.loads(r.stdout)
        check(r.returncode == 0 and out["uploaded"] == 1 and out["unchanged"] == 1 and
              out["deleted"] == 1 and out["bytes"] == 6 and out["sent"] < 2000, (r, out))
        check(_paths(p, sb) == ["main.py", "pkg/m.py"], _paths(p, sb))
        r = _cli(p, "sync", d, sb["id"], "--to", "../x")
        check(r.returncode == 1 and b"invalid_request" in r.stderr, r)
        r = _cli(p, "sync", d, "sb_nope")
        check(r.returncode == 1, r)
    check(p.delete(sb).status == 204)


def test_sync_expiry_own():
    import time
    from harness import Petri
    p = Petri(config={"sync_ttl_seconds": 1})
    try:
        p.start()
        sb = p.sandbox("python")
        files = {"a.txt": b"a"}
        plan = _plan(p, sb, files).json()
        time.sleep(2.2)
        r = _commit(p, sb, plan, files)
        check(r.status == 404 and r.json()["error"]["code"] == "not_found", r)
        check(_paths(p, sb) == [], "an expired sync commits nothing")
        # in time, the same plan goes through
        plan = _plan(p, sb, files).json()
        check(_commit(p, sb, plan, files).status == 200)
        check(p.delete(sb).status == 204)
    finally:
        p.cleanup()
    # the bound: at most 600 seconds
    q = Petri(config={"sync_ttl_seconds": 601})
    try:
        try:
            q.start()
            started = True
        except RuntimeError as e:
            started = False
            check("sync_ttl_seconds" in str(e), "the log names the key: %s" % e)
        check(not started, "sync_ttl_seconds above 600 is refused")
    finally:
        q.cleanup()


def test_sync_concurrent_commits(p):
    import os
    import threading
    sb = p.sandbox("python")
    big = os.urandom(8 << 20)
    fa = {"a.bin": big, "x.txt": b"from a"}
    fb = {"a.bin": big, "x.txt": b"from b"}
    pa = _plan(p, sb, fa).json()
    pb = _plan(p, sb, fb).json()
    out = {}

    def go(name, plan, files):
        out[name] = _commit(p, sb, plan, files)

    ts = [threading.Thread(target=go, args=("a", pa, fa)),
          threading.Thread(target=go, args=("b", pb, fb))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    codes = sorted(r.status for r in out.values())
    check(codes == [200, 409], out)
    loser = [r for r in out.values() if r.status == 409][0]
    check(loser.json()["error"]["code"] == "sync_conflict", loser)
    winner = "a" if out["a"].status == 200 else "b"
    check(_read(p, sb, "x.txt") == (b"from " + winner.encode()), "the winner's files")
    check(p.delete(sb).status == 204)
