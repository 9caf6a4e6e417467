/**
 * Errors.  Every API error is {"error": {"code", "message", "request_id"}}
 * with an HTTP status; it becomes the class registered for its code (else
 * for its status), with the server's message unchanged.
 */

export class PetriError extends Error {
  /** HTTP status (0: no answer). */
  readonly status: number;
  /** The API's error code, e.g. "invalid_request". */
  readonly code: string;
  readonly requestId: string | undefined;
  /** Seconds the server asked to wait (Retry-After), when it said so. */
  readonly retryAfter: number | undefined;

  constructor(message: string, status = 0, code = "error", requestId?: string,
              retryAfter?: number) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

/** The server could not be reached, timed out, or the connection broke. */
export class ConnectionFailed extends PetriError {}
/** 400 invalid_json. */
export class InvalidJSON extends PetriError {}
/** 401: the API key is missing, unknown or revoked. */
export class Unauthorized extends PetriError {}
/** 403: the key's role may not use this route. */
export class Forbidden extends PetriError {}
/** 404: no such resource in the caller's tenant (or no such route). */
export class NotFound extends PetriError {}
/** 405: the route exists but not with this method. */
export class MethodNotAllowed extends PetriError {}
/** 409: the resource's state does not allow the request. */
export class Conflict extends PetriError {}
/** 409 sync_conflict: the workspace changed during a delta sync. */
export class SyncConflict extends Conflict {}
/** 413: a body, archive or file is over a limit. */
export class TooLarge extends PetriError {}
/** 422 invalid_request: validation failed; the message names the field. */
export class Invalid extends PetriError {}
/** 429: a quota was reached; retryAfter says when to try again. */
export class LimitReached extends PetriError {}
/** 503: Docker or the audit log does not answer; see retryAfter. */
export class Unavailable extends PetriError {}
/** The install step failed, so the program did not run (from raiseForError). */
export class InstallFailed extends PetriError {}

type ErrorClass = new (message: string, status?: number, code?: string,
                       requestId?: string, retryAfter?: number) => PetriError;

const byCode: Record<string, ErrorClass> = {
  invalid_json: InvalidJSON, unauthorized: Unauthorized, forbidden: Forbidden,
  not_found: NotFound, method_not_allowed: MethodNotAllowed, conflict: Conflict,
  sync_conflict: SyncConflict, too_large: TooLarge, invalid_request: Invalid,
  limit_reached: LimitReached, unavailable: Unavailable, install_failed: InstallFailed,
};

const byStatus: Record<number, ErrorClass> = {
  400: InvalidJSON, 401: Unauthorized, 403: Forbidden, 404: NotFound,
  405: MethodNotAllowed, 409: Conflict, 413: TooLarge, 422: Invalid,
  429: LimitReached, 503: Unavailable,
};

/** Builds the error for an answer with status >= 400. */
export function errorFromAnswer(status: number, body: string,
                                retryAfter?: string | null): PetriError {
  let code = "", message = "", requestId: string | undefined;
  try {
    const doc = JSON.parse(body) as { error?: { code?: unknown; message?: unknown; request_id?: unknown } };
    if (doc && typeof doc.error === "object" && doc.error !== null) {
      code = typeof doc.error.code === "string" ? doc.error.code : "";
      message = typeof doc.error.message === "string" ? doc.error.message : "";
      requestId = typeof doc.error.request_id === "string" ? doc.error.request_id : undefined;
    }
  } catch {
    /* not JSON: the text below says what came back */
  }
  if (!message)
    message = body.slice(0, 200).trim() || `HTTP ${status}`;
  let after: number | undefined;
  if (retryAfter != null && /^\s*\d+(\.\d+)?\s*$/.test(retryAfter))
    after = Number(retryAfter);
  const Cls = byCode[code] ?? byStatus[status] ?? PetriError;
  return new Cls(message, status, code || `http_${status}`, requestId, after);
}
