//! One entity call, after the gate admitted it and checked its body: whose
//! rows the caller may touch, the query's page, sort and filters, the one
//! statement (two for a list: the page and the total) on the tenant's
//! database, and the answer in the envelope.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

use super::sql::{self, Filter};
use super::{Entity, Op};
use crate::capabilities::db::TenantDatabase;
use crate::capabilities::wit_db as wit;
use crate::config::FieldType;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Principal;

/// Rows per page when the caller does not say, and at most.
pub const DEFAULT_LIMIT: u64 = 20;
/// The most rows one page holds.
pub const MAX_LIMIT: u64 = 100;
/// The deepest page: past it a caller is walking the table, not paging.
pub const MAX_PAGE: u64 = 100_000;
/// Values one filter may list (`?status=a&status=b…`).
const MAX_FILTER_VALUES: usize = 100;

/// An answer: status, extra headers, the JSON body.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// Headers beside `Content-Type` (`X-Total-Count` on a list).
    pub headers: HeaderMap,
    /// The envelope.
    pub body: Bytes,
}

/// Serves one call. `params` are the route's (`id`), `query` the query
/// string's pairs, `body` the checked body (defaults filled in).
pub async fn serve(
    entity: &Entity,
    op: Op,
    db: &TenantDatabase,
    principal: &Principal,
    params: &[(String, String)],
    query: &[(String, String)],
    body: &Bytes,
) -> Result<Answer, ApiError> {
    let e = &entity.config;
    let owner = confinement(entity, principal)?;
    let confined = owner.is_some();
    let owner_param = || owner.clone().map(wit::Value::Text);
    let now = crate::clock::unix_millis() as i64;
    match op {
        Op::List => {
            let page = Page::parse(entity, query)?;
            let filters: Vec<Filter> =
                page.filters.iter().map(|(c, v)| Filter { column: c.clone(), values: v.len() }).collect();
            let mut values: Vec<wit::Value> = owner_param().into_iter().collect();
            values.extend(page.filters.iter().flat_map(|(_, v)| v.iter().cloned()));
            let total = db.query(&sql::count(e, confined, &filters), &values).await.map_err(db_error)?;
            let total = total.rows.first().and_then(|r| r.first()).map(integer).unwrap_or(0);
            values.push(wit::Value::Integer(page.limit as i64));
            values.push(wit::Value::Integer(((page.number - 1) * page.limit) as i64));
            let rows = db.query(&sql::list(e, confined, &filters, &page.sort, page.descending), &values).await;
            let items = rows_json(entity, &rows.map_err(db_error)?);
            let mut headers = HeaderMap::new();
            headers.insert("x-total-count", HeaderValue::from(total.max(0) as u64));
            let pages = (total.max(0) as u64).div_ceil(page.limit);
            let envelope = json!({
                "success": true,
                "data": items,
                "pagination": { "page": page.number, "limit": page.limit, "total": total, "totalPages": pages },
            });
            Ok(answer(StatusCode::OK, headers, envelope))
        }
        Op::Create => {
            let fields = body_fields(body)?;
            let columns: Vec<&str> = fields.keys().map(String::as_str).collect();
            let mut values: Vec<wit::Value> =
                fields.iter().map(|(n, v)| to_value(entity, n, v)).collect::<Result<_, _>>()?;
            if e.owner.is_some() {
                values.push(principal.user_id.clone().map_or(wit::Value::Null, wit::Value::Text));
            }
            values.extend([wit::Value::Integer(now), wit::Value::Integer(now)]);
            let rows = db.query(&sql::insert(e, &columns), &values).await.map_err(db_error)?;
            let row = rows_json(entity, &rows).into_iter().next().unwrap_or(Value::Null);
            Ok(answer(StatusCode::CREATED, HeaderMap::new(), json!({ "success": true, "data": row })))
        }
        Op::Read | Op::Update | Op::Delete => {
            let id = id(entity, params)?;
            let mut values: Vec<wit::Value> = Vec::new();
            let statement = match op {
                Op::Read => sql::read(e, confined),
                Op::Delete => sql::delete(e, confined),
                _ => {
                    let fields = body_fields(body)?;
                    let columns: Vec<&str> = fields.keys().map(String::as_str).collect();
                    for (n, v) in &fields {
                        values.push(to_value(entity, n, v)?);
                    }
                    values.push(wit::Value::Integer(now));
                    sql::update(e, &columns, confined)
                }
            };
            values.push(wit::Value::Integer(id));
            values.extend(owner_param());
            let missing = || {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!("no {} with id {id}{}", e.name, if confined { " of yours" } else { "" }),
                )
            };
            if op == Op::Delete {
                let deleted = db.execute(&statement, &values).await.map_err(db_error)?;
                if deleted == 0 {
                    return Err(missing());
                }
                return Ok(answer(
                    StatusCode::OK,
                    HeaderMap::new(),
                    json!({ "success": true, "data": { "id": id, "deleted": true } }),
                ));
            }
            let rows = db.query(&statement, &values).await.map_err(db_error)?;
            let row = rows_json(entity, &rows).into_iter().next().ok_or_else(missing)?;
            Ok(answer(StatusCode::OK, HeaderMap::new(), json!({ "success": true, "data": row })))
        }
    }
}

