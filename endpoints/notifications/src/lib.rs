//! `GET /api/notifications/stream`: server-sent events for the caller, every
//! `?intervalMs=` (default 3000) until the client leaves (or `?limit=` events):
//! how many of their tasks are open, read from the tenant's database.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gatehouse_sdk::stream::{self, Event, StreamError};
use gatehouse_sdk::{Error, Request, Response, auth, db, json, log, params};

fn handle(req: Request) -> Result<Response, Error> {
    let user = auth::current()
        .user_id
        .ok_or_else(|| Error::forbidden("notifications are per user: use a key or session with a user"))?;
    let interval = req.query("intervalMs").and_then(|v| v.parse::<u64>().ok()).unwrap_or(3000).clamp(100, 60_000);
    let limit = req.query("limit").and_then(|v| v.parse::<u64>().ok()).unwrap_or(u64::MAX);
    let mut seq = 0u64;
    while seq < limit {
        seq += 1;
        let open =
            db::query("SELECT COUNT(*) AS n FROM tasks WHERE owner_id = ? AND status != 'done'", params![&user])?;
        let open_tasks = open.to_json().first().and_then(|r| r["n"].as_i64()).unwrap_or(0);
        let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let event = Event::json(&json!({ "seq": seq, "at": at, "openTasks": open_tasks }))?
            .name("notification")
            .id(&seq.to_string());
        match stream::send(&event) {
            Ok(()) => {}
            Err(StreamError::Closed) => {
                log::info(&format!("notification stream for {user} ended: the client left after {seq} events"));
                break;
            }
            Err(e) => return Err(e.into()),
        }
        if seq < limit {
            std::thread::sleep(Duration::from_millis(interval));
        }
    }
    // Once streaming, the stream is the response: this value is not sent.
    Ok(Response::new(204))
}

gatehouse_sdk::endpoint!(handle);
