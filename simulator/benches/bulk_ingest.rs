//! Bulk 2.0 ingest at scale, end to end over HTTP: a 1,000,000-row Account insert (~100 MB of CSV,
//! generated and streamed as it is uploaded) through create job → PUT → UploadComplete → polling,
//! then a check that every row landed. Prints upload and processing times and the process's peak
//! resident memory (VmHWM), which includes the org's rows and the change log (CDC) they produce.
//!
//! Run with `benches/bulk_ingest.sh` (or `cargo bench -p simulator --bench bulk_ingest`);
//! `BULK_ROWS` changes the row count, `BULK_CHANGE_LOG` the change log's capacity. Target: under 60 s and under 2 GiB on a 2-core machine.

use futures::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// One CSV row of about 100 bytes (Name, External_Id__c, Phone, Website, Region__c,
/// NumberOfEmployees, Description).
fn row(i: usize) -> String {
    const REGIONS: [&str; 4] = ["AMER", "EMEA", "APAC", "LATAM"];
    format!(
        "Account {i:07},EXT-{i:08},+1 415 555 {:04},https://a{i}.example.com,{},{},Bulk benchmark row\n",
        i % 10_000,
        REGIONS[i % 4],
        i % 5_000
    )
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn run(rows: usize) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut config = simulator::SimConfig::default();
    // `BULK_CHANGE_LOG=N` bounds the org's change log (CDC replay buffer), to measure its share of
    // memory; the default keeps Salesforce's behaviour of one change per committed row.
    if let Some(n) = std::env::var("BULK_CHANGE_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.org.change_log_capacity = n;
    }
    let state = simulator::SimState::new(config)?;
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim = simulator::start(state.clone(), http, None, &[]).await?;
    let base = sim.http_url();
    let client = reqwest::Client::builder().no_proxy().build()?;
    let token: Value = client
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "sfchaos-client"),
            ("client_secret", "sfchaos-secret"),
            ("username", "admin@sfchaos.test"),
            ("password", "sfchaos"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or("no token")?
        .to_string();
    let api = format!("{base}/services/data/v62.0/jobs/ingest");
    let job: Value = client
        .post(&api)
        .bearer_auth(&token)
        .json(&json!({"object": "Account", "operation": "insert", "lineEnding": "LF"}))
        .send()
        .await?
        .json()
        .await?;
    let id = job["id"].as_str().ok_or("no job id")?.to_string();

    let header = "Name,External_Id__c,Phone,Website,Region__c,NumberOfEmployees,Description\n";
    let bytes = header.len() + (0..rows).map(|i| row(i).len()).sum::<usize>();
    // Stream the file in 1,000-row pieces, as jsforce does, so the client holds none of it.
    let pieces = futures::stream::iter(std::iter::once(header.to_string()).chain(
        (0..rows.div_ceil(1_000)).map(move |c| {
            (c * 1_000..((c + 1) * 1_000).min(rows))
                .map(row)
                .collect::<String>()
        }),
    ))
    .map(|s| Ok::<_, std::io::Error>(bytes::Bytes::from(s)));
    let t0 = Instant::now();
    let put = client
        .put(format!("{api}/{id}/batches"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(reqwest::Body::wrap_stream(pieces))
        .send()
        .await?;
    if put.status() != 201 {
        return Err(format!("upload answered {}: {}", put.status(), put.text().await?).into());
    }
    let uploaded = t0.elapsed();
    client
        .patch(format!("{api}/{id}"))
        .bearer_auth(&token)
        .json(&json!({"state": "UploadComplete"}))
        .send()
        .await?;
    let t1 = Instant::now();
    let info = loop {
        let info: Value = client
            .get(format!("{api}/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        match info["state"].as_str() {
            Some("JobComplete") | Some("Failed") | Some("Aborted") => break info,
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
        if t1.elapsed() > Duration::from_secs(600) {
            return Err("job still running after 10 minutes".into());
        }
    };
    let processed = t1.elapsed();
    let total = t0.elapsed();
    let org = state.default_org();
    let live = {
        let data = org.data.read();
        data.live_count(data.schema.object_index("Account").ok_or("no Account")?)
    };
    println!("rows                 {rows}");
    println!(
        "csv bytes            {bytes} ({:.1} MB)",
        bytes as f64 / 1e6
    );
    println!("upload               {:.2} s", uploaded.as_secs_f64());
    println!(
        "processing           {:.2} s (state {}, {} processed, {} failed)",
        processed.as_secs_f64(),
        info["state"],
        info["numberRecordsProcessed"],
        info["numberRecordsFailed"]
    );
    println!("total                {:.2} s", total.as_secs_f64());
    println!(
        "throughput           {:.0} rows/s",
        rows as f64 / total.as_secs_f64()
    );
    println!("accounts in org      {live}");
    println!("change log entries   {}", org.changes.len());
    println!("peak RSS (VmHWM)     {} MB", status_kb("VmHWM:") / 1024);
    println!("RSS at end (VmRSS)   {} MB", status_kb("VmRSS:") / 1024);
    if info["state"] != "JobComplete" || live != rows || info["numberRecordsFailed"] != 0 {
        return Err(format!("the job did not load every row: {info}").into());
    }
    sim.shutdown().await?;
    Ok(())
}

fn main() {
    let rows = std::env::var("BULK_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // `cargo test --benches` runs bench targets once as a smoke test: keep that small.
    let rows = if std::env::args().any(|a| a == "--bench") {
        rows
    } else {
        rows.min(2_000)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(run(rows)) {
        eprintln!("bulk_ingest failed: {e}");
        std::process::exit(1);
    }
}
