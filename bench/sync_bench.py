"""Delta sync benchmark (issue 11): a project of N files (default 1,000,
about 4 KiB of text each) in a sandbox; then one file changes.  Side by
side, alternating, each run in a fresh sandbox:

  (a) full upload: `petri upload SB DIR` (the whole tree as one tar.gz)
  (b) first `petri sync DIR SB` (the manifest, then every file)
  (c) `petri sync DIR SB` after one file changed (the manifest, then one)

Bytes sent: for (b) and (c) as the CLI counts them (request bodies: the
manifest JSON and the archive); for (a) the size of the same tree as a
tar.gz built here with Python's tarfile (what `petri upload` sends is
that archive, give or take libarchive's headers).  Time: wall clock of
the CLI process, median of the runs.

Usage: python3 bench/sync_bench.py [--files N] [--runs N]
Prints one JSON document of figures.  Only loopback and local Docker are
used.
"""
import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "integration"))
import harness  # noqa: E402


def make_project(root, n):
    rnd = random.Random(11)
    words = ["alpha", "beta", "gamma", "delta", "sandbox", "audit", "merkle", "proxy"]
    paths = []
    for i in range(n):
        d = os.path.join(root, "pkg%02d" % (i % 40), "sub%d" % (i % 3))
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "mod%04d.py" % i)
        lines = ["%s_%d = %r\n" % (rnd.choice(words), j, rnd.random()) for j in range(120)]
        with open(p, "w") as f:
            f.writelines(lines)
        paths.append(p)
    return paths


def targz_size(root):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz") as t:
        t.add(root, arcname=".")
    return len(b.getvalue())


def tree_size(root):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)


def cli(p, *args):
    env = dict(os.environ, PETRI_URL="http://127.0.0.1:%d" % p.port, PETRI_API_KEY=p.token)
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(harness.BUILD, "petri")] + list(args), env=env,
                       capture_output=True, timeout=600)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit("petri %s: %s" % (" ".join(args), r.stderr.decode()))
    return dt, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    p = harness.Petri()
    p.start()
    out = {"files": a.files, "runs": a.runs}
    full_t, first_t, delta_t, first_sent, delta_sent = [], [], [], [], []
    try:
        with tempfile.TemporaryDirectory() as d:
            paths = make_project(d, a.files)
            out["project_bytes"] = tree_size(d)
            out["full_upload_bytes_targz"] = targz_size(d)
            for run in range(a.runs):
                sb = p.sandbox("python")
                t, _ = cli(p, "upload", sb["id"], d)
                full_t.append(t)
                p.delete(sb)
                sb = p.sandbox("python")
                t, so = cli(p, "sync", d, sb["id"])
                first_t.append(t)
                first_sent.append(json.loads(so)["sent"])
                with open(paths[run % len(paths)], "a") as f:
                    f.write("changed = %d\n" % run)
                t, so = cli(p, "sync", d, sb["id"])
                res = json.loads(so)
                if res["uploaded"] != 1 or res["unchanged"] != a.files - 1:
                    raise SystemExit("unexpected delta: %r" % res)
                delta_t.append(t)
                delta_sent.append(res["sent"])
                p.delete(sb)
    finally:
        p.cleanup()
    med = statistics.median
    out.update({
        "full_upload_s": round(med(full_t), 3),
        "first_sync_s": round(med(first_t), 3),
        "first_sync_sent_bytes": int(med(first_sent)),
        "delta_sync_s": round(med(delta_t), 3),
        "delta_sync_sent_bytes": int(med(delta_sent)),
        "delta_vs_full_bytes": round(med(delta_sent) / out["full_upload_bytes_targz"], 4),
        "delta_vs_full_time": round(med(delta_t) / med(full_t), 3),
        "loadavg": os.getloadavg(),
    })
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
