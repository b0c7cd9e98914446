//! From `[[endpoint]]` entries to prepared endpoints: build the source if it is
//! a folder, read the component, compile it (or take it from the cache), check
//! it against the host. Any failure names the endpoint and the fix, and nothing
//! is served until every endpoint loaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Duration;

use super::artifact_cache::Origin;
use super::{ArtifactCache, Language, build_component};
use crate::capabilities::blobs::TenantBlobs;
use crate::capabilities::db::TenantDatabase;
use crate::capabilities::http_out::{HttpOut, OutboundSettings};
use crate::capabilities::secret_book::SecretBook;
use crate::config::{EndpointConfig, EndpointPolicy, RoutePattern};
use crate::gate::validate::Schema;
use crate::sandbox::{EndpointGrants, PreparedEndpoint, Sandbox};
use crate::store::Store;

/// One endpoint, ready to serve.
pub struct Endpoint {
    /// Its route.
    pub route: RoutePattern,
    /// The route as text, shared by every log line about it.
    pub route_label: Arc<str>,
    /// The owning tenant.
    pub tenant: Arc<str>,
    /// Budgets and grants.
    pub grants: EndpointGrants,
    /// What answers once the gate admitted a request.
    pub handler: Handler,
    /// sha256 of the component, for logs and deploy records.
    pub content_hash: String,
    /// What the gate enforces.
    pub policy: EndpointPolicy,
    /// The compiled body schema, if any.
    pub body_schema: Option<Schema>,
    /// The compiled query schema, if any.
    pub query_schema: Option<Schema>,
    /// `openapi.response_schema`, read: the success answer's body in the
    /// generated OpenAPI document.
    pub response_schema: Option<serde_json::Value>,
}

/// What answers an endpoint's requests.
pub enum Handler {
    /// A guest: the checked, pre-instantiated component.
    Guest(PreparedEndpoint),
    /// The platform itself: one operation of a declared entity.
    Entity(Arc<crate::entities::Entity>, crate::entities::Op),
}

/// What a tenant's endpoints share: its database and the secrets set for it.
#[derive(Debug, Clone, Default)]
pub struct TenantServices {
    /// The tenant's database.
    pub db: Option<Arc<TenantDatabase>>,
    /// The tenant's object storage.
    pub blobs: Option<Arc<TenantBlobs>>,
    /// Secrets set through the admin API.
    pub secret_book: Option<Arc<SecretBook>>,
}

/// An endpoint that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{config}: endpoint[{index}] `{route}`, component `{component}`: {problem}")]
pub struct LoadError {
    /// The config file.
    pub config: String,
    /// The endpoint's position.
    pub index: usize,
    /// Its route.
    pub route: String,
    /// `component` as written.
    pub component: String,
    /// What went wrong and the fix.
    pub problem: String,
}

/// How endpoints are loaded: where compiled components are cached and
/// shared, the bounds on untrusted components, and whether source folders may
/// be built (only for the operator's own platform.toml: an uploaded app brings
/// components, never a build script to run here).
pub struct Loader<'a> {
    /// The engine and linker.
    pub sandbox: &'a Sandbox,
    /// This node's compiled components.
    pub cache: &'a ArtifactCache,
    /// The shared store, to fetch or share compiled components.
    pub shared: Option<&'a Store>,
    /// The largest component accepted.
    pub max_component_bytes: usize,
    /// The longest a compile may take: bounded for uploaded components
    /// (untrusted work), `None` for the operator's own platform.toml.
    pub compile_timeout: Option<Duration>,
    /// Outbound HTTP limits.
    pub outbound: &'a OutboundSettings,
    /// Cargo's target dir for source folders; `None`: components must be `.wasm` files.
    pub build_dir: Option<&'a Path>,
    /// The file endpoints were declared in, for messages.
    pub label: String,
}

/// What a load did, for stats and logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadCounts {
    /// Components compiled (not found in any cache).
    pub compiled: u64,
    /// Components taken from a cache (this node's or the shared store).
    pub cached: u64,
}

