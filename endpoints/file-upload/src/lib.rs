//! `POST /api/files`: a multipart upload. The gate has already checked each
//! file's type and size against the endpoint's `upload` policy; the guest
//! records every file's metadata in the tenant's database.

use std::time::{SystemTime, UNIX_EPOCH};

use gatehouse_sdk::{Error, Request, Response, auth, created, db, json, params};

fn handle(req: Request) -> Result<Response, Error> {
    let owner = auth::current()
        .user_id
        .ok_or_else(|| Error::forbidden("uploads belong to users: use a key or session with a user"))?;
    let files = req.multipart()?;
    let files: Vec<_> = files.into_iter().filter(|p| p.file_name.is_some()).collect();
    if files.is_empty() {
        return Err(Error::bad_request("send at least one file part"));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let tx = db::transaction()?;
    let mut recorded = Vec::new();
    for f in &files {
        let name = f.file_name.clone().unwrap_or_default();
        let ty = f.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
        let rows = tx.query(
            "INSERT INTO uploads (owner_id, field, file_name, content_type, size_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            params![&owner, &f.name, &name, &ty, f.data.len() as i64, now],
        )?;
        let id = rows.to_json().first().and_then(|r| r["id"].as_i64()).unwrap_or(0);
        recorded
            .push(json!({ "id": id, "field": f.name, "fileName": name, "contentType": ty, "sizeBytes": f.data.len() }));
    }
    tx.commit()?;
    created(json!({ "files": recorded }))
}

gatehouse_sdk::endpoint!(handle);
