//! `GET /api/hello`: the product docs' first route, answered as they write it:
//! `{"message": "Hello World"}` (`?name=Ada` says hello to Ada instead).

use gatehouse_sdk::{Error, Request, Response, json};

fn handle(req: Request) -> Result<Response, Error> {
    let name = req.query("name").unwrap_or("World");
    Response::json(200, &json!({ "message": format!("Hello {name}") }))
}

gatehouse_sdk::endpoint!(handle);
