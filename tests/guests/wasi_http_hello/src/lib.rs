//! The same JSON hello as `endpoints/hello`, as a standard `wasi:http/proxy`
//! component: what `wasmtime serve` and Spin run. The benchmark serves it with
//! `wasmtime serve` as the peer to compare against. Gatehouse does not serve
//! this world yet, and must say so clearly at startup.

use std::io::Write as _;

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

const HELLO: &[u8] = br#"{"success":true,"data":{"message":"Hello, World!"}}"#;

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let headers =
            Fields::from_list(&[("content-type".to_string(), b"application/json".to_vec())]).expect("a valid header");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("the body, once");
        ResponseOutparam::set(out, Ok(response));
        let mut stream = body.write().expect("the body stream, once");
        stream.write_all(HELLO).expect("writing the body");
        stream.flush().expect("flushing the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("finishing the body");
    }
}

wasip2::http::proxy::export!(Hello);
