//! `POST /api/v1/ai/generate`: text generation through an OpenAI-style chat API.
//!
//! The gate has already checked the `write` scope, the per-user rate limit and
//! the body schema (and filled in its defaults), so the guest reads a valid
//! request. It calls the provider through outbound HTTP (only to its
//! `allowed_hosts`), with the `OPENAI_API_KEY` secret granted to this endpoint.

use gatehouse_sdk::{Error, Request, Response, auth, config, http, json, ok};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Generate {
    prompt: String,
    max_tokens: u32,
    temperature: f64,
}

#[derive(Deserialize)]
struct Completion {
    model: String,
    choices: Vec<Choice>,
    usage: Usage,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: String,
}

#[derive(Deserialize)]
struct Usage {
    total_tokens: u64,
}

fn handle(req: Request) -> Result<Response, Error> {
    let body: Generate = req.json()?;
    let key = config::get("OPENAI_API_KEY").ok_or_else(|| {
        Error::unavailable("text generation is not configured: grant this endpoint the OPENAI_API_KEY secret")
            .with_code("UPSTREAM_NOT_CONFIGURED")
    })?;
    let base = config::get("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com".into());
    let model = config::get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into());
    let user = auth::current().user_id.unwrap_or_default();
    let reply = http::post(&format!("{}/v1/chat/completions", base.trim_end_matches('/')))
        .header("authorization", &format!("Bearer {key}"))
        .json(&json!({
            "model": model,
            "messages": [{ "role": "user", "content": body.prompt }],
            "max_tokens": body.max_tokens,
            "temperature": body.temperature,
            "user": user,
        }))?
        .send()?;
    match reply.status() {
        200 => {}
        429 => {
            return Err(Error::unavailable("the model provider is rate limiting us; retry later")
                .with_code("UPSTREAM_RATE_LIMITED"));
        }
        401 | 403 => {
            return Err(
                Error::unavailable("the model provider refused our credentials").with_code("UPSTREAM_AUTH_FAILED")
            );
        }
        status => {
            return Err(Error::unavailable(format!("the model provider answered {status}")).with_code("UPSTREAM_ERROR"));
        }
    }
    let completion: Completion = reply.json()?;
    let text = completion.choices.into_iter().next().map(|c| c.message.content).unwrap_or_default();
    ok(json!({ "text": text, "tokensUsed": completion.usage.total_tokens, "model": completion.model }))
}

gatehouse_sdk::endpoint!(handle);
