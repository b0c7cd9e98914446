"""`GET /api/py/notifications/stream`: the notifications example in Python,
answering as the Rust one does: unnamed events, `{"type": "connected"}` at
once, then every 5 seconds (`?intervalMs=` changes that) `{"type":
"notifications", "data": [...]}` with the caller's unread notifications, until
the client leaves (or `?limit=` notification events)."""

import time

from gatehouse import Request, auth, db, endpoint, forbidden, log, response, stream

DEFAULT_INTERVAL_MS = 5000  # the docs' interval


@endpoint
def handle(req: Request):
    user = auth.current().user_id
    if user is None:
        raise forbidden("notifications are per user: use a key or session with a user")
    interval = min(max(int(req.query("intervalMs") or DEFAULT_INTERVAL_MS), 100), 60_000)
    limit = int(req.query("limit") or 0) or None
    sent = 0  # updates the client has received
    event = {"type": "connected"}
    while True:
        try:
            stream.send_event(event)
        except stream.Closed:
            log.info(f"notification stream for {user} ended: the client left after {sent} updates")
            break
        if event["type"] == "notifications":
            sent += 1
        if limit is not None and sent == limit:
            break
        time.sleep(interval / 1000)
        unread = db.query(
            'SELECT id, message, created_at AS "createdAt" FROM notifications WHERE user_id = ? AND read = 0 ORDER BY id',
            user,
        )
        event = {"type": "notifications", "data": unread}
    # Once streaming, the stream is the response: this value is not sent.
    return response(204)
