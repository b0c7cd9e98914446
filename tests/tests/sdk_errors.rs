//! One table of capability errors for every SDK: `guest-sdk/capability-errors.json`
//! says, for each case of the WIT's `db-error`, `http-error` and `blob-error`, which kind
//! (and so status) and code the endpoint answers. This reads the WIT and the
//! three SDKs' sources and holds each to that table, so a case added to the
//! WIT, or a mapping changed in one SDK, fails here until all agree.

use std::collections::BTreeMap;

use gatehouse_tests::guests::REPO_ROOT;
use serde_json::Value;

/// Case → (kind, code).
type Table = BTreeMap<String, (String, String)>;

fn read(relative: &str) -> String {
    std::fs::read_to_string(format!("{REPO_ROOT}/{relative}")).unwrap_or_else(|e| panic!("reading {relative}: {e}"))
}

fn truth() -> Value {
    serde_json::from_str(&read("guest-sdk/capability-errors.json")).expect("capability-errors.json is JSON")
}

fn truth_table(variant: &str) -> Table {
    truth()[variant]
        .as_object()
        .unwrap_or_else(|| panic!("capability-errors.json has no {variant}"))
        .iter()
        .map(|(case, v)| (case.clone(), (v["kind"].as_str().unwrap().into(), v["code"].as_str().unwrap().into())))
        .collect()
}

/// The text from `start` to the first `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("`{start}` not found")) + start.len();
    let to = text[from..].find(end).unwrap_or_else(|| panic!("`{end}` not found after `{start}`"));
    &text[from..from + to]
}

/// The first and the last double-quoted strings in `text`.
fn first_and_last_quoted(text: &str) -> (String, String) {
    let quoted: Vec<&str> = text.split('"').skip(1).step_by(2).collect();
    (quoted.first().unwrap_or(&"").to_string(), quoted.last().unwrap_or(&"").to_string())
}

/// `TooManyCalls` → `too-many-calls`.
fn kebab(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The cases of `variant <name> { … }` in a WIT file.
fn wit_cases(file: &str, variant: &str) -> Vec<String> {
    let text = read(file);
    let body = between(&text, &format!("variant {variant} {{"), "}");
    let mut cases: Vec<String> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| l.split(['(', ',']).next().unwrap().trim().to_string())
        .collect();
    cases.sort();
    cases
}

/// The Rust SDK's `impl From<Enum> for Error` arms.
fn rust_table(file: &str, enum_name: &str) -> Table {
    let text = read(file);
    let body = between(&text, &format!("impl From<{enum_name}> for Error {{"), "\n}\n");
    body.split(&format!("{enum_name}::"))
        .skip(1)
        .map(|arm| {
            let variant: String = arm.chars().take_while(|c| c.is_alphanumeric()).collect();
            // `Error::payload_too_large(` is the kind `payload-too-large`.
            let kind = between(arm, "Error::", "(").replace('_', "-");
            let code = between(arm, ".with_code(\"", "\")").to_string();
            (kebab(&variant), (kind, code))
        })
        .collect()
}

/// The Python SDK's `_failure` table entries for one WIT type (`DbError_…`).
fn python_table(prefix: &str) -> Table {
    let text = read("guest-sdk/python/gatehouse/errors.py");
    let table = between(&text, "    table = {", "\n    }\n");
    table
        .split(&format!("\"{prefix}_"))
        .skip(1)
        .map(|entry| {
            let variant = entry.split('"').next().unwrap();
            // The tuple ends at the first `")`: no message holds one.
            let value = &entry[..entry.find("\")").unwrap() + 1];
            let (kind, code) = first_and_last_quoted(&value[value.find('(').unwrap()..]);
            (kebab(variant), (kind, code))
        })
        .collect()
}

/// The JavaScript SDK's `failure` table for one interface (`db`, `http`).
fn js_table(iface: &str) -> Table {
    let text = read("guest-sdk/js/gatehouse.js");
    let tables = between(&text, "const tables = {", "\n  };\n");
    let body = between(tables, &format!("\n    {iface}: {{"), "\n    },");
    body.lines()
        .map(str::trim)
        .filter(|l| l.contains('['))
        .map(|l| {
            let case = l.split(':').next().unwrap().trim().trim_matches('"').to_string();
            let (kind, code) = first_and_last_quoted(&l[l.find('[').unwrap()..]);
            (case, (kind, code))
        })
        .collect()
}

#[test]
fn the_table_covers_every_wit_case_with_a_known_kind() {
    let statuses = truth()["statuses"].clone();
    for (file, variant) in
        [("wit/db.wit", "db-error"), ("wit/http-out.wit", "http-error"), ("wit/blobs.wit", "blob-error")]
    {
        let table = truth_table(variant);
        assert_eq!(table.keys().cloned().collect::<Vec<_>>(), wit_cases(file, variant), "{variant}");
        for (case, (kind, _)) in &table {
            assert!(statuses[kind].is_u64(), "{variant}.{case}: kind `{kind}` has no status");
        }
    }
}

#[test]
fn the_rust_sdk_answers_each_capability_error_as_the_table_says() {
    assert_eq!(rust_table("guest-sdk/src/db.rs", "DbError"), truth_table("db-error"));
    assert_eq!(rust_table("guest-sdk/src/http.rs", "HttpError"), truth_table("http-error"));
    assert_eq!(rust_table("guest-sdk/src/blobs.rs", "BlobError"), truth_table("blob-error"));
}

#[test]
fn the_python_sdk_answers_each_capability_error_as_the_table_says() {
    assert_eq!(python_table("DbError"), truth_table("db-error"));
    assert_eq!(python_table("HttpError"), truth_table("http-error"));
    assert_eq!(python_table("BlobError"), truth_table("blob-error"));
}

#[test]
fn the_javascript_sdk_answers_each_capability_error_as_the_table_says() {
    assert_eq!(js_table("db"), truth_table("db-error"));
    assert_eq!(js_table("http"), truth_table("http-error"));
    assert_eq!(js_table("blobs"), truth_table("blob-error"));
}
