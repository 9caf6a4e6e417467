"""Routes, authentication, validation and tenancy of the REST API."""
import hashlib
import io
import json
import tarfile
import zipfile

from harness import check


def test_health_ready_metrics(p):
    r = p.request("GET", "/healthz", token=None)
    check(r.status == 200 and r.json()["status"] == "ok", r)
    r = p.request("GET", "/readyz", token=None)
    check(r.status == 200 and r.json()["docker"] is True, r)
    r = p.request("GET", "/metrics", token=None)
    check(r.status == 200, r)
    text = r.body.decode()
    for m in ("petri_sandboxes ", "petri_execs_total", "petri_exec_duration_ms_bucket",
              "petri_audit_size"):
        check(m in text, "metrics lack " + m)


def test_auth_required(p):
    check(p.request("GET", "/v1/sandboxes", token=None).status == 401)
    r = p.request("GET", "/v1/sandboxes", token="petri_" + "0" * 64)
    check(r.status == 401, r)
    e = r.json()["error"]
    check(e["code"] == "unauthorized" and e["request_id"].startswith("req_"), r)


def test_roles(p):
    auditor = p.key("auditor")
    r = p.request("POST", "/v1/sandboxes", {"language": "python"}, token=auditor)
    check(r.status == 403 and r.json()["error"]["code"] == "forbidden", r)
    agent = p.key("agent")
    check(p.request("GET", "/v1/keys", token=agent).status == 403)
    check(p.request("GET", "/v1/keys").status == 200)


def test_keys_lifecycle(p):
    r = p.request("POST", "/v1/keys", {"role": "agent", "tenant": "t-keys", "name": "ci"})
    check(r.status == 201, r)
    k = r.json()
    check(k["key"].startswith("petri_") and k["id"].startswith("key_"), k)
    check(p.request("GET", "/v1/sandboxes", token=k["key"]).status == 200)
    lst = p.request("GET", "/v1/keys").json()["keys"]
    check(any(x["id"] == k["id"] for x in lst), "key not listed")
    check(all("key" not in x and "hash" not in x for x in lst), "secret in listing")
    check(p.request("DELETE", "/v1/keys/" + k["id"]).status == 204)
    check(p.request("GET", "/v1/sandboxes", token=k["key"]).status == 401)
    check(p.request("POST", "/v1/keys", {"role": "root"}).status == 422)
    check(p.request("POST", "/v1/keys", {"role": "agent", "tenant": "../x"}).status == 422)


def test_bad_json_and_fields(p):
    r = p.request("POST", "/v1/sandboxes", raw=b"{not json", headers={"Content-Type": "application/json"})
    check(r.status == 400 and r.json()["error"]["code"] == "invalid_json", r)
    r = p.request("POST", "/v1/sandboxes", raw=b'{"language":"python","language":"node"}')
    check(r.status == 400, r)
    r = p.request("POST", "/v1/sandboxes", {"language": "python", "bogus": 1})
    check(r.status == 422 and "bogus" in r.json()["error"]["message"], r)
    r = p.request("POST", "/v1/sandboxes", {"language": "cobol"})
    check(r.status == 422 and "language" in r.json()["error"]["message"], r)
    r = p.request("POST", "/v1/sandboxes", {"language": "python", "limits": {"memory_mb": 1}})
    check(r.status == 422 and "memory_mb" in r.json()["error"]["message"], r)
    r = p.request("POST", "/v1/sandboxes", {"language": "python", "env": {"1X": "y"}})
    check(r.status == 422, r)
    r = p.request("POST", "/v1/sandboxes", raw=b"[" * 100 + b"]" * 100)
    check(r.status == 400, r)
    big = b'{"language":"python","labels":{"a":"' + b"x" * (2 << 20) + b'"}}'
    r = p.request_early("POST", "/v1/sandboxes", big, headers={"Content-Type": "application/json"})
    check(r.status == 413 and r.json()["error"]["code"] == "too_large", r)


def test_not_found_and_methods(p):
    check(p.request("GET", "/v1/sandboxes/sb_aaaaaaaaaaaaaaaaaaaaaaaa").status == 404)
    check(p.request("GET", "/v1/sandboxes/../../etc/passwd").status == 404)
    check(p.request("GET", "/v1/nothing").status == 404)
    check(p.request("PATCH", "/v1/sandboxes").status == 405)
    check(p.request("GET", "/v1/execs/ex_nope").status == 404)


