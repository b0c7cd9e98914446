//! A bad config never half-starts: the process exits non-zero before listening,
//! with one message naming the file, the key or endpoint, and the fix.

use gatehouse_tests::{Server, component, guests, run_expecting_exit};

fn refuses(config: &str, expected: &[&str]) {
    let (status, stdout, stderr) = run_expecting_exit(config);
    assert!(!status.success(), "exited 0; stderr:\n{stderr}");
    assert!(!stdout.contains("listening"), "it listened: {stdout}");
    for e in expected {
        assert!(stderr.contains(e), "stderr lacks {e:?}:\n{stderr}");
    }
    assert!(stderr.contains("platform.toml"), "stderr does not name the file:\n{stderr}");
}

#[test]
fn broken_toml() {
    refuses("[platform\nlisten = 1", &["error: ", "line 1"]);
}

#[test]
fn unknown_key() {
    refuses("[limits]\ncpu_msec = 5", &["unknown field `cpu_msec`", "cpu_ms"]);
}

#[test]
fn bad_route() {
    refuses(
        "[[endpoint]]\nroute = \"/api/x\"\ncomponent = \"x.wasm\"",
        &["endpoint[0].route", "like \"GET /api/hello\""],
    );
}

#[test]
fn missing_component() {
    refuses(
        "[[endpoint]]\nroute = \"GET /x\"\ncomponent = \"endpoints/does-not-exist\"",
        &["endpoint[0] `GET /x`", "endpoints/does-not-exist", "not found", "Cargo.toml"],
    );
}

#[test]
fn not_webassembly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fake.wasm");
    std::fs::write(&file, "hello").unwrap();
    let config = format!("[[endpoint]]\nroute = \"GET /x\"\ncomponent = {}", component(file.to_str().unwrap()));
    refuses(&config, &["endpoint[0] `GET /x`", "is not WebAssembly"]);
}

#[test]
fn endpoint_that_does_not_compile() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("broken");
    std::fs::create_dir_all(src.join("src")).unwrap();
    std::fs::write(
        src.join("Cargo.toml"),
        "[package]\nname = \"broken\"\nedition = \"2024\"\nversion = \"0.1.0\"\n[lib]\ncrate-type = [\"cdylib\"]\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(src.join("src/lib.rs"), "pub fn f() -> u32 { \"not a number\" }\n").unwrap();
    let config = format!("[[endpoint]]\nroute = \"GET /x\"\ncomponent = {}", component(src.to_str().unwrap()));
    refuses(&config, &["endpoint[0] `GET /x`", "cargo build failed", "mismatched types"]);
}

#[test]
fn conflicting_routes() {
    let hello = component(&format!("{}/wasm32-wasip2/release/hello.wasm", guests::BUILD_DIR));
    let config = format!(
        "[[endpoint]]\nroute = \"GET /a/{{id}}\"\ncomponent = {hello}\n[[endpoint]]\nroute = \"GET /a/{{name}}\"\ncomponent = {hello}"
    );
    refuses(&config, &["/a/{name}", "conflicts"]);
}

#[tokio::test]
async fn compiled_components_are_reused_across_restarts() {
    let config = format!("[[endpoint]]\nroute = \"GET /hello\"\ncomponent = {}", component(guests::ECHO));
    let first = Server::start(&config);
    drop(first);
    let second = Server::start(&config);
    assert!(
        second.until_log(&["endpoint ready", "cached=true"], std::time::Duration::from_secs(5)).await,
        "{}",
        second.log()
    );
}

#[test]
fn check_validates_without_listening() {
    let good = format!("[[endpoint]]\nroute = \"GET /e\"\ncomponent = {}", component(guests::ECHO));
    let (status, stdout, stderr) = gatehouse_tests::run_to_exit("check", &good);
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("ok: 1 endpoint(s) ready"), "{stdout}");
    assert!(!stdout.contains("listening"));

    let bad = format!("[[endpoint]]\nroute = \"GET /e\"\ncomponent = {}", component(guests::NO_HANDLER));
    let (status, _, stderr) = gatehouse_tests::run_to_exit("check", &bad);
    assert!(!status.success());
    assert!(stderr.contains("exports neither"), "{stderr}");
}
