//! `POST /api/v1/webhooks/stripe`: the product docs' Stripe webhook. The gate
//! has verified the `Stripe-Signature` header (and refused replays), so the
//! event is authentic. As the docs' handler does:
//! - `payment_intent.succeeded` marks the order with that payment intent paid
//!   (an order this app has not seen is recorded as paid, so no payment is lost);
//! - `customer.subscription.updated` records the customer's subscription
//!   status and plan;
//! - any other type is acknowledged and logged.
//!
//! Each answer is the docs' `{"received": true}`; a redelivered event changes nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use gatehouse_sdk::{Error, Request, Response, Value, db, json, log, params};
use serde::Deserialize;

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// `data.object`: the payment intent, the subscription, …
    #[serde(default)]
    data: Value,
}

fn handle(req: Request) -> Result<Response, Error> {
    let event: Event = req.json()?;
    let object = event.data.get("object").unwrap_or(&Value::Null);
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    match event.kind.as_str() {
        "payment_intent.succeeded" => {
            let intent = text("id").ok_or_else(|| missing(&event, "data.object.id"))?;
            let email = text("receipt_email").or_else(|| text("customer_email"));
            db::execute(
                "INSERT INTO orders (payment_intent_id, status, amount, currency, customer_email, paid_at)
                 VALUES (?, 'paid', ?, ?, ?, ?)
                 ON CONFLICT (payment_intent_id) DO UPDATE
                 SET status = 'paid', paid_at = COALESCE(orders.paid_at, excluded.paid_at)",
                params![&intent, object.get("amount").and_then(Value::as_i64), text("currency"), email, now],
            )?;
            log::info(&format!("stripe event {}: order for payment intent {intent} paid", event.id));
        }
        "customer.subscription.updated" => {
            let customer = text("customer").ok_or_else(|| missing(&event, "data.object.customer"))?;
            let subscription = text("id").ok_or_else(|| missing(&event, "data.object.id"))?;
            let status = text("status").ok_or_else(|| missing(&event, "data.object.status"))?;
            let plan = object.pointer("/items/data/0/price/id").and_then(Value::as_str);
            db::execute(
                "INSERT INTO subscriptions (stripe_customer_id, subscription_id, status, plan, updated_at)
                 VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (stripe_customer_id) DO UPDATE
                 SET subscription_id = excluded.subscription_id, status = excluded.status,
                     plan = excluded.plan, updated_at = excluded.updated_at",
                params![&customer, &subscription, &status, plan, now],
            )?;
            log::info(&format!("stripe event {}: customer {customer}'s subscription is {status}", event.id));
        }
        other => log::info(&format!("stripe event {}: unhandled event type {other}", event.id)),
    }
    Response::json(200, &json!({ "received": true }))
}

/// A handled event without a field its handler needs: refused, so Stripe shows the failure.
fn missing(event: &Event, field: &str) -> Error {
    Error::bad_request(format!("a {} event needs {field}", event.kind)).with_code("WEBHOOK_EVENT_INCOMPLETE")
}

gatehouse_sdk::endpoint!(handle);
