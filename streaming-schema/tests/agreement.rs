//! The one-pass check and `jsonschema` agree: for each schema in the subset,
//! thousands of generated bodies get the same verdict and the same set of
//! failing pointers from both, and filling defaults gives what filling them
//! into a parsed tree gives.

use serde_json::{Value, json};
use streaming_schema::Plan;

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }

    /// A value near what the schema names: its property names, boundary numbers, emails, unicode.
    fn value(&mut self, names: &[String], depth: usize) -> Value {
        let scalars = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(1),
            json!(-1),
            json!(1.0),
            json!(0.5),
            json!(9.99),
            json!(10),
            json!(100),
            json!(500),
            json!(501),
            json!(1e20),
            json!(-7.25),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(""),
            json!("x"),
            json!("hello world"),
            json!("a@b.co"),
            json!("not an email"),
            json!("todo"),
            json!("completed"),
            json!("high"),
            json!("2026-12-01"),
            json!("2026-12-01T10:00:00Z"),
            json!("ÿ€𝄞 ünïcödé"),
            json!("tab\tand \"quotes\" and \\ and /"),
            Value::String("y".repeat(101)),
            Value::String("é".repeat(200)),
        ];
        let roll = self.below(10);
        if depth >= 3 || roll < 5 {
            return self.pick(&scalars).clone();
        }
        if roll < 7 {
            let n = self.below(5);
            return Value::Array((0..n).map(|_| self.value(names, depth + 1)).collect());
        }
        let n = self.below(6);
        let mut map = serde_json::Map::new();
        for _ in 0..n {
            let key = if !names.is_empty() && self.below(4) != 0 {
                self.pick(names).clone()
            } else {
                self.pick(&["extra".to_string(), "a/b~c".to_string(), "".to_string()]).clone()
            };
            map.insert(key, self.value(names, depth + 1));
        }
        Value::Object(map)
    }
}

/// Every property name a schema mentions, so generated objects hit them.
fn names(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "properties"
                    && let Value::Object(props) = v
                {
                    out.extend(props.keys().cloned());
                }
                if k == "required"
                    && let Value::Array(req) = v
                {
                    out.extend(req.iter().filter_map(|r| r.as_str().map(String::from)));
                }
                names(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| names(i, out)),
        _ => {}
    }
}

/// Fills defaults into a tree the way the JSON Schema reading of `default` does, to compare with the one pass.
fn fill_tree(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(obj) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, v) in obj.iter_mut() {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => fill_tree(s, v),
                    None => {
                        if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                            fill_tree(s, v)
                        }
                    }
                }
            }
            for (k, s) in props.into_iter().flatten() {
                if !obj.contains_key(k)
                    && let Some(d) = s.get("default")
                {
                    obj.insert(k.clone(), d.clone());
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items").filter(|s| s.is_object()) {
                items.iter_mut().for_each(|i| fill_tree(s, i));
            }
        }
        _ => {}
    }
}

fn schemas() -> Vec<Value> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out: Vec<Value> = ["endpoints/ai-generate", "endpoints/contact", "endpoints/task-import"]
        .iter()
        .map(|d| serde_json::from_str(&std::fs::read_to_string(repo.join(d).join("schema.json")).unwrap()).unwrap())
        .collect();
    out.push(
        serde_json::from_str(&std::fs::read_to_string(repo.join("tests/fixtures/search-query.schema.json")).unwrap())
            .unwrap(),
    );
    out.extend([
        json!({"type": "array", "items": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "maxLength": 200}, "done": {"type": "boolean"}}}}),
        json!({"type": ["string", "null"], "enum": ["todo", "completed", null, 1]}),
        json!({"type": "object", "properties": {"status": {"enum": ["todo", "in_progress", "completed"], "default": "todo"}, "priority": {"type": "string", "default": "medium"}, "n": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100, "multipleOf": 0.5}}, "additionalProperties": {"type": ["integer", "boolean"], "minimum": 1}}),
        json!({"type": "object", "required": ["extra"], "properties": {"x": false, "y": true, "": {"const": 1}}, "additionalProperties": false}),
        json!({"items": {"type": "string", "pattern": "^[a-z ]+$", "minLength": 2}, "minItems": 1, "maxItems": 3}),
        json!({"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"when": {"format": "date"}, "at": {"format": "date-time"}, "a/b~c": {"type": "integer", "maximum": 10.5}}}),
        json!({"type": "integer", "minimum": -1.5, "maximum": 1e19}),
        json!(false),
        json!(true),
    ]);
    out
}

