// jsforce 3, unmodified, against the simulator. Run by tests/real_clients.rs twice: over plain HTTP and
// over HTTPS (SF_LOGIN_URL decides; NODE_EXTRA_CA_CERTS trusts the simulator's CA). Each check prints
// `ok <name>`; the first failure exits non-zero with a message.
import jsforce from "jsforce";

const LOGIN_URL = process.env.SF_LOGIN_URL;
const ADMIN = process.env.SFCHAOS_ADMIN_URL;
const USER = process.env.SF_USERNAME;
const PASSWORD = process.env.SF_PASSWORD;
const VERSION = process.env.SF_API_VERSION || "62.0";

function check(name, cond, detail) {
  if (!cond) {
    throw new Error(`${name}: ${JSON.stringify(detail)}`);
  }
  console.log(`ok ${name}`);
}

async function admin(path, body) {
  const r = await fetch(`${ADMIN}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  if (!r.ok) throw new Error(`admin ${path}: ${r.status}`);
  return r.json();
}

async function expectError(name, promise, code) {
  try {
    await promise;
  } catch (e) {
    // REST errors carry errorCode; SOAP login faults surface as Error("<code>: <message>").
    const matches = e.errorCode === code || e.name === code || String(e.message).startsWith(`${code}:`);
    check(name, matches, { errorCode: e.errorCode, name: e.name, message: e.message });
    return e;
  }
  check(name, false, "no error");
}

async function main() {
  // SOAP login through loginUrl (jsforce's default when no OAuth client is configured).
  const conn = new jsforce.Connection({ loginUrl: LOGIN_URL, version: VERSION });
  const info = await conn.login(USER, PASSWORD);
  check("soap login", info.id && info.organizationId && conn.accessToken, info);
  check("instanceUrl from serverUrl", conn.instanceUrl === LOGIN_URL, conn.instanceUrl);
  await expectError(
    "bad password rejected",
    new jsforce.Connection({ loginUrl: LOGIN_URL, version: VERSION }).login(USER, "wrong"),
    "INVALID_LOGIN",
  );

  // CRUD and upsert.
  const created = await conn.sobject("Account").create({ Name: "Acme Node", External_Id__c: "JS-1" });
  check("create", created.success && created.id.length === 18, created);
  const got = await conn.sobject("Account").retrieve(created.id);
  check("retrieve", got.Name === "Acme Node", got);
  const upd = await conn.sobject("Account").update({ Id: created.id, Phone: "555" });
  check("update", upd.success, upd);
  const up1 = await conn.sobject("Account").upsert({ External_Id__c: "JS-2", Name: "Upserted" }, "External_Id__c");
  check("upsert creates", up1.success && up1.created === true, up1);
  const up2 = await conn.sobject("Account").upsert({ External_Id__c: "JS-2", Name: "Again" }, "External_Id__c");
  check("upsert updates", up2.success && up2.created === false, up2);
  const del = await conn.sobject("Account").destroy(created.id);
  check("destroy", del.success, del);
  await expectError("retrieve deleted", conn.sobject("Account").retrieve(created.id), "ENTITY_IS_DELETED");

  // Query across more than 2,000 records.
  await admin("/seed", { object: "Account", count: 2500 });
  const page = await conn.query("SELECT Id, Name FROM Account");
  check("query first page", page.records.length === 2000 && page.done === false && page.totalSize >= 2501, {
    n: page.records.length,
    total: page.totalSize,
  });
  const fetched = await conn.query("SELECT Id FROM Account").run({ autoFetch: true, maxFetch: 100000 });
  const all = Array.isArray(fetched) ? fetched : fetched.records;
  check("autoFetch follows nextRecordsUrl", all.length === page.totalSize, { n: all.length, total: page.totalSize });
  check("autoFetch returns each record once", new Set(all.map((r) => r.Id)).size === all.length, all.length);
  const count = await conn.query("SELECT COUNT() FROM Account");
  check("count", count.totalSize === page.totalSize, count.totalSize);
  const viaFind = await conn.sobject("Account").find({ External_Id__c: "JS-2" }, ["Id", "Name"]);
  check("find (SOQL builder)", viaFind.length === 1 && viaFind[0].Name === "Again", viaFind);

  // Describe, limits, identity.
  const desc = await conn.sobject("Account").describe();
  check("describe", desc.fields.some((f) => f.name === "External_Id__c" && f.externalId), desc.name);
  const global = await conn.describeGlobal();
  check("describeGlobal", global.sobjects.some((s) => s.name === "Order_Event__e"), global.sobjects.length);
  const limits = await conn.limits();
  check("limits", limits.DailyApiRequests.Max > 0, limits.DailyApiRequests);
  check("limitInfo from Sforce-Limit-Info", conn.limitInfo && conn.limitInfo.apiUsage && conn.limitInfo.apiUsage.used > 0, conn.limitInfo);
  const identity = await conn.identity();
  check("identity", identity.username === USER, identity.username);

  // Errors become HttpApiError with Salesforce's errorCode.
  await expectError("bad field", conn.query("SELECT Bogus__c FROM Account"), "INVALID_FIELD");
  await expectError("bad soql", conn.query("SELECT Id FORM Account"), "MALFORMED_QUERY");
  await expectError("required field", conn.sobject("Account").create({ Phone: "1" }).then((r) => {
    if (!r.success) throw Object.assign(new Error("create failed"), { errorCode: r.errors[0].errorCode || r.errors[0].statusCode });
  }), "REQUIRED_FIELD_MISSING");

  // An expired session: jsforce re-logs-in on 401 and the call succeeds.
  const before = conn.accessToken;
  await admin("/sessions/revoke", {});
  const again = await conn.sobject("Account").retrieve(up2.id);
  check("re-login after revoked session", again.Name === "Again" && conn.accessToken !== before, {
    changed: conn.accessToken !== before,
  });

  // OAuth password flow with a connected app.
  const oauth = new jsforce.Connection({
    oauth2: {
      loginUrl: LOGIN_URL,
      clientId: process.env.SF_CLIENT_ID,
      clientSecret: process.env.SF_CLIENT_SECRET,
    },
    version: VERSION,
  });
  await oauth.login(USER, PASSWORD);
  const viaOauth = await oauth.sobject("Account").retrieve(up2.id);
  check("oauth password login", viaOauth.Name === "Again", viaOauth.Name);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(`FAILED ${e.message}`);
    process.exit(1);
  },
);
