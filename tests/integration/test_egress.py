"""Egress through the whole appliance (issue 4): stored policies, the vault,
the proxy process on the sandbox network's gateway, credentials injected in
flight, and what the sandbox, the logs and the other hosts never see.

One petrid of its own (module fixture) with a static name map pointing the
test names at 127.0.0.1, 127.0.0.1 allow-listed, and the test upstream CA
trusted.  Nothing here dials anything but loopback: names the tests use
are mapped to 127.0.0.x, the system resolver is off, and the SSRF cases use
loopback addresses that are not allow-listed (so a proxy bug could at worst
reach loopback).  The attack catalogue's parser-level cases run in the
proxy's unit tests (tests/unit/test_proxy*.c); these are the cases that
need real containers.
"""
import atexit
import json
import os
import secrets
import socket
import subprocess
import tempfile

from harness import Petri, check, docker, _q
import upstream

CANARY = "sk_live_canary_" + secrets.token_hex(12)
PH_CANARY = "ph_canary_" + secrets.token_hex(12)
_E = {}


def env():
    """The module's petrid, upstreams, secrets and policies (made once)."""
    if _E:
        return _E
    d = tempfile.mkdtemp(prefix="petri-eg-")
    os.chmod(d, 0o755)
    upstream.make_pki(d)
    up = upstream.Echo(d)          # bound host
    other = upstream.Echo(d)       # another port: not bound
    plain = upstream.Echo(tls=False)
    resolve = {n: "127.0.0.1" for n in upstream.NAMES}
    resolve["internal.test"] = "127.0.0.2"   # loopback, not allow-listed
    cfg = {"egress": {"resolve": resolve, "allow_addresses": ["127.0.0.1"],
                      "upstream_ca_file": os.path.join(d, "ca.pem"),
                      "system_resolver": False}}
    p = Petri(config=cfg).start()
    _E.update(p=p, up=up, other=other, plain=plain, dir=d)
    atexit.register(_teardown)
    port = up.port
    pol = {"default": "deny", "allow": [
        {"host": "api.payments.test", "scheme": "https", "port": port,
         "methods": ["GET", "POST"], "paths": ["/v1/", "/reflect"]},
        {"host": "other.test", "scheme": "https", "port": port},
        {"host": "api.payments.test", "scheme": "https", "port": other.port},
        {"host": "api.payments.test", "scheme": "http", "port": plain.port},
        {"host": "internal.test", "scheme": "https", "port": port},
    ]}
    r = p.request("PUT", "/v1/policies/pay", pol)
    check(r.status == 201, r)
    r = p.request("POST", "/v1/secrets", {
        "name": "stripe", "value": CANARY, "hosts": ["api.payments.test"],
        "port": port, "inject": {"header": "Authorization", "format": "Bearer {value}"}})
    check(r.status == 201, r)
    r = p.request("POST", "/v1/secrets", {
        "name": "phkey", "value": PH_CANARY, "hosts": ["api.payments.test"],
        "port": port, "paths": ["/v1/"],
        "inject": {"placeholder": {"env": "PAY_KEY", "header": "X-Api-Key"}}})
    check(r.status == 201, r)
    return _E


def _teardown():
    if not _E:
        return
    _E["p"].cleanup()
    for k in ("up", "other", "plain"):
        _E[k].stop()
    subprocess.run(["rm", "-rf", _E["dir"]])
    _E.clear()


def run_py(sb, code, **kw):
    e = env()
    r = e["p"].exec(sb, code=code, **kw)
    check(r.status == 200, r)
    return r.json()


FETCH = """
import json, os, sys, urllib.request, urllib.error
def fetch(url, headers=None, method="GET", data=None):
    req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except Exception as e:
        return -1, repr(e)
"""


def sandbox(**kw):
    e = env()
    body = {"policy": "pay", "secrets": ["stripe"]}
    body.update(kw)
    return e["p"].sandbox(**body)


def seen_auth(e, path):
    """The Authorization values the bound upstream got for path."""
    out = []
    for rq in e["up"].requests():
        if rq["path"].startswith(path):
            out += [v for k, v in rq["headers"] if k.lower() == "authorization"]
    return out


