//! Tenants and hot deploy, black-box: a real server, tenants made by the CLI
//! and the admin API, app bundles uploaded as a user would, checked,
//! swapped, listed, rolled back and undeployed, across a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gatehouse::registry::Bundle;
use gatehouse_tests::{ADMIN_TOKEN, Platform, Server, client, guests, json, retagged};
use serde_json::{Value, json};

fn platform() -> Platform {
    Platform::new().admin().endpoint("GET /api/who", guests::ECHO)
}

/// A bundle: a manifest for app `name` with `endpoints` (TOML), the echo
/// component as `echo.wasm`, and `extra` files.
fn bundle(name: &str, endpoints: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Bundle::default();
    b.files.insert("gatehouse.toml".into(), format!("[app]\nname = \"{name}\"\n\n{endpoints}").into_bytes());
    b.files.insert("echo.wasm".into(), std::fs::read(guests::ECHO).unwrap());
    for (path, data) in extra {
        b.files.insert(path.to_string(), data.to_vec());
    }
    b.to_tar().unwrap()
}

/// The echo endpoint at `route`, its GREETING variable set to `greeting`.
fn echo_at(route: &str, greeting: &str) -> String {
    format!(
        "[[endpoint]]\nroute = \"GET {route}\"\ncomponent = \"echo.wasm\"\nvariables = {{ GREETING = \"{greeting}\" }}\n"
    )
}

async fn deploy(s: &Server, tenant: &str, tar: Vec<u8>, token: &str) -> (u16, Value) {
    s.deploy_with(tenant, tar, token).await
}

async fn admin(s: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    s.admin_call(method, path, body).await
}

/// GET `path` on `tenant` through the path prefix: (status, body).
async fn get(s: &Server, tenant: &str, path: &str) -> (u16, Value) {
    let resp = client().get(s.url(&format!("/t/{tenant}{path}"))).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.map(|v| v["data"].clone()).unwrap_or(Value::Null))
}

#[tokio::test]
async fn tenants_are_routed_by_host_and_prefix_and_kept_apart() {
    let s = platform().start();
    let (ok, out, err) = s.cli(&["tenants", "create", "acme"]);
    assert!(ok, "{err}");
    assert!(out.contains("acme.localhost") && out.contains("/t/acme/"), "{out}");
    let (status, body) = admin(&s, reqwest::Method::POST, "/admin/v1/tenants", Some(json!({"name": "beta"}))).await;
    assert_eq!(status, 201, "{body}");
    // Bad names and duplicates are refused.
    assert!(!s.cli(&["tenants", "create", "Bad_Name"]).0);
    let (status, body) = admin(&s, reqwest::Method::POST, "/admin/v1/tenants", Some(json!({"name": "beta"}))).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("CONFLICT")));

    let (status, body) = deploy(&s, "acme", bundle("shop", &echo_at("/api/echo", "acme-v1"), &[]), ADMIN_TOKEN).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["version"], 1);
    let (status, body) = deploy(&s, "beta", bundle("blog", &echo_at("/api/posts", "beta-v1"), &[]), ADMIN_TOKEN).await;
    assert_eq!(status, 201, "{body}");

    // The path prefix, stripped before the guest sees the path.
    let (status, body) = get(&s, "acme", "/api/echo").await;
    assert_eq!(status, 200);
    assert_eq!((body["greeting"].as_str(), body["path"].as_str()), (Some("acme-v1"), Some("/api/echo")));
    assert_eq!(body["auth"]["tenant"], "acme");
    // The host.
    let resp = client().get(s.url("/api/posts")).header("host", "beta.localhost").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["data"]["greeting"], "beta-v1");
    // Each tenant sees only its own routes; the config's tenant serves at `/`.
    assert_eq!(get(&s, "acme", "/api/posts").await.0, 404);
    assert_eq!(get(&s, "beta", "/api/echo").await.0, 404);
    assert_eq!(get(&s, "acme", "/api/who").await.0, 404);
    let resp = client().get(s.url("/api/who")).send().await.unwrap();
    assert_eq!(json(resp).await["data"]["auth"]["tenant"], "default");
    let resp = client().get(s.url("/api/echo")).header("host", "nobody.localhost").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(json(resp).await["error"].as_str().unwrap().contains("no tenant nobody"));

    // The tenant list, and deleting one takes its routes offline at once.
    let (_, list) = admin(&s, reqwest::Method::GET, "/admin/v1/tenants", None).await;
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["acme", "beta", "default"]);
    let (ok, _, err) = s.cli(&["tenants", "delete", "beta"]);
    assert!(ok, "{err}");
    let deadline = Instant::now() + Duration::from_secs(2);
    while get(&s, "beta", "/api/posts").await.0 == 200 {
        assert!(Instant::now() < deadline, "a deleted tenant still serves");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!s.cli(&["tenants", "delete", "default"]).0, "the config's tenant cannot be deleted");
}

