"""Counts its calls in a module global and answers the count: 1 from every
instance no request has called before (the ready-instance tests)."""

from gatehouse import Request, endpoint, json_response

calls = 0


@endpoint
def handle(req: Request):
    global calls
    calls += 1
    return json_response({"calls": calls})
