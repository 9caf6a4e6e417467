"""Dependencies installed once and kept out of the output, and a CycloneDX
SBOM per execution (issue 5), against local registries on loopback that the
sandboxes reach through the egress proxy (registries.py): a PEP 503 index of
wheels built here and a static npm registry.
"""
import atexit
import hashlib
import io
import json
import os
import subprocess
import tempfile
import time

from harness import Petri, check, ROOT
import registries
import upstream

_E = {}


def env():
    if _E:
        return _E
    d = tempfile.mkdtemp(prefix="petri-deps-")
    os.chmod(d, 0o755)
    upstream.make_pki(d)
    reg = registries.Registry(d)
    reg.add_wheel("petri-util", "1.2.0", {"petri_util": "VALUE = 'util-1.2'\n"}, license="MIT")
    reg.add_wheel("petri-util", "2.0.0", {"petri_util": "VALUE = 'util-2.0'\n"}, license="MIT")
    reg.add_wheel("petri-greet", "1.0.0",
                  {"petri_greet": "import petri_util\n\ndef hello():\n    return 'hello ' + petri_util.VALUE\n"},
                  requires=["petri-util>=1.0,<2"],
                  classifier="License :: OSI Approved :: Apache Software License")
    reg.add_wheel("PyYAML", "6.0.1", {"yaml": "def safe_load(s):\n    return {'fake': s}\n"},
                  license="MIT")
    reg.add_wheel("petri-noisy", "0.1.0", {"petri_noisy": "X = 1\n"}, license="BSD-3-Clause")
    reg.add_npm("petri-left-pad", "1.0.0",
                {"index.js": "module.exports = (s, n) => String(s).padStart(n);\n"}, license="MIT")
    reg.add_npm("petri-shout", "2.1.0",
                {"index.js": "const lp = require('petri-left-pad');\n"
                             "module.exports = (s) => lp(String(s).toUpperCase(), 8);\n"},
                deps={"petri-left-pad": "^1.0.0"}, license="ISC")
    reg.add_gomod("petri.test/greet", "v1.2.0",
                  {"greet.go": "package greet\n\nfunc Hello() string { return \"hello from go\" }\n"})
    _java_jars(reg, d)
    cfg = {"egress": {"resolve": {n: "127.0.0.1" for n in upstream.NAMES},
                      "allow_addresses": ["127.0.0.1"],
                      "upstream_ca_file": os.path.join(d, "ca.pem"),
                      "system_resolver": False},
           "registries": {"pypi": reg.pypi_url, "npm": reg.npm_url, "go": reg.go_url,
                          "maven": reg.maven_url}}
    p = Petri(config=cfg).start()
    _E.update(p=p, reg=reg, dir=d)
    atexit.register(_teardown)
    r = p.request("PUT", "/v1/policies/regs",
                  {"default": "deny", "allow": [], "registries": ["pypi", "npm", "go", "maven"]})
    check(r.status == 201, r)
    return _E


def _java_jars(reg, d):
    """Two tiny jars compiled here (greet depends on util) in the Maven
    repository."""
    import zipfile
    src = os.path.join(d, "javasrc")
    os.makedirs(os.path.join(src, "org/petri/util"))
    os.makedirs(os.path.join(src, "org/petri/greet"))
    with open(os.path.join(src, "org/petri/util/Util.java"), "w") as f:
        f.write("package org.petri.util;\npublic class Util { public static String value() "
                "{ return \"util-1.0\"; } }\n")
    with open(os.path.join(src, "org/petri/greet/Greet.java"), "w") as f:
        f.write("package org.petri.greet;\npublic class Greet { public static String hello() "
                "{ return \"hello \" + org.petri.util.Util.value(); } }\n")
    out = os.path.join(d, "javaout")
    subprocess.run(["javac", "-d", out, os.path.join(src, "org/petri/util/Util.java"),
                    os.path.join(src, "org/petri/greet/Greet.java")], check=True)

    def jar(cls):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
            z.write(os.path.join(out, cls), cls)
        return buf.getvalue()

    reg.add_maven("org.petri", "util", "1.0", jar("org/petri/util/Util.class"),
                  license="Apache License, Version 2.0")
    reg.add_maven("org.petri", "greet", "1.1", jar("org/petri/greet/Greet.class"),
                  deps=[("org.petri", "util", "1.0")], license="MIT License")


