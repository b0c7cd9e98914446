"""Gatehouse SDK for Python endpoints.

Write a function from a `Request` to a value, mark it with `@endpoint`, and
`gatehouse build` (or `gatehouse serve`) turns the folder's `app.py` into a
WebAssembly component with componentize-py::

    from gatehouse import Request, endpoint, ok

    @endpoint
    def handle(req: Request):
        return ok({"message": f"Hello, {req.query('name') or 'World'}!"})

Errors are exceptions: raise `HttpError` (or one of its helpers, such as
`not_found(...)`) and the platform answers with its error envelope. Database,
outbound-HTTP and stream failures raise `HttpError` too, with the same codes as
the Rust SDK (`DB_CONSTRAINT`, `UPSTREAM_TIMEOUT`, ...). Any other exception is
a bug: the guest traps, the client gets 500 GUEST_TRAP and the traceback goes
to the platform log.

The capabilities are modules of this one: `auth`, `config`, `db`, `http`,
`stream` and `log`, each a thin layer over the WIT import of the same name.
"""

import json as _json
import sys as _sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from componentize_py_types import Err as _Err
from wit_world import exports as _exports
from wit_world.imports import auth as _auth
from wit_world.imports import config as _config
from wit_world.imports import db as _db
from wit_world.imports import http_out as _http
from wit_world.imports import log as _log
from wit_world.imports import streaming as _streaming
from wit_world.imports import types as _types

__all__ = [
    "Request", "Response", "HttpError", "endpoint", "ok", "created", "json_response", "response",
    "bad_request", "unauthorized", "forbidden", "not_found", "conflict", "unprocessable",
    "validation_failed", "internal", "unavailable", "auth", "config", "db", "http", "stream", "log",
    "StreamClosed",
]


# ----------------------------------------------------------------------------- requests

class Request:
    """One request, already admitted by the platform's gate."""

    def __init__(self, raw: "_types.Request"):
        self._raw = raw
        self.method: str = raw.method
        self.path: str = raw.path
        self.body: bytes = bytes(raw.body)
        self.request_id: str = raw.request_id
        self.params: Dict[str, str] = dict(raw.params)
        self.headers: List[Tuple[str, str]] = list(raw.headers)

    def param(self, name: str) -> Optional[str]:
        """A route parameter, e.g. `id` for `/api/posts/{id}`."""
        return self.params.get(name)

    def query(self, name: str) -> Optional[str]:
        """The first value of a query parameter."""
        return next((v for k, v in self._raw.query if k == name), None)

    def query_all(self, name: str) -> List[str]:
        """Every value of a query parameter, in order."""
        return [v for k, v in self._raw.query if k == name]

    def header(self, name: str) -> Optional[str]:
        """The first value of a header (names are case-insensitive)."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def text(self) -> str:
        """The body as UTF-8."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; 400 INVALID_JSON if it does not parse."""
        if not self.body:
            raise bad_request("the request body is empty; send a JSON document")
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise bad_request(f"the request body is not valid JSON: {e}", code="INVALID_JSON")


class Response:
    """A whole response: status, headers, body."""

    def __init__(self, status: int = 200, body: Any = b"", headers: Optional[List[Tuple[str, str]]] = None):
        self.status = status
        self.headers = list(headers or [])
        self.body = body.encode("utf-8") if isinstance(body, str) else bytes(body)

    def _to_wit(self) -> "_types.Response":
        return _types.Response(status=self.status, headers=self.headers, body=self.body)


def _json_bytes(value: Any) -> bytes:
    return _json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ok(data: Any = None, status: int = 200) -> Response:
    """`200 {"success": true, "data": data}`."""
    body = b'{"success":true,"data":' + _json_bytes(data) + b"}"
    return Response(status, body, [("content-type", "application/json")])


def json_response(value: Any, status: int = 200) -> Response:
    """`value` as the whole JSON body, without the envelope (for answers a
    client already expects in another shape, like `{"message": "Hello World"}`)."""
    return Response(status, _json_bytes(value), [("content-type", "application/json")])


