//! The multipart policy of upload endpoints: the body must be
//! multipart/form-data (415 otherwise), every file part must have an allowed
//! content type (415 naming it) and be within the size limit (413).

use bytes::Bytes;
use http::HeaderMap;
use serde_json::json;

use crate::config::UploadPolicy;
use crate::error::{ApiError, ErrorCode};

/// Checks every part of a multipart body (already within the body limit).
pub async fn check(policy: &UploadPolicy, headers: &HeaderMap, body: Bytes) -> Result<(), ApiError> {
    let content_type = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "this endpoint takes file uploads: send Content-Type: multipart/form-data with a boundary",
        )
    })?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let malformed =
        |e: multer::Error| ApiError::new(ErrorCode::BadRequest, format!("the multipart body is malformed: {e}"));
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let Some(file_name) = field.file_name().map(str::to_string) else { continue };
        let ty = field.content_type().map(|m| m.essence_str().to_ascii_lowercase()).unwrap_or_default();
        if !policy.content_types.iter().any(|allowed| type_matches(allowed, &ty)) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("file {file_name:?} has type {ty:?}; allowed: {}", policy.content_types.join(", ")),
            )
            .with_details(json!({ "file": file_name, "contentType": ty, "allowed": policy.content_types })));
        }
        let mut size = 0usize;
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            size += chunk.len();
            if size > policy.max_file_bytes {
                return Err(ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("file {file_name:?} is over the {}-byte limit", policy.max_file_bytes),
                )
                .with_details(json!({ "file": file_name, "limitBytes": policy.max_file_bytes })));
            }
        }
    }
    Ok(())
}

/// `image/*` matches any image type; otherwise the essence must be equal.
fn type_matches(allowed: &str, actual: &str) -> bool {
    match allowed.strip_suffix("/*") {
        Some(prefix) => actual.split('/').next() == Some(prefix),
        None => allowed == actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multipart(parts: &[(&str, &str, usize)]) -> (HeaderMap, Bytes) {
        let mut body = String::new();
        for (name, ty, size) in parts {
            body.push_str(&format!(
                "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {ty}\r\n\r\n{}\r\n",
                "a".repeat(*size)
            ));
        }
        body.push_str("--XX--\r\n");
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, "multipart/form-data; boundary=XX".parse().unwrap());
        (h, Bytes::from(body))
    }

    fn policy() -> UploadPolicy {
        UploadPolicy { max_file_bytes: 100, content_types: vec!["image/*".into(), "application/pdf".into()] }
    }

    #[tokio::test]
    async fn allowed_files_pass_and_others_are_named() {
        let (h, b) = multipart(&[("a.png", "image/png", 10), ("b.pdf", "application/pdf", 100)]);
        assert!(check(&policy(), &h, b).await.is_ok());
        let (h, b) = multipart(&[("x.exe", "application/octet-stream", 10)]);
        let e = check(&policy(), &h, b).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedMediaType);
        assert!(e.message.contains("x.exe"));
        let (h, b) = multipart(&[("big.png", "image/png", 101)]);
        assert_eq!(check(&policy(), &h, b).await.unwrap_err().code, ErrorCode::PayloadTooLarge);
        assert_eq!(
            check(&policy(), &HeaderMap::new(), Bytes::new()).await.unwrap_err().code,
            ErrorCode::UnsupportedMediaType
        );
    }
}
