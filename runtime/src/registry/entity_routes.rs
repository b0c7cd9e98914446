//! An app's entities as endpoints: five per entity, in the tenant's route
//! table beside its guests' endpoints. Each carries the entity's gate keys
//! (writes also need its `write_scopes`), the generated body schema of its
//! operation, and the tenant's database; its handler is the platform's own.

use std::sync::Arc;

use super::load::{Endpoint, Handler, TenantServices};
use crate::config::{EntityConfig, Limits, RoutePattern};
use crate::entities::{Entity, Op, schema};
use crate::gate::validate::Schema;
use crate::sandbox::EndpointGrants;

/// The endpoints of `entities`, for `tenant`; `limits` bound their bodies.
pub(super) fn endpoints(
    entities: &[EntityConfig],
    tenant: &str,
    services: &TenantServices,
    limits: Limits,
) -> Result<Vec<Arc<Endpoint>>, String> {
    let mut out = Vec::new();
    for config in entities {
        let entity = Arc::new(Entity { config: config.clone() });
        let content_hash = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(format!("{}{}", config.name, schema::create(config)).as_bytes()))
        };
        for op in Op::ALL {
            let route =
                RoutePattern::parse(&op.route(&config.name)).map_err(|p| format!("entity `{}`: {p}", config.name))?;
            let mut policy = config.policy.clone();
            if op.writes() {
                policy.scopes.extend(config.write_scopes.iter().cloned());
            }
            let body_schema = match op {
                Op::Create => Some(Schema::compile(schema::create(config))?),
                Op::Update => Some(Schema::compile(schema::change(config))?),
                _ => None,
            };
            let response_schema = Some(match op {
                Op::List => {
                    schema::envelope(serde_json::json!({ "type": "array", "items": schema::row(config) }), true)
                }
                Op::Delete => schema::envelope(
                    serde_json::json!({ "type": "object", "properties": { "id": { "type": "integer" }, "deleted": { "const": true } } }),
                    false,
                ),
                _ => schema::envelope(schema::row(config), false),
            });
            policy.openapi.summary = Some(op.summary(&config.name));
            out.push(Arc::new(Endpoint {
                route_label: route.to_string().into(),
                route,
                tenant: tenant.into(),
                grants: EndpointGrants {
                    limits,
                    variables: Arc::default(),
                    outbound: None,
                    secrets: Arc::default(),
                    secret_book: None,
                    db: services.db.clone(),
                    blobs: None,
                    reuse: None,
                },
                handler: Handler::Entity(entity.clone(), op),
                content_hash: content_hash.clone(),
                policy,
                body_schema,
                query_schema: None,
                response_schema,
            }));
        }
    }
    Ok(out)
}
