"""`GET /api/hello` in Python, for the benchmark and the tests."""

from gatehouse import Request, endpoint, ok


@endpoint
def handle(req: Request):
    return ok({"message": f"Hello, {req.query('name') or 'World'}!"})
