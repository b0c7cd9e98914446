//! HTTP request parts to the WIT request, and responses back.

use bytes::Bytes;
use http::request::Parts;

use crate::sandbox::wit;

/// The decoded query parameters, in order.
pub(super) fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

/// The WIT request for the guest: lower-case header names, decoded query.
pub(super) fn to_wit(
    parts: &Parts,
    params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Bytes,
    request_id: &str,
) -> wit::Request {
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    wit::Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        params,
        query,
        headers,
        body: body.to_vec(),
        request_id: request_id.to_string(),
    }
}

/// Where the client reached the tenant: its `Host` (or HTTP/2 authority) and
/// the tenant's path `prefix` (empty on host routing), for signed URLs.
pub(super) fn reached_at(request: &axum::extract::Request, prefix: &str) -> Option<crate::context::ReachedAt> {
    let host = request
        .headers()
        .get(http::header::HOST)
        .cloned()
        .or_else(|| request.uri().authority().and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()))?;
    Some(crate::context::ReachedAt { host, prefix: (!prefix.is_empty()).then(|| prefix.into()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_decoded_and_headers_lowercased() {
        let req = http::Request::builder().uri("/a?name=J%C3%BCrgen&x=1&x=2").header("X-Thing", "v").body(()).unwrap();
        let (parts, _) = req.into_parts();
        let query = query_pairs(&parts);
        let w = to_wit(&parts, vec![("id".into(), "7".into())], query, Bytes::from_static(b"b"), "rid");
        assert_eq!(
            w.query,
            [("name".to_string(), "Jürgen".to_string()), ("x".into(), "1".into()), ("x".into(), "2".into())]
        );
        assert_eq!(w.headers, [("x-thing".to_string(), "v".to_string())]);
        assert_eq!(w.params[0].1, "7");
        assert_eq!(w.request_id, "rid");
    }
}
