"""Errors as exceptions. Raise one (`raise NotFound("no such post")`) and the
platform answers with its error envelope, `{"success": false, "error",
"code", "details", "requestId"}`, with the status of its kind. A capability
that fails (`db`, `blobs`, `http`, `stream`) raises one too, with the same
code as the Rust and JavaScript SDKs for the same failure (`DB_CONSTRAINT`,
`UPSTREAM_TIMEOUT`, …; the table is `guest-sdk/capability-errors.json`).
Any other exception is a bug: the guest traps, the client gets 500
`GUEST_TRAP`, and the traceback goes to the platform log."""

import json as _json
from typing import Any, Dict, Optional

from componentize_py_types import Err as _Err
from wit_world.imports import types as _types

__all__ = [
    "HttpError", "BadRequest", "ValidationFailed", "Unauthorized", "Forbidden", "NotFound", "Conflict",
    "PayloadTooLarge", "UnsupportedMediaType", "Unprocessable", "TooManyRequests", "Internal", "Unavailable",
    "bad_request", "validation_failed", "unauthorized", "forbidden", "not_found", "conflict", "unprocessable",
    "internal", "unavailable",
]

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
    """A failure the platform renders as its error envelope. Prefer a subclass
    (`NotFound(message)`); `HttpError(kind, message, code, details)` names the
    kind (`"not-found"`, …) itself."""

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


class _Kind(HttpError):
    KIND = "internal"

    def __init__(self, message: str, code: Optional[str] = None, details: Any = None):
        super().__init__(self.KIND, message, code, details)


class BadRequest(_Kind):
    """400 BAD_REQUEST (or your `code`)."""
    KIND = "bad-request"


class ValidationFailed(_Kind):
    """400 VALIDATION_FAILED; `details` maps JSON pointers to messages."""
    KIND = "validation-failed"

    def __init__(self, details: Dict[str, str], message: str = "the request is not valid", code: Optional[str] = None):
        super().__init__(message, code, details)


class Unauthorized(_Kind):
    """401."""
    KIND = "unauthorized"


class Forbidden(_Kind):
    """403."""
    KIND = "forbidden"


class NotFound(_Kind):
    """404."""
    KIND = "not-found"


class Conflict(_Kind):
    """409."""
    KIND = "conflict"


class PayloadTooLarge(_Kind):
    """413."""
    KIND = "payload-too-large"


class UnsupportedMediaType(_Kind):
    """415."""
    KIND = "unsupported-media-type"


class Unprocessable(_Kind):
    """422."""
    KIND = "unprocessable"


class TooManyRequests(_Kind):
    """429."""
    KIND = "too-many-requests"


class Internal(_Kind):
    """500."""
    KIND = "internal"


class Unavailable(_Kind):
    """503."""
    KIND = "unavailable"


# The lower-case spellings of earlier SDK versions, kept so their code still runs.
def bad_request(message: str, code: Optional[str] = None) -> HttpError:
    return BadRequest(message, code)


def validation_failed(details: Dict[str, str], message: str = "the request is not valid") -> HttpError:
    return ValidationFailed(details, message)


def unauthorized(message: str, code: Optional[str] = None) -> HttpError:
    return Unauthorized(message, code)


def forbidden(message: str, code: Optional[str] = None) -> HttpError:
    return Forbidden(message, code)


def not_found(message: str, code: Optional[str] = None) -> HttpError:
    return NotFound(message, code)


def conflict(message: str, code: Optional[str] = None) -> HttpError:
    return Conflict(message, code)


def unprocessable(message: str, code: Optional[str] = None) -> HttpError:
    return Unprocessable(message, code)


def internal(message: str, code: Optional[str] = None) -> HttpError:
    return Internal(message, code)


def unavailable(message: str, code: Optional[str] = None) -> HttpError:
    return Unavailable(message, code)


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
        "BlobError_Unavailable": ("unavailable", f"object storage is unavailable: {text}", "BLOBS_UNAVAILABLE"),
        "BlobError_Invalid": ("internal", f"an object storage call was refused: {text}", "BLOB_INVALID"),
        "BlobError_QuotaExceeded": ("payload-too-large", f"the tenant's object storage quota is used up: {text}",
                                    "BLOB_QUOTA_EXCEEDED"),
        "BlobError_TooLarge": ("payload-too-large", f"the object is too large: {text}", "BLOB_TOO_LARGE"),
    }
    kind, message, code = table.get(name, ("internal", f"the response stream failed: {name}", "STREAM_ERROR"))
    return HttpError(kind, message, code)
