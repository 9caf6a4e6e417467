"""The Python SDK (clients/python) against a real petrid: executions,
streaming, background + stdin, files, upload, errors, administration,
audit, cleanup on exception, and installing it into a fresh venv."""
import ast
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

import harness
from harness import check

SDK = os.path.join(harness.ROOT, "clients", "python")
sys.path.insert(0, os.path.join(SDK, "src"))
import petri  # noqa: E402
from petri import _http, errors  # noqa: E402


def client(p, token=None):
    return petri.Petri(url="http://127.0.0.1:%d" % p.port, api_key=token or p.token,
                       timeout=120)


def container_count(p, sb_id):
    st, lst = harness.docker("GET", "/containers/json?all=1&filters=" + harness._q(
        json.dumps({"label": ["petri.instance=%s" % p.instance, "petri.sandbox=%s" % sb_id]})))
    check(st == 200, (st, lst))
    return len(lst)


def test_sdk_python_exec(p):
    c = client(p)
    with petri.Sandbox(language="python", client=c, labels={"sdk": "py"},
                       env={"GREETING": "hi"}, ttl_seconds=600) as sb:
        check(sb.id.startswith("sb_") and sb.language == "python", sb)
        r = sb.exec("print('hello from isolation')")
        check(r.output == "hello from isolation\n" and r.exit_code == 0 and r.ok, r)
        check(r.audit is not None and r.audit.seq > 0 and r.id.startswith("ex_"), r)
        check(r.sbom is not None and r.sbom.format == "CycloneDX", r.sbom)
        r = sb.run("echo out; echo err >&2; cat; echo $GREETING $X; pwd; exit 3",
                   stdin="piped\n", env={"X": "y"}, cwd="/sandbox")
        check(r.exit_code == 3 and not r.ok and r.stderr == "err\n", r)
        check(r.stdout == "out\npiped\nhi y\n/sandbox\n", r.stdout)
        r = sb.run(["python3", "-c", "import sys; print(sys.argv[1:])", "a b", "$c"])
        check(r.stdout == "['a b', '$c']\n", r)
        r = sb.run("sleep 5", timeout_ms=500)
        check(r.timed_out is True, r)
        sb.files.write("m.py", "print(40 + 2)\n")
        check(sb.run(filename="m.py").stdout == "42\n")
        r = sb.exec("print('p')", prompt="sdk prompt 7f3a", model="test/model")
        recs = c.audit.records(from_seq=max(0, r.audit.seq - 8), limit=20)
        found = [x.fields() for x in recs if "sdk prompt 7f3a" in x.record]
        check(found and found[0]["prompt"]["text"] == "sdk prompt 7f3a" and
              found[0]["model"] == "test/model", found)
        check([e.id for e in sb.execs()][0] == r.id)
        info = sb.info()
        check(info.labels == {"sdk": "py"} and info.env == ["GREETING"], info)
        check(any(s.id == sb.id for s in c.sandboxes.list(label="sdk:py")))
        check(c.sandboxes.get(sb.id).id == sb.id)
        check(sb.keepalive(900) > info.created_at)
        again = petri.Sandbox.connect(sb.id, client=c)
        check(again.run("true").exit_code == 0)
        sid = sb.id
    check(p.request("GET", "/v1/sandboxes/" + sid).status == 404)


def test_sdk_python_stream(p):
    with petri.Sandbox(language="python", client=client(p)) as sb:
        seen = []
        for ev in sb.stream("echo one; sleep 1.5; echo two >&2; exit 5"):
            seen.append((time.monotonic(), ev))
        kinds = [e.event for _, e in seen]
        check(kinds[0] == "stdout" and kinds[-1] == "exit", kinds)
        check(seen[0][1].data == "one\n", seen)
        # the first chunk came while the program still ran: streamed, not buffered
        check(seen[-1][0] - seen[0][0] > 1.0, [t for t, _ in seen])
        err = "".join(e.data for _, e in seen if e.event == "stderr")
        check(err == "two\n", seen)
        res = seen[-1][1].result
        check(res.exit_code == 5 and res.audit.seq > 0 and res.stdout == "", res)
        # code form, and an early close of the generator
        gen = sb.stream(code="import time\nfor i in range(50):\n print(i, flush=True); time.sleep(0.1)")
        first = next(e for e in gen if e.event != "install")
        gen.close()
        check(first.event == "stdout" and first.data.startswith("0"), first)


