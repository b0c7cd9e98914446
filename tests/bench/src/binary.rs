//! The platform as users run it: the `gatehouse` binary (`gatehouse serve`)
//! in a process of its own, with its default logging (an access line per
//! request, info level) going to a file, serving the same hello. The other
//! rows run the server in the benchmark's process without a log subscriber;
//! this one shows what the shipped binary adds or saves beside them.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `gatehouse serve` child process, killed on drop.
pub(crate) struct Binary {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// From the spawn to the "listening" line.
    pub(crate) started_in: Duration,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Binary {
    /// The process's resident memory now, in KiB (Linux: `/proc/<pid>/status`).
    pub(crate) fn rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

/// Builds the binary (cargo's own, already-built profile: a no-op when it is
/// fresh) and answers its path.
pub(crate) fn build(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "-q", "-p", "gatehouse", "--bin", "gatehouse"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !built.success() {
        return Err("cargo build -p gatehouse failed".into());
    }
    Ok(root.join("target/debug/gatehouse"))
}

/// Builds the binary and serves `endpoints/hello` at `GET /api/hello` with
/// it, or says why not.
pub(crate) fn start(root: &Path) -> Result<Binary, String> {
    let binary = build(root)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = dir.path().join("platform.toml");
    let hello = root.join("endpoints/hello");
    std::fs::write(
        &config,
        format!("[[endpoint]]\nroute = \"GET /api/hello\"\ncomponent = {:?}\n", hello.display().to_string()),
    )
    .map_err(|e| e.to_string())?;
    let mut served = serve(root, &binary, &config, &dir.path().join("data"), &dir.path().join("gatehouse.log"))?;
    served._dir = Some(dir);
    Ok(served)
}

/// Runs `gatehouse serve --config <config>` on a free loopback port with its
/// data in `data` and its log (default level) in `log`, and waits for its
/// "listening" line.
pub(crate) fn serve(root: &Path, binary: &Path, config: &Path, data: &Path, log: &Path) -> Result<Binary, String> {
    let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let addr = super::peer::free_addr()?;
    let spawned = Instant::now();
    let mut child = Command::new(binary)
        .args(["serve", "--config"])
        .arg(config)
        .env("GATEHOUSE_LISTEN", addr.to_string())
        .env("GATEHOUSE_DATA_DIR", data)
        .env("GATEHOUSE_BUILD_DIR", root.join("target/guests"))
        .env("GATEHOUSE_CACHE_DIR", root.join("target/guests/cwasm-cache"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the gatehouse binary: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut binary = Binary { child, addr, started_in: Duration::ZERO, _dir: None };
    // The binary prints this exact line once it listens (tests wait for it too).
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("gatehouse listening on") => break,
            Some(Ok(_)) => continue,
            _ => return Err("the gatehouse binary stopped before listening (see its log)".into()),
        }
    }
    binary.started_in = spawned.elapsed();
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    super::peer::wait_listening(addr, Duration::from_secs(10), "the gatehouse binary")?;
    Ok(binary)
}
