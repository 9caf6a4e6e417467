"""The HTTP transport: one bounded request at a time over http.client.

Standard library only.  A Transport holds the server's URL and the API
key; it never logs either.  Answers with a status of 400 or more raise the
exception class of their error code (see errors.py).
"""
from __future__ import annotations

import http.client
import json
import os
import ssl
import urllib.parse
from typing import IO, Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from .errors import ConnectionFailed, PetriError, error_from_answer

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 300.0
#: the largest answer read into memory (a file download is at most 64 MiB)
MAX_ANSWER = 80 << 20
#: the longest line of a Server-Sent Events stream
MAX_SSE_LINE = 8 << 20

Body = Union[None, bytes, IO[bytes]]


class Answer:
    """A complete answer: status, headers (lower-case names), body."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


class Transport:
    """Sends requests to one petrid.

    url: ``http://host:port`` or ``https://...`` (default ``$PETRI_URL``,
    else ``http://127.0.0.1:8080``); api_key: the bearer key (default
    ``$PETRI_API_KEY``); timeout: seconds for connecting and for each read.
    """

    def __init__(self, url: Optional[str] = None, api_key: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT,
                 ssl_context: Optional[ssl.SSLContext] = None):
        url = url or os.environ.get("PETRI_URL") or DEFAULT_URL
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("PETRI_URL must be http://host[:port] or "
                             "https://host[:port], not %r" % url)
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        key = api_key if api_key is not None else os.environ.get("PETRI_API_KEY")
        self._key = key.strip() if key else None
        self.timeout = timeout
        self._ssl = ssl_context

    def __repr__(self) -> str:  # never shows the key
        return "Transport(%r)" % self.url

    def _conn(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        t = self.timeout if timeout is None else timeout
        if self._https:
            ctx = self._ssl or ssl.create_default_context()
            return http.client.HTTPSConnection(self._host, self._port,
                                               timeout=t, context=ctx)
        return http.client.HTTPConnection(self._host, self._port, timeout=t)

    def path(self, path: str, query: Optional[Mapping[str, Any]] = None) -> str:
        q = ""
        if query:
            items = [(k, _qval(v)) for k, v in query.items() if v is not None]
            if items:
                q = "?" + urllib.parse.urlencode(items)
        return self._prefix + path + q

    def open(self, method: str, path: str, *, query: Optional[Mapping[str, Any]] = None,
             json_body: Any = None,
             body: Body = None, headers: Optional[Mapping[str, str]] = None,
             timeout: Optional[float] = None
             ) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Sends a request and returns the open connection and its answer
        (status < 400); the caller reads the answer and closes the
        connection.  An error answer raises its exception."""
        hdrs = {"Accept": "application/json", "User-Agent": "petri-python/0.1"}
        hdrs.update(headers or {})
        if self._key:
            hdrs["Authorization"] = "Bearer " + self._key
        data: Body = body
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if data is None and method in ("POST", "PUT"):
            data = b""
        conn = self._conn(timeout)
        try:
            conn.request(method, self.path(path, query), body=data, headers=hdrs)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise ConnectionFailed(message="%s %s: %s" % (method, path, e),
                                   code="connection_failed") from None
        if resp.status >= 400:
            try:
                raw = resp.read(64 << 10)
            except (OSError, http.client.HTTPException):
                raw = b""
            conn.close()
            raise error_from_answer(resp.status, raw, resp.getheader("Retry-After"))
        return conn, resp

    def request(self, method: str, path: str, **kw: Any) -> Answer:
        """Sends a request and reads its whole answer (at most MAX_ANSWER)."""
        conn, resp = self.open(method, path, **kw)
        try:
            raw = resp.read(MAX_ANSWER + 1)
            if len(raw) > MAX_ANSWER:
                raise PetriError(message="answer larger than %d bytes" % MAX_ANSWER,
                                 code="answer_too_large")
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return Answer(resp.status, hdrs, raw)
        except (OSError, http.client.HTTPException) as e:
            raise ConnectionFailed(message="%s %s: %s" % (method, path, e),
                                   code="connection_failed") from None
        finally:
            conn.close()

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return self.request(method, path, **kw).json()

    def events(self, method: str, path: str, **kw: Any) -> Iterator[Tuple[str, str]]:
        """Yields (event, data) of a Server-Sent Events answer as each
        event arrives.  Closing the generator closes the connection."""
        hdrs = dict(kw.pop("headers", None) or {})
        hdrs["Accept"] = "text/event-stream"
        conn, resp = self.open(method, path, headers=hdrs, **kw)
        try:
            yield from sse_parse(resp)
        except (OSError, http.client.HTTPException) as e:
            raise ConnectionFailed(message="%s %s: stream broke: %s" % (method, path, e),
                                   code="connection_failed") from None
        finally:
            conn.close()


def sse_parse(stream: IO[bytes]) -> Iterator[Tuple[str, str]]:
    """Parses a text/event-stream: yields (event, data) per event, data
    lines joined by newlines.  Comments and ids are skipped; a line longer
    than MAX_SSE_LINE raises PetriError."""
    event = "message"
    data: List[str] = []
    while True:
        line = stream.readline(MAX_SSE_LINE + 1)
        if not line:
            break
        if len(line) > MAX_SSE_LINE:
            raise PetriError(message="event stream line too long", code="bad_stream")
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if text == "":
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
            continue
        if text.startswith(":"):
            continue
        name, _, value = text.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield event, "\n".join(data)


def _qval(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def quote_path(p: str) -> str:
    """Percent-encodes a workspace path for the URL, keeping slashes; an
    absolute /sandbox/... path is made relative to the workspace."""
    if p == "/sandbox" or p.startswith("/sandbox/"):
        p = p[len("/sandbox"):]
    return urllib.parse.quote(p.lstrip("/"), safe="/")
