//! `wasi:http` for guests that speak it: standard `wasi:http/proxy`
//! components (what `wasmtime serve` and Spin run) and any guest that imports
//! `wasi:http/outgoing-handler`. Its one hook that reaches the network,
//! `send_request`, goes through the endpoint's `http-out` client: the same
//! allow-list, the same resolver that refuses private addresses, the same
//! per-request call count, size and time limits. Without `allowed_hosts` every
//! outgoing request is denied (`HTTP-request-denied`).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use tracing::Instrument;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::http_out::{HttpOut, HttpOutState};
use super::wit_http_out as wit;

/// The largest request body a guest may send out through wasi:http.
const MAX_OUTGOING_BODY: usize = 10 << 20;

/// Per-request `wasi:http` state: only its context; the hooks are `http-out`'s state.
#[derive(Default)]
pub(crate) struct WasiHttpState {
    ctx: WasiHttpCtx,
}

impl WasiHttpState {
    /// The view `wasi:http` works through: this context, the store's table, and
    /// `http-out`'s state as the hooks that reach the network.
    pub(crate) fn view<'a>(
        &'a mut self,
        table: &'a mut ResourceTable,
        hooks: &'a mut HttpOutState,
    ) -> WasiHttpCtxView<'a> {
        WasiHttpCtxView { ctx: &mut self.ctx, table, hooks }
    }
}

impl WasiHttpHooks for HttpOutState {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>,
            > + Send,
    > {
        drop(fut);
        let url = request.uri().to_string();
        let client = self.take_call();
        // wasmtime-wasi-http runs this future in a task of its own: carry the
        // request's span into it, so its log lines name tenant, route and id.
        let span = tracing::Span::current();
        Box::new(Instrument::instrument(
            async move {
                let client: Arc<HttpOut> = match client {
                    Ok(c) => c,
                    Err(e) => {
                        log_refusal(&url, &e);
                        return Err(to_error(e));
                    }
                };
                let (parts, body) = request.into_parts();
                let body = Limited::new(body, MAX_OUTGOING_BODY)
                    .collect()
                    .await
                    .map_err(|_| Error::HttpRequestBodySize(Some(MAX_OUTGOING_BODY as u64)))?
                    .to_bytes();
                let timeout = options.and_then(|o| o.first_byte_timeout.or(o.connect_timeout));
                let out = wit::OutgoingRequest {
                    method: parts.method.as_str().to_string(),
                    url: url.clone(),
                    headers: parts
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                        .collect(),
                    body: if body.is_empty() { None } else { Some(body.to_vec()) },
                    timeout_ms: timeout.map(|t| t.as_millis().min(u32::MAX as u128) as u32),
                };
                let answer = match client.fetch(out).instrument(HttpOut::span(&url)).await {
                    Ok(a) => a,
                    Err(e) => {
                        log_refusal(&url, &e);
                        return Err(to_error(e));
                    }
                };
                let mut response = http::Response::builder().status(answer.status);
                for (k, v) in &answer.headers {
                    response = response.header(k, v);
                }
                let body = Full::new(Bytes::from(answer.body)).map_err(|never| match never {}).boxed_unsync();
                let response = response.body(body).map_err(|e| Error::InternalError(Some(e.to_string())))?;
                let done: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
                Ok((response, done))
            },
            span,
        ))
    }
}

fn log_refusal(url: &str, e: &wit::HttpError) {
    let url = super::http_out::redact_query(url);
    let url = url.as_str();
    tracing::warn!(url, "outbound wasi:http request refused or failed: {e:?}");
}

fn to_error(e: wit::HttpError) -> Error {
    match e {
        wit::HttpError::NotAllowed(_) | wit::HttpError::TooManyCalls(_) => Error::HttpRequestDenied,
        wit::HttpError::InvalidUrl(_) => Error::HttpRequestUriInvalid,
        wit::HttpError::ResponseTooLarge(n) => Error::HttpResponseBodySize(Some(n)),
        wit::HttpError::Timeout => Error::ConnectionTimeout,
        wit::HttpError::Connection(why) => Error::InternalError(Some(why)),
    }
}

/// Links `wasi:http/types` and `wasi:http/outgoing-handler`.
pub(crate) fn add_to_linker<T: WasiHttpView + Send + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}
