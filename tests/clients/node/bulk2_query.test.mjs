// jsforce 3, unmodified: `bulk2.loadAndWaitForResults` loads 50 Accounts, then `bulk2.query` (query
// job, polling, result pages until `Sforce-Locator: null`) reads them back. Run by
// tests/bulk2_clients.rs over plain HTTP. Each check prints `ok <name>`; the first failure exits
// non-zero.
import jsforce from "jsforce";

const LOGIN_URL = process.env.SF_LOGIN_URL;
const USER = process.env.SF_USERNAME;
const PASSWORD = process.env.SF_PASSWORD;
const VERSION = process.env.SF_API_VERSION || "62.0";

function check(name, cond, detail) {
  if (!cond) {
    throw new Error(`${name}: ${JSON.stringify(detail)}`);
  }
  console.log(`ok ${name}`);
}

function collect(recordStream) {
  return new Promise((resolve, reject) => {
    const out = [];
    recordStream.on("record", (r) => out.push(r));
    recordStream.on("error", reject);
    recordStream.on("end", () => resolve(out));
  });
}

async function main() {
  const conn = new jsforce.Connection({ loginUrl: LOGIN_URL, version: VERSION });
  await conn.login(USER, PASSWORD);
  const input = [];
  for (let i = 0; i < 50; i++) {
    input.push({ Name: `Query ${i}`, External_Id__c: `JSQ-${String(i).padStart(2, "0")}` });
  }
  const load = await conn.bulk2.loadAndWaitForResults({
    object: "Account",
    operation: "insert",
    input,
    pollInterval: 250,
    pollTimeout: 30000,
  });
  check("load for the query", load.successfulResults.length === 50, load.failedResults);

  const stream = await conn.bulk2.query(
    "SELECT Id, Name, External_Id__c FROM Account WHERE External_Id__c LIKE 'JSQ-%' ORDER BY External_Id__c",
    { pollInterval: 250, pollTimeout: 30000 },
  );
  const records = await collect(stream);
  check("bulk2.query returns every matching record once", records.length === 50, records.length);
  check(
    "bulk2.query columns in SELECT order",
    records[0].Id.length === 18 && records[0].Name === "Query 0" && records[0].External_Id__c === "JSQ-00",
    records[0],
  );
  check("bulk2.query keys are distinct", new Set(records.map((r) => r.External_Id__c)).size === 50, records);
  console.log("done");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(`FAILED ${e.message}`);
    process.exit(1);
  },
);
