"""simple-salesforce, unmodified, meets a rate-limit fault: REQUEST_LIMIT_EXCEEDED raises
SalesforceRefusedRequest, as it does against Salesforce.

Run by tests/fault_clients.rs after it installed a fault leaving the org one API call. Prints
`ok <name>` per check; the first failure exits non-zero.
"""

import os

from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceRefusedRequest

HTTPS = os.environ["SF_LOGIN_URL"]
VERSION = os.environ.get("SF_API_VERSION", "62.0")


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok {name}", flush=True)


session_id, instance = SalesforceLogin(
    username=os.environ["SF_USERNAME"], password=os.environ["SF_PASSWORD"],
    security_token="", scratch_url=HTTPS, sf_version=VERSION,
)
sf = Salesforce(session_id=session_id, instance=instance, version=VERSION)
sf.limits()
check("the last call of the allocation works", sf.api_usage["api-usage"].used == sf.api_usage["api-usage"].total, sf.api_usage)
try:
    sf.limits()
    check("the next call is refused", False, "no exception")
except SalesforceRefusedRequest as e:
    check("SalesforceRefusedRequest on REQUEST_LIMIT_EXCEEDED",
          e.status == 403 and e.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED", (e.status, e.content))
    check("with Salesforce's message", e.content[0]["message"] == "TotalRequests Limit exceeded.", e.content)
