"""Unit-test a handler without the platform, under pytest or unittest::

    from gatehouse.testing import TestPlatform
    from app import handle

    def test_reads_a_post():
        with TestPlatform(user="ada", scopes=["read"], migrations="migrations") as p:
            p.db.execute("INSERT INTO posts (title, author_id) VALUES (?, ?)", ("Hi", "ada"))
            p.mock("GET", "https://api.example.com/v1/x", json={"ok": True})
            r = p.call(handle, "GET", "/api/posts/1", params={"id": "1"})
            assert r.status == 200 and r.json()["data"]["title"] == "Hi"

Inside the block every SDK call is answered here: `auth` by the caller you
describe, `config.get` by `config=`, `db` by an SQLite database in memory
(with your migrations applied, `?` parameters and the platform's error codes:
a constraint is 409 `DB_CONSTRAINT`), `http.fetch` by the answers you `mock`
(anything else is refused like a host not in `allowed_hosts`), `blobs` by
object storage in memory (the platform's key rules and error codes: a key
with a `..` segment is 500 `BLOB_INVALID`; `p.blobs` shows what is stored),
and `log` and `stream` are recorded. A raised `HttpError` comes back as the
platform's error envelope with its status; any other exception propagates, as
a bug should.
"""

import json as _json
import sqlite3
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from . import _offplatform
from .errors import HttpError
from .request import Request
from .response import Response

__all__ = ["TestPlatform", "TestResponse"]

try:
    import wit_world as _world
except ImportError:  # pragma: no cover - gatehouse installed the stand-ins already
    _world = None

_STATUS = {
    "bad-request": (400, "BAD_REQUEST"), "validation-failed": (400, "VALIDATION_FAILED"),
    "unauthorized": (401, "UNAUTHORIZED"), "forbidden": (403, "FORBIDDEN"), "not-found": (404, "NOT_FOUND"),
    "conflict": (409, "CONFLICT"), "payload-too-large": (413, "PAYLOAD_TOO_LARGE"),
    "unsupported-media-type": (415, "UNSUPPORTED_MEDIA_TYPE"), "unprocessable": (422, "UNPROCESSABLE"),
    "too-many-requests": (429, "RATE_LIMIT_EXCEEDED"), "internal": (500, "INTERNAL_ERROR"),
    "unavailable": (503, "SERVICE_UNAVAILABLE"),
}

Headers = List[Tuple[str, str]]


class TestResponse:
    """What the handler answered, as the client would get it."""

    def __init__(self, status: int, headers: Headers, body: bytes, events: Optional[List[Tuple[Optional[str], str]]] = None):
        self.status = status
        self.headers = headers
        self.body = body
        #: For a streamed answer, each server-sent event as (event name, data).
        self.events = events or []

    def header(self, name: str) -> Optional[str]:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.body)