# --- the API ------------------------------------------------------------------


def test_policy_routes_own():
    e = env()
    p = e["p"]
    r = p.request("GET", "/v1/policies")
    names = [x["name"] for x in r.json()["policies"]]
    check(r.status == 200 and "deny-all" in names and "pay" in names, r)
    r = p.request("PUT", "/v1/policies/tmp", {"default": "deny", "allow": []})
    check(r.status == 201 and r.json()["version"] == 1, r)
    sha1 = r.json()["sha256"]
    r = p.request("PUT", "/v1/policies/tmp", {"default": "deny", "allow": [
        {"host": "api.payments.test", "scheme": "https"}]})
    check(r.status == 200 and r.json()["version"] == 2 and r.json()["sha256"] != sha1, r)
    check(r.json()["policy"]["allow"][0]["host"] == "api.payments.test", r)
    r = p.request("GET", "/v1/policies/tmp")
    check(r.status == 200 and r.json()["version"] == 2, r)
    # refused documents say which field
    for bad, word in (({"default": "allow", "allow": []}, "default"),
                      ({"default": "deny", "allow": [{"host": "*.com"}]}, "allow[0]"),
                      ({"default": "deny", "allow": [], "extra": 1}, "extra"),
                      ({"name": "other", "default": "deny", "allow": []}, "name")):
        r = p.request("PUT", "/v1/policies/tmp", bad)
        check(r.status == 422 and word in r.json()["error"]["message"], (bad, r))
    r = p.request("PUT", "/v1/policies/deny-all", {"default": "deny", "allow": []})
    check(r.status == 409, r)
    r = p.request("PUT", "/v1/policies/bad%20name", {"default": "deny", "allow": []})
    check(r.status == 422, r)
    agent = p.key("agent")
    check(p.request("GET", "/v1/policies", token=agent).status == 403)
    # a sandbox pins the version it was created with
    sb = p.sandbox(policy="tmp")
    check(sb["policy"] == "tmp" and sb["policy_version"] == 2, sb)
    r = p.request("DELETE", "/v1/policies/tmp")
    check(r.status == 204, r)
    check(p.request("GET", "/v1/policies/tmp").status == 404)
    check(p.request("DELETE", "/v1/policies/tmp").status == 404)
    r = p.request("POST", "/v1/sandboxes", {"language": "python", "policy": "tmp"})
    check(r.status == 422 and "tmp" in r.json()["error"]["message"], r)
    # every change is recorded with the hash
    recs = p.request("GET", "/v1/audit/records?limit=1000").json()["records"]
    ch = [json.loads(x["record"]) for x in recs if '"policy.changed"' in x["record"]]
    check(any(c.get("name") == "tmp" and c.get("version") == 2 and len(c.get("sha256", "")) == 64
              for c in ch), ch)
    check(p.delete(sb).status == 204)


