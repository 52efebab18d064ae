"""simple-salesforce Bulk 2.0, unmodified, against the simulator over HTTPS.

Run by tests/bulk2_clients.rs with the simulator's URLs and CA in the environment. Inserts and then
upserts CSV files that contain some invalid rows, and checks what simple-salesforce reports: the exact
failed count, the failed rows with `sf__Error`, the successful rows with `sf__Created`. The Rust side
then checks that every valid row is in the org exactly once. Each check prints `ok <name>`; the first
failure raises and the script exits non-zero.
"""

import csv
import io
import os
import sys
import tempfile

from simple_salesforce import Salesforce, SalesforceLogin

HTTPS = os.environ["SF_LOGIN_URL"]  # https://127.0.0.1:PORT
USER = os.environ["SF_USERNAME"]
PASSWORD = os.environ["SF_PASSWORD"]
VERSION = os.environ.get("SF_API_VERSION", "59.0")


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok {name}", flush=True)


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def write_csv(directory, name, header, records):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(records)
    return path


def main():
    session_id, instance = SalesforceLogin(
        username=USER, password=PASSWORD, security_token="", scratch_url=HTTPS, sf_version=VERSION
    )
    sf = Salesforce(session_id=session_id, instance=instance, version=VERSION)

    with tempfile.TemporaryDirectory() as tmp:
        # 10 rows: 8 valid, one without the required Name, one with a value outside the restricted
        # picklist.
        inserts = [[f"Bulk {i}", f"PYB-{i}", "EMEA"] for i in range(10)]
        inserts[3][0] = ""
        inserts[7][2] = "Mars"
        path = write_csv(tmp, "insert.csv", ["Name", "External_Id__c", "Region__c"], inserts)
        result = sf.bulk2.Account.insert(csv_file=path, wait=1)
        check("insert returns one job summary", len(result) == 1, result)
        job = result[0]
        check("insert processed every row", job["numberRecordsProcessed"] == 10, job)
        check("insert reports exactly the failed count", job["numberRecordsFailed"] == 2, job)
        check("insert total counted by the client", job["numberRecordsTotal"] == 10, job)

        failed = rows(sf.bulk2.Account.get_failed_records(job["job_id"]))
        check("failed records are the two bad rows", sorted(r["External_Id__c"] for r in failed) == ["PYB-3", "PYB-7"], failed)
        by_key = {r["External_Id__c"]: r for r in failed}
        check(
            "missing Name reported in sf__Error",
            by_key["PYB-3"]["sf__Error"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            by_key["PYB-3"],
        )
        check(
            "bad picklist value reported in sf__Error",
            by_key["PYB-7"]["sf__Error"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:"),
            by_key["PYB-7"],
        )
        check("failed rows have no id", all(r["sf__Id"] == "" for r in failed), failed)

        ok = rows(sf.bulk2.Account.get_successful_records(job["job_id"]))
        check("successful records are the eight good rows", len(ok) == 8, ok)
        check("successful records were created", all(r["sf__Created"] == "true" and len(r["sf__Id"]) == 18 for r in ok), ok)
        unprocessed = sf.bulk2.Account.get_unprocessed_records(job["job_id"])
        check("nothing unprocessed, header still there", rows(unprocessed) == [] and unprocessed.startswith('"Name"'), unprocessed)

        # Upsert: three existing keys (updated), two new keys (created), one bad row.
        upserts = [
            ["PYB-0", "Bulk 0 renamed", "AMER"],
            ["PYB-1", "Bulk 1 renamed", ""],
            ["PYB-2", "Bulk 2 renamed", "#N/A"],
            ["PYB-10", "Bulk 10", "APAC"],
            ["PYB-11", "Bulk 11", "LATAM"],
            ["PYB-12", "x" * 300, "EMEA"],
        ]
        path = write_csv(tmp, "upsert.csv", ["External_Id__c", "Name", "Region__c"], upserts)
        result = sf.bulk2.Account.upsert(csv_file=path, external_id_field="External_Id__c", wait=1)
        job = result[0]
        check("upsert processed every row", job["numberRecordsProcessed"] == 6, job)
        check("upsert reports exactly the failed count", job["numberRecordsFailed"] == 1, job)
        failed = rows(sf.bulk2.Account.get_failed_records(job["job_id"]))
        check(
            "too-long Name reported",
            len(failed) == 1 and failed[0]["External_Id__c"] == "PYB-12" and failed[0]["sf__Error"].startswith("STRING_TOO_LONG:"),
            failed,
        )
        ok = rows(sf.bulk2.Account.get_successful_records(job["job_id"]))
        created = {r["External_Id__c"]: r["sf__Created"] for r in ok}
        check(
            "upsert updated existing keys and created new ones",
            created == {"PYB-0": "false", "PYB-1": "false", "PYB-2": "false", "PYB-10": "true", "PYB-11": "true"},
            created,
        )
        acc = sf.Account.get_by_custom_id("External_Id__c", "PYB-2")
        check("#N/A cleared the field", acc["Region__c"] is None and acc["Name"] == "Bulk 2 renamed", acc)
        acc = sf.Account.get_by_custom_id("External_Id__c", "PYB-1")
        check("empty cell left the field unchanged", acc["Region__c"] == "EMEA", acc)

    print("done", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report any failure as the script's result
        print(f"FAILED {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
