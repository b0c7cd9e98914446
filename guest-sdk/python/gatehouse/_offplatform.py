"""Stand-ins for the platform's bindings, for running a handler off the
platform (a unit test on a laptop, under pytest or unittest). On the platform,
componentize-py provides `wit_world` and `componentize_py_types`; when they
are missing, `gatehouse` installs these modules under those names instead, so
every SDK call lands here, and `gatehouse.testing` says what they answer.
They keep the platform's shapes and failures: `?` parameters and the same
error variants for the database (SQLite in memory, like the platform's own
default), the same `HttpError` variants for refused or failing calls, and
object storage in memory with the platform's key rules and `BlobError`s."""

import enum
import sqlite3
import sys
import time
import types as _pytypes
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple


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


# The platform's rules for object storage calls, and its default limits.
MAX_KEY_BYTES = 1024
MAX_CONTENT_TYPE_BYTES = 255
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_LIST_LIMIT = 1000
MAX_URL_EXPIRY = 7 * 86_400
DEFAULT_MAX_BLOB_BYTES = 10 << 20
DEFAULT_BLOB_QUOTA_BYTES = 1024 << 20
DEFAULT_MAX_BLOB_OBJECTS = 100_000
#: What a signed URL's path escapes in a key besides controls and non-ASCII bytes, as the platform does.
_URL_ESCAPED = frozenset(b" \"#%<>?`{}+&=;'[]^|")
_TOKEN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&-^_.+")


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
        #: Object storage: key → (content type, bytes, modified ms).
        self.blobs: Dict[str, Tuple[str, bytes, int]] = {}
        self.max_blob_bytes = DEFAULT_MAX_BLOB_BYTES
        self.blob_quota_bytes = DEFAULT_BLOB_QUOTA_BYTES
        self.max_blob_objects = DEFAULT_MAX_BLOB_OBJECTS


STATE = State()


