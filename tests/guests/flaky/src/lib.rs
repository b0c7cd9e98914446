//! Answers which version it is (its `VERSION` variable) and fails when a
//! request asks it to (`?fail`), the way its `FAILS` variable says: `500`
//! (its own error), `trap` (a panic) or `cpu` (spins until its CPU budget
//! stops it); with no `FAILS` it never fails. A client that sends `?fail` on
//! a known share of its requests thus gives each version a known error rate.

use gatehouse_sdk::{Error, Request, Response, config, json, ok};

fn handle(req: Request) -> Result<Response, Error> {
    let version = config::get("VERSION").unwrap_or_default();
    if req.query("fail").is_some() {
        match config::get("FAILS").as_deref() {
            Some("500") => return Err(Error::internal(format!("version {version} failed, as asked"))),
            Some("trap") => panic!("version {version} trapped, as asked"),
            Some("cpu") => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            _ => {}
        }
    }
    ok(json!({ "version": version }))
}

gatehouse_sdk::endpoint!(handle);
