//! The one handler: look the route up, run the gate in order, run the guest,
//! answer. Whatever the outcome, the answer carries `X-Request-Id`, the
//! endpoint's CORS headers (for an allowed origin) and its rate-limit headers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tracing::Instrument;

use super::{convert, request_id};
use crate::app::App;
use crate::config::Method;
use crate::context::RequestContext;
use crate::error::{ApiError, ErrorCode};
use crate::gate;
use crate::registry::{ChangeError, Endpoint, Found, Handler, Lookup, Resolved, Tenant, Unresolved};

/// The tenant a request is for, loaded (a tenant asleep on this node is
/// loaded now), and how long the tenant's prefix in `path` is.
async fn find_tenant(app: &App, host: Option<&str>, path: &str) -> Result<(Arc<Tenant>, usize), ApiError> {
    let asleep = {
        let directory = app.registry.directory();
        match directory.resolve(host, path) {
            Err(Unresolved::UnknownHostTenant(name)) => {
                return Err(ApiError::new(ErrorCode::NotFound, format!("no tenant {name} on this platform")));
            }
            Ok(Resolved { tenant: Found::Loaded(tenant), path: inner }) => {
                return Ok((tenant.clone(), path.len() - inner.len()));
            }
            Ok(Resolved { tenant: Found::Asleep(name), path: inner }) => (name.to_string(), path.len() - inner.len()),
        }
    };
    let (name, prefix_len) = asleep;
    match app.registry.wake(&name).await {
        Ok(tenant) => Ok((tenant, prefix_len)),
        Err(ChangeError::NotFound(_)) => {
            Err(ApiError::new(ErrorCode::NotFound, format!("no tenant {name} on this platform")))
        }
        Err(e) => {
            tracing::error!(tenant = %name, "tenant not loaded: {e}");
            Err(ApiError::new(
                ErrorCode::ServiceUnavailable,
                format!("tenant {name} could not be loaded on this node; try again shortly"),
            ))
        }
    }
}

/// Where each tenant's OpenAPI document is served, inside its routes.
pub(super) const OPENAPI_PATH: &str = "/openapi.json";

