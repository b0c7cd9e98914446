//! The grant: one endpoint's outbound client, built at load from its
//! `allowed_hosts` and the platform's `[outbound]` settings, with its own
//! connection pool; and the body of a response read as it arrives.

use std::sync::Arc;
use std::time::Duration;

use super::rules::{GuardedResolver, Refused, Rules};
use crate::capabilities::wit_http_out as wit;
use crate::config::{AllowedHost, OutboundSettings};

/// One endpoint's outbound client: its allow-list and its own connection pool.
pub struct HttpOut {
    client: reqwest::Client,
    rules: Arc<Rules>,
    pub(super) settings: OutboundSettings,
}

impl std::fmt::Debug for HttpOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOut").field("allowed", &self.rules.allowed).finish_non_exhaustive()
    }
}

impl HttpOut {
    /// A client for an endpoint's allow-list.
    pub fn new(allowed: Vec<AllowedHost>, settings: &OutboundSettings) -> Result<Self, String> {
        let rules = Arc::new(Rules { allowed, private_ok: settings.allow_private.clone() });
        let redirect_rules = rules.clone();
        let max_redirects = settings.max_redirects;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(Refused(format!("more than {max_redirects} redirects")));
            }
            match redirect_rules.check(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(Refused(format!("redirect refused: {why}"))),
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(redirect)
            .dns_resolver(Arc::new(GuardedResolver { rules: rules.clone() }))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| format!("cannot build the outbound HTTP client: {e}"))?;
        Ok(Self { client, rules, settings: settings.clone() })
    }

    /// Checks and sends the request; the body is still to be read.
    pub(super) async fn send(&self, req: wit::OutgoingRequest) -> Result<reqwest::Response, wit::HttpError> {
        let url = reqwest::Url::parse(&req.url).map_err(|e| wit::HttpError::InvalidUrl(format!("{}: {e}", req.url)))?;
        self.rules.check(&url).map_err(wit::HttpError::NotAllowed)?;
        let method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| wit::HttpError::InvalidUrl(format!("`{}` is not an HTTP method", req.method)))?;
        let mut builder = self.client.request(method, url);
        for (name, value) in &req.headers {
            let lower = name.to_ascii_lowercase();
            // The client sets these itself; a guest must not smuggle its own.
            if matches!(lower.as_str(), "host" | "content-length" | "transfer-encoding" | "connection") {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        // The request's trace goes on to the upstream (when traces are on),
        // replacing any `traceparent` the guest wrote.
        let mut trace = http::HeaderMap::new();
        crate::trace_context::inject_current(&mut trace);
        if !trace.is_empty() {
            builder = builder.headers(trace);
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        if let Some(ms) = req.timeout_ms {
            builder = builder.timeout(Duration::from_millis(u64::from(ms)).min(self.settings.timeout));
        }
        let resp = builder.send().await.map_err(classify)?;
        if resp.content_length().is_some_and(|n| n > self.settings.max_response_bytes) {
            return Err(wit::HttpError::ResponseTooLarge(self.settings.max_response_bytes));
        }
        Ok(resp)
    }

    /// The span of one outbound call, named for traces by its destination.
    pub(crate) fn span(url: &str) -> tracing::Span {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_default();
        tracing::debug_span!("http_out", host = %host)
    }

    pub(crate) async fn fetch(&self, req: wit::OutgoingRequest) -> Result<wit::IncomingResponse, wit::HttpError> {
        let mut resp = self.send(req).await?;
        let status = resp.status().as_u16();
        let headers = head_fields(&resp);
        let max = self.settings.max_response_bytes;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(wit::HttpError::ResponseTooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(wit::IncomingResponse { status, headers, body })
    }
}

pub(super) fn head_fields(resp: &reqwest::Response) -> Vec<(String, String)> {
    resp.headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}

/// An upstream body being read as it arrives, held in the request's resource table.
pub struct IncomingBody {
    resp: reqwest::Response,
    pending: bytes::Bytes,
    read: u64,
    max: u64,
}

impl IncomingBody {
    pub(super) fn new(resp: reqwest::Response, max: u64) -> Self {
        Self { resp, pending: bytes::Bytes::new(), read: 0, max }
    }

    pub(super) async fn next(&mut self, max: u32) -> Result<Option<Vec<u8>>, wit::HttpError> {
        if self.pending.is_empty() {
            match self.resp.chunk().await.map_err(classify)? {
                Some(chunk) => self.pending = chunk,
                None => return Ok(None),
            }
        }
        let take = self.pending.len().min(max.max(1) as usize);
        let out = self.pending.split_to(take);
        self.read += out.len() as u64;
        if self.read > self.max {
            return Err(wit::HttpError::ResponseTooLarge(self.max));
        }
        Ok(Some(out.to_vec()))
    }
}

fn classify(e: reqwest::Error) -> wit::HttpError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return wit::HttpError::NotAllowed(r.0.clone());
        }
        source = s.source();
    }
    if e.is_timeout() {
        return wit::HttpError::Timeout;
    }
    // The URL stays out of the text: it reaches the log, and its query may carry a token.
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    wit::HttpError::Connection(text)
}

/// A URL as logged: query values and user info replaced by `redacted`, since API
/// keys and tokens often travel there. Names stay, for debugging.
pub(crate) fn redact_query(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.split(['?', '#']).next().unwrap_or_default().to_string();
    };
    let _ = parsed.set_password(None);
    if !parsed.username().is_empty() {
        let _ = parsed.set_username("redacted");
    }
    parsed.set_fragment(None);
    if parsed.query().is_some() {
        let names: Vec<String> = parsed.query_pairs().map(|(k, _)| format!("{k}=redacted")).collect();
        parsed.set_query(Some(&names.join("&")));
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::redact_query;

    #[test]
    fn logged_urls_keep_no_query_values_or_credentials() {
        assert_eq!(
            redact_query("https://user:pw@api.example.com/v1/x?api_key=SECRET&q=1#frag"),
            "https://redacted@api.example.com/v1/x?api_key=redacted&q=redacted"
        );
        assert_eq!(redact_query("https://api.example.com/v1"), "https://api.example.com/v1");
        assert!(!redact_query("not a url?token=SECRET").contains("SECRET"));
    }
}
