//! One request, one fresh instance: wait for a pool slot, build the store with
//! its budgets, instantiate from the cached `InstancePre`, call `handle`, and
//! turn whatever happened into a response or an envelope. An endpoint with
//! `reuse` takes a kept instance instead when one is ready (`warm`), and keeps
//! its instance afterwards only if the request returned and left nothing open.
//! One without takes a ready instance (`ready`) when its endpoint has one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::json;
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;

use super::state::{EndpointGrants, HostState};
use super::warm::Warm;
use super::wit;
use super::{Pre, PreparedEndpoint, Sandbox, failure};
use crate::context::RequestContext;
use crate::error::{ApiError, ErrorCode, is_valid_custom_code};
use crate::identity::Principal;

/// Instances with a linear memory larger than this are dropped on a
/// blocking thread after the request rather than before its answer (a Rust
/// hello has about 1 MiB; a Python or JavaScript one tens of MiB).
const DROP_ASIDE_BYTES: usize = 8 << 20;

/// A guest's answer, checked: a valid status and headers.
#[derive(Debug)]
pub struct GuestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers, hop-by-hop ones removed.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Sandbox {
    /// Runs `request` through a fresh instance of `endpoint`, or, for an
    /// endpoint with `reuse`, through one its earlier requests left clean.
    pub async fn invoke(
        &self,
        endpoint: &PreparedEndpoint,
        grants: &EndpointGrants,
        principal: Arc<Principal>,
        context: Arc<RequestContext>,
        request: wit::Request,
        stream: crate::capabilities::stream::StreamState,
    ) -> Result<GuestResponse, ApiError> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let in_flight = Counted(&self.in_flight);
        let result = self.run(endpoint, grants, principal, context.clone(), request, stream).await;
        drop(in_flight);
        if grants.reuse.is_none() {
            // The node may be idle now: time to make this endpoint's next instance.
            self.prepare_ready(endpoint, grants, &context);
        }
        result
    }

    async fn run(
        &self,
        endpoint: &PreparedEndpoint,
        grants: &EndpointGrants,
        principal: Arc<Principal>,
        context: Arc<RequestContext>,
        request: wit::Request,
        stream: crate::capabilities::stream::StreamState,
    ) -> Result<GuestResponse, ApiError> {
        let reuse = grants.reuse.filter(|_| endpoint.reusable());
        let kept = match reuse {
            Some(_) => self.warm.take(endpoint.key),
            // Without `reuse`, only an instance no request has called (`ready.rs`).
            None if endpoint.readiness.has_ready() => self.warm.take_unused(endpoint.key),
            None => None,
        };
        let (mut store, mut instance, served, slot) = match kept {
            Some(Warm { mut store, instance, served, slot, unused: _ }) => {
                if served == 0 {
                    // A ready instance starts serving now.
                    self.instances_started.fetch_add(1, Ordering::Relaxed);
                    self.ready_taken.fetch_add(1, Ordering::Relaxed);
                }
                store.data_mut().begin_request(grants, principal, context.clone(), stream, served == 0);
                (store, Some(instance), served, slot)
            }
            None => {
                let slot = self.slot().await?;
                self.instances_started.fetch_add(1, Ordering::Relaxed);
                let mut store = Store::new(&self.engine, HostState::new(grants, principal, context.clone(), stream));
                store.limiter(|s| &mut s.budget);
                store.epoch_deadline_callback(|mut cx| cx.data_mut().budget.on_epoch());
                (store, None, 0, slot)
            }
        };
        store.set_epoch_deadline(1);

        enum Step {
            Instantiate(wasmtime::Error),
            Call(wasmtime::Error),
            /// A wasi:http guest answered with no or a broken response.
            Answer(String),
            /// A wasi:http guest's response body is over the limit (bytes).
            TooLarge(usize),
        }
        let run = async {
            match &endpoint.pre {
                Pre::Endpoint(pre) => {
                    let instance = match instance.take() {
                        Some(kept) => kept,
                        None => {
                            let started = std::time::Instant::now();
                            let fresh = pre.instantiate_async(&mut store).await.map_err(Step::Instantiate)?;
                            endpoint.readiness.instantiated_in(started.elapsed());
                            fresh
                        }
                    };
                    let answer = instance
                        .gatehouse_endpoint_handler()
                        .call_handle(&mut store, &request)
                        .await
                        .map_err(Step::Call)?;
                    Ok((answer, Some(instance)))
                }
                Pre::Proxy(pre) => super::proxy::run(pre, &mut store, &request, context.raw_query.as_deref())
                    .await
                    .map(|response| (Ok(response), None))
                    .map_err(|e| match e {
                        super::proxy::ProxyFailure::Instantiate(e) => Step::Instantiate(e),
                        super::proxy::ProxyFailure::Trap(e) => Step::Call(e),
                        super::proxy::ProxyFailure::Answer(e) => Step::Answer(e),
                        super::proxy::ProxyFailure::TooLarge(limit) => Step::TooLarge(limit),
                    }),
            }
        };
        // Any way out but a returned answer (a trap, a budget, the wall clock)
        // drops the store here, and with it the instance: never kept.
        let (answer, instance) = match tokio::time::timeout(grants.limits.wall, run).await {
            Err(_elapsed) => return Err(failure::wall_timeout(grants.limits.wall)),
            Ok(Err(Step::Instantiate(e))) => return Err(failure::instantiate_failed(&e, &store.data().budget)),
            Ok(Err(Step::Call(e))) => return Err(failure::trapped(&e, &store.data().budget)),
            Ok(Err(Step::Answer(problem))) => return Err(invalid_response(problem)),
            Ok(Err(Step::TooLarge(limit))) => return Err(failure::response_too_large(limit)),
            Ok(Ok(done)) => done,
        };
        // A request waiting for a slot gets this one instead of it being kept.
        let wanted = || self.slot_waiters.load(Ordering::Acquire) > 0;
        match (reuse, instance) {
            (Some(reuse), Some(instance))
                if served + 1 < reuse.requests && store.data().ended_cleanly() && !wanted() =>
            {
                let served = served + 1;
                self.warm.give(endpoint.key, Warm { store, instance, served, slot, unused: None }, reuse.idle);
            }
            (_, instance) if store.data().budget.largest_memory() > DROP_ASIDE_BYTES => {
                // Returning a big instance's slot resets every page it
                // dirtied: 0.2-2 ms for a Python or JavaScript one. Not on the
                // answer's path.
                tokio::task::spawn_blocking(move || drop((instance, store, slot)));
            }
            _ => {}
        }
        match answer {
            Err(guest_error) => Err(guest_error_to_api(guest_error)),
            Ok(response) => check_response(response),
        }
    }

    /// A pool slot. Past the pool's size requests wait here (bounded), so the
    /// pool is never asked for more than it has; instances kept for `reuse`
    /// give their slots up first.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // From here until this request has a slot, instances that finish are
        // dropped rather than kept (see `invoke`), so their slots come here.
        self.slot_waiters.fetch_add(1, Ordering::AcqRel);
        let _waiting = Counted(&self.slot_waiters);
        while self.warm.evict_one() {
            if let Ok(permit) = self.slots.clone().try_acquire_owned() {
                return Ok(permit);
            }
        }
        match tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                tracing::warn!("no sandbox slot free within the queue timeout");
                Err(ApiError::new(ErrorCode::Overloaded, "the platform is at capacity; retry shortly"))
            }
        }
    }
}