pub(super) async fn handle(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let started = Instant::now();
    let mut timing = Timing::default();
    let request_id = request_id::assign(request.headers());
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    if let Some(probe) = super::probes::which(&method, &path) {
        // The platform's own probes, before any tenant: no log line, no
        // metrics series (a load balancer's every-second poll is not traffic).
        let mut response = super::probes::answer(&app, probe, &request_id).await;
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(request_id::HEADER, v);
        }
        return response;
    }

    let mut tenant_name: Option<Arc<str>> = None;
    let host = request.headers().get(http::header::HOST).and_then(|h| h.to_str().ok());
    let found = find_tenant(&app, host, &path).await;
    let (route, mut extra, result) = match found {
        Err(e) => (None, HeaderMap::new(), Err(e)),
        // A signed object URL: served by the platform, no guest. Before the
        // routes, which a `/{a}/{b}` pattern would otherwise claim it from.
        Ok((tenant, prefix_len)) if super::blob_url::is_blob_path(&path[prefix_len..]) => {
            tenant_name = Some(tenant.name.clone());
            tenant.touch();
            let (inner, query) = (&path[prefix_len..], request.uri().query());
            let result = super::blob_url::serve(&app, &tenant, &method, inner, query, peer.ip()).await;
            (Some(super::blob_url::ROUTE.into()), HeaderMap::new(), result)
        }
        Ok((tenant, prefix_len)) => {
            let inner = &path[prefix_len..];
            tenant_name = Some(tenant.name.clone());
            tenant.touch();
            let routes = super::rollout::routes_for(&tenant, request.headers(), peer.ip());
            match routes.lookup(&method, inner) {
                Lookup::Found(endpoint, params) => {
                    let endpoint = endpoint.clone();
                    let reached_at = convert::reached_at(&request, &path[..prefix_len]);
                    if prefix_len > 0 {
                        // The guest sees the path inside its tenant, the prefix removed.
                        strip_prefix(&mut request, inner);
                    }
                    app.stats.requests.fetch_add(1, Ordering::Relaxed);
                    let cors =
                        endpoint.policy.cors.as_ref().map(|c| gate::cors::response_headers(c, request.headers()));
                    let mut extra = cors.unwrap_or_default();
                    // The request's one span: every line logged while serving it
                    // (gate, guest, capabilities) carries its tenant, route and id.
                    let span = tracing::info_span!(
                        "request",
                        tenant = %tenant.name,
                        route = %endpoint.route_label,
                        request_id = %request_id,
                    );
                    // A client's W3C trace is continued (when traces are on).
                    crate::trace_context::continue_from(&span, request.headers());
                    let mut result = serve(
                        &app,
                        &tenant,
                        &endpoint,
                        Admitted { request, params, peer, reached_at, started },
                        &request_id,
                        &mut extra,
                        &mut timing,
                    )
                    .instrument(span.clone())
                    .await;
                    if timing.guest.is_some() {
                        super::rollout::record(&app, &tenant, &endpoint, &result);
                    }
                    if prefix_len > 0
                        && let Ok(response) = &mut result
                    {
                        // Path-prefix routing: tenants share this origin, so a
                        // guest's cookies stay under its own prefix.
                        let prefix = &path[..prefix_len];
                        let dropped = super::credentials::confine_cookies(response.headers_mut(), prefix);
                        if dropped > 0 {
                            let _in = span.enter();
                            tracing::warn!(
                                "dropped {dropped} Set-Cookie naming a Domain: tenants on path prefixes share one origin"
                            );
                        }
                    }
                    (Some(endpoint.route_label.clone()), extra, result)
                }
                // A preflight during a rollout may be for a route only another version has.
                found @ (Lookup::MethodNotAllowed(_) | Lookup::NotFound)
                    if gate::cors::is_preflight(&method, request.headers())
                        && (matches!(found, Lookup::MethodNotAllowed(_)) || !tenant.canary_views.is_empty()) =>
                {
                    let views = std::iter::once(&tenant.routes).chain(tenant.canary_views.iter().map(|v| &v.routes));
                    let result = super::preflight::answer(views, inner, request.headers());
                    (None, HeaderMap::new(), result)
                }
                Lookup::MethodNotAllowed(methods) => {
                    (None, HeaderMap::new(), Err(method_not_allowed(&method, &path, &methods)))
                }
                // The tenant's OpenAPI document, unless it routes this path itself.
                Lookup::NotFound if method == http::Method::GET && inner == OPENAPI_PATH => {
                    let base = if path.len() > inner.len() { &path[..path.len() - inner.len()] } else { "/" };
                    let document = tenant.openapi.get(&tenant, base);
                    let mut response = Response::new(Body::from(document.to_string()));
                    response
                        .headers_mut()
                        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    (Some(format!("GET {OPENAPI_PATH}").into()), HeaderMap::new(), Ok(response))
                }
                Lookup::NotFound => (
                    None,
                    HeaderMap::new(),
                    Err(ApiError::new(ErrorCode::NotFound, format!("no endpoint at {method} {path}"))),
                ),
            }
        }
    };
    let (refused, stopped_by) = match &result {
        // Refused before any guest ran: by the gate, or its tenant's share.
        Err(e) if route.is_some() && timing.guest.is_none() => (Some(e.code.as_str()), None),
        // A guest a limit stopped says which in its details.
        Err(e) => (None, e.details.as_ref().and_then(|d| d["limit"].as_str().map(str::to_string))),
        Ok(_) => (None, None),
    };
    let mut response = match result {
        Ok(r) => r,
        Err(e) => e.into_response(&request_id).map(Body::from),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        extra.insert(request_id::HEADER, v);
    }
    if app.config.server.server_timing
        && let Some(v) = timing.header(started)
    {
        extra.insert(HeaderName::from_static("server-timing"), v);
    }
    response.headers_mut().extend(extra);
    let calls = timing.calls.as_deref();
    app.metrics.request(&crate::metrics::RequestRecord {
        tenant: tenant_name.as_deref(),
        route: route.as_deref(),
        method: method.as_str(),
        status: response.status().as_u16(),
        total: started.elapsed(),
        gate: timing.gate,
        guest: timing.guest,
        refused,
        stopped_by: stopped_by.as_deref(),
        db_calls: calls.map(|c| c.db.each()).unwrap_or_default(),
        outbound: calls
            .map(|c| c.outbound_calls().into_iter().map(|o| (o.took, o.host, o.outcome)).collect())
            .unwrap_or_default(),
    });
    access_log(&method, &path, route.as_deref(), response.status(), &request_id, started);
    response
}

/// Rewrites the request's path to `inner` (the tenant prefix removed), keeping the query.
fn strip_prefix(request: &mut Request, inner: &str) {
    let with_query = match request.uri().query() {
        Some(q) => format!("{inner}?{q}"),
        None => inner.to_string(),
    };
    if let Ok(uri) = with_query.parse() {
        *request.uri_mut() = uri;
    }
}

