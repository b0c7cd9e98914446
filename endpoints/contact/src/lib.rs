//! `POST /api/contact`: a contact form, validated field by field.

use gatehouse_sdk::{Error, Request, Response, created, json, log};
use serde::Deserialize;

#[derive(Deserialize)]
struct ContactForm {
    name: Option<String>,
    email: Option<String>,
    message: Option<String>,
}

fn handle(req: Request) -> Result<Response, Error> {
    let form: ContactForm = req.json()?;
    let mut problems: Vec<(&str, String)> = Vec::new();
    let name = form.name.unwrap_or_default();
    let email = form.email.unwrap_or_default();
    let message = form.message.unwrap_or_default();
    match name.trim().chars().count() {
        0 => problems.push(("/name", "is required".into())),
        n if n > 100 => problems.push(("/name", "must be at most 100 characters".into())),
        _ => {}
    }
    if email.trim().is_empty() {
        problems.push(("/email", "is required".into()));
    } else if !looks_like_email(email.trim()) {
        problems.push(("/email", "must be an email address".into()));
    }
    match message.trim().chars().count() {
        0 => problems.push(("/message", "is required".into())),
        n if n < 10 => problems.push(("/message", "must be at least 10 characters".into())),
        n if n > 5000 => problems.push(("/message", "must be at most 5000 characters".into())),
        _ => {}
    }
    if !problems.is_empty() {
        return Err(Error::validation("the contact form has invalid fields", problems));
    }
    log::info(&format!("contact form received from {}", email.trim()));
    created(json!({
        "id": req.request_id(),
        "name": name.trim(),
        "email": email.trim(),
        "received": true,
    }))
}

/// One `@`, something before it, a dot in the domain, no spaces.
fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

gatehouse_sdk::endpoint!(handle);
