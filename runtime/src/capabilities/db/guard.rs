//! What a tenant's SQLite connection refuses, enforced by SQLite itself on
//! every statement it prepares: attaching or detaching other database files
//! (the way to reach another tenant's file or the platform's), loading
//! extensions, and pragmas that change the engine's behaviour. The number of
//! attached databases is also limited to zero (so `VACUUM INTO`, which
//! attaches its target, fails too), the connection runs in SQLite's defensive
//! mode (no writable schema, no shadow-table writes that could corrupt the
//! file), and no string or blob may grow past the result-size limit, so a
//! statement like `randomblob(900000000)` fails inside SQLite before the host
//! allocates it.
//!
//! Migrations are tenant code too: they run on a connection guarded the same
//! way, and while a migration file runs, transaction control (`BEGIN`,
//! `COMMIT`, `ROLLBACK`, savepoints) is refused as well, so the file cannot end
//! the runner's transaction and run the rest of itself outside it.
//!
//! This is the one place outside wasmtime where we call C directly. sqlx
//! offers no authorizer API, only the raw handle (`LockedSqliteHandle`), and
//! an authorizer is the mechanism SQLite provides for exactly this.

use std::ffi::{CStr, c_char, c_int, c_void};

use libsqlite3_sys as ffi;

/// Pragmas a guest may run: they only read the tenant's own schema.
const ALLOWED_PRAGMAS: &[&str] = &["table_info", "table_xinfo", "index_list", "index_info", "foreign_key_list"];

/// The authorizer callback: SQLITE_OK to allow, SQLITE_DENY to refuse.
#[allow(unsafe_code)]
extern "C" fn authorize(
    _user: *mut c_void,
    action: c_int,
    arg1: *const c_char,
    arg2: *const c_char,
    _db_name: *const c_char,
    _trigger: *const c_char,
) -> c_int {
    // SAFETY: SQLite passes NUL-terminated strings or null pointers, valid for the call.
    let text = |p: *const c_char| if p.is_null() { "" } else { unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("") };
    match action {
        // ATTACH reaches another file: another tenant's, or the platform's own.
        ffi::SQLITE_ATTACH | ffi::SQLITE_DETACH => ffi::SQLITE_DENY,
        ffi::SQLITE_PRAGMA if ALLOWED_PRAGMAS.contains(&text(arg1).to_ascii_lowercase().as_str()) => ffi::SQLITE_OK,
        // Other pragmas change the engine (writable_schema, journal files, ...).
        ffi::SQLITE_PRAGMA => ffi::SQLITE_DENY,
        // Extensions are native code in the host process.
        ffi::SQLITE_FUNCTION if text(arg2).eq_ignore_ascii_case("load_extension") => ffi::SQLITE_DENY,
        _ => ffi::SQLITE_OK,
    }
}

/// The migration runner's authorizer: the guest's, and no transaction control.
#[allow(unsafe_code)]
extern "C" fn authorize_migration(
    user: *mut c_void,
    action: c_int,
    arg1: *const c_char,
    arg2: *const c_char,
    db_name: *const c_char,
    trigger: *const c_char,
) -> c_int {
    match action {
        // The runner holds the transaction; the file may not end or split it.
        ffi::SQLITE_TRANSACTION | ffi::SQLITE_SAVEPOINT => ffi::SQLITE_DENY,
        _ => authorize(user, action, arg1, arg2, db_name, trigger),
    }
}

/// Installs the authorizer, the attach and length limits and defensive mode
/// on a freshly opened connection. `max_value_bytes`: the longest string or
/// blob a statement may make.
pub(super) async fn install(conn: &mut sqlx::SqliteConnection, max_value_bytes: usize) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle().as_ptr();
    let length = c_int::try_from(max_value_bytes.max(1)).unwrap_or(c_int::MAX);
    // SAFETY: `raw` is the live connection handle, held exclusively through
    // `LockedSqliteHandle` (sqlx's worker makes no calls on it meanwhile). The
    // callback is a plain function with no user data, valid for the program's
    // life, and it only reads the strings SQLite passes. `sqlite3_db_config`
    // with DEFENSIVE takes an int and a nullable int pointer, as passed.
    #[allow(unsafe_code)]
    unsafe {
        ffi::sqlite3_limit(raw, ffi::SQLITE_LIMIT_ATTACHED, 0);
        ffi::sqlite3_limit(raw, ffi::SQLITE_LIMIT_LENGTH, length);
        let rc = ffi::sqlite3_db_config(raw, ffi::SQLITE_DBCONFIG_DEFENSIVE, 1 as c_int, std::ptr::null_mut::<c_int>());
        if rc != ffi::SQLITE_OK {
            return Err(sqlx::Error::Protocol(format!("cannot set SQLite's defensive mode (code {rc})")));
        }
        let rc = ffi::sqlite3_set_authorizer(raw, Some(authorize), std::ptr::null_mut());
        if rc != ffi::SQLITE_OK {
            return Err(sqlx::Error::Protocol(format!("cannot install the SQLite authorizer (code {rc})")));
        }
    }
    Ok(())
}

/// Switches a guarded connection to the migration runner's authorizer (no
/// transaction control) or back to the guest's.
pub(super) async fn migration_mode(conn: &mut sqlx::SqliteConnection, on: bool) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle().as_ptr();
    let callback = if on { authorize_migration } else { authorize };
    // SAFETY: as in `install`: the handle is held exclusively and the callback
    // is a plain function that needs no user data.
    #[allow(unsafe_code)]
    let rc = unsafe { ffi::sqlite3_set_authorizer(raw, Some(callback), std::ptr::null_mut()) };
    if rc != ffi::SQLITE_OK {
        return Err(sqlx::Error::Protocol(format!("cannot install the SQLite authorizer (code {rc})")));
    }
    Ok(())
}
