//! The linker every guest is instantiated with, and the check that a component
//! fits it: it exports the handler and imports nothing the host lacks.

use std::sync::Arc;

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::HostState;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::capabilities;
use crate::capabilities::bindings::EndpointPre;
use crate::capabilities::db::DbView;
use crate::capabilities::http_out::HttpOutView;

/// The export every endpoint must provide…
pub const HANDLER_EXPORT: &str = "gatehouse:endpoint/handler@0.1.0";
/// …or, for a standard component, this one (any 0.2 version).
pub const INCOMING_HANDLER_EXPORT: &str = "wasi:http/incoming-handler@0.2";

/// WASI plus one line per capability.
pub(super) fn build(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    capabilities::auth::add_to_linker(&mut linker, |s| &mut s.auth)?;
    capabilities::config::add_to_linker(&mut linker, |s| &mut s.config)?;
    capabilities::log::add_to_linker(&mut linker, |s| &mut s.log)?;
    capabilities::http_out::add_to_linker(&mut linker, |s| HttpOutView {
        state: &mut s.http_out,
        table: &mut s.table,
    })?;
    capabilities::db::add_to_linker(&mut linker, |s| DbView { state: &mut s.db, table: &mut s.table })?;
    capabilities::blobs::add_to_linker(&mut linker, |s| &mut s.blobs)?;
    capabilities::stream::add_to_linker(&mut linker, |s| &mut s.stream)?;
    capabilities::wasi_http::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// A component checked against the host and ready to instantiate per request.
#[derive(Clone)]
pub struct PreparedEndpoint {
    pub(crate) pre: Pre,
    /// Whether the component imports `streaming`: only such a guest can
    /// answer before it returns, so only it needs a task of its own.
    pub streams: bool,
    /// This preparation's own key: kept instances (`reuse`) serve only
    /// requests to the endpoint, tenant and version this load made.
    pub(crate) key: u64,
    /// What instantiating it costs and how many ready instances it has (`ready.rs`).
    pub(crate) readiness: Arc<super::ready::Readiness>,
}

impl PreparedEndpoint {
    /// Whether an instance may serve several requests (`reuse`): only a
    /// component of our world, whose `handle` may be called again.
    pub fn reusable(&self) -> bool {
        matches!(self.pre, Pre::Endpoint(_))
    }
}

/// What a request instantiates.
#[derive(Clone)]
pub(crate) enum Pre {
    /// A component of our world: `handler.handle(request)`.
    Endpoint(EndpointPre<HostState>),
    /// A standard `wasi:http/proxy` component: `incoming-handler.handle`.
    Proxy(ProxyPre<HostState>),
}

/// The streaming interface's import name.
const STREAMING_IMPORT: &str = "gatehouse:endpoint/streaming@0.1.0";

/// Why a component cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// It does not export the handler interface.
    #[error(
        "it exports neither `{HANDLER_EXPORT}` nor `wasi:http/incoming-handler` (it exports: {found}); build it against wit/ with a gatehouse SDK, or as a wasi:http proxy component"
    )]
    MissingHandler {
        /// What it does export.
        found: String,
    },
    /// It imports something the host does not provide.
    #[error(
        "it imports {missing}, which this platform does not provide; remove that dependency or build against wit/ (world `endpoint`)"
    )]
    UnsupportedImport {
        /// The import(s).
        missing: String,
    },
    /// The handler export has the wrong shape.
    #[error("its `{HANDLER_EXPORT}` export does not match wit/: {0}; rebuild it against this platform's wit/")]
    WrongHandler(String),
}

impl crate::sandbox::Sandbox {
    /// Checks `component` against the host and pre-instantiates it.
    pub fn prepare(&self, component: &Component) -> Result<PreparedEndpoint, PrepareError> {
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(&self.engine).map(|(name, _)| name.to_string()).collect();
        let ours = exports.iter().any(|e| e == HANDLER_EXPORT);
        let proxy = exports.iter().any(|e| e.starts_with(INCOMING_HANDLER_EXPORT));
        if !ours && !proxy {
            let found = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
            return Err(PrepareError::MissingHandler { found });
        }
        let pre = self.linker.instantiate_pre(component).map_err(|e| {
            // wasmtime names the first unsatisfied import; list every import the
            // linker lacks by checking each on its own would need a second linker
            // walk, and the first one is what the user must fix anyway.
            PrepareError::UnsupportedImport { missing: import_problem(&e) }
        })?;
        if ours {
            let pre = EndpointPre::new(pre).map_err(|e| PrepareError::WrongHandler(format!("{e:#}")))?;
            let streams = ty.imports(&self.engine).any(|(name, _)| name == STREAMING_IMPORT);
            Ok(PreparedEndpoint { pre: Pre::Endpoint(pre), streams, key: self.new_key(), readiness: Arc::default() })
        } else {
            let pre = ProxyPre::new(pre).map_err(|e| PrepareError::WrongHandler(format!("{e:#}")))?;
            Ok(PreparedEndpoint {
                pre: Pre::Proxy(pre),
                streams: false,
                key: self.new_key(),
                readiness: Arc::default(),
            })
        }
    }
}

impl crate::sandbox::Sandbox {
    fn new_key(&self) -> u64 {
        self.next_key.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

fn import_problem(e: &wasmtime::Error) -> String {
    let text = format!("{e:#}");
    // "component imports instance `x`, but a matching implementation was not found in the linker"
    match text.split('`').nth(1) {
        Some(name) => format!("`{name}`"),
        None => text,
    }
}
