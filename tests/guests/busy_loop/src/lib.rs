//! Spins forever: the CPU budget must stop it without starving other requests.

use gatehouse_sdk::{Error, Request, Response};

fn handle(_req: Request) -> Result<Response, Error> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

gatehouse_sdk::endpoint!(handle);