def test_secret_routes_own():
    e = env()
    p = e["p"]
    r = p.request("GET", "/v1/secrets")
    check(r.status == 200 and CANARY not in r.body.decode(), r)
    names = [s["name"] for s in r.json()["secrets"]]
    check("stripe" in names and "phkey" in names, r)
    r = p.request("GET", "/v1/secrets/stripe")
    m = r.json()
    check(r.status == 200 and m["version"] == 1 and m["hosts"] == ["api.payments.test"], r)
    check("value" not in m and CANARY not in r.body.decode(), m)
    r = p.request("POST", "/v1/secrets", {"name": "tmp", "value": "v" * 20,
                                          "hosts": ["api.payments.test"],
                                          "inject": {"header": "X-Key"}})
    check(r.status == 201, r)
    fp1 = r.json()["fingerprint"]
    r = p.request("POST", "/v1/secrets", {"name": "tmp", "value": "w" * 20,
                                          "hosts": ["api.payments.test"],
                                          "inject": {"header": "X-Key"}})
    check(r.status == 409, r)
    r = p.request("PUT", "/v1/secrets/tmp", {"value": "w" * 20})
    check(r.status == 200 and r.json()["version"] == 2 and r.json()["fingerprint"] != fp1, r)
    # refusals name the field and never quote the value
    for bad in ({"name": "x1", "value": "secretvalue123", "hosts": ["*.com"],
                 "inject": {"header": "X-Key"}},
                {"name": "x2", "value": "secretvalue123", "hosts": ["a.test"],
                 "inject": {"header": "Host"}},
                {"name": "x3", "value": "secretvalue123", "hosts": ["a.test"],
                 "inject": {"header": "X-Key"}, "bogus": 1},
                {"name": "x4", "hosts": ["a.test"], "inject": {"header": "X-Key"}}):
        r = p.request("POST", "/v1/secrets", bad)
        check(r.status == 422 and b"secretvalue123" not in r.body, (bad, r))
    # a malformed body: the answer says where, never what is there
    for raw in (b'{"name": "x5", "value": secretvalue123}',
                b'{"name": "x5", "value": "secretvalue123" "hosts": []}'):
        r = p.request("POST", "/v1/secrets", raw=raw,
                      headers={"Content-Type": "application/json"})
        check(r.status == 400 and b"column" in r.body and b"secretvalue123" not in r.body, r)
    agent = p.key("agent")
    check(p.request("GET", "/v1/secrets", token=agent).status == 403)
    check(p.request("POST", "/v1/secrets", {"name": "y"}, token=agent).status == 403)
    check(p.request("DELETE", "/v1/secrets/tmp").status == 204)
    check(p.request("GET", "/v1/secrets/tmp").status == 404)
    r = p.request("POST", "/v1/sandboxes", {"language": "python", "secrets": ["tmp"]})
    check(r.status == 422 and "secrets[0]" in r.json()["error"]["message"], r)
    r = p.request("POST", "/v1/sandboxes", {"language": "python", "secrets": ["a", "a"]})
    check(r.status == 422, r)
    recs = p.request("GET", "/v1/audit/records?limit=1000").json()["records"]
    text = "\n".join(x["record"] for x in recs)
    for t in ("secret.created", "secret.rotated", "secret.deleted"):
        check('"%s"' % t in text, t)
    check("w" * 20 not in text and CANARY not in text, [l for l in text.splitlines() if "w" * 20 in l][:2])


# --- clients in the sandbox ---------------------------------------------------


def test_python_injection_and_network_record_own():
    e = env()
    p = e["p"]
    sb = sandbox()
    port = e["up"].port
    code = FETCH + """
st, body = fetch("https://api.payments.test:%d/v1/charges?limit=3&cursor=abc")
print(st)
print(body)
""" % port
    res = run_py(sb, code)
    check(res["exit_code"] == 0 and res["stdout"].startswith("200"), res)
    # the upstream got the real credential; the sandbox saw it masked
    check(seen_auth(e, "/v1/charges") == ["Bearer " + CANARY], e["up"].requests()[-1:])
    check(CANARY not in res["stdout"], res)
    net = res["network"]
    check(len(net) == 1, net)
    n = net[0]
    check(n["host"] == "api.payments.test" and n["port"] == port and n["method"] == "GET"
          and n["status"] == 200 and n["decision"] == "allow" and n["secret"] == "stripe", n)
    # query values never recorded, names are
    check(n["path"] == "/v1/charges?limit=&cursor=", n)
    rec = p.request("GET", res["audit"]["href"]).json()["record"]
    check('"network"' in rec and "api.payments.test" in rec and "cursor=abc" not in rec, rec)
    recs = p.request("GET", "/v1/audit/records?limit=1000").json()["records"]
    rel = [json.loads(x["record"]) for x in recs if '"secret.released"' in x["record"]]
    check(any(r.get("sandbox") == sb["id"] and r.get("name") == "stripe" and
              r.get("host") == "api.payments.test" for r in rel), rel)
    check(p.delete(sb).status == 204)


