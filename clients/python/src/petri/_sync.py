"""Uploading a local directory or archive into a workspace.

A directory goes by delta sync when the server has it: the SDK sends a
manifest (path, SHA-256, size of every regular file), the server answers
which files are missing or different, and only those travel, in one tar
committed atomically.  A server without the sync routes answers 404 and
the directory goes as one full tar.gz instead.
"""
from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import tempfile
from typing import IO, TYPE_CHECKING, AbstractSet, Any, Dict, List, Optional, Tuple

from .errors import NotFound, SyncConflict
from .models import FileEntry, UploadResult, build

if TYPE_CHECKING:
    from .sandbox import Sandbox

#: archive types the upload route takes, by file name suffix
ARCHIVE_TYPES = (
    (".tar.gz", "application/gzip"), (".tgz", "application/gzip"),
    (".tar.bz2", "application/x-bzip2"), (".tar.xz", "application/x-xz"),
    (".tar.zst", "application/zstd"), (".tar", "application/x-tar"),
    (".zip", "application/zip"),
)
#: directories never sent (local tool state, not project content)
SKIP_DIRS = frozenset((".git", "__pycache__", "node_modules", ".petri"))
CHUNK = 1 << 20


def scan(root: str, skip: AbstractSet[str] = SKIP_DIRS) -> Dict[str, Tuple[str, int]]:
    """Maps each regular file below root (relative path, '/'-separated) to
    (sha256 hex, size).  Symbolic links and special files are skipped;
    directories named in skip are not entered."""
    out: Dict[str, Tuple[str, int]] = {}
    root = os.path.abspath(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode):
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            h = hashlib.sha256()
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    h.update(chunk)
            out[rel] = (h.hexdigest(), st.st_size)
    return out


def _tar(root: str, names: List[str], prefix: str, gz: bool) -> "tempfile.SpooledTemporaryFile[bytes]":
    spool = tempfile.SpooledTemporaryFile(max_size=16 << 20)
    with tarfile.open(fileobj=spool, mode="w:gz" if gz else "w",
                      format=tarfile.PAX_FORMAT) as t:
        for rel in names:
            full = os.path.join(root, *rel.split("/"))
            ti = t.gettarinfo(full, arcname=prefix + rel)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mode &= 0o755
            with open(full, "rb") as f:
                t.addfile(ti, f)
    spool.seek(0)
    return spool


def _size(f: IO[bytes]) -> int:
    f.seek(0, os.SEEK_END)
    n = int(f.tell())
    f.seek(0)
    return n


def upload(sb: "Sandbox", path: str, target: str = ".", delete: bool = False,
           strip: Optional[int] = None) -> UploadResult:
    """See Sandbox.upload."""
    if os.path.isdir(path):
        try:
            return _sync(sb, path, target, delete)
        except SyncConflict:
            return _sync(sb, path, target, delete)  # changed meanwhile: once more
        except NotFound:
            sb.info()  # raises NotFound itself when the sandbox is gone
            return _archive_dir(sb, path, target, delete)
    return _archive_file(sb, path, strip, delete)


def _sync(sb: "Sandbox", root: str, target: str, delete: bool) -> UploadResult:
    manifest = scan(root)
    files = [{"path": p, "sha256": h, "size": n} for p, (h, n) in sorted(manifest.items())]
    plan = sb._t.json("POST", "/v1/sandboxes/%s/sync" % sb.id,
                      json_body={"path": target, "files": files, "delete": delete})
    want = [p for p in plan.get("upload") or [] if p in manifest]
    if len(want) != len(plan.get("upload") or []):
        raise SyncConflict(message="the server asked for files not in the manifest",
                           code="sync_conflict")
    body: Any = b""
    sent = 0
    if want:
        spool = _tar(root, want, "", gz=True)
        sent = _size(spool)
        body = spool
    try:
        done = sb._t.json("PUT", "/v1/sandboxes/%s/sync/%s" % (sb.id, plan["sync"]),
                          body=body, headers={"Content-Type": "application/gzip" if sent
                                              else "application/x-tar",
                                              "Content-Length": str(sent)})
    finally:
        if hasattr(body, "close"):
            body.close()
    return UploadResult(method="sync", uploaded=int(done.get("uploaded", 0)),
                        deleted=int(done.get("deleted", 0)),
                        unchanged=int(done.get("unchanged", 0)), bytes=sent, raw=done)


def _prefix(target: str) -> str:
    t = target.strip("/")
    if t.startswith("sandbox/"):
        t = t[len("sandbox/"):]
    elif t == "sandbox":
        t = ""
    return "" if t in ("", ".") else t + "/"


def _archive_dir(sb: "Sandbox", root: str, target: str, delete: bool) -> UploadResult:
    prefix = _prefix(target)
    if delete and prefix:
        # the full upload can only replace the whole workspace
        sb.files.remove(prefix.rstrip("/"), missing_ok=True)
    names = sorted(scan(root))
    spool = _tar(root, names, prefix, gz=True)
    try:
        n = _size(spool)
        ans = sb._t.json("POST", "/v1/sandboxes/%s/upload" % sb.id, body=spool,
                         query={"replace": True if delete and not prefix else None},
                         headers={"Content-Type": "application/gzip",
                                  "Content-Length": str(n)})
    finally:
        spool.close()
    entries = [build(FileEntry, e) for e in ans.get("files") or []]
    return UploadResult(method="archive", uploaded=len(entries), bytes=n,
                        files=entries, raw=ans)


def _archive_file(sb: "Sandbox", path: str, strip: Optional[int],
                  delete: bool) -> UploadResult:
    low = os.path.basename(path).lower()
    ctype = next((c for s, c in ARCHIVE_TYPES if low.endswith(s)), "application/octet-stream")
    n = os.path.getsize(path)
    with open(path, "rb") as f:
        ans = sb._t.json("POST", "/v1/sandboxes/%s/upload" % sb.id, body=f,
                         query={"strip": strip, "replace": True if delete else None},
                         headers={"Content-Type": ctype, "Content-Length": str(n)})
    entries = [build(FileEntry, e) for e in ans.get("files") or []]
    return UploadResult(method="archive", uploaded=len(entries), bytes=n,
                        files=entries, raw=ans)

