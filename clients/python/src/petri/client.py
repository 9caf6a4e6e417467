"""Petri: the client for one petrid (sandboxes, keys, policies, secrets,
audit)."""
from __future__ import annotations

import os
import ssl
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from ._http import DEFAULT_TIMEOUT, Transport, quote_path
from .models import (ApiKey, AuditRecord, PolicyInfo, SandboxInfo, SecretInfo,
                     build)
from .sandbox import Sandbox


def _obj(v: Any) -> Dict[str, Any]:
    return v if isinstance(v, dict) else {}


class Sandboxes:
    def __init__(self, client: "Petri"):
        self._c = client

    def create(self, language: str = "python", **kw: Any) -> Sandbox:
        """Creates a sandbox (options as for Sandbox())."""
        return Sandbox(language, client=self._c, **kw)

    def connect(self, id: str) -> Sandbox:
        return Sandbox.connect(id, client=self._c)

    def list(self, label: Optional[str] = None, state: Optional[str] = None) -> List[SandboxInfo]:
        """The tenant's sandboxes; label "k:v" and state filter them."""
        ans = self._c._t.json("GET", "/v1/sandboxes", query={"label": label, "state": state})
        return [SandboxInfo.from_json(s) for s in ans.get("sandboxes") or []]

    def get(self, id: str) -> SandboxInfo:
        return SandboxInfo.from_json(self._c._t.json("GET", "/v1/sandboxes/%s" % quote_path(id)))

    def delete(self, id: str) -> None:
        self._c._t.request("DELETE", "/v1/sandboxes/%s" % quote_path(id))


class Keys:
    """API keys (admin).  A key's secret is shown once, at creation."""

    def __init__(self, client: "Petri"):
        self._c = client

    def create(self, role: str, tenant: Optional[str] = None, name: Optional[str] = None) -> ApiKey:
        body = {k: v for k, v in (("role", role), ("tenant", tenant), ("name", name))
                if v is not None}
        return build(ApiKey, self._c._t.json("POST", "/v1/keys", json_body=body))

    def list(self) -> List[ApiKey]:
        return [build(ApiKey, k) for k in self._c._t.json("GET", "/v1/keys").get("keys") or []]

    def delete(self, id: str) -> None:
        """Revokes a key at once."""
        self._c._t.request("DELETE", "/v1/keys/%s" % quote_path(id))


class Policies:
    """Egress policies of the caller's tenant (admin)."""

    def __init__(self, client: "Petri"):
        self._c = client

    def list(self) -> List[PolicyInfo]:
        ans = self._c._t.json("GET", "/v1/policies")
        return [build(PolicyInfo, p) for p in ans.get("policies") or []]

    def get(self, name: str) -> PolicyInfo:
        return build(PolicyInfo, self._c._t.json("GET", "/v1/policies/%s" % quote_path(name)))

    def put(self, name: str, policy: Mapping[str, Any]) -> PolicyInfo:
        """Stores a new version of a policy document."""
        return build(PolicyInfo, self._c._t.json("PUT", "/v1/policies/%s" % quote_path(name),
                                                 json_body=dict(policy)))

    def delete(self, name: str) -> None:
        self._c._t.request("DELETE", "/v1/policies/%s" % quote_path(name))


class Secrets:
    """Vault secrets (admin).  Values are write-only: no call returns one."""

    def __init__(self, client: "Petri"):
        self._c = client

    def create(self, name: str, value: str, hosts: Sequence[str], inject: Mapping[str, Any],
               methods: Optional[Sequence[str]] = None, paths: Optional[Sequence[str]] = None,
               port: Optional[int] = None) -> SecretInfo:
        body: Dict[str, Any] = {"name": name, "value": value, "hosts": list(hosts),
                                "inject": dict(inject)}
        for k, v in (("methods", methods), ("paths", paths)):
            if v is not None:
                body[k] = list(v)
        if port is not None:
            body["port"] = port
        return build(SecretInfo, self._c._t.json("POST", "/v1/secrets", json_body=body))

    def list(self) -> List[SecretInfo]:
        return [build(SecretInfo, s) for s in
                self._c._t.json("GET", "/v1/secrets").get("secrets") or []]

    def get(self, name: str) -> SecretInfo:
        return build(SecretInfo, self._c._t.json("GET", "/v1/secrets/%s" % quote_path(name)))

    def update(self, name: str, value: Optional[str] = None, **binding: Any) -> SecretInfo:
        """Rotates the value and/or replaces the binding (hosts, inject,
        methods, paths, port: a complete binding)."""
        body: Dict[str, Any] = dict(binding)
        if value is not None:
            body["value"] = value
        return build(SecretInfo, self._c._t.json("PUT", "/v1/secrets/%s" % quote_path(name),
                                                 json_body=body))

    rotate = update

    def delete(self, name: str) -> None:
        self._c._t.request("DELETE", "/v1/secrets/%s" % quote_path(name))


