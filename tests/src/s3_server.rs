//! An S3-compatible server on loopback for the object-storage tests: moto's
//! (`moto[server]` in tests/tools/requirements.txt, installed by
//! [`python_tools`](crate::python_tools) like the other Python tools). Each
//! test starts its own on a free port and it stops when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The credentials the tests configure (moto accepts any).
pub const ACCESS_KEY_ID: &str = "gatehouse-test-key";
/// See [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "gatehouse-test-secret";
/// How long moto may take to start, at most (a liveness bound, not a speed target).
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// A running moto server.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl S3Server {
    /// Starts one, or `None` (with one printed line) where the Python tools
    /// cannot be installed; under CI that is a failure.
    pub fn start() -> Option<Self> {
        let bin = crate::python_tools::bin()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(bin.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting moto_server");
        // Ready when it says it is running; its log goes on to the test's stderr.
        let stderr = child.stderr.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Running on")
                    && let Some(tx) = ready.take()
                {
                    let _ = tx.send(());
                }
                eprintln!("moto: {line}");
            }
        });
        let started = Instant::now();
        if ready_rx.recv_timeout(STARTUP_DEADLINE).is_err() {
            let _ = child.kill();
            panic!("moto_server did not start within {:?}", started.elapsed());
        }
        Some(Self { child, endpoint: format!("http://127.0.0.1:{port}") })
    }

    /// The `[blobs.s3]` keys for `bucket` on this server, and the `[secrets]`
    /// that its key names resolve to.
    pub fn blobs_section(&self, bucket: &str) -> Vec<(&'static str, String)> {
        vec![
            ("endpoint", crate::config::quote(&self.endpoint)),
            ("bucket", crate::config::quote(bucket)),
            ("access_key_id", "\"S3_ACCESS_KEY_ID\"".into()),
            ("secret_access_key", "\"S3_SECRET_ACCESS_KEY\"".into()),
        ]
    }

    /// The `[secrets]` section's entries for [`Self::blobs_section`].
    pub fn secrets() -> Vec<(&'static str, String)> {
        vec![
            ("S3_ACCESS_KEY_ID", crate::config::quote(ACCESS_KEY_ID)),
            ("S3_SECRET_ACCESS_KEY", crate::config::quote(SECRET_ACCESS_KEY)),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
