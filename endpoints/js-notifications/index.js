// `GET /api/js/notifications/stream`: the notifications example in
// JavaScript, answering as the Rust one does: unnamed events,
// `{"type":"connected"}` at once, then every 5 seconds (`?intervalMs=` changes
// that) `{"type":"notifications","data":[…]}` with the caller's unread
// notifications, until the client leaves (or `?limit=` notification events).

import { StreamClosed, auth, db, endpoint, forbidden, log, response, sleep, stream } from "./gatehouse.js";

const DEFAULT_INTERVAL_MS = 5000; // the docs' interval

export const handler = endpoint(async (req) => {
  const user = auth.current().userId;
  if (!user) throw forbidden("notifications are per user: use a key or session with a user");
  const asked = Number(req.query("intervalMs") ?? DEFAULT_INTERVAL_MS) || DEFAULT_INTERVAL_MS;
  const interval = Math.min(Math.max(asked, 100), 60000);
  const limit = Number(req.query("limit") ?? 0) || Infinity;
  let sent = 0; // updates the client has received
  let event = { type: "connected" };
  for (;;) {
    try {
      stream.sendEvent(event);
    } catch (e) {
      if (e instanceof StreamClosed) {
        log.info(`notification stream for ${user} ended: the client left after ${sent} updates`);
        break;
      }
      throw e;
    }
    if (event.type === "notifications") sent += 1;
    if (sent === limit) break;
    await sleep(interval);
    const unread = await db.query(
      `SELECT id, message, created_at AS "createdAt" FROM notifications WHERE user_id = ? AND read = 0 ORDER BY id`,
      user,
    );
    event = { type: "notifications", data: unread };
  }
  // Once streaming, the stream is the response: this value is not sent.
  return response(204);
});
