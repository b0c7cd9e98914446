"""The Python SDK's object storage, one operation per request, for the test
that holds the Rust, Python and JavaScript SDKs to the same behaviour (the
same contract as tests/guests/blob_store and tests/polyglot/js_blobs). The
body is JSON `{"op": …}`; the answer is `ok(…)`, or the platform's error
envelope when the SDK raises:

- `{"op":"put","key","contentType","base64"}` → `{"info": INFO}`
- `{"op":"fill","key","contentType","size"}` (that many ASCII `x`) → `{"info": INFO}`
- `{"op":"get","key"}` → `{"object": null | {…INFO, "base64"}}`
- `{"op":"head","key"}` → `{"info": null | INFO}`
- `{"op":"delete","key"}` → `{"deleted": bool}`
- `{"op":"list","prefix","after","limit"}` → `{"keys", "sizes", "next"}`
- `{"op":"url","key","expiresIn"}` → `{"url"}`
- anything else → 400 NO_SUCH_OP

where INFO is `{"key", "contentType", "size", "modifiedMs"}`."""

import base64
import binascii
from typing import Any

from gatehouse import BadRequest, Request, blobs, endpoint, ok


def info(i: blobs.ObjectInfo) -> dict:
    return {"key": i.key, "contentType": i.content_type, "size": i.size, "modifiedMs": i.modified_ms}


def text(body: Any, field: str) -> str:
    value = body.get(field) if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def number(body: Any, field: str, default: int) -> int:
    value = body.get(field) if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


@endpoint
def handle(req: Request):
    body = req.json()
    key = text(body, "key")
    op = text(body, "op")
    if op == "put":
        try:
            data = base64.b64decode(text(body, "base64"), validate=True)
        except binascii.Error as e:
            raise BadRequest(str(e))
        return ok({"info": info(blobs.put(key, data, text(body, "contentType")))})
    if op == "fill":
        return ok({"info": info(blobs.put(key, b"x" * number(body, "size", 0), text(body, "contentType")))})
    if op == "get":
        found = blobs.get(key)
        if found is None:
            return ok({"object": None})
        return ok({"object": {**info(found), "base64": base64.b64encode(found.data).decode("ascii")}})
    if op == "head":
        found = blobs.head(key)
        return ok({"info": None if found is None else info(found)})
    if op == "delete":
        return ok({"deleted": blobs.delete(key)})
    if op == "list":
        after = body.get("after")
        page = blobs.list(text(body, "prefix"), after if isinstance(after, str) else None, number(body, "limit", 100))
        return ok({"keys": [o.key for o in page.objects], "sizes": [o.size for o in page.objects], "next": page.next})
    if op == "url":
        return ok({"url": blobs.signed_url(key, number(body, "expiresIn", 60))})
    raise BadRequest(f"no op `{op}`", "NO_SUCH_OP")
