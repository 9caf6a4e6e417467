"""Supervisor benchmarks (issue 10), side by side in one run, alternating,
medians:

  (a) warm exec of `true` through the API vs `docker exec CONTAINER true`
      (the CLI) on the same container            -> target <= 0.15
  (b) the same with `python3 -c 'print(1)'`       -> target <= 0.35
  (c) time to first command: create from the warm pool + first `node -v`
      vs `docker run --rm petri/node:current node -v`
                                                   -> target <= 0.25, < 60 ms
  (d) N sandboxes created and exec'd at once (pool sized N by config):
      all must succeed; wall time vs N x `docker run --rm` at the same
      parallelism

Usage: python3 bench/supervisor_bench.py [--runs N] [--burst N]
Prints one JSON document of figures, with the load average.  Only loopback
and local Docker are used.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "integration"))
import harness  # noqa: E402


def docker_cli():
    for c in ("/usr/bin/docker", "/usr/local/bin/docker"):
        if os.access(c, os.X_OK):
            return c
    raise SystemExit("no docker CLI for the baseline")


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def container_of(sb):
    st, lst = harness.docker("GET", "/containers/json?filters=" +
                             json.dumps({"label": ["petri.sandbox=" + sb["id"]]}).replace(" ", ""))
    assert st == 200 and lst, (st, lst)
    return lst[0]["Id"]


def side_by_side(runs, api_fn, cli_fn):
    a, c = [], []
    for _ in range(runs):
        a.append(timed(api_fn))
        c.append(timed(cli_fn))
    ma, mc = statistics.median(a), statistics.median(c)
    return {"api_ms": round(ma, 2), "cli_ms": round(mc, 2), "ratio": round(ma / mc, 3)}


def warm(p):
    m = p.request("GET", "/metrics")
    for line in m.body.decode().splitlines():
        if line.startswith("petri_sandboxes_warm "):
            return int(line.split()[1])
    return 0


def burst(n, fn):
    ok = [False] * n
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        ok[i] = fn(i)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return (time.perf_counter() - t0) * 1000.0, sum(ok)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--only-burst", action="store_true")
    args = ap.parse_args()
    cli = docker_cli()
    out = {"runs": args.runs, "loadavg_start": os.getloadavg()}
    p = harness.Petri(config={"pool": {"node": args.runs + 2}}).start() \
        if not args.only_burst else None
    try:
        if p is None:
            raise StopIteration
        sb = p.sandbox("python")
        cid = container_of(sb)

        def api(cmd):
            def f():
                d = p.exec(sb, argv=cmd).json()
                assert d["exit_code"] == 0 and d["path"] == "supervisor", d
            return f

        def dex(cmd):
            return lambda: subprocess.run([cli, "exec", cid] + cmd, check=True,
                                          stdout=subprocess.DEVNULL)

        api(["true"])()
        out["exec_true"] = side_by_side(args.runs, api(["true"]), dex(["true"]))
        py = ["python3", "-c", "print(1)"]
        out["exec_python"] = side_by_side(args.runs, api(py), dex(py))
        p.delete(sb)
        # the pool fills in the background: wait for it
        time.sleep(1)
        deadline = time.time() + 120
        while time.time() < deadline and warm(p) < args.runs + 2:
            time.sleep(0.5)
        made = []

        def first():
            s = p.sandbox("node")
            made.append(s)
            d = p.exec(s, argv=["node", "-v"]).json()
            assert d["exit_code"] == 0 and d["stdout"].startswith("v"), d

        def run_rm():
            subprocess.run([cli, "run", "--rm", "petri/node:current", "node", "-v"],
                           check=True, stdout=subprocess.DEVNULL)

        out["first_command"] = side_by_side(args.runs, first, run_rm)
        out["first_command"]["paths"] = sorted(
            {p.exec(s, command="true").json()["path"] for s in made[:3]})
        for s in made:
            p.delete(s)
    except StopIteration:
        pass
    finally:
        if p is not None:
            p.cleanup()
    if args.burst > 0:
        n = args.burst
        p = harness.Petri(config={"pool": {"python": n}}).start()
        try:
            deadline = time.time() + 600
            while time.time() < deadline and warm(p) < n:
                time.sleep(1)
            out["burst_pool_ready"] = warm(p)
            made = [None] * n

            def one(i):
                r = p.request("POST", "/v1/sandboxes", {"language": "python"})
                if r.status != 201:
                    return False
                made[i] = r.json()
                d = p.exec(made[i], argv=["python3", "-c", "print(1)"]).json()
                return d.get("exit_code") == 0 and d.get("stdout") == "1\n"

            out["burst_load_before"] = os.getloadavg()
            ms, ok = burst(n, one)
            out["burst"] = {"n": n, "ok": ok, "api_wall_ms": round(ms)}
            for s in made:
                if s is not None:
                    p.delete(s)
        finally:
            p.cleanup()

        def run_one(i):
            r = subprocess.run([cli, "run", "--rm", "--network", "none", "petri/python:current",
                                "python3", "-c", "print(1)"], stdout=subprocess.PIPE)
            return r.returncode == 0 and r.stdout == b"1\n"

        ms, ok = burst(n, run_one)
        out["burst"]["docker_run_wall_ms"] = round(ms)
        out["burst"]["docker_run_ok"] = ok
        out["burst"]["ratio"] = round(out["burst"]["api_wall_ms"] / ms, 3)
    out["loadavg_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
