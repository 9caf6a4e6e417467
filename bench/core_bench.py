"""Core benchmarks (issue: Petri core), side by side in one run, alternating:

  (a) exec of `python3 -c 'print(1)'` in a warm sandbox through the API
      vs `docker exec` of the same in a running container of the same image
      -> median ratio, target <= 0.7
  (b) create sandbox + first exec through the API
      vs `docker run --rm` of the same image and command
      -> median ratio, target <= 1.0
  (c) N create+exec at once: all must succeed; p50/p99 reported

Usage: python3 bench/core_bench.py [--runs N] [--burst N]
Prints one JSON document of figures.  Only loopback and local Docker are
used.
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

IMAGE = "petri/python:current"
CMD = ["python3", "-c", "print(1)"]


def docker_cli():
    for c in ("/usr/bin/docker", "/usr/local/bin/docker"):
        if os.access(c, os.X_OK):
            return c
    raise SystemExit("no docker CLI for the baseline")


def pct(xs, q):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(q / 100.0 * (len(xs) - 1)))))
    return xs[k]


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--burst", type=int, default=100)
    args = ap.parse_args()
    cli = docker_cli()
    # the appliance's default warm pool (the harness turns it off for tests)
    p = harness.Petri(config={"pool": {"python": 2}}).start()
    name = "petri-bench-%d" % os.getpid()
    out = {"runs": args.runs}
    try:
        # a running container of the same image for the docker exec baseline
        subprocess.run([cli, "run", "-d", "--name", name, "--network", "none", "--user",
                        "61000:61000", IMAGE, "sleep", "infinity"], check=True,
                       stdout=subprocess.DEVNULL)
        sb = p.sandbox("python")

        def api_exec():
            r = p.exec(sb, argv=CMD)
            assert r.status == 200 and r.json()["stdout"] == "1\n", r

        def cli_exec():
            r = subprocess.run([cli, "exec", name] + CMD, capture_output=True)
            assert r.stdout == b"1\n", r

        api_exec()
        cli_exec()
        a_api, a_cli = [], []
        for i in range(args.runs):
            a_api.append(timed(api_exec))
            a_cli.append(timed(cli_exec))
        out["a_exec_warm"] = {"api_median_ms": statistics.median(a_api),
                              "docker_exec_median_ms": statistics.median(a_cli),
                              "ratio": statistics.median(a_api) / statistics.median(a_cli),
                              "target": 0.7}

        def api_create_exec():
            s = p.sandbox("python")
            r = p.exec(s, argv=CMD)
            assert r.status == 200 and r.json()["stdout"] == "1\n", r
            created.append(s)

        def cli_run():
            r = subprocess.run([cli, "run", "--rm", "--network", "none", "--user", "61000:61000",
                                IMAGE] + CMD, capture_output=True)
            assert r.stdout == b"1\n", r

        created = []
        b_api, b_cli = [], []
        for i in range(max(10, args.runs // 2)):
            b_api.append(timed(api_create_exec))
            b_cli.append(timed(cli_run))
        for s in created:
            p.delete(s)
        out["b_create_first_exec"] = {"api_median_ms": statistics.median(b_api),
                                      "docker_run_rm_median_ms": statistics.median(b_cli),
                                      "ratio": statistics.median(b_api) / statistics.median(b_cli),
                                      "target": 1.0}

        # (c) a burst of create+exec at once
        lat = [None] * args.burst
        errs = []
        made = [None] * args.burst

        def one(i):
            t0 = time.perf_counter()
            try:
                s = p.sandbox("python")
                made[i] = s
                r = p.exec(s, argv=CMD, timeout_ms=120000)
                assert r.status == 200 and r.json()["stdout"] == "1\n", r
                lat[i] = (time.perf_counter() - t0) * 1000.0
            except Exception as e:  # noqa: BLE001
                errs.append(repr(e)[:200])

        t0 = time.perf_counter()
        ts = [threading.Thread(target=one, args=(i,)) for i in range(args.burst)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(600)
        wall = time.perf_counter() - t0
        ok = [x for x in lat if x is not None]
        out["c_burst"] = {"n": args.burst, "succeeded": len(ok), "errors": errs[:5],
                          "p50_ms": pct(ok, 50) if ok else None,
                          "p99_ms": pct(ok, 99) if ok else None, "wall_s": wall}
        for s in made:
            if s:
                p.delete(s)
        p.delete(sb)
    finally:
        subprocess.run([cli, "rm", "-f", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        p.cleanup()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
