//! One request through a standard `wasi:http/proxy` component: the request
//! the gate admitted becomes a `wasi:http` incoming request, the guest's
//! `incoming-handler.handle` runs in the same store with the same budgets,
//! and its response (head and body, bounded) comes back in the shape every
//! other guest answers with, so the rest of the path is shared.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use super::HostState;
use super::wit;

/// The largest response body a wasi:http guest may send (whole responses only).
const MAX_RESPONSE_BODY: usize = 16 << 20;

/// How a proxy call failed.
pub(super) enum ProxyFailure {
    /// Instantiation, or building the request's resources.
    Instantiate(wasmtime::Error),
    /// The guest trapped or ran out of a budget.
    Trap(wasmtime::Error),
    /// The guest answered with no, or a broken, response.
    Answer(String),
    /// The guest's response body is over `MAX_RESPONSE_BODY` (the limit, in bytes).
    TooLarge(usize),
}

/// Runs `request` through a fresh instance of `pre` in `store`.
pub(super) async fn run(
    pre: &ProxyPre<HostState>,
    store: &mut Store<HostState>,
    request: &wit::Request,
    raw_query: Option<&str>,
) -> Result<wit::Response, ProxyFailure> {
    let incoming = to_http(request, raw_query).map_err(|e| ProxyFailure::Instantiate(wasmtime::Error::msg(e)))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (req, out) = {
        let mut view = store.data_mut().http();
        let req = view.new_incoming_request(Scheme::Http, incoming).map_err(ProxyFailure::Instantiate)?;
        let out = view.new_response_outparam(tx).map_err(ProxyFailure::Instantiate)?;
        (req, out)
    };
    let guest = async {
        let proxy = pre.instantiate_async(&mut *store).await.map_err(ProxyFailure::Instantiate)?;
        proxy.wasi_http_incoming_handler().call_handle(&mut *store, req, out).await.map_err(ProxyFailure::Trap)
    };
    let answer = async {
        let response = match rx.await {
            Ok(Ok(r)) => r,
            Ok(Err(code)) => return Err(ProxyFailure::Answer(format!("the guest answered with the error {code:?}"))),
            Err(_) => return Err(ProxyFailure::Answer("the guest never set a response".to_string())),
        };
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BODY).collect().await.map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ProxyFailure::TooLarge(MAX_RESPONSE_BODY)
            } else {
                ProxyFailure::Answer(format!("the guest's response body failed: {e}"))
            }
        })?;
        Ok((parts, body.to_bytes()))
    };
    tokio::pin!(guest);
    tokio::pin!(answer);
    // The body is read while the guest writes it. A guest that traps first is
    // a trap (its response sender stays in its table, so `answer` would wait on).
    let answered = tokio::select! {
        biased;
        done = &mut guest => {
            done?;
            answer.await
        }
        answered = &mut answer => {
            guest.await?;
            answered
        }
    };
    let (parts, body) = answered?;
    Ok(wit::Response {
        status: parts.status.as_u16(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: body.to_vec(),
    })
}

/// The admitted request as an HTTP request again: the path inside the tenant,
/// the query exactly as the client sent it (re-encoded only if unknown), the
/// headers and the body the gate read.
fn to_http(r: &wit::Request, raw_query: Option<&str>) -> Result<http::Request<Full<Bytes>>, String> {
    let host = r.headers.iter().find(|(k, _)| k == "host").map(|(_, v)| v.as_str()).unwrap_or("localhost");
    let mut uri = format!("http://{host}{}", r.path);
    match raw_query {
        Some(q) => {
            uri.push('?');
            uri.push_str(q);
        }
        None if !r.query.is_empty() => {
            uri.push('?');
            uri.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(&r.query).finish());
        }
        None => {}
    }
    let mut builder = http::Request::builder().method(r.method.as_str()).uri(uri);
    for (k, v) in &r.headers {
        builder = builder.header(k, v);
    }
    builder.body(Full::new(Bytes::from(r.body.clone()))).map_err(|e| format!("the request cannot be passed on: {e}"))
}