def created(data: Any = None) -> Response:
    """`201 {"success": true, "data": data}`."""
    return ok(data, 201)


def response(status: int, body: Any = b"", content_type: Optional[str] = None,
             headers: Optional[List[Tuple[str, str]]] = None) -> Response:
    """Any response; `content_type` is added as a header if given."""
    h = list(headers or [])
    if content_type:
        h.append(("content-type", content_type))
    return Response(status, body, h)


# ----------------------------------------------------------------------------- errors

_KINDS = {
    "bad-request": _types.ErrorKind.BAD_REQUEST,
    "validation-failed": _types.ErrorKind.VALIDATION_FAILED,
    "unauthorized": _types.ErrorKind.UNAUTHORIZED,
    "forbidden": _types.ErrorKind.FORBIDDEN,
    "not-found": _types.ErrorKind.NOT_FOUND,
    "conflict": _types.ErrorKind.CONFLICT,
    "payload-too-large": _types.ErrorKind.PAYLOAD_TOO_LARGE,
    "unsupported-media-type": _types.ErrorKind.UNSUPPORTED_MEDIA_TYPE,
    "unprocessable": _types.ErrorKind.UNPROCESSABLE,
    "too-many-requests": _types.ErrorKind.TOO_MANY_REQUESTS,
    "internal": _types.ErrorKind.INTERNAL,
    "unavailable": _types.ErrorKind.UNAVAILABLE,
}


class HttpError(Exception):
    """A failure the platform renders as its error envelope:
    `{"success": false, "error": message, "code": code, "details": details, "requestId": ...}`."""

    def __init__(self, kind: str, message: str, code: Optional[str] = None, details: Any = None):
        if kind not in _KINDS:
            raise ValueError(f"unknown error kind {kind!r}; one of {sorted(_KINDS)}")
        super().__init__(message)
        self.kind, self.message, self.code, self.details = kind, message, code, details

    def with_code(self, code: str) -> "HttpError":
        self.code = code
        return self

    def _to_wit(self) -> "_types.Error":
        details = None if self.details is None else _json.dumps(self.details)
        return _types.Error(kind=_KINDS[self.kind], message=self.message, code=self.code, details=details)


def bad_request(message: str, code: Optional[str] = None) -> HttpError:
    return HttpError("bad-request", message, code)


def validation_failed(details: Dict[str, str], message: str = "the request is not valid") -> HttpError:
    """400 VALIDATION_FAILED; `details` maps JSON pointers to messages."""
    return HttpError("validation-failed", message, None, details)


def unauthorized(message: str, code: Optional[str] = None) -> HttpError:
    return HttpError("unauthorized", message, code)


def forbidden(message: str, code: Optional[str] = None) -> HttpError:
    return HttpError("forbidden", message, code)


def not_found(message: str, code: Optional[str] = None) -> HttpError:
    return HttpError("not-found", message, code)


def conflict(message: str, code: Optional[str] = None) -> HttpError:
    return HttpError("conflict", message, code)


def unprocessable(message: str, code: Optional[str] = None) -> HttpError:
    return HttpError("unprocessable", message, code)


def internal(message: str, code: Optional[str] = None) -> HttpError:
    return HttpError("internal", message, code)


def unavailable(message: str, code: Optional[str] = None) -> HttpError:
    return HttpError("unavailable", message, code)


# ----------------------------------------------------------------------------- the export

