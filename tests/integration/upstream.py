"""Local HTTPS (and HTTP) upstreams for the egress tests, on 127.0.0.1 only.

A test CA (made here with the openssl command) signs one server certificate
for the test names; the proxy trusts it through egress.upstream_ca_file and
the config's resolve map points the names at 127.0.0.1.  The echo server
answers every request with what it received (method, target, headers,
body), and keeps every request, so tests can see where a credential went
and where it did not.
"""
import http.server
import json
import os
import ssl
import subprocess
import threading

NAMES = ["api.payments.test", "status.payments.test", "other.test",
         "pypi.registry.test", "npm.registry.test", "go.registry.test",
         "maven.registry.test",
         "echo.payments.test"]


def make_pki(d):
    """Writes ca.pem, ca.key, server.pem, server.key into d; returns d."""
    def run(*args):
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=d)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "2", "-subj", "/CN=Petri test upstream CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out",
        "server.csr", "-subj", "/CN=%s" % NAMES[0])
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + n for n in NAMES) +
                "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
        "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days",
        "2", "-extfile", "ext.cnf")
    os.chmod(os.path.join(d, "ca.pem"), 0o644)
    return d


class Echo:
    """An HTTPS (tls=True) or HTTP echo server on 127.0.0.1."""

    def __init__(self, pki_dir=None, tls=True):
        self.seen = []
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n > 0 else b""
                rec = {"method": self.command, "path": self.path,
                       "headers": [[k, v] for k, v in self.headers.items()],
                       "body": body.decode(errors="replace"),
                       "raw": bytes(self.raw_requestline) + bytes(str(self.headers), "latin-1") + body}
                with outer.lock:
                    outer.seen.append(rec)
                if "/redirect" in self.path:
                    self.send_response(302)
                    self.send_header("Location", "https://other.test/landing")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/reflect"):
                    # echoes the Authorization header it received (case 14)
                    out = (self.headers.get("Authorization") or "").encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
                out = json.dumps({k: rec[k] for k in ("method", "path", "headers", "body")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(pki_dir, "server.pem"),
                                os.path.join(pki_dir, "server.key"))
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def requests(self):
        with self.lock:
            return list(self.seen)

    def clear(self):
        with self.lock:
            self.seen.clear()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