def test_sdk_python_background(p):
    with petri.Sandbox(language="python", client=client(p)) as sb:
        job = sb.start("read line; echo got:$line; sleep 60")
        check(job.id.startswith("ex_") and job.get().status == "running")
        job.write("hello\n")
        for _ in range(100):
            if "got:hello" in job.get().stdout:
                break
            time.sleep(0.05)
        check(job.get().stdout == "got:hello\n", job.get())
        job.kill()
        r = job.wait(timeout=30)
        check(r.status == "finished" and r.signal == "SIGKILL", r)
        evs = list(job.stream())
        check(evs[0].event == "stdout" and evs[0].data == "got:hello\n", evs)
        check(evs[-1].event == "exit" and evs[-1].result.signal == "SIGKILL", evs)
        try:
            job.kill()
            check(False, "kill of a finished execution succeeded")
        except petri.Conflict as e:
            check(e.status == 409 and "finished" in e.message, e)
        # stdin closed by eof, a live stream followed to its end
        job = sb.start("cat; echo done")
        job.write("abc")
        job.close_stdin()
        r = job.wait(timeout=30)
        check(r.stdout == "abcdone\n" and r.exit_code == 0, r)
        job = sb.start(argv=["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"])
        out = "".join(e.data for e in job.stream() if e.event == "stdout")
        check(out == "1\n2\n3\n", out)


def test_sdk_python_files(p):
    with petri.Sandbox(language="python", client=client(p)) as sb:
        e = sb.files.write("dir/a.txt", "alpha\n")
        check(e.path == "dir/a.txt" and e.size == 6 and len(e.sha256) == 64, e)
        sb.files.write("dir/run.sh", b"#!/bin/sh\necho ran\n", mode=0o755)
        sb.files.write("/sandbox/dir/sp ace.txt", b"\x00\xff")
        check(sb.files.read("dir/a.txt") == b"alpha\n")
        check(sb.files.read("dir/sp ace.txt") == b"\x00\xff")
        check(sb.run("./dir/run.sh").stdout == "ran\n")
        names = sorted(f.path for f in sb.files.list("dir"))
        check(names == ["dir/a.txt", "dir/run.sh", "dir/sp ace.txt"], names)
        rec = {f.path: f for f in sb.files.list(recursive=True)}
        check(rec["dir"].type == "dir" and rec["dir/a.txt"].mtime, rec)
        sb.files.remove("dir/a.txt")
        try:
            sb.files.read("dir/a.txt")
            check(False, "read of a removed file")
        except petri.NotFound:
            pass
        sb.files.remove("dir/a.txt", missing_ok=True)
        for bad in ("../x", ".petri/x"):
            try:
                sb.files.write(bad, "x")
                check(False, "wrote " + bad)
            except petri.Invalid as err:
                check(err.status == 422 and err.code == "invalid_request", err)
        sb.files.remove("dir")
        check(sb.files.list() == [], sb.files.list())


def _project(root, n):
    for i in range(n):
        d = os.path.join(root, "pkg%d" % (i % 3))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%d.py" % i), "w") as f:
            f.write("V = %d\n" % i)
    os.makedirs(os.path.join(root, ".git"), exist_ok=True)
    with open(os.path.join(root, ".git", "HEAD"), "w") as f:
        f.write("ref\n")
    os.symlink("/etc/passwd", os.path.join(root, "link"))


