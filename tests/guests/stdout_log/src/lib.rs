//! Writes to stdout, stderr and the log import: all must land in the platform log.

use gatehouse_sdk::{Error, Request, Response, log, ok};

fn handle(req: Request) -> Result<Response, Error> {
    println!("stdout line from guest {}", req.request_id());
    eprintln!("stderr line from guest {}", req.request_id());
    log::warn(&format!("log import line from guest {}", req.request_id()));
    ok("printed")
}

gatehouse_sdk::endpoint!(handle);
