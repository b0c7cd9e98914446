//! `gatehouse:endpoint/http-out`: outbound HTTP to allow-listed hosts only.
//!
//! Every call is checked twice before a socket opens. The URL's scheme, host
//! and port must match `allowed_hosts`, and an IP written in the URL (in any
//! form the URL parser accepts: decimal, octal, IPv4-in-IPv6) must be a
//! public address. Names are resolved by `GuardedResolver`, which hands the
//! connector only public addresses, so a name cannot be re-pointed at
//! loopback or cloud metadata between check and connect. Redirects are
//! followed only to destinations that pass the same checks. Proxies from the
//! environment are ignored, since they would bypass all of this.

mod address;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

pub use crate::config::{AllowedHost, Cidr, OutboundSettings};

use crate::capabilities::wit_http_out as wit;
use crate::context::RequestContext;

/// Why a destination is refused; carried through reqwest's error chain.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// One endpoint's outbound client: its allow-list and its own connection pool.
pub struct HttpOut {
    client: reqwest::Client,
    rules: Arc<Rules>,
    settings: OutboundSettings,
}

struct Rules {
    allowed: Vec<AllowedHost>,
    private_ok: Vec<Cidr>,
}

impl Rules {
    /// The URL-level check: scheme, allow-list, and IP literals.
    fn check(&self, url: &reqwest::Url) -> Result<(), String> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(format!("{scheme}: is not http or https"));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => {
                if let Some(why) = address::refusal(ip.into(), &self.private_ok) {
                    return Err(format!("{ip} is {why}"));
                }
                ip.to_string()
            }
            Some(url::Host::Ipv6(ip)) => {
                if let Some(why) = address::refusal(ip.into(), &self.private_ok) {
                    return Err(format!("{ip} is {why}"));
                }
                format!("[{ip}]")
            }
            None => return Err("the URL has no host".into()),
        };
        let port = url.port_or_known_default().unwrap_or(0);
        if !self.allowed.iter().any(|a| a.allows(scheme, host.trim_start_matches('[').trim_end_matches(']'), port)) {
            return Err(format!("{scheme}://{host}:{port} is not in this endpoint's allowed_hosts"));
        }
        Ok(())
    }
}