def _teardown():
    if _E:
        _E["p"].cleanup()
        _E["reg"].stop()
        subprocess.run(["rm", "-rf", _E["dir"]])
        _E.clear()


def put(p, sb, path, data):
    r = p.request("PUT", "/v1/sandboxes/%s/files/%s" % (sb["id"], path), raw=data)
    check(r.status == 201, r)


def validate(p, href):
    """The SBOM behind href, checked against the CycloneDX 1.6 schema."""
    r = p.request("GET", href)
    check(r.status == 200, r)
    doc = json.loads(r.body)
    path = os.path.join(_E["dir"], "bom-%d.json" % len(os.listdir(_E["dir"])))
    with open(path, "wb") as f:
        f.write(r.body)
    tool = os.path.join(ROOT, "tests", "data", "cyclonedx", "validate.py")
    v = subprocess.run(["/usr/bin/python3", tool, path], capture_output=True, text=True)
    check(v.returncode == 0, v.stdout + v.stderr)
    return doc


def comps(doc):
    return {(c["name"], c["version"]): c for c in doc["components"]}


def test_python_manifest_install_once_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(policy="regs")
    put(p, sb, "requirements.txt", b"petri-greet==1.0.0\n")
    prog = "import petri_greet\nprint(petri_greet.hello())\n"
    r = p.exec(sb, code=prog).json()
    check(r["exit_code"] == 0 and r["stdout"] == "hello util-1.2\n", r)
    ins = r["install"]
    check(ins["ran"] and ins["exit_code"] == 0 and ins["manifest"] == "requirements.txt", ins)
    check("Successfully installed" in ins["log"], ins)
    # install noise never reaches the program's output
    check("Collecting" not in r["stdout"] + r["stderr"] + r["output"], r)
    check(r["missing_imports"] == [], r)
    doc = validate(p, r["sbom"]["href"])
    c = comps(doc)
    check(set(c) == {("petri-greet", "1.0.0"), ("petri-util", "1.2.0")}, c)
    check(c[("petri-util", "1.2.0")]["licenses"] == [{"license": {"id": "MIT"}}], c)
    check(c[("petri-greet", "1.0.0")]["licenses"] == [{"license": {"id": "Apache-2.0"}}], c)
    check(c[("petri-greet", "1.0.0")]["purl"] == "pkg:pypi/petri-greet@1.0.0", c)
    dep = {d["ref"]: d["dependsOn"] for d in doc["dependencies"]}
    check(dep["pkg:pypi/petri-greet@1.0.0"] == ["pkg:pypi/petri-util@1.2.0"], dep)
    check(r["sbom"]["components"] == 2, r)
    # the record refers to the log and the SBOM by hash
    rec = json.loads(p.request("GET", r["audit"]["href"]).json()["record"])
    check(rec["sbom"]["sha256"] == r["sbom"]["sha256"] and rec["sbom"]["components"] == 2, rec)
    check(rec["install"]["log"]["sha256"] == ins["log_sha256"], rec)
    blob = p.request("GET", "/v1/audit/blobs/%s" % ins["log_sha256"])
    check(blob.status == 200 and b"Successfully installed" in blob.body, blob)
    # second run: nothing installed, same SBOM, no install object
    r2 = p.exec(sb, code=prog).json()
    check(r2["stdout"] == "hello util-1.2\n" and "install" not in r2, r2)
    check(r2["sbom"]["sha256"] == r["sbom"]["sha256"], r2)
    # a changed manifest installs again
    put(p, sb, "requirements.txt", b"petri-greet==1.0.0\npetri-noisy==0.1.0\n")
    r3 = p.exec(sb, code="import petri_noisy, petri_greet\nprint(petri_noisy.X)").json()
    check(r3["install"]["ran"] and r3["stdout"] == "1\n", r3)
    check(("petri-noisy", "0.1.0") in comps(validate(p, r3["sbom"]["href"])))
    check(p.delete(sb).status == 204)


