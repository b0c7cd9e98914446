//! `gatehouse test [PATH]`: runs an app's or a platform's declarative tests
//! (`tests/*.toml`, see `spec`) against a platform started in this process,
//! the way the endpoints will really run: the real gate (auth, scopes, rate
//! limits, schemas), their real components, a throwaway data folder (SQLite,
//! migrations applied, in-memory rate limits) and the mock upstreams the file
//! declares. Each file gets a fresh platform. Prints one line a test, then
//! `N passed, N failed`; exits 1 when any failed.

mod matching;
mod mocks;
mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::app::App;
use crate::config::{AllowedHost, AppManifest, Cidr, MANIFEST_FILE, Overrides, PlatformConfig};
use crate::identity::api_key::{KeySpec, issue};
use spec::{Case, TestFile};

/// What the tests run against.
enum Target {
    /// An app folder (`gatehouse.toml`): its endpoints, served as the config tenant's.
    App(PathBuf),
    /// A platform.toml: its endpoints.
    Platform(PathBuf),
}

impl Target {
    fn find(path: Option<PathBuf>) -> Result<Self, String> {
        let path = std::path::absolute(path.unwrap_or_else(|| PathBuf::from("."))).map_err(|e| e.to_string())?;
        if path.is_file() {
            return Ok(if path.file_name().is_some_and(|n| n == MANIFEST_FILE) {
                Self::App(path.parent().unwrap_or(&path).to_path_buf())
            } else {
                Self::Platform(path)
            });
        }
        if path.join(MANIFEST_FILE).is_file() {
            Ok(Self::App(path))
        } else if path.join("platform.toml").is_file() {
            Ok(Self::Platform(path.join("platform.toml")))
        } else {
            Err(format!(
                "{} holds neither {MANIFEST_FILE} (an app) nor platform.toml; pass an app folder or a platform.toml",
                path.display()
            ))
        }
    }

    /// The folder whose `tests/` hold the tests.
    fn dir(&self) -> &Path {
        match self {
            Self::App(dir) => dir,
            Self::Platform(file) => file.parent().unwrap_or(Path::new(".")),
        }
    }

    /// The config to serve: the target's endpoints, with a throwaway data
    /// folder, SQLite, in-memory rate limits, no admin API or exporters.
    fn config(&self, data_dir: &Path) -> Result<PlatformConfig, String> {
        let mut overrides = Overrides::from_env();
        (overrides.database_url, overrides.redis_url) = (None, None);
        overrides.listen = Some("127.0.0.1:0".into());
        let mut config = match self {
            Self::Platform(file) => PlatformConfig::load(file, &overrides).map_err(|e| e.to_string())?,
            Self::App(dir) => {
                let mut config =
                    PlatformConfig::parse(&dir.join("platform.toml"), "", &overrides).map_err(|e| e.to_string())?;
                let manifest = AppManifest::load(dir, config.limits, &BTreeMap::new()).map_err(|e| e.to_string())?;
                config.endpoints = manifest.endpoints;
                config.database.migrations = manifest.migrations;
                config
            }
        };
        config.platform.data_dir = data_dir.to_path_buf();
        (config.platform.database_url, config.platform.redis_url) = (None, None);
        config.admin.token = None;
        config.metrics.listen = None;
        config.telemetry.otlp_endpoint = None;
        Ok(config)
    }
}

/// A folder removed when dropped: each file's platform data.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let dir = std::env::temp_dir().join(format!("gatehouse-test-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tests/*.toml` under `dir`, by name, parsed.
fn test_files(dir: &Path) -> Result<Vec<(String, TestFile)>, String> {
    let folder = dir.join("tests");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map_err(|_| format!("no tests: write {}/*.toml (`gatehouse new` starts one)", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!("no tests: write {}/*.toml (`gatehouse new` starts one)", folder.display()));
    }
    names
        .iter()
        .map(|path| {
            let name = format!("tests/{}", path.file_name().unwrap_or_default().to_string_lossy());
            let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
            Ok((name.clone(), TestFile::parse(&name, &text)?))
        })
        .collect()
}