def test_sandbox_lifecycle(p):
    sb = p.sandbox("python", labels={"team": "blue", "run": "lifecycle"}, ttl_seconds=600,
                   limits={"memory_mb": 256, "pids": 128})
    for k in ("id", "language", "state", "created_at", "last_active_at", "expires_at",
              "policy", "limits", "labels"):
        check(k in sb, "sandbox lacks " + k)
    check(sb["state"] == "running" and sb["limits"]["memory_mb"] == 256, sb)
    check(sb["created_at"].endswith("Z") and len(sb["created_at"]) == 27, sb)
    r = p.request("GET", "/v1/sandboxes/" + sb["id"])
    check(r.status == 200 and r.json()["id"] == sb["id"], r)
    lst = p.request("GET", "/v1/sandboxes?label=run:lifecycle").json()["sandboxes"]
    check([x["id"] for x in lst] == [sb["id"]], lst)
    check(p.request("GET", "/v1/sandboxes?label=run:other").json()["sandboxes"] == [])
    check(p.request("GET", "/v1/sandboxes?label=bad").status == 422)
    r = p.request("POST", "/v1/sandboxes/%s/keepalive" % sb["id"], {"ttl_seconds": 900})
    check(r.status == 200 and r.json()["expires_at"] > sb["expires_at"], r)
    check(p.delete(sb).status == 204)
    check(p.request("GET", "/v1/sandboxes/" + sb["id"]).status == 404)
    check(p.delete(sb).status == 404)
    r = p.exec(sb, command="true")
    check(r.status == 404, r)


def test_tenant_isolation(p):
    a = p.key("agent", "tenant-a")
    b = p.key("agent", "tenant-b")
    sb = p.sandbox("python", token=a)
    sid = sb["id"]
    routes = [("GET", "/v1/sandboxes/%s" % sid, None), ("DELETE", "/v1/sandboxes/%s" % sid, None),
              ("POST", "/v1/sandboxes/%s/keepalive" % sid, {}),
              ("POST", "/v1/sandboxes/%s/exec" % sid, {"command": "true"}),
              ("GET", "/v1/sandboxes/%s/files" % sid, None),
              ("GET", "/v1/sandboxes/%s/files/x" % sid, None),
              ("DELETE", "/v1/sandboxes/%s/files/x" % sid, None),
              ("GET", "/v1/sandboxes/%s/execs" % sid, None)]
    for m, path, body in routes:
        r = p.request(m, path, body, token=b)
        check(r.status == 404, "%s %s as another tenant: %r" % (m, path, r))
    r = p.request("PUT", "/v1/sandboxes/%s/files/x" % sid, raw=b"x", token=b)
    check(r.status == 404, r)
    ex = p.exec(sb, token=a, command="echo hi", background=True).json()
    for m, path in (("GET", "/v1/execs/%s" % ex["id"]), ("POST", "/v1/execs/%s/kill" % ex["id"])):
        check(p.request(m, path, {} if m == "POST" else None, token=b).status == 404, path)
    check(sid not in [x["id"] for x in p.request("GET", "/v1/sandboxes", token=b).json()["sandboxes"]])
    check(p.delete(sb, token=a).status == 204)


def test_files_routes(p):
    sb = p.sandbox("python")
    r = p.upload(sb, [("main.py", b"print('hi')\n"), ("lib/util.py", b"X = 1\n")])
    check(r.status == 201, r)
    paths = sorted(f["path"] for f in r.json()["files"])
    check(paths == ["lib/util.py", "main.py"], paths)
    r = p.upload(sb, [("data.txt", b"abc")], path="sub/dir")
    check(r.status == 201 and r.json()["files"][0]["path"] == "sub/dir/data.txt", r)
    r = p.request("PUT", "/v1/sandboxes/%s/files/raw/a.bin" % sb["id"], raw=b"\x00\x01\x02")
    check(r.status == 201 and r.json()["files"][0]["size"] == 3, r)
    lst = p.request("GET", "/v1/sandboxes/%s/files" % sb["id"]).json()["files"]
    byp = {f["path"]: f for f in lst}
    check(byp["main.py"]["sha256"] == hashlib.sha256(b"print('hi')\n").hexdigest(), byp["main.py"])
    check(byp["lib"]["type"] == "dir" and "mtime" in byp["main.py"], byp)
    r = p.request("GET", "/v1/sandboxes/%s/files/raw/a.bin" % sb["id"])
    check(r.status == 200 and r.body == b"\x00\x01\x02", r)
    r = p.request("GET", "/v1/sandboxes/%s/files/nope.txt" % sb["id"])
    check(r.status == 404, r)
    check(p.request("DELETE", "/v1/sandboxes/%s/files/sub" % sb["id"]).status == 204)
    check(p.request("GET", "/v1/sandboxes/%s/files/sub/dir/data.txt" % sb["id"]).status == 404)
    r = p.exec(sb, filename="main.py")
    check(r.status == 200 and r.json()["stdout"] == "hi\n", r)
    p.delete(sb)


def test_bad_paths(p):
    sb = p.sandbox("python")
    for bad in ("../x", "a/../../x", "/etc/passwd", "a\\b", ".petri/x", "a\x01b"):
        r = p.upload(sb, [(bad, b"x")])
        check(r.status == 422, "upload %r: %r" % (bad, r))
    r = p.request("PUT", "/v1/sandboxes/%s/files/..%%2f..%%2fetc%%2fpasswd" % sb["id"], raw=b"x")
    check(r.status == 422, r)
    r = p.request("GET", "/v1/sandboxes/%s/files?path=../.." % sb["id"])
    check(r.status == 422, r)
    lst = p.request("GET", "/v1/sandboxes/%s/files" % sb["id"]).json()["files"]
    check(lst == [], lst)
    p.delete(sb)


