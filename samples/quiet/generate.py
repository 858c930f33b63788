#!/usr/bin/env python3
"""Generate the evidence files of the Quiet sample case: alerts that turn out benign.

Veldhuis Dierenklinieken B.V. (a chain of veterinary clinics in the Netherlands) received two
Medium alerts on Monday 13 October 2025. Both are benign, and the evidence shows why:

* Entra ID Protection: "Unfamiliar sign-in properties" for r.devries@veldhuisvet.nl at 07:58 UTC.
  The sign-in came through the company's own VPN egress (192.0.2.11, inside the trusted range),
  from an Entra-joined, compliant and managed laptop, satisfied MFA (Authenticator push) and
  Conditional Access (success). The risk detection's first row says atRisk; its later row (same
  detection Id, later LastUpdatedDateTime) says confirmedSafe / adminConfirmedSigninSafe.
* Defender for Storage: "Unusual amount of data extracted from a storage account" on
  vdkpraktijkdata at 01:00 UTC. The requester is the organisation's own managed identity
  (mi-nightly-export, an Azure Data Factory copy) from its usual Azure address 20.61.14.9: it
  copies changed blobs every night at 01:00 (ten nights in the log); on 13 October it ran the
  quarterly full re-export, so the volume was large.

Both alerts were resolved by the IT lead (Status Resolved in the alert export; the SOC classified
them BenignPositive in the incident queue, which this export shape does not carry).

Files written (relative to this folder):

    evidence/signins.json         SigninLogs, Log Analytics query API response (tables/columns/rows)
    evidence/riskdetections.csv   AADUserRiskEvents, Log Analytics "Export to CSV"
    evidence/activity.csv         AzureActivity, Log Analytics "Export to CSV"
    evidence/storage.csv          StorageBlobLogs, Log Analytics "Export to CSV"
    evidence/alerts.csv           SecurityAlert, Log Analytics "Export to CSV"
    recommendations.json          Defender for Cloud assessments, REST (`az rest`) with metadata

Python 3 standard library only. Every random choice comes from a seeded random.Random and ids are
derived from names, so running the script again rewrites every file byte for byte.
`check_sample.py` runs at the end and re-reads what was written.

Usage: python3 samples/quiet/generate.py
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVIDENCE = HERE / "evidence"

DOMAIN = "veldhuisvet.nl"


def gid(name: str) -> str:
    digest = hashlib.sha256(("quiet-sample:" + name).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


TENANT = gid("tenant")
SUB = gid("subscription")
SUB_NAME = "VDK-Praktijk-Productie"
WORKSPACE = gid("workspace")
ACCOUNT = "vdkpraktijkdata"
ACCOUNT_RG = "rg-praktijkdata"
ACCOUNT_ID = (f"/subscriptions/{SUB}/resourceGroups/{ACCOUNT_RG}/providers/Microsoft.Storage/"
              f"storageAccounts/{ACCOUNT}")
VPN_EGRESS = ["192.0.2.10", "192.0.2.11"]
OFFICE = "192.0.2.20"
HOTEL_MADRID = "198.51.100.200"
PIPELINE_IP = "20.61.14.9"  # Azure Data Factory integration runtime, West Europe
PORTAL_APP_IP = "20.61.80.9"  # clinic web app (App Service) outbound address
MI_OID = gid("mi:mi-nightly-export")
MI_APPID = gid("mi-app:mi-nightly-export")
WEBAPP_OID = gid("mi:app-clinic-portal")
WEBAPP_APPID = gid("mi-app:app-clinic-portal")
DEPLOY_SP = gid("sp:github-clinic-portal")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def T(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}" + "0Z"


def la(t: datetime) -> str:
    """en-US display time of a Log Analytics CSV export."""
    hour = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    return f"{t.month}/{t.day}/{t.year}, {hour}:{t.minute:02d}:{t.second:02d}.{t.microsecond // 1000:03d} {ampm}"


def compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        unknown = set(r) - set(header)
        assert not unknown, f"{path.name}: {sorted(unknown)}"
        w.writerow(["" if r.get(c) is None else r.get(c) for c in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\ufeff" + buf.getvalue()).encode("utf-8"))


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


class User:
    def __init__(self, alias: str, display: str):
        self.upn = f"{alias}@{DOMAIN}"
        self.display = display
        self.oid = gid("user:" + alias)


DEVRIES = User("r.devries", "Roos de Vries")
JANSEN = User("a.jansen", "Anouk Jansen")
BAKKER = User("p.bakker", "Pieter Bakker")
VISSER = User("m.visser", "Maarten Visser")
MULDER = User("s.mulder", "Sanne Mulder")
STAFF = [DEVRIES, JANSEN, BAKKER, VISSER, MULDER]

EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0")
SAFARI_IOS = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1")

WEEKDAYS = ["2025-10-06", "2025-10-07", "2025-10-08", "2025-10-09", "2025-10-10", "2025-10-13",
            "2025-10-14"]

# ---------------------------------------------------------------------------------------------
# Sign-ins (SigninLogs, Log Analytics query API JSON)
# ---------------------------------------------------------------------------------------------

SIGNIN_COLUMNS = [
    ("TenantId", "string"), ("SourceSystem", "string"), ("TimeGenerated", "datetime"),
    ("OperationName", "string"), ("Category", "string"), ("ResultType", "string"),
    ("ResultDescription", "string"), ("CorrelationId", "string"), ("Identity", "string"),
    ("Level", "string"), ("Location", "string"), ("AppDisplayName", "string"), ("AppId", "string"),
    ("AuthenticationDetails", "string"), ("AuthenticationRequirement", "string"),
    ("ClientAppUsed", "string"), ("ConditionalAccessPolicies", "dynamic"),
    ("ConditionalAccessStatus", "string"), ("CreatedDateTime", "datetime"),
    ("DeviceDetail", "dynamic"), ("IsInteractive", "bool"), ("Id", "string"),
    ("IPAddress", "string"), ("IsRisky", "bool"), ("LocationDetails", "dynamic"),
    ("MfaDetail", "dynamic"), ("NetworkLocationDetails", "string"), ("RiskDetail", "string"),
    ("RiskEventTypes_V2", "string"), ("RiskLevelAggregated", "string"),
    ("RiskLevelDuringSignIn", "string"), ("RiskState", "string"), ("ResourceDisplayName", "string"),
    ("Status", "dynamic"), ("UserAgent", "string"), ("UserDisplayName", "string"),
    ("UserId", "string"), ("UserPrincipalName", "string"), ("AADTenantId", "string"),
    ("UserType", "string"), ("Type", "string"),
]

PLACES = {
    VPN_EGRESS[0]: ("Amsterdam", "Noord-Holland", "NL", "VDK VPN egress"),
    VPN_EGRESS[1]: ("Amsterdam", "Noord-Holland", "NL", "VDK VPN egress"),
    OFFICE: ("Utrecht", "Utrecht", "NL", "VDK kantoor Utrecht"),
    HOTEL_MADRID: ("Madrid", "Madrid", "ES", None),
}

CA_MFA = gid("ca:require-mfa")
CA_DEVICE = gid("ca:require-compliant-device")


def signin(rng: random.Random, when: datetime, user: User, ip: str, app: str, resource: str, *,
           ua: str = EDGE, failed: bool = False, risk: str = "none",
           risk_state: str = "none", risk_events: list[str] | None = None) -> dict:
    city, state, cc, named = PLACES[ip]
    ok = not failed
    device = {"deviceId": gid("device:" + user.upn), "displayName": f"VDK-LT-{user.display.split()[0].upper()}",
              "operatingSystem": "Windows 11", "browser": "Edge 141.0.0", "isCompliant": True,
              "isManaged": True, "trustType": "Azure AD joined"}
    if ua == SAFARI_IOS:
        device = {"deviceId": gid("phone:" + user.upn), "displayName": "iPhone",
                  "operatingSystem": "Ios 18.6", "browser": "Mobile Safari 18.6",
                  "isCompliant": True, "isManaged": True, "trustType": "Azure AD registered"}
    ca = [
        {"id": CA_MFA, "displayName": "CA01 - Require MFA for all users",
         "enforcedGrantControls": ["Mfa"], "result": "success" if ok else "notApplied"},
        {"id": CA_DEVICE, "displayName": "CA02 - Require compliant device",
         "enforcedGrantControls": ["RequireCompliantDevice"], "result": "success" if ok else "notApplied"},
    ]
    steps = [{"authenticationStepDateTime": iso(when), "authenticationMethod": "Password",
              "succeeded": ok, "authenticationStepResultDetail":
              "Correct password" if ok else "Invalid username or password or Invalid on-premise username or password."}]
    if ok:
        steps.append({"authenticationStepDateTime": iso(when), "authenticationMethod":
                      "Mobile app notification", "succeeded": True,
                      "authenticationStepResultDetail": "MFA successfully completed"})
    corr = gid(f"corr:{user.upn}:{when.isoformat()}")
    rid = gid(f"signin:{user.upn}:{when.isoformat()}")
    return {
        "TenantId": WORKSPACE, "SourceSystem": "Azure AD", "TimeGenerated": iso(when),
        "OperationName": "Sign-in activity", "Category": "SignInLogs",
        "ResultType": "0" if ok else "50126",
        "ResultDescription": "" if ok else "Error validating credentials due to invalid username or password.",
        "CorrelationId": corr, "Identity": user.display, "Level": "4", "Location": cc,
        "AppDisplayName": app, "AppId": gid("app:" + app),
        "AuthenticationDetails": json.dumps(steps),
        "AuthenticationRequirement": "multiFactorAuthentication",
        "ClientAppUsed": "Browser" if ua != SAFARI_IOS else "Mobile Apps and Desktop clients",
        "ConditionalAccessPolicies": ca,
        "ConditionalAccessStatus": "success" if ok else "failure",
        "CreatedDateTime": iso(when), "DeviceDetail": device, "IsInteractive": True, "Id": rid,
        "IPAddress": ip, "IsRisky": risk != "none",
        "LocationDetails": {"city": city, "state": state, "countryOrRegion": cc,
                            "geoCoordinates": {"latitude": round(rng.uniform(40, 53), 4),
                                               "longitude": round(rng.uniform(-4, 6), 4)}},
        "MfaDetail": {"authMethod": "Mobile app notification", "authDetail": None} if ok else {},
        "NetworkLocationDetails": json.dumps(
            [{"networkType": "trustedNamedLocation", "networkNames": [named]}] if named else []),
        "RiskDetail": "none", "RiskEventTypes_V2": json.dumps(risk_events or []),
        "RiskLevelAggregated": risk, "RiskLevelDuringSignIn": risk, "RiskState": risk_state,
        "ResourceDisplayName": resource, "Status": {"errorCode": 0 if ok else 50126,
                                                   "failureReason": None if ok else "Invalid username or password."},
        "UserAgent": ua, "UserDisplayName": user.display, "UserId": user.oid,
        "UserPrincipalName": user.upn, "AADTenantId": TENANT, "UserType": "Member",
        "Type": "SigninLogs",
    }


def build_signins(rng: random.Random) -> list[dict]:
    rows = []
    for day in WEEKDAYS:
        for i, u in enumerate(STAFF):
            if u is JANSEN and day in ("2025-10-08", "2025-10-09"):
                continue  # at the conference in Madrid
            when = T(f"{day}T06:40:00") + timedelta(minutes=11 * i + rng.randrange(0, 10),
                                                   seconds=rng.randrange(0, 60),
                                                   microseconds=rng.randrange(0, 999_999))
            if u is DEVRIES and day == "2025-10-13":
                continue  # the alerted sign-in, below
            ip = OFFICE if u in (VISSER, MULDER) else VPN_EGRESS[i % 2]
            if u is VISSER and day == "2025-10-07":
                rows.append(signin(rng, when - timedelta(seconds=24), u, ip, "Microsoft 365",
                                   "Office 365 Exchange Online", failed=True))
            app, res = (("Azure Portal", "Windows Azure Service Management API") if u is BAKKER
                        else ("Microsoft 365", "Office 365 Exchange Online"))
            rows.append(signin(rng, when, u, ip, app, res))
            if u is DEVRIES:
                rows.append(signin(rng, when + timedelta(minutes=3, seconds=rng.randrange(60)), u, ip,
                                   "Microsoft Azure Storage Explorer", "Azure Storage"))
    # The traveller: a vet at a congress in Madrid, on her managed phone, MFA and CA satisfied.
    for day, hhmm in (("2025-10-08", "07:12:31"), ("2025-10-09", "06:55:02")):
        rows.append(signin(rng, T(f"{day}T{hhmm}").replace(microsecond=rng.randrange(999_999)), JANSEN,
                           HOTEL_MADRID, "Microsoft Teams", "Microsoft Teams Services", ua=SAFARI_IOS))
    # The alerted sign-in: new laptop (replacement issued by IT on Friday), through the VPN.
    alerted = T("2025-10-13T07:58:12").replace(microsecond=418_000)
    rows.append(signin(rng, alerted, DEVRIES, VPN_EGRESS[1], "Microsoft 365", "Office 365 Exchange Online",
                       risk="medium", risk_state="atRisk", risk_events=["unfamiliarFeatures"]))
    rows.append(signin(rng, alerted + timedelta(minutes=4, seconds=7), DEVRIES, VPN_EGRESS[1],
                       "Microsoft Azure Storage Explorer", "Azure Storage"))
    rows.sort(key=lambda r: r["TimeGenerated"])
    return rows


# ---------------------------------------------------------------------------------------------
# Risk detections (AADUserRiskEvents, Log Analytics CSV)
# ---------------------------------------------------------------------------------------------

RISK_COLUMNS = [
    "TenantId", "SourceSystem", "TimeGenerated [UTC]", "Activity", "ActivityDateTime [UTC]",
    "AdditionalInfo", "CorrelationId", "DetectedDateTime [UTC]", "DetectionTimingType", "Id",
    "IpAddress", "LastUpdatedDateTime [UTC]", "Location", "RequestId", "RiskDetail",
    "RiskEventType", "RiskLevel", "RiskState", "Source", "TokenIssuerType", "UserDisplayName",
    "UserId", "UserPrincipalName", "OperationName", "Type",
]


def build_risk(signins: list[dict]) -> list[dict]:
    s = next(r for r in signins if r["RiskState"] == "atRisk")
    activity = datetime.strptime(s["TimeGenerated"][:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=timezone.utc, microsecond=418_000)
    det_id = hashlib.sha256(b"quiet-risk-1").hexdigest()[:64]
    base = {
        "TenantId": WORKSPACE, "SourceSystem": "Azure AD", "Activity": "signin",
        "ActivityDateTime [UTC]": la(activity),
        "AdditionalInfo": json.dumps([{"Key": "userAgent", "Value": EDGE}]),
        "CorrelationId": s["CorrelationId"], "DetectedDateTime [UTC]": la(activity),
        "DetectionTimingType": "realtime", "Id": det_id, "IpAddress": s["IPAddress"],
        "Location": compact({"city": "Amsterdam", "state": "Noord-Holland", "countryOrRegion": "NL",
                             "geoCoordinates": None}),
        "RequestId": s["Id"], "RiskEventType": "unfamiliarFeatures", "RiskLevel": "medium",
        "Source": "IdentityProtection", "TokenIssuerType": "AzureAD",
        "UserDisplayName": DEVRIES.display, "UserId": DEVRIES.oid,
        "UserPrincipalName": DEVRIES.upn, "OperationName": "User Risk Detection",
        "Type": "AADUserRiskEvents",
    }
    first = dict(base, **{"TimeGenerated [UTC]": la(activity + timedelta(minutes=5, seconds=2)),
                          "LastUpdatedDateTime [UTC]": la(activity + timedelta(minutes=4, seconds=40)),
                          "RiskState": "atRisk", "RiskDetail": "none"})
    later = dict(base, **{"TimeGenerated [UTC]": la(T("2025-10-13T09:41:37")),
                          "LastUpdatedDateTime [UTC]": la(T("2025-10-13T09:40:55")),
                          "RiskState": "confirmedSafe", "RiskDetail": "adminConfirmedSigninSafe"})
    return [first, later]


# ---------------------------------------------------------------------------------------------
# Activity (AzureActivity, Log Analytics CSV)
# ---------------------------------------------------------------------------------------------

ACTIVITY_COLUMNS = [
    "TenantId", "SourceSystem", "CallerIpAddress", "CategoryValue", "CorrelationId", "Authorization",
    "Authorization_d", "Claims", "Claims_d", "Level", "OperationNameValue", "Properties",
    "Properties_d", "Caller", "EventDataId", "EventSubmissionTimestamp [UTC]", "HTTPRequest",
    "OperationId", "ResourceGroup", "ResourceProviderValue", "ActivityStatusValue",
    "ActivitySubstatusValue", "Hierarchy", "TimeGenerated [UTC]", "SubscriptionId",
    "OperationName", "ActivityStatus", "ActivitySubstatus", "Category", "ResourceId",
    "ResourceProvider", "Resource", "_ResourceId", "Type",
]


def operation(when: datetime, op: str, display: str, caller: str, ip: str, resource_id: str,
              *, request: dict | None = None, fail: str | None = None, secs: int = 2) -> list[dict]:
    corr = gid(f"op:{op}:{when.isoformat()}")
    rg = resource_id.split("/resourceGroups/")[1].split("/")[0] if "/resourceGroups/" in resource_id else ""
    provider = op.split("/")[0]
    rows = []
    for status, t in (("Start", when), ("Failure" if fail else "Success", when + timedelta(seconds=secs))):
        props = {"eventCategory": "Administrative", "entity": resource_id, "message": op,
                 "hierarchy": f"{TENANT}/{SUB}"}
        if status != "Start":
            props["statusCode"] = "Forbidden" if fail else "OK"
            if request:
                props["responseBody"] = json.dumps(request)
        elif request:
            props["requestbody"] = json.dumps(request)
        authz = {"action": op, "scope": resource_id}
        rows.append({
            "TenantId": WORKSPACE, "SourceSystem": "Azure", "CallerIpAddress": ip,
            "CategoryValue": "Administrative", "CorrelationId": corr,
            "Authorization": json.dumps(authz, indent=2).replace("\n", "\r\n"),
            "Authorization_d": compact(authz), "Claims": "", "Claims_d": "",
            "Level": "Informational", "OperationNameValue": op.upper(),
            "Properties": json.dumps(props, indent=2).replace("\n", "\r\n"), "Properties_d": compact(props),
            "Caller": caller, "EventDataId": gid(f"evt:{corr}:{status}"),
            "EventSubmissionTimestamp [UTC]": la(t + timedelta(seconds=9)),
            "HTTPRequest": compact({"clientRequestId": gid("req:" + corr), "clientIpAddress": ip,
                                    "method": "POST" if op.endswith("/action") else "PUT"}),
            "OperationId": corr, "ResourceGroup": rg.upper(), "ResourceProviderValue": provider.upper(),
            "ActivityStatusValue": status, "ActivitySubstatusValue": "" if status == "Start" else ("Forbidden" if fail else "OK"),
            "Hierarchy": f"{TENANT}/{SUB}", "TimeGenerated [UTC]": la(t), "SubscriptionId": SUB,
            "OperationName": display, "ActivityStatus": "Started" if status == "Start" else ("Failed" if fail else "Succeeded"),
            "ActivitySubstatus": "", "Category": "Administrative", "ResourceId": resource_id,
            "ResourceProvider": provider, "Resource": resource_id.rsplit("/", 1)[-1],
            "_ResourceId": resource_id.lower(), "Type": "AzureActivity",
        })
    return rows


def build_activity() -> list[dict]:
    vm = f"/subscriptions/{SUB}/resourceGroups/rg-pacs/providers/Microsoft.Compute/virtualMachines/vm-pacs-01"
    site = f"/subscriptions/{SUB}/resourceGroups/rg-clinic-portal/providers/Microsoft.Web/sites/app-clinic-portal"
    alert = (f"/subscriptions/{SUB}/resourceGroups/{ACCOUNT_RG}/providers/Microsoft.Security/locations/"
             f"westeurope/alerts/2517{gid('alert-storage').replace('-', '')[:15]}")
    rows = []
    rows += operation(T("2025-10-07T10:12:44"), "Microsoft.Compute/virtualMachines/restart/action",
                      "Restart Virtual Machine", BAKKER.upn, VPN_EGRESS[0], vm, secs=31)
    rows += operation(T("2025-10-08T16:30:05"), "Microsoft.Web/sites/write",
                      "Update website", DEPLOY_SP, PORTAL_APP_IP.replace(".9", ".5"), site,
                      request={"location": "westeurope", "properties": {"httpsOnly": True}})
    rows += operation(T("2025-10-09T14:05:19"), "Microsoft.Storage/storageAccounts/blobServices/write",
                      "Put blob service properties", BAKKER.upn, VPN_EGRESS[0], ACCOUNT_ID + "/blobServices/default",
                      request={"properties": {"deleteRetentionPolicy": {"enabled": True, "days": 14}}})
    rows += operation(T("2025-10-13T10:44:02"), "Microsoft.Security/locations/alerts/resolve/action",
                      "Resolve security alert", BAKKER.upn, VPN_EGRESS[0], alert, secs=1)
    rows.sort(key=lambda r: datetime.strptime(r["TimeGenerated [UTC]"], "%m/%d/%Y, %I:%M:%S.%f %p"))
    return rows


# ---------------------------------------------------------------------------------------------
# Storage (StorageBlobLogs, Log Analytics CSV)
# ---------------------------------------------------------------------------------------------

STORAGE_COLUMNS = [
    "TenantId", "TimeGenerated [UTC]", "AccountName", "Location", "Protocol", "OperationName",
    "AuthenticationType", "StatusCode", "StatusText", "DurationMs", "ServerLatencyMs", "Uri",
    "CallerIpAddress", "CorrelationId", "UserAgentHeader", "ObjectKey", "ResponseBodySize",
    "RequestBodySize", "RequesterAppId", "RequesterObjectId", "RequesterUpn", "RequesterTenantId",
    "AuthenticationHash", "Category", "ResourceId", "Type",
]

ADF_UA = "AzureDataFactoryCopy FxVersion/4.8.9310.0 OSName/Windows OSVersion/6.2.9200.0 Microsoft.WindowsAzure.Storage/9.3.3"
EXPLORER_UA = "Azure-Storage/12.25.0 (.NET 8.0.20; Microsoft Windows 10.0.26100) AzureStorageExplorer/1.40.1"
WEBAPP_UA = "azsdk-net-Storage.Blobs/12.25.0 (.NET 8.0.20; Linux 5.15.0-1089-azure #98-Ubuntu)"

FACTS: dict[str, int] = {}


def blob_row(rng: random.Random, when: datetime, op: str, container: str, blob: str | None, size: int, *,
             ip: str, ua: str, oid: str, appid: str | None = None, upn: str | None = None,
             status: int = 200) -> dict:
    key = f"/{ACCOUNT}/{container}" + (f"/{blob}" if blob else "")
    uri = f"https://{ACCOUNT}.blob.core.windows.net:443/{container}" + (
        f"/{blob}" if blob else "?restype=container&comp=list")
    return {
        "TenantId": WORKSPACE, "TimeGenerated [UTC]": la(when), "AccountName": ACCOUNT,
        "Location": "westeurope", "Protocol": "HTTPS", "OperationName": op, "AuthenticationType": "OAuth",
        "StatusCode": status, "StatusText": "Success" if status < 300 else "BlobNotFound",
        "DurationMs": rng.randrange(8, 900), "ServerLatencyMs": rng.randrange(4, 60), "Uri": uri,
        "CallerIpAddress": f"{ip}:{rng.randrange(49152, 65535)}",
        "CorrelationId": gid(f"blob:{when.isoformat()}:{key}:{op}"), "UserAgentHeader": ua,
        "ObjectKey": key, "ResponseBodySize": size, "RequestBodySize": 0,
        "RequesterAppId": appid or "", "RequesterObjectId": oid, "RequesterUpn": upn or "",
        "RequesterTenantId": TENANT, "AuthenticationHash": "", "Category": "StorageRead",
        "ResourceId": ACCOUNT_ID + "/blobServices/default", "Type": "StorageBlobLogs",
    }


def build_storage(rng: random.Random) -> list[dict]:
    rows: list[dict] = []
    nightly_bytes = 0
    nightly_reads = 0
    # Nightly copy by the data-pipeline managed identity, 5 to 14 October (ten nights).
    for night in range(5, 15):
        start = T(f"2025-10-{night:02d}T01:00:00") + timedelta(seconds=rng.randrange(3, 40))
        full = night == 13  # quarterly full re-export
        t = start
        for container in ("eigenaren", "afspraken"):
            rows.append(blob_row(rng, t, "ListBlobs", container, None, rng.randrange(40_000, 90_000),
                                 ip=PIPELINE_IP, ua=ADF_UA, oid=MI_OID, appid=MI_APPID))
            t += timedelta(seconds=2)
            count = (240 if container == "eigenaren" else 180) if full else rng.randrange(14, 26)
            for i in range(count):
                blob = (f"export/2025/{night:02d}/part-{i:04d}.parquet" if not full
                        else f"full/2025-Q3/part-{i:05d}.parquet")
                size = rng.randrange(8_000_000, 18_000_000)
                rows.append(blob_row(rng, t, "GetBlob", container, blob, size,
                                     ip=PIPELINE_IP, ua=ADF_UA, oid=MI_OID, appid=MI_APPID))
                nightly_bytes += size
                nightly_reads += 1
                if full:
                    FACTS["full_bytes"] = FACTS.get("full_bytes", 0) + size
                    FACTS["full_reads"] = FACTS.get("full_reads", 0) + 1
                t += timedelta(seconds=rng.randrange(2, 6), microseconds=rng.randrange(999_999))
    FACTS["nightly_bytes"] = nightly_bytes
    FACTS["nightly_reads"] = nightly_reads
    # The clinic web app reads appointment slots during opening hours.
    for day in WEEKDAYS:
        for k in range(8):
            when = T(f"{day}T07:00:00") + timedelta(minutes=61 * k + rng.randrange(50), seconds=rng.randrange(60))
            rows.append(blob_row(rng, when, "GetBlob", "afspraken", f"slots/{day}/clinic-{k % 6 + 1:02d}.json",
                                 rng.randrange(3_000, 40_000), ip=PORTAL_APP_IP, ua=WEBAPP_UA,
                                 oid=WEBAPP_OID, appid=WEBAPP_APPID))
    # The finance controller opens the month's reports in Storage Explorer (OAuth, her UPN).
    devries_bytes = 0
    for day, n in (("2025-10-07", 3), ("2025-10-10", 2), ("2025-10-13", 4)):
        base = T(f"{day}T08:20:00") if day != "2025-10-13" else T("2025-10-13T08:06:40")
        rows.append(blob_row(rng, base, "ListBlobs", "financieel", None, 12_480, ip=VPN_EGRESS[1],
                             ua=EXPLORER_UA, oid=DEVRIES.oid, upn=DEVRIES.upn))
        for i in range(n):
            size = rng.randrange(300_000, 2_400_000)
            devries_bytes += size
            rows.append(blob_row(rng, base + timedelta(seconds=20 + 15 * i), "GetBlob", "financieel",
                                 f"rapportages/2025-09/rapport-{i + 1}.xlsx", size, ip=VPN_EGRESS[1],
                                 ua=EXPLORER_UA, oid=DEVRIES.oid, upn=DEVRIES.upn))
    FACTS["devries_bytes"] = devries_bytes
    rows.sort(key=lambda r: datetime.strptime(r["TimeGenerated [UTC]"], "%m/%d/%Y, %I:%M:%S.%f %p"))
    return rows


# ---------------------------------------------------------------------------------------------
# Alerts (SecurityAlert, Log Analytics CSV)
# ---------------------------------------------------------------------------------------------

ALERT_COLUMNS = [
    "TenantId", "TimeGenerated [UTC]", "DisplayName", "AlertName", "AlertSeverity", "Description",
    "ProviderName", "VendorName", "VendorOriginalId", "SystemAlertId", "ResourceId", "SourceComputerId",
    "AlertType", "ConfidenceLevel", "ConfidenceScore", "IsIncident", "StartTime [UTC]", "EndTime [UTC]",
    "ProcessingEndTime [UTC]", "RemediationSteps", "ExtendedProperties", "Entities", "SourceSystem",
    "WorkspaceSubscriptionId", "WorkspaceResourceGroup", "ExtendedLinks", "ProductName",
    "ProductComponentName", "AlertLink", "Status", "CompromisedEntity", "Tactics", "Techniques", "Type",
]


def pretty(obj) -> str:
    return json.dumps(obj, indent=2).replace("\n", "\r\n")


def build_alerts() -> list[dict]:
    ipc_id = gid("alert:ipc")
    stor_id = gid("alert:storage")
    common = {"TenantId": WORKSPACE, "SourceSystem": "Detection", "WorkspaceSubscriptionId": SUB,
              "WorkspaceResourceGroup": "rg-security", "IsIncident": "FALSE", "Type": "SecurityAlert",
              "ConfidenceLevel": "", "ConfidenceScore": "", "SourceComputerId": "", "ExtendedLinks": ""}
    ipc = dict(common, **{
        "TimeGenerated [UTC]": la(T("2025-10-13T08:03:14")),
        "DisplayName": "Unfamiliar sign-in properties", "AlertName": "Unfamiliar sign-in properties",
        "AlertSeverity": "Medium",
        "Description": "The following properties of this sign-in are unfamiliar for the given user: Device, Browser.",
        "ProviderName": "IPC", "VendorName": "Microsoft", "VendorOriginalId": hashlib.sha256(b"quiet-risk-1").hexdigest()[:64],
        "SystemAlertId": ipc_id, "ResourceId": "", "AlertType": "UnfamiliarLocation",
        "StartTime [UTC]": la(T("2025-10-13T07:58:12").replace(microsecond=418_000)),
        "EndTime [UTC]": la(T("2025-10-13T07:58:12").replace(microsecond=418_000)),
        "ProcessingEndTime [UTC]": la(T("2025-10-13T08:03:16")),
        "RemediationSteps": pretty(["1. Contact the user to confirm the sign-in."]),
        "ExtendedProperties": pretty({"Detail Description": "Unfamiliar sign-in properties",
                                      "State": "Closed", "Request Id": "", "Client Location": "Amsterdam, Noord-Holland, NL",
                                      "Client IP Address": VPN_EGRESS[1], "User Account": DEVRIES.upn}),
        "Entities": pretty([
            {"$id": "2", "Name": "r.devries", "UPNSuffix": DOMAIN, "AadUserId": DEVRIES.oid, "Type": "account"},
            {"$id": "3", "Address": VPN_EGRESS[1], "Location": {"CountryCode": "NL", "City": "Amsterdam"}, "Type": "ip"},
        ]),
        "ProductName": "Azure Active Directory Identity Protection", "ProductComponentName": "",
        "AlertLink": "", "Status": "Resolved", "CompromisedEntity": DEVRIES.upn,
        "Tactics": "InitialAccess", "Techniques": "", })
    stor = dict(common, **{
        "TimeGenerated [UTC]": la(T("2025-10-13T02:11:48")),
        "DisplayName": "Unusual amount of data extracted from a storage account",
        "AlertName": "Unusual amount of data extracted from a storage account",
        "AlertSeverity": "Medium",
        "Description": ("Someone has extracted an unusual amount of data from your Azure Storage account "
                        f"'{ACCOUNT}', compared with the recent activity on this account."),
        "ProviderName": "Azure Security Center", "VendorName": "Microsoft", "VendorOriginalId": stor_id,
        "SystemAlertId": stor_id, "ResourceId": ACCOUNT_ID,
        "AlertType": "Storage.Blob_DataExfiltration.AmountOfDataAnomaly",
        "StartTime [UTC]": la(T("2025-10-13T01:00:00")), "EndTime [UTC]": la(T("2025-10-13T01:45:00")),
        "ProcessingEndTime [UTC]": la(T("2025-10-13T02:11:50")),
        "RemediationSteps": pretty(["Limit access to your storage account, following the 'least privilege' principle."]),
        "ExtendedProperties": pretty({"Client IP address": PIPELINE_IP, "Authentication type": "OAuth",
                                      "Requester object id": MI_OID, "Operations types": "ListBlobs, GetBlob",
                                      "Service type": "Azure Blobs", "User agent": ADF_UA,
                                      "Containers": "eigenaren, afspraken"}),
        "Entities": pretty([
            {"$id": "2", "ResourceId": ACCOUNT_ID, "ResourceType": "Storage Account", "ResourceName": ACCOUNT,
             "Type": "azure-resource"},
            {"$id": "3", "Address": PIPELINE_IP, "Location": {"CountryCode": "NL", "City": "Amsterdam",
                                                              "Organization": "Microsoft Corporation",
                                                              "OrganizationType": "Hosting",
                                                              "CloudProvider": "Azure"}, "Type": "ip"},
            {"$id": "4", "AadUserId": MI_OID, "Name": "mi-nightly-export", "IsDomainJoined": False,
             "Type": "account"},
            {"$id": "5", "Name": "eigenaren", "StorageResource": {"$ref": "2"}, "Type": "blob-container"},
        ]),
        "ProductName": "Azure Security Center", "ProductComponentName": "Storage",
        "AlertLink": "", "Status": "Resolved", "CompromisedEntity": ACCOUNT,
        "Tactics": "Exfiltration", "Techniques": "T1537", })
    return [stor, ipc]


# ---------------------------------------------------------------------------------------------
# Recommendations (REST assessments with $expand=metadata)
# ---------------------------------------------------------------------------------------------


def build_recommendations() -> dict:
    sub = f"/subscriptions/{SUB}"
    vm = f"{sub}/resourceGroups/rg-pacs/providers/Microsoft.Compute/virtualMachines/vm-pacs-01"
    items = [
        ("3b363842-30f5-4056-980d-3a40fa5de8b3", "Storage accounts should prevent shared key access",
         "Medium", "Unhealthy", ACCOUNT_ID, "2025-03-02T09:14:11Z", "2025-03-02T09:14:11Z"),
        ("45d313c3-3fca-5040-035f-d61928366d31",
         "Access to storage accounts with firewall and virtual network configurations should be restricted",
         "Low", "Unhealthy", ACCOUNT_ID, "2025-03-02T09:14:11Z", "2025-03-02T09:14:11Z"),
        ("1be22853-8ed1-4005-9907-ddad64cb1417", "Microsoft Defender for Storage should be enabled",
         "High", "Healthy", sub, "2025-01-20T00:00:00Z", "2025-02-11T13:02:44Z"),
        ("6240402e-f77c-46fa-9060-a7ce53997754",
         "Accounts with owner permissions on Azure resources should be MFA enabled",
         "High", "Healthy", sub, "2025-01-20T00:00:00Z", "2025-01-20T00:00:00Z"),
        ("56a6e81f-7413-4f72-9a1b-aaeeaa87c872", "Microsoft Defender for Servers should be enabled",
         "High", "Unhealthy", sub, "2025-01-20T00:00:00Z", "2025-01-20T00:00:00Z"),
        ("805651bc-6ecd-4c73-9b55-97a19d0582d0",
         "Management ports of virtual machines should be protected with just-in-time network access control",
         "High", "Unhealthy", vm, "2025-06-18T07:40:00Z", "2025-06-18T07:40:00Z"),
        ("77758c9d-8a56-5f54-6ff7-69a762ca6004",
         "Subscriptions should have a contact email address for security issues",
         "Low", "Healthy", sub, "2025-01-20T00:00:00Z", "2025-01-21T10:00:00Z"),
        ("f0fb2a7e-16d5-849f-be57-86db712e9bd0", "Microsoft Defender for Resource Manager should be enabled",
         "High", "Healthy", sub, "2025-01-20T00:00:00Z", "2025-02-11T13:02:44Z"),
    ]
    value = []
    for key, name, sev, state, res, first, change in items:
        value.append({
            "id": f"{res}/providers/Microsoft.Security/assessments/{key}",
            "name": key,
            "properties": {
                "additionalData": {},
                "displayName": name,
                "links": {"azurePortalUri": "https://www.portal.azure.com/?fea#blade/Microsoft_Azure_Security/"
                                            f"RecommendationsBlade/assessmentKey/{key}"},
                "metadata": {"displayName": name, "severity": sev, "assessmentType": "BuiltIn"},
                "resourceDetails": {"id": res, "source": "Azure"},
                "status": {"code": state, "firstEvaluationDate": first, "statusChangeDate": change},
            },
            "type": "Microsoft.Security/assessments",
        })
    return {"value": value, "nextLink": None}


def main() -> int:
    rng = random.Random(20251013)
    signins = build_signins(rng)
    write_json(EVIDENCE / "signins.json", {"tables": [{
        "name": "PrimaryResult",
        "columns": [{"name": n, "type": t} for n, t in SIGNIN_COLUMNS],
        "rows": [[r[n] for n, _ in SIGNIN_COLUMNS] for r in signins],
    }]})
    write_csv(EVIDENCE / "riskdetections.csv", RISK_COLUMNS, build_risk(signins))
    write_csv(EVIDENCE / "activity.csv", ACTIVITY_COLUMNS, build_activity())
    write_csv(EVIDENCE / "storage.csv", STORAGE_COLUMNS, build_storage(rng))
    write_csv(EVIDENCE / "alerts.csv", ALERT_COLUMNS, build_alerts())
    write_json(HERE / "recommendations.json", build_recommendations())
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(HERE))
    import check_sample  # noqa: E402

    return check_sample.main()


if __name__ == "__main__":
    sys.exit(main())
