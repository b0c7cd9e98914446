//! Builds every test guest (tests/guests) and example endpoint (endpoints/) for
//! wasm32-wasip2 into target/guests, and writes `guests.rs`: one constant per
//! test guest plus `foreach_guest!`, which the tests use to prove that every
//! guest has a test of its name.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let build_dir = root.join("target").join("guests");
    for watched in ["tests/guests", "endpoints", "guest-sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_target();
    cargo_build(&root.join("tests/guests/Cargo.toml"), &build_dir);
    cargo_build(&root.join("endpoints/Cargo.toml"), &build_dir);

    let mut guests: Vec<String> = std::fs::read_dir(root.join("tests/guests"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    guests.sort();

    let wasm_dir = build_dir.join(TARGET).join("release");
    let mut out = String::new();
    out.push_str(&format!(
        "/// cargo's target dir for guests (pass as GATEHOUSE_BUILD_DIR).\npub const BUILD_DIR: &str = {:?};\n",
        build_dir.display().to_string()
    ));
    out.push_str(&format!("/// The repository root.\npub const REPO_ROOT: &str = {:?};\n", root.display().to_string()));
    for g in &guests {
        let path = wasm_dir.join(format!("{g}.wasm"));
        assert!(path.is_file(), "guest {g} did not produce {}", path.display());
        out.push_str(&format!(
            "/// The `{g}` test guest.\npub const {}: &str = {:?};\n",
            g.to_uppercase(),
            path.display().to_string()
        ));
    }
    out.push_str("/// Calls `$m!(guest_name)` for every test guest.\n#[macro_export]\nmacro_rules! foreach_guest {\n    ($m:ident) => {\n");
    for g in &guests {
        out.push_str(&format!("        $m!({g});\n"));
    }
    out.push_str("    };\n}\n");
    std::fs::write(PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("guests.rs"), out).unwrap();
}

fn ensure_target() {
    let Ok(out) = Command::new("rustup").args(["target", "list", "--installed"]).output() else { return };
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET) {
        return;
    }
    let status = Command::new("rustup").args(["target", "add", TARGET]).status();
    assert!(matches!(status, Ok(s) if s.success()), "`rustup target add {TARGET}` failed; run it and retry");
}

fn cargo_build(manifest: &Path, target_dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--workspace", "--target", TARGET, "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    // The outer build's flags and target must not leak into the guest build.
    for var in
        ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER"]
    {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo for the guests");
    assert!(status.success(), "building guests from {} failed", manifest.display());
}