class TestPlatform:
    """The platform as one handler call sees it; use as a context manager."""

    def __init__(self, *, user: Optional[str] = None, scopes: Iterable[str] = (), kind: Optional[str] = None,
                 claims: Optional[Dict[str, Any]] = None, tenant: str = "test", config: Optional[Dict[str, str]] = None,
                 migrations: Union[str, Path, None] = None, max_calls: int = 10,
                 max_blob_bytes: int = _offplatform.DEFAULT_MAX_BLOB_BYTES,
                 blob_quota_bytes: int = _offplatform.DEFAULT_BLOB_QUOTA_BYTES,
                 max_blob_objects: int = _offplatform.DEFAULT_MAX_BLOB_OBJECTS):
        """`user`/`scopes`: the caller (an API key by default; `kind="session"` with `claims`, or
        nobody when neither is given). `config`: the endpoint's variables and secrets.
        `migrations`: a folder of `*.sql` files (its `sqlite/` subfolder if it has one).
        `max_blob_bytes`: the largest object `blobs.put` takes (413 `BLOB_TOO_LARGE` above it);
        `blob_quota_bytes` and `max_blob_objects`: the bytes and objects all may take (413
        `BLOB_QUOTA_EXCEEDED`); the platform's defaults, 10 MiB, 1 GiB and 100 000, unless given."""
        self.kind = kind or ("api-key" if user is not None or scopes else "anonymous")
        self.user, self.scopes, self.claims, self.tenant = user, list(scopes), claims, tenant
        self.config = dict(config or {})
        self.migrations = Path(migrations) if migrations is not None else None
        self.max_calls = max_calls
        self.max_blob_bytes, self.blob_quota_bytes, self.max_blob_objects = (
            max_blob_bytes, blob_quota_bytes, max_blob_objects)
        self.db: Optional[sqlite3.Connection] = None

    def __enter__(self) -> "TestPlatform":
        state = _offplatform.STATE
        if _world is None or not hasattr(_world.imports, "db") or not hasattr(_world.imports.db, "Rows"):
            raise RuntimeError("gatehouse.testing runs off the platform only")
        state.reset()
        auth = _world.imports.auth
        kinds = {"api-key": auth.Kind.API_KEY, "session": auth.Kind.SESSION}
        state.caller = auth.Context(
            kind=kinds.get(self.kind, auth.Kind.ANONYMOUS), tenant=self.tenant, user_id=self.user,
            key_id="test_key" if self.kind == "api-key" else None, scopes=self.scopes,
            claims_json=_json.dumps(self.claims) if self.claims is not None else None)
        state.config = self.config
        state.max_calls = self.max_calls
        state.max_blob_bytes, state.blob_quota_bytes = self.max_blob_bytes, self.blob_quota_bytes
        state.max_blob_objects = self.max_blob_objects
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        state.db = self.db
        if self.migrations is not None:
            folder = self.migrations / "sqlite" if (self.migrations / "sqlite").is_dir() else self.migrations
            for file in sorted(folder.glob("*.sql")):
                self.db.executescript(file.read_text())
        return self

    def __exit__(self, *exc: Any) -> bool:
        if self.db is not None:
            self.db.close()
        _offplatform.STATE.reset()
        return False

    def mock(self, method: str, url: str, *, status: int = 200, json: Any = None, body: Union[bytes, str] = b"",
             headers: Headers = (), chunks: Optional[List[bytes]] = None, fail: Optional[str] = None) -> None:
        """What `http.fetch(url, method)` answers: a response (`json=` or `body=`; `chunks=` for one read
        piece by piece), or `fail="timeout"` / `"unreachable"` for the platform's 503 failures."""
        h = _world.imports.http_out

        def respond(request: Any) -> Any:
            if fail == "timeout":
                raise _offplatform.Err(h.HttpError_Timeout())
            if fail is not None:
                raise _offplatform.Err(h.HttpError_Connection(f"{url}: {fail}"))
            head = list(headers)
            data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            if json is not None:
                data = _json.dumps(json).encode("utf-8")
                head.append(("content-type", "application/json"))
            return status, head, list(chunks) if chunks is not None else [data]

        _offplatform.STATE.routes.append((method.upper(), url, respond))

    @property
    def calls(self) -> List[Any]:
        """The outbound requests the handler made (method, url, headers, body)."""
        return list(_offplatform.STATE.calls)

    @property
    def logs(self) -> List[Tuple[str, str]]:
        """The handler's log lines, as (level, message)."""
        return list(_offplatform.STATE.logs)

    @property
    def blobs(self) -> Dict[str, Tuple[str, bytes]]:
        """The objects stored, as key → (content type, bytes). Store fixtures with
        `gatehouse.blobs.put` inside the block."""
        return {k: (ct, data) for k, (ct, data, _) in sorted(_offplatform.STATE.blobs.items())}

    def call(self, handler: Callable[[Request], Any], method: str = "GET", path: str = "/", *,
             params: Optional[Dict[str, str]] = None, query: Optional[Dict[str, str]] = None,
             headers: Optional[Headers] = None, json: Any = None, body: Union[bytes, str] = b"",
             request_id: str = "test-request") -> TestResponse:
        """Calls `handler` (the function under `@endpoint`) with one request, as the platform would
        after its gate admitted it, and returns what the client would get."""
        head = [(k.lower(), v) for k, v in (headers or [])]
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        if json is not None:
            data = _json.dumps(json).encode("utf-8")
            if not any(k == "content-type" for k, _ in head):
                head.append(("content-type", "application/json"))
        raw = _world.imports.types.Request(
            method=method.upper(), path=path, params=list((params or {}).items()),
            query=list((query or {}).items()), headers=head, body=data, request_id=request_id)
        state = _offplatform.STATE
        state.stream_head, state.stream = None, []
        try:
            result = handler(Request(raw))
        except HttpError as e:
            status, code = _STATUS[e.kind]
            envelope: Dict[str, Any] = {"success": False, "error": e.message, "code": e.code or code}
            if e.details is not None:
                envelope["details"] = e.details
            envelope["requestId"] = request_id
            return TestResponse(status, [("content-type", "application/json")], _json.dumps(envelope).encode())
        if state.stream_head is not None:
            return _streamed(state)
        if not isinstance(result, Response):
            from .response import ok
            result = ok(result)
        return TestResponse(result.status, list(result.headers), bytes(result.body))


def _streamed(state: Any) -> TestResponse:
    status, headers = state.stream_head
    body, events = b"", []
    for item in state.stream:
        if isinstance(item, bytes):
            body += item
            continue
        events.append((item.event, item.data))
        text = (f"event: {item.event}\n" if item.event else "") + "".join(f"data: {line}\n" for line in item.data.split("\n"))
        body += (text + "\n").encode("utf-8")
    return TestResponse(status, list(headers), body, events)
