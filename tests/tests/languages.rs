//! Python and JavaScript endpoints beside Rust ones: the posts and
//! notifications examples in each language answer the same black-box tests,
//! and a busy loop in any language is stopped by the same CPU budget.

use std::time::{Duration, Instant};

use gatehouse_tests::{
    DbBackend, Platform, Server, client, example_path, guests, json, read_events, repo_file, repo_path, run_to_exit,
};
use serde_json::json;

/// The route prefix of each language's copy of the examples.
const LANGUAGES: &[(&str, &str)] = &[("rust", "/api"), ("python", "/api/py"), ("js", "/api/js")];

fn polyglot(name: &str) -> String {
    repo_path(&format!("tests/polyglot/{name}"))
}

fn server(backend: &DbBackend) -> Server {
    let mut p = backend.platform().section("database", &[("migrations", &repo_file("endpoints/migrations"))]);
    let required = "\"required\"";
    for (language, prefix) in LANGUAGES {
        let (posts, notifications) = match *language {
            "rust" => (example_path("posts"), example_path("notifications")),
            "python" => (repo_path("endpoints/py-posts"), repo_path("endpoints/py-notifications")),
            _ => (repo_path("endpoints/js-posts"), repo_path("endpoints/js-notifications")),
        };
        for route in [
            format!("POST {prefix}/posts"),
            format!("GET {prefix}/posts/{{id}}"),
            format!("DELETE {prefix}/posts/{{id}}"),
        ] {
            // As platform.toml has it: anyone may read a post.
            let auth = if route.starts_with("GET") { "\"optional\"" } else { required };
            p = p.endpoint(&route, &posts).with("auth", auth);
        }
        p = p
            .endpoint(&format!("GET {prefix}/notifications/stream"), &notifications)
            .with("auth", required)
            .with("limits", "{ wall_ms = 60000 }");
    }
    for (route, guest) in [("/loop/python", "py_busy_loop"), ("/loop/js", "js_busy_loop")] {
        p = p.endpoint(&format!("GET {route}"), &polyglot(guest)).with("limits", "{ cpu_ms = 200, wall_ms = 10000 }");
    }
    for (route, guest) in [
        ("/crash/python", polyglot("py_crash")),
        ("/crash/js", polyglot("js_crash")),
        ("/crash/rust", guests::PANICS.to_string()),
        ("/hello/python", polyglot("py_hello")),
        ("/hello/js", polyglot("js_hello")),
        ("/hello/rust", example_path("hello")),
    ] {
        p = p.endpoint(&format!("GET {route}"), &guest);
    }
    gatehouse_tests::with_task_import(p).start()
}

/// The SDK tour, in Python and in TypeScript, with an upstream to call: a
/// server of its own, so that a cold start builds only these two.
fn sdk_server() -> Server {
    let upstream = gatehouse_tests::mock_upstream();
    let mut p = Platform::new()
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .section("secrets", &[("UPSTREAM_KEY", &gatehouse_tests::config::quote(gatehouse_tests::UPSTREAM_KEY))]);
    for (language, guest) in [("python", "py_sdk"), ("ts", "ts_sdk")] {
        for method in ["GET", "POST"] {
            p = p
                .endpoint(&format!("{method} /sdk/{language}/{{action}}"), &polyglot(guest))
                .with("auth", "\"optional\"")
                .with("allowed_hosts", &format!("[\"http://{upstream}\"]"))
                .with("secrets", "[\"UPSTREAM_KEY\"]")
                .with("variables", &format!("{{ UPSTREAM = \"http://{upstream}\" }}"))
                .with("limits", "{ cpu_ms = 1000, wall_ms = 20000 }");
        }
    }
    p.start()
}

