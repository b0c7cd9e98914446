//! `[[entity]]` in an app's manifest: a table whose create, read, update,
//! delete and list calls the platform serves itself, behind the gate, with
//! no guest (`entities/`). Checked here whole: names, field types, defaults
//! and choices that fit their type, an owner column, and the gate's keys.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::policy::{AuthMode, EndpointPolicy, Problem};
use super::rate_limit::{self, RawRules};

/// Fields an entity may declare, at most: a table a person designs, not one
/// a tenant grows without bound (each is a column and a query parameter).
pub(crate) const MAX_FIELDS: usize = 64;
/// Entities one app may declare, at most (five routes each).
pub(crate) const MAX_ENTITIES: usize = 16;
/// The longest text a string field takes when it does not say.
const DEFAULT_MAX_LENGTH: u32 = 10_000;
/// Names no field may have: the columns every entity has, and a list's own
/// query parameters (a field of that name could not be filtered on).
pub(super) const RESERVED: [&str; 6] = ["id", "created_at", "updated_at", "page", "limit", "sort"];

/// One entity, checked.
#[derive(Debug, Clone)]
pub struct EntityConfig {
    /// Its position in the manifest, for messages (`entity[1]`).
    pub index: usize,
    /// The table and the path segment: `/api/v1/{name}`.
    pub name: String,
    /// Its fields, by name.
    pub fields: BTreeMap<String, Field>,
    /// The column holding the creating caller's user id, if rows belong to
    /// users: a caller then sees and changes only its own rows.
    pub owner: Option<String>,
    /// A scope whose holders see and change every row, whoever owns it.
    pub all_rows_scope: Option<String>,
    /// Scopes needed to create, change or delete (beside `policy.scopes`).
    pub write_scopes: Vec<String>,
    /// The gate's keys: auth (required unless it says), scopes, rate limits.
    pub policy: EndpointPolicy,
}

/// One field: a column, checked on the way in.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its type.
    pub kind: FieldType,
    /// A create must give it (or it has a default).
    pub required: bool,
    /// Filled in on create when not given.
    pub default: Option<serde_json::Value>,
    /// The only values it may take.
    pub choices: Option<Vec<serde_json::Value>>,
    /// For strings: the most characters.
    pub max_length: u32,
}

/// A field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Text.
    String,
    /// A whole number (64 bits).
    Integer,
    /// A number.
    Number,
    /// True or false.
    Boolean,
}

impl FieldType {
    /// Its JSON Schema `type`.
    pub fn json_type(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
        }
    }

    /// Whether `value` is of this type.
    pub fn admits(self, value: &serde_json::Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => value.is_i64(),
            Self::Number => value.is_number(),
            Self::Boolean => value.is_boolean(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntity {
    name: String,
    #[serde(default)]
    fields: BTreeMap<String, RawField>,
    owner: Option<String>,
    all_rows_scope: Option<String>,
    #[serde(default)]
    write_scopes: Vec<String>,
    auth: Option<AuthMode>,
    #[serde(default)]
    scopes: Vec<String>,
    rate_limit: Option<RawRules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(rename = "type")]
    kind: FieldType,
    #[serde(default)]
    required: bool,
    default: Option<toml::Value>,
    #[serde(rename = "enum")]
    choices: Option<Vec<toml::Value>>,
    max_length: Option<u32>,
}

/// Whether `name` may name an entity, a field or the owner column: a plain
/// SQL identifier (lower-case letters, digits, `_`, starting with a letter),
/// at most 40, so it is always safe to quote into a statement; never with
/// `__` (the platform's own index names have it) nor a database's own prefix.
pub(super) fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && name.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !["pg_", "sqlite_", "information_schema"].iter().any(|p| name.starts_with(p))
}

/// `[[entity]]` entries, checked. `Problem`: (key, what is wrong and the fix).
pub(super) fn parse_entities(raw: Vec<RawEntity>) -> Result<Vec<EntityConfig>, Problem> {
    if raw.len() > MAX_ENTITIES {
        return Err(("entity".into(), format!("declares {} entities; an app may declare {MAX_ENTITIES}", raw.len())));
    }
    let mut out: Vec<EntityConfig> = Vec::with_capacity(raw.len());
    for (index, e) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("entity[{index}].{k}");
        if !valid_identifier(&e.name) {
            return Err((
                key("name"),
                format!("`{}` must be lower-case letters, digits and _, starting with a letter, at most 40", e.name),
            ));
        }
        if out.iter().any(|o| o.name == e.name) {
            return Err((key("name"), format!("`{}` is declared twice", e.name)));
        }
        if e.fields.is_empty() || e.fields.len() > MAX_FIELDS {
            return Err((key("fields"), format!("an entity has 1 to {MAX_FIELDS} fields, not {}", e.fields.len())));
        }
        let mut fields = BTreeMap::new();
        for (name, f) in e.fields {
            let at = key(&format!("fields.{name}"));
            fields.insert(name.clone(), field(&name, f).map_err(|p| (at, p))?);
        }
        if let Some(owner) = &e.owner {
            if !valid_identifier(owner) || RESERVED.contains(&owner.as_str()) || fields.contains_key(owner) {
                return Err((
                    key("owner"),
                    format!(
                        "`{owner}` must be a column name of its own (letters, digits, _), not a field nor id, \
                         created_at or updated_at: the platform fills it with the caller's user id"
                    ),
                ));
            }
        } else if e.all_rows_scope.is_some() {
            return Err((key("all_rows_scope"), "needs `owner`: without it, every caller sees every row".into()));
        }
        let auth = e.auth.unwrap_or(AuthMode::Required);
        if auth == AuthMode::None && (e.owner.is_some() || !e.scopes.is_empty() || !e.write_scopes.is_empty()) {
            return Err((key("auth"), "is \"none\", but owners and scopes need a known caller".into()));
        }
        let rate_limits = rate_limit::rules(&e.rate_limit, &format!("entity[{index}]"))?;
        let policy = EndpointPolicy { auth, scopes: e.scopes, rate_limits, ..Default::default() };
        out.push(EntityConfig {
            index,
            name: e.name,
            fields,
            owner: e.owner,
            all_rows_scope: e.all_rows_scope,
            write_scopes: e.write_scopes,
            policy,
        });
    }
    Ok(out)
}

