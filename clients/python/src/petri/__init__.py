"""Petri SDK: run AI-generated code in an audited Petri sandbox.

    from petri import Sandbox
    with Sandbox(language="python") as sb:   # PETRI_URL, PETRI_API_KEY
        print(sb.exec("print('hello from isolation')").output)

Standard library only.
"""
from .client import Audit, Keys, Petri, Policies, Sandboxes, Secrets
from .errors import (Conflict, ConnectionFailed, Forbidden, InstallFailed, Invalid,
                     InvalidJSON, LimitReached, MethodNotAllowed, NotFound,
                     PetriError, SyncConflict, TooLarge, Unauthorized, Unavailable)
from .models import (ApiKey, AuditRecord, AuditRef, Event, ExecResult, FileEntry,
                     InstallInfo, Limits, NetworkCall, PolicyInfo, SandboxInfo,
                     SbomRef, SecretInfo, TestReport, UploadResult)
from .sandbox import Execution, Files, Sandbox

__version__ = "0.1.0"

__all__ = [
    "Petri", "Sandbox", "Execution", "Files", "Sandboxes", "Keys", "Policies",
    "Secrets", "Audit",
    "ExecResult", "Event", "InstallInfo", "SbomRef", "NetworkCall", "AuditRef",
    "TestReport", "SandboxInfo", "Limits", "FileEntry", "UploadResult", "ApiKey",
    "SecretInfo", "PolicyInfo", "AuditRecord",
    "PetriError", "ConnectionFailed", "InvalidJSON", "Unauthorized", "Forbidden",
    "NotFound", "MethodNotAllowed", "Conflict", "SyncConflict", "TooLarge",
    "Invalid", "LimitReached", "Unavailable", "InstallFailed",
]
