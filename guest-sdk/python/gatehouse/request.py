"""The request an endpoint handles, already admitted by the platform's gate."""

import json as _json
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from wit_world.imports import types as _types

from .errors import BadRequest

__all__ = ["Request", "Part"]


class Part(NamedTuple):
    """One part of a `multipart/form-data` body."""
    name: str
    file_name: Optional[str]
    content_type: Optional[str]
    data: bytes


class Request:
    """One request: method, path, route parameters, query, headers and body."""

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
            raise BadRequest("the request body is empty; send a JSON document")
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise BadRequest(f"the request body is not valid JSON: {e}", code="INVALID_JSON")

    def multipart(self) -> List[Part]:
        """The parts of a `multipart/form-data` body (the platform has already
        enforced the endpoint's upload policy); 400 if it is not one."""
        ct = self.header("content-type") or ""
        boundary = next((p.strip()[len("boundary="):].strip('"') for p in ct.split(";")
                         if p.strip().startswith("boundary=")), None)
        if boundary is None or not ct.lower().startswith("multipart/form-data"):
            raise BadRequest("send Content-Type: multipart/form-data with a boundary")
        return _parse_multipart(self.body, boundary)


def _parse_multipart(body: bytes, boundary: str) -> List[Part]:
    malformed = BadRequest("the multipart body is malformed")
    delimiter = b"--" + boundary.encode()
    pos = body.find(delimiter)
    if pos < 0:
        raise malformed
    pos += len(delimiter)
    parts: List[Part] = []
    while body[pos:pos + 2] != b"--":
        pos += 2  # the CRLF after a delimiter
        headers_end = body.find(b"\r\n\r\n", pos)
        if headers_end < 0:
            raise malformed
        data_end = body.find(b"\r\n" + delimiter, headers_end + 4)
        if data_end < 0:
            raise malformed
        name, file_name, content_type = "", None, None
        for line in body[pos:headers_end].decode("utf-8", errors="replace").split("\r\n"):
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "content-disposition":
                for attr in (a.strip() for a in value.split(";")):
                    if attr.startswith("name="):
                        name = attr[len("name="):].strip('"')
                    elif attr.startswith("filename="):
                        file_name = attr[len("filename="):].strip('"')
            elif key == "content-type":
                content_type = value.strip()
        parts.append(Part(name, file_name, content_type, body[headers_end + 4:data_end]))
        pos = data_end + 2 + len(delimiter)
    return parts
