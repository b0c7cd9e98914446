//! Object storage (`gatehouse:endpoint/blobs`): a tenant's objects on the
//! node's disk or in an S3-compatible bucket (moto, on loopback), held to its
//! quota, reachable by no other tenant, and served back through signed,
//! expiring URLs with headers that keep an object from acting as a page.
//! Every guest here speaks the same JSON contract (`tests/guests/blob_store`,
//! `tests/polyglot/py_blobs`, `tests/polyglot/js_blobs`).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_tests::s3_server::S3Server;
use gatehouse_tests::{Platform, Server, app_bundle, client, example_path, guests, json, repo_path, unique_tenant};
use serde_json::{Value, json};

/// One operation against the guest at `path`: its status, and its `data`
/// (on success) or its error envelope.
async fn op(s: &Server, path: &str, body: Value) -> (u16, Value) {
    let resp = client().post(s.url(path)).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    let answer = json(resp).await;
    if status == 200 { (status, answer["data"].clone()) } else { (status, answer) }
}

fn put(key: &str, content_type: &str, data: &[u8]) -> Value {
    json!({"op": "put", "key": key, "contentType": content_type, "base64": STANDARD.encode(data)})
}

/// Fetches a signed URL: status, content type, the headers that matter, body.
async fn fetch(url: &str) -> (u16, String, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = client().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let ty = headers.get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ty, headers, resp.bytes().await.unwrap().to_vec())
}

