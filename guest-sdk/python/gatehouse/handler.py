"""`@endpoint`: makes a function the component's exported handler."""

import sys as _sys
from typing import Any, Callable

from componentize_py_types import Err as _Err
from wit_world import exports as _exports
from wit_world.imports import types as _types

from .errors import HttpError
from .request import Request
from .response import Response, ok

__all__ = ["endpoint"]


def endpoint(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Makes `fn` the endpoint's handler. It returns a `Response`, or any JSON
    value (sent as `ok(value)`), or raises an `HttpError`."""

    class Handler(_exports.Handler):
        def handle(self, req: "_types.Request") -> "_types.Response":
            try:
                result = fn(Request(req))
            except HttpError as e:
                raise _Err(e._to_wit())
            if isinstance(result, Response):
                return result._to_wit()
            return ok(result)._to_wit()

    # componentize-py looks for `Handler` in the app module.
    setattr(_sys.modules[fn.__module__], "Handler", Handler)
    return fn
