//! The error envelope and the catalogue of codes: every platform error a client
//! can see is an [`ApiError`] with one [`ErrorCode`], documented in `docs/errors.md`.
//!
//! ```json
//! {"success": false, "error": "human sentence", "code": "MACHINE_CODE", "details": {}, "requestId": "..."}
//! ```

use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{Value, json};

/// Every code the platform itself emits. Guests may send codes of their own;
/// those keep the status of their kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the request is malformed.
    BadRequest,
    /// 400: the body or query failed validation; details map JSON pointers to messages.
    ValidationFailed,
    /// 400: the body of a JSON endpoint is not valid JSON.
    InvalidJson,
    /// 401: missing or bad credentials.
    Unauthorized,
    /// 401: a webhook's signature is missing, wrong or too old.
    InvalidSignature,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 403: the caller lacks scopes the endpoint requires; details list them.
    InsufficientScope,
    /// 403: a CORS preflight from an origin, method or header the endpoint does not allow.
    CorsRejected,
    /// 404: no route, or the guest found nothing.
    NotFound,
    /// 405: the path exists but not for this method; `Allow` lists the methods.
    MethodNotAllowed,
    /// 408: the request body did not arrive within the body read timeout.
    RequestTimeout,
    /// 409: the guest reports a conflict.
    Conflict,
    /// 413: the body is over the endpoint's limit.
    PayloadTooLarge,
    /// 415: the body's content type is not accepted.
    UnsupportedMediaType,
    /// 422: the guest could not process the request.
    Unprocessable,
    /// 422: an upload (app bundle) failed a check; nothing changed, the previous version serves.
    DeployRejected,
    /// 429: a rate limit was hit.
    RateLimitExceeded,
    /// 500: the guest reported an internal error.
    InternalError,
    /// 500: the guest trapped (panic, unreachable, stack overflow...).
    GuestTrap,
    /// 500: the guest grew its memory past the endpoint's limit.
    GuestMemoryExceeded,
    /// 500: the guest overflowed its call stack.
    GuestStackOverflow,
    /// 500: the guest returned something that is not a valid HTTP response.
    GuestInvalidResponse,
    /// 500: the guest's response body is over the platform's limit.
    ResponseTooLarge,
    /// 503: every sandbox slot stayed busy for the queue timeout.
    Overloaded,
    /// 503: the tenant already runs as many instances as its share allows.
    TenantOverloaded,
    /// 503: a backing service is unavailable (as the guest reports it, or the
    /// platform store while a tenant is being loaded).
    ServiceUnavailable,
    /// 503: the rate limiter's store (Redis) did not answer and the platform fails closed.
    RateLimitUnavailable,
    /// 504: the guest ran past its CPU or wall-time budget.
    GuestTimeout,
}

impl ErrorCode {
    /// The catalogue, in documentation order.
    pub const ALL: &'static [ErrorCode] = &[
        Self::BadRequest,
        Self::ValidationFailed,
        Self::InvalidJson,
        Self::Unauthorized,
        Self::InvalidSignature,
        Self::Forbidden,
        Self::InsufficientScope,
        Self::CorsRejected,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Unprocessable,
        Self::DeployRejected,
        Self::RateLimitExceeded,
        Self::InternalError,
        Self::GuestTrap,
        Self::GuestMemoryExceeded,
        Self::GuestStackOverflow,
        Self::GuestInvalidResponse,
        Self::ResponseTooLarge,
        Self::Overloaded,
        Self::TenantOverloaded,
        Self::ServiceUnavailable,
        Self::RateLimitUnavailable,
        Self::GuestTimeout,
    ];

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::ValidationFailed | Self::InvalidJson => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidSignature => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::InsufficientScope | Self::CorsRejected => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable | Self::DeployRejected => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalError
            | Self::GuestTrap
            | Self::GuestMemoryExceeded
            | Self::GuestStackOverflow
            | Self::GuestInvalidResponse
            | Self::ResponseTooLarge => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Overloaded | Self::TenantOverloaded | Self::ServiceUnavailable | Self::RateLimitUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::GuestTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The machine code, UPPER_SNAKE_CASE.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::InvalidJson => "INVALID_JSON",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::Forbidden => "FORBIDDEN",
            Self::InsufficientScope => "INSUFFICIENT_SCOPE",
            Self::CorsRejected => "CORS_REJECTED",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::Conflict => "CONFLICT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::Unprocessable => "UNPROCESSABLE",
            Self::DeployRejected => "DEPLOY_REJECTED",
            Self::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            Self::InternalError => "INTERNAL_ERROR",
            Self::GuestTrap => "GUEST_TRAP",
            Self::GuestMemoryExceeded => "GUEST_MEMORY_EXCEEDED",
            Self::GuestStackOverflow => "GUEST_STACK_OVERFLOW",
            Self::GuestInvalidResponse => "GUEST_INVALID_RESPONSE",
            Self::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            Self::Overloaded => "OVERLOADED",
            Self::TenantOverloaded => "TENANT_OVERLOADED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::RateLimitUnavailable => "RATE_LIMIT_UNAVAILABLE",
            Self::GuestTimeout => "GUEST_TIMEOUT",
        }
    }
}

/// One error as the client will see it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Decides the status.
    pub code: ErrorCode,
    /// A guest's own machine code, shown instead of `code`'s name.
    pub custom_code: Option<String>,
    /// The human sentence.
    pub message: String,
    /// Structured details, e.g. JSON pointer → message (boxed: errors travel
    /// through every `Result` on the request path and should stay small).
    pub details: Option<Box<Value>>,
    /// Extra headers, e.g. `Allow` on a 405.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with this code and sentence.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, custom_code: None, message: message.into(), details: None, headers: Vec::new() }
    }

    /// Attaches details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The code shown to the client.
    pub fn code_str(&self) -> &str {
        self.custom_code.as_deref().unwrap_or(self.code.as_str())
    }

    /// The envelope as JSON.
    pub fn envelope(&self, request_id: &str) -> Value {
        let mut body = json!({
            "success": false,
            "error": self.message,
            "code": self.code_str(),
            "requestId": request_id,
        });
        if let Some(details) = &self.details {
            body["details"] = (**details).clone();
        }
        body
    }

    /// The whole HTTP response: status, headers, envelope body.
    pub fn into_response(self, request_id: &str) -> http::Response<bytes::Bytes> {
        let body = serde_json::to_vec(&self.envelope(request_id)).unwrap_or_default();
        let mut response = http::Response::new(bytes::Bytes::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

/// Whether `code` is acceptable as a guest's own machine code: UPPER_SNAKE_CASE, 1 to 64 characters.
pub fn is_valid_custom_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shape() {
        let e = ApiError::new(ErrorCode::NotFound, "no route for GET /x").with_details(json!({"path": "/x"}));
        let body = e.envelope("req-1");
        assert_eq!(body["success"], false);
        assert_eq!(body["code"], "NOT_FOUND");
        assert_eq!(body["requestId"], "req-1");
        assert_eq!(body["details"]["path"], "/x");
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn catalogue_is_documented() {
        let doc = include_str!("../../docs/errors.md");
        for code in ErrorCode::ALL {
            let row = format!("| `{}` | {} |", code.as_str(), code.status().as_u16());
            assert!(doc.contains(&row), "docs/errors.md lacks the row starting {row}");
        }
    }

    #[test]
    fn custom_codes() {
        assert!(is_valid_custom_code("REPORT_NOT_FOUND"));
        assert!(!is_valid_custom_code("report"));
        assert!(!is_valid_custom_code("_X"));
        assert!(!is_valid_custom_code(""));
    }
}
