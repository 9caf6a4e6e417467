"""Local package registries for the dependency tests, on 127.0.0.1 only.

One HTTPS server (the test upstream certificate, names mapped to 127.0.0.1
by the appliance's resolve map) answers as
  - a PEP 503 simple index under /simple/ of wheels built here from tiny
    packages (zip files written by hand: METADATA, WHEEL, RECORD), and
  - a static npm registry under /npm/ (packuments and tarballs).
Nothing is fetched from anywhere else.
"""
import base64
import hashlib
import http.server
import io
import json
import os
import ssl
import tarfile
import threading
import zipfile


def _wheel(name, version, modules, requires=(), license=None, classifier=None):
    """A py3-none-any wheel: modules is {module_name: source}."""
    dist = name.replace("-", "_")
    info = "%s-%s.dist-info" % (dist, version)
    meta = ["Metadata-Version: 2.1", "Name: %s" % name, "Version: %s" % version]
    if license:
        meta.append("License: %s" % license)
    if classifier:
        meta.append("Classifier: %s" % classifier)
    meta += ["Requires-Dist: %s" % r for r in requires]
    files = {"%s.py" % m: src for m, src in modules.items()}
    files[info + "/METADATA"] = "\n".join(meta) + "\n\n"
    files[info + "/WHEEL"] = "Wheel-Version: 1.0\nGenerator: petri-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, text in files.items():
        d = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, d, len(text.encode())))
    record.append(info + "/RECORD,,")
    files[info + "/RECORD"] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return "%s-%s-py3-none-any.whl" % (dist, version), buf.getvalue()


def _npm_tarball(name, version, files, deps=None, license=None):
    pj = {"name": name, "version": version, "main": "index.js"}
    if deps:
        pj["dependencies"] = deps
    if license:
        pj["license"] = license
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        allf = dict(files)
        allf["package.json"] = json.dumps(pj)
        for path, text in allf.items():
            data = text.encode()
            ti = tarfile.TarInfo("package/" + path)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue(), pj


