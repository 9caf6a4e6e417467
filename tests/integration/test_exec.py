"""Executions: the four request forms, stdin, env, cwd, exit status,
Server-Sent Events, background executions, fresh containers."""
import json
import time

from harness import check


def test_forms(p):
    sb = p.sandbox("python", env={"SB_VAR": "from-sandbox"})
    r = p.exec(sb, command="echo $SB_VAR $REQ; echo err >&2; exit 7", env={"REQ": "req"})
    d = r.json()
    check(r.status == 200 and d["exit_code"] == 7 and d["signal"] is None, d)
    check(d["stdout"] == "from-sandbox req\n" and d["stderr"] == "err\n", d)
    check("from-sandbox req" in d["output"] and "err" in d["output"], d)
    for k in ("id", "timed_out", "oom_killed", "truncated", "duration_ms", "audit"):
        check(k in d, "answer lacks " + k)
    check(d["audit"]["href"] == "/v1/audit/records/%d" % d["audit"]["seq"], d)
    d = p.exec(sb, argv=["python3", "-c", "import sys; print(sys.argv[1:])", "a b", "$HOME"]).json()
    check(d["stdout"] == "['a b', '$HOME']\n", d)
    d = p.exec(sb, code="print(6 * 7)").json()
    check(d["stdout"] == "42\n" and d["exit_code"] == 0, d)
    d = p.exec(sb, code="import sys; print(sys.stdin.read().upper())", stdin="quiet").json()
    check(d["stdout"] == "QUIET\n", d)
    d = p.exec(sb, command="pwd", cwd="/sandbox/sub").json()
    check(d["exit_code"] != 0, d)  # sub does not exist yet
    p.exec(sb, command="mkdir -p sub")
    d = p.exec(sb, command="pwd", cwd="sub").json()
    check(d["stdout"] == "/sandbox/sub\n", d)
    check(p.exec(sb, command="true", cwd="/etc").status == 422)
    check(p.exec(sb, command="true", argv=["true"]).status == 422)
    check(p.exec(sb).status == 422)
    check(p.exec(sb, command="true", timeout_ms=0).status == 422)
    check(p.exec(sb, command="true", unknown=1).status == 422)
    d = p.exec(sb, command="kill -TERM $$").json()
    check(d["exit_code"] == 143 and d["signal"] == "SIGTERM", d)
    d = p.exec(sb, command="printf '\\377\\376ok'").json()
    check(d["stdout"].endswith("ok") and "\ufffd" in d["stdout"], d)
    lst = p.request("GET", "/v1/sandboxes/%s/execs" % sb["id"]).json()["execs"]
    check(len(lst) >= 8 and "stdout" not in lst[0], len(lst))
    got = p.request("GET", "/v1/execs/" + lst[0]["id"]).json()
    check(got["id"] == lst[0]["id"] and "stdout" in got, got)
    p.delete(sb)


def test_sse(p):
    sb = p.sandbox("python")
    st, evs = p.sse("/v1/sandboxes/%s/exec" % sb["id"],
                    {"command": "echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three; exit 4"})
    check(st == 200, st)
    kinds = [e for e, _ in evs]
    check(kinds[-1] == "exit", kinds)
    out = "".join(d for e, d in evs if e == "stdout")
    err = "".join(d for e, d in evs if e == "stderr")
    check(out == "one\nthree\n" and err == "two\n", evs)
    ex = evs[-1][1]
    check(ex["exit_code"] == 4 and "stdout" not in ex and "audit" in ex, ex)
    p.delete(sb)


def test_background_stdin_at_once(p):
    """Stdin sent the moment a background execution is answered reaches the
    program: the api answers 202 before the engine's job thread runs, so
    the engine enters the execution in its table on the reader thread
    (stdin used to be dropped when it came first)."""
    sb = p.sandbox("python")
    for i in range(20):
        r = p.exec(sb, command="read l; echo got:$l", background=True)
        check(r.status == 202, r)
        eid = r.json()["id"]
        r = p.request("POST", "/v1/execs/%s/stdin" % eid, {"data": "x%d\n" % i, "eof": True})
        check(r.status == 202, r)
        for _ in range(200):
            d = p.request("GET", "/v1/execs/" + eid).json()
            if d["status"] == "finished":
                break
            time.sleep(0.025)
        check(d["status"] == "finished" and d["stdout"] == "got:x%d\n" % i, (i, d))


def test_background(p):
    sb = p.sandbox("python")
    r = p.exec(sb, command="read line; echo got:$line; sleep 30", background=True)
    check(r.status == 202, r)
    eid = r.json()["id"]
    d = p.request("GET", "/v1/execs/" + eid).json()
    check(d["status"] == "running", d)
    r = p.request("POST", "/v1/execs/%s/stdin" % eid, {"data": "hello\n"})
    check(r.status == 202, r)
    for _ in range(100):
        d = p.request("GET", "/v1/execs/" + eid).json()
        if "got:hello" in d["stdout"]:
            break
        time.sleep(0.05)
    check(d["stdout"] == "got:hello\n", d)
    check(p.request("POST", "/v1/execs/%s/kill" % eid, {}).status == 202)
    for _ in range(200):
        d = p.request("GET", "/v1/execs/" + eid).json()
        if d["status"] == "finished":
            break
        time.sleep(0.05)
    check(d["status"] == "finished" and d["signal"] == "SIGKILL", d)
    st, evs = p.sse("/v1/execs/%s/stream" % eid, None)
    check(st == 200 and evs[-1][0] == "exit" and evs[0] == ("stdout", "got:hello\n"), evs)
    check(p.request("POST", "/v1/execs/%s/kill" % eid, {}).status == 409)
    # follow a live one
    eid = p.exec(sb, command="for i in 1 2 3; do echo $i; sleep 0.2; done", background=True).json()["id"]
    st, evs = p.sse("/v1/execs/%s/stream" % eid, None)
    check("".join(d for e, d in evs if e == "stdout") == "1\n2\n3\n", evs)
    p.delete(sb)


def test_fresh(p):
    sb = p.sandbox("python")
    p.exec(sb, command="echo kept > /sandbox/f; echo gone > /tmp/t")
    d = p.exec(sb, command="cat /sandbox/f; cat /tmp/t; echo $$", fresh=True).json()
    check(d["stdout"].startswith("kept\n") and d["exit_code"] == 0, d)
    check("gone" not in d["stdout"], d)
    d = p.exec(sb, command="sleep 20", fresh=True, timeout_ms=1000).json()
    check(d["timed_out"] is True, d)
    d = p.exec(sb, command="cat", fresh=True, stdin="piped").json()
    check(d["stdout"] == "piped", d)
    p.delete(sb)
