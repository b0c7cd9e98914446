//! Compiling an uploaded component is untrusted work: a tenant chooses the
//! input, and Cranelift's time grows with it. Cranelift cannot be interrupted,
//! so a compile with a deadline runs in a child process of this same binary
//! (`gatehouse __compile-component`), which is killed at the deadline: a
//! compile that times out stops consuming CPU at once.
//!
//! The child builds an engine with exactly the parent's configuration (the
//! same `SandboxSettings`), reads the component on stdin and writes
//! wasmtime's precompiled artifact on stdout. The parent deserialises it like
//! any artifact of its cache; wasmtime's header check refuses one built for
//! another engine configuration.
//!
//! Without a child binary (the benchmark and unit tests embed the platform in
//! a process of their own) a compile runs on a thread, and a timed-out one
//! finishes in the background.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::SandboxSettings;

/// The hidden subcommand a compile child runs.
pub const COMPILE_SUBCOMMAND: &str = "__compile-component";

/// How often the parent looks at its child while it compiles.
const POLL: Duration = Duration::from_millis(5);

static CHILD_BINARY: OnceLock<PathBuf> = OnceLock::new();

/// Makes deadline-bound compiles run in children of `binary` (this program,
/// which must dispatch [`COMPILE_SUBCOMMAND`] to [`run_child`]).
pub fn compile_in_children(binary: PathBuf) {
    let _ = CHILD_BINARY.set(binary);
}

/// The binary compile children run, if set.
pub(crate) fn child_binary() -> Option<&'static Path> {
    CHILD_BINARY.get().map(PathBuf::as_path)
}

/// The arguments that give a child the parent's engine configuration.
fn child_args(settings: SandboxSettings) -> [String; 3] {
    [COMPILE_SUBCOMMAND.into(), settings.max_instances.to_string(), settings.max_memory_bytes.to_string()]
}

/// Compiles `wasm` in a child of `binary`, killed after `timeout`.
pub(crate) fn compile_in_child(
    binary: &Path,
    settings: SandboxSettings,
    wasm: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let mut child = Command::new(binary)
        .args(child_args(settings))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a compile process: {e}"))?;
    let deadline = Instant::now() + timeout;
    // Pipes are drained on threads of their own, so neither side blocks the other.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = wasm.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stderr.read_to_string(&mut out);
        out
    });
    let status = loop {
        match child.try_wait().map_err(|e| format!("cannot wait for the compile process: {e}"))? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "did not compile within {} s (sandbox.compile_timeout); make the component smaller",
                    timeout.as_secs_f64()
                ));
            }
            // A blocking thread (loading is never on the async workers): a short sleep is the wait.
            None => std::thread::sleep(POLL),
        }
    };
    let _ = writer.join();
    let artifact = reader.join().map_err(|_| "the compile output reader failed".to_string())?;
    let problem = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(problem.trim().to_string());
    }
    artifact.map_err(|e| format!("cannot read the compiled component: {e}"))
}

/// The child's side: stdin → precompiled artifact on stdout. `args` are the
/// ones [`child_args`] wrote after the subcommand.
pub fn run_child(args: &[String]) -> ExitCode {
    let parsed = match args {
        [instances, memory] => instances.parse::<u32>().ok().zip(memory.parse::<usize>().ok()),
        _ => None,
    };
    let Some((max_instances, max_memory_bytes)) = parsed else {
        eprintln!("usage: gatehouse {COMPILE_SUBCOMMAND} <max-instances> <max-memory-bytes> < component.wasm");
        return ExitCode::from(2);
    };
    let settings =
        SandboxSettings { max_instances, max_memory_bytes, queue_timeout: Duration::ZERO, ready_instances: 0 };
    let mut wasm = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut wasm) {
        eprintln!("cannot read the component: {e}");
        return ExitCode::FAILURE;
    }
    let compiled = wasmtime::Engine::new(&super::engine::engine_config(settings))
        .and_then(|engine| engine.precompile_component(&wasm));
    match compiled {
        Ok(bytes) => match std::io::stdout().write_all(&bytes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cannot write the compiled component: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
