//! `[telemetry]`: where OpenTelemetry traces go (OTLP over HTTP/protobuf),
//! what the service is called in them, and how often they are sent.

use std::time::Duration;

use serde::Deserialize;

use super::duration::parse_duration;
use super::policy::Problem;

/// The service name traces carry when the config does not say.
pub(super) const DEFAULT_SERVICE_NAME: &str = "gatehouse";
/// How often finished spans are sent: soon enough that a trace shows up
/// while the developer still looks, rarely enough to batch a busy node's spans.
pub(super) const DEFAULT_EXPORT_EVERY: Duration = Duration::from_secs(1);
/// The OTLP/HTTP path for traces, added to an endpoint given without it.
const TRACES_PATH: &str = "/v1/traces";

/// `[telemetry]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySection {
    /// The collector's OTLP/HTTP traces URL (`…/v1/traces`); no traces when unset.
    pub otlp_endpoint: Option<String>,
    /// `service.name` on every span.
    pub service_name: String,
    /// How often batches of finished spans are sent.
    pub export_every: Duration,
}

impl Default for TelemetrySection {
    fn default() -> Self {
        Self { otlp_endpoint: None, service_name: DEFAULT_SERVICE_NAME.into(), export_every: DEFAULT_EXPORT_EVERY }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTelemetry {
    otlp_endpoint: Option<String>,
    service_name: Option<String>,
    export_every: Option<String>,
}

/// Resolves `[telemetry]`; an error is (dotted key, problem). `from_env` is
/// `GATEHOUSE_OTLP_ENDPOINT`, which wins over the file.
pub(super) fn resolve(raw: &RawTelemetry, from_env: Option<&str>) -> Result<TelemetrySection, Problem> {
    let mut t = TelemetrySection::default();
    if let Some(text) = from_env.or(raw.otlp_endpoint.as_deref()).filter(|t| !t.is_empty()) {
        let url = url::Url::parse(text).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        let Some(url) = url else {
            return Err((
                "telemetry.otlp_endpoint".into(),
                format!(
                    "`{text}` is not an http(s) URL: write the collector's OTLP/HTTP address, like \"http://127.0.0.1:4318\""
                ),
            ));
        };
        let base = url.as_str().trim_end_matches('/');
        t.otlp_endpoint =
            Some(if base.ends_with(TRACES_PATH) { base.to_string() } else { format!("{base}{TRACES_PATH}") });
    }
    if let Some(name) = &raw.service_name {
        if name.trim().is_empty() {
            return Err(("telemetry.service_name".into(), "must not be empty".into()));
        }
        t.service_name = name.clone();
    }
    if let Some(text) = &raw.export_every {
        let every = parse_duration(text).map_err(|e| ("telemetry.export_every".to_string(), e))?;
        if every.is_zero() {
            return Err(("telemetry.export_every".into(), "must be more than 0".into()));
        }
        t.export_every = every;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TelemetrySection, Problem> {
        resolve(&toml::from_str(text).unwrap(), None)
    }

    #[test]
    fn defaults_keys_and_the_traces_path() {
        assert_eq!(parse("").unwrap(), TelemetrySection::default());
        let t = parse("otlp_endpoint = \"http://127.0.0.1:4318\"\nservice_name = \"edge\"\nexport_every = \"250ms\"")
            .unwrap();
        assert_eq!(t.otlp_endpoint.as_deref(), Some("http://127.0.0.1:4318/v1/traces"));
        assert_eq!(t.service_name, "edge");
        assert_eq!(t.export_every, Duration::from_millis(250));
        let t = parse("otlp_endpoint = \"https://otel.example.com/v1/traces\"").unwrap();
        assert_eq!(t.otlp_endpoint.as_deref(), Some("https://otel.example.com/v1/traces"));
        let from_env = resolve(&RawTelemetry::default(), Some("http://collector:4318/")).unwrap();
        assert_eq!(from_env.otlp_endpoint.as_deref(), Some("http://collector:4318/v1/traces"));
    }

    #[test]
    fn refuses_what_it_cannot_send_to() {
        assert_eq!(parse("otlp_endpoint = \"collector:4318\"").unwrap_err().0, "telemetry.otlp_endpoint");
        assert_eq!(parse("otlp_endpoint = \"grpc://x\"").unwrap_err().0, "telemetry.otlp_endpoint");
        assert_eq!(parse("service_name = \" \"").unwrap_err().0, "telemetry.service_name");
        assert_eq!(parse("export_every = \"0s\"").unwrap_err().0, "telemetry.export_every");
    }
}