#[tokio::test]
async fn keys_sessions_and_quotas_belong_to_their_tenant() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme", "--rate-limit", "3/1m", "--memory-mb", "32"]).0);
    assert!(s.cli(&["tenants", "create", "beta"]).0);
    let secure = "[[endpoint]]\nroute = \"GET /api/me\"\ncomponent = \"echo.wasm\"\nauth = \"required\"\n";
    for t in ["acme", "beta"] {
        let (status, body) = deploy(&s, t, bundle("me", secure, &[]), ADMIN_TOKEN).await;
        assert_eq!(status, 201, "{body}");
    }
    let acme_key = s.create_key(&["--tenant", "acme"]);
    let me = |t: &str, key: &str| client().get(s.url(&format!("/t/{t}/api/me"))).bearer_auth(key.to_string()).send();
    assert_eq!(me("acme", &acme_key).await.unwrap().status(), 200);
    assert_eq!(me("beta", &acme_key).await.unwrap().status(), 401, "a key of acme opened beta");

    // The tenant's ceiling: 3 a minute over all its endpoints (one used above).
    assert_eq!(me("acme", &acme_key).await.unwrap().status(), 200);
    assert_eq!(me("acme", &acme_key).await.unwrap().status(), 200);
    let refused = me("acme", &acme_key).await.unwrap();
    assert_eq!(refused.status(), 429);
    let policy = refused.headers()["ratelimit-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("\"tenant\";q=3;w=60"), "{policy}");
    // beta has no ceiling.
    let beta_key = s.create_key(&["--tenant", "beta"]);
    for _ in 0..5 {
        assert_eq!(me("beta", &beta_key).await.unwrap().status(), 200);
    }

    // Memory quota: an endpoint asking for more is refused at deploy.
    let greedy = "[[endpoint]]\nroute = \"GET /big\"\ncomponent = \"echo.wasm\"\nlimits = { memory_mb = 64 }\n";
    let (status, body) = deploy(&s, "acme", bundle("big", greedy, &[]), ADMIN_TOKEN).await;
    assert_eq!(status, 422);
    assert!(body["error"].as_str().unwrap().contains("quotas.memoryMb"), "{body}");

    // Sessions: beta verifies HS256 tokens signed with its own secret; acme takes none.
    let (status, _) = admin(
        &s,
        reqwest::Method::PUT,
        "/admin/v1/secrets/SESSION_KEY",
        Some(json!({"tenant": "beta", "value": "beta-session-secret-0123456789"})),
    )
    .await;
    assert_eq!(status, 200);
    let settings = json!({"session": {"algorithm": "HS256", "secret": "SESSION_KEY", "issuer": "beta-idp"}});
    let (status, body) = admin(&s, reqwest::Method::PUT, "/admin/v1/tenants/beta", Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    let claims = json!({"sub": "ada", "iss": "beta-idp", "exp": gatehouse::clock::unix_now() + 600});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"beta-session-secret-0123456789"),
    )
    .unwrap();
    let resp = me("beta", &token).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["data"]["auth"]["kind"], "session");
    let resp = me("acme", &token).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(json(resp).await["error"].as_str().unwrap().contains("accepts no session"));
}