def test_curl_node_go_clients_own():
    e = env()
    p = e["p"]
    port = e["up"].port
    sb = sandbox()
    r = p.exec(sb, command="curl -sS -o /dev/null -w '%%{http_code}' https://api.payments.test:%d/v1/curl" % port)
    check(r.status == 200 and r.json()["stdout"] == "200", r)
    check(seen_auth(e, "/v1/curl") == ["Bearer " + CANARY], e["up"].requests()[-1:])
    check(p.delete(sb).status == 204)

    sb = sandbox(language="node")
    js = r"""
const http = require('http'), https = require('https'), tls = require('tls');
const u = new URL(process.env.HTTPS_PROXY);
const auth = 'Basic ' + Buffer.from(u.username + ':' + u.password).toString('base64');
const target = 'api.payments.test:%d';
const req = http.request({host: u.hostname, port: u.port, method: 'CONNECT', path: target,
  headers: {'Proxy-Authorization': auth, Host: target}});
req.on('connect', (res, socket) => {
  if (res.statusCode !== 200) { console.log('CONNECT', res.statusCode); process.exit(1); }
  https.get({host: 'api.payments.test', port: %d, path: '/v1/node',
    createConnection: () => tls.connect({socket, servername: 'api.payments.test'})}, (r) => {
    let b = ''; r.on('data', (c) => b += c); r.on('end', () => { console.log(r.statusCode); });
  }).on('error', (err) => { console.log('ERR', err.message); process.exit(1); });
});
req.on('error', (err) => { console.log('ERR', err.message); process.exit(1); });
req.end();
""" % (port, port)
    r = p.exec(sb, code=js)
    check(r.status == 200 and r.json()["stdout"].strip() == "200", r)
    check(seen_auth(e, "/v1/node") == ["Bearer " + CANARY])
    check(p.delete(sb).status == 204)

    sb = sandbox(language="go")
    gosrc = """package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	r, err := http.Get("https://api.payments.test:%d/v1/go")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	io.ReadAll(r.Body)
	fmt.Println(r.StatusCode)
}
""" % port
    r = p.exec(sb, code=gosrc, timeout_ms=120000)
    check(r.status == 200 and r.json()["stdout"].strip() == "200", r)
    check(seen_auth(e, "/v1/go") == ["Bearer " + CANARY])
    check(p.delete(sb).status == 204)


# --- the attack catalogue, where containers matter -----------------------------


