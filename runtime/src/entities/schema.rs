//! The JSON Schemas an entity's bodies are checked against, generated from
//! its fields: a create names only declared fields, each of its type (and
//! among its `enum`, and within `max_length`), with every required field
//! that has no default, and the defaults filled in; a change names at least
//! one declared field and fills nothing. The gate checks them like any
//! endpoint's `schema`, and the OpenAPI document shows them.

use serde_json::{Map, Value, json};

use crate::config::{EntityConfig, Field, FieldType};

fn property(field: &Field, with_default: bool) -> Value {
    let mut p = Map::new();
    p.insert("type".into(), json!(field.kind.json_type()));
    if field.kind == FieldType::String {
        p.insert("maxLength".into(), json!(field.max_length));
    }
    if let Some(choices) = &field.choices {
        p.insert("enum".into(), json!(choices));
    }
    if with_default && let Some(d) = &field.default {
        p.insert("default".into(), d.clone());
    }
    Value::Object(p)
}

/// The body of a create.
pub fn create(e: &EntityConfig) -> Value {
    let properties: Map<String, Value> = e.fields.iter().map(|(n, f)| (n.clone(), property(f, true))).collect();
    let required: Vec<&String> =
        e.fields.iter().filter(|(_, f)| f.required && f.default.is_none()).map(|(n, _)| n).collect();
    json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
}

/// The body of a change.
pub fn change(e: &EntityConfig) -> Value {
    let properties: Map<String, Value> = e.fields.iter().map(|(n, f)| (n.clone(), property(f, false))).collect();
    json!({ "type": "object", "properties": properties, "minProperties": 1, "additionalProperties": false })
}

/// A row as answered: its id, fields (null until set), owner column and times.
pub fn row(e: &EntityConfig) -> Value {
    let nullable = |f: &Field| {
        let mut p = property(f, false);
        p["type"] = json!([f.kind.json_type(), "null"]);
        if let Some(choices) = p.get_mut("enum").and_then(Value::as_array_mut) {
            choices.push(Value::Null);
        }
        p
    };
    let mut properties: Map<String, Value> = e.fields.iter().map(|(n, f)| (n.clone(), nullable(f))).collect();
    properties.insert("id".into(), json!({ "type": "integer" }));
    if let Some(o) = &e.owner {
        properties
            .insert(o.clone(), json!({ "type": ["string", "null"], "description": "the creating caller's user id" }));
    }
    for t in ["created_at", "updated_at"] {
        properties.insert(t.into(), json!({ "type": "integer", "description": "Unix milliseconds" }));
    }
    json!({ "type": "object", "properties": properties })
}

/// A success answer's whole body: the envelope around `data`.
pub fn envelope(data: Value, paged: bool) -> Value {
    let mut properties = json!({ "success": { "const": true }, "data": data });
    if paged {
        let count = json!({ "type": "integer", "minimum": 0 });
        properties["pagination"] = json!({
            "type": "object",
            "properties": { "page": count, "limit": count, "total": count, "totalPages": count },
        });
    }
    json!({ "type": "object", "properties": properties })
}
