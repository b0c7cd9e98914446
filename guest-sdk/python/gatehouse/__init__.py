"""Gatehouse SDK for Python endpoints.

Write a function from a `Request` to a value, mark it with `@endpoint`, and
`gatehouse build` (or `gatehouse serve`) turns the folder's `app.py` into a
WebAssembly component with componentize-py::

    from gatehouse import Request, endpoint, json_response

    @endpoint
    def handle(req: Request):
        return json_response({"message": f"Hello {req.query('name') or 'World'}"})

Errors are exceptions (`gatehouse.errors`): raise `NotFound("…")` and the
platform answers with its error envelope. Capabilities are submodules, each a
thin layer over the WIT import of the same name, imported the usual way:
`from gatehouse import db` or `from gatehouse.db import query`:

- `gatehouse.auth`: `current()`, `has_scope(scope)`;
- `gatehouse.config`: `get(name)`;
- `gatehouse.db`: `query`, `execute`, `transaction()`;
- `gatehouse.blobs`: `put`, `get`, `head`, `delete`, `list`, `signed_url`;
- `gatehouse.http`: `fetch`, `fetch_stream` (with `events()` for server-sent events);
- `gatehouse.stream`: `send_event`, `start`, `write`, `Closed`;
- `gatehouse.log`: `debug`, `info`, `warn`, `error`.
"""

try:
    import wit_world  # noqa: F401  (the platform's bindings, inside a component)
except ImportError:
    # Off the platform (a unit test on a laptop): stand-ins that
    # `gatehouse.testing` controls, with the platform's shapes and failures.
    from . import _offplatform

    _offplatform.install()

from . import auth, blobs, config, db, errors, http, log, stream
from .errors import (
    BadRequest, Conflict, Forbidden, HttpError, Internal, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized,
    Unavailable, Unprocessable, UnsupportedMediaType, ValidationFailed, bad_request, conflict, forbidden, internal,
    not_found, unauthorized, unavailable, unprocessable, validation_failed,
)
from .handler import endpoint
from .request import Part, Request
from .response import Response, created, json_response, ok, response
from .stream import Closed as StreamClosed

__all__ = [
    "Request", "Part", "Response", "endpoint", "ok", "created", "json_response", "response",
    "HttpError", "BadRequest", "ValidationFailed", "Unauthorized", "Forbidden", "NotFound", "Conflict",
    "PayloadTooLarge", "UnsupportedMediaType", "Unprocessable", "TooManyRequests", "Internal", "Unavailable",
    "bad_request", "unauthorized", "forbidden", "not_found", "conflict", "unprocessable", "validation_failed",
    "internal", "unavailable", "auth", "blobs", "config", "db", "errors", "http", "stream", "log", "StreamClosed",
]
