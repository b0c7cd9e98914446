//! Runs the SQL it is sent (`{"statements": [{"sql", "query"}], "tx": bool}`)
//! and reports each statement's outcome: the probe for tenant isolation.

use gatehouse_sdk::{Error, Request, Response, db, json, ok};
use serde::Deserialize;

#[derive(Deserialize)]
struct Batch {
    statements: Vec<Statement>,
    #[serde(default)]
    tx: bool,
}

#[derive(Deserialize)]
struct Statement {
    sql: String,
    #[serde(default)]
    query: bool,
}

fn outcome<T: std::fmt::Debug>(r: Result<T, db::DbError>) -> gatehouse_sdk::Value {
    match r {
        Ok(v) => json!({ "ok": format!("{v:?}") }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

fn handle(req: Request) -> Result<Response, Error> {
    let batch: Batch = req.json()?;
    let mut out = Vec::new();
    if batch.tx {
        let tx = db::transaction()?;
        for s in &batch.statements {
            out.push(if s.query {
                outcome(tx.query(&s.sql, vec![]).map(|r| r.to_json()))
            } else {
                outcome(tx.execute(&s.sql, vec![]))
            });
        }
        tx.commit()?;
    } else {
        for s in &batch.statements {
            out.push(if s.query {
                outcome(db::query(&s.sql, vec![]).map(|r| r.to_json()))
            } else {
                outcome(db::execute(&s.sql, vec![]))
            });
        }
    }
    ok(out)
}

gatehouse_sdk::endpoint!(handle);