/// One request counted (in the sandbox, or waiting for a slot) until it is dropped.
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn guest_error_to_api(e: wit::Error) -> ApiError {
    use wit::ErrorKind as K;
    let code = match e.kind {
        K::BadRequest => ErrorCode::BadRequest,
        K::ValidationFailed => ErrorCode::ValidationFailed,
        K::Unauthorized => ErrorCode::Unauthorized,
        K::Forbidden => ErrorCode::Forbidden,
        K::NotFound => ErrorCode::NotFound,
        K::Conflict => ErrorCode::Conflict,
        K::PayloadTooLarge => ErrorCode::PayloadTooLarge,
        K::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
        K::Unprocessable => ErrorCode::Unprocessable,
        K::TooManyRequests => ErrorCode::RateLimitExceeded,
        K::Internal => ErrorCode::InternalError,
        K::Unavailable => ErrorCode::ServiceUnavailable,
    };
    let mut api = ApiError::new(code, e.message);
    match e.code {
        Some(c) if is_valid_custom_code(&c) => api.custom_code = Some(c),
        Some(c) => tracing::warn!("guest error code {c:?} is not UPPER_SNAKE_CASE (max 64); using {}", code.as_str()),
        None => {}
    }
    if let Some(details) = e.details {
        match serde_json::from_str(&details) {
            Ok(v) => api.details = Some(Box::new(v)),
            Err(err) => tracing::warn!("guest error details are not JSON ({err}); dropped"),
        }
    }
    api
}

