//! The per-request state: the endpoint's client, if it may call out, and the
//! calls made so far against `outbound.max_calls`.

use std::sync::Arc;

use super::client::{HttpOut, redact_query};
use crate::capabilities::wit_http_out as wit;
use crate::timing::{OutboundCall, Timings};

/// Per-request state: the endpoint's client (if it may call out) and the call count.
pub(crate) struct HttpOutState {
    client: Option<Arc<HttpOut>>,
    calls: u32,
    /// Streamed upstream bodies the guest holds open now.
    pub(super) bodies: u32,
    /// Where each call's time is added, for `Server-Timing`.
    pub(super) timings: Arc<Timings>,
}

impl HttpOutState {
    pub(crate) fn new(client: Option<Arc<HttpOut>>, timings: Arc<Timings>) -> Self {
        Self { client, calls: 0, bodies: 0, timings }
    }

    /// Streamed upstream bodies the guest holds open now.
    pub(crate) fn open_bodies(&self) -> u32 {
        self.bodies
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

    /// Logs a call's end and records it for the metrics.
    pub(super) fn finish<T>(&self, url: &str, started: std::time::Instant, result: &Result<T, wit::HttpError>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(wit::HttpError::NotAllowed(_) | wit::HttpError::InvalidUrl(_)) => "refused",
            Err(wit::HttpError::TooManyCalls(_)) => "limit",
            Err(wit::HttpError::ResponseTooLarge(_)) => "too_large",
            Err(wit::HttpError::Timeout) => "timeout",
            Err(wit::HttpError::Connection(_)) => "unreachable",
        };
        // Only a host that passed the allowlist is named: a label set a guest
        // could grow by writing URLs would be unbounded.
        let host = match outcome {
            "refused" | "limit" => None,
            _ => reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)),
        };
        self.timings.outbound_call(OutboundCall { took: started.elapsed(), host, outcome });
        self.log(url, result);
    }

    fn log<T>(&self, url: &str, result: &Result<T, wit::HttpError>) {
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
