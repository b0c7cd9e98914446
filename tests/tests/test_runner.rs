//! `gatehouse test`: an endpoint author's declarative tests, run against an
//! in-process platform with the real gate, a throwaway database and mock
//! upstreams, as `gatehouse new` scaffolds them and as an app declares them.

use std::path::Path;

use gatehouse_tests::guests;

/// `gatehouse <args>` run in `dir` (no `--config`: the defaults, as a user
/// types it), with the shared build folder so builds are warm.
fn gatehouse_in(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(gatehouse_tests::binary())
        .args(args)
        .current_dir(dir)
        .env("GATEHOUSE_BUILD_DIR", guests::BUILD_DIR)
        .env("GATEHOUSE_CACHE_DIR", Path::new(guests::BUILD_DIR).join("cwasm-cache"))
        .env_remove("GATEHOUSE_DATA_DIR")
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_REDIS_URL")
        .output()
        .expect("running gatehouse");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_new_endpoint_comes_with_a_test_that_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = gatehouse_in(dir.path(), &["new", "greet", "--lang", "python"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("tests/greet.toml"), "{out}");
    let (ok, out, err) = gatehouse_in(dir.path(), &["test"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("✓ tests/greet.toml: greet greets the world"), "{out}");
    assert!(out.contains("✓ tests/greet.toml: greet greets by name"), "{out}");
    assert!(out.trim_end().ends_with("2 passed, 0 failed"), "{out}");
    // The platform's data was thrown away; the author's folder holds only what they wrote.
    assert!(!dir.path().join(".gatehouse/platform.db").exists());
}

const APP_TESTS: &str = r#"
[[mock]]
name = "up"
route = [{ method = "GET", path = "/hello", body = "hi from the mock", headers = { x-upstream = "mock" } }]

[[test]]
name = "fetches through the mock with a key"
request = { path = "/fetch", query = { url = "{{mock.up}}/hello" } }
auth = { scopes = ["read"], user = "ada" }
expect = { status = 200, json = { success = true, data = { status = 200, body = "hi from the mock", server = "mock" } } }

[[test]]
name = "the gate wants a key"
request = { path = "/fetch", query = { url = "{{mock.up}}/hello" } }
expect = { status = 401, json = { code = "UNAUTHORIZED" } }

[[test]]
name = "a key without the scope is refused"
request = { path = "/fetch", query = { url = "{{mock.up}}/hello" } }
auth = { scopes = ["write"] }
expect = { status = 403, json = { code = "INSUFFICIENT_SCOPE" } }

[[test]]
name = "wrong on purpose"
request = { path = "/fetch", query = { url = "{{mock.up}}/nowhere" } }
auth = { scopes = ["read"] }
expect = { json = { data = { status = 200 } } }
"#;

#[test]
fn an_apps_tests_run_through_the_gate_with_mock_upstreams_and_failures_say_why() {
    let app = tempfile::tempdir().unwrap();
    std::fs::copy(guests::FETCHER, app.path().join("fetcher.wasm")).unwrap();
    std::fs::write(
        app.path().join("gatehouse.toml"),
        "[app]\nname = \"fetch\"\n\n[[endpoint]]\nroute = \"GET /fetch\"\ncomponent = \"fetcher.wasm\"\nauth = \"required\"\nscopes = [\"read\"]\n",
    )
    .unwrap();
    std::fs::create_dir(app.path().join("tests")).unwrap();
    std::fs::write(app.path().join("tests/fetch.toml"), APP_TESTS).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let (ok, out, err) = gatehouse_in(elsewhere.path(), &["test", app.path().to_str().unwrap()]);
    assert!(!ok, "a failing test fails the run:\n{out}\n{err}");
    assert!(out.contains("✓ tests/fetch.toml: fetches through the mock with a key"), "{out}");
    assert!(out.contains("✓ tests/fetch.toml: the gate wants a key"), "{out}");
    assert!(out.contains("✓ tests/fetch.toml: a key without the scope is refused"), "{out}");
    assert!(out.contains("✗ tests/fetch.toml: wrong on purpose"), "{out}");
    assert!(out.contains("/data/status: 404, expected 200"), "the failure says where and what:\n{out}");
    assert!(out.trim_end().ends_with("3 passed, 1 failed"), "{out}");
}

#[test]
fn a_broken_test_file_or_none_at_all_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = gatehouse_in(dir.path(), &["test"]);
    assert!(!ok);
    assert!(err.contains("neither gatehouse.toml") && err.contains("platform.toml"), "{err}");
    std::fs::write(dir.path().join("platform.toml"), "").unwrap();
    let (ok, _, err) = gatehouse_in(dir.path(), &["test"]);
    assert!(!ok && err.contains("no tests: write") && err.contains("gatehouse new"), "{err}");
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    std::fs::write(
        dir.path().join("tests/x.toml"),
        "[[test]]\nname = \"x\"\nrequest = { path = \"/\" }\nexpect = { stauts = 200 }\n",
    )
    .unwrap();
    let (ok, _, err) = gatehouse_in(dir.path(), &["test"]);
    assert!(!ok && err.contains("tests/x.toml") && err.contains("stauts"), "{err}");
}
