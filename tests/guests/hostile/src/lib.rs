//! What a hostile tenant's guest tries, one act per `?do=`: read the caller's
//! credentials (`headers`), plant cookies (`cookie`, with `c=` values), forge
//! log lines (`forge-log`), flood the log (`flood-log`), stream without end
//! (`flood-stream`), overflow its stack (`overflow`), keep state for the next
//! request (`remember`: counts its calls in a static; `hoard`: keeps 1 MiB
//! more in a static on each call), hold transactions open
//! (`hold-transactions`: begins them until the platform refuses;
//! `stash-transaction`: keeps one in a static past the request) and trap
//! (`panic`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use gatehouse_sdk::{Error, Request, Response, db, json, log, ok, stream};

/// Calls this instance has served; 1 on every request when each gets a fresh instance.
static CALLS: AtomicU32 = AtomicU32::new(0);

/// What `hoard` keeps: 1 MiB more for every call this instance serves.
static HOARD: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

thread_local! {
    /// What `stash-transaction` keeps.
    static STASH: std::cell::RefCell<Vec<db::Transaction>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Recursion without end, in scalars only, so it fills the WebAssembly call
/// stack (not the shadow stack in linear memory); `black_box` keeps the
/// optimiser from turning it into a loop.
fn depth(n: u64) -> u64 {
    if std::hint::black_box(n) == u64::MAX {
        return 0;
    }
    depth(n + 1).wrapping_add(std::hint::black_box(n))
}

fn handle(req: Request) -> Result<Response, Error> {
    match req.query("do").unwrap_or("") {
        "headers" => ok(json!({
            "authorization": req.header("authorization"),
            "apiKey": req.header("x-api-key"),
            "cookie": req.header("cookie"),
        })),
        "cookie" => {
            let mut r = Response::json(200, &json!({ "set": true }))?;
            for c in req.query_all("c") {
                r = r.with_header("set-cookie", c);
            }
            Ok(r)
        }
        "forge-log" => {
            let forged = "ok\n2026-01-01T00:00:00.000000Z  INFO gatehouse::access: FORGED status=200";
            log::info(forged);
            println!("{forged}\r\x1b[2J");
            ok("logged")
        }
        "overflow" => ok(depth(0)),
        "flood-log" => {
            for i in 0..5000 {
                log::info(&format!("flood line {i}"));
            }
            ok("flooded")
        }
        "flood-stream" => {
            stream::start(200, &[("content-type", "application/octet-stream")])?;
            let chunk = vec![b'x'; 64 << 10];
            // Past the platform's total, writes fail; the guest then returns.
            while stream::write(&chunk).is_ok() {}
            ok("stopped")
        }
        "remember" => ok(json!({ "calls": CALLS.fetch_add(1, Ordering::SeqCst) + 1 })),
        "hoard" => {
            let mut hoard = HOARD.lock().unwrap_or_else(|e| e.into_inner());
            hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
            ok(json!({ "mib": hoard.len(), "calls": CALLS.fetch_add(1, Ordering::SeqCst) + 1 }))
        }
        "panic" => panic!("trapping on purpose"),
        "hold-transactions" => {
            // Kept open (never committed) until the platform says no more.
            let mut held = Vec::new();
            let refusal = loop {
                match db::transaction() {
                    Ok(tx) => held.push(tx),
                    Err(e) => break format!("{e:?}"),
                }
                if held.len() > 64 {
                    break "no limit".to_string();
                }
            };
            ok(json!({ "opened": held.len(), "refusal": refusal }))
        }
        "stash-transaction" => {
            // Kept past the request, in a static: it would hold a connection
            // into the next request this instance served.
            let tx = db::transaction()?;
            tx.execute("CREATE TABLE IF NOT EXISTS stash (n INTEGER)", gatehouse_sdk::params![])?;
            STASH.with(|s| s.borrow_mut().push(tx));
            ok(json!({ "stashed": STASH.with(|s| s.borrow().len()) }))
        }
        other => Err(Error::bad_request(format!("unknown act {other:?}"))),
    }
}

gatehouse_sdk::endpoint!(handle);
