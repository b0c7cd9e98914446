//! Whether an answer is what a test expects: JSON as a subset (every key the
//! test names, recursively; arrays element by element, of the same length),
//! headers by name in any case. Each mismatch says where and what.

use serde_json::Value;

/// `Ok` if `actual` contains `expected`; else where it differs, as a JSON pointer.
pub(super) fn json_subset(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                let here = format!("{at}/{key}");
                match got.get(key) {
                    Some(v) => json_subset(value, v, &here)?,
                    None => return Err(format!("{here}: missing (expected {value})")),
                }
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                return Err(format!("{}: {} items, expected {}", pointer(at), got.len(), want.len()));
            }
            want.iter().zip(got).enumerate().try_for_each(|(i, (w, g))| json_subset(w, g, &format!("{at}/{i}")))
        }
        // 1 and 1.0 are the same number to a test author.
        (Value::Number(w), Value::Number(g)) if w.as_f64() == g.as_f64() => Ok(()),
        (w, g) if w == g => Ok(()),
        (w, g) => Err(format!("{}: {g}, expected {w}", pointer(at))),
    }
}

fn pointer(at: &str) -> &str {
    if at.is_empty() { "the body" } else { at }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_subset_matches_and_a_mismatch_says_where() {
        let got = json!({"success": true, "data": {"id": 1, "tags": ["a", "b"], "extra": {"x": 1}}});
        assert!(json_subset(&json!({"data": {"id": 1.0}}), &got, "").is_ok());
        assert!(json_subset(&json!({"data": {"tags": ["a", "b"]}}), &got, "").is_ok());
        assert_eq!(json_subset(&json!({"data": {"id": 2}}), &got, "").unwrap_err(), "/data/id: 1, expected 2");
        assert_eq!(
            json_subset(&json!({"data": {"name": "x"}}), &got, "").unwrap_err(),
            "/data/name: missing (expected \"x\")"
        );
        assert_eq!(
            json_subset(&json!({"data": {"tags": ["a"]}}), &got, "").unwrap_err(),
            "/data/tags: 2 items, expected 1"
        );
        assert_eq!(json_subset(&json!([1]), &json!({"a": 1}), "").unwrap_err(), "the body: {\"a\":1}, expected [1]");
    }
}
