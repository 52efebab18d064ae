//! The setting both record-read benchmarks measure (`simulator/benches/request.rs` in process,
//! `benches/load.rs` over sockets): a simulator journaling to a file, 10,000 Accounts, an OAuth
//! session, and one Account in the middle of the table to read.

use simulator::{SimConfig, SimState};

/// What a benchmark reads: the session's token, the record's path and the record as JSON.
pub struct AccountRead {
    pub state: SimState,
    pub token: String,
    pub path: String,
    pub record: serde_json::Value,
}

/// A simulator whose journal file is in `dir`. The daily allocation covers any run: with the
/// default (115,000 calls) most of a run would measure REQUEST_LIMIT_EXCEEDED answers.
pub fn account_read(dir: &std::path::Path) -> AccountRead {
    let mut config = SimConfig {
        journal_path: Some(dir.join("journal.ndjson.zst")),
        ..SimConfig::default()
    };
    config.org.daily_api_requests = u64::MAX / 2;
    let state = SimState::new(config).unwrap();
    let org = state.default_org();
    {
        let mut data = org.data.write();
        simulator::org::seed::seed(
            &mut data,
            "Account",
            10_000,
            &Default::default(),
            1,
            &Default::default(),
            state.clock.now_ms(),
        )
        .unwrap();
    }
    let session = state.sessions.create(
        org.num,
        &org.id,
        1,
        "admin@sfchaos.test",
        Some("sfchaos-client".into()),
        simulator::auth::session::SessionKind::OAuth,
        state.clock.elapsed(),
        state.clock.now_ms(),
    );
    let data_path = "/services/data/v62.0";
    let (path, record) = {
        let data = org.data.read();
        let ai = data.schema.object_index("Account").unwrap();
        let row = data.tables[ai].rows.values().nth(5_000).unwrap();
        (
            format!(
                "{data_path}/sobjects/Account/{}",
                data.id_of(ai, row.num).to18()
            ),
            simulator::rest::render::record(&data, ai, row, None, data_path),
        )
    };
    AccountRead {
        token: session.token.clone(),
        state: state.clone(),
        path,
        record,
    }
}