#[tokio::test]
async fn nothing_goes_live_unchecked_and_the_old_version_keeps_serving() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    let (status, body) = deploy(&s, "acme", bundle("shop", &echo_at("/api/echo", "v1"), &[]), ADMIN_TOKEN).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(deploy(&s, "acme", bundle("other", &echo_at("/api/other", "o"), &[]), ADMIN_TOKEN).await.0, 201);

    let wasm = |path: &str| std::fs::read(path).unwrap();
    let (no_handler, bad_import) = (wasm(guests::NO_HANDLER), wasm(guests::BAD_IMPORT));
    let with = |c: &str| format!("[[endpoint]]\nroute = \"GET /api/echo\"\ncomponent = \"{c}\"\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not wasm", bundle("shop", &with("junk.wasm"), &[("junk.wasm", b"not wasm at all")]), "not WebAssembly"),
        ("not a component", bundle("shop", &with("core.wasm"), &[("core.wasm", b"\0asm\x01\0\0\0")]), "component"),
        ("no handler", bundle("shop", &with("nh.wasm"), &[("nh.wasm", &no_handler)]), "handler"),
        ("foreign import", bundle("shop", &with("bi.wasm"), &[("bi.wasm", &bad_import)]), "import"),
        ("missing file", bundle("shop", &with("gone.wasm"), &[]), "not found"),
        (
            "bad schema",
            bundle(
                "shop",
                "[[endpoint]]\nroute = \"POST /api/echo\"\ncomponent = \"echo.wasm\"\nschema = \"s.json\"\n",
                &[("s.json", b"{not json")],
            ),
            "s.json",
        ),
        ("colliding route", bundle("shop", &echo_at("/api/other", "x"), &[]), "already served by app `other`"),
        ("unknown policy key", bundle("shop", &format!("{}colour = \"red\"\n", with("echo.wasm")), &[]), "colour"),
        (
            "wildcard host",
            bundle("shop", &format!("{}allowed_hosts = [\"*\"]\n", with("echo.wasm")), &[]),
            "allowed_hosts",
        ),
        ("bad route", bundle("shop", "[[endpoint]]\nroute = \"FETCH /x\"\ncomponent = \"echo.wasm\"\n", &[]), "route"),
        ("not a tar", b"this is not an archive".to_vec(), "tar"),
        ("a server file", bundle("shop", &with("/etc/passwd"), &[]), "outside the app"),
        (
            "a climbing schema",
            bundle("shop", &format!("{}schema = \"../../../etc/hosts\"\n", with("echo.wasm")), &[]),
            "outside the app",
        ),
    ];
    for (what, tar, needle) in cases {
        let (status, body) = deploy(&s, "acme", tar, ADMIN_TOKEN).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert_eq!(body["code"], "DEPLOY_REJECTED", "{what}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(needle), "{what}: {message}");
        // The previous version is untouched.
        let (status, got) = get(&s, "acme", "/api/echo").await;
        assert_eq!((status, got["greeting"].as_str()), (200, Some("v1")), "{what}");
    }
    // The endpoint is named in the message.
    let (_, body) =
        deploy(&s, "acme", bundle("shop", &with("nh.wasm"), &[("nh.wasm", &no_handler)]), ADMIN_TOKEN).await;
    assert!(body["error"].as_str().unwrap().contains("endpoint[0] `GET /api/echo`"), "{body}");
    // No version was recorded for any of them.
    let (_, versions) = admin(&s, reqwest::Method::GET, "/admin/v1/tenants/acme/apps/shop/versions", None).await;
    assert_eq!(versions["data"].as_array().unwrap().len(), 1);
    assert!(s.log().contains("deploy refused"));
}

