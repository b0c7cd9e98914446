//! Each tenant's own log: every event that names a tenant, itself or through
//! the span it happens in (a request's span names its tenant, route and id:
//! its guests' log lines and output, budget kills; deploys and rollbacks name
//! the tenant themselves) is also kept in a
//! ring of the tenant's last lines, which the admin API serves (`GET
//! /admin/v1/tenants/{t}/logs`, also to the tenant's deploy key) and `gatehouse
//! logs --tenant T` tails. A `tracing` layer collects them, so nothing that logs
//! needs to know about it. The ring is this node's: on several nodes, each
//! holds the lines of the requests it served.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;

/// Lines kept per tenant.
const KEPT: usize = 1000;

/// One line.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    /// Increasing per node; ask for lines after the last one seen.
    pub seq: u64,
    /// Unix milliseconds.
    pub time_ms: u64,
    /// `INFO`, `WARN`…
    pub level: String,
    /// Where it came from (`gatehouse::guest`, `gatehouse::deploy`…).
    pub target: String,
    /// The message.
    pub message: String,
    /// The other fields (route, request id, limit…), as `key=value`.
    pub fields: String,
}

#[derive(Default)]
struct Book {
    next: u64,
    by_tenant: HashMap<String, VecDeque<LogLine>>,
}

static BOOK: LazyLock<Mutex<Book>> = LazyLock::new(|| Mutex::new(Book::default()));

/// The tenant's lines after `after`, at most `limit`, oldest first.
pub fn lines(tenant: &str, after: u64, limit: usize) -> Vec<LogLine> {
    let Ok(book) = BOOK.lock() else { return Vec::new() };
    book.by_tenant
        .get(tenant)
        .map(|ring| ring.iter().filter(|l| l.seq > after).take(limit).cloned().collect())
        .unwrap_or_default()
}

fn keep(tenant: String, mut line: LogLine) {
    let Ok(mut book) = BOOK.lock() else { return };
    book.next += 1;
    line.seq = book.next;
    let ring = book.by_tenant.entry(tenant).or_default();
    if ring.len() == KEPT {
        ring.pop_front();
    }
    ring.push_back(line);
}

/// The `tracing` layer that files events naming a tenant.
pub struct TenantLogLayer;

#[derive(Default, Clone)]
struct Fields {
    tenant: Option<String>,
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "tenant" => self.tenant = Some(value.to_string()),
            "message" => self.message = value.to_string(),
            name => {
                let _ = write!(self.rest, "{}{name}={value:?}", if self.rest.is_empty() { "" } else { " " });
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "tenant" => self.tenant = Some(format!("{value:?}").trim_matches('"').to_string()),
            "message" => self.message = format!("{value:?}"),
            name => {
                let _ = write!(self.rest, "{}{name}={value:?}", if self.rest.is_empty() { "" } else { " " });
            }
        }
    }
}

impl<S> Layer<S> for TenantLogLayer
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut own = Fields::default();
        event.record(&mut own);
        // The spans around the event, outermost first: their fields lead the
        // line, and the innermost tenant named (the event's own above all) owns it.
        let mut tenant = None;
        let mut rest = String::new();
        for span in ctx.event_scope(event).into_iter().flat_map(|scope| scope.from_root()) {
            if let Some(f) = span.extensions().get::<Fields>() {
                tenant = f.tenant.clone().or(tenant);
                join(&mut rest, &f.rest);
            }
        }
        let Some(tenant) = own.tenant.or(tenant) else { return };
        join(&mut rest, &own.rest);
        let meta = event.metadata();
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        keep(
            tenant,
            LogLine {
                seq: 0,
                time_ms,
                level: meta.level().to_string(),
                target: meta.target().to_string(),
                message: own.message,
                fields: rest,
            },
        );
    }
}

/// Appends `more` to a `key=value` list.
fn join(list: &mut String, more: &str) {
    if !more.is_empty() {
        if !list.is_empty() {
            list.push(' ');
        }
        list.push_str(more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_naming_a_tenant_are_kept_per_tenant_in_order() {
        let subscriber = tracing_subscriber::registry().with(TenantLogLayer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(tenant = "logs-a", route = "GET /x", "first");
            tracing::warn!(tenant = %"logs-b", "other tenant");
            tracing::info!("no tenant at all");
            tracing::info!(tenant = "logs-a", "second");
            // A request's span names the tenant for every line inside it.
            let span = tracing::info_span!("request", tenant = "logs-d", route = "GET /y", request_id = "r1");
            span.in_scope(|| tracing::info!(target: "gatehouse::guest", stream = "stdout", "from the guest"));
            tracing::info!("outside the span again");
        });
        let d = lines("logs-d", 0, 10);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].message, "from the guest");
        assert_eq!(d[0].fields, "route=\"GET /y\" request_id=\"r1\" stream=\"stdout\"");
        let a = lines("logs-a", 0, 10);
        assert_eq!(a.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), ["first", "second"]);
        assert_eq!(a[0].fields, "route=\"GET /x\"");
        assert_eq!(lines("logs-a", a[0].seq, 10).len(), 1);
        assert_eq!(lines("logs-b", 0, 10)[0].level, "WARN");
        for i in 0..KEPT + 5 {
            keep(
                "logs-c".into(),
                LogLine {
                    seq: 0,
                    time_ms: 0,
                    level: "INFO".into(),
                    target: String::new(),
                    message: i.to_string(),
                    fields: String::new(),
                },
            );
        }
        let c = lines("logs-c", 0, usize::MAX);
        assert_eq!((c.len(), c[0].message.as_str()), (KEPT, "5"));
    }
}