#[tokio::test]
async fn python_and_typescript_sdks_offer_the_same_capabilities() {
    let s = sdk_server();
    let key = s.create_key(&["--scopes", "read,write", "--user", "ada"]);
    for language in ["python", "ts"] {
        let url = |action: &str| s.url(&format!("/sdk/{language}/{action}"));
        // Multipart parts, as the Rust SDK's `multipart()` gives them.
        let form = reqwest::multipart::Form::new().text("note", "hi").part(
            "file",
            reqwest::multipart::Part::bytes(vec![1u8; 300]).file_name("a.png").mime_str("image/png").unwrap(),
        );
        let resp = client().post(url("parts")).multipart(form).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{language}");
        assert_eq!(
            json(resp).await,
            json!([
                {"name": "note", "fileName": null, "contentType": null, "size": 2},
                {"name": "file", "fileName": "a.png", "contentType": "image/png", "size": 300}
            ]),
            "{language}"
        );
        // A streamed upstream read event by event: "echo:", each word, [DONE].
        let resp = client().post(url("relay")).json(&json!({"prompt": "one two"})).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{language}");
        assert_eq!(json(resp).await, json!({"status": 200, "text": "echo: one two", "events": 4}), "{language}");
        // Scopes of the caller.
        let resp = client().get(url("scope?scope=write")).bearer_auth(&key).send().await.unwrap();
        assert_eq!(json(resp).await, json!({"has": true, "authenticated": true}), "{language}");
        let resp = client().get(url("scope?scope=admin")).send().await.unwrap();
        assert_eq!(json(resp).await, json!({"has": false, "authenticated": false}), "{language}");
        // A whole fetch, read like a WHATWG response.
        let resp = client().get(url("fetch")).send().await.unwrap();
        assert_eq!(
            json(resp).await,
            json!({"status": 200, "header": "mock", "text": "hello from upstream"}),
            "{language}"
        );
        // An error class thrown is the envelope of its kind.
        let resp = client().get(url("nothing")).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{language}");
        let got = json(resp).await;
        assert_eq!((got["code"].as_str(), got["error"].as_str()), (Some("NO_SUCH_ACTION"), Some("no nothing here")));
    }
}

