"""The in-sandbox supervisor (petri-init): executions over pipes it
starts, the docker exec fallback, and what a hostile program can do to it."""
import hashlib
import json
import threading
import time

import harness
from harness import check

# lists the processes of the container but PID 1 (the supervisor)
PROCS = ("import os; print(sorted(open('/proc/%s/cmdline' % p, 'rb').read()"
         ".split(b'\\0')[0].decode() for p in os.listdir('/proc') "
         "if p.isdigit() and p != '1' and int(p) != os.getpid()))")


def record(p, d):
    r = p.request("GET", "/v1/audit/records/%d" % d["audit"]["seq"])
    check(r.status == 200, r)
    return json.loads(r.json()["record"])


def procs(p, sb):
    d = p.exec(sb, argv=["python3", "-c", PROCS]).json()
    check(d["exit_code"] == 0, d)
    return d["stdout"].strip()


def test_supervisor_output(p):
    sb = p.sandbox("python")
    d = p.exec(sb, command="true").json()
    check(d["path"] == "supervisor" and d["exit_code"] == 0, d)
    check(record(p, d)["path"] == "supervisor", d)
    # every byte value, byte-exact in the recorded blob
    blob = bytes(range(256)) * 64
    d = p.exec(sb, argv=["python3", "-c",
                         "import sys; sys.stdout.buffer.write(bytes(range(256)) * 64)"]).json()
    rec = record(p, d)
    check(rec["stdout"]["sha256"] == hashlib.sha256(blob).hexdigest() and
          rec["stdout"]["size"] == len(blob), rec["stdout"])
    # stdin, exit codes, signals
    d = p.exec(sb, code="import sys; print(sys.stdin.read()[::-1])", stdin="abc").json()
    check(d["stdout"] == "cba\n" and d["path"] == "supervisor", d)
    d = p.exec(sb, command="exit 42").json()
    check(d["exit_code"] == 42 and d["signal"] is None, d)
    d = p.exec(sb, command="kill -SEGV $$").json()
    check(d["exit_code"] == 139 and d["signal"] == "SIGSEGV", d)
    d = p.exec(sb, argv=["no-such-program"]).json()
    check(d["exit_code"] == 127 and "cannot run" in d["stderr"], d)
    # the image's environment is kept, the request's added
    d = p.exec(sb, command="echo $PATH $X", env={"X": "y"}).json()
    check("/usr/bin" in d["stdout"] and d["stdout"].strip().endswith("y"), d)
    # a flood is capped and killed, the sandbox keeps working
    t0 = time.time()
    d = p.exec(sb, command="head -c 200000000 /dev/zero", timeout_ms=60000).json()
    check(d["truncated"] and d["path"] == "supervisor", {k: d[k] for k in ("truncated", "exit_code")})
    check(time.time() - t0 < 20, "the flood was not stopped")
    check(p.exec(sb, command="echo ok").json()["stdout"] == "ok\n")
    p.delete(sb)


def test_supervisor_trees(p):
    sb = p.sandbox("python")
    # a timeout kills the whole tree
    d = p.exec(sb, command="sleep 101 & sleep 102 & sleep 103", timeout_ms=500).json()
    check(d["timed_out"] and d["path"] == "supervisor", d)
    check("sleep" not in procs(p, sb), procs(p, sb))
    # what a finished foreground execution left behind is killed
    d = p.exec(sb, command="(sleep 104 &) ; nohup sleep 105 >/dev/null 2>&1 & echo done").json()
    check(d["stdout"] == "done\n" and d["exit_code"] == 0, d)
    check("sleep" not in procs(p, sb), procs(p, sb))
    # a background execution keeps its leftovers until it is killed
    r = p.exec(sb, command="sleep 106 >/dev/null 2>&1 & echo started; sleep 107",
               background=True)
    check(r.status == 202, r)
    eid = r.json()["id"]
    for _ in range(100):
        if "sleep" in procs(p, sb):
            break
        time.sleep(0.05)
    check(procs(p, sb).count("sleep") == 2, procs(p, sb))
    check(p.request("POST", "/v1/execs/%s/kill" % eid, {}).status == 202)
    for _ in range(200):
        d = p.request("GET", "/v1/execs/" + eid).json()
        if d["status"] == "finished":
            break
        time.sleep(0.05)
    check(d["status"] == "finished" and d["signal"] == "SIGKILL", d)
    check("sleep" not in procs(p, sb), procs(p, sb))
    # concurrent executions in one sandbox
    res = [None] * 8

    def one(i):
        res[i] = p.exec(sb, command="sleep 0.2; echo n%d" % i).json()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for i, d in enumerate(res):
        check(d["stdout"] == "n%d\n" % i and d["path"] == "supervisor", d)
    p.delete(sb)


