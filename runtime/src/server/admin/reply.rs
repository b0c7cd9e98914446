//! What admin handlers return: `Data` (201/200 with `{"success": true,
//! "data": …}`) or a `Refusal`, which carries the `ApiError` to the `scope`
//! layer that renders it with the request's id. `Body<T>` is axum's `Json`
//! with a rejection that says what shape to send.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::{ApiError, ErrorCode};
use crate::registry::ChangeError;
use crate::store::StoreError;

/// A success: the status and the `data` of the envelope.
pub(super) struct Data(StatusCode, Value);

impl Data {
    pub(super) fn ok(data: impl serde::Serialize) -> Self {
        Self(StatusCode::OK, serde_json::to_value(data).unwrap_or_default())
    }

    pub(super) fn created(data: impl serde::Serialize) -> Self {
        Self(StatusCode::CREATED, serde_json::to_value(data).unwrap_or_default())
    }
}

impl IntoResponse for Data {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "success": true, "data": self.1 }))).into_response()
    }
}

/// A refusal, rendered into the error envelope by the `scope` layer.
#[derive(Debug)]
pub(super) struct Refusal(pub(super) ApiError);

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

/// The platform store did not answer: 503, and the caller may retry.
impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self(ApiError::new(ErrorCode::ServiceUnavailable, e.to_string()))
    }
}

impl Refusal {
    /// A refused change; `rejected` is the code of a failed check (a deploy's
    /// is 422 `DEPLOY_REJECTED`, a tenant's settings' 400 `BAD_REQUEST`).
    pub(super) fn change(e: ChangeError, rejected: ErrorCode) -> Self {
        let code = match &e {
            ChangeError::Rejected(_) => rejected,
            ChangeError::NotFound(_) => ErrorCode::NotFound,
            ChangeError::Conflict(_) => ErrorCode::Conflict,
            ChangeError::Unavailable(_) => ErrorCode::ServiceUnavailable,
        };
        Self(ApiError::new(code, e.to_string()))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = self.0.status().into_response();
        response.extensions_mut().insert(self.0);
        response
    }
}

/// What a JSON body should look like, said when it does not.
pub(super) trait Shape {
    const SHAPE: &'static str;
}

/// A JSON body of type `T`, or 400 `BAD_REQUEST` naming the expected shape.
pub(super) struct Body<T>(pub(super) T);

impl<S: Send + Sync, T: DeserializeOwned + Shape> FromRequest<S> for Body<T> {
    type Rejection = Refusal;

    async fn from_request(request: Request, state: &S) -> Result<Self, Refusal> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(e) => Err(ApiError::new(ErrorCode::BadRequest, format!("send {}: {}", T::SHAPE, e.body_text())).into()),
        }
    }
}
