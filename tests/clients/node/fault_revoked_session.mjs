// jsforce 3, unmodified, meets a session fault: after the revocation its next call gets 401
// INVALID_SESSION_ID, jsforce logs in again by itself and the call succeeds, as against Salesforce.
// Run by tests/fault_clients.rs: prints READY once logged in, waits for a line on stdin (the test
// installs the fault meanwhile), then checks. Prints `ok <name>` per check.
import jsforce from "jsforce";
import { createInterface } from "node:readline";

const VERSION = process.env.SF_API_VERSION || "62.0";

function check(name, cond, detail) {
  if (!cond) throw new Error(`${name}: ${JSON.stringify(detail)}`);
  console.log(`ok ${name}`);
}

const conn = new jsforce.Connection({ loginUrl: process.env.SF_LOGIN_URL, version: VERSION });
await conn.login(process.env.SF_USERNAME, process.env.SF_PASSWORD);
const before = conn.accessToken;
await conn.limits();
let refreshed = 0;
conn.on("refresh", () => { refreshed += 1; });

console.log("READY");
const lines = createInterface({ input: process.stdin });
for await (const _ of lines) break;

const limits = await conn.limits();
check("the call after the revocation succeeds", limits.DailyApiRequests.Max > 0, limits.DailyApiRequests);
check("jsforce logged in again by itself", refreshed === 1, refreshed);
check("with a new session", conn.accessToken && conn.accessToken !== before, conn.accessToken);
process.exit(0);
