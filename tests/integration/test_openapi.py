"""docs/openapi.yaml against the code: the router's routes and the spec's
paths are the same set (read from the route table in appliance/api/ and
probed on a running petrid), and real answers validate against the spec's
schemas.  Needs Debian's python3-yaml and python3-jsonschema."""
import glob
import hashlib
import io
import json
import os
import re
import tarfile
import time
import warnings

import harness
from harness import check

SPEC = os.path.join(harness.ROOT, "docs", "openapi.yaml")
API_SRC = os.path.join(harness.ROOT, "appliance", "api")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def load_spec():
    import yaml
    with open(SPEC) as f:
        return yaml.safe_load(f)


def norm(path):
    """/v1/sandboxes/{id}/files/{path} -> /v1/sandboxes/{}/files/{}"""
    return re.sub(r"\{[^}]*\}", "{}", path)


def spec_ops(spec):
    return {(m.upper(), norm(path)) for path, item in spec["paths"].items()
            for m in item if m in METHODS}


def _function_body(name):
    for src in glob.glob(os.path.join(API_SRC, "*.c")):
        with open(src) as f:
            text = f.read()
        m = re.search(r"^%s\s*\([^)]*\)\s*\{" % re.escape(name), text, re.M)
        if m:
            end = text.find("\n}\n", m.end())
            return text[m.end():end]
    return None


def router_ops():
    """(method, normalised path) of every route in the api's route table.
    A catch-all `{*}` route whose handler dispatches on sub-paths
    (strcmp(sub, "x") / strncmp(sub, "x/", n)) stands for those sub-paths."""
    row = re.compile(r'\{\s*"(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS)"\s*,\s*"(/[^"]*)"'
                     r'\s*,\s*[^,{}]*,\s*[^,{}]*,\s*(\w+)\s*\}')
    ops = set()
    for src in sorted(glob.glob(os.path.join(API_SRC, "*.c"))):
        with open(src) as f:
            text = f.read()
        for method, pattern, handler in row.findall(text):
            if not pattern.endswith("/{*}"):
                ops.add((method, norm(pattern)))
                continue
            body = _function_body(handler) or ""
            subs = re.findall(r'strn?cmp\(\s*sub\s*,\s*"([^"]+)"', body)
            if not subs:
                ops.add((method, norm(pattern)))
                continue
            base = pattern[:-len("{*}")]
            for s in subs:
                ops.add((method, base + (s + "{}" if s.endswith("/") else s)))
    return ops


def test_openapi_routes_match_router(p):
    spec = load_spec()
    check(spec["openapi"].startswith("3.1"), spec["openapi"])
    routes, documented = router_ops(), spec_ops(spec)
    check(len(routes) >= 40, "the route table was not found in appliance/api/: %r" % routes)
    check(routes == documented,
          "in the router, not the spec: %s; in the spec, not the router: %s" % (
              sorted(routes - documented), sorted(documented - routes)))
    # and the running petrid routes every documented operation
    for path, item in spec["paths"].items():
        for m in (x for x in item if x in METHODS):
            url = re.sub(r"\{path\}", "probe/x.txt", path)
            url = re.sub(r"\{seq\}", "999999", url)
            url = re.sub(r"\{sha256\}", "0" * 64, url)
            url = re.sub(r"\{id\}", "sb_openapiprobe" if "/sandboxes/" in path
                         else "ex_openapiprobe" if "/execs/" in path else "key_probe", url)
            url = re.sub(r"\{[^}]+\}", "openapi-probe", url)
            raw = b"not json" if m in ("post", "put") else None
            r = p.request(m.upper(), url, raw=raw)
            msg = ""
            if r.headers.get("Content-Type", "").startswith("application/json"):
                msg = (r.json().get("error") or {}).get("message", "")
            check(r.status != 405 and not (r.status == 404 and msg.startswith("no such") and
                                           "route" in msg),
                  "%s %s is documented but not routed: %r" % (m.upper(), url, r))
    check(p.request("GET", "/v1/policies/openapi-probe").status == 404)


