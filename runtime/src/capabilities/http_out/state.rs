//! The per-request state: the endpoint's client, if it may call out, and the
//! calls made so far against `outbound.max_calls`.

use std::sync::Arc;

use super::client::{HttpOut, redact_query};
use crate::capabilities::wit_http_out as wit;

/// Per-request state: the endpoint's client (if it may call out) and the call count.
pub(crate) struct HttpOutState {
    client: Option<Arc<HttpOut>>,
    calls: u32,
}

impl HttpOutState {
    pub(crate) fn new(client: Option<Arc<HttpOut>>) -> Self {
        Self { client, calls: 0 }
    }

    /// The client, counting this call against the per-request limit.
    pub(crate) fn take_call(&mut self) -> Result<Arc<HttpOut>, wit::HttpError> {
        let Some(client) = self.client.clone() else {
            return Err(wit::HttpError::NotAllowed("this endpoint has no allowed_hosts".into()));
        };
        self.calls += 1;
        if self.calls > client.settings.max_calls {
            return Err(wit::HttpError::TooManyCalls(client.settings.max_calls));
        }
        Ok(client)
    }

    pub(super) fn log<T>(&self, url: &str, result: &Result<T, wit::HttpError>) {
        let url = redact_query(url);
        let url = url.as_str();
        match result {
            Ok(_) => {
                tracing::debug!(url, "outbound call")
            }
            Err(e) => tracing::warn!(url, "outbound call refused or failed: {e:?}"),
        }
    }
}