def test_sdk_python_upload(p):
    tmp = tempfile.mkdtemp(prefix="petri-sdk-")
    try:
        _project(tmp, 12)
        with petri.Sandbox(language="python", client=client(p)) as sb:
            r = sb.upload(tmp)
            check(r.method in ("sync", "archive") and r.uploaded == 12, r)
            names = sorted(f.path for f in sb.files.list(recursive=True) if f.type == "file")
            check(len(names) == 12 and "pkg0/f0.py" in names, names)
            check(sb.run("cat pkg2/f5.py").stdout == "V = 5\n")
            sb.files.write("extra.txt", "x")
            with open(os.path.join(tmp, "pkg1", "f1.py"), "w") as f:
                f.write("V = 'changed'\n")
            r2 = sb.upload(tmp, delete=True)
            check(r2.method == r.method, (r, r2))
            if r.method == "sync":
                # only the changed file travels; the extra one goes
                check(r2.uploaded == 1 and r2.unchanged == 11 and r2.deleted == 1, r2)
                check(r2.bytes < r.bytes, (r.bytes, r2.bytes))
            else:
                check(r2.uploaded == 12, r2)
            check(sb.run("cat pkg1/f1.py").stdout == "V = 'changed'\n")
            check(not any(f.path == "extra.txt" for f in sb.files.list()))
            # into a subdirectory
            r3 = sb.upload(os.path.join(tmp, "pkg0"), target="sub")
            check(r3.uploaded == 4, r3)
            check(sb.run("cat sub/f3.py").stdout == "V = 3\n")
            # archives: tar.gz with strip, zip
            arc = os.path.join(tmp, "proj.tar.gz")
            with tarfile.open(arc, "w:gz") as t:
                data = b"print('from tar')\n"
                ti = tarfile.TarInfo("top/app/t.py")
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            r4 = sb.upload(arc, strip=1)
            check(r4.method == "archive" and [f.path for f in r4.files] == ["app/t.py"], r4)
            check(sb.run(filename="app/t.py").stdout == "from tar\n")
            z = os.path.join(tmp, "p.zip")
            with zipfile.ZipFile(z, "w") as zf:
                zf.writestr("z/one.txt", "1")
            check(sb.upload(z).files[0].path == "z/one.txt")
            bad = os.path.join(tmp, "evil.tar")
            with tarfile.open(bad, "w") as t:
                ti = tarfile.TarInfo("../escape")
                ti.size = 1
                t.addfile(ti, io.BytesIO(b"x"))
            try:
                sb.upload(bad)
                check(False, "an archive escaping the workspace was taken")
            except petri.Invalid:
                pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_sdk_python_errors(p):
    c = client(p)
    try:
        petri.Sandbox.connect("sb_aaaaaaaaaaaaaaaaaaaaaaaa", client=c)
        check(False, "connect to nothing")
    except petri.NotFound as e:
        check(e.status == 404 and e.code == "not_found" and e.request_id.startswith("req_"), e)
        check("not found" in e.message and "404 not_found" in str(e), str(e))
    try:
        petri.Sandbox(language="cobol", client=c)
        check(False, "cobol sandbox")
    except petri.Invalid as e:
        check(e.message == "language: must be one of python, node, go, java", e.message)
    try:
        petri.Sandbox(language="python", limits={"memory_mb": 1}, client=c)
        check(False, "1 MB sandbox")
    except petri.Invalid as e:
        check("memory_mb" in e.message, e)
    try:
        client(p, "petri_" + "0" * 64).sandboxes.list()
        check(False, "bad key accepted")
    except petri.Unauthorized as e:
        check(e.status == 401, e)
    try:
        client(p, p.key("auditor")).sandbox("python")
        check(False, "auditor created a sandbox")
    except petri.Forbidden as e:
        check(e.status == 403, e)
    try:
        petri.Petri(url="http://127.0.0.1:%d" % harness.free_port(), api_key="x",
                    timeout=5).health()
        check(False, "nothing listens there")
    except petri.ConnectionFailed as e:
        check(e.status == 0, e)
    try:
        petri.Petri(url="ftp://example.invalid")
        check(False, "ftp URL accepted")
    except ValueError:
        pass
    with petri.Sandbox(client=c) as sb:
        try:
            sb.run("true", bogus=1)
            check(False, "unknown option sent")
        except TypeError:
            pass
        try:
            sb.run("true", timeout_ms=0)
            check(False, "timeout_ms 0")
        except petri.Invalid as e:
            check("timeout_ms" in e.message, e)
    # error mapping without a server
    e = errors.error_from_answer(429, b'{"error":{"code":"limit_reached","message":"m",'
                                 b'"request_id":"req_1"}}', "7")
    check(isinstance(e, petri.LimitReached) and e.retry_after == 7.0 and e.message == "m", e)
    e = errors.error_from_answer(502, b"<html>bad gateway</html>")
    check(type(e) is petri.PetriError and e.code == "http_502" and "bad gateway" in e.message, e)
    e = errors.error_from_answer(409, b'{"error":{"code":"sync_conflict","message":"x"}}')
    check(isinstance(e, petri.SyncConflict) and isinstance(e, petri.Conflict), e)