class Registry:
    def __init__(self, pki_dir, pypi_host="pypi.registry.test", npm_host="npm.registry.test"):
        self.wheels = {}     # normalised name -> [(filename, bytes)]
        self.npm = {}        # name -> {version: (tarball bytes, package.json)}
        self.gomods = {}     # module -> {version: (go.mod text, zip bytes)}
        self.maven = {}      # repository path -> bytes
        self.hits = []
        self.lock = threading.Lock()
        self.npm_host = npm_host
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, code, body, ctype="text/html"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                with outer.lock:
                    outer.hits.append(self.path)
                p = self.path.split("?")[0]
                if p.startswith("/simple/"):
                    name = p[len("/simple/"):].strip("/")
                    files = outer.wheels.get(name)
                    if files is None:
                        return self.send(404, b"not found")
                    links = "".join('<a href="/files/%s#sha256=%s">%s</a><br>\n' % (
                        f, hashlib.sha256(b).hexdigest(), f) for f, b in files)
                    return self.send(200, ("<html><body>%s</body></html>" % links).encode())
                if p.startswith("/files/"):
                    fn = p[len("/files/"):]
                    for files in outer.wheels.values():
                        for f, b in files:
                            if f == fn:
                                return self.send(200, b, "application/octet-stream")
                    return self.send(404, b"not found")
                if p.startswith("/go/"):
                    # GOPROXY protocol: <module>/@v/list, <v>.info, .mod, .zip
                    rest = p[len("/go/"):]
                    if "/@v/" not in rest:
                        return self.send(404, b"not found", "text/plain")
                    mod, what = rest.split("/@v/", 1)
                    vers = outer.gomods.get(mod)
                    if vers is None:
                        return self.send(404, b"not found", "text/plain")
                    if what == "list":
                        return self.send(200, ("\n".join(sorted(vers)) + "\n").encode(), "text/plain")
                    for v, (gomod, z) in vers.items():
                        if what == v + ".info":
                            return self.send(200, json.dumps({"Version": v, "Time": "2026-01-01T00:00:00Z"}).encode(),
                                             "application/json")
                        if what == v + ".mod":
                            return self.send(200, gomod.encode(), "text/plain")
                        if what == v + ".zip":
                            return self.send(200, z, "application/zip")
                    return self.send(404, b"not found", "text/plain")
                if p.startswith("/maven/"):
                    b = outer.maven.get(p[len("/maven/"):])
                    if b is None:
                        return self.send(404, b"not found", "text/plain")
                    return self.send(200, b, "application/octet-stream")
                if p.startswith("/npm/"):
                    rest = p[len("/npm/"):].replace("%2f", "/").replace("%2F", "/")
                    if "/-/" in rest:
                        name, fn = rest.split("/-/", 1)
                        for v, (tgz, pj) in outer.npm.get(name, {}).items():
                            if fn == "%s-%s.tgz" % (name.split("/")[-1], v):
                                return self.send(200, tgz, "application/octet-stream")
                        return self.send(404, b"not found")
                    vers = outer.npm.get(rest)
                    if vers is None:
                        return self.send(404, b'{"error":"not found"}', "application/json")
                    port = outer.port
                    doc = {"name": rest, "dist-tags": {"latest": sorted(vers)[-1]}, "versions": {}}
                    for v, (tgz, pj) in vers.items():
                        d = dict(pj)
                        d["dist"] = {
                            "tarball": "https://%s:%d/npm/%s/-/%s-%s.tgz" % (
                                outer.npm_host, port, rest, rest.split("/")[-1], v),
                            "shasum": hashlib.sha1(tgz).hexdigest(),
                            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()}
                        doc["versions"][v] = d
                    return self.send(200, json.dumps(doc).encode(), "application/json")
                return self.send(404, b"not found")

            do_HEAD = do_GET

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(pki_dir, "server.pem"), os.path.join(pki_dir, "server.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.pypi_url = "https://%s:%d/simple/" % (pypi_host, self.port)
        self.npm_url = "https://%s:%d/npm/" % (npm_host, self.port)
        self.go_url = "https://%s:%d/go" % (pypi_host.replace("pypi", "go"), self.port)
        self.maven_url = "https://%s:%d/maven/" % (pypi_host.replace("pypi", "maven"), self.port)

    def add_wheel(self, name, version, modules, **kw):
        fn, data = _wheel(name, version, modules, **kw)
        key = name.lower().replace("_", "-").replace(".", "-")
        self.wheels.setdefault(key, []).append((fn, data))

    def add_npm(self, name, version, files, **kw):
        tgz, pj = _npm_tarball(name, version, files, **kw)
        self.npm.setdefault(name, {})[version] = (tgz, pj)

    def add_gomod(self, module, version, files):
        """A Go module: files {path: source}, zipped as module@version/."""
        gomod = "module %s\n\ngo 1.19\n" % module
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("%s@%s/go.mod" % (module, version), gomod)
            for path, text in files.items():
                z.writestr("%s@%s/%s" % (module, version, path), text)
        self.gomods.setdefault(module, {})[version] = (gomod, buf.getvalue())

    def add_maven(self, group, artifact, version, jar, deps=(), license=None):
        """A jar and its pom; deps: [(group, artifact, version)]."""
        d = "".join("<dependency><groupId>%s</groupId><artifactId>%s</artifactId>"
                    "<version>%s</version></dependency>" % x for x in deps)
        lic = ("<licenses><license><name>%s</name></license></licenses>" % license) if license else ""
        pom = ("<?xml version=\"1.0\"?><project><modelVersion>4.0.0</modelVersion>"
               "<groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version>%s"
               "<dependencies>%s</dependencies></project>" % (group, artifact, version, lic, d))
        base = "%s/%s/%s/%s-%s" % (group.replace(".", "/"), artifact, version, artifact, version)
        self.maven[base + ".pom"] = pom.encode()
        self.maven[base + ".jar"] = jar

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
