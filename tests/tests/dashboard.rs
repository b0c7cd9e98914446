//! The admin dashboard in a real browser (headless Chromium): sign in with
//! the admin token, create a tenant, deploy an app through the CLI, see it
//! listed, roll it back from the page, create a key, set a secret, and watch
//! a request's log line and its traffic arrive. And, without a browser, what
//! a forged or stale form and a missing session get.

use gatehouse_tests::{ADMIN_TOKEN, Platform, browser, client, example_path, guests};

fn platform() -> Platform {
    Platform::new().admin().endpoint("GET /hello", &example_path("hello"))
}

/// Deploys the `printer` app (the stdout/log guest at `GET /print`) to
/// `tenant` through the CLI; `note` makes each deploy's bundle differ.
fn deploy(s: &gatehouse_tests::Server, tenant: &str, note: &str) {
    let app = tempfile::tempdir().unwrap();
    std::fs::copy(guests::STDOUT_LOG, app.path().join("printer.wasm")).unwrap();
    std::fs::write(
        app.path().join("gatehouse.toml"),
        "[app]\nname = \"printer\"\n\n[[endpoint]]\nroute = \"GET /print\"\ncomponent = \"printer.wasm\"\n",
    )
    .unwrap();
    std::fs::write(app.path().join("NOTE.txt"), note).unwrap();
    let server = s.admin.clone().unwrap();
    let dir = app.path().to_str().unwrap();
    let (ok, out, err) = s.cli(&["deploy", dir, "--tenant", tenant, "--server", &server, "--token", ADMIN_TOKEN]);
    assert!(ok, "{out}\n{err}");
}

/// Where the screenshots go: `docs/` with `UPDATE_SCREENSHOTS=1`, else a
/// temporary folder (they are still taken, and checked to be there).
fn shots() -> (std::path::PathBuf, Option<tempfile::TempDir>) {
    if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        (gatehouse_tests::repo_path("docs").into(), None)
    } else {
        let dir = tempfile::tempdir().unwrap();
        (dir.path().to_path_buf(), Some(dir))
    }
}

async fn script(step: &str, s: &gatehouse_tests::Server, tenant: &str, shots: &std::path::Path) -> String {
    let args = [
        step.to_string(),
        s.admin.clone().unwrap(),
        ADMIN_TOKEN.to_string(),
        tenant.to_string(),
        s.base.clone(),
        format!("/t/{tenant}/print"),
    ];
    let (ok, out) = browser::run_with_env("dashboard.mjs", &args, &[("SHOTS", shots.as_os_str())]).await;
    assert!(ok, "the dashboard's {step} step failed:\n{out}");
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_runs_a_tenant_from_the_dashboard() {
    let Some(()) = browser::ready() else { return };
    let s = platform().start();
    let (shots, _keep) = shots();
    let tenant = "acme";

    let out = script("create", &s, tenant, &shots).await;
    assert!(out.contains("ok: creating acme leads to its page"), "{out}");
    let (status, body) = s.admin_call(reqwest::Method::GET, "/admin/v1/tenants/acme", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["settings"]["quotas"]["memoryMb"], 64, "{body}");

    deploy(&s, tenant, "first");
    deploy(&s, tenant, "second");
    let out = script("operate", &s, tenant, &shots).await;
    // What the page did is what the platform now does.
    let (_, apps) = s.admin_call(reqwest::Method::GET, "/admin/v1/tenants/acme/apps", None).await;
    assert_eq!(apps["data"][0]["activeVersion"], 1, "{apps}");
    let key = out.lines().find_map(|l| l.strip_prefix("KEY=")).expect("the script prints the new key");
    let (_, keys) = s.admin_call(reqwest::Method::GET, "/admin/v1/keys?tenant=acme", None).await;
    assert!(keys["data"].as_array().unwrap().iter().any(|k| k["name"] == "ci" && k["scopes"][0] == "read"), "{keys}");
    assert!(key.starts_with("sk_live_"));
    let (_, secrets) = s.admin_call(reqwest::Method::GET, "/admin/v1/secrets?tenant=acme", None).await;
    assert_eq!(secrets["data"][0]["name"], "STRIPE_KEY", "{secrets}");
    for name in ["login", "tenants", "tenant", "limits"] {
        let file = shots.join(format!("dashboard-{name}.png"));
        assert!(std::fs::metadata(&file).is_ok_and(|m| m.len() > 10_000), "no screenshot {}", file.display());
    }
}

/// Signs in without a browser: the session cookie, and a page's CSRF token.
async fn sign_in(s: &gatehouse_tests::Server) -> (String, String) {
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = no_redirects
        .post(s.admin_url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = client().get(s.admin_url("/")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    (cookie, csrf)
}

#[tokio::test]
async fn forged_stale_and_anonymous_requests_change_nothing() {
    let s = platform().start();
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // No session: every page sends the browser to sign in, every change is refused.
    let resp = no_redirects.get(s.admin_url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/login");
    let resp = no_redirects.post(s.admin_url("/ui/tenants")).body("name=evil").send().await.unwrap();
    assert_eq!(resp.status(), 303);
    // A wrong token signs nobody in.
    let resp = no_redirects
        .post(s.admin_url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=wrong-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("set-cookie").is_none());
    // An anonymous login form is bounded like every form.
    let resp = no_redirects
        .post(s.admin_url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", "x".repeat(1 << 20)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);

    let (cookie, csrf) = sign_in(&s).await;
    let post = |body: String, origin: Option<&'static str>| {
        let mut req = no_redirects
            .post(s.admin_url("/ui/tenants"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    // A form without the session's CSRF token (a forged one), or from another origin: refused.
    assert_eq!(post("name=forged".into(), None).await.unwrap().status(), 403);
    assert_eq!(post(format!("name=forged&csrf={}", "0".repeat(64)), None).await.unwrap().status(), 403);
    assert_eq!(post(format!("name=forged&csrf={csrf}"), Some("http://evil.example")).await.unwrap().status(), 403);
    let (_, tenants) = s.admin_call(reqwest::Method::GET, "/admin/v1/tenants", None).await;
    assert!(!tenants.to_string().contains("forged"), "{tenants}");
    // The real form works, and the page's headers keep it from being framed or leaking.
    let resp = post(format!("name=real&csrf={csrf}"), None).await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/ui/tenants/real");
    let page = client().get(s.admin_url("/ui/tenants/real")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    // A name a tenant could choose is escaped wherever the page shows it.
    let resp = post(format!("name=%3Cscript%3E&csrf={csrf}"), None).await.unwrap();
    let text = resp.text().await.unwrap();
    assert!(!text.contains("<script>") && text.contains("&lt;script&gt;"), "{text}");
    // Signing out ends the session.
    let resp = no_redirects
        .post(s.admin_url("/logout"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let resp = no_redirects.get(s.admin_url("/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(resp.headers()["location"], "/login");
}
