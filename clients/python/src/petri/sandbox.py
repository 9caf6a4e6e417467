"""Sandbox: one isolated workspace and container on a petrid."""
from __future__ import annotations

import time
from typing import (TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Union)

from . import _sync
from ._http import Transport, quote_path
from .errors import NotFound, PetriError
from .models import (Event, ExecResult, FileEntry, Limits, SandboxInfo,
                     UploadResult, build)

if TYPE_CHECKING:
    from .client import Petri

Command = Union[str, Sequence[str], None]
_EXEC_OPTS = ("cwd", "env", "stdin", "timeout_ms", "prompt", "model", "labels",
              "install", "fresh")


def _exec_body(command: Command, code: Optional[str], argv: Optional[Sequence[str]],
               filename: Optional[str], opts: Mapping[str, Any]) -> Dict[str, Any]:
    body: Dict[str, Any] = {}
    if isinstance(command, str):
        body["command"] = command
    elif command is not None:
        body["argv"] = list(command)
    if argv is not None:
        body["argv"] = list(argv)
    if code is not None:
        body["code"] = code
    if filename is not None:
        body["filename"] = filename
    for k, v in opts.items():
        if k not in _EXEC_OPTS:
            raise TypeError("unknown execution option %r" % k)
        if v is not None:
            body[k] = v
    return body