/// A request routed to an endpoint, with what the gate needs to know of it.
struct Admitted {
    request: Request,
    params: Vec<(String, String)>,
    peer: SocketAddr,
    /// Where the client reached the tenant, for signed URLs.
    reached_at: Option<crate::context::ReachedAt>,
    /// When it arrived: the gate's time runs from here to the guest's start.
    started: Instant,
}

/// Where the request's time went, for `Server-Timing`.
#[derive(Default)]
struct Timing {
    /// From arrival until the guest started (or the gate refused).
    gate: Option<std::time::Duration>,
    /// The guest, until its answer's head was ready.
    guest: Option<std::time::Duration>,
    /// Its capability calls, read when the head was ready.
    calls: Option<Arc<crate::timing::Timings>>,
}

impl Timing {
    /// The header: gate (the whole time, if the request never reached a guest),
    /// guest, then each capability used.
    fn header(&self, started: Instant) -> Option<HeaderValue> {
        let mut t = crate::timing::ServerTiming::default();
        t.push("gate", Some(self.gate.unwrap_or_else(|| started.elapsed())));
        t.push("guest", self.guest);
        if let Some(calls) = &self.calls {
            t.push("db", calls.db.total());
            t.push("upstream", calls.upstream.total());
            t.push("blobs", calls.blobs.total());
        }
        t.header()
    }
}

/// The gate, in order, then the guest. Headers for the answer go into
/// `extra`, and where the time went into `timing`.
async fn serve(
    app: &App,
    tenant: &Tenant,
    endpoint: &Arc<Endpoint>,
    admitted: Admitted,
    request_id: &str,
    extra: &mut HeaderMap,
    timing: &mut Timing,
) -> Result<Response, ApiError> {
    let Admitted { request, params, peer, reached_at, started } = admitted;
    let refused = |e: ApiError| {
        app.stats.refused_by_gate.fetch_add(1, Ordering::Relaxed);
        e
    };
    let policy = &endpoint.policy;
    let limit = endpoint.grants.limits.body_bytes;
    gate::body_limit::check_declared(request.headers(), limit).map_err(refused)?;
    let sessions = tenant.sessions.as_deref();
    // Each step is a child span of the request's, for traces (debug level:
    // log lines never show them, so they cost nothing when traces are off).
    let principal = gate::auth::authenticate(policy.auth, request.headers(), &app.identity, sessions, &endpoint.tenant)
        .instrument(tracing::debug_span!("authenticate"))
        .await
        .map_err(refused)?;
    tracing::debug_span!("scopes").in_scope(|| gate::scopes::check(&policy.scopes, &principal)).map_err(refused)?;
    if app.limiter.applies(&policy.rate_limits, tenant.rate_ceiling) {
        match app
            .limiter
            .check(
                &endpoint.tenant,
                &endpoint.route_label,
                &policy.rate_limits,
                tenant.rate_ceiling,
                &principal,
                peer.ip(),
            )
            .instrument(tracing::debug_span!("rate_limit"))
            .await
        {
            Ok(headers) => extra.extend(headers),
            Err(e) => return Err(refused(e)),
        }
    }

    let (mut parts, body) = request.into_parts();
    let context = Arc::new(RequestContext {
        request_id: request_id.to_string(),
        tenant: endpoint.tenant.clone(),
        route: endpoint.route_label.clone(),
        raw_query: parts.uri.query().map(str::to_string),
        timings: Default::default(),
        reached_at,
    });
    // The tenant's place in the pool before its body is read: a request
    // waiting for its tenant's share holds no body, so the host memory a
    // tenant's waiters cost stays small, whatever their bodies.
    let place = admit(app, tenant).instrument(tracing::debug_span!("tenant_share")).await?;
    if principal.kind != crate::identity::PrincipalKind::Anonymous && !policy.forward_credentials {
        super::credentials::strip(&mut parts.headers, tenant.sessions.as_deref().map(|s| s.cookie()));
    }
    let deadline = app.config.server.body_read_timeout;
    let reading = tokio::time::timeout(deadline, gate::body_limit::read(body, limit));
    let body = match reading.instrument(tracing::debug_span!("read_body")).await {
        Ok(read) => read.map_err(refused)?,
        Err(_) => {
            return Err(refused(ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "the request body did not arrive within {} s (server.body_read_timeout)",
                    deadline.as_secs_f64()
                ),
            )));
        }
    };
    let wit_request_query = convert::query_pairs(&parts);
    let body = check_body(endpoint, &parts.headers, body, &wit_request_query)
        .instrument(tracing::debug_span!("check_body"))
        .await
        .map_err(refused)?;
    if let Some(upload) = &policy.upload {
        gate::upload::check(upload, &parts.headers, body.clone())
            .instrument(tracing::debug_span!("upload"))
            .await
            .map_err(refused)?;
    }

    let guest_started = Instant::now();
    timing.gate = Some(guest_started - started);
    timing.calls = Some(context.timings.clone());
    let answer = match &endpoint.handler {
        Handler::Entity(entity, op) => {
            let call = super::entity::Call { params: &params, query: &wit_request_query, body: &body };
            super::entity::serve(entity, *op, endpoint, &principal, call, &context).await
        }
        Handler::Guest(prepared) => {
            let wit_request = convert::to_wit(&parts, params, wit_request_query, body, request_id);
            run_guest(app, endpoint, prepared, Arc::new(principal), context, wit_request, place)
                .instrument(tracing::debug_span!("guest"))
                .await
        }
    };
    timing.guest = Some(guest_started.elapsed());
    answer
}

