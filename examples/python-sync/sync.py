"""A minimal integration build, written the way the sfchaos contract expects (docs/integration-contract.md).

It accepts business events on SFCHAOS_LISTEN, makes each durable before answering, and upserts them
into Salesforce with simple-salesforce, retrying transient failures with capped exponential backoff and
full jitter. Python standard library + simple-salesforce only.

    pip install simple-salesforce
    sfchaos run scenarios/quickstart.toml --integration "python3 examples/python-sync/sync.py"

What it deliberately does not do (so you can see the scorer notice): it does not sync Salesforce changes
downstream (a real build would subscribe to Change Data Capture) and it exposes only a few metrics.
"""

import json
import os
import random
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

ENV = os.environ
LISTEN_HOST, LISTEN_PORT = ENV["SFCHAOS_LISTEN"].rsplit(":", 1)
STATE_DIR = ENV.get("SFCHAOS_STATE_DIR", ".")
QUEUE = os.path.join(STATE_DIR, "queue.jsonl")  # every accepted event, appended and fsynced
DONE = os.path.join(STATE_DIR, "done.txt")  # number of queue lines fully handled

BASE, CAP = 0.1, 20.0  # backoff: base 100 ms, cap 20 s
RETRYABLE_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION", "REQUEST_LIMIT_EXCEEDED"}

lock = threading.Lock()
wake = threading.Condition(lock)
metrics = {"accepted": 0, "landed": 0, "failed": 0, "retries": 0}


def alert(severity, summary):
    """Tell the on-call pager; never let alerting break the pipeline."""
    body = json.dumps({"severity": severity, "summary": summary}).encode()
    try:
        req = urllib.request.Request(ENV["SFCHAOS_ALERT_URL"], body, {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).close()
    except Exception:
        pass


class Salesforce_:
    """A session that logs in again when Salesforce says it expired."""

    def __init__(self):
        self.sf = None
        self.login()

    def login(self):
        session_id, instance = SalesforceLogin(
            username=ENV["SF_USERNAME"],
            password=ENV["SF_PASSWORD"],
            security_token="",
            scratch_url=ENV["SF_LOGIN_URL"],
            sf_version=ENV.get("SF_API_VERSION", "62.0"),
        )
        self.sf = Salesforce(session_id=session_id, instance=instance, version=ENV.get("SF_API_VERSION", "62.0"))

    def apply(self, event):
        obj = getattr(self.sf, event["object"])
        if event["type"] == "delete":
            try:
                record = obj.get_by_custom_id(event["external_id_field"], event["external_id"])
                obj.delete(record["Id"])
            except SalesforceResourceNotFound:
                pass  # already gone: a delete is idempotent
        else:
            obj.upsert(f'{event["external_id_field"]}/{event["external_id"]}', event.get("fields", {}))


def retryable(err):
    if isinstance(err, (SalesforceMalformedRequest,)):
        code = (err.content or [{}])[0].get("errorCode", "") if isinstance(err.content, list) else ""
        return code in RETRYABLE_CODES
    if isinstance(err, SalesforceRefusedRequest):
        # 403 REQUEST_LIMIT_EXCEEDED: the daily allocation only recovers as usage ages out; wait long.
        return True
    return isinstance(err, (SalesforceGeneralError, OSError, ConnectionError)) or "timed out" in str(err).lower()


def worker():
    """Drain the durable queue in order; an event is done once Salesforce accepted it."""
    sf = None
    done = int(open(DONE).read() or 0) if os.path.exists(DONE) else 0
    lines = []
    while True:
        with lock:
            while done >= len(lines):
                lines = open(QUEUE).read().splitlines() if os.path.exists(QUEUE) else []
                if done < len(lines):
                    break
                wake.wait(timeout=1.0)
        event = json.loads(lines[done])
        attempt = 0
        while True:
            try:
                if sf is None:
                    sf = Salesforce_()
                sf.apply(event)
                metrics["landed"] += 1
                break
            except SalesforceExpiredSession:
                sf = None  # log in again on the next attempt
            except Exception as err:  # noqa: BLE001 - classify below
                if not retryable(err):
                    metrics["failed"] += 1
                    alert("warning", f"event {event['id']} rejected by Salesforce: {err}")
                    break
                metrics["retries"] += 1
                attempt += 1
                if attempt == 5:
                    alert("critical", f"Salesforce failing for {event['id']}: {type(err).__name__}")
                time.sleep(random.uniform(0, min(CAP, BASE * 2**attempt)))  # full jitter
        done += 1
        with open(DONE, "w") as f:
            f.write(str(done))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthz":
            self.reply(200, b"ok")
        elif self.path == "/metrics":
            text = "".join(f"sync_events_{k}_total {v}\n" for k, v in metrics.items())
            self.reply(200, text.encode(), "text/plain; version=0.0.4")
        else:
            self.reply(404)

    def do_POST(self):
        if self.path != "/events":
            return self.reply(404)
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            event = json.loads(raw)
            assert event["type"] in ("upsert", "delete") and event["external_id"]
        except Exception:
            return self.reply(400, b"bad event")
        # Durable before we say yes: the harness may SIGKILL us at any moment.
        with lock:
            with open(QUEUE, "a") as f:
                f.write(json.dumps(event) + "\n")
                f.flush()
                os.fsync(f.fileno())
            metrics["accepted"] += 1
            wake.notify()
        self.reply(202, b"accepted")


if __name__ == "__main__":
    os.makedirs(STATE_DIR, exist_ok=True)
    threading.Thread(target=worker, daemon=True).start()
    ThreadingHTTPServer((LISTEN_HOST, int(LISTEN_PORT)), Handler).serve_forever()