def test_sdk_python_unavailable_own():
    p = harness.Petri(relay=True).start()
    try:
        c = client(p)
        p.relay.stop()
        t0 = time.time()
        try:
            c.sandbox("python")
            check(False, "sandbox created without Docker")
        except petri.Unavailable as e:
            check(e.status == 503 and e.code == "unavailable", e)
            check(e.retry_after is not None and e.retry_after > 0, e)
        check(time.time() - t0 < 60)
        try:
            c.ready()
            check(False, "ready without Docker")
        except petri.Unavailable:
            pass
    finally:
        p.cleanup()


def test_sdk_python_cleanup_on_exception(p):
    c = client(p)
    holder = {}
    try:
        with petri.Sandbox(language="python", client=c) as sb:
            holder["id"] = sb.id
            check(container_count(p, sb.id) == 1)
            raise KeyError("the body failed")
    except KeyError as e:
        check(e.args == ("the body failed",), e)  # the body's exception, unchanged
    check(p.request("GET", "/v1/sandboxes/" + holder["id"]).status == 404)
    check(container_count(p, holder["id"]) == 0)
    # deleted twice (explicitly, then by the with block): no error
    with petri.Sandbox(client=c) as sb:
        sb.delete()
    check(p.request("GET", "/v1/sandboxes/" + sb.id).status == 404)
    # deleted by someone else inside the block: exit still succeeds
    with petri.Sandbox(client=c) as sb:
        p.delete({"id": sb.id})


def test_sdk_python_test_mode(p):
    with petri.Sandbox(language="python", client=client(p)) as sb:
        sb.files.write("test_calc.py", "import unittest\n"
                       "class T(unittest.TestCase):\n"
                       "    def test_ok(self): self.assertEqual(1 + 1, 2)\n"
                       "    def test_bad(self): self.assertEqual(1, 2)\n")
        r = sb.test()
        check(r.test is not None and r.test.passed == 1 and r.test.failed == 1, r.test)
        check(r.test.runner in ("pytest", "unittest"), r.test)


