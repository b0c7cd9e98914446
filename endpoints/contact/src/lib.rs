//! `POST /api/contact`: the product docs' contact form. The gate validates the
//! body against `schema.json` (name, a valid email, a message of 10 or more
//! characters) before the guest runs, so the guest stores the message in the
//! tenant's database and answers `{"success": true}` as the docs do (with the
//! stored message's id under `data`).

use gatehouse_sdk::{Error, Request, Response, db, json, log, params};
use serde::Deserialize;

#[derive(Deserialize)]
struct ContactForm {
    name: String,
    email: String,
    message: String,
}

fn handle(req: Request) -> Result<Response, Error> {
    let form: ContactForm = req.json()?;
    let rows = db::query(
        "INSERT INTO contact_messages (name, email, message, request_id) VALUES (?, ?, ?, ?) RETURNING id",
        params![form.name.trim(), &form.email, &form.message, req.request_id()],
    )?;
    let id = rows.to_json().first().and_then(|r| r["id"].as_i64()).unwrap_or(0);
    log::info(&format!(
        "contact message {id} stored from {} ({} characters)",
        form.email,
        form.message.chars().count()
    ));
    Response::success(200, json!({ "id": id }))
}

gatehouse_sdk::endpoint!(handle);
