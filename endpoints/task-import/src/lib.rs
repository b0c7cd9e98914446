//! `POST /api/v1/import/tasks`: the product docs' bulk import. The gate has
//! checked the body against `schema.json` (1 to 100 tasks, each with a title,
//! an optional description, a status and a priority) and filled in the
//! defaults. Every task is inserted in one transaction; a task the database
//! refuses (an `externalId` imported before) is reported under `errors` while
//! the others are kept, as the docs' handler does. With `assignUsers`, a task's
//! `assigneeId` is recorded in `task_assignments`; with `notify`, the caller
//! gets one notification (read by the notifications stream).

use std::time::{SystemTime, UNIX_EPOCH};

use gatehouse_sdk::{Error, Request, Response, auth, created, db, json, params};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Import {
    tasks: Vec<Task>,
    assign_users: bool,
    notify: bool,
}

#[derive(Deserialize, Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Task {
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    status: String,
    priority: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<i64>,
}

/// A created task as the docs answer it: the stored row, in camelCase.
#[derive(Deserialize, Serialize)]
#[serde(rename_all(serialize = "camelCase"))]
struct Created {
    id: i64,
    title: String,
    description: Option<String>,
    status: String,
    priority: String,
    user_id: String,
    external_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    completed_at: Option<i64>,
}

fn handle(req: Request) -> Result<Response, Error> {
    let user = auth::current()
        .user_id
        .ok_or_else(|| Error::forbidden("tasks belong to users: use a key or session with a user"))?;
    let import: Import = req.json()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let tx = db::transaction()?;
    let (mut tasks, mut errors) = (Vec::new(), Vec::new());
    for task in &import.tasks {
        let created_at = task.created_at.unwrap_or(now);
        let completed_at = match task.status.as_str() {
            "completed" => Some(task.completed_at.unwrap_or(now)),
            _ => None,
        };
        let inserted = tx.query(
            "INSERT INTO tasks (owner_id, external_id, title, description, status, priority, created_at, updated_at, completed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             RETURNING id, title, description, status, priority, owner_id AS user_id, external_id, created_at, updated_at, completed_at",
            params![
                &user,
                task.external_id.clone(),
                &task.title,
                task.description.clone(),
                &task.status,
                &task.priority,
                created_at,
                completed_at.unwrap_or(created_at).max(created_at),
                completed_at
            ],
        );
        let row: Created = match inserted {
            Ok(rows) => rows.decode()?.pop().ok_or_else(|| Error::internal("the insert returned no row"))?,
            // The database refused this task (statement-level: the transaction
            // and the other tasks are unaffected); the docs report it and go on.
            Err(db::DbError::Constraint(why)) => {
                errors.push(json!({ "task": task, "error": refusal(task, &why) }));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        if import.assign_users
            && let Some(assignee) = &task.assignee_id
        {
            tx.execute("INSERT INTO task_assignments (task_id, user_id) VALUES (?, ?)", params![row.id, assignee])?;
        }
        tasks.push(row);
    }
    if import.notify && !tasks.is_empty() {
        let n = tasks.len();
        let message = format!("{n} task{} imported", if n == 1 { "" } else { "s" });
        tx.execute(
            "INSERT INTO notifications (user_id, message, created_at) VALUES (?, ?, ?)",
            params![&user, message, now],
        )?;
    }
    tx.commit()?;
    created(json!({
        "imported": tasks.len(),
        "failed": errors.len(),
        "tasks": tasks,
        "errors": errors,
    }))
}

/// Why the database refused `task`, in the caller's terms.
fn refusal(task: &Task, why: &str) -> String {
    match &task.external_id {
        Some(id) if why.to_ascii_lowercase().contains("unique") => format!("externalId {id} was imported before"),
        _ => why.to_string(),
    }
}

gatehouse_sdk::endpoint!(handle);