def test_sdk_python_admin_and_audit(p):
    c = client(p)
    k = c.keys.create("agent", tenant="sdk-py", name="sdk")
    check(k.key.startswith("petri_") and k.tenant == "sdk-py", k)
    check(any(x.id == k.id and x.key is None for x in c.keys.list()))
    agent = client(p, k.key)
    check(agent.sandboxes.list() == [])
    c.keys.delete(k.id)
    try:
        agent.sandboxes.list()
        check(False, "revoked key works")
    except petri.Unauthorized:
        pass
    pol = {"name": "sdk-web", "allow": [{"host": "api.example.test", "methods": ["GET"]}]}
    v1 = c.policies.put("sdk-web", pol)
    check(v1.name == "sdk-web" and v1.version == 1 and len(v1.sha256) == 64, v1)
    check(c.policies.put("sdk-web", pol).version == 2)
    check(c.policies.get("sdk-web").version == 2)
    check([x.name for x in c.policies.list()][0] == "deny-all")
    try:
        c.policies.put("deny-all", {"name": "deny-all"})
        check(False, "built-in replaced")
    except petri.Conflict:
        pass
    value = "sk_sdk_test_e8c1f0"
    s = c.secrets.create("sdk-s", value, hosts=["api.example.test"],
                         inject={"header": "Authorization", "format": "Bearer {value}"})
    check(s.name == "sdk-s" and s.version == 1 and s.fingerprint, s)
    check(not hasattr(s, "value"))
    check(c.secrets.update("sdk-s", value="sk_other").version == 2)
    lst = c.secrets.list()
    check(any(x.name == "sdk-s" for x in lst) and value not in repr(lst), lst)
    check(c.secrets.get("sdk-s").rotated_at is not None)
    with petri.Sandbox(client=c, policy="sdk-web", secrets=["sdk-s"]) as sb:
        check(sb.info().policy == "sdk-web" and sb.info().secrets == ["sdk-s"], sb.info())
    c.secrets.delete("sdk-s")
    c.policies.delete("sdk-web")
    try:
        c.secrets.get("sdk-s")
        check(False, "deleted secret")
    except petri.NotFound:
        pass
    # audit, read with an auditor key
    aud = client(p, p.key("auditor"))
    recs = aud.audit.records(from_seq=0, limit=5)
    check(recs[0].seq == 0 and recs[0].fields()["type"] == "log.started", recs[0])
    one = aud.audit.record(1)
    check(one.inclusion and one.inclusion["leaf_index"] == 1, one)
    check(sum(1 for _ in aud.audit.iter_records(page=50)) >= 5)
    cp = aud.audit.checkpoint()
    check(cp.startswith("petri/") and "\u2014 " in cp, cp)
    check(aud.audit.public_key()["algorithm"] == "Ed25519")
    check(aud.audit.consistency(1, 2)["from"] == 1)
    check("sinks" in aud.audit.sinks())
    out = os.path.join(p.dir, "sdk-bundle.tar")
    n = aud.audit.export(out)
    check(n == os.path.getsize(out) and n > 1024, n)
    with open(out, "rb") as f:
        rc, text = p.verify(f.read())
    check(rc == 0, text)
    check(c.health()["status"] == "ok" and c.ready()["docker"] is True)


def test_sdk_python_sse_parser(p):
    raw = (b": comment\n\nevent: stdout\ndata: \"a\\n\"\n\n"
           b"event: stderr\r\ndata:\"b\"\r\n\r\nevent: x\ndata: 1\ndata: 2\n\n"
           b"data: tail")
    got = list(_http.sse_parse(io.BytesIO(raw)))
    check(got == [("stdout", '"a\\n"'), ("stderr", '"b"'), ("x", "1\n2"),
                  ("message", "tail")], got)