#[test]
fn the_one_pass_check_and_jsonschema_agree_on_generated_bodies() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut valid, mut invalid) = (0, 0);
    for schema in schemas() {
        let plan = Plan::compile(&schema).unwrap_or_else(|e| panic!("{schema} should be in the subset: {e}"));
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
        let mut names_in = Vec::new();
        names(&schema, &mut names_in);
        for _ in 0..4000 {
            let value = g.value(&names_in, 0);
            let body = serde_json::to_vec(&value).unwrap();
            let report = plan.check(&body, usize::MAX).unwrap();
            let expected = validator.is_valid(&value);
            assert_eq!(report.is_valid(), expected, "schema {schema}\nbody {value}\nreport {report:?}");
            let mut ours: Vec<String> = report.violations.iter().map(|v| v.pointer.clone()).collect();
            let mut theirs: Vec<String> =
                validator.iter_errors(&value).map(|e| e.instance_path().to_string()).collect();
            ours.sort();
            ours.dedup();
            theirs.sort();
            theirs.dedup();
            assert_eq!(ours, theirs, "schema {schema}\nbody {value}");
            if expected {
                valid += 1;
                let mut tree = value.clone();
                fill_tree(&schema, &mut tree);
                let filled: Value = serde_json::from_slice(&plan.fill_defaults(&body).unwrap()).unwrap();
                assert_eq!(filled, tree, "schema {schema}\nbody {value}");
                assert_eq!(report.defaults_missing, tree != value, "schema {schema}\nbody {value}");
            } else {
                invalid += 1;
            }
        }
    }
    // The generated bodies land on both sides, in numbers.
    assert!(valid > 5000 && invalid > 5000, "{valid} valid, {invalid} invalid");
}

#[test]
fn keywords_outside_the_subset_are_named() {
    for (schema, keyword) in [
        (json!({"oneOf": [{"type": "string"}]}), "oneOf"),
        (json!({"properties": {"a": {"$ref": "#/$defs/x"}}}), "$ref"),
        (json!({"enum": [{"a": 1}]}), "enum of objects or arrays"),
        (json!({"items": [{"type": "string"}]}), "items"),
        (json!({"$schema": "http://json-schema.org/draft-04/schema#"}), "$schema (this draft)"),
        (
            json!({"minimum": 1, "exclusiveMinimum": true}),
            "a limit that is not a number (draft 4's boolean exclusive limits)",
        ),
        (json!({"nullable": true}), "nullable"),
    ] {
        let e = Plan::compile(&schema).unwrap_err();
        assert_eq!(e.keyword, keyword, "{schema}");
    }
    assert_eq!(Plan::compile(&json!({"properties": {"a": {"oneOf": []}}})).unwrap_err().at, "/properties/a/oneOf");
}

#[test]
fn bodies_that_do_not_parse_are_errors_whatever_else_is_wrong() {
    let plan = Plan::compile(&json!({"type": "string"})).unwrap();
    assert!(plan.check(b"{\"a\": ", 20).is_err());
    assert!(plan.check(b"1 2", 20).is_err());
    assert!(plan.check(b"[1,]", 20).is_err());
    // Values the schema does not reach are skipped without recursion, and the
    // schema's own depth bounds the recursion of the check: no nesting overflows the stack.
    let nested = "[".repeat(100_000) + &"]".repeat(100_000);
    assert!(!plan.check(nested.as_bytes(), 20).unwrap().is_valid());
    assert!(plan.check(b"  \"fine\"  ", 20).unwrap().is_valid());
}

#[test]
fn reports_stop_at_the_limit_and_show_values_abbreviated() {
    let plan = Plan::compile(&json!({"type": "array", "items": {"type": "string", "maxLength": 3}})).unwrap();
    let body: Vec<String> = (0..1000).map(|_| "z".repeat(10_000)).collect();
    let report = plan.check(&serde_json::to_vec(&body).unwrap(), 20).unwrap();
    assert_eq!(report.violations.len(), 20);
    assert_eq!(report.violations[19].pointer, "/19");
    assert!(report.violations[0].message.len() < 120, "{}", report.violations[0].message);
    assert!(report.violations[0].message.ends_with("is longer than 3 characters"));
}

#[test]
fn an_object_of_many_unknown_keys_gets_a_short_message() {
    let plan = Plan::compile(&json!({"type": "object", "additionalProperties": false})).unwrap();
    let keys: serde_json::Map<String, Value> =
        (0..50_000).map(|i| (format!("{}{i}", "k".repeat(200)), json!(1))).collect();
    let report = plan.check(&serde_json::to_vec(&keys).unwrap(), 20).unwrap();
    assert_eq!(report.violations.len(), 1);
    let message = &report.violations[0].message;
    assert!(message.len() < 600, "{} bytes: {message}", message.len());
    assert!(message.ends_with("and 49995 more were unexpected)"), "{message}");
}

#[test]
fn duplicate_keys_are_each_checked() {
    // A parser that keeps the first and one that keeps the last must both see a valid value.
    let plan = Plan::compile(&json!({"properties": {"role": {"enum": ["user"]}}})).unwrap();
    assert!(!plan.check(br#"{"role":"admin","role":"user"}"#, 20).unwrap().is_valid());
    assert!(!plan.check(br#"{"role":"user","role":"admin"}"#, 20).unwrap().is_valid());
}
