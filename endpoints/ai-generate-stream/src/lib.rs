//! `POST /api/v1/ai/generate/stream`: the streamed variant of AI generation.
//! It asks the OpenAI-style provider for a streamed completion and relays each
//! token to the client as a server-sent event the moment it arrives, then a
//! `done` event. The gate has checked scope, rate limit and schema, as for the
//! unstreamed endpoint.

use gatehouse_sdk::stream::{self, Event};
use gatehouse_sdk::{Error, Request, Response, Value, auth, config, http, json};
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
    let key = config::get("OPENAI_API_KEY").ok_or_else(|| {
        Error::unavailable("text generation is not configured: grant this endpoint the OPENAI_API_KEY secret")
            .with_code("UPSTREAM_NOT_CONFIGURED")
    })?;
    let base = config::get("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com".into());
    let model = config::get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into());
    let upstream = http::post(&format!("{}/v1/chat/completions", base.trim_end_matches('/')))
        .header("authorization", &format!("Bearer {key}"))
        .json(&json!({
            "model": model,
            "messages": [{ "role": "user", "content": body.prompt }],
            "max_tokens": body.max_tokens,
            "temperature": body.temperature,
            "user": auth::current().user_id.unwrap_or_default(),
            "stream": true,
        }))?
        .send_streaming()?;
    if upstream.status() != 200 {
        // Nothing streamed yet: an ordinary error envelope.
        return Err(Error::unavailable(format!("the model provider answered {}", upstream.status()))
            .with_code("UPSTREAM_ERROR"));
    }
    let mut events = upstream.events();
    let mut tokens = 0u64;
    let mut answered_model = model;
    while let Some(message) = events.next_event()? {
        if message.data.trim() == "[DONE]" {
            break;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&message.data) else { continue };
        if let Some(m) = chunk["model"].as_str() {
            answered_model = m.to_string();
        }
        let Some(text) = chunk["choices"][0]["delta"]["content"].as_str() else { continue };
        tokens += 1;
        if stream::send(&Event::json(&json!({ "text": text }))?.name("token")).is_err() {
            // The client left: stop reading the upstream too.
            return Ok(Response::new(204));
        }
    }
    let _ = stream::send(&Event::json(&json!({ "tokens": tokens, "model": answered_model }))?.name("done"));
    Ok(Response::new(204))
}

gatehouse_sdk::endpoint!(handle);