def test_sdk_python_venv_install(p):
    """pip install --no-index --no-build-isolation into a fresh venv, then
    the README's snippet, run by the venv's python."""
    tmp = tempfile.mkdtemp(prefix="petri-venv-")
    try:
        venv = os.path.join(tmp, "venv")
        subprocess.run(["/usr/bin/python3", "-m", "venv", venv], check=True,
                       capture_output=True, timeout=120)
        py = os.path.join(venv, "bin", "python")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        r = subprocess.run([py, "-m", "pip", "install", "--no-index", "--no-build-isolation",
                            "--no-cache-dir", SDK], capture_output=True, text=True,
                           timeout=300, env=env)
        check(r.returncode == 0, r.stdout + r.stderr)
        r = subprocess.run([py, "-m", "pip", "wheel", "--no-index", "--no-build-isolation",
                            "--no-deps", "-w", os.path.join(tmp, "dist"), SDK],
                           capture_output=True, text=True, timeout=300, env=env)
        check(r.returncode == 0, r.stdout + r.stderr)
        whl = os.path.join(tmp, "dist", "petri_sdk-0.1.0-py3-none-any.whl")
        with zipfile.ZipFile(whl) as z:
            names = set(z.namelist())
            check("petri/py.typed" in names and "petri_sdk-0.1.0.dist-info/RECORD" in names,
                  names)
            meta = z.read("petri_sdk-0.1.0.dist-info/METADATA").decode()
            check("Requires-Python: >=3.9" in meta and "Requires-Dist" not in meta, meta[:400])
        snippet = ("from petri import Sandbox\n"
                   "with Sandbox(language=\"python\") as sb:\n"
                   "    result = sb.exec(\"print('hello from isolation')\")\n"
                   "    print(result.output)\n")
        env.update(PETRI_URL="http://127.0.0.1:%d" % p.port, PETRI_API_KEY=p.token)
        r = subprocess.run([py, "-c", snippet], capture_output=True, text=True,
                           timeout=300, env=env, cwd=tmp)
        check(r.returncode == 0 and r.stdout == "hello from isolation\n\n",
              r.stdout + r.stderr)
        r = subprocess.run([py, "-c", "import petri, os; print(petri.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp)
        check(r.stdout.startswith(venv), r.stdout)
        # mypy finds the installed package's types only through py.typed
        prog = os.path.join(tmp, "prog.py")
        with open(prog, "w") as f:
            f.write("from petri import Sandbox\n"
                    "def out(sb: Sandbox) -> str:\n"
                    "    return sb.exec('print(1)').output\n")
        r = subprocess.run(["mypy", "--strict", "--python-executable", py, "--cache-dir",
                            os.path.join(tmp, "cache"), prog], capture_output=True, text=True,
                           timeout=600, cwd=tmp)
        check(r.returncode == 0 and "Success" in r.stdout, r.stdout + r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_sdk_python_old_pythons(p):
    """Python 3.9 syntax, always; and a real 3.9 import and build-backend
    run when pyenv's interpreter is on this host."""
    for root, _, files in os.walk(SDK):
        for n in files:
            if n.endswith(".py"):
                with open(os.path.join(root, n)) as f:
                    ast.parse(f.read(), n, feature_version=(3, 9))
    sys.path.insert(0, os.path.join(SDK, "build_backend"))
    import petri_build
    with open(os.path.join(SDK, "pyproject.toml")) as f:
        text = f.read()
    import tomllib
    real = tomllib.loads(text)["project"]
    saved = sys.modules.get("tomllib")
    sys.modules["tomllib"] = None  # the reader used on 3.9 and 3.10
    try:
        check(petri_build._toml_project(text) == real, petri_build._toml_project(text))
    finally:
        sys.modules["tomllib"] = saved
    py39 = "/root/.pyenv/versions/3.9.18/bin/python3"
    if os.path.exists(py39):
        out = tempfile.mkdtemp(prefix="petri-py39-")
        try:
            code = ("import sys; sys.path[:0] = [%r, %r]\n"
                    "import petri, petri_build\n"
                    "print(petri_build.build_wheel(%r))\n" % (
                        os.path.join(SDK, "src"), os.path.join(SDK, "build_backend"), out))
            r = subprocess.run([py39, "-c", code], capture_output=True, text=True, timeout=60)
            check(r.returncode == 0 and r.stdout.strip().endswith(".whl"), r.stdout + r.stderr)
        finally:
            shutil.rmtree(out, ignore_errors=True)


class _SyncStub:
    """A loopback server speaking the delta sync contract (POST .../sync,
    PUT .../sync/{id}) over an in-memory workspace, so the SDK's side of
    the protocol is checked whatever the petrid under test has.  The first
    commit answers 409 sync_conflict once when asked to."""

    def __init__(self, conflict_once=False):
        import hashlib
        import http.server
        import threading
        self.ws = {"old.txt": b"old", "keep.py": b"K = 1\n"}
        self.plans, self.bodies = {}, []
        self.conflict_once = conflict_once
        stub = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, doc):
                raw = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self):
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self):
                self._send(200, {"id": "sb_stub", "language": "python"})

            def do_POST(self):
                req = json.loads(self._body())
                files = {f["path"]: (f["sha256"], f["size"]) for f in req["files"]}
                for path, (sha, size) in files.items():
                    check(len(sha) == 64 and isinstance(size, int), (path, sha, size))
                up = [p for p, (sha, _) in sorted(files.items())
                      if p not in stub.ws or hashlib.sha256(stub.ws[p]).hexdigest() != sha]
                extra = sorted(p for p in stub.ws if p not in files)
                sid = "sy_%d" % len(stub.plans)
                stub.plans[sid] = (req, up, extra, len(files) - len(up))
                self._send(200, {"sync": sid, "upload": up, "extra": extra,
                                 "unchanged": len(files) - len(up),
                                 "expires_at": "2026-01-01T00:00:00.000000Z"})

            def do_PUT(self):
                sid = self.path.rsplit("/", 1)[1]
                body = self._body()
                stub.bodies.append(body)
                req, up, extra, unchanged = stub.plans.pop(sid)
                if stub.conflict_once:
                    stub.conflict_once = False
                    stub.ws["keep.py"] = b"changed meanwhile"
                    return self._send(409, {"error": {"code": "sync_conflict",
                                                      "message": "the workspace changed",
                                                      "request_id": "req_x"}})
                got = {}
                if body:
                    with tarfile.open(fileobj=io.BytesIO(body)) as t:
                        for m in t.getmembers():
                            got[m.name] = t.extractfile(m).read()
                check(sorted(got) == up, (sorted(got), up))
                sent = {f["path"]: f for f in req["files"]}
                for name, data in got.items():
                    check(hashlib.sha256(data).hexdigest() == sent[name]["sha256"], name)
                stub.ws.update(got)
                if req["delete"]:
                    for p in extra:
                        del stub.ws[p]
                self._send(200, {"uploaded": len(got), "deleted": len(extra) if req["delete"]
                                 else 0, "unchanged": unchanged, "bytes": len(body)})

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_sdk_python_sync_protocol(p):
    tmp = tempfile.mkdtemp(prefix="petri-sync-")
    stub = _SyncStub(conflict_once=True)
    try:
        with open(os.path.join(tmp, "keep.py"), "w") as f:
            f.write("K = 1\n")
        os.makedirs(os.path.join(tmp, "pkg"))
        with open(os.path.join(tmp, "pkg", "new.py"), "w") as f:
            f.write("N = 2\n")
        c = petri.Petri(url=stub.url, api_key="petri_stub")
        sb = petri.Sandbox.connect("sb_stub", client=c)
        # the first commit meets a conflict: the SDK plans and sends again
        r = sb.upload(tmp, delete=True)
        check(r.method == "sync" and r.uploaded == 2 and r.deleted == 1, r)
        check(stub.ws == {"keep.py": b"K = 1\n", "pkg/new.py": b"N = 2\n"}, stub.ws)
        check(len(stub.bodies) == 2, len(stub.bodies))
        # nothing changed: an empty commit, nothing sent
        r = sb.upload(tmp)
        check(r.uploaded == 0 and r.unchanged == 2 and r.bytes == 0 and stub.bodies[-1] == b"", r)
    finally:
        stub.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_sdk_python_types(p):
    """mypy --strict (Debian's) passes on the SDK for Python 3.9 and on a
    program using it, and catches a misuse (the installed package's
    py.typed is checked by test_sdk_python_venv_install)."""
    tmp = tempfile.mkdtemp(prefix="petri-mypy-")
    try:
        good = os.path.join(tmp, "good.py")
        with open(good, "w") as f:
            f.write("from typing import List\n"
                    "from petri import Sandbox, ExecResult, FileEntry, Petri\n"
                    "def run(p: Petri) -> int:\n"
                    "    with Sandbox(language='python', client=p) as sb:\n"
                    "        r: ExecResult = sb.exec('print(1)')\n"
                    "        files: List[FileEntry] = sb.files.list()\n"
                    "        code = r.exit_code if r.exit_code is not None else -1\n"
                    "        return code + len(files) + (r.audit.seq if r.audit else 0)\n")
        bad = os.path.join(tmp, "bad.py")
        with open(bad, "w") as f:
            f.write("from petri import Sandbox\n"
                    "def run(sb: Sandbox) -> str:\n"
                    "    return sb.exec(42).exit_code\n")
        env = dict(os.environ, MYPYPATH=os.path.join(SDK, "src"),
                   MYPY_CACHE_DIR=os.path.join(tmp, "cache"))
        base = ["mypy", "--strict", "--python-version", "3.9", "--no-error-summary"]
        r = subprocess.run(base + [os.path.join(SDK, "src", "petri"), good], env=env,
                           capture_output=True, text=True, timeout=600)
        check(r.returncode == 0, r.stdout + r.stderr)
        r = subprocess.run(base + [bad], env=env, capture_output=True, text=True, timeout=600)
        check(r.returncode == 1 and 'incompatible type "int"' in r.stdout and
              "Incompatible return value" in r.stdout, r.stdout + r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