class Audit:
    """The signed audit log (auditor, admin)."""

    def __init__(self, client: "Petri"):
        self._c = client

    def records(self, from_seq: int = 0, limit: int = 100) -> List[AuditRecord]:
        """At most limit (1..1000) records from sequence number from_seq."""
        ans = self._c._t.json("GET", "/v1/audit/records",
                              query={"from": from_seq, "limit": limit})
        return [build(AuditRecord, r) for r in ans.get("records") or []]

    def iter_records(self, from_seq: int = 0, page: int = 500) -> Iterator[AuditRecord]:
        """Every record from from_seq to the end of the log, page by page."""
        seq = from_seq
        while True:
            batch = self.records(seq, page)
            yield from batch
            if len(batch) < page:
                return
            seq = batch[-1].seq + 1

    def record(self, seq: int) -> AuditRecord:
        """One record with its inclusion proof in the latest checkpoint."""
        return build(AuditRecord, self._c._t.json("GET", "/v1/audit/records/%d" % seq))

    def checkpoint(self) -> str:
        """The latest signed checkpoint (C2SP signed-note text)."""
        return self._c._t.request("GET", "/v1/audit/checkpoint",
                                  headers={"Accept": "text/plain"}).body.decode("utf-8")

    def consistency(self, from_size: int, to_size: int) -> Dict[str, Any]:
        return _obj(self._c._t.json("GET", "/v1/audit/proof/consistency",
                                    query={"from": from_size, "to": to_size}))

    def blob(self, sha256: str) -> bytes:
        return self._c._t.request("GET", "/v1/audit/blobs/%s" % quote_path(sha256),
                                  headers={"Accept": "*/*"}).body

    def public_key(self) -> Dict[str, Any]:
        return _obj(self._c._t.json("GET", "/v1/audit/public-key"))

    def sinks(self) -> Dict[str, Any]:
        return _obj(self._c._t.json("GET", "/v1/audit/sinks"))

    def export(self, path: str, from_seq: Optional[int] = None,
               to_seq: Optional[int] = None) -> int:
        """Writes the offline bundle for petri-verify (a tar) to path, via
        a temporary file renamed into place; returns its size."""
        conn, resp = self._c._t.open("GET", "/v1/audit/export",
                                     query={"from": from_seq, "to": to_seq},
                                     headers={"Accept": "application/x-tar"})
        tmp = "%s.part-%d" % (path, os.getpid())
        n = 0
        try:
            with open(tmp, "wb") as f:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    f.write(chunk)
                    n += len(chunk)
            os.replace(tmp, path)
        finally:
            conn.close()
            if os.path.exists(tmp):
                os.unlink(tmp)
        return n


class Petri:
    """A client for one petrid.

    url defaults to ``$PETRI_URL`` (else http://127.0.0.1:8080), api_key to
    ``$PETRI_API_KEY``.  Every call is one HTTP request; the object holds
    no connection and may be shared between threads.
    """

    def __init__(self, url: Optional[str] = None, api_key: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT, ssl_context: Optional[ssl.SSLContext] = None):
        self._t = Transport(url, api_key, timeout, ssl_context)
        self.sandboxes = Sandboxes(self)
        self.keys = Keys(self)
        self.policies = Policies(self)
        self.secrets = Secrets(self)
        self.audit = Audit(self)

    @property
    def url(self) -> str:
        return self._t.url

    def __repr__(self) -> str:
        return "Petri(%r)" % self._t.url

    def sandbox(self, language: str = "python", **kw: Any) -> Sandbox:
        """Creates a sandbox; same as Sandbox(language, client=self, ...)."""
        return Sandbox(language, client=self, **kw)

    def health(self) -> Dict[str, Any]:
        return _obj(self._t.json("GET", "/healthz"))

    def ready(self) -> Dict[str, Any]:
        """/readyz: Unavailable (503) when Docker or the keeper does not
        answer."""
        return _obj(self._t.json("GET", "/readyz"))