def test_cases1_6_9_10_16_17_routing_own():
    """1 unbound host, 9 cleartext, 10 other port, 16 own Authorization,
    17 Proxy-Authorization stripped, 6 redirect not followed, deny-all."""
    e = env()
    p = e["p"]
    port, oport, hport = e["up"].port, e["other"].port, e["plain"].port
    sb = sandbox()
    code = FETCH + """
out = {}
out["unbound"] = fetch("https://other.test:%(port)d/v1/x")[0]
out["denied"] = fetch("https://status.payments.test:%(port)d/health")
out["cleartext"] = fetch("http://api.payments.test:%(hport)d/v1/plain")[0]
out["otherport"] = fetch("https://api.payments.test:%(oport)d/v1/otherport")[0]
out["own"] = fetch("https://api.payments.test:%(port)d/v1/own",
                   headers={"Authorization": "Bearer mine"})[0]
out["redirect"] = fetch("https://api.payments.test:%(port)d/v1/redirect")[0]
out["path"] = fetch("https://api.payments.test:%(port)d/admin")[0]
print(json.dumps(out))
""" % {"port": port, "oport": oport, "hport": hport}
    e["up"].clear()
    e["other"].clear()
    e["plain"].clear()
    res = run_py(sb, code)
    out = json.loads(res["stdout"])
    check(out["unbound"] == 200 and out["cleartext"] == 200 and out["otherport"] == 200, out)
    # a host the policy does not name: the CONNECT itself is refused
    check("403" in out["denied"][1], out)
    check(out["path"] == 403, out)
    up_reqs = e["up"].requests()
    by_path = {rq["path"]: rq for rq in up_reqs}
    hdr = lambda rq, name: [v for k, v in rq["headers"] if k.lower() == name]
    check(hdr(by_path["/v1/x"], "authorization") == [], by_path["/v1/x"])
    check(hdr(by_path["/v1/own"], "authorization") == ["Bearer " + CANARY], by_path["/v1/own"])
    check("/admin" not in by_path)
    for rq in up_reqs:
        check(not hdr(rq, "proxy-authorization"), rq)
    for srv in ("other", "plain"):
        for rq in e[srv].requests():
            check(CANARY.encode() not in rq["raw"], (srv, rq))
            check(not any(k.lower().startswith("proxy-") for k, v in rq["headers"]), rq)
    net = res["network"]
    # case 6: the proxy hands the 302 back and follows nothing; urllib
    # follows it itself, to other.test, which is not bound: no key there
    check(any(n["path"] == "/v1/redirect" and n["status"] == 302 for n in net), net)
    for rq in up_reqs:
        if rq["path"] == "/landing":
            check(hdr(rq, "authorization") == [], rq)
    decisions = {(n["host"], n["port"], n["path"].split("?")[0]): n for n in net}
    check(any(n["host"] == "status.payments.test" and n["decision"] == "deny" for n in net), net)
    check(decisions[("api.payments.test", port, "/admin")]["decision"] == "deny", net)
    check(decisions[("api.payments.test", port, "/v1/own")].get("secret") == "stripe", net)
    check(decisions[("other.test", port, "/v1/x")].get("secret") is None, net)
    # each denial is a record of its own
    recs = p.request("GET", "/v1/audit/records?limit=1000").json()["records"]
    den = [json.loads(x["record"]) for x in recs if '"egress.denied"' in x["record"]]
    check(any(d.get("sandbox") == sb["id"] and d["call"]["host"] == "status.payments.test"
              for d in den), den)
    check(p.delete(sb).status == 204)
    # the default policy lets nothing out
    sb = e["p"].sandbox()
    res = run_py(sb, FETCH + 'print(fetch("https://api.payments.test:%d/v1/x"))' % port)
    check("403" in res["stdout"] and res["network"][0]["decision"] == "deny", res)
    check(p.delete(sb).status == 204)


def test_cases11_12_18_placeholders_and_tokens_own():
    """Placeholder substituted only in its header (11, 12), only for its
    own sandbox (18); a proxy token from another sandbox is refused (18)."""
    e = env()
    p = e["p"]
    port = e["up"].port
    a = sandbox(secrets=["phkey"])
    b = sandbox(secrets=["phkey"])
    code = FETCH + """
ph = os.environ["PAY_KEY"]
print(json.dumps({"ph": ph, "proxy": os.environ["HTTPS_PROXY"],
  "hdr": fetch("https://api.payments.test:%(port)d/v1/ph", headers={"X-Api-Key": ph})[0],
  "body": fetch("https://api.payments.test:%(port)d/v1/body", method="POST", data=ph.encode())[0],
  "ua": fetch("https://api.payments.test:%(port)d/v1/ua", headers={"User-Agent": ph})[0]}))
""" % {"port": port}
    e["up"].clear()
    ra = json.loads(run_py(a, code)["stdout"])
    check(ra["ph"].startswith("petri_ph_") and ra["hdr"] == 200, ra)
    reqs = {rq["path"]: rq for rq in e["up"].requests()}
    check(dict((k.lower(), v) for k, v in reqs["/v1/ph"]["headers"])["x-api-key"] == PH_CANARY, reqs)
    check(PH_CANARY.encode() not in reqs["/v1/body"]["raw"] and ra["ph"] in reqs["/v1/body"]["body"])
    check(PH_CANARY.encode() not in reqs["/v1/ua"]["raw"])
    # b replays a's placeholder: not substituted; b uses a's proxy token: 407
    e["up"].clear()
    code_b = FETCH + """
print(fetch("https://api.payments.test:%(port)d/v1/replay", headers={"X-Api-Key": %(ph)r})[0])
os.environ["HTTPS_PROXY"] = os.environ["https_proxy"] = %(proxy)r
import urllib.request
urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler()))
print(fetch("https://api.payments.test:%(port)d/v1/stolen-token")[1][:200])
""" % {"port": port, "ph": ra["ph"], "proxy": ra["proxy"]}
    rb = run_py(b, code_b)
    for rq in e["up"].requests():
        check(PH_CANARY.encode() not in rq["raw"], rq)
        check(rq["path"] != "/v1/stolen-token", rq)
    check("407" in rb["stdout"], rb)
    check(p.delete(a).status == 204 and p.delete(b).status == 204)


