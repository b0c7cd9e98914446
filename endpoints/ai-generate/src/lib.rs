//! `POST /api/v1/ai/generate`: the gate has already checked the `write` scope,
//! the per-user rate limit and the body schema (and filled in its defaults),
//! so the guest reads a valid request. The generation call to the model
//! provider comes with the outbound HTTP capability; until then this answers
//! with the accepted, normalised request.

use gatehouse_sdk::{Error, Request, Response, auth, json, ok};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Generate {
    prompt: String,
    max_tokens: u32,
    temperature: f64,
}

fn handle(req: Request) -> Result<Response, Error> {
    let body: Generate = req.json()?;
    let me = auth::current();
    ok(json!({
        "accepted": true,
        "prompt": body.prompt,
        "maxTokens": body.max_tokens,
        "temperature": body.temperature,
        "user": me.user_id,
    }))
}

gatehouse_sdk::endpoint!(handle);
