//! Test harness: runs the real `gatehouse` main as a child process on a
//! loopback port, with a config written for the test, and captures its log.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Paths of the built guests; see build.rs.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// How long a server may take to build and compile its endpoints on first start.
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

/// The server binary built next to the running test binary.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join(format!("gatehouse-under-test{}", std::env::consts::EXE_SUFFIX))
}

fn command(subcommand: &str, config: &str) -> (Command, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("platform.toml");
    std::fs::write(&config_path, config).expect("writing config");
    let mut cmd = Command::new(binary());
    cmd.arg(subcommand)
        .arg("--config")
        .arg(&config_path)
        .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_DATA_DIR", dir.path().join("data"))
        .env("GATEHOUSE_BUILD_DIR", guests::BUILD_DIR)
        .env("GATEHOUSE_CACHE_DIR", PathBuf::from(guests::BUILD_DIR).join("cwasm-cache"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    (cmd, dir)
}

/// `component = "..."` for a guest path, TOML-quoted.
pub fn component(path: &str) -> String {
    format!("{path:?}")
}

/// The repository's own platform.toml, with its relative paths made absolute.
pub fn repo_config() -> String {
    let text = std::fs::read_to_string(PathBuf::from(guests::REPO_ROOT).join("platform.toml")).expect("platform.toml");
    text.replace("component = \"endpoints/", &format!("component = \"{}/endpoints/", guests::REPO_ROOT))
}

impl Server {
    /// Starts a server with `config` (a platform.toml text) and waits until it listens.
    pub fn start(config: &str) -> Server {
        let (mut cmd, dir) = command("serve", config);
        let mut child = cmd.spawn().expect("spawning gatehouse");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("gatehouse listening on ") {
                        let _ = tx.send(addr.to_string());
                    }
                    log.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    log.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(base) => Server { child, base, log, _dir: dir },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("gatehouse did not start listening; its log:\n{}", log.lock().unwrap());
            }
        }
    }

    /// A full URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains every one of `needles`, or `timeout` passes.
    pub fn wait_for_log(&self, needles: &[&str], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if needles.iter().all(|n| log.contains(n)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a server that is expected to refuse to start: its exit status, stdout and stderr.
pub fn run_expecting_exit(config: &str) -> (ExitStatus, String, String) {
    run_to_exit("serve", config)
}

/// Runs `gatehouse <subcommand> --config <config>` to its end: exit status, stdout, stderr.
pub fn run_to_exit(subcommand: &str, config: &str) -> (ExitStatus, String, String) {
    let (mut cmd, _dir) = command(subcommand, config);
    let out = cmd.output().expect("running gatehouse");
    (out.status, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// An async HTTP client with no proxy and no connection reuse surprises.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().expect("client")
}

/// The JSON body of a response.
pub async fn json(resp: reqwest::Response) -> serde_json::Value {
    let text = resp.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