#[tokio::test]
async fn versions_rollback_undeploy_and_a_restart() {
    let mut s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    let migrations: &[(&str, &[u8])] = &[("migrations/001_notes.sql", b"CREATE TABLE notes (id INTEGER PRIMARY KEY);")];
    let v1 = format!("[database]\nmigrations = \"migrations\"\n\n{}", echo_at("/api/echo", "v1"));
    assert_eq!(deploy(&s, "acme", bundle("shop", &v1, migrations), ADMIN_TOKEN).await.0, 201);
    let (status, body) = deploy(&s, "acme", bundle("shop", &echo_at("/api/echo", "v2"), &[]), ADMIN_TOKEN).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["version"], 2);
    assert_eq!(body["data"]["compiled"], 0, "the same component compiled twice");
    assert_eq!(get(&s, "acme", "/api/echo").await.1["greeting"], "v2");

    let (_, versions) = admin(&s, reqwest::Method::GET, "/admin/v1/tenants/acme/apps/shop/versions", None).await;
    let list = versions["data"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!((list[0]["version"].as_i64(), list[0]["active"].as_bool()), (Some(2), Some(true)));
    assert_eq!(list[1]["active"], false);
    assert_eq!(list[0]["bundleHash"].as_str().unwrap().len(), 64);
    assert_ne!(list[0]["bundleHash"], list[1]["bundleHash"]);
    assert!(list[1]["createdAt"].as_i64().unwrap() > 1_700_000_000);

    // Roll back in one call (the CLI), undeploy, roll forward.
    let server = s.admin.clone().unwrap();
    let (ok, out, err) =
        s.cli(&["apps", "rollback", "shop", "1", "--tenant", "acme", "--server", &server, "--token", ADMIN_TOKEN]);
    assert!(ok, "{err}");
    assert!(out.contains("shop@1"), "{out}");
    assert_eq!(get(&s, "acme", "/api/echo").await.1["greeting"], "v1");
    let (ok, out, _) =
        s.cli(&["apps", "versions", "shop", "--tenant", "acme", "--server", &server, "--token", ADMIN_TOKEN]);
    assert!(ok && out.lines().any(|l| l.starts_with('1') && l.trim_end().ends_with('*')), "{out}");
    let (status, _) = admin(&s, reqwest::Method::DELETE, "/admin/v1/tenants/acme/apps/shop", None).await;
    assert_eq!(status, 200);
    assert_eq!(get(&s, "acme", "/api/echo").await.0, 404);
    let (status, body) =
        admin(&s, reqwest::Method::POST, "/admin/v1/tenants/acme/apps/shop/rollback", Some(json!({"version": 9})))
            .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _) =
        admin(&s, reqwest::Method::POST, "/admin/v1/tenants/acme/apps/shop/rollback", Some(json!({"version": 2})))
            .await;
    assert_eq!(status, 200);
    assert_eq!(get(&s, "acme", "/api/echo").await.1["greeting"], "v2");

    // A restart: tenants, deployments and keys come back; nothing is compiled again.
    let key = s.create_key(&["--tenant", "acme"]);
    s.restart();
    assert_eq!(get(&s, "acme", "/api/echo").await.1["greeting"], "v2");
    let stats = s.stats().await;
    assert_eq!(stats["componentsCompiled"], 0, "{stats}");
    assert!(stats["componentsFromCache"].as_u64().unwrap() >= 2, "{stats}");
    let (ok, out, _) = s.cli(&["keys", "list", "--tenant", "acme"]);
    assert!(ok && out.contains(key.split('_').nth(2).unwrap()), "{out}");
}