pub(super) async fn run(path: Option<PathBuf>) -> std::process::ExitCode {
    let target = match Target::find(path) {
        Ok(t) => t,
        Err(e) => return super::fail(e),
    };
    let files = match test_files(target.dir()) {
        Ok(f) => f,
        Err(e) => return super::fail(e),
    };
    let (mut passed, mut failed) = (0, 0);
    for (name, file) in &files {
        match run_file(&target, name, file).await {
            Ok((p, f)) => (passed, failed) = (passed + p, failed + f),
            Err(why) => {
                println!("✗ {name}: {why}");
                failed += file.test.len();
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}

/// Starts a platform with `file`'s mocks and runs its tests: (passed, failed).
async fn run_file(target: &Target, name: &str, file: &TestFile) -> Result<(usize, usize), String> {
    let mut running = Vec::new();
    for mock in &file.mock {
        running.push(mocks::start(mock).await?);
    }
    let scratch = Scratch::new()?;
    let mut config = target.config(&scratch.0)?;
    if !running.is_empty() {
        config.outbound.allow_private.push(Cidr::parse("127.0.0.1/32")?);
    }
    for endpoint in &mut config.endpoints {
        for mock in &running {
            endpoint.policy.allowed_hosts.push(AllowedHost::parse(&mock.url)?);
            if let Some(variable) = &mock.variable {
                endpoint.variables.insert(variable.clone(), mock.url.clone());
            }
        }
    }
    eprint!("{name}: starting the platform ({} endpoint(s))… ", config.endpoints.len());
    let started = Instant::now();
    let app = App::prepare(&config).await.map_err(|e| {
        eprintln!("failed");
        e.to_string()
    })?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    let server = tokio::spawn(async move {
        let _ = crate::server::run(listener, served, async {
            let _ = stopped.await;
        })
        .await;
    });
    eprintln!("ok ({:.1} s)", started.elapsed().as_secs_f64());
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())?;
    let mocks: Vec<(String, String)> = running.iter().map(|m| (m.name.clone(), m.url.clone())).collect();
    let (mut passed, mut failed) = (0, 0);
    for case in &file.test {
        let started = Instant::now();
        match run_case(&client, &base, &app, case, &mocks).await {
            Ok(()) => {
                passed += 1;
                println!("✓ {name}: {} ({} ms)", case.name, started.elapsed().as_millis());
            }
            Err(why) => {
                failed += 1;
                println!("✗ {name}: {}\n    {why}", case.name);
            }
        }
    }
    let _ = stop.send(());
    let _ = server.await;
    Ok((passed, failed))
}

/// `text` with each `{{mock.NAME}}` replaced by that mock's base URL.
fn fill(text: &str, mocks: &[(String, String)]) -> String {
    mocks.iter().fold(text.to_string(), |t, (name, url)| t.replace(&format!("{{{{mock.{name}}}}}"), url))
}

/// `fill` on every string of a JSON value.
fn fill_json(value: serde_json::Value, mocks: &[(String, String)]) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(fill(&s, mocks)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| fill_json(v, mocks)).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, fill_json(v, mocks))).collect()),
        other => other,
    }
}

/// Sends one test's request and checks the answer.
async fn run_case(
    client: &reqwest::Client,
    base: &str,
    app: &Arc<App>,
    case: &Case,
    mocks: &[(String, String)],
) -> Result<(), String> {
    let r = &case.request;
    let mut url = format!("{base}{}", fill(&r.path, mocks));
    if !r.query.is_empty() {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(r.query.iter().map(|(k, v)| (k.clone(), fill(v, mocks))))
            .finish();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query);
    }
    let method = reqwest::Method::from_bytes(r.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{}` is not an HTTP method", r.method))?;
    let mut request = client.request(method, url);
    for (k, v) in &r.headers {
        request = request.header(k.as_str(), fill(v, mocks));
    }
    if let Some(json) = &r.json {
        request = request.json(&fill_json(spec::json(json), mocks));
    } else if let Some(body) = &r.body {
        request = request.body(fill(body, mocks));
    }
    if let Some(auth) = &case.auth {
        let spec = KeySpec {
            tenant: app.config.platform.tenant.clone(),
            name: format!("gatehouse test: {}", case.name),
            scopes: auth.scopes.clone(),
            user_id: auth.user.clone(),
            expires_at: None,
            test: true,
        };
        let key = issue(app.identity.keys.store(), spec).await?;
        request = request.bearer_auth(key.key);
    }
    let response = request.send().await.map_err(|e| format!("the request failed: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.map_err(|e| format!("the body could not be read: {e}"))?;
    let excerpt = || body.chars().take(300).collect::<String>();
    let want = &case.expect;
    if let Some(expected) = want.status
        && status != expected
    {
        return Err(format!("status {status}, expected {expected}; body: {}", excerpt()));
    }
    for (name, expected) in &want.headers {
        let got = headers.get(name.as_str()).and_then(|v| v.to_str().ok());
        if got != Some(expected.as_str()) {
            return Err(format!(
                "header {name}: {}, expected {expected:?}",
                got.map_or("absent".into(), |g| format!("{g:?}"))
            ));
        }
    }
    if let Some(expected) = &want.json {
        let actual: serde_json::Value =
            serde_json::from_str(&body).map_err(|_| format!("the body is not JSON: {}", excerpt()))?;
        matching::json_subset(&fill_json(spec::json(expected), mocks), &actual, "")?;
    }
    if let Some(needle) = &want.body_contains
        && !body.contains(&fill(needle, mocks))
    {
        return Err(format!("the body does not contain {needle:?}: {}", excerpt()));
    }
    Ok(())
}
