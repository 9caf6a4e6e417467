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


def test_cli_policies_secrets_and_test_mode(p):
    with tempfile.TemporaryDirectory() as d:
        pol = os.path.join(d, "pol.json")
        with open(pol, "w") as f:
            f.write('{"default": "deny", "allow": [{"host": "api.cli.test", "scheme": "https"}]}')
        r = _cli(p, "policy", "put", "cli-pol", pol)
        check(r.returncode == 0 and b'"version": 1' in r.stdout, r)
        r = _cli(p, "policy", "put", "cli-pol", pol)
        check(r.returncode == 0 and b'"version": 2' in r.stdout, r)
        r = _cli(p, "policy", "ls")
        check(r.returncode == 0 and b"cli-pol" in r.stdout and b"deny-all" in r.stdout, r)
        b = os.path.join(d, "bind.json")
        with open(b, "w") as f:
            f.write('{"hosts": ["api.cli.test"], "inject": {"header": "Authorization", '
                    '"format": "Bearer {value}"}}')
        r = _cli(p, "secret", "add", "cli-key", b, stdin=b"sk_cli_value_123\n")
        check(r.returncode == 0 and b"sk_cli_value_123" not in r.stdout and
              b'"version": 1' in r.stdout, r)
        r = _cli(p, "secret", "rotate", "cli-key", stdin=b"sk_cli_value_456\n")
        check(r.returncode == 0 and b'"version": 2' in r.stdout, r)
        r = _cli(p, "secret", "get", "cli-key")
        check(r.returncode == 0 and b"sk_cli" not in r.stdout, r)
    r = _cli(p, "sandbox", "create", "python", "--policy", "cli-pol", "--secret", "cli-key")
    check(r.returncode == 0, r)
    sid = r.stdout.decode().strip()
    r = _cli(p, "sandbox", "get", sid)
    check(b'"cli-key"' in r.stdout and b'"policy": "cli-pol"' in r.stdout, r)
    # test mode: no app, the tests alone
    p.request("PUT", "/v1/sandboxes/%s/files/test_x.py" % sid,
              raw=b"def test_ok():\n    assert True\n")
    r = _cli(p, "exec", sid, "--json", "--test")
    check(r.returncode == 0 and b'"runner": "pytest"' in r.stdout and b'"passed": 1' in r.stdout, r)
    check(_cli(p, "sandbox", "rm", sid).returncode == 0)
    check(_cli(p, "secret", "rm", "cli-key").returncode == 0)
    check(_cli(p, "policy", "rm", "cli-pol").returncode == 0)
    r = _cli(p, "secret", "get", "cli-key")
    check(r.returncode == 1 and b"404" in r.stderr, r)
