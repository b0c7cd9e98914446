//! `POST /api/upload`: the product docs' file upload, a multipart form with a
//! `file` field. The gate has already checked the file's type (JPEG, PNG or
//! WebP) and size (5 MB) against the endpoint's `upload` policy; the guest
//! answers 400 `No file provided` without one, stores the file under
//! `uploads/{user}/{name}` in the tenant's object storage (as the docs put it
//! in blob storage), records its metadata in the tenant's database, and
//! answers the file's URL: signed, valid for a day, served by the platform
//! with the file's content type.

use std::time::{SystemTime, UNIX_EPOCH};

use gatehouse_sdk::{Error, Request, Response, auth, blobs, db, json, params};

/// How long the answered URL stays valid.
const URL_VALID_SECONDS: u32 = 86_400;

/// The file's own name, made a safe key segment: a client may send any name,
/// with `/`, `..` or control characters in it.
fn key_segment(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().map(|c| if c.is_control() { '_' } else { c }).take(200).collect();
    match clean.trim() {
        "" | "." | ".." => "file".to_string(),
        name => name.to_string(),
    }
}

fn handle(req: Request) -> Result<Response, Error> {
    let owner = auth::current()
        .user_id
        .ok_or_else(|| Error::unauthorized("uploads belong to users: sign in or use a user's key"))?;
    let parts = req.multipart()?;
    let Some(file) = parts.iter().find(|p| p.name == "file" && p.file_name.is_some()) else {
        return Err(Error::bad_request("No file provided").with_code("NO_FILE"));
    };
    let name = file.file_name.clone().unwrap_or_default();
    let ty = file.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
    let key = format!("uploads/{}/{}", key_segment(&owner), key_segment(&name));
    blobs::put(&key, &ty, &file.data)?;
    let url = blobs::signed_url(&key, URL_VALID_SECONDS)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let rows = db::query(
        "INSERT INTO uploads (owner_id, field, file_name, content_type, size_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        params![&owner, &file.name, &name, &ty, file.data.len() as i64, now],
    )?;
    let id = rows.to_json().first().and_then(|r| r["id"].as_i64()).unwrap_or(0);
    Response::json(
        200,
        &json!({ "url": url, "file": { "id": id, "name": name, "type": ty, "size": file.data.len(), "key": key } }),
    )
}

gatehouse_sdk::endpoint!(handle);