fn answer(status: StatusCode, headers: HeaderMap, envelope: Value) -> Answer {
    Answer { status, headers, body: Bytes::from(envelope.to_string()) }
}

/// The owner whose rows the caller is confined to: none when rows have no
/// owner or the caller holds `all_rows_scope`; refused when rows belong to
/// users and the caller is none (a key made without a user).
fn confinement(entity: &Entity, principal: &Principal) -> Result<Option<String>, ApiError> {
    let e = &entity.config;
    if e.owner.is_none() || e.all_rows_scope.as_ref().is_some_and(|s| principal.scopes.contains(s)) {
        return Ok(None);
    }
    match &principal.user_id {
        Some(user) => Ok(Some(user.clone())),
        None => Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "rows of {} belong to users, and this caller is none: use a session, or an API key made with --user",
                e.name
            ),
        )),
    }
}

/// The route's id, a whole number.
fn id(entity: &Entity, params: &[(String, String)]) -> Result<i64, ApiError> {
    let raw = params.iter().find(|(k, _)| k == "id").map(|(_, v)| v.as_str()).unwrap_or("");
    raw.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("`{raw}` is not an id of {}: ids are whole numbers", entity.config.name),
        )
    })
}

/// The checked body's fields (the schema let only declared ones through).
fn body_fields(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::new(ErrorCode::BadRequest, "the body is a JSON object of the entity's fields")),
    }
}

/// A JSON value of a declared field (the schema checked its type), as bound.
fn to_value(entity: &Entity, field: &str, v: &Value) -> Result<wit::Value, ApiError> {
    let refuse = |why: &str| {
        ApiError::new(ErrorCode::ValidationFailed, "the request body is invalid")
            .with_details(json!({ format!("/{field}"): why }))
    };
    Ok(match (entity.config.fields.get(field).map(|f| f.kind), v) {
        (_, Value::Null) => wit::Value::Null,
        (Some(FieldType::Boolean), Value::Bool(b)) => wit::Value::Boolean(*b),
        // JSON's 2.0 is a whole number too; one past 64 bits is not stored.
        (Some(FieldType::Integer), Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => wit::Value::Integer(i),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => wit::Value::Integer(f as i64),
            _ => return Err(refuse("must be a whole number within 64 bits")),
        },
        (Some(FieldType::Number), Value::Number(n)) => {
            wit::Value::Real(n.as_f64().ok_or_else(|| refuse("must be a number within 64 bits"))?)
        }
        // Postgres refuses NUL in text: a 400 here, never a 500 there.
        (_, Value::String(s)) if s.contains('\0') => return Err(refuse("may not hold a NUL character")),
        (_, Value::String(s)) => wit::Value::Text(s.clone()),
        _ => return Err(refuse("is not of the field's type")),
    })
}

