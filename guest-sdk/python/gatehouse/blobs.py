"""The tenant's object storage: bytes under keys such as `uploads/u1/cat.png`,
each with its content type. A key is 1 to 1024 bytes of UTF-8, in segments
separated by `/`: no leading `/`, no empty, `.` or `..` segment, no control
characters or backslash. An endpoint reaches its own tenant's objects and
nothing else, within the tenant's quota. A failure raises an `HttpError` with
the same code as in every SDK (`BLOB_INVALID` is a 500, `BLOB_QUOTA_EXCEEDED`
and `BLOB_TOO_LARGE` are 413s, `BLOBS_UNAVAILABLE` a 503)."""

from dataclasses import dataclass, field
from typing import List, Optional, Union

from componentize_py_types import Err as _Err
from wit_world.imports import blobs as _blobs

from .errors import _failure

# `list` is left out so that `from gatehouse.blobs import *` does not hide the builtin;
# call it as `blobs.list(…)`.
__all__ = ["put", "get", "head", "delete", "signed_url", "ObjectInfo", "Blob", "Listing"]


@dataclass
class ObjectInfo:
    """What is stored under a key."""

    key: str
    #: As given to `put`, e.g. `image/png`.
    content_type: str
    #: Bytes.
    size: int
    #: When it was stored, in milliseconds since the Unix epoch.
    modified_ms: int


@dataclass
class Blob(ObjectInfo):
    """An object and its bytes."""

    data: bytes = field(repr=False)

    def text(self) -> str:
        """The bytes as UTF-8 text (invalid sequences replaced)."""
        return self.data.decode("utf-8", errors="replace")


@dataclass
class Listing:
    """One page of a listing, in key order."""

    objects: List[ObjectInfo]
    #: Pass as `after` to `list` for the next page; None: this was the last.
    next: Optional[str]


def _info(i: "_blobs.ObjectInfo") -> ObjectInfo:
    return ObjectInfo(i.key, i.content_type, i.size, i.modified_ms)


def put(key: str, data: Union[bytes, bytearray, memoryview, str],
        content_type: str = "application/octet-stream") -> ObjectInfo:
    """Stores `data` (a `str` as UTF-8) under `key`, replacing what was there.
    An empty content type is stored as `application/octet-stream`."""
    body = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        return _info(_blobs.put(key, content_type, body))
    except _Err as e:
        raise _failure(e)


def get(key: str) -> Optional[Blob]:
    """The object under `key` with its bytes, or None."""
    try:
        found = _blobs.get(key)
    except _Err as e:
        raise _failure(e)
    if found is None:
        return None
    i = found.info
    return Blob(i.key, i.content_type, i.size, i.modified_ms, bytes(found.data))


def head(key: str) -> Optional[ObjectInfo]:
    """What is stored under `key`, without its bytes, or None."""
    try:
        found = _blobs.head(key)
    except _Err as e:
        raise _failure(e)
    return None if found is None else _info(found)


def delete(key: str) -> bool:
    """Removes the object under `key`; whether there was one."""
    try:
        return _blobs.delete(key)
    except _Err as e:
        raise _failure(e)


def list(prefix: str = "", after: Optional[str] = None, limit: int = 100) -> Listing:  # noqa: A001
    """Objects whose keys start with `prefix`, in key order, after the key
    `after` if given; at most `limit` of them (1 to 1000). The page's `next`
    is the `after` of the next page."""
    try:
        page = _blobs.list(prefix, after, limit)
    except _Err as e:
        raise _failure(e)
    return Listing([_info(i) for i in page.objects], page.next)


def signed_url(key: str, expires_in: int = 3600) -> str:
    """A URL anyone holding it may fetch the object from (with its content
    type) for `expires_in` seconds, at most the platform's
    `blobs.max_url_expiry`."""
    try:
        return _blobs.signed_url(key, expires_in)
    except _Err as e:
        raise _failure(e)
