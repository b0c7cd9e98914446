//! `gatehouse:endpoint/db`: the tenant's own database.
//!
//! Two backends behind one interface. Embedded default: one SQLite file per
//! tenant in the data dir, guarded by SQLite's authorizer (`guard.rs`) so no
//! statement reaches another file. With `platform.database_url`: one Postgres
//! schema per tenant, reached through the tenant's own login role, so the
//! database itself enforces isolation (`postgres.rs`). Every statement has a
//! timeout, a row limit and a result-size limit. Transactions are a WIT
//! resource: dropped, or abandoned by a guest that traps or times out, they
//! roll back (sqlx rolls a dropped transaction back before the connection is reused).
//!
//! The shape every capability with state has: `database.rs` is the grant (a
//! tenant's database, opened at load), `state.rs` the per-request state,
//! `host.rs` the `Host` impls over them; the rest are the backends and their
//! guards.

mod database;
mod guard;
mod host;
mod postgres;
mod postgres_provision;
mod relay;
mod sqlite;
mod state;
mod upstream;
mod values;

use wasmtime::component::{HasData, Linker};

use crate::capabilities::wit_db as wit;

pub use crate::config::{DbLimits, PgIsolation};
pub(crate) use database::MAX_MIGRATION_BYTES;
pub use database::TenantDatabase;
pub(crate) use host::DbView;
pub(crate) use state::DbState;
pub use state::DbTransaction;

/// Transactions one request may hold open at once: each holds a connection.
pub(crate) const MAX_OPEN_TRANSACTIONS: usize = 4;
/// Connections per tenant database.
const POOL_SIZE: u32 = 8;

struct DbData;

impl HasData for DbData {
    type Data<'a> = DbView<'a>;
}

/// Links `gatehouse:endpoint/db`; `get` finds this capability's state (and
/// the store's resource table) in a store's data.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> DbView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, DbData>(linker, get)
}
