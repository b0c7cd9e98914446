//! `gatehouse new` and `gatehouse build`: start an endpoint in any language,
//! and build every endpoint of the config, whatever its language, showing
//! progress and each failure's compiler message.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::fail;
use crate::config::PlatformConfig;
use crate::registry::{Language, build_component};

/// `rust`, `python` or `js`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum Lang {
    Rust,
    Python,
    Js,
}

const PYTHON_HELLO: &str = r#""""`@ROUTE@`: @NAME@, a Python endpoint."""

from gatehouse import Request, endpoint, ok


@endpoint
def handle(req: Request):
    name = req.query("name") or "World"
    return ok({"message": f"Hello, {name}!"})
"#;

const JS_HELLO: &str = r#"// `@ROUTE@`: @NAME@, a JavaScript endpoint.
import { endpoint, ok } from "./gatehouse.js";

export const handler = endpoint((req) => {
  const name = req.query("name") ?? "World";
  return ok({ message: `Hello, ${name}!` });
});
"#;

const RUST_HELLO: &str = r#"//! `@ROUTE@`: @NAME@, a Rust endpoint.

use gatehouse_sdk::{Error, Request, Response, json, ok};

fn handle(req: Request) -> Result<Response, Error> {
    let name = req.query("name").unwrap_or("World");
    ok(json!({ "message": format!("Hello, {name}!") }))
}

gatehouse_sdk::endpoint!(handle);

// `cargo test` runs these without the platform: gatehouse_sdk::testing answers
// every SDK call (the caller, config, an SQLite database, mocked upstreams).
#[cfg(test)]
mod tests {
    use gatehouse_sdk::Request;
    use gatehouse_sdk::testing::TestPlatform;

    #[test]
    fn greets_by_name() {
        let p = TestPlatform::open();
        let r = p.call(super::handle, Request::new("@METHOD@", "@PATH@").with_query("name", "Ada"));
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["data"]["message"], "Hello, Ada!");
    }
}
"#;

/// A passing test of the new endpoint, for `gatehouse test`.
const TEST_FILE: &str = r#"# `gatehouse test` runs these against a platform started for them: the real
# gate, this endpoint's real component, a throwaway database and any mock
# upstreams declared here ([[mock]]). `expect.json` matches as a subset.

[[test]]
name = "@NAME@ greets the world"
request = { method = "@METHOD@", path = "@PATH@" }
expect = { status = 200, headers = { content-type = "application/json" }, json = { success = true, data = { message = "Hello, World!" } } }

[[test]]
name = "@NAME@ greets by name"
request = { method = "@METHOD@", path = "@PATH@", query = { name = "Ada" } }
expect = { status = 200, json = { data = { message = "Hello, Ada!" } } }
"#;

/// The Rust SDK this binary was built with (its source folder), for new Rust endpoints.
fn rust_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk").canonicalize().unwrap_or_default()
}

