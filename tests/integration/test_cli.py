"""The petri CLI against a running petrid."""
import os
import subprocess
import tempfile

from harness import BUILD, check


def _cli(p, *args, stdin=None):
    env = dict(os.environ, PETRI_URL="http://127.0.0.1:%d" % p.port, PETRI_API_KEY=p.token)
    return subprocess.run([os.path.join(BUILD, "petri")] + list(args), capture_output=True,
                          env=env, timeout=120, input=stdin)


def test_cli_flow(p):
    r = _cli(p, "sandbox", "create", "python", "--label", "via=cli")
    check(r.returncode == 0 and r.stdout.decode().startswith("sb_"), r)
    sid = r.stdout.decode().strip()
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "pkg"))
        with open(os.path.join(d, "main.py"), "w") as f:
            f.write("import sys\nfrom pkg import mod\nprint(mod.V)\nprint('err', file=sys.stderr)\n"
                    "sys.exit(5)\n")
        with open(os.path.join(d, "pkg", "__init__.py"), "w") as f:
            f.write("")
        with open(os.path.join(d, "pkg", "mod.py"), "w") as f:
            f.write("V = 'from-dir'\n")
        r = _cli(p, "upload", sid, d)
        check(r.returncode == 0, r)
        with open(os.path.join(d, "single.txt"), "w") as f:
            f.write("one file")
        r = _cli(p, "upload", sid, os.path.join(d, "single.txt"), "--to", "docs")
        check(r.returncode == 0, r)
    r = _cli(p, "exec", sid, "--", "python3 main.py")
    check(r.returncode == 5 and r.stdout == b"from-dir\n" and b"err" in r.stderr, r)
    r = _cli(p, "exec", sid, "--json", "--", "cat", "docs/single.txt")
    check(r.returncode == 0 and b'"stdout": "one file"' in r.stdout, r)
    r = _cli(p, "download", sid, "docs/single.txt")
    check(r.stdout == b"one file", r)
    r = _cli(p, "sandbox", "ls", "--label", "via:cli")
    check(sid.encode() in r.stdout, r)
    r = _cli(p, "keys", "create", "auditor", "--tenant", "cli-t")
    check(r.returncode == 0 and b'"key": "petri_' in r.stdout, r)
    check(_cli(p, "sandbox", "rm", sid).returncode == 0)
    r = _cli(p, "sandbox", "get", sid)
    check(r.returncode == 1 and b"404" in r.stderr, r)
    check(_cli(p, "bogus").returncode == 2)
