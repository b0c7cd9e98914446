//! A standard `wasi:http/proxy` component that also imports Gatehouse's `auth`
//! and `config`. It echoes what it was given as JSON; with `?fetch=<url>` it
//! makes an outgoing wasi:http request and reports the status or the error,
//! so a test can prove outgoing requests meet the endpoint's allow-list; with
//! `?big=<MiB>` it answers that many MiB, to meet the response limit; with
//! `?fetch=<url>&post=<MiB>` the outgoing request is a POST of that many MiB,
//! to meet the outgoing body limit.

use std::io::{Read as _, Write as _};

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingRequest, OutgoingResponse, ResponseOutparam, Scheme,
};

wit_bindgen::generate!({ path: "wit", world: "proxy-extras", generate_all });

use gatehouse::endpoint::{auth, config};

struct Proxy;

impl wasip2::exports::http::incoming_handler::Guest for Proxy {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let mut body = Vec::new();
        if let Ok(incoming) = request.consume()
            && let Ok(mut stream) = incoming.stream()
        {
            let _ = stream.read_to_end(&mut body);
        }
        let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
        let fetch = query.split('&').find_map(|pair| pair.strip_prefix("fetch="));
        if let Some(mib) = query.split('&').find_map(|pair| pair.strip_prefix("big=")) {
            return respond_big(out, mib.parse().unwrap_or(1));
        }
        let post: usize =
            query.split('&').find_map(|pair| pair.strip_prefix("post=")).and_then(|m| m.parse().ok()).unwrap_or(0);
        let (status, json) = match fetch {
            Some(url) => fetch_status(url, post),
            None => {
                let who = auth::current();
                let kind = match who.kind {
                    auth::PrincipalKind::ApiKey => "api-key",
                    auth::PrincipalKind::Session => "session",
                    auth::PrincipalKind::Anonymous => "anonymous",
                };
                let greeting = config::get("GREETING").unwrap_or_default();
                (
                    200,
                    format!(
                        r#"{{"world":"wasi:http","method":"{:?}","path":"{path}","bodyBytes":{},"auth":{{"kind":"{kind}","tenant":"{}"}},"greeting":"{greeting}"}}"#,
                        request.method(),
                        body.len(),
                        who.tenant
                    ),
                )
            }
        };
        respond(out, status, &json);
    }
}

/// `http://host:port/path` → an outgoing request's status, or the error code's
/// name; with `post_mib` > 0, a POST of that many MiB.
fn fetch_status(url: &str, post_mib: usize) -> (u16, String) {
    let url = url.replace("%3A", ":").replace("%2F", "/");
    let (scheme, rest) = match url.split_once("://") {
        Some(("https", rest)) => (Scheme::Https, rest.to_string()),
        Some((_, rest)) => (Scheme::Http, rest.to_string()),
        None => (Scheme::Http, url.clone()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.clone(), "/".to_string()),
    };
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_scheme(Some(&scheme));
    let _ = request.set_authority(Some(&authority));
    let _ = request.set_path_with_query(Some(&path));
    let body = (post_mib > 0).then(|| {
        let _ = request.set_method(&wasip2::http::types::Method::Post);
        request.body().expect("the body, once")
    });
    let result = match outgoing_handler::handle(request, None) {
        Err(e) => Err(format!("{e:?}")),
        Ok(future) => {
            if let Some(body) = body {
                // Written while the host sends; past its limit the stream fails.
                if let Ok(mut stream) = body.write() {
                    let chunk = vec![b'p'; 64 << 10];
                    for _ in 0..post_mib * 16 {
                        if stream.write_all(&chunk).is_err() {
                            break;
                        }
                    }
                    let _ = stream.flush();
                }
                let _ = OutgoingBody::finish(body, None);
            }
            future.subscribe().block();
            match future.get() {
                Some(Ok(Ok(response))) => Ok(response.status()),
                Some(Ok(Err(e))) => Err(format!("{e:?}")),
                _ => Err("no response".to_string()),
            }
        }
    };
    match result {
        Ok(status) => (200, format!(r#"{{"fetched":{status}}}"#)),
        Err(e) => (502, format!(r#"{{"error":"{}"}}"#, e.replace('"', "'"))),
    }
}

fn respond(out: ResponseOutparam, status: u16, json: &str) {
    let headers =
        Fields::from_list(&[("content-type".to_string(), b"application/json".to_vec())]).expect("a valid header");
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let body = response.body().expect("the body, once");
    ResponseOutparam::set(out, Ok(response));
    let mut stream = body.write().expect("the body stream, once");
    stream.write_all(json.as_bytes()).expect("writing the body");
    stream.flush().expect("flushing the body");
    drop(stream);
    OutgoingBody::finish(body, None).expect("finishing the body");
}

/// `mib` MiB of `x`, written a chunk at a time.
fn respond_big(out: ResponseOutparam, mib: usize) {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("the body, once");
    ResponseOutparam::set(out, Ok(response));
    let mut stream = body.write().expect("the body stream, once");
    let chunk = vec![b'x'; 64 << 10];
    for _ in 0..mib * 16 {
        if stream.write_all(&chunk).is_err() {
            return;
        }
    }
    let _ = stream.flush();
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}

wasip2::http::proxy::export!(Proxy);