def test_cases21_28_ssrf_and_no_route_own():
    """21/24/26: metadata names, loopback not allow-listed, the proxy itself;
    27/28: no route and no resolver in the container."""
    e = env()
    p = e["p"]
    port = e["up"].port
    sb = sandbox()
    gw = json.loads(run_py(sb, "import json, os; print(json.dumps(os.environ['HTTPS_PROXY']))")["stdout"])
    gwhost = gw.rsplit("@", 1)[1]
    # a host service on the bridge's address (as one on 0.0.0.0 would be)
    lsock = socket.socket()
    lsock.bind((gwhost.split(":")[0], 0))
    lsock.listen(4)
    hport = lsock.getsockname()[1]
    code = FETCH + """
import socket
out = {}
out["internal"] = fetch("https://internal.test:%(port)d/v1/x")
out["metadata"] = fetch("http://metadata.google.internal/computeMetadata/v1/")
out["self"] = fetch("https://%(gw)s/")
try:
    socket.getaddrinfo("api.payments.test", 443)
    out["dns"] = "resolved"
except OSError as e:
    out["dns"] = "no resolver"
s = socket.socket()
s.settimeout(3)
try:
    s.connect((%(gwip)r, %(hport)d))
    out["raw"] = "connected"
except OSError as e:
    out["raw"] = repr(e)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
try:
    u.sendto(bytes.fromhex("123401000001000000000000036170690870617"
                           "96d656e7473047465737400000100 01".replace(" ", "")),
             (%(gwip)r, 53))
    u.recvfrom(512)
    out["udp_dns"] = "answered"
except OSError as e:
    out["udp_dns"] = repr(e)
print(json.dumps(out))
""" % {"port": port, "gw": gwhost, "gwip": gwhost.split(":")[0], "hport": hport}
    try:
        out = json.loads(run_py(sb, code)["stdout"])
    finally:
        lsock.close()
    # refused before any dial: 127.0.0.2 is loopback and not allow-listed
    check("403" in out["internal"][1], out)
    check(out["metadata"][0] == 403 and "always denied" in out["metadata"][1], out)
    check("403" in out["self"][1], out)
    check(out["dns"] == "no resolver", out)
    # the host answers nothing but the proxy on that bridge (iptables)
    check(out["raw"] != "connected" and out["udp_dns"] != "answered", out)
    st, net = docker("GET", "/networks/%s" % p.net)
    check(st == 200 and net["Internal"] is True, net)
    den = [n for n in run_py(sb, "print(1)")["network"]]
    check(den == [], den)
    check(p.delete(sb).status == 204)


