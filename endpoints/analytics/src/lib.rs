//! `GET /api/analytics/dashboard`: the caller's task statistics, computed in
//! SQL: completion rate, average time to complete, top performers.

use gatehouse_sdk::{Error, Request, Response, auth, db, json, ok, params};
use serde::Deserialize;

#[derive(Deserialize)]
struct Totals {
    total: i64,
    done: Option<i64>,
    avg_seconds: Option<f64>,
}

#[derive(Deserialize, serde::Serialize)]
struct Performer {
    assignee: String,
    completed: i64,
}

fn handle(_req: Request) -> Result<Response, Error> {
    let owner = auth::current()
        .user_id
        .ok_or_else(|| Error::forbidden("analytics are per user: use a key or session with a user"))?;
    let totals: Totals = db::query_as(
        // Portable SQL: it runs on the tenant's SQLite and on Postgres alike.
        "SELECT COUNT(*) AS total,
                SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS done,
                CAST(AVG(CASE WHEN status = 'done' AND completed_at IS NOT NULL THEN completed_at - created_at END) AS DOUBLE PRECISION) AS avg_seconds
         FROM tasks WHERE owner_id = ?",
        params![&owner],
    )?
    .pop()
    .ok_or_else(|| Error::internal("the totals query returned no row"))?;
    let top: Vec<Performer> = db::query_as(
        "SELECT assignee, COUNT(*) AS completed FROM tasks
         WHERE owner_id = ? AND status = 'done' AND assignee IS NOT NULL
         GROUP BY assignee ORDER BY completed DESC, assignee LIMIT 5",
        params![&owner],
    )?;
    let done = totals.done.unwrap_or(0);
    let rate = if totals.total == 0 { 0.0 } else { done as f64 / totals.total as f64 };
    ok(json!({
        "totalTasks": totals.total,
        "completedTasks": done,
        "completionRate": (rate * 1000.0).round() / 1000.0,
        "averageCompletionSeconds": totals.avg_seconds.map(|s| s.round()),
        "topPerformers": top,
    }))
}

gatehouse_sdk::endpoint!(handle);
