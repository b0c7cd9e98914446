//! `POST /api/v1/webhooks/payments`: a Dodo Payments webhook (Standard
//! Webhooks signature, verified by the gate before this runs). A succeeded
//! payment adds the credits named in its metadata to the user's balance, once:
//! a redelivered event is recognised by its payment id and adds nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use gatehouse_sdk::{Error, Request, Response, Value, db, json, log, ok, params};
use serde::Deserialize;

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    data: Payment,
}

#[derive(Deserialize)]
struct Payment {
    payment_id: String,
    #[serde(default)]
    metadata: std::collections::HashMap<String, Value>,
}

fn handle(req: Request) -> Result<Response, Error> {
    let event: Event = req.json()?;
    if event.kind != "payment.succeeded" {
        return ok(json!({ "received": true, "type": event.kind, "credited": 0 }));
    }
    let p = event.data;
    let user =
        p.metadata.get("user_id").and_then(|v| v.as_str()).ok_or_else(|| {
            Error::bad_request("the payment's metadata has no user_id").with_code("PAYMENT_WITHOUT_USER")
        })?;
    let credits: i64 = match p.metadata.get("credits") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    if credits <= 0 {
        return Err(
            Error::bad_request("the payment's metadata has no positive credits").with_code("PAYMENT_WITHOUT_CREDITS")
        );
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let tx = db::transaction()?;
    let inserted = tx.execute(
        "INSERT INTO credit_ledger (payment_id, user_id, credits, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (payment_id) DO NOTHING",
        params![&p.payment_id, user, credits, now],
    )?;
    let balance =
        tx.query("SELECT COALESCE(SUM(credits), 0) AS balance FROM credit_ledger WHERE user_id = ?", params![user])?;
    tx.commit()?;
    let balance = balance.to_json().first().and_then(|r| r["balance"].as_i64()).unwrap_or(0);
    let duplicate = inserted == 0;
    log::info(&format!(
        "payment {} for {user}: {} credits{}",
        p.payment_id,
        credits,
        if duplicate { " (redelivery, ignored)" } else { "" }
    ));
    ok(
        json!({ "received": true, "type": event.kind, "credited": if duplicate { 0 } else { credits }, "duplicate": duplicate, "balance": balance }),
    )
}

gatehouse_sdk::endpoint!(handle);
