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
    // Updates the client has received; `next` is one from the second event on.
    let mut sent = 0u64;
    let mut next = Event::json(&json!({ "type": "connected" }))?;
    let mut next_is_update = false;
    loop {
        match stream::send(&next) {
            Ok(()) => {}
            Err(StreamError::Closed) => {
                log::info(&format!("notification stream for {user} ended: the client left after {sent} updates"));
                break;
            }
            Err(e) => return Err(e.into()),
        }
        sent += u64::from(next_is_update);
        if sent == limit {
            break;
        }
        std::thread::sleep(Duration::from_millis(interval));
        let unread: Vec<Notification> = db::query_as(
            "SELECT id, message, created_at FROM notifications WHERE user_id = ? AND read = 0 ORDER BY id",
            params![&user],
        )?;
        next = Event::json(&json!({ "type": "notifications", "data": unread }))?;
        next_is_update = true;
    }
    // Once streaming, the stream is the response: this value is not sent.
    Ok(Response::new(204))
}

gatehouse_sdk::endpoint!(handle);

// Unit tests without the platform (`cargo test -p notifications` in endpoints/).
#[cfg(test)]
mod tests {
    use gatehouse_sdk::testing::TestPlatform;
    use gatehouse_sdk::{Request, Value, json};

    #[test]
    fn streams_the_documented_events_until_the_client_leaves() {
        let p = TestPlatform::builder()
            .user("ada")
            .migrations(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
            .client_leaves_after(2)
            .open();
        p.exec("INSERT INTO notifications (user_id, message) VALUES ('ada', 'hi'), ('bob', 'not yours')");
        let r = p.call(super::handle, Request::new("GET", "/api/notifications/stream").with_query("intervalMs", "100"));
        assert_eq!((r.status, r.header("content-type")), (200, Some("text/event-stream")));
        let events: Vec<Value> = r.events.iter().map(|e| e.data.parse().unwrap()).collect();
        assert_eq!(events[0], json!({ "type": "connected" }));
        assert_eq!(events[1]["type"], "notifications");
        assert_eq!(
            events[1]["data"].as_array().map(|d| d.iter().map(|n| n["message"].clone()).collect::<Vec<_>>()),
            Some(vec![json!("hi")])
        );
        assert!(r.events.iter().all(|e| e.event.is_none()), "unnamed events, for EventSource.onmessage");
        assert_eq!(
            p.logs(),
            vec![(
                "info".to_string(),
                "notification stream for ada ended: the client left after 1 updates".to_string()
            )]
        );
    }
}
