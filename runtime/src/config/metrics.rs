//! `[metrics]`: where Prometheus scrapes, and how many tenants get a series
//! of their own.

use std::net::SocketAddr;

use serde::Deserialize;

use super::policy::Problem;

/// Tenants named in metric labels; the rest share `other`. Each tenant
/// multiplies every per-tenant series (routes, status classes, buckets), so a
/// node with thousands of tenants must not send Prometheus thousands of
/// series per metric unless the operator asks for it.
pub(super) const DEFAULT_MAX_TENANTS: usize = 100;

/// `[metrics]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSection {
    /// A listener of its own for `GET /metrics`, without a token (for a
    /// Prometheus on a private network). Unset: `/metrics` is on the admin
    /// listener, behind the admin token.
    pub listen: Option<SocketAddr>,
    /// See [`DEFAULT_MAX_TENANTS`].
    pub max_tenants: usize,
}

impl Default for MetricsSection {
    fn default() -> Self {
        Self { listen: None, max_tenants: DEFAULT_MAX_TENANTS }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    listen: Option<String>,
    max_tenants: Option<usize>,
}

/// Resolves `[metrics]`; an error is (dotted key, problem).
pub(super) fn resolve(raw: &RawMetrics) -> Result<MetricsSection, Problem> {
    let mut m = MetricsSection::default();
    if let Some(text) = &raw.listen {
        let addr = text
            .parse()
            .map_err(|_| ("metrics.listen".to_string(), format!("`{text}` is not an address: write IP:PORT")))?;
        m.listen = Some(addr);
    }
    if let Some(n) = raw.max_tenants {
        if n == 0 {
            return Err(("metrics.max_tenants".into(), "must be at least 1 (the rest share `other`)".into()));
        }
        m.max_tenants = n;
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_keys() {
        assert_eq!(resolve(&RawMetrics::default()).unwrap(), MetricsSection::default());
        let raw: RawMetrics = toml::from_str("listen = \"127.0.0.1:9100\"\nmax_tenants = 5").unwrap();
        let m = resolve(&raw).unwrap();
        assert_eq!(m.listen.map(|a| a.port()), Some(9100));
        assert_eq!(m.max_tenants, 5);
        let raw: RawMetrics = toml::from_str("listen = \"nine\"").unwrap();
        assert_eq!(resolve(&raw).unwrap_err().0, "metrics.listen");
        let raw: RawMetrics = toml::from_str("max_tenants = 0").unwrap();
        assert_eq!(resolve(&raw).unwrap_err().0, "metrics.max_tenants");
    }
}
