"""Preview gateway benchmark (issue 12), side by side in one run.

A Node app answering "ok" runs in a sandbox behind a preview.  The same
client then sends keep-alive GETs (a) straight to the container's address
on the sandbox bridge and (b) through the gateway on loopback, in
alternating blocks, and reports for each:

  - p50 / p99 latency of one request at a time on one connection
  - requests/s with C connections at once (client processes, not threads)

and the gateway's added p50 (b - a).  Usage:
  python3 bench/preview_bench.py [--requests N] [--conns C] [--seconds S]
Prints one JSON document.  Traffic goes to loopback and the project's own
container only.
"""
import argparse
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "tests", "integration"))
import harness  # noqa: E402

APP = b"""
require('http').createServer((q, s) => {
  s.writeHead(200, {'Content-Type': 'text/plain', 'Content-Length': 2});
  s.end('ok');
}).listen(3000);
"""


def one(sock, req):
    sock.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        x = sock.recv(65536)
        if not x:
            raise EOFError("closed")
        buf += x
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        rest += sock.recv(65536)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head[:80])


def latencies(addr, req, n):
    s = socket.create_connection(addr, timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        one(s, req)
        out.append((time.perf_counter() - t) * 1e6)
    s.close()
    return out


def _worker(addr, req, seconds, q):
    s = socket.create_connection(addr, timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    n, end = 0, time.time() + seconds
    while time.time() < end:
        one(s, req)
        n += 1
    s.close()
    q.put(n)


def throughput(addr, req, conns, seconds):
    q = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=_worker, args=(addr, req, seconds, q))
          for _ in range(conns)]
    for p in ps:
        p.start()
    total = sum(q.get() for _ in ps)
    for p in ps:
        p.join()
    return total / seconds


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()
    p = harness.Petri().start()
    try:
        sb = p.sandbox("node")
        p.upload(sb, [("server.js", APP)])
        r = p.request("POST", "/v1/sandboxes/%s/serve" % sb["id"],
                      {"command": "node server.js", "port": 3000}, timeout=300)
        assert r.status == 201, r
        d = r.json()
        host = d["url"].split("//", 1)[1].rstrip("/")
        # the one container on this instance's own network (no warm pool)
        st, net = harness.docker("GET", "/networks/%s" % p.net)
        addrs = [c["IPv4Address"].split("/")[0] for c in (net.get("Containers") or {}).values()]
        assert st == 200 and len(addrs) == 1, (st, addrs)
        ip = addrs[0]
        direct = ((ip, 3000), b"GET / HTTP/1.1\r\nHost: %s:3000\r\n\r\n" % ip.encode())
        gw = (("127.0.0.1", p.preview_port), b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
        lat = {"direct": [], "gateway": []}
        for name, (addr, req) in (("direct", direct), ("gateway", gw)):
            latencies(addr, req, 200)  # warm up
        block = 500
        for _ in range(max(1, a.requests // block)):
            for name, (addr, req) in (("direct", direct), ("gateway", gw)):
                lat[name] += latencies(addr, req, block)
        rps = {"direct": [], "gateway": []}
        for _ in range(2):
            for name, (addr, req) in (("direct", direct), ("gateway", gw)):
                rps[name].append(throughput(addr, req, a.conns, a.seconds))
        res = {"bench": "preview", "requests_per_path": len(lat["direct"]),
               "conns": a.conns, "seconds": a.seconds, "load_avg": os.getloadavg(),
               "cpus": os.cpu_count()}
        for name in lat:
            res[name] = {"p50_us": round(statistics.median(lat[name]), 1),
                         "p99_us": round(pct(lat[name], 0.99), 1),
                         "rps": round(statistics.median(rps[name]), 0)}
        res["added_p50_us"] = round(res["gateway"]["p50_us"] - res["direct"]["p50_us"], 1)
        res["rps_ratio"] = round(res["gateway"]["rps"] / res["direct"]["rps"], 3)
        print(json.dumps(res, indent=1))
        p.delete(sb)
    finally:
        p.stop()
        p.cleanup()


if __name__ == "__main__":
    main()
