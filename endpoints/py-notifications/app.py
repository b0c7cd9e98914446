"""`GET /api/py/notifications/stream`: the notifications example in Python.
Server-sent events for the caller every `?intervalMs=` (default 3000) until the
client leaves (or `?limit=` events): how many of their tasks are open."""

import time

from gatehouse import Request, auth, db, endpoint, forbidden, log, response, stream


@endpoint
def handle(req: Request):
    user = auth.current().user_id
    if user is None:
        raise forbidden("notifications are per user: use a key or session with a user")
    interval = min(max(int(req.query("intervalMs") or 3000), 100), 60_000)
    limit = int(req.query("limit") or 0) or None
    seq = 0
    while limit is None or seq < limit:
        seq += 1
        rows = db.query("SELECT COUNT(*) AS n FROM tasks WHERE owner_id = ? AND status != 'done'", user)
        try:
            stream.send_event({"seq": seq, "at": int(time.time()), "openTasks": rows[0]["n"]},
                              event="notification", id=str(seq))
        except stream.Closed:
            log.info(f"notification stream for {user} ended: the client left after {seq} events")
            break
        if limit is None or seq < limit:
            time.sleep(interval / 1000)
    # Once streaming, the stream is the response: this value is not sent.
    return response(204)
