//! `GET /api/hello`: the smallest endpoint.

use gatehouse_sdk::{Error, Request, Response, json, ok};

fn handle(req: Request) -> Result<Response, Error> {
    let name = req.query("name").unwrap_or("World");
    ok(json!({ "message": format!("Hello, {name}!") }))
}

gatehouse_sdk::endpoint!(handle);
