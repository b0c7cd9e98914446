// `GET /api/js/notifications/stream`: the notifications example in
// JavaScript. Server-sent events for the caller every `?intervalMs=` (default
// 3000) until the client leaves (or `?limit=` events): how many of their tasks
// are open.

import { StreamClosed, auth, db, endpoint, forbidden, log, response, sleep, stream } from "./gatehouse.js";

export const handler = endpoint(async (req) => {
  const user = auth.current().userId;
  if (!user) throw forbidden("notifications are per user: use a key or session with a user");
  const interval = Math.min(Math.max(Number(req.query("intervalMs") ?? 3000) || 3000, 100), 60000);
  const limit = Number(req.query("limit") ?? 0) || Infinity;
  for (let seq = 1; seq <= limit; seq++) {
    const [{ n }] = db.query("SELECT COUNT(*) AS n FROM tasks WHERE owner_id = ? AND status != 'done'", user);
    try {
      stream.sendEvent({ seq, at: Math.floor(Date.now() / 1000), openTasks: n }, { event: "notification", id: String(seq) });
    } catch (e) {
      if (e instanceof StreamClosed) {
        log.info(`notification stream for ${user} ended: the client left after ${seq} events`);
        break;
      }
      throw e;
    }
    if (seq < limit) await sleep(interval);
  }
  // Once streaming, the stream is the response: this value is not sent.
  return response(204);
});