def _zip(entries):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return b.getvalue()


def _tar(entries, mode="w:gz"):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode=mode) as t:
        for e in entries:
            if isinstance(e, tarfile.TarInfo):
                t.addfile(e)
                continue
            name, data = e
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def _upload_raw(p, sb, data, query=""):
    return p.request("POST", "/v1/sandboxes/%s/upload%s" % (sb["id"], query), raw=data,
                     headers={"Content-Type": "application/octet-stream"})


def _listing(p, sb):
    return sorted(f["path"] for f in p.request("GET", "/v1/sandboxes/%s/files" % sb["id"]).json()["files"])


def test_archive_uploads(p):
    sb = p.sandbox("python")
    r = _upload_raw(p, sb, _zip([("proj/main.py", "import pkg.mod\nprint(pkg.mod.V)\n"),
                                 ("proj/pkg/__init__.py", ""), ("proj/pkg/mod.py", "V = 42\n")]),
                    "?strip=1")
    check(r.status == 201, r)
    check(_listing(p, sb) == ["main.py", "pkg", "pkg/__init__.py", "pkg/mod.py"], _listing(p, sb))
    r = p.exec(sb, command="python3 main.py")
    check(r.json()["stdout"] == "42\n", r)
    # tar.gz and plain tar, multipart form too
    r = _upload_raw(p, sb, _tar([("t/a.txt", b"A")]))
    check(r.status == 201, r)
    r = _upload_raw(p, sb, _tar([("u.txt", b"U")], mode="w"))
    check(r.status == 201, r)
    boundary = "xyzb"
    body = (b"--xyzb\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.zip\"\r\n\r\n"
            + _zip([("m.txt", "M")]) + b"\r\n--xyzb--\r\n")
    r = p.request("POST", "/v1/sandboxes/%s/upload" % sb["id"], raw=body,
                  headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
    check(r.status == 201, r)
    check("m.txt" in _listing(p, sb) and "t/a.txt" in _listing(p, sb), _listing(p, sb))
    # replace=true leaves only the archive's content
    r = _upload_raw(p, sb, _zip([("only.txt", "O")]), "?replace=true")
    check(r.status == 201 and _listing(p, sb) == ["only.txt"], _listing(p, sb))
    p.delete(sb)


def test_archive_attacks(p):
    sb = p.sandbox("python")
    check(_upload_raw(p, sb, _zip([("keep.txt", "K")])).status == 201)
    before = _listing(p, sb)
    slip = _zip([("ok.txt", "fine"), ("../../../../tmp/evil.txt", "x")])
    abs_ = _tar([("/etc/evil", b"x")])
    link = tarfile.TarInfo("esc")
    link.type = tarfile.SYMTYPE
    link.linkname = "../../../../etc"
    through = tarfile.TarInfo("esc/passwd")
    through.size = 0
    hard = tarfile.TarInfo("h")
    hard.type = tarfile.LNKTYPE
    hard.linkname = "/etc/shadow"
    dev = tarfile.TarInfo("dev")
    dev.type = tarfile.CHRTYPE
    dev.devmajor, dev.devminor = 1, 3
    fifo = tarfile.TarInfo("fifo")
    fifo.type = tarfile.FIFOTYPE
    cases = [("zip slip", slip), ("absolute", abs_), ("symlink escape", _tar([link])),
             ("through symlink", _tar([("ok.txt", b"x"), link, through])),
             ("hardlink escape", _tar([hard])), ("device", _tar([dev])), ("fifo", _tar([fifo])),
             ("not an archive", b"hello world, not an archive at all")]
    for name, data in cases:
        r = _upload_raw(p, sb, data)
        check(r.status == 422, "%s: %r" % (name, r))
        check(r.json()["error"]["message"], name)
        check(_listing(p, sb) == before, "%s changed the workspace: %r" % (name, _listing(p, sb)))
    # a zip bomb: 300 MB of zeros in a few hundred KB
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("zeros.bin", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(chunk)
    r = _upload_raw(p, sb, b.getvalue())
    check(r.status == 413, "zip bomb: %r" % r)
    check(_listing(p, sb) == before, "bomb changed the workspace")
    # too many entries
    many = _tar([("f%05d" % i, b"") for i in range(10050)], mode="w")
    r = _upload_raw(p, sb, many)
    check(r.status == 413, "too many entries: %r" % r)
    check(_listing(p, sb) == before)
    p.delete(sb)


def test_upload_over_limit(p):
    """A body announcing more than the upload limit is refused before it is read."""
    import http.client
    sb = p.sandbox("python")
    conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=30)
    conn.putrequest("POST", "/v1/sandboxes/%s/upload" % sb["id"])
    conn.putheader("Authorization", "Bearer " + p.token)
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(300 << 20))
    conn.endheaders()
    conn.send(b"x" * 65536)
    r = conn.getresponse()
    check(r.status == 413, r.status)
    conn.close()
    p.delete(sb)