def test_python_detected_and_missing_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(policy="regs")
    r = p.exec(sb, code="import json, os, yaml\nimport nothere_pkg\n").json()
    ins = r["install"]
    check(ins["ran"] and ins["manifest"] is None, ins)
    check("PyYAML" in ins["log"], ins)             # yaml -> PyYAML
    check(r["missing_imports"] == ["nothere_pkg"], r)
    check("No module named 'nothere_pkg'" in r["stderr"], r)
    doc = validate(p, r["sbom"]["href"])
    check(set(comps(doc)) == {("PyYAML", "6.0.1")}, doc)
    r = p.exec(sb, code="import yaml\nprint(yaml.safe_load('x'))").json()
    check(r["stdout"] == "{'fake': 'x'}\n" and r["missing_imports"] == [], r)
    # install: skip runs nothing; only installs and runs nothing else
    r = p.exec(sb, code="import petri_noisy", install="skip").json()
    check("install" not in r and "No module named" in r["stderr"], r)
    check(p.delete(sb).status == 204)


def test_failed_install_does_not_run_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(policy="regs")
    put(p, sb, "requirements.txt", b"petri-does-not-exist==9.9\n")
    r = p.exec(sb, command="echo RAN; touch /sandbox/ran")
    check(r.status == 200, r)
    j = r.json()
    check(j["error"]["code"] == "install_failed" and j["install"]["exit_code"] != 0, j)
    check("petri-does-not-exist" in j["install"]["log"] and j["stdout"] == "", j)
    check(j["exit_code"] is None, j)
    paths = [f["path"] for f in
             p.request("GET", "/v1/sandboxes/%s/files" % sb["id"]).json()["files"]]
    check("requirements.txt" in paths, paths)           # the listing lists
    check("ran" not in paths, paths)                     # the program did not run
    check(not any(x == "deps" or x.startswith("deps/") for x in paths), paths)
    check(p.delete(sb).status == 204)


def test_conflicting_versions_stay_apart_own():
    e = env()
    p = e["p"]
    a = p.sandbox(policy="regs")
    b = p.sandbox(policy="regs")
    put(p, a, "requirements.txt", b"petri-util==1.2.0\n")
    put(p, b, "requirements.txt", b"petri-util==2.0.0\n")
    prog = "import petri_util\nprint(petri_util.VALUE)"
    ra = p.exec(a, code=prog).json()
    rb = p.exec(b, code=prog).json()
    check(ra["stdout"] == "util-1.2\n" and rb["stdout"] == "util-2.0\n", (ra, rb))
    check(set(comps(validate(p, ra["sbom"]["href"]))) == {("petri-util", "1.2.0")})
    check(set(comps(validate(p, rb["sbom"]["href"]))) == {("petri-util", "2.0.0")})
    check(p.delete(a).status == 204 and p.delete(b).status == 204)


def test_node_manifest_and_detected_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(language="node", policy="regs")
    put(p, sb, "package.json", json.dumps({"name": "app", "version": "1.0.0",
                                           "dependencies": {"petri-shout": "2.1.0"}}).encode())
    r = p.exec(sb, code="const s = require('petri-shout'); console.log(s('hi'));").json()
    check(r["exit_code"] == 0 and r["stdout"] == "      HI\n", r)
    check(r["install"]["ran"] and r["install"]["manifest"] == "package.json", r)
    check("added" not in r["stdout"] + r["stderr"], r)
    doc = validate(p, r["sbom"]["href"])
    c = comps(doc)
    check(set(c) == {("petri-shout", "2.1.0"), ("petri-left-pad", "1.0.0")}, c)
    check(c[("petri-shout", "2.1.0")]["licenses"] == [{"license": {"id": "ISC"}}], c)
    dep = {d["ref"]: d["dependsOn"] for d in doc["dependencies"]}
    check(dep["pkg:npm/petri-shout@2.1.0"] == ["pkg:npm/petri-left-pad@1.0.0"], dep)
    # npm's integrity of the tarball it fetched, as SHA-512
    tgz = e["reg"].npm["petri-shout"]["2.1.0"][0]
    check(c[("petri-shout", "2.1.0")]["hashes"] ==
          [{"alg": "SHA-512", "content": hashlib.sha512(tgz).hexdigest()}], c)
    r2 = p.exec(sb, code="console.log(require('petri-shout')('x'))").json()
    check("install" not in r2 or not r2["install"]["ran"], r2)
    check(p.delete(sb).status == 204)
    sb = p.sandbox(language="node", policy="regs")
    r = p.exec(sb, code="const fs = require('fs'); const lp = require('petri-left-pad');\n"
                        "import('node:path'); function later() { return require('./local'); }\n"
                        "console.log(lp('a', 3));").json()
    check(r["install"]["ran"] and r["stdout"] == "  a\n", r)
    check(set(comps(validate(p, r["sbom"]["href"]))) == {("petri-left-pad", "1.0.0")})
    check(p.delete(sb).status == 204)