class Checker:
    """Sends requests, validating bodies and answers against the spec."""

    def __init__(self, p, spec):
        import jsonschema
        self.p, self.spec, self.js = p, spec, jsonschema
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.resolver = jsonschema.RefResolver.from_schema(spec)
        self.seen = set()
        self.paths = []
        for path in spec["paths"]:
            rx = "^" + re.sub(r"\\\{path\\\}", ".+", re.escape(path))
            rx = re.sub(r"\\\{[^}]*\\\}", "[^/]+", rx) + "$"
            self.paths.append((len(re.sub(r"\{[^}]*\}", "", path)), path, re.compile(rx)))
        self.paths.sort(reverse=True)

    def validate(self, schema, value, what):
        v = self.js.Draft202012Validator(schema, resolver=self.resolver)
        errs = sorted(v.iter_errors(value), key=lambda e: list(e.path))
        check(not errs, "%s: %s at %s\nvalue: %s" % (
            what, errs[0].message if errs else "", list(errs[0].path) if errs else "",
            json.dumps(value)[:600]))

    def op(self, method, url):
        path = url.split("?")[0]
        for _, spath, rx in self.paths:
            if rx.match(path) and method.lower() in self.spec["paths"][spath]:
                return spath, self.spec["paths"][spath][method.lower()]
        raise AssertionError("no operation for %s %s" % (method, url))

    def _resp(self, op, status, what):
        resp = op["responses"].get(str(status))
        check(resp is not None, "%s: status %d is not documented" % (what, status))
        if "$ref" in resp:
            resp = self.resolver.resolve(resp["$ref"])[1]
        return resp

    def call(self, method, url, body=None, raw=None, headers=None, token="admin",
             expect=None, bad=False, timeout=None):
        """bad: a body the server must refuse (not checked against the
        request schema)."""
        spath, op = self.op(method, url)
        what = "%s %s" % (method, spath)
        if body is not None and not bad:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            self.validate(schema, body, what + " request")
        kw = {"timeout": timeout} if timeout is not None else {}
        r = self.p.request(method, url, body, token=token, raw=raw, headers=headers, **kw)
        self.seen.add((method, spath))
        resp = self._resp(op, r.status, what)
        content = resp.get("content")
        ctype = r.headers.get("Content-Type", "").split(";")[0]
        if content is None:
            check(r.body == b"", "%s %d: a body where none is documented" % (what, r.status))
        else:
            check(ctype in content, "%s %d: content type %r, documented %s" % (
                what, r.status, ctype, list(content)))
            if ctype == "application/json" or ctype.endswith("+json"):
                self.validate(content[ctype]["schema"], r.json(), "%s %d" % (what, r.status))
        if expect is not None:
            check(r.status == expect, "%s: %r" % (what, r))
        return r

    def sse(self, method, url, body=None):
        spath, op = self.op(method, url)
        st, evs = self.p.sse(url, body)
        self.seen.add((method, spath))
        check(st == 200, st)
        schemas = op["responses"]["200"]["content"]["text/event-stream"]["x-sse-events"]
        for name, data in evs:
            check(name in schemas, "undocumented event %r" % name)
            self.validate(schemas[name], data, "%s %s event %s" % (method, spath, name))
        return evs


def _exercise_sync(c, base):
    """Delta sync (documented once the sync routes exist)."""
    data = b"print('synced')\n"
    man = {"path": "synced", "delete": True, "files": [
        {"path": "s.py", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}]}
    plan = c.call("POST", base + "/sync", man, expect=200).json()
    check(plan["upload"] == ["s.py"], plan)
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w") as t:
        ti = tarfile.TarInfo("s.py")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    c.call("PUT", "%s/sync/%s" % (base, plan["sync"]), raw=bio.getvalue(),
           headers={"Content-Type": "application/x-tar"}, expect=200)
    c.call("PUT", "%s/sync/%s" % (base, plan["sync"]), raw=b"", expect=404)
    c.call("POST", base + "/sync", {"files": [{"path": "../x", "sha256": "0" * 64,
                                              "size": 1}]}, expect=422, bad=True)


def _exercise_serve(c, base):
    """Serve mode: an app that listens gets a preview; one that exits does not."""
    pv = c.call("POST", base + "/serve", {"command": "python3 -m http.server 8000",
                                          "port": 8000, "install": "skip"},
                expect=201, timeout=300).json()
    c.call("POST", base + "/serve", {"command": "exit 3", "install": "skip",
                                     "ready_timeout_seconds": 5},
           expect=422, timeout=300)
    c.call("POST", base + "/serve", {"command": ""}, expect=422, bad=True)
    lst = c.call("GET", base + "/previews", expect=200).json()
    check(any(x["id"] == pv["id"] for x in lst["previews"]), lst)
    c.call("GET", "/v1/previews/" + pv["id"], expect=200)
    closed = c.call("DELETE", "/v1/previews/" + pv["id"], expect=200).json()
    check(closed["status"] == "closed", closed)
    c.call("GET", "/v1/previews/pv_aaaaaaaaaaaaaaaaaaaaaaaa", expect=404)
    c.call("DELETE", "/v1/previews/pv_aaaaaaaaaaaaaaaaaaaaaaaa", expect=404)


