"""Serve mode: apps in sandboxes reached through the preview gateway
(docs/api.md "Previews").  The gateway listens on loopback; requests name
the preview by Host "<token>.localhost:<port>" sent to 127.0.0.1."""
import base64
import http.client
import json
import os
import socket
import struct
import subprocess
import tempfile
import time

from harness import Petri, ROOT, check, docker, drop_bridge_rules, free_port

DATA = os.path.join(ROOT, "tests", "data", "serve")


def _file(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def serve(p, sb, token="admin", **body):
    return p.request("POST", "/v1/sandboxes/%s/serve" % sb["id"], body, token=token,
                     timeout=300)


def host_of(url):
    return url.split("//", 1)[1].split("/", 1)[0]


def get(p, host, path="/", headers=None, method="GET", body=None, timeout=15):
    c = http.client.HTTPConnection("127.0.0.1", p.preview_port, timeout=timeout)
    h = {"Host": host}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


def records(p, kind):
    out, frm = [], 0
    while True:
        r = p.request("GET", "/v1/audit/records?from=%d&limit=1000" % frm)
        check(r.status == 200, r)
        recs = r.json()["records"]
        out += [json.loads(x["record"]) for x in recs]
        if len(recs) < 1000:
            break
        frm += 1000
    return [x for x in out if x["type"] == kind]


def wait_for(fn, secs=20, step=0.25):
    deadline = time.time() + secs
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def echo_preview(p, sb, port=8100, **kw):
    p.upload(sb, [("echo_app.py", _file("echo_app.py"))])
    r = serve(p, sb, command="python3 echo_app.py %d" % port, port=port, **kw)
    check(r.status == 201, r)
    return r.json()


PAGE = (b"<!doctype html><html><head><title>petri preview</title>"
        b"<link rel=stylesheet href=\"/static/site.css\"></head><body>"
        b"<h1 id=\"title\">hello from the sandbox</h1>"
        b"<script src=\"/static/app.js\"></script></body></html>")


def test_serve_python_http_server(p):
    sb = p.sandbox("python")
    p.upload(sb, [("index.html", PAGE), ("static/site.css", b"h1 { color: green; }\n"),
                  ("static/app.js", b"document.getElementById('title').dataset.js = 'ran';\n")])
    r = serve(p, sb, command="python3 -m http.server 8000", port=8000)
    check(r.status == 201, r)
    d = r.json()
    check(d["id"].startswith("pv_") and d["port"] == 8000 and d["exec"].startswith("ex_"), d)
    check(d["url"].startswith("http://") and d["url"].endswith(".localhost:%d/" % p.preview_port), d)
    token = host_of(d["url"]).split(".")[0]
    check(len(token) == 40 and int(token, 16) >= 0, "a 160-bit hex token")
    st, hdrs, body = get(p, host_of(d["url"]))
    check(st == 200 and body == PAGE, (st, body[:200]))
    st, hdrs, body = get(p, host_of(d["url"]), "/static/site.css")
    check(st == 200 and b"color: green" in body, (st, body))
    # the preview's record, its listing, and no token anywhere but the URL
    g = p.request("GET", "/v1/previews/%s" % d["id"])
    check(g.status == 200 and g.json()["status"] == "open" and "url" not in g.json(), g)
    lst = p.request("GET", "/v1/sandboxes/%s/previews" % sb["id"]).json()["previews"]
    check([x["id"] for x in lst] == [d["id"]], lst)
    opened = [x for x in records(p, "preview.opened") if x["preview"] == d["id"]]
    check(len(opened) == 1 and opened[0]["port"] == 8000 and
          opened[0]["command"] == "python3 -m http.server 8000" and
          opened[0]["sandbox"] == sb["id"] and opened[0]["expires_at"] == d["expires_at"], opened)
    check(token not in json.dumps(records(p, "preview.opened")), "token in a record")
    # per-request metadata: summarised per interval, query values dropped
    before = p.request("GET", "/v1/sandboxes/%s" % sb["id"]).json()["expires_at"]
    time.sleep(1.1)
    get(p, host_of(d["url"]), "/?user=alice&secret=hunter2")
    def summaries():
        summ = [x for x in records(p, "preview.requests") if x["preview"] == d["id"]]
        # one summary per interval: the request may be in a later one
        if any(q["path"].startswith("/?") for x in summ for q in x["requests"]):
            return summ
        return None
    summ = wait_for(summaries) or []
    reqs = [q for s in summ for q in s["requests"]]
    check(any(q["path"] == "/?user&secret" and q["status"] == 200 and q["method"] == "GET" and
              q["src"] == "127.0.0.1" for q in reqs), reqs)
    check("hunter2" not in json.dumps(summ) and "alice" not in json.dumps(summ), "query values kept")
    # looking at the app is activity of its sandbox
    check(wait_for(lambda: p.request("GET", "/v1/sandboxes/%s" % sb["id"]).json()["expires_at"]
                   > before, secs=5), "preview traffic did not touch the sandbox")
    p.delete(sb)
    closed = wait_for(lambda: [x for x in records(p, "preview.closed") if x["preview"] == d["id"]])
    check(closed and closed[0]["reason"] == "sandbox_removed", closed)
    check(get(p, host_of(d["url"]))[0] == 404, "preview of a removed sandbox answers")


NODE_APP = b"""
const http = require('http');
http.createServer((q, s) => {
  if (q.url === '/asset.js') {
    s.writeHead(200, {'Content-Type': 'text/javascript'});
    s.end("document.getElementById('t').textContent = 'node preview ' + 'ready';");
    return;
  }
  s.writeHead(200, {'Content-Type': 'text/html'});
  s.end('<html><head><title>node app</title></head><body><h1 id="t">loading</h1>' +
        '<script src="/asset.js"></script></body></html>');
}).listen(3000);
"""


def test_serve_node_app_and_browser(p):
    sb = p.sandbox("node")
    p.upload(sb, [("server.js", NODE_APP)])
    # no port given: the first new listening socket
    r = serve(p, sb, command="node server.js")
    check(r.status == 201, r)
    d = r.json()
    check(d["port"] == 3000, d)
    st, hdrs, body = get(p, host_of(d["url"]))
    check(st == 200 and b'<script src="/asset.js">' in body, (st, body))
    st, hdrs, body = get(p, host_of(d["url"]), "/asset.js")
    check(st == 200 and b"node preview" in body, (st, body))
    # a real browser: Chromium resolves *.localhost to loopback itself
    out = tempfile.mktemp(suffix=".png")
    try:
        res = subprocess.run(["node", os.path.join(ROOT, "tests", "browser", "shot.mjs"),
                              d["url"], out, "text=node preview ready"],
                             capture_output=True, text=True, timeout=120,
                             cwd=os.path.join(ROOT, "tests", "browser"))
        check(res.returncode == 0, res.stderr[-2000:])
        page = json.loads(res.stdout.strip().splitlines()[-1])
        check(page["status"] == 200 and page["title"] == "node app" and
              "node preview ready" in page["text"], page)
        with open(out, "rb") as f:
            png = f.read()
        check(len(png) > 1000 and png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG screenshot")
    finally:
        if os.path.exists(out):
            os.unlink(out)
    p.delete(sb)


def test_serve_app_closes_idle_connection(p):
    """An app that closes idle keep-alive connections (Node: 5 s by
    default; here 300 ms) does not turn the caller's next request on a
    kept connection into a 502."""
    sb = p.sandbox("node")
    p.upload(sb, [("server.js", b"const s = require('http').createServer((q, r) => r.end('ok ' + q.url));"
                                b"s.keepAliveTimeout = 300; s.listen(3001);")])
    r = serve(p, sb, command="node server.js", port=3001)
    check(r.status == 201, r)
    host = host_of(r.json()["url"])
    c = http.client.HTTPConnection("127.0.0.1", p.preview_port, timeout=10)
    for i in range(3):
        c.request("GET", "/n%d" % i, headers={"Host": host})
        resp = c.getresponse()
        check(resp.status == 200 and resp.read() == b"ok /n%d" % i, (i, resp.status))
        time.sleep(1)
    c.close()
    p.delete(sb)


def _ws_frame(data, opcode=1):
    mask = os.urandom(4)
    n = len(data)
    hdr = bytes([0x80 | opcode])
    hdr += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def _recv_exact(s, n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += x
    return b


def _ws_read(s):
    b0, b1 = _recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", _recv_exact(s, 2))[0]
    return b0 & 0x0F, _recv_exact(s, n)


def test_serve_websocket_echo(p):
    sb = p.sandbox("python")
    p.upload(sb, [("ws_echo.py", _file("ws_echo.py"))])
    r = serve(p, sb, command="python3 ws_echo.py 8200", port=8200)
    check(r.status == 201, r)
    host = host_of(r.json()["url"])
    s = socket.create_connection(("127.0.0.1", p.preview_port), timeout=15)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
              b"\r\nSec-WebSocket-Version: 13\r\nOrigin: http://" + host.encode() + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        x = s.recv(1)
        check(x, "closed during the handshake: %r" % head)
        head += x
    check(head.startswith(b"HTTP/1.1 101 ") and b"sec-websocket-accept" in head.lower(), head)
    for msg in (b"hello through the gateway", os.urandom(3000)):
        s.sendall(_ws_frame(msg, 1 if msg.startswith(b"hello") else 2))
        op, data = _ws_read(s)
        check(data == msg, (op, data[:50]))
    s.sendall(_ws_frame(b"", 8))
    check(_ws_read(s)[0] == 8, "no close frame")
    s.close()
    p.delete(sb)


def test_serve_revoke_stops_url_and_app(p):
    sb = p.sandbox("python")
    d = echo_preview(p, sb)
    host = host_of(d["url"])
    # a keep-alive connection open before the revocation
    c = http.client.HTTPConnection("127.0.0.1", p.preview_port, timeout=10)
    c.request("GET", "/one", headers={"Host": host})
    r1 = c.getresponse()
    check(r1.status == 200 and json.loads(r1.read())["path"] == "/one", "first request")
    t0 = time.time()
    r = p.request("DELETE", "/v1/previews/%s" % d["id"])
    check(r.status == 200 and r.json()["status"] == "closed" and
          r.json()["close_reason"] == "revoked", r)
    check(get(p, host)[0] == 404, "a revoked preview still answers")
    try:
        c.request("GET", "/two", headers={"Host": host})
        st = c.getresponse().status
    except (OSError, http.client.HTTPException):
        st = None
    check(st is None, "the open connection still reached the app: %r" % st)
    check(time.time() - t0 < 5, "revocation was slow")
    ex = wait_for(lambda: p.request("GET", "/v1/execs/%s" % d["exec"]).json().get("status") != "running")
    check(ex, "the app still runs")
    closed = [x for x in records(p, "preview.closed") if x["preview"] == d["id"]]
    check(len(closed) == 1 and closed[0]["reason"] == "revoked" and
          closed[0]["actor"]["role"] == "admin", closed)
    check(p.request("DELETE", "/v1/previews/%s" % d["id"]).json()["close_reason"] == "revoked",
          "second delete")
    p.delete(sb)


def test_serve_expiry(p):
    sb = p.sandbox("python")
    d = echo_preview(p, sb, ttl_seconds=2)
    host = host_of(d["url"])
    check(get(p, host)[0] == 200, "before expiry")
    check(wait_for(lambda: get(p, host)[0] == 404, secs=10), "after expiry")
    doc = wait_for(lambda: (lambda g: g if g["status"] == "closed" else None)(
        p.request("GET", "/v1/previews/%s" % d["id"]).json()), secs=10)
    check(doc and doc["close_reason"] == "expired", doc)
    p.delete(sb)


def test_serve_other_tenant(p):
    sb = p.sandbox("python")
    d = echo_preview(p, sb)
    other = p.key("agent", tenant="t-serve-other")
    check(p.request("GET", "/v1/sandboxes/%s/previews" % sb["id"], token=other).status == 404, "list")
    check(p.request("GET", "/v1/previews/%s" % d["id"], token=other).status == 404, "get")
    check(p.request("DELETE", "/v1/previews/%s" % d["id"], token=other).status == 404, "revoke")
    check(serve(p, sb, token=other, command="true").status == 404, "serve in another's sandbox")
    check(get(p, host_of(d["url"]))[0] == 200, "the preview survived")
    p.delete(sb)


def test_serve_token_isolation_and_headers(p):
    sb1, sb2 = p.sandbox("python"), p.sandbox("python")
    a = echo_preview(p, sb1, port=8101)
    b = echo_preview(p, sb2, port=8102)
    ha, hb = host_of(a["url"]), host_of(b["url"])
    ta = ha.split(".")[0]
    st, hdrs_b, body = get(p, hb, "/x", headers={
        "Referer": "http://%s/page" % ha, "Origin": "http://" + ha,
        "Authorization": "Bearer petri_not_for_the_app", "X-Forwarded-For": "10.1.2.3",
        "Cookie": "k=v", "Connection": "close, X-Drop-Me", "X-Drop-Me": "1"})
    check(st == 200, st)
    # the app's cookie stays on its own preview's host
    check(hdrs_b.get("Set-Cookie") == "app=1; Path=/", hdrs_b)
    seen = json.loads(body)
    hdrs = {k.lower(): v for k, v in seen["headers"]}
    check(ta not in body.decode() and hb.split(".")[0] not in body.decode(),
          "a token reached an app: %s" % body)
    check("authorization" not in hdrs and "x-forwarded-for" not in hdrs and
          "x-drop-me" not in hdrs and "referer" not in hdrs and "origin" not in hdrs, hdrs)
    check(hdrs["host"].endswith(":8102") and hdrs.get("cookie") == "k=v", hdrs)
    # its own origin is passed on, rewritten to the app's address
    st, _, body = get(p, hb, "/y", headers={"Referer": "http://%s/page?q=1" % hb})
    hdrs = {k.lower(): v for k, v in json.loads(body)["headers"]}
    check(hdrs["referer"] == "http://%s/page?q=1" % hdrs["host"], hdrs)
    # each token reaches its own app only; a guessed one reaches none
    check(json.loads(get(p, ha, "/a")[2])["headers"][0][1].endswith(":8101"), "a -> app a")
    check(get(p, "%s.localhost:%d" % ("0" * 40, p.preview_port))[0] == 404, "guessed token")
    check(get(p, ta.upper() + "." + ha.split(".", 1)[1])[0] == 200, "host names are case-insensitive")
    check(get(p, "localhost:%d" % p.preview_port)[0] == 404, "no token")
    # request bodies both framings, and a chunked response of 1 MiB
    st, _, body = get(p, ha, "/post", method="POST", body=b"z" * 70000)
    check(st == 200 and json.loads(body)["body"] == "z" * 70000, "length body")
    st, _, body = get(p, ha, "/big")
    check(st == 200 and body == b"x" * (64 * 16384), (st, len(body)))
    p.delete(sb1)
    p.delete(sb2)


def test_serve_auth_key(p):
    sb = p.sandbox("python")
    d = echo_preview(p, sb, auth="key")
    host = host_of(d["url"])
    st, hdrs, _ = get(p, host)
    check(st == 401 and "Basic" in hdrs.get("WWW-Authenticate", ""), (st, hdrs))
    mine = p.key("agent")
    other = p.key("agent", tenant="t-serve-auth")
    st, _, body = get(p, host, headers={"Authorization": "Bearer " + mine})
    check(st == 200, st)
    check(mine not in body.decode() and "authorization" not in body.decode().lower(),
          "the key reached the app")
    basic = base64.b64encode(b"anyone:" + mine.encode()).decode()
    check(get(p, host, headers={"Authorization": "Basic " + basic})[0] == 200, "basic")
    check(get(p, host, headers={"Authorization": "Bearer " + other})[0] == 401, "other tenant")
    check(get(p, host, headers={"Authorization": "Bearer petri_nonsense"})[0] == 401, "junk key")
    p.delete(sb)


def test_serve_app_never_listens(p):
    sb = p.sandbox("python")
    t0 = time.time()
    r = serve(p, sb, command="echo starting up; sleep 100", ready_timeout_seconds=2)
    check(r.status == 422 and r.json()["error"]["code"] == "app_not_listening", r)
    check("url" not in r.json() and "starting up" in r.json()["output"] and
          "did not listen" in r.json()["stderr"], r.json())
    check(time.time() - t0 < 30, "waited too long")
    r = serve(p, sb, command="echo boom >&2; exit 3")
    check(r.status == 422 and "boom" in r.json()["output"] and
          "status 3" in r.json()["stderr"], r)
    # an app on the container's loopback only cannot be served: said so
    r = serve(p, sb, command="python3 -m http.server 8300 --bind 127.0.0.1",
              ready_timeout_seconds=3)
    check(r.status == 422 and "loopback address only" in r.json()["stderr"], r)
    check(p.request("GET", "/v1/sandboxes/%s/previews" % sb["id"]).json()["previews"] == [],
          "a failed serve left a preview")
    check(serve(p, sb, command="x", port=0).status == 422, "port 0")
    check(serve(p, sb, command="x", auth="cookie").status == 422, "auth value")
    check(serve(p, sb, command="x", ttl_seconds=10 ** 9).status == 422, "ttl")
    check(serve(p, sb, command="x", bogus=1).status == 422, "unknown key")
    p.delete(sb)


def test_serve_app_exits_closes(p):
    sb = p.sandbox("python")
    p.upload(sb, [("echo_app.py", _file("echo_app.py"))])
    r = serve(p, sb, command="timeout 3 python3 echo_app.py 8103", port=8103)
    check(r.status == 201, r)
    d = r.json()
    doc = wait_for(lambda: (lambda g: g if g["status"] == "closed" else None)(
        p.request("GET", "/v1/previews/%s" % d["id"]).json()), secs=20)
    check(doc and doc["close_reason"] == "app_exited", doc)
    check(get(p, host_of(d["url"]))[0] == 404, "URL of an exited app")
    p.delete(sb)


def test_serve_bounded_clients(p):
    sb = p.sandbox("python")
    d = echo_preview(p, sb, port=8104)
    host = host_of(d["url"]).encode()
    # huge headers: refused before the app sees anything
    st, _, _ = get(p, host.decode(), headers={"X-Big": "a" * 15000, "X-Big2": "b" * 15000,
                                              "X-Big3": "c" * 15000, "X-Big4": "d" * 15000,
                                              "X-Big5": "e" * 15000})
    check(st == 431, st)
    # a slow client (one byte a second) gets 408 once the head deadline passes
    s = socket.create_connection(("127.0.0.1", p.preview_port), timeout=30)
    t0 = time.time()
    got = b""
    try:
        for ch in b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nX-Slow: " + b"s" * 40:
            s.sendall(bytes([ch]))
            time.sleep(0.25)
            s.setblocking(False)
            try:
                got += s.recv(4096)
            except BlockingIOError:
                pass
            s.setblocking(True)
            if got:
                break
    except OSError:
        pass
    s.settimeout(15)
    try:
        while b"\r\n\r\n" not in got:
            x = s.recv(4096)
            if not x:
                break
            got += x
    except OSError:
        pass
    s.close()
    check(got.startswith(b"HTTP/1.1 408 "), got[:100])
    check(8 <= time.time() - t0 <= 20, "head deadline %.1f s" % (time.time() - t0))
    # an idle connection is closed, and the gateway still serves others
    check(get(p, host.decode())[0] == 200, "gateway after the slow client")
    # at most 256 caller connections at once: the next is told to retry
    held = []
    try:
        for _ in range(256):
            held.append(socket.create_connection(("127.0.0.1", p.preview_port), timeout=10))
        extra = wait_for(lambda: _busy_answer(p), secs=10)
        check(extra.startswith(b"HTTP/1.1 503 "), extra[:80])
    finally:
        for x in held:
            x.close()
    check(wait_for(lambda: get(p, host.decode())[0] == 200, secs=10), "gateway after the flood")
    # a request line that smuggles (two Content-Length) is refused
    s = socket.create_connection(("127.0.0.1", p.preview_port), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: " + host + b"\r\nContent-Length: 1\r\n"
              b"Content-Length: 2\r\n\r\nab")
    check(s.recv(100).startswith(b"HTTP/1.1 400 "), "double Content-Length")
    s.close()
    p.delete(sb)


def _busy_answer(p):
    s = socket.create_connection(("127.0.0.1", p.preview_port), timeout=10)
    try:
        return s.recv(200)
    except OSError:
        return b""
    finally:
        s.close()


def test_serve_gateway_unreachable_from_sandbox_own():
    """Even a gateway listening on every host address is closed to the
    sandbox network; the host reaches the app (answers are accepted)."""
    port = free_port()
    p = Petri(config={"preview": {"listen": "0.0.0.0:%d" % port, "report_interval_seconds": 1}})
    p.start()
    try:
        sb = p.sandbox("python")
        d = echo_preview(p, sb, port=8105)
        check(get(p, host_of(d["url"]))[0] == 200, "host -> app through the gateway")
        st, info = docker("GET", "/networks/%s" % p.net)
        gw = info["IPAM"]["Config"][0]["Gateway"]
        probe = ("import socket\nfor port in (%d, %d):\n    s = socket.socket()\n"
                 "    s.settimeout(2)\n    try:\n        s.connect(('%s', port))\n"
                 "        print('OPEN', port)\n    except OSError as e:\n"
                 "        print('CLOSED', port, type(e).__name__)\n" % (port, p.port, gw))
        r = p.exec(sb, code=probe).json()
        check(r["stdout"].count("CLOSED") == 2 and "OPEN" not in r["stdout"], r["stdout"])
        rules = subprocess.run(["iptables", "-w", "-S", "INPUT"], capture_output=True,
                               text=True).stdout
        check("--ctstate ESTABLISHED -j ACCEPT" in rules, "no answers rule")
        p.delete(sb)
    finally:
        p.stop()
        drop_bridge_rules(p.net)
        p.cleanup()