fn integer(v: &wit::Value) -> i64 {
    match v {
        wit::Value::Integer(i) => *i,
        wit::Value::Real(r) => *r as i64,
        wit::Value::Text(t) => t.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Rows as JSON objects, each column read as its field's type (SQLite keeps
/// booleans as 0 and 1; Postgres's `COUNT` and ids arrive as integers).
fn rows_json(entity: &Entity, rows: &wit::Rows) -> Vec<Value> {
    rows.rows
        .iter()
        .map(|row| {
            let object: Map<String, Value> = rows
                .columns
                .iter()
                .zip(row)
                .map(|(column, v)| {
                    let kind = entity.config.fields.get(column).map(|f| f.kind);
                    let value = match (kind, v) {
                        (_, wit::Value::Null) => Value::Null,
                        (Some(FieldType::Boolean), wit::Value::Integer(i)) => json!(*i != 0),
                        (_, wit::Value::Boolean(b)) => json!(b),
                        (_, wit::Value::Integer(i)) => json!(i),
                        (_, wit::Value::Real(r)) => json!(r),
                        (_, wit::Value::Text(t)) => json!(t),
                        (_, wit::Value::Json(t)) => serde_json::from_str(t).unwrap_or(Value::Null),
                        (_, wit::Value::Blob(b)) => json!(b.len()),
                    };
                    (column.clone(), value)
                })
                .collect();
            Value::Object(object)
        })
        .collect()
}

/// A database failure as the caller sees it. The database's own words go to
/// the tenant's log, not to callers (who may be anyone).
fn db_error(e: wit::DbError) -> ApiError {
    tracing::warn!("entity statement failed: {e:?}");
    let (code, message) = match e {
        wit::DbError::Unavailable(_) | wit::DbError::Timeout => {
            (ErrorCode::ServiceUnavailable, "the tenant's database did not answer; try again shortly")
        }
        wit::DbError::Constraint(_) => (ErrorCode::Conflict, "a constraint of the table refused the change"),
        wit::DbError::TooLarge(_) => {
            (ErrorCode::BadRequest, "the page is over the database's result limit; ask for a smaller limit")
        }
        _ => (
            ErrorCode::InternalError,
            "the entity's table does not answer as declared (was it changed by a migration?); \
             the tenant's log has the database's words",
        ),
    };
    ApiError::new(code, message)
}

/// A list call's query, read and checked.
struct Page {
    number: u64,
    limit: u64,
    sort: String,
    descending: bool,
    /// Column → the values it may equal.
    filters: Vec<(String, Vec<wit::Value>)>,
}

impl Page {
    fn parse(entity: &Entity, query: &[(String, String)]) -> Result<Self, ApiError> {
        let e = &entity.config;
        let mut problems: Map<String, Value> = Map::new();
        let mut page =
            Page { number: 1, limit: DEFAULT_LIMIT, sort: "id".into(), descending: false, filters: Vec::new() };
        let whole = |v: &str, least: u64, most: u64| v.parse::<u64>().ok().filter(|n| (least..=most).contains(n));
        for (key, raw) in query {
            match key.as_str() {
                "page" => match whole(raw, 1, MAX_PAGE) {
                    Some(n) => page.number = n,
                    None => drop(problems.insert(key.clone(), json!(format!("a whole number from 1 to {MAX_PAGE}")))),
                },
                "limit" => match whole(raw, 1, MAX_LIMIT) {
                    Some(n) => page.limit = n,
                    None => drop(problems.insert(key.clone(), json!(format!("a whole number from 1 to {MAX_LIMIT}")))),
                },
                "sort" => {
                    let (descending, name) = match raw.strip_prefix('-') {
                        Some(n) => (true, n),
                        None => (false, raw.as_str()),
                    };
                    if entity.sortable(name) {
                        (page.sort, page.descending) = (name.to_string(), descending);
                    } else {
                        problems.insert(
                            key.clone(),
                            json!(format!(
                                "one of {}, each with - first for descending",
                                entity.sortable_names().join(", ")
                            )),
                        );
                    }
                }
                column => match filter_value(entity, column, raw) {
                    Ok(v) => match page.filters.iter_mut().find(|(c, _)| c == column) {
                        Some((_, values)) if values.len() >= MAX_FILTER_VALUES => {
                            problems.insert(key.clone(), json!(format!("at most {MAX_FILTER_VALUES} values")));
                        }
                        Some((_, values)) => values.push(v),
                        None => page.filters.push((column.to_string(), vec![v])),
                    },
                    Err(why) => drop(problems.insert(key.clone(), json!(why))),
                },
            }
        }
        if !problems.is_empty() {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                format!("the query of a {} list is invalid: it takes page, limit, sort and a field per filter", e.name),
            )
            .with_details(Value::Object(problems)));
        }
        Ok(page)
    }
}

/// A filter's value, of its column's type.
fn filter_value(entity: &Entity, column: &str, raw: &str) -> Result<wit::Value, String> {
    let e = &entity.config;
    let kind = match e.fields.get(column) {
        Some(f) => f.kind,
        None if column == "id" => FieldType::Integer,
        None if e.owner.as_deref() == Some(column) => FieldType::String,
        None => {
            return Err(format!("is not a field of {}; filter by {}", e.name, entity.filterable_names().join(", ")));
        }
    };
    let bad = || format!("must be a {}", kind.json_type());
    match kind {
        FieldType::String if raw.contains('\0') => Err("may not hold a NUL character".into()),
        FieldType::String => Ok(wit::Value::Text(raw.to_string())),
        FieldType::Integer => raw.parse().map(wit::Value::Integer).map_err(|_| bad()),
        FieldType::Number => raw.parse::<f64>().ok().filter(|f| f.is_finite()).map(wit::Value::Real).ok_or_else(bad),
        FieldType::Boolean => match raw {
            "true" => Ok(wit::Value::Boolean(true)),
            "false" => Ok(wit::Value::Boolean(false)),
            _ => Err("must be true or false".into()),
        },
    }
}
