//! Entities: tables an app declares (`[[entity]]` in its manifest) whose
//! CRUD the platform serves itself, with no guest. Each entity is five
//! routes under `/api/v1/{name}` (list and create; read, change and delete
//! by id), each an ordinary endpoint of the tenant's route table, so the
//! gate (auth, scopes, rate limits, the generated body schema) runs for it
//! as for any other; only the last step differs: `handler` runs one
//! statement on the tenant's database instead of a guest.
//!
//! `sql` builds the statements and the generated migrations (pure),
//! `schema` the JSON Schemas of bodies and rows (pure), `handler` serves.

pub mod handler;
pub mod schema;
pub mod sql;

use crate::config::{EntityConfig, Method};

/// Where every entity's routes live.
pub const BASE_PATH: &str = "/api/v1";

/// One declared entity, ready to serve.
#[derive(Debug)]
pub struct Entity {
    /// Its declaration.
    pub config: EntityConfig,
}

/// What a route of an entity does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET /api/v1/{name}`: a page of rows.
    List,
    /// `POST /api/v1/{name}`: a new row.
    Create,
    /// `GET /api/v1/{name}/{id}`.
    Read,
    /// `PATCH /api/v1/{name}/{id}`.
    Update,
    /// `DELETE /api/v1/{name}/{id}`.
    Delete,
}

impl Op {
    /// Every operation, in route order.
    pub const ALL: [Op; 5] = [Op::List, Op::Create, Op::Read, Op::Update, Op::Delete];

    /// Its method.
    pub fn method(self) -> Method {
        match self {
            Op::List | Op::Read => Method::Get,
            Op::Create => Method::Post,
            Op::Update => Method::Patch,
            Op::Delete => Method::Delete,
        }
    }

    /// Whether it changes rows (and so needs the entity's `write_scopes`).
    pub fn writes(self) -> bool {
        !matches!(self, Op::List | Op::Read)
    }

    /// Its route, e.g. `PATCH /api/v1/tasks/{id}`.
    pub fn route(self, entity: &str) -> String {
        let by_id = if matches!(self, Op::List | Op::Create) { "" } else { "/{id}" };
        format!("{} {BASE_PATH}/{entity}{by_id}", self.method())
    }

    /// A sentence for the OpenAPI document.
    pub fn summary(self, entity: &str) -> String {
        match self {
            Op::List => format!("List {entity} (page, limit, sort, a field per filter)"),
            Op::Create => format!("Create one of {entity}"),
            Op::Read => format!("Read one of {entity} by id"),
            Op::Update => format!("Change fields of one of {entity}"),
            Op::Delete => format!("Delete one of {entity}"),
        }
    }
}

impl Entity {
    /// The columns a list may sort by.
    pub fn sortable(&self, name: &str) -> bool {
        self.config.fields.contains_key(name) || ["id", "created_at", "updated_at"].contains(&name)
    }

    /// Their names, for messages.
    pub fn sortable_names(&self) -> Vec<String> {
        let mut names: Vec<String> = vec!["id".into(), "created_at".into(), "updated_at".into()];
        names.extend(self.config.fields.keys().cloned());
        names
    }

    /// The columns a list may filter on: the fields, `id` and the owner column.
    pub fn filterable_names(&self) -> Vec<String> {
        let mut names: Vec<String> = vec!["id".into()];
        names.extend(self.config.owner.iter().cloned());
        names.extend(self.config.fields.keys().cloned());
        names
    }
}