# Exercised by test_openapi_admin_answers_own: a key rotation on the shared
# instance would change the key the harness verifies the log with.
OWN_OPS = {("POST", "/v1/audit/rotate-key"), ("POST", "/v1/audit/retention")}


def test_openapi_admin_answers_own():
    spec = load_spec()
    p = harness.Petri().start()
    try:
        c = Checker(p, spec)
        j = c.call("POST", "/v1/audit/rotate-key", {}, expect=200, timeout=120).json()
        check(j["key_id"] != j["new_key_id"], j)
        c.call("POST", "/v1/audit/rotate-key", {"x": 1}, expect=422, bad=True)
        c.call("POST", "/v1/audit/rotate-key", {}, token=p.key("agent"), expect=403)
        c.call("POST", "/v1/audit/retention", {"older_than_days": 3650, "reason": "spec"},
               expect=200, timeout=600)
        c.call("POST", "/v1/audit/retention", {"older_than_days": 0}, expect=422, bad=True)
        check(c.seen >= OWN_OPS, c.seen)
    finally:
        p.cleanup()


def test_openapi_answers_validate(p):
    spec = load_spec()
    import jsonschema
    for name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
    c = Checker(p, spec)
    c.call("GET", "/healthz", token=None, expect=200)
    c.call("GET", "/readyz", token=None, expect=200)
    c.call("GET", "/metrics", token=None, expect=200)
    # errors
    c.call("GET", "/v1/sandboxes", token=None, expect=401)
    c.call("POST", "/v1/sandboxes", raw=b"{x", expect=400)
    c.call("POST", "/v1/sandboxes", {"language": "python", "limits": {"memory_mb": 1}},
           expect=422, bad=True)
    c.call("POST", "/v1/sandboxes", {"language": "python"}, token=p.key("auditor"),
           expect=403)
    c.call("GET", "/v1/sandboxes/sb_aaaaaaaaaaaaaaaaaaaaaaaa", expect=404)
    # sandboxes
    sb = c.call("POST", "/v1/sandboxes", {"language": "python", "labels": {"api": "spec"},
                                          "env": {"A": "1"}, "ttl_seconds": 900},
                expect=201).json()
    sid = sb["id"]
    base = "/v1/sandboxes/" + sid
    try:
        c.call("GET", "/v1/sandboxes?label=api:spec", expect=200)
        c.call("GET", base, expect=200)
        c.call("POST", base + "/keepalive", {"ttl_seconds": 600}, expect=200)
        c.call("POST", base + "/recover", {}, expect=200)
        # files
        r = p.upload(sb, [("a.py", b"print(1)\n")], path="d")
        c.seen.add(("POST", "/v1/sandboxes/{id}/files"))
        c.validate(c.op("POST", base + "/files")[1]["responses"]["201"]["content"]
                   ["application/json"]["schema"], r.json(), "POST files")
        c.call("PUT", base + "/files/x/y.txt?mode=755", raw=b"hello", expect=201)
        c.call("PUT", base + "/files/../y", raw=b"x")
        c.call("GET", base + "/files?recursive=true", expect=200)
        c.call("GET", base + "/files/x/y.txt", expect=200)
        c.call("GET", base + "/files/nope.txt", expect=404)
        c.call("DELETE", base + "/files/x/y.txt", expect=204)
        bio = io.BytesIO()
        with tarfile.open(fileobj=bio, mode="w") as t:
            data = b"print('t')\n"
            ti = tarfile.TarInfo("top/t.py")
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        c.call("POST", base + "/upload?strip=1", raw=bio.getvalue(),
               headers={"Content-Type": "application/x-tar"}, expect=201)
        c.call("POST", base + "/upload", raw=b"not an archive",
               headers={"Content-Type": "application/x-tar"})
        # executions
        ex = c.call("POST", base + "/exec", {"command": "echo hi; echo err >&2; exit 3",
                                             "prompt": "p", "model": "m"}, expect=200).json()
        c.call("POST", base + "/exec", {"code": "print(1)", "env": {"K": "v"},
                                        "timeout_ms": 10000}, expect=200)
        c.call("POST", base + "/exec", {"command": "true", "argv": ["true"]}, expect=422,
               bad=True)
        c.call("POST", base + "/exec", {"command": "sleep 5", "timeout_ms": 300}, expect=200)
        evs = c.sse("POST", base + "/exec", {"command": "echo one; echo two >&2"})
        check(evs[-1][0] == "exit", evs)
        bg = c.call("POST", base + "/exec", {"command": "cat; sleep 30", "background": True},
                    expect=202).json()
        eb = "/v1/execs/" + bg["id"]
        c.call("POST", eb + "/stdin", {"data": "in\n"}, expect=202)
        c.call("GET", eb, expect=200)
        c.call("POST", eb + "/kill", {}, expect=202)
        for _ in range(100):
            if p.request("GET", eb).json()["status"] == "finished":
                break
            time.sleep(0.05)
        c.call("POST", eb + "/kill", {}, expect=409)
        c.call("POST", eb + "/stdin", {"data": "late"})
        c.sse("GET", eb + "/stream")
        c.call("GET", "/v1/execs/" + ex["id"] + "/sbom", expect=200)
        c.call("GET", "/v1/execs/ex_aaaaaaaaaaaaaaaaaaaaaaaa/sbom", expect=404)
        c.call("GET", base + "/execs", expect=200)
        p.request("PUT", base + "/files/test_t.py",
                  raw=b"import unittest\nclass T(unittest.TestCase):\n"
                      b"    def test_a(self): pass\n")
        c.call("POST", base + "/exec", {"test": True}, expect=200)
        if "/v1/sandboxes/{id}/sync" in spec["paths"]:
            _exercise_sync(c, base)
        _exercise_serve(c, base)
    finally:
        c.call("DELETE", base, expect=204)
    # keys
    k = c.call("POST", "/v1/keys", {"role": "agent", "name": "spec"}, expect=201).json()
    c.call("POST", "/v1/keys", {"role": "root"}, expect=422, bad=True)
    c.call("GET", "/v1/keys", expect=200)
    c.call("DELETE", "/v1/keys/" + k["id"], expect=204)
    c.call("DELETE", "/v1/keys/" + k["id"], expect=404)
    # policies
    pol = {"name": "spec-web", "allow": [{"host": "api.example.test", "methods": ["GET"]}]}
    c.call("PUT", "/v1/policies/spec-web", pol, expect=201)
    c.call("PUT", "/v1/policies/spec-web", pol, expect=200)
    c.call("PUT", "/v1/policies/deny-all", {"name": "deny-all"}, expect=409)
    c.call("GET", "/v1/policies", expect=200)
    c.call("GET", "/v1/policies/spec-web", expect=200)
    c.call("DELETE", "/v1/policies/spec-web", expect=204)
    c.call("GET", "/v1/policies/spec-web", expect=404)
    # secrets
    sec = {"name": "spec-s", "value": "v-9c1", "hosts": ["api.example.test"],
           "inject": {"header": "Authorization", "format": "Bearer {value}"}}
    c.call("POST", "/v1/secrets", sec, expect=201)
    c.call("POST", "/v1/secrets", sec, expect=409)
    c.call("GET", "/v1/secrets", expect=200)
    c.call("GET", "/v1/secrets/spec-s", expect=200)
    c.call("PUT", "/v1/secrets/spec-s", {"value": "w"}, expect=200)
    c.call("DELETE", "/v1/secrets/spec-s", expect=204)
    c.call("GET", "/v1/secrets/spec-s", expect=404)
    # audit
    aud = p.key("auditor")
    recs = c.call("GET", "/v1/audit/records?from=0&limit=3", token=aud, expect=200).json()
    c.call("GET", "/v1/audit/records?limit=0", token=aud, expect=422)
    c.call("GET", "/v1/audit/records/1", token=aud, expect=200)
    c.call("GET", "/v1/audit/records/99999999", token=aud, expect=404)
    c.call("GET", "/v1/audit/checkpoint", token=aud, expect=200)
    c.call("GET", "/v1/audit/proof/consistency?from=1&to=2", token=aud, expect=200)
    c.call("GET", "/v1/audit/proof/consistency?from=2&to=1", token=aud, expect=422)
    blob = json.loads(recs["records"][0]["record"])
    c.call("GET", "/v1/audit/blobs/" + ex["audit"]["leaf_hash"], token=aud)
    check(blob["seq"] == 0)
    c.call("GET", "/v1/audit/export?from=0&to=2", token=aud, expect=200)
    c.call("GET", "/v1/audit/public-key", token=aud, expect=200)
    c.call("GET", "/v1/audit/sinks", token=aud, expect=200)
    c.call("GET", "/v1/audit/sinks", token=p.key("agent"), expect=403)
    c.call("GET", "/v1/audit/witnesses", token=aud, expect=200)
    c.call("GET", "/console/", token=None, expect=200)
    c.call("GET", "/console/console.js", token=None, expect=200)
    c.call("GET", "/console/nothing-here.js", token=None, expect=404)
    missing = {(m.upper(), path) for path, item in spec["paths"].items()
               for m in item if m in METHODS} - c.seen - OWN_OPS
    check(not missing, "operations the test did not exercise: %s" % sorted(missing))