def test_install_reaches_only_the_registries_own():
    """The install goes through the proxy: registry hosts only.  Without
    the preset, the policy refuses the index and the install fails."""
    e = env()
    p = e["p"]
    sb = p.sandbox()           # deny-all
    put(p, sb, "requirements.txt", b"petri-util==1.2.0\n")
    j = p.exec(sb, command="true").json()
    check(j["error"]["code"] == "install_failed", j)
    check("403" in j["install"]["log"] or "Forbidden" in j["install"]["log"]
          or "ProxyError" in j["install"]["log"], j["install"]["log"])
    check(p.delete(sb).status == 204)


def test_no_registry_answers_at_once_own():
    """With no registry configured for a language, the installer does not
    run against its built-in default index (which the proxy refuses, after
    the installer's retries): the answer comes at once and names the
    setting, the imports that need it and the documentation.  A program
    that needs nothing from a registry still runs."""
    p = Petri(config={"registries": {}}).start()
    try:
        check("package registries: pypi=(not set) npm=(not set) go=(not set) "
              "maven=(not set)" in p.logtext(), p.logtext()[-2000:])
        cases = [
            ("python", {}, "import requests, os\nimport yaml\nprint('RAN')",
             "registries.pypi", ["requests", "yaml"]),
            ("python", {"requirements.txt": b"petri-util==1.2.0\n"}, "print('RAN')",
             "registries.pypi", ["petri-util"]),
            ("node", {}, "const lp = require('left-pad'); require('fs'); console.log('RAN')",
             "registries.npm", ["left-pad"]),
            ("go", {"main.go": b'package main\n\nimport (\n\t"fmt"\n\t"github.com/petri/nothere"\n)\n\n'
                               b'func main() { fmt.Println("RAN", nothere.X) }\n'},
             None, "registries.go", ["github.com/petri/nothere"]),
            ("java", {"pom.xml": b"<project><dependencies><dependency><groupId>org.petri</groupId>"
                                 b"<artifactId>greet</artifactId><version>1.1</version>"
                                 b"</dependency></dependencies></project>\n"},
             None, "registries.maven", ["org.petri:greet"]),
        ]
        for lang, files, code, setting, missing in cases:
            sb = p.sandbox(language=lang)
            for path, data in files.items():
                put(p, sb, path, data)
            body = {"code": code} if code is not None else {"command": "echo RAN"}
            t0 = time.monotonic()
            r = p.exec(sb, **body)
            took = time.monotonic() - t0
            check(r.status == 200, r)
            j = r.json()
            err = j.get("error") or {}
            check(err.get("code") == "registry_not_configured", (lang, j))
            check(err.get("setting") == setting and err.get("doc") == "docs/deps.md#registries",
                  (lang, j))
            check(setting in err["message"] and all(m in err["message"] for m in missing),
                  (lang, err))
            check(j["missing_imports"] == missing, (lang, j))
            check(j["exit_code"] is None and "RAN" not in j["stdout"], (lang, j))
            check(not j["install"]["ran"], (lang, j))
            # the installer never ran: no retries against a refused index
            check(took < 6, (lang, took))
            check(p.delete(sb).status == 204)
        # nothing to install: the program runs as usual
        sb = p.sandbox()
        j = p.exec(sb, code="import json, os\nprint('RAN')").json()
        check(j["exit_code"] == 0 and j["stdout"] == "RAN\n" and "error" not in j, j)
        check(p.delete(sb).status == 204)
        # wheels vendored in the project (docs/deps.md): pip needs no index
        fn, wheel = registries._wheel("petri-util", "1.2.0",
                                      {"petri_util": "VALUE = 'vendored'\n"}, license="MIT")
        sb = p.sandbox()
        put(p, sb, "wheels/" + fn, wheel)
        put(p, sb, "requirements.txt", b"--no-index\n--find-links wheels\npetri-util==1.2.0\n")
        j = p.exec(sb, code="import petri_util\nprint(petri_util.VALUE)").json()
        check(j["exit_code"] == 0 and j["stdout"] == "vendored\n", j)
        check(j["install"]["ran"] and j["sbom"]["components"] == 1, j)
        check(p.delete(sb).status == 204)
        # a tree installed elsewhere and uploaded: provided, nothing to fetch
        sb = p.sandbox()
        put(p, sb, "deps/petri_tree/__init__.py", b"VALUE = 'tree'\n")
        j = p.exec(sb, code="import petri_tree\nprint(petri_tree.VALUE)").json()
        check(j["exit_code"] == 0 and j["stdout"] == "tree\n" and j["missing_imports"] == [], j)
        check(p.delete(sb).status == 204)
    finally:
        p.cleanup()


