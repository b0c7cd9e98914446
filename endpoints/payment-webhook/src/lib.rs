//! The product docs' Dodo Payments webhook, at both of the routes it is
//! delivered to: `POST /api/payments/dodo/webhook` signed as the docs sign it
//! (hex HMAC-SHA256 of the body in `x-dodo-signature`), and `POST
//! /api/v1/webhooks/payments` signed as Dodo really signs (Standard Webhooks).
//! The gate verifies either before this runs. A `payment.succeeded` event adds
//! its credits to the customer's balance once: a redelivered payment (same
//! payment id) adds nothing. Other types (`subscription.created`, …) are
//! acknowledged and logged. Each answer is the docs' `{"received": true}`,
//! with what was credited.
//!
//! Both event shapes are read: the docs' `data.customerId` and `data.credits`,
//! and Dodo's `data.payment_id` with `metadata.user_id` and `metadata.credits`.

use std::time::{SystemTime, UNIX_EPOCH};

use gatehouse_sdk::{Error, Request, Response, Value, db, json, log, params};
use serde::Deserialize;

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Value,
}

fn handle(req: Request) -> Result<Response, Error> {
    let event: Event = req.json()?;
    if event.kind != "payment.succeeded" {
        log::info(&format!("payment webhook: {} acknowledged", event.kind));
        return Response::json(200, &json!({ "received": true, "credited": 0 }));
    }
    let data = &event.data;
    let field = |names: &[&str]| names.iter().find_map(|n| data.pointer(n)).filter(|v| !v.is_null());
    let user = field(&["/customerId", "/metadata/user_id", "/customer/customer_id"])
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::bad_request("the payment names no customer (data.customerId or metadata.user_id)")
                .with_code("PAYMENT_WITHOUT_USER")
        })?;
    let credits = match field(&["/credits", "/metadata/credits"]) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    if credits <= 0 {
        return Err(Error::bad_request("the payment carries no positive credits (data.credits or metadata.credits)")
            .with_code("PAYMENT_WITHOUT_CREDITS"));
    }
    // The payment's own id makes a redelivery recognisable; without one, the
    // delivery's id (Standard Webhooks), else this request's.
    let payment = field(&["/paymentId", "/payment_id"])
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| req.header("webhook-id").map(str::to_string))
        .unwrap_or_else(|| req.request_id().to_string());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let tx = db::transaction()?;
    let inserted = tx.execute(
        "INSERT INTO credit_ledger (payment_id, user_id, credits, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (payment_id) DO NOTHING",
        params![&payment, user, credits, now],
    )?;
    let balance =
        tx.query("SELECT COALESCE(SUM(credits), 0) AS balance FROM credit_ledger WHERE user_id = ?", params![user])?;
    tx.commit()?;
    let balance = balance.to_json().first().and_then(|r| r["balance"].as_i64()).unwrap_or(0);
    let duplicate = inserted == 0;
    log::info(&format!(
        "payment {payment} for {user}: {credits} credits{}",
        if duplicate { " (redelivery, ignored)" } else { "" }
    ));
    Response::json(
        200,
        &json!({ "received": true, "credited": if duplicate { 0 } else { credits }, "duplicate": duplicate, "balance": balance }),
    )
}

gatehouse_sdk::endpoint!(handle);