impl Loader<'_> {
    /// Loads `endpoints` for `tenant`; the first failure stops the load.
    pub fn load(
        &self,
        endpoints: &[EndpointConfig],
        tenant: Arc<str>,
        services: &TenantServices,
        counts: &mut LoadCounts,
    ) -> Result<Vec<Arc<Endpoint>>, LoadError> {
        let mut built: HashMap<PathBuf, PathBuf> = HashMap::new();
        let mut out = Vec::with_capacity(endpoints.len());
        for e in endpoints {
            let fail = |problem: String| LoadError {
                config: self.label.clone(),
                index: e.index,
                route: e.route.to_string(),
                component: e.component_as_written.clone(),
                problem,
            };
            let wasm_path = match (source_kind(&e.component), self.build_dir) {
                (Source::File, _) => e.component.clone(),
                (Source::Folder(language), Some(build_dir)) => {
                    if let Some(p) = built.get(&e.component) {
                        p.clone()
                    } else {
                        tracing::info!(component = %e.component_as_written, language = language.name(), "building");
                        let p = build_component(&e.component, build_dir).map_err(|err| fail(err.to_string()))?;
                        built.insert(e.component.clone(), p.clone());
                        p
                    }
                }
                (Source::Folder(_), None) => {
                    return Err(fail(
                        "is a source folder; an app carries built .wasm components (`gatehouse deploy` builds them)"
                            .into(),
                    ));
                }
                (Source::Missing, _) => {
                    return Err(fail(
                        "not found: name a source folder (Cargo.toml, app.py or index.js; built for you) or a .wasm component file".into(),
                    ));
                }
            };
            let endpoint = self.load_one(e, &wasm_path, tenant.clone(), services, counts).map_err(fail)?;
            out.push(Arc::new(endpoint));
        }
        Ok(out)
    }
}

enum Source {
    File,
    Folder(Language),
    Missing,
}

fn source_kind(path: &Path) -> Source {
    if let Some(language) = Language::of(path) {
        Source::Folder(language)
    } else if path.is_file() {
        Source::File
    } else {
        Source::Missing
    }
}

impl Loader<'_> {
    fn load_one(
        &self,
        e: &EndpointConfig,
        wasm_path: &Path,
        tenant: Arc<str>,
        services: &TenantServices,
        counts: &mut LoadCounts,
    ) -> Result<Endpoint, String> {
        let size =
            std::fs::metadata(wasm_path).map_err(|err| format!("cannot read {}: {err}", wasm_path.display()))?.len();
        let max = self.max_component_bytes as u64;
        if size > max {
            return Err(format!(
                "{} is {size} bytes, over the {max}-byte limit (sandbox.max_component_mb); make it smaller or raise the limit",
                wasm_path.display()
            ));
        }
        let wasm = std::fs::read(wasm_path).map_err(|err| format!("cannot read {}: {err}", wasm_path.display()))?;
        if !wasm.starts_with(b"\0asm") {
            return Err(format!(
                "{} is not WebAssembly; point `component` at a .wasm component or a Cargo folder",
                wasm_path.display()
            ));
        }
        let (component, origin) =
            self.cache.load_or_compile(self.sandbox, &wasm, self.shared, self.compile_timeout).map_err(|err| {
                format!("is not a valid WebAssembly component: {err}; build it for wasm32-wasip2 against wit/")
            })?;
        let cached = origin != Origin::Compiled;
        if cached {
            counts.cached += 1;
        } else {
            counts.compiled += 1;
        }
        let prepared = self.sandbox.prepare(&component).map_err(|err| err.to_string())?;
        if e.reuse.is_some() && !prepared.reusable() {
            return Err("has `reuse`, which only components of the gatehouse:endpoint world support; \
                 a wasi:http proxy component gets a fresh instance per request: remove `reuse`"
                .into());
        }
        let compile = |p: &Option<std::path::PathBuf>| p.as_deref().map(Schema::load).transpose();
        let response_schema = e.policy.openapi.response_schema.as_deref().map(Schema::read_document).transpose()?;
        let body_schema = compile(&e.policy.schema)?;
        if let Some(why) = body_schema.as_ref().and_then(Schema::needs_tree) {
            tracing::warn!(
                route = %e.route,
                "the body schema uses {why}: its bodies are checked on a parsed tree, \
                 about ten times the CPU per MiB (docs/security.md, known limits)"
            );
        }
        let outbound = if e.policy.allowed_hosts.is_empty() {
            None
        } else {
            Some(Arc::new(HttpOut::new(e.policy.allowed_hosts.clone(), self.outbound)?))
        };
        let query_schema = compile(&e.policy.query_schema)?;
        let content_hash = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&wasm))
        };
        tracing::info!(route = %e.route, hash = &content_hash[..12], cached, "endpoint ready");
        Ok(Endpoint {
            route: e.route.clone(),
            route_label: e.route.to_string().into(),
            tenant,
            grants: EndpointGrants {
                limits: e.limits,
                variables: Arc::new(e.variables.clone()),
                outbound,
                secrets: Arc::new(e.policy.secrets.clone()),
                secret_book: services.secret_book.clone(),
                db: services.db.clone(),
                blobs: services.blobs.clone(),
                reuse: e.reuse,
            },
            handler: Handler::Guest(prepared),
            content_hash,
            policy: e.policy.clone(),
            body_schema,
            query_schema,
            response_schema,
        })
    }
}
