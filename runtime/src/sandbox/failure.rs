//! Turns a guest that did not finish into the client's envelope and one log
//! line naming the limit and the figure (the request's span adds tenant,
//! route and request id).

use std::time::Duration;

use serde_json::json;

use super::budget::{Budget, Exceeded};
use crate::error::{ApiError, ErrorCode};

/// The wall-time budget ran out.
pub(super) fn wall_timeout(limit: Duration) -> ApiError {
    let limit_ms = limit.as_millis() as u64;
    tracing::warn!(limit = "wall_ms", figure = limit_ms, "guest stopped: wall-time budget of {limit_ms} ms exceeded");
    ApiError::new(ErrorCode::GuestTimeout, format!("the endpoint did not answer within its {limit_ms} ms time budget"))
        .with_details(json!({ "limit": "wall_ms", "value": limit_ms }))
}

/// The guest trapped, or a budget stopped it mid-run.
pub(super) fn trapped(error: &wasmtime::Error, budget: &Budget) -> ApiError {
    if let Some(desired) = budget.memory_refused() {
        let limit_mb = budget.memory_limit() / (1024 * 1024);
        tracing::warn!(
            limit = "memory_mb",
            figure = limit_mb,
            requested_bytes = desired,
            "guest stopped: memory limit of {limit_mb} MiB exceeded (asked for {desired} bytes)"
        );
        return ApiError::new(
            ErrorCode::GuestMemoryExceeded,
            format!("the endpoint ran out of its {limit_mb} MiB memory budget"),
        )
        .with_details(json!({ "limit": "memory_mb", "value": limit_mb }));
    }
    if let Some(Exceeded::Cpu { limit_ms, used_ms }) = error.downcast_ref::<Exceeded>() {
        tracing::warn!(
            limit = "cpu_ms",
            figure = limit_ms,
            used_ms,
            "guest stopped: CPU budget of {limit_ms} ms exceeded"
        );
        return ApiError::new(
            ErrorCode::GuestTimeout,
            format!("the endpoint used more than its {limit_ms} ms CPU budget"),
        )
        .with_details(json!({ "limit": "cpu_ms", "value": limit_ms }));
    }
    if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::StackOverflow) {
        tracing::warn!(limit = "stack", "guest stopped: its call stack overflowed (runaway recursion?)");
        return ApiError::new(
            ErrorCode::GuestStackOverflow,
            "the endpoint overflowed its call stack (runaway recursion?)",
        )
        .with_details(json!({ "limit": "stack" }));
    }
    tracing::error!(
        error = %format!("{error:?}"),
        "guest trapped"
    );
    ApiError::new(ErrorCode::GuestTrap, "the endpoint crashed while handling the request; its log has the details")
}

/// The guest could not be instantiated (its start code trapped, or the pool refused).
pub(super) fn instantiate_failed(error: &wasmtime::Error, budget: &Budget) -> ApiError {
    if budget.memory_refused().is_some() || error.downcast_ref::<Exceeded>().is_some() {
        return trapped(error, budget);
    }
    tracing::error!(
        error = %format!("{error:?}"),
        "guest could not be instantiated"
    );
    ApiError::new(ErrorCode::GuestTrap, "the endpoint could not be started; its log has the details")
}

/// A wasi:http guest's response body is over the proxy's limit.
pub(super) fn response_too_large(limit: usize) -> ApiError {
    tracing::warn!(limit = "response_bytes", figure = limit, "guest stopped: its response body is over {limit} bytes");
    ApiError::new(ErrorCode::ResponseTooLarge, format!("the endpoint's response is over {limit} bytes"))
        .with_details(json!({ "limit": "response_bytes", "value": limit }))
}
