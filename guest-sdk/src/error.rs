use std::fmt;

use crate::bindings::gatehouse::endpoint::types as wit;

/// What kind of failure; each maps to one HTTP status in the envelope.
pub use wit::ErrorKind;

/// A failure the platform renders as `{"success": false, "error", "code", "details", "requestId"}`.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    code: Option<String>,
    // Boxed: an Error travels in every handler's Result and should stay small.
    details: Option<Box<serde_json::Value>>,
}

impl Error {
    /// An error of any kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), code: None, details: None }
    }

    /// 400 BAD_REQUEST.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// 400 VALIDATION_FAILED, with `details` mapping JSON pointers (`/email`) to messages.
    pub fn validation<I, K, V>(message: impl Into<String>, fields: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let details: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.into(), serde_json::Value::String(v.into()))).collect();
        Self::new(ErrorKind::ValidationFailed, message).with_details(serde_json::Value::Object(details))
    }

    /// 401 UNAUTHORIZED.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// 403 FORBIDDEN.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 404 NOT_FOUND.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 409 CONFLICT.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// 413 PAYLOAD_TOO_LARGE.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PayloadTooLarge, message)
    }

    /// 500 INTERNAL_ERROR.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// 503 SERVICE_UNAVAILABLE.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Replaces the kind's default machine code (UPPER_SNAKE_CASE, up to 64 characters).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Attaches a JSON value under `details`.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human sentence.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The machine code, if one was set.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub(crate) fn into_wit(self) -> wit::Error {
        wit::Error {
            kind: self.kind,
            message: self.message,
            code: self.code,
            details: self.details.map(|d| d.to_string()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::bad_request(format!("invalid JSON: {e}")).with_code("INVALID_JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_details_are_a_pointer_map() {
        let e = Error::validation("invalid contact form", [("/email", "must be an email address")]).into_wit();
        assert_eq!(e.kind, ErrorKind::ValidationFailed);
        let details: serde_json::Value = serde_json::from_str(e.details.as_deref().unwrap()).unwrap();
        assert_eq!(details["/email"], "must be an email address");
    }
}
