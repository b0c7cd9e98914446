"""`GET /api/hello` in Python, for the benchmark and the tests: the docs' answer,
`{"message": "Hello World"}`, as the Rust example gives it."""

from gatehouse import Request, endpoint, json_response


@endpoint
def handle(req: Request):
    return json_response({"message": f"Hello {req.query('name') or 'World'}"})
