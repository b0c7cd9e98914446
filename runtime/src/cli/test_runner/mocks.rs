//! The upstreams a test file declares (`[[mock]]`): each a small HTTP server
//! on a loopback port, answering its routes as written and 404 to anything
//! else, for as long as the file's tests run.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use http_body_util::Full;

type Request = http::Request<hyper::body::Incoming>;
type Response = http::Response<Full<Bytes>>;

use super::spec::{Mock, MockRoute, json};

/// A running mock: its name and base URL; stops when dropped.
pub(super) struct Running {
    pub(super) name: String,
    pub(super) variable: Option<String>,
    /// `http://127.0.0.1:PORT`.
    pub(super) url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts `mock` on a free loopback port.
pub(super) async fn start(mock: &Mock) -> Result<Running, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("mock {}: cannot listen on loopback: {e}", mock.name))?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let routes: Arc<Vec<MockRoute>> = Arc::new(mock.route.clone());
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    // hyper directly: only `server` knows axum.
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = &mut stopped => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let routes = routes.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request| {
                    let routes = routes.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(&routes, &request)) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    Ok(Running { name: mock.name.clone(), variable: mock.variable.clone(), url, stop: Some(stop) })
}

/// The declared answer to `request`, or 404 naming what the mock has.
fn answer(routes: &[MockRoute], request: &Request) -> Response {
    let found = routes
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(request.method().as_str()) && r.path == request.uri().path());
    let Some(route) = found else {
        let have: Vec<String> = routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
        let mut response = Response::new(Full::new(Bytes::from(format!(
            "this mock has no {} {}; it has: {}",
            request.method(),
            request.uri().path(),
            have.join(", ")
        ))));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let (body, json_type) = match (&route.json, &route.body) {
        (Some(value), _) => (json(value).to_string(), true),
        (None, Some(text)) => (text.clone(), false),
        (None, None) => (String::new(), false),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(route.status).unwrap_or(StatusCode::OK);
    if json_type {
        response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    for (name, value) in &route.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}