PY_APP = b"""import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"pong" if self.path == "/ping" else b"?"
        self.send_response(200 if self.path == "/ping" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 8765), H).serve_forever()
"""

PY_TESTS = b"""import os, unittest, urllib.request, urllib.error
URL = os.environ["APP_URL"]
def get(path):
    try:
        with urllib.request.urlopen(URL + path, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
def test_ping():
    assert get("/ping") == (200, b"pong")
def test_missing_is_found():
    assert get("/missing")[0] == 200
@__import__("pytest").mark.skip(reason="not today")
def test_skipped():
    pass
"""

NODE_APP = b"""require('http').createServer((q, s) => {
  s.writeHead(q.url === '/ping' ? 200 : 404); s.end(q.url === '/ping' ? 'pong' : '?');
}).listen(8766, '127.0.0.1');
"""

NODE_TESTS = b"""const test = require('node:test'), assert = require('node:assert'), http = require('http');
const get = (p) => new Promise((ok, ko) => http.get(process.env.APP_URL + p, (r) => {
  let b = ''; r.on('data', (c) => b += c); r.on('end', () => ok([r.statusCode, b])); }).on('error', ko));
test('ping', async () => { assert.deepStrictEqual(await get('/ping'), [200, 'pong']); });
test('missing', async () => { assert.strictEqual((await get('/missing'))[0], 200); });
test('later', { skip: true }, () => {});
"""


def _no_listener(p, sb, port):
    """Nothing listens on port in the sandbox any more (Docker's own
    resolver listens on 127.0.0.11 in every container: not ours)."""
    r = p.exec(sb, command="cat /proc/net/tcp /proc/net/tcp6 2>/dev/null").json()
    for l in r["stdout"].splitlines():
        f = l.split()
        if len(f) > 3 and f[0] != "sl" and f[3] == "0A" and \
                int(f[1].rsplit(":", 1)[1], 16) == port:
            return False
    return True


