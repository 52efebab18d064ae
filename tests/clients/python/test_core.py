"""simple-salesforce, unmodified, against the simulator over HTTPS.

Run by tests/real_clients.rs with the simulator's URLs and CA in the environment. Each check prints
`ok <name>`; the first failure raises with a message and the script exits non-zero.
"""

import os
import sys

import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

HTTPS = os.environ["SF_LOGIN_URL"]  # https://127.0.0.1:PORT
ADMIN = os.environ["SFCHAOS_ADMIN_URL"]  # http://127.0.0.1:PORT/__admin
USER = os.environ["SF_USERNAME"]
PASSWORD = os.environ["SF_PASSWORD"]
VERSION = os.environ.get("SF_API_VERSION", "59.0")


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok {name}", flush=True)


def login():
    # SOAP partner login, as simple-salesforce does by default; TLS verified against REQUESTS_CA_BUNDLE.
    session_id, instance = SalesforceLogin(
        username=USER, password=PASSWORD, security_token="", scratch_url=HTTPS, sf_version=VERSION
    )
    return session_id, instance


def main():
    session_id, instance = login()
    check("soap login returns instance host:port", instance == HTTPS.removeprefix("https://"), instance)
    try:
        SalesforceLogin(username=USER, password="wrong", security_token="", scratch_url=HTTPS)
        check("bad password raises", False, "no exception")
    except SalesforceAuthenticationFailed as e:
        check("bad password raises SalesforceAuthenticationFailed", e.code == "INVALID_LOGIN", e.code)

    sf = Salesforce(session_id=session_id, instance=instance, version=VERSION)

    # Create, get, update, upsert (created and updated), delete.
    created = sf.Account.create({"Name": "Acme Python", "External_Id__c": "PY-1", "Region__c": "EMEA"})
    check("create", created["success"] and len(created["id"]) == 18, created)
    acc = sf.Account.get(created["id"])
    check("get", acc["Name"] == "Acme Python" and acc["attributes"]["type"] == "Account", acc)
    status = sf.Account.update(created["id"], {"Phone": "+1 415 555 0100"})
    check("update returns 204", status == 204, status)
    check("update visible", sf.Account.get(created["id"])["Phone"] == "+1 415 555 0100")
    status = sf.Account.upsert("External_Id__c/PY-2", {"Name": "Upserted"})
    check("upsert creates (201)", status == 201, status)
    status = sf.Account.upsert("External_Id__c/PY-2", {"Name": "Upserted again"})
    check("upsert updates (200)", status == 200, status)
    by_ext = sf.Account.get_by_custom_id("External_Id__c", "PY-2")
    check("get by external id", by_ext["Name"] == "Upserted again", by_ext)
    status = sf.Account.delete(created["id"])
    check("delete returns 204", status == 204, status)
    try:
        sf.Account.get(created["id"])
        check("get after delete raises", False)
    except SalesforceResourceNotFound as e:
        check("get after delete raises SalesforceResourceNotFound", e.content[0]["errorCode"] == "ENTITY_IS_DELETED", e.content)

    # Query and query_all across more than 2,000 records.
    r = requests.post(f"{ADMIN}/seed", json={"object": "Account", "count": 2500})
    r.raise_for_status()
    page = sf.query("SELECT Id, Name FROM Account")
    check("query pages at 2,000", len(page["records"]) == 2000 and not page["done"] and page["totalSize"] >= 2501, {k: page[k] for k in ("totalSize", "done")})
    check("nextRecordsUrl is server-relative", page["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/"), page["nextRecordsUrl"])
    everything = sf.query_all("SELECT Id, Name, External_Id__c FROM Account")
    check("query_all follows every page", len(everything["records"]) == everything["totalSize"] >= 2501, everything["totalSize"])
    ids = {rec["Id"] for rec in everything["records"]}
    check("query_all returns each record once", len(ids) == len(everything["records"]))
    deleted = sf.query_all("SELECT Id FROM Account WHERE IsDeleted = true", include_deleted=True)
    check("query_all include_deleted sees the recycle bin", deleted["totalSize"] == 1, deleted["totalSize"])
    count = sf.query("SELECT COUNT() FROM Account WHERE Region__c = 'EMEA'")
    check("count query", count["totalSize"] >= 1 and count["records"] == [], count)

    # Describe and limits.
    desc = sf.Account.describe()
    names = {f["name"] for f in desc["fields"]}
    check("describe lists custom fields", {"External_Id__c", "Region__c", "Credit_Limit__c"} <= names)
    glob = sf.describe()
    check("describeGlobal lists objects", {"Account", "Contact", "Order_Event__e"} <= {o["name"] for o in glob["sobjects"]})
    limits = sf.limits()
    check("limits", limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"] > 0, limits["DailyApiRequests"])
    check("api usage parsed from Sforce-Limit-Info", sf.api_usage.get("api-usage") is not None, sf.api_usage)

    # The clients' own exception types for errors.
    try:
        sf.query("SELECT Bogus__c FROM Account")
        check("bad field raises", False)
    except SalesforceMalformedRequest as e:
        check("bad field raises SalesforceMalformedRequest/INVALID_FIELD", e.content[0]["errorCode"] == "INVALID_FIELD", e.content)
    try:
        sf.Account.create({"Name": "x", "Bogus__c": 1})
        check("bad field on create raises", False)
    except SalesforceMalformedRequest as e:
        check("bad field on create raises INVALID_FIELD", e.content[0]["errorCode"] == "INVALID_FIELD", e.content)
    try:
        sf.Account.get("001000000000000AAA")
        check("unknown id raises", False)
    except SalesforceResourceNotFound as e:
        check("unknown id raises SalesforceResourceNotFound", e.status == 404, e.status)

    # An expired token: 401 INVALID_SESSION_ID → SalesforceExpiredSession.
    requests.post(f"{ADMIN}/sessions/revoke", json={}).raise_for_status()
    try:
        sf.Account.get(by_ext["Id"])
        check("revoked session raises", False)
    except SalesforceExpiredSession as e:
        check("revoked session raises SalesforceExpiredSession", e.status == 401 and e.content[0]["errorCode"] == "INVALID_SESSION_ID", e.content)

    # OAuth password flow (the other login the integration contract offers).
    r = requests.post(
        f"{HTTPS}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": os.environ["SF_CLIENT_ID"],
            "client_secret": os.environ["SF_CLIENT_SECRET"],
            "username": USER,
            "password": PASSWORD,
        },
    )
    tok = r.json()
    check("oauth password grant", r.status_code == 200 and tok["instance_url"] == HTTPS and tok["id"].count("/") >= 5, tok)
    sf2 = Salesforce(instance_url=tok["instance_url"], session_id=tok["access_token"], version=VERSION)
    check("session from oauth works", sf2.Account.get_by_custom_id("External_Id__c", "PY-2")["Name"] == "Upserted again")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAILED {e}", flush=True)
        sys.exit(1)
