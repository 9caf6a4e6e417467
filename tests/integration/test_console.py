"""The auditor console (/console/) in a real browser: Debian's Chromium,
headless, driven by tests/browser/console.mjs (playwright-core).  Sign-in
with an auditor key, the timeline and its filters, an execution's page,
log state, a dropped bundle, and a record tampered with on its way to the
browser shown as failing.  Screenshots in build/test-logs/."""
import os
import shutil
import subprocess

from harness import BUILD, ROOT, Petri, check

DRIVER = os.path.join(ROOT, "tests", "browser", "console.mjs")


def test_console_static(p):
    r = p.request("GET", "/console/", token=None)
    check(r.status == 200 and b"Petri auditor console" in r.body, r)
    csp = r.headers.get("Content-Security-Policy", "")
    check("script-src 'self'" in csp and "frame-ancestors 'none'" in csp, r.headers)
    r = p.request("GET", "/console/console.js", token=None)
    check(r.status == 200 and r.headers.get("Content-Type", "").startswith("text/javascript"), r)
    check(p.request("GET", "/console/nope.js", token=None).status == 404, "unknown file")
    check(p.request("GET", "/console/../v1/keys", token=None).status in (400, 404), "dot-dot")


def test_console_browser_own():
    if shutil.which("node") is None or not os.path.isdir(
            os.path.join(ROOT, "tests", "browser", "node_modules", "playwright-core")):
        raise AssertionError("node and tests/browser/node_modules are needed "
                             "(tests/setup-test-deps.sh installs them)")
    p = Petri().start()
    try:
        sb = p.sandbox("python")
        p.upload(sb, [("app.py", b"print('hello from the console test')\n")])
        d = p.exec(sb, command="python3 app.py", prompt="print the greeting",
                   model="acme/model-1").json()
        seq = d["audit"]["seq"]
        auditor = p.key("auditor")
        bundle = os.path.join(p.dir, "bundle.tar")
        with open(bundle, "wb") as f:
            f.write(p.request("GET", "/v1/audit/export", token=auditor).body)
        out = os.path.join(BUILD, "test-logs")
        os.makedirs(out, exist_ok=True)
        r = subprocess.run(["node", DRIVER, "http://127.0.0.1:%d" % p.port, auditor,
                            str(seq), bundle, out], capture_output=True, text=True,
                           timeout=240, cwd=os.path.join(ROOT, "tests", "browser"))
        check(r.returncode == 0 and '"ok":true' in r.stdout, r.stdout + r.stderr)
        for n in ("timeline", "execution", "state", "bundle", "tampered-record"):
            check(os.path.getsize(os.path.join(out, "console-%s.png" % n)) > 1000, n)
        p.delete(sb)
    finally:
        p.cleanup()
