"""Typed results.  Each keeps the whole JSON object it was built from in
``raw``, so fields a newer server adds are not lost."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Type, TypeVar

from .errors import InstallFailed

T = TypeVar("T")


def _build(cls: Type[T], d: Optional[Dict[str, Any]]) -> T:
    d = d or {}
    names = {f.name for f in fields(cls)}
    kw = {k: v for k, v in d.items() if k in names and k != "raw"}
    obj = cls(**kw)
    if "raw" in names:
        object.__setattr__(obj, "raw", dict(d))
    return obj


@dataclass
class AuditRef:
    """Where an action's audit record is: its sequence number, leaf hash
    and API path."""
    seq: int = -1
    leaf_hash: str = ""
    href: str = ""


@dataclass
class InstallInfo:
    """The dependency install step of an execution."""
    ran: bool = False
    exit_code: Optional[int] = None
    manifest: Optional[str] = None
    duration_ms: Optional[int] = None
    log: str = ""
    log_sha256: Optional[str] = None
    log_size: Optional[int] = None


@dataclass
class SbomRef:
    """The CycloneDX SBOM of an execution's dependencies."""
    format: str = ""
    spec_version: str = ""
    components: int = 0
    sha256: str = ""
    href: str = ""


@dataclass
class NetworkCall:
    """One request the sandbox sent through the egress proxy."""
    time: str = ""
    method: str = ""
    scheme: str = ""
    host: str = ""
    port: int = 0
    path: str = ""
    status: Optional[int] = None
    decision: str = ""
    rule: Optional[Any] = None
    reason: Optional[str] = None
    secret: Optional[str] = None
    bytes_out: int = 0
    bytes_in: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class TestReport:
    """The outcome of a test-mode execution."""
    runner: str = ""
    exit_code: Optional[int] = None
    port: Optional[int] = None
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    counted: bool = False
    duration_ms: Optional[int] = None
    report: Optional[Dict[str, Any]] = None


@dataclass
class ExecResult:
    """The answer of an execution.  A non-zero exit is data, not an error."""
    id: str = ""
    sandbox: str = ""
    status: str = ""
    exit_code: Optional[int] = None
    signal: Optional[str] = None
    timed_out: bool = False
    oom_killed: bool = False
    truncated: bool = False
    duration_ms: Optional[int] = None
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    stdout: str = ""
    stderr: str = ""
    #: stdout and stderr interleaved as they were written
    output: str = ""
    install: Optional[InstallInfo] = None
    missing_imports: List[str] = field(default_factory=list)
    sbom: Optional[SbomRef] = None
    network: List[NetworkCall] = field(default_factory=list)
    audit: Optional[AuditRef] = None
    test: Optional[TestReport] = None
    #: {"code", "message"} when the program did not run (install_failed)
    error: Optional[Dict[str, Any]] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "ExecResult":
        r = _build(cls, d)
        r.install = _build(InstallInfo, d["install"]) if d.get("install") else None
        r.sbom = _build(SbomRef, d["sbom"]) if d.get("sbom") else None
        r.audit = _build(AuditRef, d["audit"]) if d.get("audit") else None
        r.test = _build(TestReport, d["test"]) if d.get("test") else None
        r.network = [_build(NetworkCall, n) for n in d.get("network") or []]
        r.missing_imports = list(d.get("missing_imports") or [])
        return r

    @property
    def ok(self) -> bool:
        """True when the program ran and exited 0."""
        return self.error is None and self.exit_code == 0

    def raise_for_error(self) -> "ExecResult":
        """Raises InstallFailed when the program did not run; returns self."""
        if self.error:
            raise InstallFailed(message=str(self.error.get("message", "")),
                                status=200, code=str(self.error.get("code", "")))
        return self


@dataclass
class Event:
    """One Server-Sent Event of a streamed execution: ``event`` is
    ``install``, ``stdout``, ``stderr`` or ``exit``; ``data`` the chunk of
    text; ``result`` the final answer (without output) on ``exit``."""
    event: str
    data: str = ""
    result: Optional[ExecResult] = None


@dataclass
class Limits:
    memory_mb: Optional[int] = None
    cpus: Optional[float] = None
    pids: Optional[int] = None
    timeout_ms: Optional[int] = None
    disk_mb: Optional[int] = None


@dataclass
class SandboxInfo:
    """A sandbox as the API describes it (env names only, never values)."""
    id: str = ""
    language: str = ""
    state: str = ""
    created_at: str = ""
    last_active_at: str = ""
    expires_at: str = ""
    ttl_seconds: Optional[int] = None
    policy: str = ""
    policy_version: Optional[int] = None
    limits: Limits = field(default_factory=Limits)
    labels: Dict[str, str] = field(default_factory=dict)
    runtime: str = ""
    image: str = ""
    env: List[str] = field(default_factory=list)
    secrets: List[str] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "SandboxInfo":
        s = _build(cls, d)
        s.limits = _build(Limits, d.get("limits"))
        return s


@dataclass
class FileEntry:
    """A workspace file or directory."""
    path: str = ""
    type: str = "file"
    size: int = 0
    sha256: Optional[str] = None
    mtime: Optional[str] = None


@dataclass
class UploadResult:
    """What an upload did.  ``method`` is ``"sync"`` (delta sync: only
    missing or changed files were sent) or ``"archive"`` (a full upload)."""
    method: str
    uploaded: int = 0
    deleted: int = 0
    unchanged: int = 0
    #: bytes sent in the request bodies
    bytes: int = 0
    files: List[FileEntry] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ApiKey:
    """An API key's metadata; ``key`` is set only in the answer that
    created it."""
    id: str = ""
    role: str = ""
    tenant: str = ""
    name: str = ""
    created_at: str = ""
    key: Optional[str] = field(default=None, repr=False)


@dataclass
class SecretInfo:
    """A secret's metadata.  The API never answers a secret's value."""
    id: str = ""
    name: str = ""
    version: int = 0
    hosts: List[str] = field(default_factory=list)
    methods: Optional[List[str]] = None
    paths: Optional[List[str]] = None
    port: Optional[int] = None
    inject: Dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    rotated_at: Optional[str] = None
    fingerprint: str = ""


@dataclass
class PolicyInfo:
    """One version of a stored egress policy (``policy``: canonical form)."""
    name: str = ""
    version: int = 0
    sha256: str = ""
    created_at: Optional[str] = None
    builtin: bool = False
    policy: Dict[str, Any] = field(default_factory=dict)


@dataclass
class AuditRecord:
    """One audit record: the exact stored bytes (``record``, JSON text),
    its leaf hash and Ed25519 signature; ``inclusion`` when fetched alone."""
    seq: int = 0
    record: str = ""
    leaf_hash: str = ""
    signature: str = ""
    key_id: str = ""
    inclusion: Optional[Dict[str, Any]] = None

    def fields(self) -> Dict[str, Any]:
        """The record parsed from its stored bytes."""
        import json
        doc = json.loads(self.record)
        return doc if isinstance(doc, dict) else {}


def build(cls: Type[T], d: Optional[Dict[str, Any]]) -> T:
    """Builds dataclass cls from a JSON object, ignoring unknown fields."""
    return _build(cls, d)
