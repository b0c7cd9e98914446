//! Sleeps (suspended in the host, using no CPU): only the wall-time budget stops it.

use gatehouse_sdk::{Error, Request, Response, ok};

fn handle(req: Request) -> Result<Response, Error> {
    let ms: u64 = req.query("ms").and_then(|v| v.parse().ok()).unwrap_or(60_000);
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ok("woke")
}

gatehouse_sdk::endpoint!(handle);