#[tokio::test]
async fn posts_answer_alike_in_every_language() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let ada = s.create_key(&["--user", "ada"]);
        let bob = s.create_key(&["--user", "bob"]);
        for (language, prefix) in LANGUAGES {
            let posts = s.url(&format!("{prefix}/posts"));
            let resp = client()
                .post(&posts)
                .bearer_auth(&ada)
                .json(&json!({"title": "Hello", "body": "First!"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201, "{language}");
            let post = json(resp).await["data"].clone();
            assert_eq!(
                (post["authorId"].as_str(), post["title"].as_str()),
                (Some("ada"), Some("Hello")),
                "{language}: {post}"
            );
            let id = post["id"].as_i64().unwrap();
            let url = format!("{posts}/{id}");
            // The docs' read: the post itself, to anyone.
            let resp = client().get(&url).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{language}");
            assert_eq!(json(resp).await, post, "{language}");
            let resp = client().delete(&url).bearer_auth(&bob).send().await.unwrap();
            assert_eq!(resp.status(), 403, "{language}");
            assert_eq!(json(resp).await["error"], "Forbidden", "{language}");
            let resp = client().delete(format!("{posts}/99999")).bearer_auth(&ada).send().await.unwrap();
            assert_eq!(resp.status(), 403, "{language}: an unknown id is answered as another's");
            let resp = client().get(format!("{posts}/99999")).bearer_auth(&ada).send().await.unwrap();
            assert_eq!(resp.status(), 404, "{language}");
            let got = json(resp).await;
            assert_eq!((got["error"].as_str(), got["code"].as_str()), (Some("Not found"), Some("POST_NOT_FOUND")));
            assert_eq!(
                client().get(format!("{posts}/abc")).bearer_auth(&ada).send().await.unwrap().status(),
                400,
                "{language}"
            );
            let resp = client().post(&posts).bearer_auth(&ada).body("not json").send().await.unwrap();
            assert_eq!(resp.status(), 400, "{language}");
            let resp = client().delete(&url).bearer_auth(&ada).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{language}");
            assert_eq!(json(resp).await, json!({"success": true}), "{language}");
            assert_eq!(client().get(&url).bearer_auth(&ada).send().await.unwrap().status(), 404, "{language}");
            // A constraint the table refuses is a 409 DB_CONSTRAINT, not a crash.
            let resp = client().post(&posts).bearer_auth(&ada).json(&json!({"title": ""})).send().await.unwrap();
            assert_eq!(resp.status(), 409, "{language}");
            assert_eq!(json(resp).await["code"], "DB_CONSTRAINT", "{language}");
            // The gate is the same: no key, no guest.
            assert_eq!(
                client().post(&posts).json(&json!({"title": "x"})).send().await.unwrap().status(),
                401,
                "{language}"
            );
        }
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn notifications_stream_event_by_event_in_every_language() {
    let s = server(&DbBackend::Sqlite);
    for (language, prefix) in LANGUAGES {
        // A user per language, so each starts with no notification.
        let key = s.create_key(&["--user", &format!("ada-{language}")]);
        let mut resp = client()
            .get(s.url(&format!("{prefix}/notifications/stream?intervalMs=100&limit=4")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{language}");
        assert_eq!(resp.headers()["content-type"], "text/event-stream", "{language}");
        // `{"type":"connected"}`, then the four updates asked for: unnamed events, as in Rust.
        let events = read_events(&mut resp, 5).await;
        assert_eq!(events.len(), 5, "{language}");
        assert_eq!(events[0].0, "data: {\"type\":\"connected\"}", "{language}");
        for (update, _) in &events[1..] {
            let update = gatehouse_tests::event_data(update);
            assert_eq!(update, json!({"type": "notifications", "data": []}), "{language}");
        }
        assert!(resp.chunk().await.unwrap().is_none(), "{language}: the stream did not end");
        // Sent as written, shown by order: a later update lists a notification filed after the first arrived.
        let path = format!("{prefix}/notifications/stream?intervalMs=200&limit=50");
        gatehouse_tests::stream_is_sent_as_written(&s, &key, &path).await;
    }
}

#[tokio::test]
async fn an_uncaught_exception_is_a_guest_trap_in_every_language() {
    let s = server(&DbBackend::Sqlite);
    for language in ["rust", "python", "js"] {
        let resp = client().get(s.url(&format!("/crash/{language}"))).send().await.unwrap();
        assert_eq!(resp.status(), 500, "{language}");
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
        let body = json(resp).await;
        assert_eq!(body["code"], "GUEST_TRAP", "{language}: {body}");
        assert_eq!(
            body["error"], "the endpoint crashed while handling the request; its log has the details",
            "{language}: {body}"
        );
        // What went wrong is in the log, for the operator; not in the answer.
        let said = format!("deliberate crash for request {id}");
        let said = if language == "rust" { format!("deliberate panic for request {id}") } else { said };
        assert!(s.until_log(&[&said], Duration::from_secs(10)).await, "{language}: {}", s.log());
        assert!(!body.to_string().contains("deliberate"), "{language}: {body}");
    }
}

#[tokio::test]
async fn a_busy_loop_is_stopped_in_every_language() {
    let s = server(&DbBackend::Sqlite);
    for language in ["python", "js"] {
        let started = Instant::now();
        let resp = client().get(s.url(&format!("/loop/{language}"))).send().await.unwrap();
        let took = started.elapsed();
        assert_eq!(resp.status(), 504, "{language}");
        let body = json(resp).await;
        assert_eq!(
            (body["code"].as_str(), body["details"]["limit"].as_str()),
            (Some("GUEST_TIMEOUT"), Some("cpu_ms")),
            "{language}: {body}"
        );
        assert!(took < Duration::from_millis(200) + Duration::from_secs(1), "{language}: stopped after {took:?}");
        // Everyone else keeps being served, in every language.
        for hello in ["python", "js", "rust"] {
            let resp = client().get(s.url(&format!("/hello/{hello}?name=Ada"))).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{hello} after the {language} loop");
            assert_eq!(json(resp).await["message"], "Hello Ada");
        }
    }
    assert!(s.log().contains("CPU budget of 200 ms exceeded"), "the kill was not logged");
}

#[test]
fn a_python_or_js_endpoint_that_does_not_build_names_the_compiler_error() {
    for (file, text, needle) in [
        ("app.py", "from gatehouse import endpoint\n\ndef handle(req:\n", "SyntaxError"),
        (
            "index.js",
            "import { endpoint } from \"./gatehouse.js\";\nexport const handler = endpoint((req) => {;\n",
            "SyntaxError",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file), text).unwrap();
        let config = Platform::new().endpoint("GET /x", &dir.path().display().to_string()).toml();
        let (status, _, stderr) = run_to_exit("check", &config);
        assert!(!status.success(), "{file} built");
        assert!(stderr.contains("endpoint[0] `GET /x`") && stderr.contains(needle), "{file}: {stderr}");
    }
}

#[tokio::test]
async fn new_scaffolds_a_working_endpoint_in_each_language_and_build_builds_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("platform.toml");
    std::fs::write(&config, "[platform]\n").unwrap();
    let gatehouse = |args: &[&str]| {
        let out = std::process::Command::new(gatehouse_tests::binary())
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("GATEHOUSE_DATA_DIR", dir.path().join("data"))
            .env("GATEHOUSE_BUILD_DIR", gatehouse_tests::guests::BUILD_DIR)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (name, lang) in [("greet-rs", "rust"), ("greet-py", "python"), ("greet-js", "js")] {
        let (ok, out, err) = gatehouse(&["new", name, "--lang", lang]);
        assert!(ok, "{lang}: {err}");
        assert!(out.contains(&format!("route = \"GET /api/{name}\"")), "{out}");
    }
    // Reuse the examples' resolved dependencies, so the Rust scaffold builds offline and fast.
    let lock = std::path::Path::new(gatehouse_tests::guests::REPO_ROOT).join("endpoints/Cargo.lock");
    std::fs::copy(lock, dir.path().join("endpoints/greet-rs/Cargo.lock")).unwrap();
    assert!(!gatehouse(&["new", "greet-py", "--lang", "python"]).0, "an existing endpoint was overwritten");

    let (ok, out, err) = gatehouse(&["build"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("[1/3] building") && err.contains("(python)") && err.contains("(js)") && err.contains("(rust)"),
        "{err}"
    );
    assert!(out.contains("built 3 endpoint(s)"), "{out}");
    // The Rust scaffold's own unit test passes under `cargo test`, off the platform
    // (in the target dir the SDK's unit-test suite uses, whose dependencies match).
    let manifest = dir.path().join("endpoints/greet-rs/Cargo.toml");
    let target = std::path::Path::new(gatehouse_tests::guests::REPO_ROOT).join("target/native-endpoints");
    let tested = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("test")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tested.stdout);
    assert!(
        tested.status.success() && text.contains("test tests::greets_by_name ... ok"),
        "{text}{}",
        String::from_utf8_lossy(&tested.stderr)
    );

    let s = Server::start(
        &std::fs::read_to_string(&config)
            .unwrap()
            .replace("\"endpoints/", &format!("\"{}/endpoints/", dir.path().display())),
    );
    for name in ["greet-rs", "greet-py", "greet-js"] {
        let resp = client().get(s.url(&format!("/api/{name}?name=Ada"))).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(json(resp).await["data"]["message"], "Hello, Ada!", "{name}");
    }

    // A failing build reports the compiler's message and exits 1.
    std::fs::write(dir.path().join("endpoints/greet-py/app.py"), "def broken(:\n").unwrap();
    let (ok, _, err) = gatehouse(&["build"]);
    assert!(!ok);
    assert!(
        err.contains("failed") && err.contains("SyntaxError") && err.contains("1 of 3 endpoint(s) did not build"),
        "{err}"
    );
}

#[tokio::test]
async fn watch_rebuilds_python_and_js_endpoints_in_place() {
    // Copies of the hello guests, so the test can edit them.
    let src = tempfile::tempdir().unwrap();
    let mut config = Platform::new();
    let mut files = Vec::new();
    for (language, guest, file) in [("python", "py_hello", "app.py"), ("js", "js_hello", "index.js")] {
        let dir = src.path().join(guest);
        std::fs::create_dir_all(&dir).unwrap();
        let original = std::path::Path::new(gatehouse_tests::guests::REPO_ROOT).join("tests/polyglot").join(guest);
        let text = std::fs::read_to_string(original.join(file)).unwrap();
        std::fs::write(dir.join(file), &text).unwrap();
        config = config.endpoint(&format!("GET /hello/{language}"), &dir.display().to_string());
        files.push((language, dir.join(file), text));
    }
    let s = Server::start_with_args(&config.toml(), &["--watch"]);
    let message = |language: &str| {
        let url = s.url(&format!("/hello/{language}"));
        async move { json(client().get(url).send().await.unwrap()).await["message"].clone() }
    };
    for (language, path, text) in &files {
        assert_eq!(message(language).await, "Hello World", "{language}");
        std::fs::write(path, text.replace("Hello ", "Howdy ")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(180);
        while message(language).await != "Howdy World" {
            assert!(Instant::now() < deadline, "{language} not rebuilt; log:\n{}", s.log());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // A broken edit keeps the running version and logs the compiler's message.
    let (language, path, _) = &files[0];
    std::fs::write(path, "def broken(:\n").unwrap();
    assert!(s.until_log(&["rebuild failed", "SyntaxError"], Duration::from_secs(180)).await, "{}", s.log());
    assert_eq!(message(language).await, "Howdy World");
}