fn invalid_response(what: String) -> ApiError {
    tracing::error!("guest returned an invalid response: {what}");
    ApiError::new(ErrorCode::GuestInvalidResponse, "the endpoint returned an invalid HTTP response")
        .with_details(json!({ "problem": what }))
}

fn check_response(r: wit::Response) -> Result<GuestResponse, ApiError> {
    let invalid = invalid_response;
    let status = StatusCode::from_u16(r.status)
        .ok()
        .filter(|s| !s.is_informational())
        .ok_or_else(|| invalid(format!("status {} is not a final HTTP status (200-599)", r.status)))?;
    let mut headers = HeaderMap::with_capacity(r.headers.len());
    for (name, value) in r.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("header name {name:?} is not valid")))?;
        if crate::capabilities::HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        let value =
            HeaderValue::from_str(&value).map_err(|_| invalid(format!("header {name} has an invalid value")))?;
        headers.append(name, value);
    }
    Ok(GuestResponse { status, headers, body: Bytes::from(r.body) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_errors_keep_their_code_and_details() {
        let e = wit::Error {
            kind: wit::ErrorKind::NotFound,
            message: "no report 9".into(),
            code: Some("REPORT_NOT_FOUND".into()),
            details: Some(r#"{"reportId":"9"}"#.into()),
        };
        let api = guest_error_to_api(e);
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        assert_eq!(api.code_str(), "REPORT_NOT_FOUND");
        assert_eq!(api.details.unwrap()["reportId"], "9");
    }

    #[test]
    fn bad_codes_and_details_fall_back() {
        let e = wit::Error {
            kind: wit::ErrorKind::Conflict,
            message: "x".into(),
            code: Some("lower".into()),
            details: Some("{".into()),
        };
        let api = guest_error_to_api(e);
        assert_eq!(api.code_str(), "CONFLICT");
        assert!(api.details.is_none());
    }

    #[test]
    fn responses_are_checked() {
        let ok = wit::Response {
            status: 201,
            headers: vec![("content-type".into(), "text/plain".into()), ("connection".into(), "close".into())],
            body: b"hi".to_vec(),
        };
        let r = check_response(ok).unwrap();
        assert_eq!(r.status, StatusCode::CREATED);
        assert!(r.headers.get("connection").is_none());
        let bad = wit::Response { status: 99, headers: vec![], body: vec![] };
        assert_eq!(check_response(bad).unwrap_err().code, ErrorCode::GuestInvalidResponse);
        let bad = wit::Response { status: 200, headers: vec![("bad name".into(), "v".into())], body: vec![] };
        assert_eq!(check_response(bad).unwrap_err().code, ErrorCode::GuestInvalidResponse);
    }
}