fn field(name: &str, f: RawField) -> Result<Field, String> {
    if !valid_identifier(name) || RESERVED.contains(&name) {
        return Err(format!(
            "`{name}` must be lower-case letters, digits and _, starting with a letter, and not id, created_at or updated_at"
        ));
    }
    let json = |v: toml::Value| serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
    let default = f.default.map(json);
    let choices: Option<Vec<serde_json::Value>> = f.choices.map(|c| c.into_iter().map(json).collect());
    if f.max_length.is_some() && f.kind != FieldType::String {
        return Err("max_length is for string fields".into());
    }
    if let Some(d) = &default {
        if !f.kind.admits(d) {
            return Err(format!("default {d} is not a {}", f.kind.json_type()));
        }
        if choices.as_ref().is_some_and(|c| !c.contains(d)) {
            return Err(format!("default {d} is not one of its enum"));
        }
    }
    if let Some(c) = &choices {
        if c.is_empty() || c.len() > 100 {
            return Err("enum takes 1 to 100 values".into());
        }
        if let Some(bad) = c.iter().find(|v| !f.kind.admits(v)) {
            return Err(format!("enum value {bad} is not a {}", f.kind.json_type()));
        }
    }
    Ok(Field {
        kind: f.kind,
        required: f.required,
        default,
        choices,
        max_length: f.max_length.unwrap_or(DEFAULT_MAX_LENGTH),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<EntityConfig>, Problem> {
        #[derive(Deserialize)]
        struct File {
            entity: Vec<RawEntity>,
        }
        parse_entities(toml::from_str::<File>(text).unwrap().entity)
    }

    #[test]
    fn a_checked_entity() {
        let e = parse(
            r#"[[entity]]
name = "tasks"
owner = "owner_id"
all_rows_scope = "admin"
write_scopes = ["write"]
fields.title = { type = "string", required = true, max_length = 200 }
fields.done = { type = "boolean", default = false }
fields.priority = { type = "string", enum = ["low", "high"], default = "low" }
fields.estimate = { type = "number" }
"#,
        )
        .unwrap();
        let t = &e[0];
        assert_eq!(
            (t.name.as_str(), t.owner.as_deref(), t.policy.auth),
            ("tasks", Some("owner_id"), AuthMode::Required)
        );
        assert_eq!(t.fields["title"].max_length, 200);
        assert_eq!(t.fields["done"].default, Some(serde_json::json!(false)));
        assert_eq!(t.fields["priority"].choices.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn what_is_refused_names_its_key() {
        let bad = |fields: &str, extra: &str| {
            parse(&format!("[[entity]]\nname = \"tasks\"\n{extra}\n[entity.fields]\n{fields}\n")).unwrap_err().0
        };
        assert_eq!(bad("id = { type = \"integer\" }", ""), "entity[0].fields.id");
        assert_eq!(bad("\"Title\" = { type = \"string\" }", ""), "entity[0].fields.Title");
        assert_eq!(bad("\"a;drop\" = { type = \"string\" }", ""), "entity[0].fields.a;drop");
        assert_eq!(bad("n = { type = \"integer\", default = \"x\" }", ""), "entity[0].fields.n");
        assert_eq!(bad("n = { type = \"integer\", enum = [1, 2], default = 3 }", ""), "entity[0].fields.n");
        assert_eq!(bad("n = { type = \"integer\", max_length = 3 }", ""), "entity[0].fields.n");
        assert_eq!(bad("n = { type = \"integer\" }", "owner = \"n\""), "entity[0].owner");
        assert_eq!(bad("n = { type = \"integer\" }", "all_rows_scope = \"admin\""), "entity[0].all_rows_scope");
        assert_eq!(bad("n = { type = \"integer\" }", "auth = \"none\"\nowner = \"who\""), "entity[0].auth");
        assert!(parse("[[entity]]\nname = \"Tasks\"\nfields.a = { type = \"string\" }\n").is_err());
        assert!(parse("[[entity]]\nname = \"t\"\n").is_err(), "no fields");
        for name in ["pg_class", "sqlite_master", "a__b"] {
            assert!(
                parse(&format!("[[entity]]\nname = \"{name}\"\nfields.a = {{ type = \"string\" }}\n")).is_err(),
                "{name}"
            );
        }
        assert_eq!(bad("page = { type = \"integer\" }", ""), "entity[0].fields.page");
    }
}
