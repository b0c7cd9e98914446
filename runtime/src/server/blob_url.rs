//! Serving a signed object URL (`{tenant}/_blobs/{key}?expires=…&signature=…`):
//! no credentials, only a signature that names this tenant, this key and a
//! time not yet past. The tenant's request-rate ceiling counts these fetches
//! like its endpoints' requests.
//!
//! What a tenant stored is served from the platform's origin, which other
//! tenants (path routing) and the dashboard share; so an object can never act
//! as a page there. Every answer carries `Content-Security-Policy: sandbox`
//! (no script, no same-origin access, even for HTML or SVG) and `nosniff`,
//! and any type that is not plainly media or text is sent as an attachment.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode, header};

use crate::app::App;
use crate::capabilities::blobs::{URL_PATH, UrlProblem, decode_key};
use crate::capabilities::wit_blobs as wit;
use crate::error::{ApiError, ErrorCode};
use crate::registry::Tenant;

/// The route label these fetches are logged and counted under.
pub(super) const ROUTE: &str = "GET /_blobs/{key}";

/// Whether `inner` (a path inside a tenant) is a signed object URL.
pub(super) fn is_blob_path(inner: &str) -> bool {
    inner.starts_with(URL_PATH)
}

/// Types shown in the browser; anything else is downloaded.
fn inline(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/').unwrap_or(("", ""));
    match kind {
        "audio" | "video" => true,
        // SVG is a document that can hold script: never inline.
        "image" => sub != "svg+xml",
        "text" => sub == "plain",
        "application" => matches!(sub, "pdf" | "json"),
        _ => false,
    }
}

/// Answers a GET or HEAD of a signed object URL.
pub(super) async fn serve(
    app: &App,
    tenant: &Tenant,
    method: &Method,
    inner: &str,
    query: Option<&str>,
    peer: std::net::IpAddr,
) -> Result<Response, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("{method} {inner}: objects are only read here"),
        ));
    }
    let not_found = || ApiError::new(ErrorCode::NotFound, "no such object".to_string());
    let blobs = tenant.services.blobs.as_ref().ok_or_else(not_found)?;
    let key = decode_key(&inner[URL_PATH.len()..]).ok_or_else(not_found)?;
    let now = crate::clock::unix_now().max(0) as u64;
    match blobs.verify(&key, query, now) {
        Ok(()) => {}
        Err(UrlProblem::Expired) => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "this object URL has expired; ask for a new one".to_string(),
            ));
        }
        Err(UrlProblem::Malformed | UrlProblem::BadSignature) => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "this object URL's signature does not match; use the URL exactly as it was given".to_string(),
            ));
        }
    }
    let mut headers = http::HeaderMap::new();
    if let Some(ceiling) = tenant.rate_ceiling {
        let anonymous = crate::identity::Principal::anonymous(tenant.name.clone());
        headers = app.limiter.check(&tenant.name, ROUTE, &[], Some(ceiling), &anonymous, peer).await?;
    }
    // HEAD reads only the head; GET streams the bytes a piece at a time, so
    // however many clients fetch a large object, the host holds pieces.
    let found = if method == Method::HEAD {
        blobs.head(&key).await.map(|o| o.map(|info| (info, None)))
    } else {
        blobs.open(&key).await.map(|o| o.map(|(info, stream)| (info, Some(stream))))
    };
    let (info, stream) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return Err(not_found()),
        Err(wit::BlobError::Unavailable(why)) => {
            tracing::warn!(tenant = %tenant.name, "object storage unavailable: {why}");
            return Err(ApiError::new(
                ErrorCode::ServiceUnavailable,
                "object storage is unavailable; try again shortly".to_string(),
            ));
        }
        Err(e) => {
            tracing::warn!(tenant = %tenant.name, "object not served: {e:?}");
            return Err(not_found());
        }
    };
    let content_type =
        HeaderValue::from_str(&info.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = if inline(&info.content_type) { "inline" } else { "attachment" };
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(disposition));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    // Anyone holding the URL may read it until it expires; no shared cache
    // should keep it past that, or serve it to someone without the URL.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    let body = match stream {
        Some(stream) => Body::from_stream(stream),
        None => Body::empty(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().extend(headers);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_media_and_plain_text_are_shown_inline() {
        for t in ["image/png", "image/jpeg", "video/mp4", "text/plain; charset=utf-8", "application/pdf"] {
            assert!(inline(t), "{t}");
        }
        for t in ["text/html", "image/svg+xml", "application/xhtml+xml", "application/javascript", "text/xml", ""] {
            assert!(!inline(t), "{t}");
        }
    }
}
