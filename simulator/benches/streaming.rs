//! Streaming benchmark: CometD long-poll subscribers against the simulator (release build, served on
//! 127.0.0.1 exactly as `sfchaos sim` serves it), fed by REST writes at a fixed rate.
//!
//! ```text
//! cargo bench -p simulator --bench streaming -- throughput   # 10 subscribers, 10,000 events/s, 30 s
//! cargo bench -p simulator --bench streaming -- latency      # 10 subscribers, 1,000 events/s, 30 s
//! cargo bench -p simulator --bench streaming -- memory       # change-log memory for a 1,000,000-row insert
//! options: --rate N --secs N --subscribers N --kind cdc|event --publishers N
//! ```
//!
//! Each published event carries its sequence number (`Name = "b<i>"` for CDC, `Order_Number__c` for
//! platform events); every subscriber keeps a bitset of what it received, so losses and duplicates are
//! counted exactly. Delivery latency is measured per subscriber from the moment the publisher *sent*
//! the write (before the REST call) to the moment the connect reply carrying it was parsed — an upper
//! bound on commit-to-delivery. The publisher is open-loop: event `i` is due at `start + i/rate`, so a
//! slow server shows up as a lower achieved rate, not as hidden queueing.

use serde::Deserialize;
use simulator::org::OrgConfig;
use simulator::{SimConfig, SimState};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Options {
    mode: String,
    rate: u64,
    secs: u64,
    subscribers: usize,
    kind: Kind,
    publishers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cdc,
    Event,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        mode: "all".into(),
        rate: 0,
        secs: 30,
        subscribers: 10,
        kind: Kind::Cdc,
        publishers: 64,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match a.as_str() {
            "--bench" => {}
            "--rate" => o.rate = num("--rate")?,
            "--secs" => o.secs = num("--secs")?,
            "--subscribers" => o.subscribers = num("--subscribers")? as usize,
            "--publishers" => o.publishers = num("--publishers")? as usize,
            "--kind" => {
                o.kind = match args.next().as_deref() {
                    Some("cdc") => Kind::Cdc,
                    Some("event") => Kind::Event,
                    other => return Err(format!("--kind cdc|event, got {other:?}")),
                }
            }
            "throughput" | "latency" | "memory" | "all" => o.mode = a,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let modes: Vec<&str> = match opts.mode.as_str() {
        "all" => vec!["memory", "latency", "throughput"],
        m => vec![m],
    };
    for m in modes {
        match m {
            "memory" => memory(),
            "latency" => {
                let rate = if opts.rate == 0 { 1_000 } else { opts.rate };
                rt.block_on(run_load("latency", rate, &opts));
            }
            _ => {
                let rate = if opts.rate == 0 { 10_000 } else { opts.rate };
                rt.block_on(run_load("throughput", rate, &opts));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Load: publisher + subscribers
// ------------------------------------------------------------------------------------------------

async fn run_load(name: &str, rate: u64, opts: &Options) {
    let total = (rate * opts.secs) as usize;
    let config = SimConfig {
        journal_capacity: 10_000,
        org: OrgConfig {
            daily_api_requests: 1_000_000_000,
            ..OrgConfig::default()
        },
        ..SimConfig::default()
    };
    let state = SimState::new(config).expect("state");
    let org = state.default_org();
    state.streaming.configure_deliveries(
        &org,
        state.clock.elapsed(),
        u64::MAX / 4,
        simulator::streaming::DELIVERY_WINDOW,
        Some(0),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = simulator::start(state, listener, None, &[])
        .await
        .expect("start");
    let base = running.http_url();
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()
        .expect("http client");
    let token = login(&http, &base).await;

    let (channel, object, field) = match opts.kind {
        Kind::Cdc => ("/data/AccountChangeEvent", "Account", "Name"),
        Kind::Event => ("/event/Order_Event__e", "Order_Event__e", "Order_Number__c"),
    };
    let start = Instant::now();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let mut subs = Vec::new();
    for _ in 0..opts.subscribers {
        let mut s = Subscriber::new(http.clone(), &base, &token, channel, total);
        s.handshake().await;
        s.subscribe(-1).await;
        s.connect().await; // the first connect returns at once
        subs.push(s);
    }
    let done = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for mut s in subs {
        let sent = sent.clone();
        let done = done.clone();
        handles.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(3_600);
            while s.received < total && Instant::now() < deadline {
                if done.load(Ordering::Relaxed) == 1
                    && s.quiet_since.elapsed() > Duration::from_secs(10)
                {
                    break;
                }
                let got = s.connect().await;
                let now = start.elapsed().as_micros() as u64;
                for i in got {
                    let t = sent[i].load(Ordering::Relaxed);
                    s.hist.record(now.saturating_sub(t));
                }
            }
            s
        }));
    }

    // Publisher.
    let cpu_start = cpu_seconds();
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let pub_start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..opts.publishers {
        let (http, base, token, next, sent, failures) = (
            http.clone(),
            base.clone(),
            token.clone(),
            next.clone(),
            sent.clone(),
            failures.clone(),
        );
        workers.push(tokio::spawn(async move {
            let url = format!("{base}/services/data/v62.0/sobjects/{object}");
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let due = pub_start + Duration::from_secs_f64(i as f64 / rate as f64);
                tokio::time::sleep_until(due.into()).await;
                sent[i].store(start.elapsed().as_micros() as u64, Ordering::Relaxed);
                let body = format!(r#"{{"{field}":"b{i}"}}"#);
                let ok = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 201);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let pub_secs = pub_start.elapsed().as_secs_f64();
    done.store(1, Ordering::Relaxed);
    let mut hist = Hist::default();
    let mut lost = 0usize;
    let mut dups = 0usize;
    let mut rehandshakes = 0u64;
    let mut connects = 0u64;
    for h in handles {
        let s = h.await.expect("subscriber");
        lost += total - s.received;
        dups += s.duplicates;
        rehandshakes += s.handshakes - 1;
        connects += s.connects;
        hist.merge(&s.hist);
    }
    let cpu = cpu_seconds() - cpu_start;
    let wall = pub_start.elapsed().as_secs_f64();
    let published = total - failures.load(Ordering::Relaxed);
    println!(
        "{name}: kind={:?} subscribers={} target={rate}/s for {}s | published {published}/{total} in {pub_secs:.1}s \
         ({:.0}/s, {} failed) | deliveries {} in {connects} connects ({:.1} per reply) lost {lost} \
         duplicated {dups} rehandshakes {rehandshakes} | \
         latency send→delivered p50 {:.1} ms p99 {:.1} ms p99.9 {:.1} ms max {:.1} ms | \
         process CPU {cpu:.1} s over {wall:.1} s ({:.2} cores), {:.0} µs per published event \
         (REST write, server and client, plus its deliveries), load average {}",
        opts.kind,
        opts.subscribers,
        opts.secs,
        published as f64 / pub_secs,
        failures.load(Ordering::Relaxed),
        hist.count,
        hist.count as f64 / connects.max(1) as f64,
        hist.quantile(0.50) as f64 / 1000.0,
        hist.quantile(0.99) as f64 / 1000.0,
        hist.quantile(0.999) as f64 / 1000.0,
        hist.max as f64 / 1000.0,
        cpu / wall,
        cpu * 1e6 / published.max(1) as f64,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("?"),
    );
    let _ = running.shutdown().await;
}

async fn login(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "sfchaos-client"),
            ("client_secret", "sfchaos-secret"),
            ("username", "admin@sfchaos.test"),
            ("password", "sfchaos"),
        ])
        .send()
        .await
        .expect("token request");
    let v: serde_json::Value = r.json().await.expect("token json");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// A lean CometD long-poll client: keeps cookies, re-handshakes on `403::Unknown client` resuming from
/// its last replay id, and parses replies into borrowed structs (no per-event JSON trees).
struct Subscriber {
    http: reqwest::Client,
    url: String,
    token: String,
    channel: String,
    cookies: Vec<(String, String)>,
    client_id: String,
    next_id: u64,
    last_replay: i64,
    seen: Vec<u64>,
    received: usize,
    duplicates: usize,
    handshakes: u64,
    connects: u64,
    hist: Hist,
    quiet_since: Instant,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow)]
    channel: Cow<'a, str>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(default, rename = "clientId", borrow)]
    client_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<EventData<'a>>,
}

#[derive(Deserialize)]
struct EventData<'a> {
    #[serde(borrow)]
    payload: Payload<'a>,
    event: EventMeta,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(default, rename = "Name", borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, rename = "Order_Number__c", borrow)]
    order: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct EventMeta {
    #[serde(rename = "replayId")]
    replay_id: i64,
}

impl Subscriber {
    fn new(
        http: reqwest::Client,
        base: &str,
        token: &str,
        channel: &str,
        total: usize,
    ) -> Subscriber {
        Subscriber {
            http,
            url: format!("{base}/cometd/62.0"),
            token: token.to_string(),
            channel: channel.to_string(),
            cookies: vec![],
            client_id: String::new(),
            next_id: 0,
            last_replay: -1,
            seen: vec![0; total.div_ceil(64)],
            received: 0,
            duplicates: 0,
            handshakes: 0,
            connects: 0,
            hist: Hist::default(),
            quiet_since: Instant::now(),
        }
    }

    async fn post(&mut self, body: String) -> bytes::Bytes {
        let mut req = self
            .http
            .post(&self.url)
            .header("authorization", format!("OAuth {}", self.token))
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(140))
            .body(body);
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", c.join("; "));
        }
        let resp = req.send().await.expect("cometd request");
        for v in resp.headers().get_all("set-cookie") {
            let text = v.to_str().unwrap_or_default();
            if let Some((k, v)) = text.split(';').next().and_then(|p| p.split_once('=')) {
                self.cookies.retain(|(n, _)| n != k);
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        resp.bytes().await.expect("cometd body")
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    async fn handshake(&mut self) {
        let id = self.id();
        let body = format!(
            r#"[{{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"{id}"}}]"#
        );
        let bytes = self.post(body).await;
        let replies: Vec<Incoming> = serde_json::from_slice(&bytes).expect("handshake reply");
        self.client_id = replies
            .iter()
            .find_map(|r| r.client_id.as_deref().map(str::to_string))
            .expect("clientId");
        self.handshakes += 1;
    }

    async fn subscribe(&mut self, replay: i64) {
        let id = self.id();
        let body = format!(
            r#"[{{"channel":"/meta/subscribe","clientId":"{}","subscription":"{ch}","id":"{id}","ext":{{"replay":{{"{ch}":{replay}}}}}}}]"#,
            self.client_id,
            ch = self.channel
        );
        let bytes = self.post(body).await;
        let replies: Vec<Incoming> = serde_json::from_slice(&bytes).expect("subscribe reply");
        assert!(
            replies.iter().all(|r| r.error.is_none()),
            "subscribe failed"
        );
    }

    /// One connect; returns the sequence numbers of the benchmark events it delivered (new ones only).
    async fn connect(&mut self) -> Vec<usize> {
        self.connects += 1;
        let id = self.id();
        let body = format!(
            r#"[{{"channel":"/meta/connect","clientId":"{}","connectionType":"long-polling","id":"{id}"}}]"#,
            self.client_id
        );
        let bytes = self.post(body).await;
        let replies: Vec<Incoming> = serde_json::from_slice(&bytes).expect("connect reply");
        let mut out = Vec::new();
        let mut rehandshake = false;
        for r in &replies {
            if r.channel.starts_with("/meta/") {
                rehandshake |= r.error.as_deref() == Some("403::Unknown client");
                continue;
            }
            let Some(d) = &r.data else { continue };
            self.last_replay = self.last_replay.max(d.event.replay_id);
            let tag = d.payload.name.as_deref().or(d.payload.order.as_deref());
            let Some(i) = tag
                .and_then(|t| t.strip_prefix('b'))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            let (w, b) = (i / 64, 1u64 << (i % 64));
            if self.seen[w] & b != 0 {
                self.duplicates += 1;
                continue;
            }
            self.seen[w] |= b;
            self.received += 1;
            out.push(i);
        }
        if !out.is_empty() {
            self.quiet_since = Instant::now();
        }
        if rehandshake {
            self.handshake().await;
            let from = self.last_replay;
            self.subscribe(from).await;
        }
        out
    }
}

/// Latency histogram: 10 µs buckets up to 2 s, then an overflow count.
struct Hist {
    buckets: Vec<u64>,
    count: u64,
    max: u64,
}

const BUCKET_US: u64 = 10;
const BUCKETS: usize = 200_000;

impl Default for Hist {
    fn default() -> Self {
        Hist {
            buckets: vec![0; BUCKETS + 1],
            count: 0,
            max: 0,
        }
    }
}

impl Hist {
    fn record(&mut self, us: u64) {
        let b = ((us / BUCKET_US) as usize).min(BUCKETS);
        self.buckets[b] += 1;
        self.count += 1;
        self.max = self.max.max(us);
    }

    fn merge(&mut self, o: &Hist) {
        for (a, b) in self.buckets.iter_mut().zip(&o.buckets) {
            *a += b;
        }
        self.count += o.count;
        self.max = self.max.max(o.max);
    }

    /// Upper edge of the bucket holding quantile `q`, in µs.
    fn quantile(&self, q: f64) -> u64 {
        let target = ((self.count as f64) * q).ceil() as u64;
        let mut acc = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            acc += n;
            if acc >= target.max(1) {
                return if i == BUCKETS {
                    self.max
                } else {
                    (i as u64 + 1) * BUCKET_US
                };
            }
        }
        self.max
    }
}

// ------------------------------------------------------------------------------------------------
// Memory
// ------------------------------------------------------------------------------------------------

/// User + system CPU time of this process, in seconds (`/proc/self/stat`, 100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn mb(b: u64) -> f64 {
    b as f64 / 1_048_576.0
}

/// Memory of the change log for a 1,000,000-row Account insert (five fields each), against the rows
/// themselves and against the map-of-JSON form changes used to keep.
fn memory() {
    use simulator::org::store::Writer;
    use simulator::org::value::Value;
    const ROWS: usize = 1_000_000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    let writer = Writer {
        user: 1,
        origin: "com/salesforce/api/bulkapi/62.0;client=bench".into(),
        client: "admin@sfchaos.test|sfchaos-client|bench".into(),
    };
    let fill = |quiet: bool| {
        let state = SimState::new(SimConfig::default()).expect("state");
        let org = state.default_org();
        let before = rss_bytes();
        let changes = {
            let mut data = org.data.write();
            let obj = data.schema.object_index("Account").expect("Account");
            let o = &data.schema.objects[obj];
            let f = |n: &str| o.field_index(n).expect("field");
            let (name, ext, region, phone, city) = (
                f("Name"),
                f("External_Id__c"),
                f("Region__c"),
                f("Phone"),
                f("BillingCity"),
            );
            let mut txn = if quiet { data.txn_quiet() } else { data.txn() };
            for i in 0..ROWS {
                txn.insert(
                    obj,
                    vec![
                        (name, Value::str(format!("Account number {i}"))),
                        (ext, Value::str(format!("EXT-{i:08}"))),
                        (region, Value::str("EMEA")),
                        (phone, Value::str(format!("+1 555 {:07}", i % 10_000_000))),
                        (city, Value::str("Paris")),
                    ],
                    &writer,
                    1_700_000_000_000 + i as i64,
                );
            }
            txn.commit()
        };
        org.publish(changes);
        let after = rss_bytes();
        (state, org, after.saturating_sub(before))
    };
    let (_rows_state, _rows_org, rows_only) = fill(true);
    let (_state, org, rows_and_changes) = fill(false);
    let log_bytes = org.changes.retained_bytes() as u64;
    // The old representation: a `serde_json::Map` of payload values per change (sampled).
    const SAMPLE: usize = 100_000;
    let before = rss_bytes();
    let maps: Vec<_> = org
        .changes
        .since(0, SAMPLE + 10)
        .iter()
        .filter(|c| c.object() == "Account")
        .take(SAMPLE)
        .map(|c| c.flat_fields())
        .collect();
    let maps_bytes = rss_bytes().saturating_sub(before);
    let per_map = maps_bytes as f64 / maps.len().max(1) as f64;
    println!(
        "memory: {ROWS} Account inserts (5 fields) | rows alone {:.0} MB ({:.0} B/row) | rows + change log {:.0} MB \
         → change log {:.0} MB by RSS ({:.0} B/change), {:.0} MB by accounting ({:.0} B/change) | \
         JSON-map payloads (previous form) {:.0} B/change → {:.0} MB per million",
        mb(rows_only),
        rows_only as f64 / ROWS as f64,
        mb(rows_and_changes),
        mb(rows_and_changes.saturating_sub(rows_only)),
        rows_and_changes.saturating_sub(rows_only) as f64 / ROWS as f64,
        mb(log_bytes),
        log_bytes as f64 / ROWS as f64,
        per_map,
        per_map * ROWS as f64 / 1_048_576.0,
    );
    drop(maps);
}
