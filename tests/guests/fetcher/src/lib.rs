//! Fetches `?url=` (`?times=` times) and reports what happened: the probe for
//! every outbound rule (allow-list, private addresses, redirects, limits).
//! With `?db=1` it reads the database first (one request that does both, for traces).

use gatehouse_sdk::{Error, Request, Response, db, http, json, ok};

fn handle(req: Request) -> Result<Response, Error> {
    let url = req.query("url").ok_or_else(|| Error::bad_request("pass ?url="))?;
    let times: u32 = req.query("times").and_then(|t| t.parse().ok()).unwrap_or(1);
    if req.query("db").is_some() {
        db::query("SELECT 1 AS one", vec![])?;
    }
    let mut last = None;
    for _ in 0..times {
        match http::get(url).header("x-probe", "1").send() {
            Ok(r) => last = Some(r),
            Err(e) => return Response::json(200, &json!({ "error": format!("{e:?}") })),
        }
    }
    let r = last.expect("at least one call");
    ok(json!({ "status": r.status(), "body": r.text(), "server": r.header("x-upstream") }))
}

gatehouse_sdk::endpoint!(handle);