def test_test_mode_python_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(policy="regs")
    put(p, sb, "app.py", PY_APP)
    put(p, sb, "test_app.py", PY_TESTS)
    r = p.exec(sb, command="python3 app.py", test=True, timeout_ms=120000)
    check(r.status == 200, r)
    j = r.json()
    t = j["test"]
    check(t["runner"] == "pytest" and t["port"] == 8765, t)
    check((t["passed"], t["failed"], t["skipped"], t["errors"]) == (1, 1, 1, 0), t)
    check(t["report"]["format"] == "junit" and t["counted"], t)
    check(j["exit_code"] == 0 and "@@PETRI-TEST@@" not in j["stdout"], j)
    check("test_missing_is_found" in j["output"], j)          # the runner's output
    rep = p.request("GET", "/v1/audit/blobs/%s" % t["report"]["sha256"])
    check(rep.status == 200 and b"<testsuite" in rep.body, rep)
    rec = json.loads(p.request("GET", j["audit"]["href"]).json()["record"])
    check(rec["test"]["passed"] == 1 and rec["test"]["failed"] == 1, rec)
    # everything started was stopped
    check(_no_listener(p, sb, 8765), "the app still listens")
    # an app that never listens: a clear answer, no hang
    r = p.exec(sb, command="python3 -c 'import sys; sys.exit(3)'", test=True).json()
    check(r["test"]["runner"] == "none" and r["test"]["exit_code"] == 70, r)
    check("exited before it listened" in r["stderr"], r)
    check(p.delete(sb).status == 204)


def test_test_mode_node_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(language="node", policy="regs")
    put(p, sb, "app.js", NODE_APP)
    put(p, sb, "test/app.test.js", NODE_TESTS)
    r = p.exec(sb, command="node app.js", test=True, timeout_ms=120000)
    check(r.status == 200, r)
    t = r.json()["test"]
    check(t["runner"] == "node-test" and t["port"] == 8766, t)
    check((t["passed"], t["failed"], t["skipped"]) == (1, 1, 1), (t, r.json()["output"][-800:]))
    check(_no_listener(p, sb, 8766), "the app still listens")
    r = p.exec(sb, command="node app.js", test=True, background=True)
    check(r.status == 422, r)
    check(p.delete(sb).status == 204)


GO_MAIN = b"""package main

import (
	"fmt"

	"petri.test/greet"
)

func main() { fmt.Println(greet.Hello()) }
"""


def test_go_module_through_goproxy_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(language="go", policy="regs")
    put(p, sb, "go.mod", b"module app\n\ngo 1.19\n\nrequire petri.test/greet v1.2.0\n")
    put(p, sb, "main.go", GO_MAIN)
    r = p.exec(sb, command="go run .", timeout_ms=180000).json()
    check(r["exit_code"] == 0 and r["stdout"] == "hello from go\n", r)
    check(r["install"]["ran"] and r["install"]["manifest"] == "go.mod", r)
    check("go: downloading" not in r["stderr"], r)
    doc = validate(p, r["sbom"]["href"])
    c = comps(doc)
    check(("petri.test/greet", "v1.2.0") in c, c)
    check(c[("petri.test/greet", "v1.2.0")]["purl"] == "pkg:golang/petri.test/greet@v1.2.0", c)
    r2 = p.exec(sb, command="go run .", timeout_ms=180000).json()
    check("install" not in r2 and r2["stdout"] == "hello from go\n", r2)
    check(p.delete(sb).status == 204)


JAVA_POM = b"""<?xml version="1.0"?>
<project><modelVersion>4.0.0</modelVersion>
  <groupId>app</groupId><artifactId>app</artifactId><version>1</version>
  <properties><greet.version>1.1</greet.version></properties>
  <dependencies>
    <dependency><groupId>org.petri</groupId><artifactId>greet</artifactId>
      <version>${greet.version}</version></dependency>
  </dependencies>
</project>
"""

JAVA_MAIN = b"""public class Main {
    public static void main(String[] a) { System.out.println(org.petri.greet.Greet.hello()); }
}
"""


