//! Allocates without end: the memory limit must stop it.

use gatehouse_sdk::{Error, Request, Response};

fn handle(_req: Request) -> Result<Response, Error> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1 << 20];
        block[0] = hoard.len() as u8;
        hoard.push(std::hint::black_box(block));
    }
}

gatehouse_sdk::endpoint!(handle);
