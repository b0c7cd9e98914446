"""Stand-ins for the platform's bindings, for running a handler off the
platform (a unit test on a laptop, under pytest or unittest). On the platform,
componentize-py provides `wit_world` and `componentize_py_types`; when they
are missing, `gatehouse` installs these modules under those names instead, so
every SDK call lands here, and `gatehouse.testing` says what they answer.
They keep the platform's shapes and failures: `?` parameters and the same
error variants for the database (SQLite in memory, like the platform's own
default), the same `HttpError` variants for refused or failing calls."""

import enum
import sqlite3
import sys
import types as _pytypes
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple


class Err(Exception):
    """componentize-py's error wrapper: the WIT error is `.value`."""

    def __init__(self, value: Any):
        super().__init__(value)
        self.value = value


def _variant(module: _pytypes.ModuleType, name: str, has_value: bool = True) -> None:
    """A WIT variant case as a class named like componentize-py's (`DbError_Constraint`)."""
    if has_value:
        cls = dataclass(type(name, (), {"__annotations__": {"value": Any}}))
    else:
        cls = dataclass(type(name, (), {}))
    setattr(module, name, cls)


class State:
    """What the stand-ins answer; `gatehouse.testing.TestPlatform` sets it."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.caller: Any = None
        self.config: dict = {}
        self.db: Optional[sqlite3.Connection] = None
        self.routes: List[Tuple[str, str, Callable[[Any], Any]]] = []
        self.calls: List[Any] = []
        self.max_calls = 10
        self.logs: List[Tuple[str, str]] = []
        self.stream_head: Optional[Tuple[int, list]] = None
        self.stream: List[Any] = []
        self.client_left = False


STATE = State()


def _build() -> dict:
    world = _pytypes.ModuleType("wit_world")
    imports = _pytypes.ModuleType("wit_world.imports")
    exports = _pytypes.ModuleType("wit_world.exports")
    world.imports, world.exports = imports, exports

    class Handler:
        """The export a component implements; `@endpoint` subclasses it."""

    exports.Handler = Handler

    # types
    t = _pytypes.ModuleType("wit_world.imports.types")
    t.ErrorKind = enum.Enum("ErrorKind", [
        "BAD_REQUEST", "VALIDATION_FAILED", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT",
        "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "UNPROCESSABLE", "TOO_MANY_REQUESTS", "INTERNAL",
        "UNAVAILABLE",
    ])

    @dataclass
    class Error:
        kind: Any
        message: str
        code: Optional[str] = None
        details: Optional[str] = None

    @dataclass
    class Response:
        status: int
        headers: List[Tuple[str, str]]
        body: bytes

    @dataclass
    class Request:
        method: str
        path: str
        params: List[Tuple[str, str]]
        query: List[Tuple[str, str]]
        headers: List[Tuple[str, str]]
        body: bytes
        request_id: str

    t.Error, t.Response, t.Request = Error, Response, Request

    # auth
    a = _pytypes.ModuleType("wit_world.imports.auth")
    a.Kind = enum.Enum("Kind", ["API_KEY", "SESSION", "ANONYMOUS"])

    @dataclass
    class Context:
        kind: Any
        tenant: str
        user_id: Optional[str]
        key_id: Optional[str]
        scopes: List[str]
        claims_json: Optional[str]

    a.Context = Context
    a.current = lambda: STATE.caller

    # config
    c = _pytypes.ModuleType("wit_world.imports.config")
    c.get = lambda name: STATE.config.get(name)

    # db
    d = _pytypes.ModuleType("wit_world.imports.db")
    for name in ("Value_Boolean", "Value_Integer", "Value_Real", "Value_Text", "Value_Blob", "Value_Json"):
        _variant(d, name)
    _variant(d, "Value_Null", has_value=False)
    for name in ("Unavailable", "Constraint", "Denied", "TooLarge", "Invalid"):
        _variant(d, f"DbError_{name}")
    _variant(d, "DbError_Timeout", has_value=False)

    @dataclass
    class Rows:
        columns: List[str]
        rows: List[List[Any]]

    d.Rows = Rows

    def to_sql(v: Any) -> Any:
        return None if isinstance(v, d.Value_Null) else v.value

    def from_sql(v: Any) -> Any:
        if v is None:
            return d.Value_Null()
        if isinstance(v, bool):
            return d.Value_Boolean(v)
        if isinstance(v, int):
            return d.Value_Integer(v)
        if isinstance(v, float):
            return d.Value_Real(v)
        if isinstance(v, bytes):
            return d.Value_Blob(v)
        return d.Value_Text(str(v))

    def connection() -> sqlite3.Connection:
        if STATE.db is None:
            raise Err(d.DbError_Unavailable("no database: open a TestPlatform (with its migrations) first"))
        return STATE.db

    def run(conn: sqlite3.Connection, sql: str, params: list) -> sqlite3.Cursor:
        try:
            return conn.execute(sql, [to_sql(p) for p in params])
        except sqlite3.IntegrityError as e:
            raise Err(d.DbError_Constraint(str(e)))
        except sqlite3.Error as e:
            raise Err(d.DbError_Invalid(str(e)))

    def query(sql: str, params: list, conn: Optional[sqlite3.Connection] = None) -> Rows:
        cursor = run(conn or connection(), sql, params)
        columns = [c[0] for c in cursor.description or []]
        return Rows(columns, [[from_sql(v) for v in row] for row in cursor.fetchall()])

    def execute(sql: str, params: list, conn: Optional[sqlite3.Connection] = None) -> int:
        return max(run(conn or connection(), sql, params).rowcount, 0)

    class Transaction:
        """A transaction on the one in-memory database (savepoints, so they nest)."""

        def __init__(self) -> None:
            self._name = f"tx{id(self)}"
            run(connection(), f"SAVEPOINT {self._name}", [])

        def query(self, sql: str, params: list) -> Rows:
            return query(sql, params)

        def execute(self, sql: str, params: list) -> int:
            return execute(sql, params)

        def commit(self) -> None:
            run(connection(), f"RELEASE {self._name}", [])

        def rollback(self) -> None:
            run(connection(), f"ROLLBACK TO {self._name}", [])
            run(connection(), f"RELEASE {self._name}", [])

    d.query, d.execute, d.begin, d.Transaction = query, execute, Transaction, Transaction

    # http-out
    h = _pytypes.ModuleType("wit_world.imports.http_out")
    for name in ("NotAllowed", "InvalidUrl", "TooManyCalls", "ResponseTooLarge", "Connection"):
        _variant(h, f"HttpError_{name}")
    _variant(h, "HttpError_Timeout", has_value=False)

    @dataclass
    class OutgoingRequest:
        method: str
        url: str
        headers: List[Tuple[str, str]]
        body: Optional[bytes]
        timeout_ms: Optional[int]

    @dataclass
    class IncomingResponse:
        status: int
        headers: List[Tuple[str, str]]
        body: bytes

    class Body:
        def __init__(self, chunks: List[bytes]) -> None:
            self._chunks = list(chunks)

        def read(self, max_bytes: int) -> Optional[bytes]:
            if not self._chunks:
                return None
            chunk = self._chunks.pop(0)
            if len(chunk) > max_bytes:
                chunk, rest = chunk[:max_bytes], chunk[max_bytes:]
                self._chunks.insert(0, rest)
            return chunk

    @dataclass
    class StreamingResponse:
        status: int
        headers: List[Tuple[str, str]]
        body: Any

    def answer(request: OutgoingRequest) -> Any:
        if len(STATE.calls) >= STATE.max_calls:
            raise Err(h.HttpError_TooManyCalls(STATE.max_calls))
        STATE.calls.append(request)
        for method, url, respond in STATE.routes:
            if method == request.method and url == request.url:
                return respond(request)
        raise Err(h.HttpError_NotAllowed(f"{request.method} {request.url} is not mocked in this test"))

    def fetch(request: OutgoingRequest) -> IncomingResponse:
        status, headers, chunks = answer(request)
        return IncomingResponse(status, headers, b"".join(chunks))

    def fetch_streaming(request: OutgoingRequest) -> StreamingResponse:
        status, headers, chunks = answer(request)
        return StreamingResponse(status, headers, Body(chunks))

    h.OutgoingRequest, h.IncomingResponse, h.StreamingResponse = OutgoingRequest, IncomingResponse, StreamingResponse
    h.fetch, h.fetch_streaming = fetch, fetch_streaming

    # log
    lg = _pytypes.ModuleType("wit_world.imports.log")
    lg.Level = enum.Enum("Level", ["DEBUG", "INFO", "WARN", "ERROR"])
    lg.log = lambda level, message: STATE.logs.append((level.name, message))

    # streaming
    s = _pytypes.ModuleType("wit_world.imports.streaming")
    _variant(s, "StreamError_Closed", has_value=False)
    _variant(s, "StreamError_TooLarge")

    @dataclass
    class SseEvent:
        event: Optional[str]
        data: str
        id: Optional[str]
        retry_ms: Optional[int]

    def check_open() -> None:
        if STATE.client_left:
            raise Err(s.StreamError_Closed())

    def start(status: int, headers: list) -> None:
        check_open()
        STATE.stream_head = (status, headers)

    def write(chunk: bytes) -> None:
        check_open()
        STATE.stream_head = STATE.stream_head or (200, [])
        STATE.stream.append(bytes(chunk))

    def send_event(event: SseEvent) -> None:
        check_open()
        STATE.stream_head = STATE.stream_head or (200, [("content-type", "text/event-stream")])
        STATE.stream.append(event)

    s.SseEvent, s.start, s.write, s.send_event = SseEvent, start, write, send_event

    imports.types, imports.auth, imports.config, imports.db = t, a, c, d
    imports.http_out, imports.log, imports.streaming = h, lg, s
    cpt = _pytypes.ModuleType("componentize_py_types")
    cpt.Err = Err
    modules = {"wit_world": world, "wit_world.imports": imports, "wit_world.exports": exports,
               "componentize_py_types": cpt}
    for name, module in (("types", t), ("auth", a), ("config", c), ("db", d), ("http_out", h), ("log", lg),
                         ("streaming", s)):
        modules[f"wit_world.imports.{name}"] = module
    return modules


def install() -> None:
    """Puts the stand-ins where the SDK imports its bindings from."""
    for name, module in _build().items():
        sys.modules.setdefault(name, module)