def endpoint(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Makes `fn` the endpoint's handler. It returns a `Response`, or any JSON
    value (sent as `ok(value)`), or raises `HttpError`."""

    class Handler(_exports.Handler):
        def handle(self, req: "_types.Request") -> "_types.Response":
            try:
                result = fn(Request(req))
            except HttpError as e:
                raise _Err(e._to_wit())
            if isinstance(result, Response):
                return result._to_wit()
            return ok(result)._to_wit()

    # componentize-py looks for `Handler` in the app module.
    setattr(_sys.modules[fn.__module__], "Handler", Handler)
    return fn


# ----------------------------------------------------------------------------- capabilities

def _failure(e: _Err) -> HttpError:
    """A capability's WIT error as the envelope the Rust SDK would give."""
    v = e.value
    name = type(v).__name__
    text = getattr(v, "value", None)
    table = {
        "DbError_Unavailable": ("unavailable", f"the database is unavailable: {text}", "DB_UNAVAILABLE"),
        "DbError_Constraint": ("conflict", f"the change conflicts with existing data: {text}", "DB_CONSTRAINT"),
        "DbError_Denied": ("internal", f"a database statement was refused: {text}", "DB_DENIED"),
        "DbError_Timeout": ("unavailable", "a database statement ran past its time limit", "DB_TIMEOUT"),
        "DbError_TooLarge": ("internal", f"a database result is too large: {text}", "DB_RESULT_TOO_LARGE"),
        "DbError_Invalid": ("internal", f"a database statement failed: {text}", "DB_ERROR"),
        "HttpError_NotAllowed": ("internal", f"an outbound call was refused: {text}", "OUTBOUND_NOT_ALLOWED"),
        "HttpError_InvalidUrl": ("internal", f"an outbound URL is invalid: {text}", "OUTBOUND_INVALID_URL"),
        "HttpError_TooManyCalls": ("internal", f"this request made more than {text} outbound calls", "OUTBOUND_LIMIT"),
        "HttpError_ResponseTooLarge": ("unavailable", f"the upstream's answer is over {text} bytes",
                                       "UPSTREAM_RESPONSE_TOO_LARGE"),
        "HttpError_Timeout": ("unavailable", "the upstream did not answer in time", "UPSTREAM_TIMEOUT"),
        "HttpError_Connection": ("unavailable", f"the upstream is unreachable: {text}", "UPSTREAM_UNAVAILABLE"),
    }
    kind, message, code = table.get(name, ("internal", f"the response stream failed: {name}", "STREAM_ERROR"))
    return HttpError(kind, message, code)


class _Auth:
    """Who is calling: `auth.current()`."""

    class Principal:
        def __init__(self, c: "_auth.Context"):
            self.kind: str = {"API_KEY": "api-key", "SESSION": "session"}.get(c.kind.name, "anonymous")
            self.tenant: str = c.tenant
            self.user_id: Optional[str] = c.user_id
            self.key_id: Optional[str] = c.key_id
            self.scopes: List[str] = list(c.scopes)
            self.claims: Dict[str, Any] = _json.loads(c.claims_json) if c.claims_json else {}

    def current(self) -> "_Auth.Principal":
        return _Auth.Principal(_auth.current())


class _Config:
    """Variables and granted secrets: `config.get(name)`."""

    def get(self, name: str) -> Optional[str]:
        return _config.get(name)


def _value(v: Any) -> "_db.Value":
    if v is None:
        return _db.Value_Null()
    if isinstance(v, bool):
        return _db.Value_Boolean(v)
    if isinstance(v, int):
        return _db.Value_Integer(v)
    if isinstance(v, float):
        return _db.Value_Real(v)
    if isinstance(v, str):
        return _db.Value_Text(v)
    if isinstance(v, (bytes, bytearray)):
        return _db.Value_Blob(bytes(v))
    return _db.Value_Json(_json.dumps(v))


def _python(v: "_db.Value") -> Any:
    if isinstance(v, _db.Value_Null):
        return None
    if isinstance(v, _db.Value_Json):
        return _json.loads(v.value)
    return v.value


def _rows(r: "_db.Rows") -> List[Dict[str, Any]]:
    return [dict(zip(r.columns, (_python(v) for v in row))) for row in r.rows]


class _Transaction:
    """Statements that commit together. Use as `with db.transaction() as tx:`;
    it commits when the block ends and rolls back if it raises."""

    def __init__(self, tx: "_db.Transaction"):
        self._tx: Optional[_db.Transaction] = tx

    def query(self, sql: str, *params: Any) -> List[Dict[str, Any]]:
        try:
            return _rows(self._tx.query(sql, [_value(p) for p in params]))
        except _Err as e:
            raise _failure(e)

    def execute(self, sql: str, *params: Any) -> int:
        try:
            return self._tx.execute(sql, [_value(p) for p in params])
        except _Err as e:
            raise _failure(e)

    def __enter__(self) -> "_Transaction":
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        tx, self._tx = self._tx, None
        try:
            if kind is None:
                _db.Transaction.commit(tx)
            else:
                _db.Transaction.rollback(tx)
        except _Err as e:
            if kind is None:
                raise _failure(e)
        return False


class _Db:
    """The tenant's database. Parameters are `?` placeholders, values are
    Python values (None, bool, int, float, str, bytes; others as JSON)."""

    def query(self, sql: str, *params: Any) -> List[Dict[str, Any]]:
        """Rows as dicts by column name."""
        try:
            return _rows(_db.query(sql, [_value(p) for p in params]))
        except _Err as e:
            raise _failure(e)

    def execute(self, sql: str, *params: Any) -> int:
        """Rows changed."""
        try:
            return _db.execute(sql, [_value(p) for p in params])
        except _Err as e:
            raise _failure(e)

    def transaction(self) -> _Transaction:
        try:
            return _Transaction(_db.begin())
        except _Err as e:
            raise _failure(e)


class FetchResponse:
    """An upstream's answer."""

    def __init__(self, r: "_http.IncomingResponse"):
        self.status: int = r.status
        self.headers: List[Tuple[str, str]] = list(r.headers)
        self.body: bytes = bytes(r.body)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise unavailable(f"the upstream answered with JSON this endpoint cannot read: {e}",
                              "UPSTREAM_INVALID_RESPONSE")


class _Http:
    """Outbound HTTP, to the endpoint's `allowed_hosts` only."""

    def fetch(self, url: str, method: str = "GET", headers: Optional[List[Tuple[str, str]]] = None,
              body: Any = None, json: Any = None, timeout_ms: Optional[int] = None) -> FetchResponse:
        h = list(headers or [])
        if json is not None:
            body = _json_bytes(json)
            h.append(("content-type", "application/json"))
        if isinstance(body, str):
            body = body.encode("utf-8")
        request = _http.OutgoingRequest(method=method, url=url, headers=h, body=body, timeout_ms=timeout_ms)
        try:
            return FetchResponse(_http.fetch(request))
        except _Err as e:
            raise _failure(e)


class StreamClosed(Exception):
    """The client left: stop producing."""


class _Stream:
    Closed = StreamClosed

    """Streaming responses: server-sent events (`send_event`) or raw chunks
    (`start` then `write`). Once streaming, the stream is the response."""

    def start(self, status: int = 200, headers: Optional[List[Tuple[str, str]]] = None) -> None:
        self._call(_streaming.start, status, list(headers or []))

    def write(self, chunk: Any) -> None:
        self._call(_streaming.write, chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk))

    def send_event(self, data: Any, event: Optional[str] = None, id: Optional[str] = None,
                   retry_ms: Optional[int] = None) -> None:
        """One SSE event; `data` that is not a string is sent as JSON. Raises
        `StreamClosed` once the client has left."""
        text = data if isinstance(data, str) else _json.dumps(data, separators=(",", ":"))
        self._call(_streaming.send_event, _streaming.SseEvent(event=event, data=text, id=id, retry_ms=retry_ms))

    @staticmethod
    def _call(f, *args) -> None:
        try:
            f(*args)
        except _Err as e:
            if type(e.value).__name__ == "StreamError_Closed":
                raise StreamClosed()
            raise _failure(e)


class _Log:
    """Lines in the platform log, with the tenant, route and request id."""

    def debug(self, message: str) -> None:
        _log.log(_log.Level.DEBUG, message)

    def info(self, message: str) -> None:
        _log.log(_log.Level.INFO, message)

    def warn(self, message: str) -> None:
        _log.log(_log.Level.WARN, message)

    def error(self, message: str) -> None:
        _log.log(_log.Level.ERROR, message)


auth = _Auth()
config = _Config()
db = _Db()
http = _Http()
stream = _Stream()
log = _Log()
