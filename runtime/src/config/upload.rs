//! An endpoint's `upload = { max_kb, content_types }`: what a multipart
//! upload may carry.

use serde::Deserialize;

use super::policy::Problem;

/// `upload = { max_kb, content_types }`: a multipart/form-data policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPolicy {
    /// Largest single file.
    pub max_file_bytes: usize,
    /// Allowed content types of the files (`image/*` allowed).
    pub content_types: Vec<String>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpload {
    max_kb: u64,
    content_types: Vec<String>,
}

/// The policy: content types lower-cased, at least one required.
pub(super) fn upload(raw: &RawUpload, at: &str) -> Result<UploadPolicy, Problem> {
    if raw.content_types.is_empty() {
        return Err((format!("{at}.upload.content_types"), "must list at least one type, like \"image/png\"".into()));
    }
    Ok(UploadPolicy {
        max_file_bytes: usize::try_from(raw.max_kb.saturating_mul(1024)).unwrap_or(usize::MAX),
        content_types: raw.content_types.iter().map(|t| t.to_ascii_lowercase()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_lower_cased_and_at_least_one_is_needed() {
        let u = upload(&RawUpload { max_kb: 2, content_types: vec!["Image/PNG".into()] }, "e").unwrap();
        assert_eq!((u.max_file_bytes, u.content_types), (2048, vec!["image/png".to_string()]));
        assert_eq!(
            upload(&RawUpload { max_kb: 2, content_types: vec![] }, "e").unwrap_err().0,
            "e.upload.content_types"
        );
    }
}
