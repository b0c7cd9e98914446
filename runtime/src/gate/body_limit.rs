//! 413 before the guest: a declared `Content-Length` over the limit is refused
//! without reading a byte; an undeclared (chunked) body is read only up to the limit.

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};
use serde_json::json;

use crate::error::{ApiError, ErrorCode};

/// Refuses a request whose declared length is over `limit`.
pub fn check_declared(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// Reads the body, stopping with 413 as soon as it passes `limit`.
pub async fn read<B>(body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Err(e) => Err(ApiError::new(ErrorCode::BadRequest, format!("the request body could not be read: {e}"))),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is over this endpoint's limit of {limit} bytes"),
    )
    .with_details(json!({ "limitBytes": limit }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_length_over_the_limit_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_LENGTH, "11".parse().unwrap());
        assert_eq!(check_declared(&h, 10).unwrap_err().code, ErrorCode::PayloadTooLarge);
        assert!(check_declared(&h, 11).is_ok());
        assert!(check_declared(&HeaderMap::new(), 0).is_ok());
    }

    #[tokio::test]
    async fn undeclared_body_is_cut_at_the_limit() {
        let body = http_body_util::Full::new(Bytes::from_static(b"0123456789a"));
        assert_eq!(read(body, 10).await.unwrap_err().code, ErrorCode::PayloadTooLarge);
        let body = http_body_util::Full::new(Bytes::from_static(b"0123456789"));
        assert_eq!(read(body, 10).await.unwrap(), "0123456789");
    }
}
