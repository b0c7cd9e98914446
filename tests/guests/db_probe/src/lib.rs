//! Tries what a tenant's statements must not do (`?mode=`), and reports the
//! outcome: attach another file, load an extension, change a pragma, run
//! forever, return too many rows, or trap inside an open transaction.

use gatehouse_sdk::{Error, Request, Response, db, json, ok, params};

fn outcome<T: std::fmt::Debug>(r: Result<T, db::DbError>) -> Result<Response, Error> {
    match r {
        Ok(v) => ok(json!({ "ok": format!("{v:?}") })),
        Err(e) => ok(json!({ "error": format!("{e:?}") })),
    }
}

fn handle(req: Request) -> Result<Response, Error> {
    let target = req.query("path").unwrap_or("/tmp/other.db").to_string();
    match req.query("mode").unwrap_or("") {
        "attach" => outcome(db::execute("ATTACH DATABASE ? AS other", params![target])),
        "attach-literal" => outcome(db::execute(&format!("ATTACH '{target}' AS other"), params![])),
        "extension" => outcome(db::query("SELECT load_extension('/tmp/evil.so')", params![])),
        "pragma" => outcome(db::execute("PRAGMA writable_schema = 1", params![])),
        "table-info" => outcome(db::query("PRAGMA table_info(posts)", params![]).map(|r| r.len())),
        "timeout" => outcome(db::query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            params![],
        )),
        "rows" => outcome(db::query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c",
            params![],
        )),
        "big" => outcome(db::query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)
             SELECT x, 'padding-padding-padding-padding-padding' AS pad FROM c",
            params![],
        )),
        "write" => outcome(db::execute("INSERT INTO posts (author_id, title) VALUES ('probe', 'probe')", params![])),
        "count" => {
            let rows = db::query("SELECT COUNT(*) AS n FROM posts WHERE author_id = 'probe'", params![])?;
            ok(json!({ "count": rows.to_json()[0]["n"] }))
        }
        "trap" => {
            let tx = db::transaction()?;
            tx.execute("INSERT INTO posts (author_id, title) VALUES ('probe', 'never committed')", params![])?;
            panic!("trapping with the transaction open");
        }
        "leave-open" => {
            let tx = db::transaction()?;
            tx.execute("INSERT INTO posts (author_id, title) VALUES ('probe', 'dropped uncommitted')", params![])?;
            drop(tx);
            ok("dropped")
        }
        other => Err(Error::bad_request(format!("unknown mode {other:?}"))),
    }
}

gatehouse_sdk::endpoint!(handle);
