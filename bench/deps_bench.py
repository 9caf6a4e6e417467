"""Dependency benchmarks (issue 5), side by side in one run:

  (a) the first execution of a project with a requirements.txt (install
      step through the proxy to a local PEP 503 index) and the second one
      (nothing to install), against an execution of a program without
      dependencies in another sandbox -> median ratio second/no-deps,
      target ~1.0
  (b) an install of 200 packages and the SBOM of that tree: the step's
      time, the SBOM's component count, and sbom_build() alone (C) over a
      report of 200 components (build/bench/sbom_bench)

Usage: python3 bench/deps_bench.py [--runs N] [--packages N]
Prints one JSON document of figures.  Only loopback and local Docker are
used: the registry is on 127.0.0.1, named through the appliance's
resolve map.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
import registries  # noqa: E402
import upstream  # noqa: E402


def timed(p, sb, **body):
    t = time.monotonic()
    r = p.exec(sb, **body)
    ms = (time.monotonic() - t) * 1000
    if r.status != 200 or r.json().get("exit_code") != 0:
        raise SystemExit("exec failed: %r" % r)
    return ms, r.json()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--packages", type=int, default=200)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="petri-depsbench-")
    os.chmod(d, 0o755)
    upstream.make_pki(d)
    reg = registries.Registry(d)
    reg.add_wheel("petri-util", "1.2.0", {"petri_util": "VALUE = 1\n"}, license="MIT")
    reg.add_wheel("petri-greet", "1.0.0", {"petri_greet": "import petri_util\n"},
                  requires=["petri-util>=1.0"], license="Apache-2.0")
    names = []
    for i in range(args.packages):
        n = "petri-pkg-%03d" % i
        names.append(n)
        reg.add_wheel(n, "1.0.%d" % i, {n.replace("-", "_"): "X = %d\n" % i},
                      license=["MIT", "Apache-2.0", "BSD-3-Clause", "ISC"][i % 4])
    cfg = {"egress": {"resolve": {n: "127.0.0.1" for n in upstream.NAMES},
                      "allow_addresses": ["127.0.0.1"],
                      "upstream_ca_file": os.path.join(d, "ca.pem"),
                      "system_resolver": False},
           "registries": {"pypi": reg.pypi_url}}
    p = harness.Petri(config=cfg).start()
    out = {"bench": "deps", "runs": args.runs}
    try:
        p.request("PUT", "/v1/policies/regs",
                  {"default": "deny", "allow": [], "registries": ["pypi"]})
        a = p.sandbox(policy="regs")
        b = p.sandbox(policy="regs")
        p.request("PUT", "/v1/sandboxes/%s/files/requirements.txt" % a["id"],
                  raw=b"petri-greet==1.0.0\n")
        p.request("PUT", "/v1/sandboxes/%s/files/app.py" % a["id"],
                  raw=b"import petri_greet\nprint(1)\n")
        p.request("PUT", "/v1/sandboxes/%s/files/app.py" % b["id"],
                  raw=b"import json\nprint(1)\n")
        first, j = timed(p, a, filename="app.py")
        assert j["install"]["ran"], j
        timed(p, b, filename="app.py")       # b's detection, once
        second, nodeps = [], []
        for _ in range(args.runs):           # alternating, side by side
            ms, j = timed(p, a, filename="app.py")
            assert "install" not in j, j
            second.append(ms)
            ms, j = timed(p, b, filename="app.py")
            nodeps.append(ms)
        out["first_with_install_ms"] = round(first, 1)
        out["second_ms_p50"] = round(statistics.median(second), 1)
        out["no_deps_ms_p50"] = round(statistics.median(nodeps), 1)
        out["ratio_second_vs_no_deps"] = round(statistics.median(second) /
                                               statistics.median(nodeps), 3)
        # (b) 200 packages
        c = p.sandbox(policy="regs", limits={"timeout_ms": 600000})
        p.request("PUT", "/v1/sandboxes/%s/files/requirements.txt" % c["id"],
                  raw=("\n".join(names) + "\n").encode())
        ms, j = timed(p, c, command="true")
        out["install_%d_ms" % args.packages] = round(ms, 1)
        out["install_%d_step_ms" % args.packages] = j["install"]["duration_ms"]
        out["sbom_%d_components" % args.packages] = j["sbom"]["components"]
    finally:
        p.cleanup()
        reg.stop()
        subprocess.run(["rm", "-rf", d])
    sb = os.path.join(HERE, "..", os.environ.get("BUILD", "build"), "bench", "sbom_bench")
    if os.access(sb, os.X_OK):
        r = subprocess.run([sb, str(args.packages)], capture_output=True, text=True)
        if r.returncode == 0:
            out["sbom_build_c"] = json.loads(r.stdout)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