/// What every backend and every guest language must do, through `path`.
async fn the_contract(s: &Server, path: &str, label: &str) {
    let png = [0x89, b'P', b'N', b'G', 1, 2, 3, 0, 255];
    let (status, got) = op(s, path, put("uploads/ada/cat.png", "image/png", &png)).await;
    assert_eq!(status, 200, "{label}: {got}");
    assert_eq!(
        (got["info"]["key"].as_str(), got["info"]["contentType"].as_str(), got["info"]["size"].as_u64()),
        (Some("uploads/ada/cat.png"), Some("image/png"), Some(9)),
        "{label}"
    );
    assert!(got["info"]["modifiedMs"].as_u64().unwrap() > 1_600_000_000_000, "{label}: {got}");
    let (_, got) = op(s, path, json!({"op": "get", "key": "uploads/ada/cat.png"})).await;
    assert_eq!(STANDARD.decode(got["object"]["base64"].as_str().unwrap()).unwrap(), png, "{label}");
    assert_eq!(got["object"]["contentType"], "image/png", "{label}");
    let (_, got) = op(s, path, json!({"op": "head", "key": "uploads/ada/cat.png"})).await;
    assert_eq!(got["info"]["size"], 9, "{label}");
    // An empty content type is stored as octet-stream; missing objects are null.
    let (_, got) = op(s, path, put("uploads/ada/notes", "", b"n")).await;
    assert_eq!(got["info"]["contentType"], "application/octet-stream", "{label}");
    let (_, got) = op(s, path, json!({"op": "get", "key": "uploads/ada/none"})).await;
    assert_eq!(got["object"], Value::Null, "{label}");

    // Listing by prefix, in key order, a page at a time.
    for k in ["uploads/bob/1", "uploads/ada/dog.png", "other/x"] {
        assert_eq!(op(s, path, put(k, "text/plain", k.as_bytes())).await.0, 200, "{label}");
    }
    let list = |prefix: &str, after: Value, limit: u32| json!({"op": "list", "prefix": prefix, "after": after, "limit": limit});
    let (_, page) = op(s, path, list("uploads/ada/", Value::Null, 2)).await;
    assert_eq!(page["keys"], json!(["uploads/ada/cat.png", "uploads/ada/dog.png"]), "{label}");
    assert_eq!(page["sizes"], json!([9, 19]), "{label}");
    assert_eq!(page["next"], "uploads/ada/dog.png", "{label}");
    let (_, page) = op(s, path, list("uploads/ada/", page["next"].clone(), 2)).await;
    assert_eq!((page["keys"].clone(), page["next"].clone()), (json!(["uploads/ada/notes"]), Value::Null), "{label}");
    let (_, page) = op(s, path, list("", Value::Null, 1000)).await;
    assert_eq!(page["keys"].as_array().unwrap().len(), 5, "{label}: {page}");

    // A signed URL serves the bytes with their content type, and nothing else.
    let (_, got) = op(s, path, json!({"op": "url", "key": "uploads/ada/cat.png", "expiresIn": 600})).await;
    let url = got["url"].as_str().unwrap().to_string();
    assert!(url.contains("/_blobs/uploads/ada/cat.png?expires="), "{label}: {url}");
    let (status, ty, headers, body) = fetch(&url).await;
    assert_eq!((status, ty.as_str(), body.as_slice()), (200, "image/png", &png[..]), "{label}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{label}");
    assert!(headers["content-security-policy"].to_str().unwrap().starts_with("sandbox"), "{label}");
    assert_eq!(headers["content-disposition"], "inline", "{label}");
    let head = client().head(&url).send().await.unwrap();
    assert_eq!((head.status().as_u16(), head.headers()["content-length"].to_str().unwrap()), (200, "9"), "{label}");
    // Tampered: another key under the same signature, a later expiry, a changed signature.
    for forged in [
        url.replace("cat.png", "dog.png"),
        url.replace("expires=", "expires=9"),
        format!("{}{}", &url[..url.len() - 1], if url.ends_with('0') { '1' } else { '0' }),
        url.split('?').next().unwrap().to_string(),
    ] {
        let (status, _, _, body) = fetch(&forged).await;
        assert_eq!(status, 403, "{label}: {forged}");
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["code"], "FORBIDDEN", "{label}");
    }

    // Deleted: gone from get, listing and its URL.
    let (_, got) = op(s, path, json!({"op": "delete", "key": "uploads/ada/cat.png"})).await;
    assert_eq!(got["deleted"], true, "{label}");
    let (_, got) = op(s, path, json!({"op": "delete", "key": "uploads/ada/cat.png"})).await;
    assert_eq!(got["deleted"], false, "{label}");
    assert_eq!(fetch(&url).await.0, 404, "{label}");

    // Keys that climb, hide or collapse are refused with the capability's envelope.
    for key in ["../escape", "/abs", "a//b", "a/./b", "", "a\u{FFFE}", "a\u{10FFFF}"] {
        let (status, got) = op(s, path, put(key, "text/plain", b"x")).await;
        assert_eq!((status, got["code"].as_str()), (500, Some("BLOB_INVALID")), "{label}: {key:?} {got}");
    }
    let (status, got) = op(s, path, put("ok", "text/plain\r\nSet-Cookie: a=b", b"x")).await;
    assert_eq!((status, got["code"].as_str()), (500, Some("BLOB_INVALID")), "{label}: {got}");
    let (status, got) = op(s, path, json!({"op": "url", "key": "a", "expiresIn": 99_999_999})).await;
    assert_eq!((status, got["code"].as_str()), (500, Some("BLOB_INVALID")), "{label}: {got}");
    let (status, got) = op(s, path, list("", Value::Null, 0)).await;
    assert_eq!((status, got["code"].as_str()), (500, Some("BLOB_INVALID")), "{label}: {got}");
}

