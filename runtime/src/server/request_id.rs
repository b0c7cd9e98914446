//! Every response carries `X-Request-Id`: the client's own if it sent a sane
//! one (so ids correlate across a chain of services), else a fresh one.

use http::HeaderMap;

use crate::context::MAX_REQUEST_ID_CHARS;

/// The header name.
pub(super) const HEADER: &str = "x-request-id";

/// The id for this request.
pub(super) fn assign(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Short and plain enough to put in a log line and a header as is.
fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_CHARS
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_sane_client_id_and_replaces_others() {
        let mut h = HeaderMap::new();
        h.insert(HEADER, "abc-123".parse().unwrap());
        assert_eq!(assign(&h), "abc-123");
        h.insert(HEADER, "has space".parse().unwrap());
        assert_eq!(assign(&h).len(), 32);
        assert_eq!(assign(&HeaderMap::new()).len(), 32);
    }
}