def test_supervisor_hostile_program(p):
    sb = p.sandbox("python")
    # PID 1 of the namespace takes no signal it does not handle
    d = p.exec(sb, command="kill -KILL 1; kill -TERM 1; kill -STOP 1; echo $?").json()
    check(d["exit_code"] == 0, d)
    d = p.exec(sb, command="echo still").json()
    check(d["stdout"] == "still\n" and d["path"] == "supervisor", d)
    check(record(p, d)["path"] == "supervisor")
    # its memory is not readable (non-dumpable)
    d = p.exec(sb, command="cat /proc/1/environ >/dev/null 2>&1 || echo denied").json()
    check(d["stdout"] == "denied\n", d)
    # dialling the engine's socket is refused; the socket's directory is
    # read-only
    code = ("import socket, struct\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "s.connect('/run/petri/sock')\n"
            "s.settimeout(5)\n"
            "try:\n"
            "    s.sendall(bytes([1, 1, 0, 0]) + struct.pack('>III', 8, 1, 1))\n"
            "    print('closed' if s.recv(64) == b'' else 'answered')\n"
            "except (ConnectionResetError, BrokenPipeError):\n"
            "    print('closed')\n"
            "try:\n"
            "    open('/run/petri/x', 'w')\n"
            "except OSError as e:\n"
            "    print('ro', e.errno)\n")
    d = p.exec(sb, code=code).json()
    check(d["stdout"].startswith("closed\nro "), d)
    check("refused a connection to the supervisor socket of " + sb["id"] in p.logtext(),
          "refusal not logged")
    d = p.exec(sb, command="echo after").json()
    check(d["stdout"] == "after\n" and d["path"] == "supervisor", d)
    p.delete(sb)


def test_supervisor_fallback_and_restart_own():
    """A sandbox made before the upgrade (no supervisor) keeps docker exec;
    supervisors reconnect to a restarted engine."""
    p = harness.Petri(config={"supervisor": False}).start()
    cfg_path = p.config_path
    try:
        old = p.sandbox("python")
        d = p.exec(old, command="echo old").json()
        check(d["path"] == "docker_exec" and d["stdout"] == "old\n", d)
        check(record(p, d)["path"] == "docker_exec")
        p.stop()
        with open(cfg_path) as f:
            cfg = json.load(f)
        cfg["supervisor"] = True
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        p.start()
        d = p.exec(old, command="echo still-old").json()
        check(d["path"] == "docker_exec" and d["stdout"] == "still-old\n", d)
        new = p.sandbox("python")
        check(p.exec(new, command="true").json()["path"] == "supervisor")
        p.exec(new, command="echo kept > f")
        # the engine restarts; the sandbox's supervisor dials the new one
        p.restart()
        d = p.exec(new, command="cat f").json()
        check(d["stdout"] == "kept\n" and d["path"] == "supervisor", d)
        check(p.exec(old, command="true").json()["exit_code"] == 0)
        p.delete(new)
        p.delete(old)
    finally:
        p.cleanup()


