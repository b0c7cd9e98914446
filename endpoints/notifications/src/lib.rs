//! `GET /api/notifications/stream`: the product docs' server-sent events.
//! Unnamed events, so the docs' `EventSource.onmessage` client sees them:
//! `{"type":"connected"}` at once, then every 5 seconds (`?intervalMs=`
//! changes that) `{"type":"notifications","data":[…]}` with the caller's
//! unread notifications from the tenant's database, until the client leaves
//! (or `?limit=` notification events have been sent).

use std::time::Duration;

use gatehouse_sdk::stream::{self, Event, StreamError};
use gatehouse_sdk::{Error, Request, Response, auth, db, json, log, params};
use serde::{Deserialize, Serialize};

/// The docs' interval.
const DEFAULT_INTERVAL_MS: u64 = 5000;

#[derive(Deserialize, Serialize)]
#[serde(rename_all(serialize = "camelCase"))]
struct Notification {
    id: i64,
    message: String,
    created_at: i64,
}

fn handle(req: Request) -> Result<Response, Error> {
    let user = auth::current()
        .user_id
        .ok_or_else(|| Error::forbidden("notifications are per user: use a key or session with a user"))?;
    let interval =
        req.query("intervalMs").and_then(|v| v.parse::<u64>().ok()).unwrap_or(DEFAULT_INTERVAL_MS).clamp(100, 60_000);
    let limit = req.query("limit").and_then(|v| v.parse::<u64>().ok()).unwrap_or(u64::MAX);
    let mut sent = 0u64;
    let mut next = Event::json(&json!({ "type": "connected" }))?;
    loop {
        match stream::send(&next) {
            Ok(()) => {}
            Err(StreamError::Closed) => {
                log::info(&format!("notification stream for {user} ended: the client left after {sent} updates"));
                break;
            }
            Err(e) => return Err(e.into()),
        }
        if sent == limit {
            break;
        }
        std::thread::sleep(Duration::from_millis(interval));
        let unread: Vec<Notification> = db::query_as(
            "SELECT id, message, created_at FROM notifications WHERE user_id = ? AND read = 0 ORDER BY id",
            params![&user],
        )?;
        next = Event::json(&json!({ "type": "notifications", "data": unread }))?;
        sent += 1;
    }
    // Once streaming, the stream is the response: this value is not sent.
    Ok(Response::new(204))
}

gatehouse_sdk::endpoint!(handle);
