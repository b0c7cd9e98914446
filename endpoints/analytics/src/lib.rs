//! `GET /api/v1/analytics/dashboard`: the product docs' dashboard for the
//! caller's tasks, aggregated in SQL across `tasks` and `task_assignments`:
//! `taskCompletionRate` (a whole percentage), `averageTimeToComplete` (as
//! the docs write it, "2.5 hours") and `topPerformers` (who completed the most:
//! the assignee, or the owner of an unassigned task).

use gatehouse_sdk::{Error, Request, Response, auth, db, json, ok, params};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Totals {
    total: i64,
    completed: Option<i64>,
    avg_seconds: Option<f64>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all(serialize = "camelCase"))]
struct Performer {
    user_id: String,
    completed: i64,
}

fn handle(_req: Request) -> Result<Response, Error> {
    let owner = auth::current()
        .user_id
        .ok_or_else(|| Error::forbidden("analytics are per user: use a key or session with a user"))?;
    let totals: Totals = db::query_as(
        // Portable SQL: it runs on the tenant's SQLite and on Postgres alike.
        "SELECT COUNT(*) AS total,
                SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
                CAST(AVG(CASE WHEN status = 'completed' AND completed_at IS NOT NULL THEN completed_at - created_at END) AS DOUBLE PRECISION) AS avg_seconds
         FROM tasks WHERE owner_id = ?",
        params![&owner],
    )?
    .pop()
    .ok_or_else(|| Error::internal("the totals query returned no row"))?;
    let top: Vec<Performer> = db::query_as(
        "SELECT COALESCE(a.user_id, t.owner_id) AS user_id, COUNT(*) AS completed
         FROM tasks t LEFT JOIN task_assignments a ON a.task_id = t.id
         WHERE t.owner_id = ? AND t.status = 'completed'
         GROUP BY COALESCE(a.user_id, t.owner_id)
         ORDER BY completed DESC, user_id LIMIT 5",
        params![&owner],
    )?;
    let completed = totals.completed.unwrap_or(0);
    let rate = if totals.total == 0 { 0 } else { (completed as f64 * 100.0 / totals.total as f64).round() as i64 };
    ok(json!({
        "taskCompletionRate": rate,
        "averageTimeToComplete": totals.avg_seconds.map(spoken),
        "topPerformers": top,
        "totalTasks": totals.total,
        "completedTasks": completed,
    }))
}

/// A duration as the docs write it: "2.5 hours", "45 minutes", "30 seconds".
fn spoken(seconds: f64) -> String {
    let (amount, unit) = match seconds {
        s if s >= 3600.0 => (s / 3600.0, "hour"),
        s if s >= 60.0 => (s / 60.0, "minute"),
        s => (s.max(0.0), "second"),
    };
    let amount = (amount * 10.0).round() / 10.0;
    let plural = if amount == 1.0 { "" } else { "s" };
    format!("{amount} {unit}{plural}")
}

gatehouse_sdk::endpoint!(handle);
