// jsforce 3, unmodified, against the simulator: array DML (sObject Collections) and Bulk 2.0
// `loadAndWaitForResults` with some invalid rows. Run by tests/bulk2_clients.rs (plain HTTP;
// SF_LOGIN_URL decides). Each check prints `ok <name>`; the first failure exits non-zero.
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

async function collections(conn) {
  const accounts = conn.sobject("Account");
  const created = await accounts.create([
    { Name: "Coll 1", External_Id__c: "JSC-1" },
    { Name: "Coll 2", External_Id__c: "JSC-2" },
    { Name: "Coll 3", Region__c: "Mars" },
  ]);
  check("array create returns one result per record, in order", created.length === 3, created);
  check("array create: good records succeed", created[0].success && created[1].success, created);
  check(
    "array create: the bad record fails without an id",
    !created[2].success && created[2].id === undefined &&
      created[2].errors[0].statusCode === "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    created[2],
  );
  const ids = [created[0].id, created[1].id];

  const updated = await accounts.update([
    { Id: ids[0], Phone: "111" },
    { Id: ids[1], Phone: "222" },
  ]);
  check("array update", updated.every((r) => r.success), updated);

  const retrieved = await accounts.retrieve(ids, { fields: ["Name", "Phone"] });
  check("array retrieve", retrieved[0].Phone === "111" && retrieved[1].Name === "Coll 2", retrieved);

  const upserted = await accounts.upsert(
    [
      { External_Id__c: "JSC-1", Name: "Coll 1 again" },
      { External_Id__c: "JSC-9", Name: "Coll 9" },
    ],
    "External_Id__c",
  );
  check(
    "array upsert reports created",
    upserted[0].success && upserted[0].created === false && upserted[1].created === true,
    upserted,
  );

  const all = await accounts.create(
    [{ Name: "AON 1" }, { Name: "AON 2", Region__c: "Mars" }],
    { allOrNone: true },
  );
  check(
    "allOrNone rolls back and reports it",
    !all[0].success && all[0].errors[0].statusCode === "ALL_OR_NONE_OPERATION_ROLLED_BACK" &&
      all[1].errors[0].statusCode === "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    all,
  );

  const destroyed = await accounts.destroy([ids[1], upserted[1].id]);
  check("array destroy", destroyed.every((r) => r.success), destroyed);
}

async function bulkLoad(conn) {
  const lines = ["Name,External_Id__c,NumberOfEmployees"];
  for (let i = 0; i < 50; i++) {
    lines.push(`Load ${i},JSB-${i},${i}`);
  }
  lines[11] = ",JSB-10,10"; // missing Name
  lines[21] = "Load 20,JSB-20,twenty"; // not a number
  const res = await conn.bulk2.loadAndWaitForResults({
    object: "Account",
    operation: "insert",
    input: lines.join("\n") + "\n",
    pollInterval: 250,
    pollTimeout: 30000,
  });
  check("loadAndWaitForResults: successful rows", res.successfulResults.length === 48, res.successfulResults.length);
  check("loadAndWaitForResults: failed rows", res.failedResults.length === 2, res.failedResults);
  check("loadAndWaitForResults: nothing unprocessed", res.unprocessedRecords.length === 0, res.unprocessedRecords);
  const bad = res.failedResults.find((r) => r.External_Id__c === "JSB-10");
  check(
    "failed rows carry sf__Error",
    bad && bad.sf__Error === "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
    bad,
  );
  check("successful rows carry sf__Id and sf__Created", res.successfulResults.every((r) => r.sf__Id.length === 18 && r.sf__Created === "true"), res.successfulResults[0]);

  // Upsert the failed rows, fixed, by external id (as a careful integration would).
  const fixed = await conn.bulk2.loadAndWaitForResults({
    object: "Account",
    operation: "upsert",
    externalIdFieldName: "External_Id__c",
    input: [
      { External_Id__c: "JSB-10", Name: "Load 10", NumberOfEmployees: 10 },
      { External_Id__c: "JSB-20", Name: "Load 20", NumberOfEmployees: 20 },
      { External_Id__c: "JSB-0", Name: "Load 0 renamed" },
    ],
    pollInterval: 250,
    pollTimeout: 30000,
  });
  check("bulk upsert of the fixed rows", fixed.successfulResults.length === 3 && fixed.failedResults.length === 0, fixed);
  const created = fixed.successfulResults.filter((r) => r.sf__Created === "true").length;
  check("bulk upsert created two and updated one", created === 2, fixed.successfulResults);
}

async function main() {
  const conn = new jsforce.Connection({ loginUrl: LOGIN_URL, version: VERSION });
  await conn.login(USER, PASSWORD);
  await collections(conn);
  await bulkLoad(conn);
  console.log("done");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(`FAILED ${e.message}`);
    process.exit(1);
  },
);
