//! `POST /api/contact`: a contact form. The gate validates the body against
//! `schema.json` before the guest runs, so the guest only records it.

use gatehouse_sdk::{Error, Request, Response, created, json, log};
use serde::Deserialize;

#[derive(Deserialize)]
struct ContactForm {
    name: String,
    email: String,
    message: String,
}

fn handle(req: Request) -> Result<Response, Error> {
    let form: ContactForm = req.json()?;
    log::info(&format!("contact form received from {} ({} characters)", form.email, form.message.chars().count()));
    created(json!({
        "id": req.request_id(),
        "name": form.name.trim(),
        "email": form.email,
        "received": true,
    }))
}

gatehouse_sdk::endpoint!(handle);
