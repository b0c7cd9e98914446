//! Echoes what it was given: request fields, auth context, granted config.

use gatehouse_sdk::{Error, Request, Response, auth, config, json, ok};

fn handle(req: Request) -> Result<Response, Error> {
    let who = auth::current();
    let params: serde_json::Map<String, serde_json::Value> =
        ["id", "slug"].iter().filter_map(|k| req.param(k).map(|v| (k.to_string(), json!(v)))).collect();
    ok(json!({
        "method": req.method(),
        "path": req.path(),
        "params": params,
        "query": { "q": req.query("q"), "tags": req.query_all("tag").collect::<Vec<_>>() },
        "header": req.header("x-probe"),
        "bodyBytes": req.body().len(),
        "requestId": req.request_id(),
        "auth": { "kind": who.kind.as_str(), "tenant": who.tenant, "scopes": who.scopes },
        "greeting": config::get("GREETING"),
        "secret": config::get("NOT_GRANTED"),
        "token": config::get("API_TOKEN"),
    }))
}

gatehouse_sdk::endpoint!(handle);