/// A place in the tenant's share of the instance pool, or 503 TENANT_OVERLOADED.
async fn admit(app: &App, tenant: &Tenant) -> Result<crate::sandbox::Place, ApiError> {
    tenant.share.admit(app.sandbox.queue_timeout).await.map_err(|why| {
        let share = tenant.share.size();
        let reason = match why {
            crate::sandbox::ShareRefusal::QueueFull => "its waiting requests are at their bound",
            crate::sandbox::ShareRefusal::TimedOut => "none came free within sandbox.queue_timeout",
        };
        tracing::warn!(
            limit = "max_concurrent",
            figure = share,
            "tenant at its share of {share} instances at once; {reason}"
        );
        ApiError::new(
            ErrorCode::TenantOverloaded,
            format!(
                "tenant {} is running its {share} instances at once (quotas.maxConcurrent); retry shortly",
                tenant.name
            ),
        )
        .with_details(serde_json::json!({ "limit": "maxConcurrent", "value": share }))
        .with_header(http::header::RETRY_AFTER, HeaderValue::from_static("1"))
    })
}

/// Bodies larger than this are checked (HMAC, JSON Schema) on a blocking
/// thread: the work is linear in the body, and a large body must not stall an
/// async worker that other requests share.
const INLINE_CHECK_BYTES: usize = 64 << 10;

/// The gate's checks of the read body: signature, query and body schemas.
/// Returns the body with schema defaults filled in.
async fn check_body(
    endpoint: &Arc<Endpoint>,
    headers: &HeaderMap,
    body: bytes::Bytes,
    query: &[(String, String)],
) -> Result<bytes::Bytes, ApiError> {
    if body.len() <= INLINE_CHECK_BYTES {
        return body_checks(endpoint, headers, body, query);
    }
    let (endpoint, headers, query) = (endpoint.clone(), headers.clone(), query.to_vec());
    tokio::task::spawn_blocking(move || body_checks(&endpoint, &headers, body, &query))
        .await
        .unwrap_or_else(|e| Err(ApiError::new(ErrorCode::InternalError, format!("the body check failed: {e}"))))
}

fn body_checks(
    endpoint: &Endpoint,
    headers: &HeaderMap,
    mut body: bytes::Bytes,
    query: &[(String, String)],
) -> Result<bytes::Bytes, ApiError> {
    if let Some(sig) = &endpoint.policy.signature {
        gate::signature::verify(sig, headers, &body, crate::clock::unix_now() as u64)?;
    }
    if let Some(schema) = &endpoint.query_schema {
        gate::validate::query(schema, query)?;
    }
    if let Some(schema) = &endpoint.body_schema {
        body = gate::validate::body(schema, headers, &body)?;
    }
    Ok(body)
}