def test_java_maven_dependencies_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(language="java", policy="regs")
    put(p, sb, "pom.xml", JAVA_POM)
    put(p, sb, "Main.java", JAVA_MAIN)
    r = p.exec(sb, filename="Main.java", timeout_ms=180000).json()
    check(r["exit_code"] == 0 and r["stdout"] == "hello util-1.0\n", r)
    check(r["install"]["ran"] and r["install"]["manifest"] == "pom.xml", r)
    check("fetch org.petri:util:1.0" in r["install"]["log"], r)
    doc = validate(p, r["sbom"]["href"])
    c = comps(doc)
    check(set(c) == {("org.petri:greet", "1.1"), ("org.petri:util", "1.0")}, c)
    g = c[("org.petri:greet", "1.1")]
    check(g["purl"] == "pkg:maven/org.petri/greet@1.1", g)
    check(g["licenses"] == [{"license": {"id": "MIT"}}], g)
    check(c[("org.petri:util", "1.0")]["licenses"] == [{"license": {"id": "Apache-2.0"}}], c)
    check(len(g["hashes"][0]["content"]) == 64, g)
    r2 = p.exec(sb, filename="Main.java", timeout_ms=180000).json()
    check("install" not in r2 and r2["stdout"] == "hello util-1.0\n", r2)
    # without pom.xml: nothing to install, an empty SBOM
    sb2 = p.sandbox(language="java", policy="regs")
    put(p, sb2, "Main.java", b"public class Main { public static void main(String[] a) "
                             b"{ System.out.println(1); } }\n")
    r3 = p.exec(sb2, filename="Main.java").json()
    check(r3["stdout"] == "1\n" and "install" not in r3 and r3["sbom"]["components"] == 0, r3)
    check(p.delete(sb).status == 204 and p.delete(sb2).status == 204)


JAVA_TEST = b"""import static org.junit.Assert.assertEquals;
import org.junit.Test;

public class GreetTest {
    @Test public void hello() { assertEquals("hello util-1.0", org.petri.greet.Greet.hello()); }
    @Test public void wrong() { assertEquals("bye", org.petri.greet.Greet.hello()); }
}
"""


def test_test_mode_java_own():
    """JUnit 4 (JUnitCore) with the pom's dependencies on the classpath;
    no app: the tests alone."""
    e = env()
    p = e["p"]
    sb = p.sandbox(language="java", policy="regs")
    put(p, sb, "pom.xml", JAVA_POM)
    put(p, sb, "src/test/java/GreetTest.java", JAVA_TEST)
    r = p.request("POST", "/v1/sandboxes/%s/exec" % sb["id"], {"test": True, "timeout_ms": 180000})
    check(r.status == 200, r)
    t = r.json()["test"]
    check(t["runner"] == "junit4" and t["port"] == 0, (t, r.json()["output"][-600:]))
    check((t["passed"], t["failed"]) == (1, 1) and t["counted"], t)
    check(p.delete(sb).status == 204)


GO_TEST = b"""package app

import "testing"

func TestPass(t *testing.T) {}
func TestFail(t *testing.T) { t.Fatal("no") }
func TestSkip(t *testing.T) { t.Skip("later") }
"""


def test_test_mode_go_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(language="go", policy="regs")
    put(p, sb, "go.mod", b"module app\n\ngo 1.19\n")
    put(p, sb, "app_test.go", GO_TEST)
    r = p.request("POST", "/v1/sandboxes/%s/exec" % sb["id"], {"test": True, "timeout_ms": 180000})
    check(r.status == 200, r)
    t = r.json()["test"]
    check(t["runner"] == "go-test" and (t["passed"], t["failed"], t["skipped"]) == (1, 1, 1),
          (t, r.json()["output"][-600:]))
    check(p.delete(sb).status == 204)


def test_java_gradle_declarations_own():
    e = env()
    p = e["p"]
    sb = p.sandbox(language="java", policy="regs")
    put(p, sb, "build.gradle", b"plugins { id 'java' }\n\ndependencies {\n"
                               b"    implementation 'org.petri:greet:1.1'\n}\n")
    put(p, sb, "Main.java", JAVA_MAIN)
    r = p.exec(sb, filename="Main.java", timeout_ms=180000).json()
    check(r["exit_code"] == 0 and r["stdout"] == "hello util-1.0\n", r)
    check(r["install"]["manifest"] == "build.gradle", r)
    check(set(comps(validate(p, r["sbom"]["href"]))) ==
          {("org.petri:greet", "1.1"), ("org.petri:util", "1.0")})
    check(p.delete(sb).status == 204)
