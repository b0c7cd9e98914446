"""Outbound HTTP, to the endpoint's `allowed_hosts` only: `fetch` for a whole
answer, `fetch_stream` for one read as it arrives (with `events()` for an
upstream's server-sent events). A failure raises an `HttpError` with the same
code as in every SDK (`UPSTREAM_TIMEOUT` is a 503, …)."""

import json as _json
from typing import Any, Iterator, List, NamedTuple, Optional, Tuple

from componentize_py_types import Err as _Err
from wit_world.imports import http_out as _http

from .errors import Unavailable, _failure

__all__ = ["fetch", "fetch_stream", "FetchResponse", "StreamingResponse", "SseMessage"]

Headers = List[Tuple[str, str]]


def _header(headers: Headers, name: str) -> Optional[str]:
    name = name.lower()
    return next((v for k, v in headers if k.lower() == name), None)


class FetchResponse:
    """An upstream's whole answer."""

    def __init__(self, r: "_http.IncomingResponse"):
        self.status: int = r.status
        self.headers: Headers = list(r.headers)
        self.body: bytes = bytes(r.body)

    def header(self, name: str) -> Optional[str]:
        """The first value of a header (names are case-insensitive)."""
        return _header(self.headers, name)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; 503 UPSTREAM_INVALID_RESPONSE if it is not."""
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise Unavailable(f"the upstream answered with JSON this endpoint cannot read: {e}",
                              "UPSTREAM_INVALID_RESPONSE")


class SseMessage(NamedTuple):
    """One upstream server-sent event: its `event:` name, if any, and its `data:` lines joined."""
    event: Optional[str]
    data: str


class StreamingResponse:
    """An upstream's answer whose body is read as it arrives."""

    def __init__(self, r: "_http.StreamingResponse"):
        self.status: int = r.status
        self.headers: Headers = list(r.headers)
        self._body = r.body

    def header(self, name: str) -> Optional[str]:
        return _header(self.headers, name)

    def read(self) -> Optional[bytes]:
        """The next chunk of the body (at most 64 KiB), `None` at its end."""
        try:
            chunk = self._body.read(64 * 1024)
        except _Err as e:
            raise _failure(e)
        return None if chunk is None else bytes(chunk)

    def events(self) -> Iterator[SseMessage]:
        """The body as server-sent events, each as soon as it is complete."""
        buffer, done = "", False
        while True:
            buffer = buffer.replace("\r\n", "\n")
            end = buffer.find("\n\n")
            if end >= 0:
                block, buffer = buffer[:end], buffer[end + 2:]
                event, lines = None, []
                for line in block.split("\n"):
                    if line.startswith("event:"):
                        event = line[len("event:"):].strip()
                    elif line.startswith("data:"):
                        value = line[len("data:"):]
                        lines.append(value[1:] if value.startswith(" ") else value)
                if lines or event is not None:
                    yield SseMessage(event, "\n".join(lines))
                continue
            if done:
                return
            chunk = self.read()
            if chunk is None:
                done = True
                if buffer.strip():
                    buffer += "\n\n"
            else:
                buffer += chunk.decode("utf-8", errors="replace")


def _request(url: str, method: str, headers: Optional[Headers], body: Any, json: Any,
             timeout_ms: Optional[int]) -> "_http.OutgoingRequest":
    h = list(headers or [])
    if json is not None:
        body = _json.dumps(json, separators=(",", ":")).encode("utf-8")
        h.append(("content-type", "application/json"))
    if isinstance(body, str):
        body = body.encode("utf-8")
    return _http.OutgoingRequest(method=method.upper(), url=url, headers=h, body=body, timeout_ms=timeout_ms)


def fetch(url: str, method: str = "GET", headers: Optional[Headers] = None, body: Any = None, json: Any = None,
          timeout_ms: Optional[int] = None) -> FetchResponse:
    """Sends a request and reads the whole answer. `json=` sends a JSON body."""
    try:
        return FetchResponse(_http.fetch(_request(url, method, headers, body, json, timeout_ms)))
    except _Err as e:
        raise _failure(e)


def fetch_stream(url: str, method: str = "GET", headers: Optional[Headers] = None, body: Any = None,
                 json: Any = None, timeout_ms: Optional[int] = None) -> StreamingResponse:
    """Sends a request and returns as soon as the answer's head arrives; read
    the body with `read()` or `events()`."""
    try:
        return StreamingResponse(_http.fetch_streaming(_request(url, method, headers, body, json, timeout_ms)))
    except _Err as e:
        raise _failure(e)
