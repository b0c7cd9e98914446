"""Whole responses: the success envelope (`ok`, `created`), a JSON body of
your own shape (`json_response`), or anything (`response`)."""

import json as _json
from typing import Any, List, Optional, Tuple

from wit_world.imports import types as _types

__all__ = ["Response", "ok", "created", "json_response", "response"]


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


def created(data: Any = None) -> Response:
    """`201 {"success": true, "data": data}`."""
    return ok(data, 201)


def json_response(value: Any, status: int = 200) -> Response:
    """`value` as the whole JSON body, without the envelope (for answers a
    client already expects in another shape, like `{"message": "Hello World"}`)."""
    return Response(status, _json_bytes(value), [("content-type", "application/json")])


def response(status: int, body: Any = b"", content_type: Optional[str] = None,
             headers: Optional[List[Tuple[str, str]]] = None) -> Response:
    """Any response; `content_type` is added as a header if given."""
    h = list(headers or [])
    if content_type:
        h.append(("content-type", content_type))
    return Response(status, body, h)
