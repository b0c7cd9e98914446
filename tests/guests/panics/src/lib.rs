//! Panics: the client gets GUEST_TRAP, the log gets the panic message.

use gatehouse_sdk::{Error, Request, Response};

fn handle(req: Request) -> Result<Response, Error> {
    panic!("deliberate panic for request {}", req.request_id());
}

gatehouse_sdk::endpoint!(handle);