/// Resolves names and keeps only the addresses an endpoint may reach.
struct GuardedResolver {
    rules: Arc<Rules>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.rules.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut why = "no address";
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match address::refusal(a.ip(), &rules.private_ok) {
                    None => true,
                    Some(w) => {
                        why = w;
                        false
                    }
                })
                .collect();
            if ok.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(Refused(format!("{host} resolves only to {why}")));
                return Err(e);
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
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
    async fn send(&self, req: wit::OutgoingRequest) -> Result<reqwest::Response, wit::HttpError> {
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

fn head_fields(resp: &reqwest::Response) -> Vec<(String, String)> {
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
    async fn next(&mut self, max: u32) -> Result<Option<Vec<u8>>, wit::HttpError> {
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

/// Per-request state: the endpoint's client (if it may call out) and the call count.
pub(crate) struct HttpOutState {
    client: Option<Arc<HttpOut>>,
    calls: u32,
    context: Arc<RequestContext>,
}

impl HttpOutState {
    pub(crate) fn new(client: Option<Arc<HttpOut>>, context: Arc<RequestContext>) -> Self {
        Self { client, calls: 0, context }
    }

    /// The request's context, for log lines.
    pub(crate) fn context(&self) -> Arc<RequestContext> {
        self.context.clone()
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

    fn log<T>(&self, url: &str, result: &Result<T, wit::HttpError>) {
        let c = &self.context;
        let url = redact_query(url);
        let url = url.as_str();
        match result {
            Ok(_) => {
                tracing::debug!(tenant = %c.tenant, route = %c.route, request_id = %c.request_id, url, "outbound call")
            }
            Err(e) => tracing::warn!(
                tenant = %c.tenant, route = %c.route, request_id = %c.request_id, url,
                "outbound call refused or failed: {e:?}"
            ),
        }
    }
}

/// The view an http-out call works with: its state and the request's resource table.
pub(crate) struct HttpOutView<'a> {
    pub(crate) state: &'a mut HttpOutState,
    pub(crate) table: &'a mut ResourceTable,
}

impl wit::Host for HttpOutView<'_> {
    async fn fetch(&mut self, request: wit::OutgoingRequest) -> Result<wit::IncomingResponse, wit::HttpError> {
        let client = self.state.take_call()?;
        let url = request.url.clone();
        let result = client.fetch(request).await;
        self.state.log(&url, &result);
        result
    }

    async fn fetch_streaming(
        &mut self,
        request: wit::OutgoingRequest,
    ) -> Result<wit::StreamingResponse, wit::HttpError> {
        let client = self.state.take_call()?;
        let url = request.url.clone();
        let sent = client.send(request).await;
        self.state.log(&url, &sent);
        let resp = sent?;
        let (status, headers) = (resp.status().as_u16(), head_fields(&resp));
        let body =
            IncomingBody { resp, pending: bytes::Bytes::new(), read: 0, max: client.settings.max_response_bytes };
        let body = self.table.push(body).map_err(|e| wit::HttpError::Connection(e.to_string()))?;
        Ok(wit::StreamingResponse { status, headers, body })
    }
}

impl wit::HostIncomingBody for HttpOutView<'_> {
    async fn read(&mut self, body: Resource<IncomingBody>, max: u32) -> Result<Option<Vec<u8>>, wit::HttpError> {
        let body = self.table.get_mut(&body).map_err(|e| wit::HttpError::Connection(e.to_string()))?;
        body.next(max).await
    }

    async fn drop(&mut self, body: Resource<IncomingBody>) -> wasmtime::Result<()> {
        // Dropping the response closes (or returns) the upstream connection.
        let _ = self.table.delete(body);
        Ok(())
    }
}

struct HttpOutData;

impl HasData for HttpOutData {
    type Data<'a> = HttpOutView<'a>;
}

/// Links `gatehouse:endpoint/http-out`; `get` finds this capability's state (and
/// the store's resource table) in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> HttpOutView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, HttpOutData>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allowed: &[&str], private_ok: &[&str]) -> Rules {
        Rules {
            allowed: allowed.iter().map(|a| AllowedHost::parse(a).unwrap()).collect(),
            private_ok: private_ok.iter().map(|c| Cidr::parse(c).unwrap()).collect(),
        }
    }

    fn check(r: &Rules, url: &str) -> Result<(), String> {
        r.check(&reqwest::Url::parse(url).unwrap())
    }

    #[test]
    fn logged_urls_keep_no_query_values_or_credentials() {
        assert_eq!(
            redact_query("https://user:pw@api.example.com/v1/x?api_key=SECRET&q=1#frag"),
            "https://redacted@api.example.com/v1/x?api_key=redacted&q=redacted"
        );
        assert_eq!(redact_query("https://api.example.com/v1"), "https://api.example.com/v1");
        assert!(!redact_query("not a url?token=SECRET").contains("SECRET"));
    }

    #[test]
    fn ip_literals_in_every_spelling_are_checked() {
        let r = rules(&["http://127.0.0.1:80", "https://api.example.com"], &[]);
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/",
        ] {
            assert!(check(&r, url).is_err(), "{url} was allowed");
        }
        assert!(check(&r, "https://api.example.com/v1").is_ok());
        assert!(check(&r, "http://api.example.com/v1").unwrap_err().contains("allowed_hosts"));
        assert!(check(&r, "ftp://api.example.com/").is_err());
    }

    #[test]
    fn allowed_private_ranges_open_loopback_only_when_listed() {
        let r = rules(&["http://127.0.0.1:8080"], &["127.0.0.0/8"]);
        assert!(check(&r, "http://127.0.0.1:8080/x").is_ok());
        assert!(check(&r, "http://127.0.0.1:8081/x").is_err());
    }
}
