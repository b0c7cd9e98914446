"""Spins forever: the CPU budget must stop it like a Rust guest."""

from gatehouse import Request, endpoint


@endpoint
def handle(req: Request):
    n = 0
    while True:
        n += 1
