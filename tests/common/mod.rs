//! Shared helpers for the end-to-end tests: an in-process simulator on loopback, and a runner for the
//! real-client scripts under `tests/clients/`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A simulator serving HTTP and HTTPS on ephemeral loopback ports, with its CA written to a file.
pub struct TestSim {
    pub running: simulator::Running,
    pub dir: tempfile::TempDir,
    pub ca_file: PathBuf,
}

impl TestSim {
    pub async fn start() -> TestSim {
        Self::with_config(simulator::SimConfig::default()).await
    }

    pub async fn with_config(mut config: simulator::SimConfig) -> TestSim {
        let dir = tempfile::tempdir().expect("temp dir");
        if config.journal_path.is_none() {
            config.journal_path = Some(dir.path().join("journal.ndjson.zst"));
        }
        let state = simulator::SimState::new(config).expect("simulator state");
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind http");
        let https = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind https");
        let running = simulator::start(state, http, Some(https), &[])
            .await
            .expect("start simulator");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &running.ca_pem).expect("write CA");
        TestSim {
            running,
            dir,
            ca_file,
        }
    }

    pub fn http_url(&self) -> String {
        self.running.http_url()
    }

    pub fn https_url(&self) -> String {
        self.running.https_url().expect("https listener")
    }

    /// The integration-contract environment (design.md §4) pointing at this simulator, with `login_url`
    /// as `SF_LOGIN_URL`.
    pub fn client_env(&self, login_url: &str) -> Vec<(String, String)> {
        let ca = self.ca_file.display().to_string();
        [
            ("SF_LOGIN_URL", login_url.to_string()),
            ("SF_INSTANCE_URL", login_url.to_string()),
            ("SF_USERNAME", "admin@sfchaos.test".to_string()),
            ("SF_PASSWORD", "sfchaos".to_string()),
            ("SF_CLIENT_ID", "sfchaos-client".to_string()),
            ("SF_CLIENT_SECRET", "sfchaos-secret".to_string()),
            ("SF_API_VERSION", "62.0".to_string()),
            ("SF_CA_FILE", ca.clone()),
            ("SSL_CERT_FILE", ca.clone()),
            ("REQUESTS_CA_BUNDLE", ca.clone()),
            ("NODE_EXTRA_CA_CERTS", ca),
            ("SFCHAOS_ADMIN_URL", format!("{}/__admin", self.http_url())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub async fn shutdown(self) {
        let _ = self.running.shutdown().await;
    }
}

/// The workspace root (where `tests/clients/` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Output of a client script.
pub struct ScriptRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl ScriptRun {
    /// Panic with the whole transcript unless the script passed.
    pub fn assert_passed(&self, what: &str) {
        assert!(
            self.success,
            "{what} failed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
    }
}

/// Run a real-client script (python or node) with `env`, bounded by `timeout`.
pub async fn run_script(
    program: &str,
    script: &Path,
    env: &[(String, String)],
    timeout: std::time::Duration,
) -> ScriptRun {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(script)
        .current_dir(script.parent().unwrap_or(Path::new(".")))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Loopback only: proxies would swallow 127.0.0.1 (jsforce ignores NO_PROXY).
    for k in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot start {program} (is it installed? run the README's test command): {e}")
    });
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => ScriptRun {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("{program} {}: {e}", script.display()),
        Err(_) => panic!(
            "{program} {} did not finish within {timeout:?}",
            script.display()
        ),
    }
}

/// Fail loudly (not skip) when a real client library is missing: a missing install step must show.
pub fn require_python_client() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import simple_salesforce"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "simple-salesforce is not installed; run the README's test command (scripts/test.sh) or \
         `pip install -r tests/clients/python/requirements.txt`"
    );
}

pub fn require_node_client() {
    let ok = root()
        .join("tests/clients/node/node_modules/jsforce")
        .exists();
    assert!(
        ok,
        "jsforce is not installed; run the README's test command (scripts/test.sh) or \
         `npm ci --prefix tests/clients/node`"
    );
}
