//! The data of one request's `Store`: WASI, budgets and each capability's state.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtxView, WasiHttpView};

use super::budget::Budget;
use super::output::{GuestOutput, Stream};
use crate::capabilities::auth::AuthState;
use crate::capabilities::blobs::{BlobsState, TenantBlobs};
use crate::capabilities::config::ConfigState;
use crate::capabilities::db::{DbState, TenantDatabase};
use crate::capabilities::http_out::{HttpOut, HttpOutState};
use crate::capabilities::log::LogState;
use crate::capabilities::stream::StreamState;
use crate::config::Limits;
use crate::context::RequestContext;
use crate::identity::Principal;

/// What an endpoint is granted, fixed at load time and shared by its requests.
#[derive(Debug, Clone)]
pub struct EndpointGrants {
    /// Budgets.
    pub limits: Limits,
    /// Values readable through `config.get`.
    pub variables: Arc<BTreeMap<String, String>>,
    /// The endpoint's outbound client, if it has `allowed_hosts`.
    pub outbound: Option<Arc<HttpOut>>,
    /// Granted secrets with their startup values; never logged.
    pub secrets: Arc<BTreeMap<String, Option<crate::config::Secret>>>,
    /// Values set through the admin API, looked up live.
    pub secret_book: Option<Arc<crate::capabilities::secret_book::SecretBook>>,
    /// The tenant's database.
    pub db: Option<Arc<TenantDatabase>>,
    /// The tenant's object storage.
    pub blobs: Option<Arc<TenantBlobs>>,
    /// `reuse`: serve several requests from one instance (`None`: a fresh one each).
    pub reuse: Option<crate::config::Reuse>,
}

/// Everything one request's store holds. Dropped with the store when the
/// request ends, or, for an endpoint with `reuse`, renewed by `begin_request`
/// for each request the instance serves (everything but WASI's context, the
/// resource table and the memory budget, which belong to the instance).
pub(crate) struct HostState {
    wasi: WasiCtx,
    stdout: GuestOutput,
    stderr: GuestOutput,
    pub(crate) table: ResourceTable,
    pub(crate) budget: Budget,
    pub(crate) auth: AuthState,
    pub(crate) config: ConfigState,
    pub(crate) log: LogState,
    pub(crate) http_out: HttpOutState,
    pub(crate) db: DbState,
    pub(crate) blobs: BlobsState,
    pub(crate) stream: StreamState,
    pub(crate) wasi_http: crate::capabilities::wasi_http::WasiHttpState,
}

impl HostState {
    pub(crate) fn new(
        grants: &EndpointGrants,
        principal: Arc<Principal>,
        context: Arc<RequestContext>,
        stream: StreamState,
    ) -> Self {
        // The sandbox's WASI: no preopened directories, no environment, no
        // arguments, no network (WasiCtxBuilder denies sockets and name lookup
        // unless asked), stdin empty, stdout/stderr into the log.
        let stdout = GuestOutput::new(Stream::Stdout);
        let stderr = GuestOutput::new(Stream::Stderr);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_blocking_current_thread(false)
            .build();
        Self {
            wasi,
            stdout,
            stderr,
            table: ResourceTable::new(),
            budget: Budget::new(grants.limits.memory_bytes, grants.limits.cpu),
            auth: AuthState::new(principal),
            config: ConfigState::new(
                grants.variables.clone(),
                grants.secrets.clone(),
                grants.secret_book.clone().map(|b| (b, context.tenant.clone())),
            ),
            http_out: HttpOutState::new(grants.outbound.clone(), context.timings.clone()),
            db: DbState::new(grants.db.clone(), context.timings.clone()),
            blobs: BlobsState::new(grants.blobs.clone(), context),
            stream,
            wasi_http: Default::default(),
            log: LogState::default(),
        }
    }
}

impl HostState {
    /// Makes a kept instance's state the next request's: its caller, context,
    /// per-request counters and budgets, as a fresh store would have them
    /// (`first`: the instance's first request, a ready instance's).
    pub(crate) fn begin_request(
        &mut self,
        grants: &EndpointGrants,
        principal: Arc<Principal>,
        context: Arc<RequestContext>,
        stream: StreamState,
        first: bool,
    ) {
        self.stdout.begin_request();
        self.stderr.begin_request();
        self.budget.begin_request(first);
        self.auth = AuthState::new(principal);
        self.config = ConfigState::new(
            grants.variables.clone(),
            grants.secrets.clone(),
            grants.secret_book.clone().map(|b| (b, context.tenant.clone())),
        );
        self.http_out = HttpOutState::new(grants.outbound.clone(), context.timings.clone());
        self.db = DbState::new(grants.db.clone(), context.timings.clone());
        self.blobs = BlobsState::new(grants.blobs.clone(), context);
        self.stream = stream;
        self.wasi_http = Default::default();
        self.log = LogState::default();
    }

    /// Whether the request left nothing that must end with it: no database
    /// transaction or upstream body still open (they would outlive the
    /// request, holding a connection), and no memory growth refused.
    pub(crate) fn ended_cleanly(&self) -> bool {
        self.db.open_transactions() == 0 && self.http_out.open_bodies() == 0 && self.budget.memory_refused().is_none()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.wasi_http.view(&mut self.table, &mut self.http_out)
    }
}
