"""Exceptions raised by the SDK.

Every error the API answers is ``{"error": {"code", "message",
"request_id"}}`` with an HTTP status; it becomes an instance of the class
registered for its code (else for its status), keeping the server's message
word for word.  Problems on the way to the server (refused connection,
timeout, a broken stream) raise :class:`ConnectionFailed`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Type

__all__ = [
    "PetriError", "ConnectionFailed", "InvalidJSON", "Unauthorized",
    "Forbidden", "NotFound", "MethodNotAllowed", "Conflict", "SyncConflict",
    "TooLarge", "Invalid", "LimitReached", "Unavailable", "InstallFailed",
    "error_from_answer",
]


@dataclass(eq=False)
class PetriError(Exception):
    """An error answered by petrid (or met on the way to it)."""

    message: str
    status: int = 0
    code: str = "error"
    request_id: Optional[str] = None
    #: seconds the server asked to wait (``Retry-After``), when it said so
    retry_after: Optional[float] = None

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        where = " [%s]" % self.request_id if self.request_id else ""
        if self.status:
            return "%d %s: %s%s" % (self.status, self.code, self.message, where)
        return "%s: %s" % (self.code, self.message)


class ConnectionFailed(PetriError):
    """The server could not be reached, or the connection broke."""


class InvalidJSON(PetriError):
    """400 ``invalid_json``: the request body was not JSON."""


class Unauthorized(PetriError):
    """401: the API key is missing, unknown or revoked."""


class Forbidden(PetriError):
    """403: the key's role may not use this route."""


class NotFound(PetriError):
    """404: no such resource in the caller's tenant (or no such route)."""


class MethodNotAllowed(PetriError):
    """405: the route exists but not with this method."""


class Conflict(PetriError):
    """409: the resource's state does not allow the request."""


class SyncConflict(Conflict):
    """409 ``sync_conflict``: the workspace changed during a delta sync."""


class TooLarge(PetriError):
    """413: a body, archive or file is over a limit."""


class Invalid(PetriError):
    """422 ``invalid_request``: validation failed; the message names the
    field."""


class LimitReached(PetriError):
    """429: a quota was reached; ``retry_after`` says when to try again."""


class Unavailable(PetriError):
    """503: Docker or the audit log is not available; ``retry_after``
    says when to try again."""


class InstallFailed(PetriError):
    """The dependency install step failed, so the program did not run.

    Not raised by the SDK itself (the API answers 200 and the result's
    ``error`` says so); :meth:`petri.ExecResult.raise_for_error` raises
    it."""


_BY_CODE: Dict[str, Type[PetriError]] = {
    "invalid_json": InvalidJSON,
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "method_not_allowed": MethodNotAllowed,
    "conflict": Conflict,
    "sync_conflict": SyncConflict,
    "too_large": TooLarge,
    "invalid_request": Invalid,
    "limit_reached": LimitReached,
    "unavailable": Unavailable,
    "install_failed": InstallFailed,
}

_BY_STATUS: Dict[int, Type[PetriError]] = {
    400: InvalidJSON, 401: Unauthorized, 403: Forbidden, 404: NotFound,
    405: MethodNotAllowed, 409: Conflict, 413: TooLarge, 422: Invalid,
    429: LimitReached, 503: Unavailable,
}


def _retry_after(value: Optional[str]) -> Optional[float]:
    if value is None:
        return None
    try:
        secs = float(value.strip())
    except ValueError:
        return None  # an HTTP date: petrid sends seconds only
    return secs if secs >= 0 else None


def error_from_answer(status: int, body: bytes,
                      retry_after: Optional[str] = None) -> PetriError:
    """Builds the exception for an error answer (status >= 400)."""
    import json

    code, message, request_id = "", "", None
    try:
        doc = json.loads(body.decode("utf-8"))
        err = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(err, dict):
            code = str(err.get("code") or "")
            message = str(err.get("message") or "")
            rid = err.get("request_id")
            request_id = str(rid) if rid is not None else None
    except (ValueError, UnicodeDecodeError):
        pass
    if not message:
        text = body[:200].decode("utf-8", "replace").strip()
        message = text or "HTTP %d" % status
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status) or PetriError
    return cls(message=message, status=status, code=code or "http_%d" % status,
               request_id=request_id, retry_after=_retry_after(retry_after))