/// Runs the guest in a task of its own, so the answer can start streaming the
/// moment the guest starts a stream while the guest keeps running. Until then,
/// dropping this future (the client left) aborts the guest; after it, the
/// stream's gone-signal does.
async fn run_guest(
    app: &App,
    endpoint: &Arc<Endpoint>,
    prepared: &crate::sandbox::PreparedEndpoint,
    principal: Arc<crate::identity::Principal>,
    context: Arc<RequestContext>,
    wit_request: crate::sandbox::wit::Request,
    place: crate::sandbox::Place,
) -> Result<Response, ApiError> {
    if !prepared.streams {
        // It cannot stream: run it right here, and the answer is its return value.
        let out = app
            .sandbox
            .invoke(
                prepared,
                &endpoint.grants,
                principal,
                context,
                wit_request,
                crate::capabilities::stream::StreamState::detached(),
            )
            .await?;
        drop(place);
        let mut response = Response::new(Body::from(out.body));
        *response.status_mut() = out.status;
        *response.headers_mut() = out.headers;
        return Ok(response);
    }
    let (stream, channel, gone, activity) = crate::capabilities::stream::channel();
    let sandbox = app.sandbox.clone();
    let ep = endpoint.clone();
    let idle = endpoint.grants.limits.stream_idle;
    let (metrics, tenant) = (app.metrics.clone(), endpoint.tenant.clone());
    let run = async move {
        // The tenant's place is held for as long as its guest runs, streaming included.
        let _place = place;
        let Handler::Guest(prepared) = &ep.handler else { unreachable!("a guest's task runs a guest") };
        sandbox.invoke(prepared, &ep.grants, principal, context, wit_request, stream).await
    };
    // The task runs the guest in the request's span, as if it ran here.
    let span = tracing::Span::current();
    let mut task = AbortOnDrop(Some(tokio::spawn(
        async move {
            tokio::select! {
                result = run => Some(result),
                // The client left mid-stream: stop the guest now, not at its budget.
                () = gone.wait() => {
                    tracing::info!("the client left mid-stream; guest stopped");
                    None
                }
                // Streaming, but silent for too long: stop it, like any other budget.
                () = activity.idle_for(idle) => {
                    let limit_ms = idle.as_millis() as u64;
                    tracing::warn!(
                        limit = "stream_idle_ms", figure = limit_ms,
                        "guest stopped: stream idle budget of {limit_ms} ms exceeded"
                    );
                    metrics.guest_stopped(&tenant, "stream_idle_ms");
                    None
                }
            }
        }
        .instrument(span),
    )));
    let mut head = channel.head;
    let finished = tokio::select! {
        // A started stream wins even if the guest has already returned too:
        // its buffered events are the response.
        biased;
        head = &mut head => match head {
            Ok(head) => {
                // Streaming: the task outlives this function and ends with the guest or the client.
                task.0.take();
                let body = futures_util::stream::unfold(channel.body, |mut rx| async move {
                    rx.recv().await.map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), rx))
                });
                let mut response = Response::new(Body::from_stream(body));
                *response.status_mut() = head.status;
                *response.headers_mut() = head.headers;
                return Ok(response);
            }
            // The guest finished without streaming.
            Err(_) => task.join().await,
        },
        joined = task.join() => joined,
    };
    let out = finished?;
    let mut response = Response::new(Body::from(out.body));
    *response.status_mut() = out.status;
    *response.headers_mut() = out.headers;
    Ok(response)
}

type GuestTask = tokio::task::JoinHandle<Option<Result<crate::sandbox::GuestResponse, ApiError>>>;

/// Aborts the guest's task if the request is dropped before it is detached.
struct AbortOnDrop(Option<GuestTask>);

impl AbortOnDrop {
    async fn join(&mut self) -> Result<crate::sandbox::GuestResponse, ApiError> {
        let Some(handle) = self.0.as_mut() else {
            return Err(ApiError::new(ErrorCode::InternalError, "the guest's task was detached"));
        };
        let joined = handle.await;
        self.0 = None;
        match joined {
            Ok(Some(result)) => result,
            Ok(None) => Err(ApiError::new(ErrorCode::BadRequest, "the client went away")),
            Err(e) => {
                tracing::error!("the guest's task failed: {e}");
                Err(ApiError::new(ErrorCode::InternalError, "the endpoint's task failed"))
            }
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

fn method_not_allowed(method: &http::Method, path: &str, methods: &[Method]) -> ApiError {
    let allow = methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
    ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {path}; use {allow}"))
        .with_details(serde_json::json!({ "allowed": methods.iter().map(|m| m.as_str()).collect::<Vec<_>>() }))
        .with_header(http::header::ALLOW, HeaderValue::from_str(&allow).unwrap_or(HeaderValue::from_static("")))
}

fn access_log(
    method: &http::Method,
    path: &str,
    route: Option<&str>,
    status: StatusCode,
    request_id: &str,
    started: Instant,
) {
    let micros = started.elapsed().as_micros() as u64;
    tracing::info!(
        target: "gatehouse::access",
        %method, path, route = route.unwrap_or("-"), status = status.as_u16(), request_id, micros,
        "request"
    );
}
