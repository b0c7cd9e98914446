//! Each SDK's own helpers for testing a handler without the platform, run the
//! way an author runs them. Python: `gatehouse.testing` under unittest (pytest
//! runs the same file); JavaScript: `@gatehouse/sdk/testing` under `node
//! --test`. Each on the posts example unchanged and on a handler per capability.

use std::process::{Command, Output};

use gatehouse_tests::guests;

/// Runs `program args` in `dir` (relative to the repository), or `None` (after
/// one printed line) when the program is missing on a machine that is not CI.
fn run(program: &str, args: &[&str], dir: &str) -> Option<Output> {
    match Command::new(program).args(args).current_dir(std::path::Path::new(guests::REPO_ROOT).join(dir)).output() {
        Ok(out) => Some(out),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("CI needs {program}: {e}"),
        Err(e) => {
            println!("skipping: cannot run {program} ({e})");
            None
        }
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_python_sdk_tests_a_handler_without_the_platform() {
    let Some(out) = run("python3", &["-m", "unittest", "discover", "-v", "guest-sdk/python/tests"], ".") else {
        return;
    };
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("PostsExample.test_a_caller_creates_reads_and_deletes_only_its_own_post) ... ok"), "{text}");
    assert!(text.contains("Ran 12 tests") && text.trim_end().ends_with("OK"), "{text}");
}

#[test]
fn the_javascript_sdk_tests_a_handler_without_the_platform() {
    // The package's own dependency (sql.js, SQLite for the stand-in database), from its lock file.
    let Some(install) = run("npm", &["ci", "--no-audit", "--no-fund"], "guest-sdk/js") else {
        return;
    };
    assert!(install.status.success(), "npm ci in guest-sdk/js: {}", text(&install));
    let out = run("node", &["--test", "test/"], "guest-sdk/js").expect("node runs when npm does");
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("ok 1 - a caller creates, reads and deletes only its own post (the posts example)"),
        "{text}"
    );
    assert!(text.contains("# pass 14") && text.contains("# fail 0"), "{text}");
}

#[test]
fn the_rust_sdk_tests_a_handler_without_the_platform() {
    // The examples' own `#[cfg(test)]` modules, as an author runs them: a
    // native `cargo test` of the endpoints workspace, in a target dir of its
    // own (this test runs while the outer cargo holds target/debug).
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::path::Path::new(guests::REPO_ROOT).join("target/native-endpoints");
    let target = target.to_string_lossy();
    let args = [
        "test",
        "--manifest-path",
        "endpoints/Cargo.toml",
        "-p",
        "posts",
        "-p",
        "notifications",
        "--target-dir",
        &target,
    ];
    let out = run(&cargo, &args, ".").expect("cargo runs these tests");
    let text = text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("test tests::a_caller_creates_reads_and_deletes_only_its_own_post ... ok"), "{text}");
    assert!(text.contains("test tests::streams_the_documented_events_until_the_client_leaves ... ok"), "{text}");
}