def _limits(limits: Union[None, Limits, Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if limits is None:
        return None
    if isinstance(limits, Limits):
        return {k: v for k, v in vars(limits).items() if v is not None}
    return dict(limits)


class Files:
    """The workspace's files (paths relative to /sandbox)."""

    def __init__(self, sb: "Sandbox"):
        self._sb = sb

    def _url(self, path: str) -> str:
        return "/v1/sandboxes/%s/files/%s" % (self._sb.id, quote_path(path))

    def write(self, path: str, data: Union[bytes, str], mode: Optional[int] = None) -> FileEntry:
        """Writes one file (created or replaced atomically); mode 0o644 or
        0o755."""
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        q = {"mode": "%o" % mode} if mode is not None else None
        ans = self._sb._t.json("PUT", self._url(path), body=raw, query=q,
                               headers={"Content-Type": "application/octet-stream"})
        return build(FileEntry, (ans.get("files") or [{}])[0])

    def read(self, path: str) -> bytes:
        """The file's bytes (at most 64 MiB)."""
        return self._sb._t.request("GET", self._url(path),
                                   headers={"Accept": "*/*"}).body

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        return self.read(path).decode(encoding)

    def list(self, path: Optional[str] = None, recursive: bool = False) -> List[FileEntry]:
        """Entries of a directory (the workspace's root by default); links
        are never followed."""
        ans = self._sb._t.json("GET", "/v1/sandboxes/%s/files" % self._sb.id,
                               query={"path": path, "recursive": recursive or None})
        return [build(FileEntry, e) for e in ans.get("files") or []]

    def remove(self, path: str, missing_ok: bool = False) -> None:
        """Removes a file, or a directory with all it holds."""
        try:
            self._sb._t.request("DELETE", self._url(path))
        except NotFound:
            if not missing_ok:
                raise


class Execution:
    """A background execution started by Sandbox.start()."""

    def __init__(self, t: Transport, id: str):
        self._t = t
        self.id = id

    def __repr__(self) -> str:
        return "Execution(%r)" % self.id

    def get(self) -> ExecResult:
        """The execution as it is now (status ``running`` or ``finished``;
        the output so far)."""
        return ExecResult.from_json(self._t.json("GET", "/v1/execs/%s" % self.id))

    def write(self, data: Union[str, bytes], eof: bool = False) -> None:
        """Writes to the program's standard input; eof closes it."""
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        self._t.request("POST", "/v1/execs/%s/stdin" % self.id,
                        json_body={"data": text, "eof": eof})

    stdin = write

    def close_stdin(self) -> None:
        self.write("", eof=True)

    def kill(self) -> None:
        """Stops the program (SIGKILL).  Conflict when it already ended."""
        self._t.request("POST", "/v1/execs/%s/kill" % self.id, json_body={})

    def stream(self) -> Iterator[Event]:
        """Follows the output as it is written (from the start), ending
        with the ``exit`` event."""
        return _events(self._t.events("GET", "/v1/execs/%s/stream" % self.id))

    def wait(self, timeout: Optional[float] = None, interval: float = 0.1) -> ExecResult:
        """Polls until the execution finished; TimeoutError after timeout
        seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            r = self.get()
            if r.status != "running" and r.status != "killing":
                return r
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("execution %s still running" % self.id)
            time.sleep(interval)
            interval = min(interval * 1.5, 1.0)


def _events(raw: Iterator[Any]) -> Iterator[Event]:
    import json

    for name, data in raw:
        try:
            val = json.loads(data)
        except ValueError:
            val = data
        if name == "exit" and isinstance(val, dict):
            yield Event(event=name, result=ExecResult.from_json(val))
        else:
            yield Event(event=name, data=val if isinstance(val, str) else data)


class Sandbox:
    """A sandbox: created when constructed, deleted by delete() or at the
    end of a ``with`` block (also when the block raises).

    >>> with Sandbox(language="python") as sb:
    ...     print(sb.exec("print(6 * 7)").output)
    """

    def __init__(self, language: str = "python", *, limits: Union[None, Limits, Mapping[str, Any]] = None,
                 env: Optional[Mapping[str, str]] = None,
                 labels: Optional[Mapping[str, str]] = None, policy: Optional[str] = None,
                 secrets: Optional[Sequence[str]] = None, ttl_seconds: Optional[int] = None,
                 runtime: Optional[str] = None, client: Optional["Petri"] = None,
                 url: Optional[str] = None, api_key: Optional[str] = None,
                 _info: Optional[SandboxInfo] = None):
        if client is None:
            from .client import Petri
            client = Petri(url=url, api_key=api_key)
        self.client = client
        self._t: Transport = client._t
        if _info is None:
            body: Dict[str, Any] = {"language": language}
            for k, v in (("limits", _limits(limits)), ("env", env), ("labels", labels),
                         ("policy", policy), ("secrets", secrets),
                         ("ttl_seconds", ttl_seconds), ("runtime", runtime)):
                if v is not None:
                    body[k] = dict(v) if isinstance(v, Mapping) else (
                        list(v) if isinstance(v, (list, tuple)) else v)
            _info = SandboxInfo.from_json(self._t.json("POST", "/v1/sandboxes", json_body=body))
        self._info = _info
        self.id: str = _info.id
        self.files: Files = Files(self)
        self._deleted = False

    @classmethod
    def connect(cls, id: str, *, client: Optional["Petri"] = None, url: Optional[str] = None,
                api_key: Optional[str] = None) -> "Sandbox":
        """Attaches to an existing sandbox (NotFound when there is none in
        the key's tenant)."""
        if client is None:
            from .client import Petri
            client = Petri(url=url, api_key=api_key)
        info = SandboxInfo.from_json(client._t.json("GET", "/v1/sandboxes/%s" % quote_path(id)))
        return cls(info.language, client=client, _info=info)

    def __repr__(self) -> str:
        return "Sandbox(%r, language=%r)" % (self.id, self._info.language)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.delete()
        except PetriError:
            if exc_type is None:
                raise
            # the body's exception is the one the caller must see; a
            # sandbox left behind expires with its TTL

    # --- lifetime -------------------------------------------------------

    @property
    def language(self) -> str:
        return self._info.language

    def info(self) -> SandboxInfo:
        """The sandbox as it is now."""
        self._info = SandboxInfo.from_json(self._t.json("GET", "/v1/sandboxes/%s" % self.id))
        return self._info

    def keepalive(self, ttl_seconds: Optional[int] = None) -> str:
        """Extends the sandbox's life; returns the new expires_at."""
        body = {"ttl_seconds": ttl_seconds} if ttl_seconds is not None else {}
        ans = self._t.json("POST", "/v1/sandboxes/%s/keepalive" % self.id, json_body=body)
        return str(ans.get("expires_at", ""))

    def delete(self) -> None:
        """Removes the sandbox (container, workspace); the audit records
        stay.  Deleting one that is already gone is not an error."""
        if self._deleted:
            return
        try:
            self._t.request("DELETE", "/v1/sandboxes/%s" % self.id)
        except NotFound:
            pass
        self._deleted = True

    close = delete

    # --- executions -----------------------------------------------------

    def exec(self, code: str, **opts: Any) -> ExecResult:
        """Runs a piece of code with the sandbox language's interpreter or
        toolchain.  Options as for run()."""
        return self._exec(_exec_body(None, code, None, None, opts))

    def run(self, command: Command = None, *, argv: Optional[Sequence[str]] = None,
            filename: Optional[str] = None, code: Optional[str] = None,
            **opts: Any) -> ExecResult:
        """Runs a command: a string goes to /bin/sh -c, a list is an argv
        run without a shell.  Options: cwd, env, stdin, timeout_ms, prompt,
        model, labels, install ("auto", "skip", "only"), fresh."""
        return self._exec(_exec_body(command, code, argv, filename, opts))

    def test(self, command: Command = None, **opts: Any) -> ExecResult:
        """Test mode: installs dependencies, starts command (if any) as the
        app and waits until it listens, runs the detected test runner;
        the result's ``test`` holds the counts."""
        body = _exec_body(command, None, None, None, opts)
        body["test"] = True
        return self._exec(body)

    def stream(self, command: Command = None, *, argv: Optional[Sequence[str]] = None,
               filename: Optional[str] = None, code: Optional[str] = None,
               **opts: Any) -> Iterator[Event]:
        """Like run(), yielding events as they arrive: ``install``,
        ``stdout``, ``stderr`` chunks, then ``exit`` with the result."""
        body = _exec_body(command, code, argv, filename, opts)
        return _events(self._t.events("POST", "/v1/sandboxes/%s/exec" % self.id,
                                      json_body=body))

    def start(self, command: Command = None, *, argv: Optional[Sequence[str]] = None,
              filename: Optional[str] = None, code: Optional[str] = None,
              **opts: Any) -> Execution:
        """Starts a background execution (no timeout unless timeout_ms)."""
        body = _exec_body(command, code, argv, filename, opts)
        body["background"] = True
        ans = self._t.json("POST", "/v1/sandboxes/%s/exec" % self.id, json_body=body)
        return Execution(self._t, str(ans["id"]))

    def execs(self) -> List[ExecResult]:
        """The sandbox's last executions (newest first, without output)."""
        ans = self._t.json("GET", "/v1/sandboxes/%s/execs" % self.id)
        return [ExecResult.from_json(e) for e in ans.get("execs") or []]

    def _exec(self, body: Dict[str, Any]) -> ExecResult:
        return ExecResult.from_json(
            self._t.json("POST", "/v1/sandboxes/%s/exec" % self.id, json_body=body))

    # --- files ----------------------------------------------------------

    def upload(self, path: str, *, target: str = ".", delete: bool = False,
               strip: Optional[int] = None) -> UploadResult:
        """Uploads a local directory or archive (zip, tar, tar.gz/bz2/xz/zst).

        A directory goes by delta sync: only files missing or different in
        the workspace under target are sent, and with delete=True the
        workspace files not in the directory are removed, all in one atomic
        commit.  On a server without the sync routes the whole directory is
        sent as one archive.  .git, node_modules and __pycache__ are not
        sent; symbolic links are skipped.  (In that fallback, delete with a
        target other than the root removes the target directory first: two
        steps, not one commit.)  An archive is unpacked at the workspace
        root (strip: leading path components to drop; delete: replace the
        workspace)."""
        return _sync.upload(self, path, target=target, delete=delete, strip=strip)