#[tokio::test]
async fn a_deploy_under_load_fails_no_request() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    assert_eq!(deploy(&s, "acme", bundle("shop", &echo_at("/api/echo", "v0"), &[]), ADMIN_TOKEN).await.0, 201);
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let url = s.url("/t/acme/api/echo");
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (stop, ok, failed, seen, url) = (stop.clone(), ok.clone(), failed.clone(), seen.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let c = client();
            while !stop.load(Ordering::Relaxed) {
                match c.get(&url).send().await {
                    Ok(r) if r.status() == 200 => {
                        let body: Value = r.json().await.unwrap();
                        seen.lock().unwrap().insert(body["data"]["greeting"].as_str().unwrap_or("").to_string());
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    // Each deploy lands while requests flow: before each, and after the last,
    // the workers must have been answered 20 more times (a count, not a clock).
    let served_past = |mark: u64| {
        let (ok, failed) = (ok.clone(), failed.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < mark + 20 {
                assert!(Instant::now() < deadline, "the workers stopped being answered");
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    for v in 1..=5 {
        served_past(ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed)).await;
        let (status, body) =
            deploy(&s, "acme", bundle("shop", &echo_at("/api/echo", &format!("v{v}")), &[]), ADMIN_TOKEN).await;
        assert_eq!(status, 201, "{body}");
    }
    served_past(ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "requests failed during deploys");
    assert!(ok.load(Ordering::Relaxed) > 100, "too little load: {}", ok.load(Ordering::Relaxed));
    assert!(seen.contains("v0") && seen.contains("v5"), "{seen:?}");
    assert_eq!(get(&s, "acme", "/api/echo").await.1["greeting"], "v5");
}

#[tokio::test]
async fn a_deploy_key_deploys_to_its_own_tenant_only() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    assert!(s.cli(&["tenants", "create", "beta"]).0);
    let deploy_key = s.create_key(&["--tenant", "acme", "--scopes", "deploy"]);
    let plain_key = s.create_key(&["--tenant", "acme", "--scopes", "read"]);
    let tar = || bundle("shop", &echo_at("/api/echo", "k"), &[]);
    assert_eq!(deploy(&s, "acme", tar(), &deploy_key).await.0, 201);
    let (status, body) = deploy(&s, "beta", tar(), &deploy_key).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = deploy(&s, "acme", tar(), &plain_key).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("INSUFFICIENT_SCOPE")));
    // The deploy key opens nothing else of the admin API.
    let resp = client().get(s.admin_url("/admin/v1/keys")).bearer_auth(&deploy_key).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = client().get(s.admin_url("/admin/v1/tenants/acme/apps")).bearer_auth(&deploy_key).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_cli_builds_packs_and_deploys_with_progress() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    let app = tempfile::tempdir().unwrap();
    let hello = gatehouse_tests::repo_file("endpoints/hello");
    std::fs::write(
        app.path().join("gatehouse.toml"),
        format!("[app]\nname = \"greeter\"\n\n[[endpoint]]\nroute = \"GET /hello\"\ncomponent = {hello}\nquery_schema = \"schema.json\"\n"),
    )
    .unwrap();
    std::fs::write(app.path().join("schema.json"), r#"{"type": "object"}"#).unwrap();
    let server = s.admin.clone().unwrap();
    let dir = app.path().to_str().unwrap();
    let (ok, out, err) = s.cli(&["deploy", dir, "--tenant", "acme", "--server", &server, "--token", ADMIN_TOKEN]);
    assert!(ok, "{err}");
    assert!(err.contains("building") && err.contains("packed") && err.contains("uploading"), "{err}");
    assert!(out.contains("live: greeter@1") && out.contains("GET /hello"), "{out}");
    let resp = client().get(s.url("/t/acme/hello?name=Ada")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["message"], "Hello Ada");
    // A failing deploy says why and exits non-zero.
    std::fs::write(app.path().join("schema.json"), "{").unwrap();
    let (ok, _, err) = s.cli(&["deploy", dir, "--tenant", "acme", "--server", &server, "--token", ADMIN_TOKEN]);
    assert!(!ok);
    assert!(err.contains("DEPLOY_REJECTED") && err.contains("previous version keeps serving"), "{err}");
    assert_eq!(get(&s, "acme", "/hello").await.0, 200);
    // A gradual rollout from the CLI: a share of callers, shown by `apps rollout`.
    std::fs::write(app.path().join("schema.json"), r#"{"type": "object"}"#).unwrap();
    let auth = ["--tenant", "acme", "--server", &server, "--token", ADMIN_TOKEN];
    let (ok, out, err) = s.cli(&[&["deploy", dir, "--percent", "25"][..], &auth[..]].concat());
    assert!(ok, "{err}");
    assert!(out.contains("live: greeter@2 for 25 % of callers"), "{out}");
    let (ok, out, err) = s.cli(&[&["apps", "rollout", "greeter"][..], &auth[..]].concat());
    assert!(
        ok && out.contains("active version: 1") && out.contains("canary version: 2, for 25 % of callers"),
        "{out}{err}"
    );
    let (ok, _, err) = s.cli(&[&["deploy", dir, "--percent", "100"][..], &auth[..]].concat());
    assert!(!ok && err.contains("100"), "{err}");
}

#[tokio::test]
async fn watch_rebuilds_a_changed_endpoint_in_place() {
    // A copy of the hello example, so the test can edit it.
    let src = tempfile::tempdir().unwrap();
    let root = std::path::PathBuf::from(guests::REPO_ROOT);
    let crate_dir = src.path().join("hello");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    let lib = std::fs::read_to_string(root.join("endpoints/hello/src/lib.rs")).unwrap();
    std::fs::write(crate_dir.join("src/lib.rs"), &lib).unwrap();
    // Its own package name: the build dir is shared with the real hello example.
    let manifest = format!(
        "[package]\nname = \"watched_hello\"\nedition = \"2024\"\nversion = \"0.1.0\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\ngatehouse-sdk = {{ path = {:?} }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\n\n[profile.release]\nopt-level = \"s\"\n\n[workspace]\n",
        root.join("guest-sdk").display().to_string()
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("endpoints/Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let s = Server::start_with_args(
        &Platform::new().endpoint("GET /api/hello", &crate_dir.display().to_string()).toml(),
        &["--watch"],
    );
    let hello = || async { client().get(s.url("/api/hello")).send().await.unwrap().json::<Value>().await.unwrap() };
    assert_eq!(hello().await["message"], "Hello World");
    std::fs::write(crate_dir.join("src/lib.rs"), lib.replace("Hello {name}", "Howdy {name}")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    while hello().await["message"] != "Howdy World" {
        assert!(Instant::now() < deadline, "not rebuilt; log:\n{}", s.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A broken edit keeps the running version and logs the compiler's message.
    std::fs::write(crate_dir.join("src/lib.rs"), "this is not rust").unwrap();
    assert!(s.until_log(&["rebuild failed"], Duration::from_secs(180)).await, "{}", s.log());
    assert_eq!(hello().await["message"], "Howdy World");
}

#[tokio::test]
async fn a_component_that_compiles_too_slowly_is_refused() {
    // The bound is for uploads: platform.toml's own endpoint starts whether or
    // not another test has compiled it already.
    let s = platform().section("sandbox", &[("compile_timeout", "\"1ms\"")]).start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    let tag = format!("{:?}", Instant::now());
    let fresh = retagged(std::fs::read(guests::ECHO).unwrap(), &tag);
    let manifest = "[[endpoint]]\nroute = \"GET /slow\"\ncomponent = \"fresh.wasm\"\n";
    let (status, body) = deploy(&s, "acme", bundle("slow", manifest, &[("fresh.wasm", &fresh)]), ADMIN_TOKEN).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("did not compile within"), "{body}");
    // The compile ran in a child process, killed at the deadline: nothing keeps compiling.
    assert_eq!(compile_children(s.pid()), 0, "a timed-out compile is still running");
    // The platform keeps serving.
    assert_eq!(client().get(s.url("/api/who")).send().await.unwrap().status(), 200);
}

/// Compile children (`gatehouse __compile-component`) of process `parent` still alive.
fn compile_children(parent: u32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .flatten()
        .filter(|e| {
            let dir = e.path();
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            // Field 4 is the parent's pid; the name in field 2 may hold spaces, so split after ')'.
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            ppid == Some(parent) && String::from_utf8_lossy(&cmdline).contains("__compile-component")
        })
        .count()
}

#[tokio::test]
async fn components_and_bundles_over_their_size_bounds_are_refused_in_the_envelope() {
    let s = platform()
        .section("sandbox", &[("max_component_mb", "1")])
        .section("deploy", &[("max_bundle_mb", "3")])
        .start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    assert_eq!(deploy(&s, "acme", bundle("shop", &echo_at("/api/echo", "v1"), &[]), ADMIN_TOKEN).await.0, 201);
    let mb = |n: f64| vec![b'x'; (n * 1048576.0) as usize];

    // A component over sandbox.max_component_mb.
    let big = retagged(std::fs::read(guests::ECHO).unwrap(), &String::from_utf8(mb(1.5)).unwrap());
    let manifest = "[[endpoint]]\nroute = \"GET /api/echo\"\ncomponent = \"big.wasm\"\n";
    let (status, body) = deploy(&s, "acme", bundle("shop", manifest, &[("big.wasm", &big)]), ADMIN_TOKEN).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("endpoint[0] `GET /api/echo`") && message.contains("sandbox.max_component_mb"), "{body}");

    // Files over deploy.max_bundle_mb, counted as the archive is read.
    let (status, body) =
        deploy(&s, "acme", bundle("shop", &echo_at("/api/echo", "v2"), &[("data.bin", &mb(3.5))]), ADMIN_TOKEN).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("deploy.max_bundle_mb"), "{body}");

    // An upload far over it is refused before it is read whole, in the envelope.
    let (status, body) =
        deploy(&s, "acme", bundle("shop", &echo_at("/api/echo", "v2"), &[("data.bin", &mb(6.0))]), ADMIN_TOKEN).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("deploy.max_bundle_mb"), "{body}");

    // The first version still serves, and it is the only one recorded.
    assert_eq!(get(&s, "acme", "/api/echo").await.1["greeting"], "v1");
    let (_, versions) = admin(&s, reqwest::Method::GET, "/admin/v1/tenants/acme/apps/shop/versions", None).await;
    assert_eq!(versions["data"].as_array().unwrap().len(), 1);

    // The admin API answers unknown calls in the envelope too.
    let (status, body) = admin(&s, reqwest::Method::GET, "/admin/v1/nothing-here", None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")), "{body}");
    let (status, body) = admin(&s, reqwest::Method::PATCH, "/admin/v1/tenants", None).await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["success"], false, "{body}");
}

#[tokio::test]
async fn each_tenant_reads_its_own_log_lines() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    assert!(s.cli(&["tenants", "create", "beta"]).0);
    let printer = std::fs::read(guests::STDOUT_LOG).unwrap();
    let manifest = "[[endpoint]]\nroute = \"GET /print\"\ncomponent = \"p.wasm\"\n";
    let (status, _) = deploy(&s, "acme", bundle("printer", manifest, &[("p.wasm", &printer)]), ADMIN_TOKEN).await;
    assert_eq!(status, 201);
    let resp = client().get(s.url("/t/acme/print")).send().await.unwrap();
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let (_, acme) = admin(&s, reqwest::Method::GET, "/admin/v1/tenants/acme/logs", None).await;
    let text = acme["data"].to_string();
    for line in ["stdout line from guest", "stderr line from guest", "log import line from guest", "deployed"] {
        assert!(text.contains(line), "{line} missing: {text}");
    }
    assert!(text.contains(&request_id), "{text}");
    let (_, beta) = admin(&s, reqwest::Method::GET, "/admin/v1/tenants/beta/logs", None).await;
    assert!(!beta["data"].to_string().contains("line from guest"), "{beta}");
    // Only lines after a seq; and the tenant's deploy key may read them, another tenant's may not.
    let last = acme["data"].as_array().unwrap().last().unwrap()["seq"].as_u64().unwrap();
    let (_, none) = admin(&s, reqwest::Method::GET, &format!("/admin/v1/tenants/acme/logs?after={last}"), None).await;
    assert_eq!(none["data"], json!([]));
    let beta_key = s.create_key(&["--tenant", "beta", "--scopes", "deploy"]);
    let resp = client().get(s.admin_url("/admin/v1/tenants/acme/logs")).bearer_auth(&beta_key).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let server = s.admin.clone().unwrap();
    let (ok, out, err) = s.cli(&["apps", "logs", "--tenant", "acme", "--server", &server, "--token", ADMIN_TOKEN]);
    assert!(ok && out.contains("log import line from guest"), "{out}{err}");
}