def _text_problem(text: str, what: str) -> Optional[str]:
    size = len(text.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        return f"{what} may be at most {MAX_KEY_BYTES} bytes; this one is {size}"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\\" for c in text):
        return f"{what} may not hold control characters or `\\`: {text!r}"
    return None


def key_problem(key: str) -> Optional[str]:
    """Why `key` is not an object key the platform takes, or None if it is."""
    if key == "":
        return "a key may not be empty"
    problem = _text_problem(key, "a key")
    if problem is not None:
        return problem
    if key.startswith("/"):
        return f"key `{key}` starts with `/`: keys are relative, like `uploads/cat.png`"
    for segment in key.split("/"):
        if segment == "":
            return f"key `{key}` has an empty segment (`//` or a trailing `/`)"
        if segment in (".", ".."):
            return f"key `{key}` has a `{segment}` segment"
    return None


def prefix_problem(prefix: str) -> Optional[str]:
    """Why `prefix` (or a listing's `after`) is refused: any start of a valid key may be given."""
    if prefix == "":
        return None
    problem = _text_problem(prefix, "a prefix")
    if problem is None and prefix.startswith("/"):
        problem = f"prefix `{prefix}` starts with `/`: keys are relative"
    return problem


def content_type_problem(given: str) -> Optional[str]:
    """Why a content type is refused: it must look like `image/png` (parameters allowed), printable ASCII."""
    given = given.strip()
    if given == "":
        return None
    essence = given.split(";")[0].strip()
    kind, slash, sub = essence.partition("/")
    shaped = bool(slash) and all(part and all(ord(c) in _TOKEN for c in part) for part in (kind, sub))
    printable = all(0x20 <= ord(c) < 0x7F for c in given)
    if len(given) > MAX_CONTENT_TYPE_BYTES or not printable or not shaped:
        return (f"{given!r} is not a content type: write it like `image/png` "
                f"(at most {MAX_CONTENT_TYPE_BYTES} characters)")
    return None


def url_path(key: str) -> str:
    """A key as a URL path after `/_blobs/`: each byte outside the kept ASCII as `%XX`."""
    return "".join(chr(b) if 0x20 < b < 0x7F and b not in _URL_ESCAPED else f"%{b:02X}"
                   for b in key.encode("utf-8"))


def _blobs_module() -> _pytypes.ModuleType:
    """`gatehouse:endpoint/blobs`: objects in memory (`STATE.blobs`) under the platform's rules."""
    b = _pytypes.ModuleType("wit_world.imports.blobs")
    for name in ("Unavailable", "Invalid", "QuotaExceeded", "TooLarge"):
        _variant(b, f"BlobError_{name}")

    @dataclass
    class ObjectInfo:
        key: str
        content_type: str
        size: int
        modified_ms: int

    @dataclass
    class Object:
        info: ObjectInfo
        data: bytes

    @dataclass
    class Listing:
        objects: List[ObjectInfo]
        next: Optional[str]

    b.ObjectInfo, b.Object, b.Listing = ObjectInfo, Object, Listing

    def refuse(problem: Optional[str]) -> None:
        if problem is not None:
            raise Err(b.BlobError_Invalid(problem))

    def info(key: str) -> ObjectInfo:
        content_type, data, modified_ms = STATE.blobs[key]
        return ObjectInfo(key, content_type, len(data), modified_ms)

    def put(key: str, content_type: str, data: bytes) -> ObjectInfo:
        refuse(key_problem(key))
        refuse(content_type_problem(content_type))
        data = bytes(data)
        if len(data) > STATE.max_blob_bytes:
            raise Err(b.BlobError_TooLarge(
                f"{len(data)} bytes, over the largest object of {STATE.max_blob_bytes} bytes (blobs.max_object_mb)"))
        # As on the platform, an object being replaced counts until the new one is stored.
        used = sum(len(d) for _, d, _ in STATE.blobs.values())
        if used + len(data) > STATE.blob_quota_bytes:
            raise Err(b.BlobError_QuotaExceeded(
                f"{used} of {STATE.blob_quota_bytes} bytes used; this object needs {len(data)} more"))
        if len(STATE.blobs) + 1 > STATE.max_blob_objects:
            raise Err(b.BlobError_QuotaExceeded(
                f"{STATE.max_blob_objects} objects stored, the most a tenant may keep (blobs.max_objects)"))
        STATE.blobs[key] = (content_type.strip() or DEFAULT_CONTENT_TYPE, data, int(time.time() * 1000))
        return info(key)

    def get(key: str) -> Optional[Object]:
        refuse(key_problem(key))
        return Object(info(key), STATE.blobs[key][1]) if key in STATE.blobs else None

    def head(key: str) -> Optional[ObjectInfo]:
        refuse(key_problem(key))
        return info(key) if key in STATE.blobs else None

    def delete(key: str) -> bool:
        refuse(key_problem(key))
        return STATE.blobs.pop(key, None) is not None

    def list_(prefix: str, after: Optional[str], limit: int) -> Listing:
        refuse(prefix_problem(prefix))
        refuse(None if after is None else prefix_problem(after))
        if not 1 <= limit <= MAX_LIST_LIMIT:
            refuse(f"limit must be between 1 and {MAX_LIST_LIMIT}; it is {limit}")
        # Python orders strings by code point: the platform's order, by UTF-8 bytes.
        keys = sorted(k for k in STATE.blobs if k.startswith(prefix) and (after is None or k > after))
        page = keys[:limit]
        return Listing([info(k) for k in page], page[-1] if len(keys) > limit else None)

    def signed_url(key: str, expires_in_seconds: int) -> str:
        refuse(key_problem(key))
        if not 1 <= expires_in_seconds <= MAX_URL_EXPIRY:
            refuse(f"a signed URL may be valid between 1 and {MAX_URL_EXPIRY} seconds (blobs.max_url_expiry); "
                   f"asked for {expires_in_seconds}")
        expires = int(time.time()) + expires_in_seconds
        return f"https://blobs.test/_blobs/{url_path(key)}?expires={expires}&signature=offplatform"

    b.put, b.get, b.head, b.delete, b.list, b.signed_url = put, get, head, delete, list_, signed_url
    return b


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

    b = _blobs_module()

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
    imports.http_out, imports.log, imports.streaming, imports.blobs = h, lg, s, b
    cpt = _pytypes.ModuleType("componentize_py_types")
    cpt.Err = Err
    modules = {"wit_world": world, "wit_world.imports": imports, "wit_world.exports": exports,
               "componentize_py_types": cpt}
    for name, module in (("types", t), ("auth", a), ("config", c), ("db", d), ("http_out", h), ("log", lg),
                         ("streaming", s), ("blobs", b)):
        modules[f"wit_world.imports.{name}"] = module
    return modules


def install() -> None:
    """Puts the stand-ins where the SDK imports its bindings from."""
    for name, module in _build().items():
        sys.modules.setdefault(name, module)
