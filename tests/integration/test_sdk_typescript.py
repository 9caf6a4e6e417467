"""The TypeScript SDK (clients/typescript): its node:test suite against
the shared petrid, and `npm pack` producing a package that installs into
an empty project and runs the README's example."""
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

import harness
from harness import check

TS = os.path.join(harness.ROOT, "clients", "typescript")


def npm(*args, cwd=TS, env=None, timeout=600):
    return subprocess.run(["npm", "--no-audit", "--no-fund", "--loglevel=error"] + list(args),
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _env(p):
    env = dict(os.environ)
    env.update(PETRI_URL="http://127.0.0.1:%d" % p.port, PETRI_API_KEY=p.token)
    return env


def _build():
    check(os.path.isdir(os.path.join(TS, "node_modules", "typescript")),
          "clients/typescript/node_modules missing: run tests/setup-test-deps.sh")
    for script in ("build", "build:test"):
        r = npm("run", script)
        check(r.returncode == 0, r.stdout + r.stderr)


def test_sdk_typescript_suite(p):
    _build()
    r = subprocess.run(["node", "--test", "--test-reporter=tap", "build-test/test/"], cwd=TS,
                       env=_env(p), capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    passed = re.search(r"^# pass (\d+)$", out, re.M)
    failed = re.search(r"^# fail (\d+)$", out, re.M)
    check(passed and failed, out[-4000:])
    print("  typescript: %s passed, %s failed" % (passed.group(1), failed.group(1)))
    check(r.returncode == 0 and failed.group(1) == "0" and int(passed.group(1)) >= 10,
          out[-6000:])


def test_sdk_typescript_pack(p):
    tmp = tempfile.mkdtemp(prefix="petri-npm-")
    try:
        r = npm("pack", "--pack-destination", tmp)
        check(r.returncode == 0, r.stdout + r.stderr)
        tgz = os.path.join(tmp, "petri-sdk-0.1.0.tgz")
        with tarfile.open(tgz) as t:
            names = set(t.getnames())
            meta = json.load(t.extractfile("package/package.json"))
        for n in ("package/package.json", "package/README.md", "package/dist/index.js",
                  "package/dist/index.d.ts", "package/dist/sandbox.d.ts"):
            check(n in names, "%s not in the package: %s" % (n, sorted(names)))
        check(not any(n.startswith(("package/src/", "package/test/", "package/node_modules/"))
                      for n in names), sorted(names))
        check(meta["name"] == "@petri/sdk" and meta["type"] == "module" and
              "dependencies" not in meta, meta)
        app = os.path.join(tmp, "app")
        os.mkdir(app)
        with open(os.path.join(app, "package.json"), "w") as f:
            json.dump({"name": "app", "private": True, "type": "module"}, f)
        r = npm("install", "--offline", tgz, cwd=app)
        check(r.returncode == 0, r.stdout + r.stderr)
        with open(os.path.join(app, "main.mjs"), "w") as f:
            f.write("import { Sandbox } from '@petri/sdk';\n"
                    "const sb = await Sandbox.create({ language: 'node' });\n"
                    "try {\n"
                    "  const r = await sb.exec({ code: \"console.log('hello from isolation')\" });\n"
                    "  console.log(r.output.trim(), r.exitCode);\n"
                    "} finally {\n"
                    "  await sb.delete();\n"
                    "}\n")
        r = subprocess.run(["node", "main.mjs"], cwd=app, env=_env(p), capture_output=True,
                           text=True, timeout=300)
        check(r.returncode == 0 and r.stdout == "hello from isolation 0\n", r.stdout + r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_sdk_typescript_sync_protocol(p):
    """The SDK's half of delta sync against the contract stub of
    test_sdk_python (manifest, the asked files only, delete, one re-plan
    after sync_conflict, an empty commit)."""
    from test_sdk_python import _SyncStub
    if not os.path.exists(os.path.join(TS, "dist", "index.js")):
        _build()
    stub = _SyncStub(conflict_once=True)
    tmp = tempfile.mkdtemp(prefix="petri-tsync-")
    try:
        os.makedirs(os.path.join(tmp, "proj", "pkg"))
        with open(os.path.join(tmp, "proj", "keep.py"), "w") as f:
            f.write("K = 1\n")
        with open(os.path.join(tmp, "proj", "pkg", "new.py"), "w") as f:
            f.write("N = 2\n")
        script = os.path.join(tmp, "sync.mjs")
        with open(script, "w") as f:
            f.write("import { Sandbox } from %s;\n"
                    "const sb = await Sandbox.connect('sb_stub');\n"
                    "const a = await sb.upload(%s, { delete: true });\n"
                    "const b = await sb.upload(%s);\n"
                    "console.log(JSON.stringify([a.method, a.uploaded, a.deleted,"
                    " b.uploaded, b.unchanged, b.bytes]));\n" % (
                        json.dumps("file://" + os.path.join(TS, "dist", "index.js")),
                        json.dumps(os.path.join(tmp, "proj")),
                        json.dumps(os.path.join(tmp, "proj"))))
        env = dict(os.environ, PETRI_URL=stub.url, PETRI_API_KEY="petri_stub")
        r = subprocess.run(["node", script], env=env, capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, r.stdout + r.stderr)
        check(json.loads(r.stdout) == ["sync", 2, 1, 0, 2, 0], r.stdout)
        check(stub.ws == {"keep.py": b"K = 1\n", "pkg/new.py": b"N = 2\n"}, stub.ws)
        check(len(stub.bodies) == 3 and stub.bodies[-1] == b"", len(stub.bodies))
    finally:
        stub.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_sdk_typescript_browser(p):
    """The built SDK in Debian's Chromium: a page served on loopback, with
    /v1/ passed to petrid from the same origin (petrid sends no CORS
    headers), creates a sandbox, runs code, streams, writes and reads a
    file (a file map upload) and deletes the sandbox."""
    import http.client
    import http.server
    import threading
    if not os.path.exists(os.path.join(TS, "dist", "index.js")):
        _build()
    page = ("<!doctype html><title>sdk</title><pre id=out></pre><script type=module>\n"
            "import { Sandbox } from '/dist/index.js';\n"
            "const key = new URLSearchParams(location.search).get('key');\n"
            "const out = document.getElementById('out');\n"
            "try {\n"
            "  const sb = await Sandbox.create({ language: 'node', url: location.origin, apiKey: key });\n"
            "  const r = await sb.exec({ code: \"console.log('hello from isolation')\" });\n"
            "  let ev = [];\n"
            "  for await (const e of sb.stream({ command: 'echo a; sleep 0.3; echo b >&2' }))"
            " ev.push(e.event);\n"
            "  const u = await sb.upload({ 'm.txt': 'from the browser' });\n"
            "  const t = await sb.files.readText('m.txt');\n"
            "  await sb.delete();\n"
            "  out.textContent = JSON.stringify([r.output, r.exitCode, ev.filter(x => x !== 'install'),"
            " u.uploaded, t]);\n"
            "} catch (e) { out.textContent = 'ERROR ' + e.name + ': ' + e.message; }\n"
            "out.id = 'done';\n"
            "</script>")
    backend = p.port

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _relay(self):
            if self.path.startswith("/v1/"):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                c = http.client.HTTPConnection("127.0.0.1", backend, timeout=120)
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() in ("authorization", "content-type", "accept")}
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("content-type", "retry-after", "x-request-id"):
                        self.send_header(k, v)
                status = r.status
                c.close()
            elif self.path.startswith("/dist/") and ".." not in self.path:
                with open(os.path.join(TS, self.path.lstrip("/").split("?")[0]), "rb") as f:
                    data = f.read()
                status = 200
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript")
            else:
                data, status = page.encode(), 200
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
            if status != 204:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if status != 204:
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _relay

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="petri-browser-")
    try:
        url = "http://127.0.0.1:%d/?key=%s" % (srv.server_address[1], p.token)
        shot = os.path.join(harness.ROOT, "tests", "browser", "shot.mjs")
        r = subprocess.run(["node", shot, url, os.path.join(tmp, "page.png"), "#done"],
                           cwd=os.path.dirname(shot), capture_output=True, text=True, timeout=180)
        check(r.returncode == 0, r.stdout + r.stderr)
        text = json.loads(r.stdout)["text"].strip()
        check(json.loads(text) == ["hello from isolation\n", 0, ["stdout", "stderr", "exit"], 1,
                                   "from the browser"], text)
    finally:
        srv.shutdown()
        srv.server_close()
        shutil.rmtree(tmp, ignore_errors=True)
