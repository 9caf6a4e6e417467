"""petrid's own log in forms journald and SIEMs read (config log.format,
issue 14): one line per event, key=value pairs or one JSON object."""
import json
import os
import re
import subprocess

from harness import BUILD, Petri, check

KV = re.compile(r'^ts=\S+ proc=[a-z]+ pid=\d+ level=(debug|info|warn|fatal) msg="(?:[^"\\]|\\.)*"$')


def _lines(p):
    p.log.flush()
    with open(os.path.join(p.dir, "petrid.log"), "rb") as f:
        return [l for l in f.read().decode().splitlines() if l]


def test_log_format_json_own():
    p = Petri(config={"log": {"format": "json"}}).start()
    try:
        sb = p.sandbox()
        check(p.exec(sb, command="true").json()["exit_code"] == 0)
        lines = _lines(p)
        procs = set()
        for l in lines:
            j = json.loads(l)  # every line one object
            check(set(j) == {"ts", "proc", "pid", "level", "msg"}, j)
            check(j["level"] in ("debug", "info", "warn", "fatal"), j)
            procs.add(j["proc"])
        check({"parent", "api", "engine", "keeper", "ws", "proxy"} <= procs, procs)
        check(any(json.loads(l)["msg"] == "api ready" for l in lines), lines[-5:])
    finally:
        p.cleanup()


def test_log_format_kv_own():
    p = Petri(config={"log": {"format": "kv"}}).start()
    try:
        lines = _lines(p)
        check(lines and all(KV.match(l) for l in lines), [l for l in lines if not KV.match(l)])
        check(any('proc=api' in l and 'msg="api ready"' in l for l in lines), lines[-5:])
    finally:
        p.cleanup()


def test_log_format_refused_own():
    p = Petri(config={"log": {"format": "xml"}})
    try:
        r = subprocess.run([os.path.join(BUILD, "petrid"), "--listen", "127.0.0.1:%d" % p.port,
                            "--data-dir", p.data, "--config", p.config_path],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "log.format" in r.stderr, r)
    finally:
        p.cleanup()
