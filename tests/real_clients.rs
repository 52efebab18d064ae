//! Fidelity: unmodified simple-salesforce and jsforce against the simulator (issue: simulator core).

mod common;

use common::{require_node_client, require_python_client, root, run_script, TestSim};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_salesforce_over_https() {
    require_python_client();
    let sim = TestSim::start().await;
    let env = sim.client_env(&sim.https_url());
    let run = run_script(
        "python3",
        &root().join("tests/clients/python/test_core.py"),
        &env,
        LIMIT,
    )
    .await;
    run.assert_passed("simple-salesforce core checks");
    assert!(run
        .stdout
        .contains("ok revoked session raises SalesforceExpiredSession"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsforce_over_http() {
    require_node_client();
    let sim = TestSim::start().await;
    let env = sim.client_env(&sim.http_url());
    let run = run_script(
        "node",
        &root().join("tests/clients/node/core.test.mjs"),
        &env,
        LIMIT,
    )
    .await;
    run.assert_passed("jsforce core checks over HTTP");
    assert!(run.stdout.contains("ok re-login after revoked session"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsforce_over_https() {
    require_node_client();
    let sim = TestSim::start().await;
    let env = sim.client_env(&sim.https_url());
    let run = run_script(
        "node",
        &root().join("tests/clients/node/core.test.mjs"),
        &env,
        LIMIT,
    )
    .await;
    run.assert_passed("jsforce core checks over HTTPS");
    sim.shutdown().await;
}
