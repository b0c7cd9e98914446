//! Request validation against JSON Schemas compiled once at load time: the
//! body (415 if a JSON endpoint is sent another type, 400 INVALID_JSON if it
//! does not parse, 400 VALIDATION_FAILED with a JSON pointer → message map)
//! and the query parameters (coerced to the types the schema declares).
//! Defaults the schema declares are filled in before the guest sees the body.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ErrorCode};

/// Validation errors reported per request. A body can be built to fail in
/// every item; reporting each would make the gate format (and answer) an
/// error per item for any anonymous caller. The first ones say what to fix.
pub const MAX_REPORTED_ERRORS: usize = 20;

/// A compiled schema and the raw document (for defaults and coercion).
pub struct Schema {
    validator: jsonschema::Validator,
    document: Value,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").finish_non_exhaustive()
    }
}

impl Schema {
    /// Reads and compiles a schema file (draft 2020-12 unless its `$schema` says otherwise).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let document: Value =
            serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        Self::compile(document).map_err(|e| format!("{} is not a valid JSON Schema: {e}", path.display()))
    }

    /// Compiles a schema document.
    pub fn compile(document: Value) -> Result<Self, String> {
        let validator =
            jsonschema::options().should_validate_formats(true).build(&document).map_err(|e| e.to_string())?;
        Ok(Self { validator, document })
    }

    fn errors(&self, instance: &Value) -> Option<Value> {
        // Valid requests are the common case: a yes/no check is much cheaper
        // than collecting errors, which only a failure needs.
        if self.validator.is_valid(instance) {
            return None;
        }
        let mut by_pointer: BTreeMap<String, String> = BTreeMap::new();
        for e in self.validator.iter_errors(instance).take(MAX_REPORTED_ERRORS) {
            let pointer = e.instance_path().to_string();
            let message = e.to_string();
            by_pointer.entry(pointer).and_modify(|m| m.push_str(&format!("; {message}"))).or_insert(message);
        }
        if by_pointer.is_empty() { None } else { Some(json!(by_pointer)) }
    }
}

/// Whether a Content-Type is JSON (`application/json` or `…+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Validates a JSON body; returns it with the schema's defaults filled in.
pub fn body(schema: &Schema, headers: &HeaderMap, body: &Bytes) -> Result<Bytes, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "this endpoint takes a JSON body: send Content-Type: application/json",
        ));
    }
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(ErrorCode::InvalidJson, format!("the request body is not valid JSON: {e}"))
            .with_details(json!({ "line": e.line(), "column": e.column() }))
    })?;
    if let Some(details) = schema.errors(&value) {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "the request body is invalid").with_details(details));
    }
    if fill_defaults(&schema.document, &mut value) {
        return Ok(Bytes::from(serde_json::to_vec(&value).expect("a Value always serialises")));
    }
    Ok(body.clone())
}

/// Validates query parameters, coerced to the types the schema's properties declare.
pub fn query(schema: &Schema, pairs: &[(String, String)]) -> Result<(), ApiError> {
    let props = schema.document.get("properties").and_then(Value::as_object);
    let mut object = Map::new();
    for (k, v) in pairs {
        let ty = props.and_then(|p| p.get(k)).and_then(|p| p.get("type")).and_then(Value::as_str);
        let coerced = match ty {
            Some("integer") => v.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(v.clone())),
            Some("number") => v.parse::<f64>().map(Value::from).unwrap_or_else(|_| Value::String(v.clone())),
            Some("boolean") => match v.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(v.clone()),
            },
            Some("array") => {
                let mut items = object.remove(k).and_then(|x| x.as_array().cloned()).unwrap_or_default();
                items.push(Value::String(v.clone()));
                Value::Array(items)
            }
            _ => Value::String(v.clone()),
        };
        object.insert(k.clone(), coerced);
    }
    match schema.errors(&Value::Object(object)) {
        None => Ok(()),
        Some(details) => {
            Err(ApiError::new(ErrorCode::ValidationFailed, "the query parameters are invalid").with_details(details))
        }
    }
}

/// Fills `default`s of object properties that are absent, recursively; true if anything changed.
fn fill_defaults(schema: &Value, value: &mut Value) -> bool {
    let (Some(props), Some(obj)) = (schema.get("properties").and_then(Value::as_object), value.as_object_mut()) else {
        return false;
    };
    let mut changed = false;
    for (name, prop) in props {
        match obj.get_mut(name) {
            Some(child) => changed |= fill_defaults(prop, child),
            None => {
                if let Some(default) = prop.get("default") {
                    obj.insert(name.clone(), default.clone());
                    changed = true;
                }
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_body_failing_everywhere_reports_a_bounded_number_of_errors() {
        let schema = super::Schema::compile(serde_json::json!({"type": "array", "items": {"type": "string"}})).unwrap();
        let body: Vec<i64> = (0..5000).collect();
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, "application/json".parse().unwrap());
        let e = super::body(&schema, &headers, &bytes::Bytes::from(serde_json::to_vec(&body).unwrap())).unwrap_err();
        assert_eq!(e.details.unwrap().as_object().unwrap().len(), super::MAX_REPORTED_ERRORS);
    }

    use super::*;

    fn schema() -> Schema {
        Schema::compile(json!({
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string", "minLength": 1, "maxLength": 1000},
                "maxTokens": {"type": "integer", "minimum": 10, "maximum": 500, "default": 100},
                "temperature": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.7},
                "email": {"type": "string", "format": "email"}
            }
        }))
        .unwrap()
    }

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        h
    }

    #[test]
    fn valid_bodies_get_defaults() {
        let out = body(&schema(), &json_headers(), &Bytes::from(r#"{"prompt":"hi"}"#)).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, json!({"prompt": "hi", "maxTokens": 100, "temperature": 0.7}));
    }

    #[test]
    fn each_failing_pointer_is_reported() {
        let e = body(&schema(), &json_headers(), &Bytes::from(r#"{"prompt":"","maxTokens":5,"email":"nope"}"#))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        let d = e.details.unwrap();
        assert!(d["/prompt"].is_string() && d["/maxTokens"].is_string() && d["/email"].is_string(), "{d}");
        let e = body(&schema(), &json_headers(), &Bytes::from(r#"{}"#)).unwrap_err();
        assert!(e.details.unwrap()[""].as_str().unwrap().contains("prompt"));
    }

    #[test]
    fn wrong_type_and_malformed_json() {
        let e = body(&schema(), &HeaderMap::new(), &Bytes::from("{}")).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedMediaType);
        let e = body(&schema(), &json_headers(), &Bytes::from("{\"prompt\": ")).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidJson);
        assert!(e.message.contains("EOF"), "{}", e.message);
    }

    #[test]
    fn query_values_are_coerced() {
        let s = Schema::compile(json!({
            "type": "object",
            "properties": {"limit": {"type": "integer", "maximum": 50}, "tag": {"type": "array", "items": {"type": "string"}}},
            "additionalProperties": false
        }))
        .unwrap();
        assert!(
            query(&s, &[("limit".into(), "10".into()), ("tag".into(), "a".into()), ("tag".into(), "b".into())]).is_ok()
        );
        let e = query(&s, &[("limit".into(), "99".into())]).unwrap_err();
        assert!(e.details.unwrap()["/limit"].is_string());
        assert!(query(&s, &[("other".into(), "x".into())]).is_err());
    }
}