/// The Rust guest on the node's disk: the whole contract, then an URL that
/// expires while it is fetched again and again.
#[tokio::test]
async fn the_rust_sdk_on_local_disk_keeps_the_contract_and_its_urls_expire() {
    let s = Platform::new().endpoint("POST /api/blobs", guests::BLOB_STORE).start();
    the_contract(&s, "/api/blobs", "local").await;
    // A URL is never built on a Host a client chose: a guest could mail it on.
    let resp = client()
        .post(s.url("/api/blobs"))
        .header("host", "evil.example")
        .json(&json!({"op": "url", "key": "a", "expiresIn": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let got = json(resp).await;
    assert!(got["error"].as_str().unwrap().contains("blobs.public_url"), "{got}");
    let (_, got) = op(&s, "/api/blobs", put("brief", "text/plain", b"soon gone")).await;
    assert_eq!(got["info"]["size"], 9);
    let (_, got) = op(&s, "/api/blobs", json!({"op": "url", "key": "brief", "expiresIn": 1})).await;
    let url = got["url"].as_str().unwrap().to_string();
    // Valid now (or already past its one second on a slow machine); refused
    // as expired within a generous liveness bound.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, _, body) = fetch(&url).await;
        if status == 403 {
            let error = serde_json::from_slice::<Value>(&body).unwrap()["error"].as_str().unwrap().to_string();
            assert!(error.contains("expired"), "{error}");
            break;
        }
        assert_eq!(status, 200);
        assert!(Instant::now() < deadline, "the URL never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The same contract against an S3-compatible bucket; the quota is counted
/// from the bucket after a restart; a dead store is a 503 for its calls only.
#[tokio::test]
async fn objects_in_an_s3_bucket_behave_as_on_disk_and_a_dead_store_is_a_503() {
    let Some(moto) = S3Server::start() else { return };
    let s3 = moto.blobs_section("gatehouse-test");
    let s3: Vec<(&str, &str)> = s3.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let secrets = S3Server::secrets();
    let secrets: Vec<(&str, &str)> = secrets.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut s = Platform::new()
        .section("blobs", &[("quota_mb", "1")])
        .section("blobs.s3", &s3)
        .section("secrets", &secrets)
        .endpoint("POST /api/blobs", guests::BLOB_STORE)
        .endpoint("GET /api/hello", &example_path("hello"))
        .start();
    the_contract(&s, "/api/blobs", "s3").await;

    // The bucket holds them under the tenant's own folder.
    let listing = client().get(format!("{}/gatehouse-test?list-type=2", moto.endpoint)).send().await.unwrap();
    let xml = listing.text().await.unwrap();
    assert!(xml.contains("<Key>default."), "{xml}");

    // After a restart this node counts what the bucket holds: 700 KB stored,
    // so 400 KB more passes the 1 MiB quota.
    let (status, got) = op(&s, "/api/blobs", json!({"op": "fill", "key": "big/a", "size": 700_000})).await;
    assert_eq!(status, 200, "{got}");
    s.restart();
    let (status, got) = op(&s, "/api/blobs", json!({"op": "fill", "key": "big/b", "size": 400_000})).await;
    assert_eq!((status, got["code"].as_str()), (413, Some("BLOB_QUOTA_EXCEEDED")), "{got}");

    // The store goes away: its calls answer 503, everything else still serves.
    drop(moto);
    let (status, got) = op(&s, "/api/blobs", json!({"op": "head", "key": "big/a"})).await;
    assert_eq!((status, got["code"].as_str()), (503, Some("BLOBS_UNAVAILABLE")), "{got}");
    assert_eq!(client().get(s.url("/api/hello")).send().await.unwrap().status(), 200);
}

/// Quotas: the largest object, the tenant's bytes and its number of objects,
/// each hit, each freed again by a delete, and the platform serving on.
#[tokio::test]
async fn each_blob_limit_is_hit_with_a_clear_error_and_freed_by_a_delete() {
    let s = Platform::new()
        .section(
            "blobs",
            &[
                ("max_object_mb", "1"),
                ("quota_mb", "2"),
                ("max_objects", "4"),
                ("public_url", "\"https://files.example.com\""),
            ],
        )
        .endpoint("POST /api/blobs", guests::BLOB_STORE)
        .endpoint("GET /api/hello", &example_path("hello"))
        .start();
    let fill = |key: &str, size: u64| json!({"op": "fill", "key": key, "contentType": "text/plain", "size": size});
    let (status, got) = op(&s, "/api/blobs", fill("huge", (1 << 20) + 1)).await;
    assert_eq!((status, got["code"].as_str()), (413, Some("BLOB_TOO_LARGE")), "{got}");
    for k in ["a", "b"] {
        assert_eq!(op(&s, "/api/blobs", fill(k, 900_000)).await.0, 200);
    }
    let (status, got) = op(&s, "/api/blobs", fill("c", 900_000)).await;
    assert_eq!((status, got["code"].as_str()), (413, Some("BLOB_QUOTA_EXCEEDED")), "{got}");
    assert!(got["error"].as_str().unwrap().contains("bytes"), "{got}");
    assert_eq!(op(&s, "/api/blobs", json!({"op": "delete", "key": "a"})).await.1["deleted"], true);
    assert_eq!(op(&s, "/api/blobs", fill("c", 900_000)).await.0, 200);
    // Objects: two more small ones make four; a fifth is refused, replacing one is not.
    for k in ["d", "e"] {
        assert_eq!(op(&s, "/api/blobs", fill(k, 1)).await.0, 200);
    }
    let (status, got) = op(&s, "/api/blobs", fill("f", 1)).await;
    assert_eq!((status, got["code"].as_str()), (413, Some("BLOB_QUOTA_EXCEEDED")), "{got}");
    assert!(got["error"].as_str().unwrap().contains("objects"), "{got}");
    assert_eq!(op(&s, "/api/blobs", fill("d", 2)).await.0, 200);
    assert_eq!(client().get(s.url("/api/hello")).send().await.unwrap().status(), 200);
    // With `blobs.public_url`, URLs start there and name the tenant's path,
    // which this server answers too.
    let (_, got) = op(&s, "/api/blobs", json!({"op": "url", "key": "d", "expiresIn": 60})).await;
    let url = got["url"].as_str().unwrap();
    let path = url.strip_prefix("https://files.example.com").unwrap_or_else(|| panic!("{url}"));
    assert!(path.starts_with("/t/default/_blobs/d?"), "{url}");
    let (status, _, _, body) = fetch(&s.url(path)).await;
    assert_eq!((status, body), (200, b"xx".to_vec()));
}

/// Two tenants: neither reaches the other's objects, by key or by URL, and a
/// tenant deleted and made again under its name finds none of its old ones.
#[tokio::test]
async fn a_tenant_reaches_only_its_own_objects() {
    let s = Platform::new().admin().endpoint("POST /api/blobs", guests::BLOB_STORE).start();
    let other = unique_tenant("blobs");
    s.create_tenant(&other, json!({})).await;
    let wasm = std::fs::read(guests::BLOB_STORE).unwrap();
    let manifest = "[[endpoint]]\nroute = \"POST /api/blobs\"\ncomponent = \"blobs.wasm\"\n";
    let (status, body) = s.deploy(&other, app_bundle("files", manifest, &[("blobs.wasm", &wasm)])).await;
    assert_eq!(status, 201, "{body}");
    let theirs = format!("/t/{other}/api/blobs");

    assert_eq!(op(&s, "/api/blobs", put("secret.txt", "text/plain", b"mine")).await.0, 200);
    let (_, got) = op(&s, &theirs, json!({"op": "get", "key": "secret.txt"})).await;
    assert_eq!(got["object"], Value::Null);
    let (_, got) = op(&s, &theirs, json!({"op": "list", "prefix": "", "after": null, "limit": 10})).await;
    assert_eq!(got["keys"], json!([]));
    // The other tenant's own object of the same key is its own.
    assert_eq!(op(&s, &theirs, put("secret.txt", "text/plain", b"theirs")).await.0, 200);
    let (_, got) = op(&s, "/api/blobs", json!({"op": "get", "key": "secret.txt"})).await;
    assert_eq!(STANDARD.decode(got["object"]["base64"].as_str().unwrap()).unwrap(), b"mine");

    // A URL signed for one tenant does not open the other's object of that key.
    let (_, got) = op(&s, &theirs, json!({"op": "url", "key": "secret.txt", "expiresIn": 60})).await;
    let url = got["url"].as_str().unwrap().to_string();
    assert!(url.contains(&format!("/t/{other}/_blobs/secret.txt")), "{url}");
    assert_eq!(fetch(&url).await.3, b"theirs");
    let replayed = url.replace(&format!("/t/{other}"), "");
    assert_eq!(fetch(&replayed).await.0, 403);

    // Deleted and made again: empty.
    let (status, _) = s.admin_call(reqwest::Method::DELETE, &format!("/admin/v1/tenants/{other}"), None).await;
    assert_eq!(status, 200);
    s.create_tenant(&other, json!({})).await;
    let (status, body) = s.deploy(&other, app_bundle("files", manifest, &[("blobs.wasm", &wasm)])).await;
    assert_eq!(status, 201, "{body}");
    let (_, got) = op(&s, &theirs, json!({"op": "list", "prefix": "", "after": null, "limit": 10})).await;
    assert_eq!(got["keys"], json!([]), "{got}");
    // Its old URL names the old tenant (403), or, made again within the same
    // second, finds the new tenant's folder empty (404): never an object.
    let status = fetch(&url).await.0;
    assert!(status == 403 || status == 404, "{status}");
}

/// The Python and JavaScript SDKs: the same contract through their guests.
#[tokio::test]
async fn python_and_javascript_guests_store_objects_through_their_sdks() {
    let mut p = Platform::new();
    for (language, guest) in [("python", "py_blobs"), ("js", "js_blobs")] {
        p = p
            .endpoint(&format!("POST /api/{language}/blobs"), &repo_path(&format!("tests/polyglot/{guest}")))
            .with("limits", "{ cpu_ms = 2000, wall_ms = 20000 }");
    }
    let s = p.start();
    for language in ["python", "js"] {
        // Each language's objects are the same tenant's: start each from empty.
        let (_, page) =
            op(&s, &format!("/api/{language}/blobs"), json!({"op": "list", "prefix": "", "limit": 1000})).await;
        for key in page["keys"].as_array().unwrap() {
            op(&s, &format!("/api/{language}/blobs"), json!({"op": "delete", "key": key})).await;
        }
        the_contract(&s, &format!("/api/{language}/blobs"), language).await;
        let (status, got) = op(&s, &format!("/api/{language}/blobs"), json!({"op": "nope"})).await;
        assert_eq!((status, got["code"].as_str()), (400, Some("NO_SUCH_OP")), "{language}: {got}");
    }
}

/// What a tenant stored never runs as a page of the platform's origin: a
/// victim following signed URLs to an HTML page, an SVG image and a text file,
/// each carrying a script, in a real browser, runs none of the scripts; the
/// page and the SVG are downloaded, the text is shown as text.
#[tokio::test]
async fn a_stored_page_never_runs_as_the_platform() {
    if gatehouse_tests::browser::ready().is_none() {
        return;
    }
    let s = Platform::new().endpoint("POST /api/blobs", guests::BLOB_STORE).start();
    let base = s.url("");
    let script = format!("<script>fetch('{base}/ran?' + document.domain)</script>");
    let mut urls = Vec::new();
    for (key, ty, body) in [
        ("page.html", "text/html", format!("<!doctype html><html><body>hi{script}</body></html>")),
        (
            "image.svg",
            "image/svg+xml",
            format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>fetch('{base}/ran?svg')</script></svg>"),
        ),
        ("note.txt", "text/plain", format!("plain {script}")),
    ] {
        assert_eq!(op(&s, "/api/blobs", put(key, ty, body.as_bytes())).await.0, 200);
        let (_, got) = op(&s, "/api/blobs", json!({"op": "url", "key": key, "expiresIn": 600})).await;
        urls.push(got["url"].as_str().unwrap().to_string());
    }
    let mut args = vec![base.clone()];
    args.extend(urls.iter().cloned());
    let (ok, out) = gatehouse_tests::browser::run("blob_pages.mjs", &args).await;
    assert!(ok, "{out}");
    assert!(out.contains("scripts ran: 0"), "{out}");
    let line = |key: &str| out.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("{key}: {out}")).to_string();
    assert!(line("page.html").contains(" downloaded "), "{out}");
    assert!(line("image.svg").contains(" downloaded "), "{out}");
    assert!(line("note.txt").contains(" shown ") && line("note.txt").contains("plain"), "{out}");
}