def test_cases19_20_no_secret_in_sandbox_logs_or_disk_own():
    """19: no CA key or vault file in the container; 20: the canary is
    nowhere but at the bound upstream (container env and files, Petri's
    log, state, audit records and blobs)."""
    e = env()
    p = e["p"]
    port = e["up"].port
    sb = sandbox(secrets=["stripe", "phkey"])
    code = FETCH + """
st, body = fetch("https://api.payments.test:%d/reflect")
print(st, body)
import glob
found = []
for path in ["/proc/self/environ"] + glob.glob("/proc/[0-9]*/environ"):
    try:
        if %r[::-1].encode() in open(path, "rb").read():
            found.append(path)
    except OSError:
        pass
print("ENVFOUND", found)
print("PETRI", sorted(os.listdir("/etc/petri")))
""" % (port, CANARY[::-1])
    res = run_py(sb, code)
    check(res["stdout"].startswith("200 Bearer *"), res)      # case 14: redacted
    check("ENVFOUND []" in res["stdout"] and "PETRI ['ca.pem']" in res["stdout"], res)
    check(CANARY not in json.dumps(res))
    # the container's mounts: the workspace, petri-spawn, petri-init and
    # its socket's directory (read-only), the public CA only
    st, ins = docker("GET", "/containers/%s/json" % _container(p, sb))
    dests = sorted(m["Destination"] for m in ins["Mounts"])
    check(dests == ["/etc/petri", "/run/petri", "/sandbox", "/usr/local/bin/petri-init",
                   "/usr/local/bin/petri-spawn", "/usr/local/lib/petri"], dests)
    check(all(not m["RW"] for m in ins["Mounts"] if m["Destination"] != "/sandbox"),
          ins["Mounts"])
    check(CANARY not in json.dumps(ins["Config"]["Env"]))
    r = p.exec(sb, command="grep -rl \"$(echo %s | rev)\" / --exclude-dir=proc "
                           "--exclude-dir=sys 2>/dev/null; echo done" % CANARY[::-1])
    check(r.json()["stdout"].strip() == "done", r)
    check(p.delete(sb).status == 204)
    # every file Petri wrote (log, state.db, audit log, blobs, vault.db)
    hits = []
    for root, _, files in os.walk(p.dir):
        for f in files:
            path = os.path.join(root, f)
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            for c in (CANARY, PH_CANARY):
                if c.encode() in data:
                    hits.append(path)
    check(hits == [], hits)
    # the requests that reached a host the secret is not bound to
    for srv in ("other", "plain"):
        for rq in e[srv].requests():
            check(CANARY.encode() not in rq["raw"] and PH_CANARY.encode() not in rq["raw"], rq)
    for rq in e["up"].requests():
        if CANARY.encode() in rq["raw"]:
            auth = [v for k, v in rq["headers"] if k.lower() == "authorization"]
            check(auth == ["Bearer " + CANARY], rq)


def _container(p, sb):
    st, lst = docker("GET", '/containers/json?filters=' +
                     _q(json.dumps({"label": ["petri.sandbox=%s" % sb["id"]]})))
    check(st == 200 and len(lst) == 1, lst)
    return lst[0]["Id"]


def test_identity_survives_a_restart_own():
    e = env()
    p = e["p"]
    port = e["up"].port
    sb = sandbox()
    p.restart()
    res = run_py(sb, FETCH + 'print(fetch("https://api.payments.test:%d/v1/after-restart")[0])' % port)
    check(res["stdout"].strip() == "200", res)
    check(seen_auth(e, "/v1/after-restart") == ["Bearer " + CANARY])
    check(p.delete(sb).status == 204)
    # a deleted sandbox's grants are gone with it
    recs = p.request("GET", "/v1/audit/records?limit=1000").json()["records"]
    check(any('"sandbox.deleted"' in x["record"] and sb["id"] in x["record"] for x in recs))


def test_sandboxes_cannot_reach_one_another_own():
    """Two sandboxes on the one network: no direct connection (icc off),
    whatever listens in the other."""
    e = env()
    p = e["p"]
    a = sandbox()
    b = sandbox()
    r = p.exec(a, background=True, code=(
        "import socket\ns = socket.socket()\ns.bind(('0.0.0.0', 9999))\n"
        "s.listen(4)\nwhile True:\n    c, _ = s.accept()\n    c.sendall(b'hi')\n    c.close()\n"))
    check(r.status == 202, r)
    ip_a = run_py(a, "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                     "s.connect(('10.255.255.255', 9)); print(s.getsockname()[0])")["stdout"].strip()
    # a's own listener answers a's loopback: the listener is there
    check(run_py(a, "import socket; print(socket.create_connection(('127.0.0.1', 9999), 3).recv(2))")
          ["stdout"].strip() == "b'hi'")
    out = run_py(b, "import socket\ntry:\n    socket.create_connection((%r, 9999), 3)\n"
                    "    print('connected')\nexcept OSError as e:\n    print(repr(e))" % ip_a)
    check("connected" not in out["stdout"], (ip_a, out))
    check(p.delete(a).status == 204 and p.delete(b).status == 204)
