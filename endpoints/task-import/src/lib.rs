//! `POST /api/tasks/import`: 1 to 100 tasks (the schema checks the shape) in one
//! transaction. If any task fails (a duplicate `externalId`, a bad status),
//! nothing is imported and the answer lists every failure by index.

use std::time::{SystemTime, UNIX_EPOCH};

use gatehouse_sdk::{Error, Request, Response, auth, created, db, json, params};
use serde::Deserialize;

#[derive(Deserialize)]
struct Import {
    tasks: Vec<Task>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    title: String,
    external_id: Option<String>,
    status: Option<String>,
    assignee: Option<String>,
    created_at: Option<i64>,
    completed_at: Option<i64>,
}

fn handle(req: Request) -> Result<Response, Error> {
    let owner = auth::current()
        .user_id
        .ok_or_else(|| Error::forbidden("tasks belong to users: use a key or session with a user"))?;
    let import: Import = req.json()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let tx = db::transaction()?;
    let mut failures = Vec::new();
    let mut ids = Vec::new();
    for (index, t) in import.tasks.iter().enumerate() {
        let inserted = tx.query(
            "INSERT INTO tasks (owner_id, external_id, title, status, assignee, created_at, completed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            params![
                &owner,
                t.external_id.clone(),
                &t.title,
                t.status.clone().unwrap_or_else(|| "todo".into()),
                t.assignee.clone(),
                t.created_at.unwrap_or(now),
                t.completed_at
            ],
        );
        match inserted {
            Ok(rows) => ids.extend(rows.to_json().into_iter().filter_map(|r| r["id"].as_i64())),
            Err(db::DbError::Constraint(why)) => {
                failures.push(json!({ "index": index, "externalId": t.external_id, "error": why }))
            }
            Err(other) => return Err(other.into()),
        }
    }
    if !failures.is_empty() {
        tx.rollback()?;
        return Err(Error::new(
            gatehouse_sdk::ErrorKind::Unprocessable,
            format!("{} of {} tasks failed; nothing was imported", failures.len(), import.tasks.len()),
        )
        .with_code("IMPORT_FAILED")
        .with_details(json!({ "failures": failures })));
    }
    tx.commit()?;
    created(json!({ "imported": ids.len(), "ids": ids }))
}

gatehouse_sdk::endpoint!(handle);
