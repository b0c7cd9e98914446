"""Streaming responses: server-sent events (`send_event`) or raw chunks
(`start`, then `write`). Once streaming, the stream is the response. When the
client leaves, the next call raises `Closed`: stop producing."""

import json as _json
from typing import Any, List, Optional, Tuple

from componentize_py_types import Err as _Err
from wit_world.imports import streaming as _streaming

from .errors import _failure

__all__ = ["Closed", "StreamClosed", "start", "write", "send_event"]


class Closed(Exception):
    """The client left: stop producing."""


StreamClosed = Closed


def _call(f, *args) -> None:
    try:
        f(*args)
    except _Err as e:
        if type(e.value).__name__ == "StreamError_Closed":
            raise Closed()
        raise _failure(e)


def start(status: int = 200, headers: Optional[List[Tuple[str, str]]] = None) -> None:
    """Starts a raw stream with this status and these headers."""
    _call(_streaming.start, status, list(headers or []))


def write(chunk: Any) -> None:
    """Sends bytes (or text as UTF-8)."""
    _call(_streaming.write, chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk))


def send_event(data: Any, event: Optional[str] = None, id: Optional[str] = None,
               retry_ms: Optional[int] = None) -> None:
    """One server-sent event; `data` that is not a string is sent as JSON.
    Leave `event` unset for a browser's `EventSource.onmessage` to see it."""
    text = data if isinstance(data, str) else _json.dumps(data, separators=(",", ":"))
    _call(_streaming.send_event, _streaming.SseEvent(event=event, data=text, id=id, retry_ms=retry_ms))