/// Creates `endpoints/<name>` next to the config and routes it at `route`.
pub(super) fn new(config_path: &Path, name: &str, lang: Lang, route: Option<String>) -> std::process::ExitCode {
    if !crate::config::valid_name(name) {
        return fail(format!(
            "`{name}` is not an endpoint name: lower-case letters, digits and -, starting with a letter"
        ));
    }
    let base = config_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = base.join("endpoints").join(name);
    if dir.exists() {
        return fail(format!("{} exists already; pick another name", dir.display()));
    }
    let route = route.unwrap_or_else(|| format!("GET /api/{name}"));
    if let Err(e) = crate::config::RoutePattern::parse(&route) {
        return fail(format!("--route {route}: {e}"));
    }
    let (method, path) = route.split_once(' ').unwrap_or(("GET", "/"));
    // A `{param}` segment gets an example value, in the tests written below.
    let path: Vec<String> =
        path.split('/').map(|s| if s.starts_with('{') { "example".to_string() } else { s.to_string() }).collect();
    let path = path.join("/");
    let fill = |template: &str| {
        template.replace("@ROUTE@", &route).replace("@NAME@", name).replace("@METHOD@", method).replace("@PATH@", &path)
    };
    let files: Vec<(&str, String)> = match lang {
        Lang::Python => vec![("app.py", fill(PYTHON_HELLO))],
        Lang::Js => vec![("index.js", fill(JS_HELLO))],
        Lang::Rust => {
            let sdk = rust_sdk();
            if !sdk.join("Cargo.toml").is_file() {
                return fail(format!(
                    "the Rust SDK is not at {}; new Rust endpoints need a checkout of gatehouse's guest-sdk",
                    sdk.display()
                ));
            }
            vec![
                (
                    "Cargo.toml",
                    format!(
                        "[package]\nname = \"{}\"\nedition = \"2024\"\nversion = \"0.1.0\"\npublish = false\n\n\
                         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\ngatehouse-sdk = {{ path = {:?} }}\n\n\
                         [profile.release]\nopt-level = \"s\"\n\n# An endpoint is built on its own.\n[workspace]\n",
                        name.replace('-', "_"),
                        sdk.display().to_string()
                    ),
                ),
                ("src/lib.rs", fill(RUST_HELLO)),
            ]
        }
    };
    for (file, text) in &files {
        let path = dir.join(file);
        if let Err(e) =
            std::fs::create_dir_all(path.parent().unwrap_or(&dir)).and_then(|()| std::fs::write(&path, text))
        {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
    }
    let test_file = base.join("tests").join(format!("{name}.toml"));
    if !test_file.exists() {
        let text = fill(TEST_FILE);
        if let Err(e) = std::fs::create_dir_all(base.join("tests")).and_then(|()| std::fs::write(&test_file, text)) {
            return fail(format!("cannot write {}: {e}", test_file.display()));
        }
    }
    let entry = format!("\n[[endpoint]]\nroute = \"{route}\"\ncomponent = \"endpoints/{name}\"\n");
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(config_path)
        .and_then(|mut f| f.write_all(entry.as_bytes()));
    if let Err(e) = appended {
        return fail(format!("created {} but cannot add it to {}: {e}", dir.display(), config_path.display()));
    }
    println!("created {} ({:?}) and routed it in {}:", dir.display(), lang, config_path.display());
    print!("{entry}");
    println!("and a test of it in {}", test_file.display());
    println!(
        "\nnext: gatehouse test, or gatehouse build && gatehouse serve, then curl 'http://127.0.0.1:8080{}'",
        route.split_once(' ').map(|r| r.1).unwrap_or("")
    );
    std::process::ExitCode::SUCCESS
}

/// Builds every source-folder endpoint of the config, once each.
pub(super) fn build(config: &PlatformConfig) -> std::process::ExitCode {
    let mut folders: Vec<&Path> = Vec::new();
    for e in &config.endpoints {
        if Language::of(&e.component).is_some() && !folders.contains(&e.component.as_path()) {
            folders.push(&e.component);
        }
    }
    let mut failed = Vec::new();
    let total = folders.len();
    for (i, folder) in folders.iter().enumerate() {
        let language = Language::of(folder).map(Language::name).unwrap_or("?");
        eprint!("[{}/{total}] building {} ({language})… ", i + 1, folder.display());
        let _ = std::io::stderr().flush();
        let started = Instant::now();
        match build_component(folder, &config.platform.build_dir) {
            Ok(wasm) => {
                let size = std::fs::metadata(&wasm).map(|m| m.len() / 1024).unwrap_or(0);
                eprintln!("ok ({size} KB, {:.1} s)", started.elapsed().as_secs_f64());
            }
            Err(e) => {
                eprintln!("failed");
                eprintln!("{e}");
                failed.push(folder.display().to_string());
            }
        }
    }
    if failed.is_empty() {
        println!("built {total} endpoint(s)");
        std::process::ExitCode::SUCCESS
    } else {
        fail(format!("{} of {total} endpoint(s) did not build: {}", failed.len(), failed.join(", ")))
    }
}
