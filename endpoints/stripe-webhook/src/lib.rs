//! `POST /api/v1/webhooks/stripe`: the gate has verified the Stripe signature
//! (and refused replays), so the event is authentic; the guest acknowledges it.

use gatehouse_sdk::{Error, Request, Response, json, log, ok};
use serde::Deserialize;

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

fn handle(req: Request) -> Result<Response, Error> {
    let event: Event = req.json()?;
    log::info(&format!("stripe event {} ({})", event.id, event.kind));
    let handled =
        matches!(event.kind.as_str(), "checkout.session.completed" | "invoice.paid" | "customer.subscription.deleted");
    ok(json!({ "received": true, "id": event.id, "type": event.kind, "handled": handled }))
}

gatehouse_sdk::endpoint!(handle);
