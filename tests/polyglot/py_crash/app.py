"""Raises an exception it does not handle: a bug, answered 500 GUEST_TRAP like a Rust panic."""

from gatehouse import Request, endpoint


@endpoint
def handle(req: Request):
    raise RuntimeError(f"deliberate crash for request {req.request_id}")