def test_supervisor_gvisor(p):
    _, info = harness.docker("GET", "/info")
    check("runsc" in info.get("Runtimes", {}), "gVisor (runsc) is not registered with Docker")
    sb = p.sandbox("python", runtime="runsc")
    d = p.exec(sb, command="echo g; exit 3").json()
    # documented: gVisor sandboxes take docker exec (no host UDS inside)
    check(d["stdout"] == "g\n" and d["exit_code"] == 3 and d["path"] == "docker_exec", d)
    p.delete(sb)


def test_supervisor_recover(p):
    sb = p.sandbox("python")
    p.exec(sb, command="echo kept > w")
    r = p.exec(sb, command="for i in 1 2 3 4 5; do sleep 1000 & done; wait",
               background=True)
    check(r.status == 202, r)
    for _ in range(100):
        if procs(p, sb).count("sleep") == 5:
            break
        time.sleep(0.05)
    check(procs(p, sb).count("sleep") == 5, procs(p, sb))
    r = p.request("POST", "/v1/sandboxes/%s/recover" % sb["id"], {})
    check(r.status == 200 and r.json()["killed"] >= 6 and
          r.json()["method"] == "supervisor", r)
    check("sleep" not in procs(p, sb), procs(p, sb))
    d = p.exec(sb, command="cat w").json()
    check(d["stdout"] == "kept\n" and d["path"] == "supervisor", d)
    check(p.request("POST", "/v1/sandboxes/%s/recover" % sb["id"], {"x": 1}).status == 422)
    p.delete(sb)


# a program that takes every process slot and keeps taking freed ones
BOMB = ("import os, time\n"
        "while True:\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(1000)\n"
        "            os._exit(0)\n"
        "    except OSError:\n"
        "        time.sleep(0.005)\n")


def test_supervisor_exhausted(p):
    sb = p.sandbox("python", limits={"pids": 40})
    r = p.exec(sb, argv=["python3", "-c", BOMB], background=True)
    check(r.status == 202, r)
    for _ in range(100):
        r = p.exec(sb, command="true")
        if r.status == 409:
            break
        time.sleep(0.1)
    d = r.json()
    check(r.status == 409 and d["error"]["code"] == "sandbox_exhausted", d)
    check("pids limit (40 processes)" in d["error"]["message"] and
          "OCI" not in d["error"]["message"], d)
    r = p.request("POST", "/v1/sandboxes/%s/recover" % sb["id"], {})
    check(r.status == 200 and r.json()["killed"] >= 30, r)
    d = p.exec(sb, command="echo back").json()
    check(d["stdout"] == "back\n" and d["path"] == "supervisor", d)
    recs = p.request("GET", "/v1/audit/records?from=0&limit=1000").json()["records"]
    check(any(json.loads(x["record"])["type"] == "sandbox.recovered" for x in recs), "no record")
    p.delete(sb)


def test_docker_exec_exhausted_recover_own():
    """Without a supervisor: the same answer, and recover restarts the
    container."""
    p = harness.Petri(config={"supervisor": False}).start()
    try:
        sb = p.sandbox("python", limits={"pids": 40})
        p.exec(sb, command="echo kept > w")
        r = p.exec(sb, argv=["python3", "-c", BOMB], background=True)
        check(r.status == 202, r)
        for _ in range(100):
            r = p.exec(sb, command="true")
            if r.status == 409:
                break
            time.sleep(0.1)
        d = r.json()
        check(r.status == 409 and d["error"]["code"] == "sandbox_exhausted", d)
        check("pids limit (40 processes)" in d["error"]["message"], d)
        r = p.request("POST", "/v1/sandboxes/%s/recover" % sb["id"], {})
        check(r.status == 200 and r.json()["method"] == "restart", r)
        d = p.exec(sb, command="cat w").json()
        check(d["stdout"] == "kept\n" and d["path"] == "docker_exec", d)
        # a program that prints the same text is still a program
        d = p.exec(sb, command="echo 'petri: cannot start (fork: x)' >&2; exit 3").json()
        check(d["exit_code"] == 3 and "cannot start" in d["stderr"], d)
        p.delete(sb)
    finally:
        p.cleanup()
