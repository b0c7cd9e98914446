//! Request validation against JSON Schemas compiled once at load time: the
//! body (415 if a JSON endpoint is sent another type, 400 INVALID_JSON if it
//! does not parse, 400 VALIDATION_FAILED with a JSON pointer → message map)
//! and the query parameters (coerced to the types the schema declares).
//! Defaults the schema declares are filled in before the guest sees the body.
//!
//! Bodies are checked in one pass over their bytes (`streaming_schema`), at a
//! few milliseconds of CPU per MiB, whoever sends them. A schema using keywords
//! outside that subset (`$ref`, `oneOf`, …) is checked on a parsed tree instead,
//! about ten times the cost; loading such a schema logs it.

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
    /// The one-pass check, or why the schema needs a tree.
    one_pass: Result<streaming_schema::Plan, streaming_schema::Unsupported>,
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
        let document = Self::read_document(path)?;
        Self::compile(document).map_err(|e| format!("{} is not a valid JSON Schema: {e}", path.display()))
    }

    /// Reads a schema file as JSON, without compiling it (a schema the
    /// platform only documents, never checks: `openapi.response_schema`).
    pub fn read_document(path: &Path) -> Result<Value, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
    }

    /// The schema as written.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Compiles a schema document.
    pub fn compile(document: Value) -> Result<Self, String> {
        let validator =
            jsonschema::options().should_validate_formats(true).build(&document).map_err(|e| e.to_string())?;
        let one_pass = streaming_schema::Plan::compile(&document);
        Ok(Self { validator, one_pass, document })
    }

    /// Why bodies are checked on a parsed tree rather than in one pass, if they are.
    pub fn needs_tree(&self) -> Option<&streaming_schema::Unsupported> {
        self.one_pass.as_ref().err()
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
    let Ok(plan) = &schema.one_pass else { return body_on_a_tree(schema, body) };
    let report = plan.check(body, MAX_REPORTED_ERRORS).map_err(invalid_json)?;
    if !report.is_valid() {
        let mut by_pointer: BTreeMap<String, String> = BTreeMap::new();
        for v in report.violations {
            by_pointer.entry(v.pointer).and_modify(|m| m.push_str(&format!("; {}", v.message))).or_insert(v.message);
        }
        return Err(
            ApiError::new(ErrorCode::ValidationFailed, "the request body is invalid").with_details(json!(by_pointer))
        );
    }
    if report.defaults_missing {
        return Ok(Bytes::from(plan.fill_defaults(body).map_err(invalid_json)?));
    }
    Ok(body.clone())
}

/// The same check for a schema outside the one-pass subset: parse, validate the tree, fill it.
fn body_on_a_tree(schema: &Schema, body: &Bytes) -> Result<Bytes, ApiError> {
    let mut value: Value = serde_json::from_slice(body).map_err(invalid_json)?;
    if let Some(details) = schema.errors(&value) {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "the request body is invalid").with_details(details));
    }
    if fill_defaults(&schema.document, &mut value) {
        return Ok(Bytes::from(serde_json::to_vec(&value).expect("a Value always serialises")));
    }
    Ok(body.clone())
}

fn invalid_json(e: serde_json::Error) -> ApiError {
    ApiError::new(ErrorCode::InvalidJson, format!("the request body is not valid JSON: {e}"))
        .with_details(json!({ "line": e.line(), "column": e.column() }))
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

/// Fills `default`s of object properties that are absent, recursively through
/// `properties`, `items` and `additionalProperties` (as the one pass does);
/// true if anything changed.
fn fill_defaults(schema: &Value, value: &mut Value) -> bool {
    let mut changed = false;
    match value {
        Value::Object(obj) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|s| s.is_object());
            for (name, child) in obj.iter_mut() {
                if let Some(sub) = props.and_then(|p| p.get(name)).or(additional) {
                    changed |= fill_defaults(sub, child);
                }
            }
            for (name, prop) in props.into_iter().flatten() {
                if !obj.contains_key(name)
                    && let Some(default) = prop.get("default")
                {
                    obj.insert(name.clone(), default.clone());
                    changed = true;
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items").filter(|s| s.is_object()) {
                for item in items {
                    changed |= fill_defaults(sub, item);
                }
            }
        }
        _ => {}
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
    fn defaults_reach_into_items_and_the_tree_path_agrees() {
        let document = json!({
            "type": "object",
            "properties": {"tasks": {"type": "array", "items": {
                "type": "object", "required": ["title"],
                "properties": {"title": {"type": "string"}, "status": {"enum": ["todo", "done"], "default": "todo"}}
            }}}
        });
        // The same schema with a keyword outside the one-pass subset takes the tree path.
        let mut tree_document = document.clone();
        tree_document["properties"]["tasks"]["items"]["not"] = json!({"required": ["forbidden"]});
        let (one_pass, tree) = (Schema::compile(document).unwrap(), Schema::compile(tree_document).unwrap());
        assert!(one_pass.needs_tree().is_none());
        assert_eq!(tree.needs_tree().unwrap().keyword, "not");
        let sent = Bytes::from(r#"{"tasks":[{"title":"a"},{"title":"b","status":"done"}]}"#);
        let expected = json!({"tasks": [{"title": "a", "status": "todo"}, {"title": "b", "status": "done"}]});
        for schema in [&one_pass, &tree] {
            let out: Value = serde_json::from_slice(&body(schema, &json_headers(), &sent).unwrap()).unwrap();
            assert_eq!(out, expected);
            let e = body(schema, &json_headers(), &Bytes::from(r#"{"tasks":[{"status":"late"}]}"#)).unwrap_err();
            let d = e.details.unwrap();
            assert!(d["/tasks/0"].as_str().unwrap().contains("\"title\" is a required property"), "{d}");
            assert!(d["/tasks/0/status"].as_str().unwrap().contains("is not one of"), "{d}");
        }
    }

    #[test]
    fn a_huge_failing_value_is_not_echoed_back() {
        let huge = format!(r#"{{"prompt":"{}"}}"#, "p".repeat(100_000));
        let e = body(&schema(), &json_headers(), &Bytes::from(huge)).unwrap_err();
        let message = e.details.unwrap()["/prompt"].as_str().unwrap().to_owned();
        assert!(message.len() < 120 && message.ends_with("is longer than 1000 characters"), "{message}");
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
