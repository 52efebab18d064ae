// jsforce 3 streaming, unmodified, against the simulator over plain HTTP. Run by tests/streaming_jsforce.rs,
// which installs a test fault engine and arms a forced re-handshake when this script prints
// `arm rehandshake` (it answers `armed` on stdin). Each check prints `ok <name>`; the first failure exits
// non-zero with a message.
import jsforce from "jsforce";
// jsforce's streaming extensions (`require("jsforce/api/streaming")` in CommonJS).
import { StreamingExtension } from "jsforce/lib/api/streaming.js";
import readline from "node:readline";

const LOGIN_URL = process.env.SF_LOGIN_URL;
const USER = process.env.SF_USERNAME;
const PASSWORD = process.env.SF_PASSWORD;
const VERSION = process.env.SF_API_VERSION || "62.0";
const WAIT_MS = 30_000;

function check(name, cond, detail) {
  if (!cond) {
    throw new Error(`${name}: ${JSON.stringify(detail)}`);
  }
  console.log(`ok ${name}`);
}

const isUuid = (s) => typeof s === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);

// Resolves when `pred()` holds; re-checked whenever `poke()` is called (on every delivered event).
const waiters = new Set();
function poke() {
  for (const w of [...waiters]) {
    if (w.pred()) {
      waiters.delete(w);
      clearTimeout(w.timer);
      w.resolve();
    }
  }
}
function waitFor(what, pred) {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const w = { pred, resolve };
    w.timer = setTimeout(() => {
      waiters.delete(w);
      reject(new Error(`timed out waiting for ${what}`));
    }, WAIT_MS);
    waiters.add(w);
  });
}

const stdin = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function replayAcrossRehandshake(conn) {
  const channel = "/data/ChangeEvents";
  const received = [];
  let handshakes = 0;
  let duringRehandshake = null;
  const counter = {
    incoming(message, callback) {
      if (message.channel === "/meta/handshake" && message.successful) handshakes += 1;
      callback(message);
      poke();
    },
  };
  // Writes records after the server forgot the client and before faye handles the advice, so they
  // can only arrive through the replay on re-subscription.
  const hold = {
    incoming(message, callback) {
      if (message.channel === "/meta/connect" && message.error === "403::Unknown client" && duringRehandshake) {
        const work = duringRehandshake;
        duringRehandshake = null;
        work().then(
          () => callback(message),
          (e) => {
            console.error(e);
            process.exit(1);
          },
        );
        return;
      }
      callback(message);
    },
  };
  const replay = new StreamingExtension.Replay(channel, -1);
  const client = conn.streaming.createClient([replay, counter, hold]);
  await client.subscribe(channel, (data) => {
    received.push(data);
    poke();
  });
  check("replay client subscribed", handshakes === 1, { handshakes });

  const created = [];
  const create = async (name) => {
    const r = await conn.sobject("Account").create({ Name: name });
    created.push(r.id);
  };
  for (const n of ["R1", "R2", "R3"]) await create(n);
  await waitFor("R1..R3", () => received.length >= 3);
  check("events before the fault", received.length === 3, received.length);

  console.log("arm rehandshake");
  const answer = await stdin.next();
  if (answer.value !== "armed") throw new Error(`expected 'armed', got ${JSON.stringify(answer.value)}`);
  duringRehandshake = async () => {
    for (const n of ["R5", "R6", "R7"]) await create(n);
  };
  // Releases the held connect; the next connect meets the forced re-handshake.
  await create("R4");
  await waitFor("second handshake and R4..R7", () => handshakes >= 2 && received.length >= 7);
  await create("R8");
  await waitFor("R8", () => received.length >= 8);

  const ids = received.map((d) => d.payload.ChangeEventHeader.recordIds[0]);
  const replayIds = received.map((d) => d.event.replayId);
  check("re-handshook once", handshakes === 2, handshakes);
  check("nothing lost or duplicated across the re-handshake", JSON.stringify(ids) === JSON.stringify(created), { ids, created });
  check("replay ids strictly increase", replayIds.every((r, i) => i === 0 || r > replayIds[i - 1]), replayIds);
  await client.disconnect();
}

async function changeEvents(conn) {
  const events = [];
  const subscription = conn.streaming.topic("/data/ChangeEvents").subscribe((data) => {
    events.push(data);
    poke();
  });
  await subscription;
  const acc = await conn.sobject("Account").create({ Name: "Acme JS", Phone: "555", BillingCity: "Oslo" });
  await conn.sobject("Account").update({ Id: acc.id, Phone: null, Name: "Acme JS 2" });
  await conn.sobject("Account").destroy(acc.id);
  await waitFor("create, update and delete events", () => events.length >= 3);
  const [c, u, d] = events;
  const userId = conn.userInfo.id;
  for (const [e, type] of [[c, "CREATE"], [u, "UPDATE"], [d, "DELETE"]]) {
    const h = e.payload.ChangeEventHeader;
    check(`${type} header`,
      h.entityName === "Account" && h.changeType === type && h.recordIds.length === 1 && h.recordIds[0] === acc.id
        && h.commitUser === userId && h.changeOrigin.startsWith(`com/salesforce/api/rest/${VERSION}`)
        && isUuid(h.transactionKey) && h.sequenceNumber === 1 && h.isTransactionEnd === true
        && Number.isInteger(h.commitTimestamp) && Number.isInteger(h.commitNumber)
        && Array.isArray(h.diffFields) && typeof e.schema === "string" && Number.isInteger(e.event.replayId),
      h);
  }
  check("CREATE payload", c.payload.Name === "Acme JS" && c.payload.Phone === "555"
    && c.payload.BillingAddress.City === "Oslo" && c.payload.OwnerId === userId
    && c.payload.ChangeEventHeader.changedFields.length === 0, c.payload);
  const uh = u.payload.ChangeEventHeader;
  check("UPDATE payload", u.payload.Name === "Acme JS 2" && u.payload.Phone === null
    && JSON.stringify(uh.nulledFields) === JSON.stringify(["Phone"])
    && ["Name", "Phone", "LastModifiedDate"].every((f) => uh.changedFields.includes(f))
    && u.payload.BillingAddress === undefined, u.payload);
  check("DELETE payload", Object.keys(d.payload).length === 1, d.payload);
}

async function platformEvents(conn) {
  const events = [];
  await conn.streaming.topic("/event/Order_Event__e").subscribe((data) => {
    events.push(data);
    poke();
  });
  const r = await conn.sobject("Order_Event__e").create({ Order_Number__c: "JS-1", Amount__c: 9.5 });
  check("platform event published", r.success === true && r.errors[0].statusCode === "OPERATION_ENQUEUED", r);
  await waitFor("the platform event", () => events.length >= 1);
  const e = events[0];
  check("platform event received",
    e.payload.Order_Number__c === "JS-1" && e.payload.Amount__c === 9.5 && e.payload.CreatedById === conn.userInfo.id
      && typeof e.payload.CreatedDate === "string" && e.event.EventUuid === r.errors[0].message
      && Number.isInteger(e.event.replayId),
    e);
}

async function main() {
  const conn = new jsforce.Connection({ loginUrl: LOGIN_URL, version: VERSION });
  await conn.login(USER, PASSWORD);
  check("login", conn.accessToken && conn.instanceUrl === LOGIN_URL, conn.instanceUrl);
  await replayAcrossRehandshake(conn);
  await changeEvents(conn);
  await platformEvents(conn);
  console.log("done");
  process.exit(0);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
