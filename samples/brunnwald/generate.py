#!/usr/bin/env python3
"""Generate the evidence files of the Brunnwald sample case.

Brunnwald Logistik GmbH (a Hamburg freight forwarder; Azure tenant in Germany West Central).
On the evening of 10 June 2025 someone guesses the password of the cloud engineer Jonas Keller
(j.keller@brunnwald.de) from 192.0.2.201; at 02:14 UTC on 11 June a single-factor sign-in from
198.51.100.23 succeeds (Conditional Access notApplied). With his account the attacker

* grants Contributor on the resource group rg-logistik-prod to the service principal
  sp-routing-batch (object id SP_OID), whose client secret sat in a pipeline variable Keller could
  read; the service principal then builds GPU VMs: vm-etl-07 in Germany West Central (an approved
  region; never deleted, still running at the case's as-of), vm-etl-08 in East US (not approved;
  deleted by the responders) and vm-etl-09 in Japan East (refused by Azure Policy,
  RequestDisallowedByPolicy). The SSH rule on nsg-etl-08 is one operation whose Started event
  carries the attacker's IPv6 address and whose Succeeded event carries 198.51.100.23;
* lists the keys of bwlcoredata (succeeds) and of bwlarchive (denied: AuthorizationFailed);
* reads the employees' payroll and bank details (container gehaltsdaten) and the route plans
  (tourenplanung, no personal data) with key1, until the responders regenerate key1 at 04:05:12;
  the attacker's reads from 04:20 all fail with 403.

Jonas Keller's own work on 10 June (office sign-ins, OAuth reads of tourenplanung with his UPN,
a VM restart) is in the same logs, as are other staff, a traveller in Vienna, the nightly backup
service principal and a deployment pipeline.

Files written (relative to this folder):

    evidence/signins-graph.json        Graph beta auditLogs/signIns page ({"@odata.context", "value"})
    evidence/activity-az.json          `az monitor activity-log list` output (array, newest first)
    evidence/storageread-bwlcoredata.jsonl   raw StorageRead resource-log records, JSON Lines
    evidence/alerts-defender.json      Defender for Cloud alerts, continuous-export shape (array)
    recommendations.csv                SecurityRecommendation, Log Analytics "Export to CSV"

Python 3 standard library only; seeded random.Random and name-derived ids, so every run writes
the same bytes. `check_sample.py` runs at the end and re-reads what was written.

Usage: python3 samples/brunnwald/generate.py
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
DOMAIN = "brunnwald.de"


def gid(name: str) -> str:
    digest = hashlib.sha256(("brunnwald-sample:" + name).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def hexhash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest().upper()


TENANT = gid("tenant")
SUB = gid("subscription")
SUB_NAME = "BWL-Produktion"
WORKSPACE = gid("workspace")
RG = "rg-logistik-prod"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}"
CORE = "bwlcoredata"
ARCHIVE = "bwlarchive"
CORE_ID = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/{CORE}"
ARCHIVE_ID = f"/subscriptions/{SUB}/resourceGroups/rg-archiv/providers/Microsoft.Storage/storageAccounts/{ARCHIVE}"

OFFICE = "203.0.113.140"  # Hamburg office egress (trusted 203.0.113.128/26)
GUESS_IP = "192.0.2.201"  # password guessing (NL hosting)
ATTACKER_IP = "198.51.100.23"  # the successful sign-in and everything after (US hosting)
ATTACKER_IP6 = "2001:db8:5e11:7::23"  # the same host's IPv6 address (one Started event)
VIENNA = "198.51.100.150"  # traveller's hotel
BACKUP_IP = "20.113.50.4"  # Azure Backup / data-protection runner, Germany West Central
DEPLOY_IP = "20.113.61.18"  # Azure DevOps hosted agent

SP_OID = gid("sp:sp-routing-batch")
SP_APPID = gid("app:sp-routing-batch")
BACKUP_OID = gid("sp:sp-nightly-backup")
BACKUP_APPID = gid("app:sp-nightly-backup")
DEPLOY_OID = gid("sp:sp-ado-portal")
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
ROLE_ASSIGNMENT = gid("ra:attacker-contributor")

ATTACKER_UA = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
ATTACKER_STORAGE_UA = "Azure-Storage/12.20.0 (Python CPython 3.11.9; Linux 6.5.0-1022-azure)"
EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0")
EXPLORER_UA = "Azure-Storage/12.19.1 (.NET 8.0.5; Microsoft Windows 10.0.22631) AzureStorageExplorer/1.34.0"
BACKUP_UA = "azsdk-net-Storage.Blobs/12.19.1 (.NET 6.0.30; Linux 5.15.0-1064-azure)"


def T(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def iso7(t: datetime, digit: int = 0) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}{digit}Z"


def iso_offset(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}+00:00"


class User:
    def __init__(self, alias: str, display: str):
        self.upn = f"{alias}@{DOMAIN}"
        self.display = display
        self.oid = gid("user:" + alias)


KELLER = User("j.keller", "Jonas Keller")
BRANDT = User("m.brandt", "Markus Brandt")  # SOC lead, the responder
HOFFMANN = User("l.hoffmann", "Lena Hoffmann")  # sales, travelling in Vienna
SCHULZ = User("t.schulz", "Tobias Schulz")
YILMAZ = User("a.yilmaz", "Aylin Yilmaz")

# ---------------------------------------------------------------------------------------------
# Sign-ins: Graph beta auditLogs/signIns page
# ---------------------------------------------------------------------------------------------

PLACES = {
    OFFICE: ("Hamburg", "Hamburg", "DE", 53.5511, 9.9937),
    GUESS_IP: ("Amsterdam", "Noord-Holland", "NL", 52.3740, 4.8897),
    ATTACKER_IP: ("Ashburn", "Virginia", "US", 39.0437, -77.4875),
    VIENNA: ("Vienna", "Wien", "AT", 48.2082, 16.3738),
}
CA_MFA = gid("ca:mfa-office")


def signin(rng: random.Random, when: datetime, user: User, ip: str, *, app: str = "Azure Portal",
           resource: str = "Windows Azure Service Management API", ua: str = EDGE, error: int = 0,
           mfa: bool = True, risk: str = "none", risk_state: str = "none",
           risk_events: list[str] | None = None, compliant: bool = True) -> dict:
    city, state, cc, lat, lon = PLACES[ip]
    ok = error == 0
    ca_status = "success" if ok and mfa else ("notApplied" if ok else "failure")
    if not ok:
        ca_status = "notApplied"
    steps = [{"authenticationStepDateTime": iso_offset(when), "authenticationMethod": "Password",
              "authenticationMethodDetail": "Password in the cloud", "succeeded": ok,
              "authenticationStepResultDetail": "Correct password" if ok else "Invalid username or password or Invalid on-premise username or password.",
              "authenticationStepRequirement": "Primary authentication"}]
    if ok and mfa:
        steps.append({"authenticationStepDateTime": iso_offset(when), "authenticationMethod":
                      "Mobile app notification", "authenticationMethodDetail": None, "succeeded": True,
                      "authenticationStepResultDetail": "MFA successfully completed",
                      "authenticationStepRequirement": "Multi-factor authentication"})
    linux = ua == ATTACKER_UA
    return {
        "id": gid(f"signin:{user.upn}:{when.isoformat()}:{ip}"),
        "createdDateTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "userDisplayName": user.display,
        "userPrincipalName": user.upn,
        "userId": user.oid,
        "appId": gid("app:" + app) if app != "Azure Portal" else "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "appDisplayName": app,
        "ipAddress": ip,
        "ipAddressFromResourceProvider": None,
        "clientAppUsed": "Browser",
        "userAgent": ua,
        "correlationId": gid(f"corr:{user.upn}:{when.isoformat()}"),
        "conditionalAccessStatus": ca_status,
        "originalRequestId": gid(f"signin:{user.upn}:{when.isoformat()}:{ip}"),
        "isInteractive": True,
        "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD",
        "processingTimeInMilliseconds": rng.randrange(60, 400),
        "riskDetail": "none",
        "riskLevelAggregated": risk,
        "riskLevelDuringSignIn": risk,
        "riskState": risk_state,
        "riskEventTypes": risk_events or [],
        "riskEventTypes_v2": risk_events or [],
        "resourceDisplayName": resource,
        "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "resourceTenantId": TENANT,
        "homeTenantId": TENANT,
        "authenticationRequirement": "multiFactorAuthentication" if mfa and ok else "singleFactorAuthentication",
        "userType": "member",
        "flaggedForReview": False,
        "status": {"errorCode": error, "failureReason": None if ok else "Invalid username or password or Invalid on-premise username or password.",
                   "additionalDetails": None if ok else "The user didn't enter the right credentials."},
        "deviceDetail": {"deviceId": "" if linux else gid("device:" + user.upn),
                         "displayName": "" if linux else f"BWL-NB-{user.display.split()[1].upper()}",
                         "operatingSystem": "Linux" if linux else "Windows10",
                         "browser": "Firefox 126.0" if linux else "Edge 125.0.0",
                         "isCompliant": (not linux) and compliant, "isManaged": not linux,
                         "trustType": "" if linux else "Hybrid Azure AD joined"},
        "location": {"city": city, "state": state, "countryOrRegion": cc,
                     "geoCoordinates": {"altitude": None, "latitude": lat, "longitude": lon}},
        "appliedConditionalAccessPolicies": [{
            "id": CA_MFA, "displayName": "CA-01 MFA für Azure-Verwaltung (nur Firmennetz)",
            "enforcedGrantControls": ["Mfa"] if ca_status == "success" else [],
            "enforcedSessionControls": [], "result": "success" if ca_status == "success" else "notApplied"}],
        "authenticationDetails": steps,
        "networkLocationDetails": ([{"networkType": "trustedNamedLocation", "networkNames": ["BWL Hamburg"]}]
                                   if ip == OFFICE else []),
        "mfaDetail": {"authMethod": "Mobile app notification", "authDetail": None} if ok and mfa else None,
    }


def build_signins(rng: random.Random) -> list[dict]:
    rows = []
    # 9 and 10 June: ordinary office work, MFA and CA success from the trusted range.
    for day in ("2025-06-09", "2025-06-10"):
        for i, u in enumerate((KELLER, BRANDT, SCHULZ, YILMAZ, HOFFMANN)):
            when = T(f"{day}T05:52:00") + timedelta(minutes=9 * i + rng.randrange(8), seconds=rng.randrange(60))
            app = ("Azure Portal", "Windows Azure Service Management API") if u in (KELLER, BRANDT) else (
                "Office 365 Exchange Online", "Office 365 Exchange Online")
            rows.append(signin(rng, when, u, OFFICE, app=app[0], resource=app[1]))
        rows.append(signin(rng, T(f"{day}T06:31:00") + timedelta(seconds=rng.randrange(60)), KELLER, OFFICE,
                           app="Microsoft Azure Storage Explorer", resource="Azure Storage"))
    # Password guessing on the evening of 10 June and just before the compromise.
    t = T("2025-06-10T20:10:00")
    for k in range(8):
        rows.append(signin(rng, t, KELLER, GUESS_IP, ua=ATTACKER_UA, error=50126, mfa=False))
        t += timedelta(minutes=2, seconds=rng.randrange(10, 50))
    for hhmm in ("2025-06-11T01:58:11", "2025-06-11T02:01:40"):
        rows.append(signin(rng, T(hhmm), KELLER, GUESS_IP, ua=ATTACKER_UA, error=50126, mfa=False))
    # The compromise: single factor, Conditional Access not applied (the policy covers only the
    # office network), same browser as the guesses.
    rows.append(signin(rng, T("2025-06-11T02:14:09"), KELLER, ATTACKER_IP, ua=ATTACKER_UA, mfa=False,
                       risk="medium", risk_state="atRisk", risk_events=["unfamiliarFeatures"]))
    # 11 June: staff again; the traveller in Vienna with MFA; the responder.
    rows.append(signin(rng, T("2025-06-11T03:31:27"), BRANDT, OFFICE))
    for i, u in enumerate((SCHULZ, YILMAZ)):
        rows.append(signin(rng, T("2025-06-11T05:50:00") + timedelta(minutes=7 * i, seconds=rng.randrange(60)), u, OFFICE,
                           app="Office 365 Exchange Online", resource="Office 365 Exchange Online"))
    rows.append(signin(rng, T("2025-06-11T06:42:51"), HOFFMANN, VIENNA, app="Office 365 Exchange Online",
                       resource="Office 365 Exchange Online"))
    rows.sort(key=lambda r: r["createdDateTime"], reverse=True)  # Graph returns newest first
    return rows


# ---------------------------------------------------------------------------------------------
# Activity log: az monitor activity-log list
# ---------------------------------------------------------------------------------------------

DISPLAY = {
    "Microsoft.Authorization/roleAssignments/write": "Create role assignment",
    "Microsoft.Authorization/roleAssignments/delete": "Delete role assignment",
    "Microsoft.Compute/virtualMachines/write": "Create or Update Virtual Machine",
    "Microsoft.Compute/virtualMachines/delete": "Delete Virtual Machine",
    "Microsoft.Compute/virtualMachines/restart/action": "Restart Virtual Machine",
    "Microsoft.Network/publicIPAddresses/write": "Create or Update Public Ip Address",
    "Microsoft.Network/publicIPAddresses/delete": "Delete Public Ip Address",
    "Microsoft.Network/networkSecurityGroups/securityRules/write": "Create or Update Security Rule",
    "Microsoft.Storage/storageAccounts/listKeys/action": "List Storage Account Keys",
    "Microsoft.Storage/storageAccounts/regenerateKey/action": "Regenerate Storage Account Keys",
    "Microsoft.Web/sites/write": "Create or Update Web App",
    "Microsoft.Authorization/policies/deny/action": "'deny' Policy action.",
}


def claims_for(caller: str, ip: str, user: User | None) -> dict:
    if user is None:  # a service principal
        oid = {SP_OID: SP_OID, BACKUP_OID: BACKUP_OID, DEPLOY_OID: DEPLOY_OID}[caller]
        app = {SP_OID: SP_APPID, BACKUP_OID: BACKUP_APPID, DEPLOY_OID: gid("app:sp-ado-portal")}[caller]
        return {"aud": "https://management.azure.com/", "appid": app, "appidacr": "1",
                "http://schemas.microsoft.com/identity/claims/identityprovider": f"https://sts.windows.net/{TENANT}/",
                "http://schemas.microsoft.com/identity/claims/objectidentifier": oid,
                "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
                "idtyp": "app", "iss": f"https://sts.windows.net/{TENANT}/", "ver": "1.0"}
    return {"aud": "https://management.core.windows.net/", "appid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "appidacr": "2", "http://schemas.microsoft.com/claims/authnmethodsreferences":
            "pwd,mfa" if ip == OFFICE else "pwd",
            "http://schemas.microsoft.com/identity/claims/objectidentifier": user.oid,
            "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": user.upn,
            "ipaddr": ip, "name": user.display, "ver": "1.0"}


def event(when: datetime, op: str, caller: str, ip: str, resource_id: str, status: str, corr: str, *,
          user: User | None, category: str = "Administrative", substatus: str = "",
          props: dict | None = None, level: str = "Informational") -> dict:
    rg = resource_id.split("/resourceGroups/")[1].split("/")[0] if "/resourceGroups/" in resource_id else ""
    edid = gid(f"evt:{corr}:{op}:{status}")
    ticks = int((when - datetime(1, 1, 1, tzinfo=timezone.utc)).total_seconds() * 10_000_000)
    return {
        "authorization": {"action": op, "scope": resource_id},
        "caller": caller,
        "category": {"localizedValue": category, "value": category},
        "channels": "Operation",
        "claims": claims_for(caller, ip, user),
        "correlationId": corr,
        "description": "",
        "eventDataId": edid,
        "eventName": {"localizedValue": "Begin request" if status == "Started" else "End request",
                      "value": "BeginRequest" if status == "Started" else "EndRequest"},
        "eventTimestamp": iso_offset(when),
        "httpRequest": {"clientIpAddress": ip, "clientRequestId": gid("req:" + corr),
                        "method": "POST" if op.endswith("/action") else ("DELETE" if op.endswith("/delete") else "PUT"),
                        "uri": None},
        "id": f"{resource_id}/events/{edid}/ticks/{ticks}",
        "level": level,
        "operationId": corr,
        "operationName": {"localizedValue": DISPLAY.get(op, op), "value": op},
        "properties": props or {},
        "resourceGroupName": rg,
        "resourceId": resource_id,
        "resourceProviderName": {"localizedValue": op.split("/")[0], "value": op.split("/")[0]},
        "resourceType": {"localizedValue": "/".join(op.split("/")[:-1]), "value": "/".join(op.split("/")[:-1])},
        "status": {"localizedValue": status, "value": status},
        "subStatus": {"localizedValue": substatus, "value": substatus},
        "submissionTimestamp": iso_offset(when + timedelta(seconds=14)),
        "subscriptionId": SUB,
        "tenantId": TENANT,
    }


def op_pair(when: datetime, op: str, caller: str, ip: str, resource_id: str, *, user: User | None,
            secs: int = 3, request: dict | None = None, response: dict | None = None,
            fail: tuple[str, str, str] | None = None, final_ip: str | None = None,
            extra_props: dict | None = None) -> list[dict]:
    """A Started event and its final event (Succeeded, or Failed with (code, substatus, message))."""
    corr = gid(f"op:{op}:{resource_id}:{when.isoformat()}")
    hier = f"{TENANT}/{SUB}"
    start_props = {"eventCategory": "Administrative", "entity": resource_id, "message": op, "hierarchy": hier}
    if request is not None:
        start_props["requestbody"] = json.dumps(request)
    end_props = {"eventCategory": "Administrative", "entity": resource_id, "message": op, "hierarchy": hier}
    if fail:
        code, sub, msg = fail
        end_props["statusCode"] = sub
        end_props["statusMessage"] = json.dumps({"error": {"code": code, "message": msg}})
        status, substatus = "Failed", sub
    else:
        end_props["statusCode"] = "Created" if op.endswith("/write") else "OK"
        if response is not None:
            end_props["responseBody"] = json.dumps(response)
        status, substatus = "Succeeded", end_props["statusCode"]
    end_props.update(extra_props or {})
    return [
        event(when, op, caller, ip, resource_id, "Started", corr, user=user, props=start_props),
        event(when + timedelta(seconds=secs), op, caller, final_ip or ip, resource_id, status, corr,
              user=user, substatus=substatus, props=end_props, level="Error" if fail else "Informational"),
    ]


def vm_body(name: str, region: str, size: str) -> dict:
    return {"name": name, "location": region, "properties": {
        "hardwareProfile": {"vmSize": size},
        "storageProfile": {"imageReference": {"publisher": "microsoft-dsvm", "offer": "ubuntu-hpc",
                                              "sku": "2204", "version": "latest"}},
        "osProfile": {"computerName": name, "adminUsername": "azureuser",
                      "linuxConfiguration": {"disablePasswordAuthentication": True}},
        "networkProfile": {"networkInterfaces": [{"id": f"{RG_ID}/providers/Microsoft.Network/networkInterfaces/{name}-nic"}]}}}


def build_activity() -> list[dict]:
    vm = lambda n: f"{RG_ID}/providers/Microsoft.Compute/virtualMachines/{n}"  # noqa: E731
    ev: list[dict] = []
    # Keller's own work on 10 June, from the office.
    ev += op_pair(T("2025-06-10T08:12:31"), "Microsoft.Compute/virtualMachines/restart/action", KELLER.upn,
                  OFFICE, vm("vm-tms-01"), user=KELLER, secs=41)
    # A deployment pipeline updates the customer portal.
    ev += op_pair(T("2025-06-10T13:02:07"), "Microsoft.Web/sites/write", DEPLOY_OID, DEPLOY_IP,
                  f"/subscriptions/{SUB}/resourceGroups/rg-kundenportal/providers/Microsoft.Web/sites/app-kundenportal",
                  user=None, request={"location": "westeurope", "properties": {"httpsOnly": True}},
                  response={"location": "westeurope", "properties": {"state": "Running"}})
    # The attacker, as Keller, from 198.51.100.23.
    ra = f"{RG_ID}/providers/Microsoft.Authorization/roleAssignments/{ROLE_ASSIGNMENT}"
    ra_body = {"properties": {"roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}",
                              "principalId": SP_OID, "principalType": "ServicePrincipal", "scope": RG_ID}}
    ev += op_pair(T("2025-06-11T02:19:44"), "Microsoft.Authorization/roleAssignments/write", KELLER.upn,
                  ATTACKER_IP, ra, user=KELLER, request=ra_body,
                  response=dict(ra_body, id=ra, type="Microsoft.Authorization/roleAssignments", name=ROLE_ASSIGNMENT))
    ev += op_pair(T("2025-06-11T02:24:03"), "Microsoft.Storage/storageAccounts/listKeys/action", KELLER.upn,
                  ATTACKER_IP, CORE_ID, user=KELLER, secs=1)
    ev += op_pair(T("2025-06-11T02:25:37"), "Microsoft.Storage/storageAccounts/listKeys/action", KELLER.upn,
                  ATTACKER_IP, ARCHIVE_ID, user=KELLER, secs=1,
                  fail=("AuthorizationFailed", "Forbidden",
                        f"The client '{KELLER.upn}' with object id '{KELLER.oid}' does not have authorization to perform "
                        f"action 'Microsoft.Storage/storageAccounts/listKeys/action' over scope '{ARCHIVE_ID}' or the scope is invalid."))
    # The service principal, from the same host.
    ev += op_pair(T("2025-06-11T02:36:00"), "Microsoft.Compute/virtualMachines/write", SP_OID, ATTACKER_IP,
                  vm("vm-etl-07"), user=None, secs=95,
                  request=vm_body("vm-etl-07", "germanywestcentral", "Standard_NC24ads_A100_v4"),
                  response=vm_body("vm-etl-07", "germanywestcentral", "Standard_NC24ads_A100_v4"))
    pip = f"{RG_ID}/providers/Microsoft.Network/publicIPAddresses/pip-etl-08"
    ev += op_pair(T("2025-06-11T02:40:00"), "Microsoft.Network/publicIPAddresses/write", SP_OID, ATTACKER_IP,
                  pip, user=None, request={"location": "eastus", "sku": {"name": "Standard"}},
                  response={"location": "eastus", "sku": {"name": "Standard"},
                            "properties": {"ipAddress": "172.203.14.9", "publicIPAllocationMethod": "Static"}})
    ev += op_pair(T("2025-06-11T02:41:00"), "Microsoft.Compute/virtualMachines/write", SP_OID, ATTACKER_IP,
                  vm("vm-etl-08"), user=None, secs=88,
                  request=vm_body("vm-etl-08", "eastus", "Standard_NC24ads_A100_v4"),
                  response=vm_body("vm-etl-08", "eastus", "Standard_NC24ads_A100_v4"))
    rule = f"{RG_ID}/providers/Microsoft.Network/networkSecurityGroups/nsg-etl-08/securityRules/allow-ssh"
    rule_body = {"location": "eastus", "properties": {"direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                                                      "destinationPortRange": "22", "sourceAddressPrefix": "*",
                                                      "priority": 100}}
    ev += op_pair(T("2025-06-11T02:43:19"), "Microsoft.Network/networkSecurityGroups/securityRules/write", SP_OID,
                  ATTACKER_IP6, rule, user=None, secs=12, request=rule_body, response=rule_body, final_ip=ATTACKER_IP)
    deny_msg = ("Resource 'vm-etl-09' was disallowed by policy. Policy identifiers: "
                "'[{\"policyAssignment\":{\"name\":\"Allowed locations\",\"id\":\"/providers/Microsoft.Management/"
                "managementGroups/bwl-root/providers/Microsoft.Authorization/policyAssignments/allowed-locations\"},"
                "\"policyDefinition\":{\"name\":\"Allowed locations\",\"id\":\"/providers/Microsoft.Authorization/"
                "policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c\"}}]'.")
    refused = op_pair(T("2025-06-11T02:47:52"), "Microsoft.Compute/virtualMachines/write", SP_OID, ATTACKER_IP,
                      vm("vm-etl-09"), user=None, secs=1,
                      request=vm_body("vm-etl-09", "japaneast", "Standard_ND96asr_v4"),
                      fail=("RequestDisallowedByPolicy", "Forbidden", deny_msg))
    ev += refused
    corr = refused[0]["correlationId"]
    ev.append(event(T("2025-06-11T02:47:52") + timedelta(milliseconds=640), "Microsoft.Authorization/policies/deny/action",
                    SP_OID, ATTACKER_IP, vm("vm-etl-09"), "Failed", corr, user=None, category="Policy",
                    level="Error", props={"isComplianceCheck": "False", "resourceLocation": "japaneast",
                                          "ancestors": f"bwl-root,{TENANT}", "policies": json.dumps([{
                                              "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c",
                                              "policyAssignmentName": "allowed-locations",
                                              "policyAssignmentDisplayName": "Allowed locations",
                                              "policyDefinitionEffect": "deny"}]),
                                          "hierarchy": f"{TENANT}/bwl-root/{SUB}"}))
    # The responders, from the office.
    ev += op_pair(T("2025-06-11T04:05:12"), "Microsoft.Storage/storageAccounts/regenerateKey/action", BRANDT.upn,
                  OFFICE, CORE_ID, user=BRANDT, secs=1, request={"keyName": "key1"})
    ev += op_pair(T("2025-06-11T04:09:30"), "Microsoft.Authorization/roleAssignments/delete", BRANDT.upn, OFFICE,
                  ra, user=BRANDT, secs=2)
    ev += op_pair(T("2025-06-11T09:11:00"), "Microsoft.Compute/virtualMachines/delete", BRANDT.upn, OFFICE,
                  vm("vm-etl-08"), user=BRANDT, secs=140)
    ev += op_pair(T("2025-06-11T09:14:00"), "Microsoft.Network/publicIPAddresses/delete", BRANDT.upn, OFFICE,
                  pip, user=BRANDT, secs=11)
    ev.sort(key=lambda e: (e["eventTimestamp"], e["eventDataId"]), reverse=True)  # newest first, like az
    return [json.loads(json.dumps(e, sort_keys=True)) for e in ev]


# ---------------------------------------------------------------------------------------------
# Storage: raw StorageRead resource-log records (JSON Lines), account bwlcoredata
# ---------------------------------------------------------------------------------------------

FIGURES: dict[str, int] = {}
KEY1_OLD = hexhash("bwlcoredata key1 before rotation")


def storage_record(rng: random.Random, when: datetime, op: str, container: str, blob: str | None,
                   size: int, ip: str, *, status: int = 200, key: bool = False, ua: str,
                   oauth: tuple[str, str, str | None] | None = None, rng_range: str | None = None) -> dict:
    obj = f"/{CORE}/{container}" + (f"/{blob}" if blob else "")
    if key:
        identity = {"type": "AccountKey", "tokenHash": f"key1({KEY1_OLD})"}
    else:
        oid, appid, upn = oauth  # type: ignore[misc]
        requester = {"appId": appid, "audience": "https://storage.azure.com", "objectId": oid,
                     "tenantId": TENANT, "tokenIssuer": f"https://sts.windows.net/{TENANT}/"}
        if upn:
            requester["upn"] = upn
        identity = {"type": "OAuth", "tokenHash": "", "authorization": [{
            "action": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "roleAssignmentId": gid(f"ra:{oid}"), "roleDefinitionId": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
            "principals": [{"id": oid, "type": "User" if upn else "ServicePrincipal"}],
            "denyAssignmentId": "", "type": "RBAC", "result": "Granted", "reason": "Policy"}],
            "requester": requester}
    text = {200: "Success", 206: "Success", 403: "AuthenticationFailed", 404: "BlobNotFound"}[status]
    props = {"accountName": CORE, "userAgentHeader": ua, "serviceType": "blob", "objectKey": obj,
             "clientRequestId": gid(f"creq:{when.isoformat()}:{obj}:{op}:{rng_range}"),
             "metricResponseType": "Success" if status < 300 else ("AuthenticationError" if status == 403 else "ClientOtherError"),
             "serverLatencyMs": rng.randrange(3, 60), "requestHeaderSize": rng.randrange(400, 700),
             "responseHeaderSize": rng.randrange(200, 420), "responseBodySize": size, "tlsVersion": "TLS 1.2"}
    if rng_range:
        props["downloadRange"] = rng_range
    if status < 300 and op == "GetBlob":
        props["etag"] = '"0x8DD' + hexhash(obj)[:12] + '"'
    uri = f"https://{CORE}.blob.core.windows.net:443/{container}" + (
        f"/{blob}" if blob else "?restype=container&comp=list&maxresults=5000")
    return {
        "time": iso7(when, rng.randrange(10)),
        "resourceId": f"{CORE_ID}/blobServices/default",
        "category": "StorageRead",
        "operationName": op,
        "operationVersion": "2024-08-04",
        "schemaVersion": "1.0",
        "statusCode": status,
        "statusText": text,
        "durationMs": rng.randrange(5, 2500),
        "callerIpAddress": f"{ip}:{rng.randrange(30000, 65535)}",
        "correlationId": gid(f"storage:{when.isoformat()}:{obj}:{op}:{rng_range}"),
        "identity": identity,
        "location": "germanywestcentral",
        "properties": props,
        "uri": uri,
        "protocol": "HTTPS",
        "resourceType": "Microsoft.Storage/storageAccounts/blobServices",
    }


def split_total(rng: random.Random, total: int, n: int) -> list[int]:
    weights = [rng.uniform(0.5, 1.5) for _ in range(n)]
    s = sum(weights)
    parts = [int(total * w / s) for w in weights]
    parts[-1] += total - sum(parts)
    return parts


def build_storage(rng: random.Random) -> list[dict]:
    recs: list[dict] = []

    def add(r: dict, bucket: str | None = None) -> None:
        recs.append(r)
        if bucket:
            FIGURES[bucket + "_requests"] = FIGURES.get(bucket + "_requests", 0) + 1
            if r["statusCode"] < 300 and r["operationName"] == "GetBlob":
                FIGURES[bucket + "_bytes"] = FIGURES.get(bucket + "_bytes", 0) + r["properties"]["responseBodySize"]

    backup = (BACKUP_OID, BACKUP_APPID, None)
    keller = (KELLER.oid, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", KELLER.upn)
    # Nightly backup copy of the payroll container, 9 to 11 June at 00:30 (OAuth, service principal).
    for day in ("2025-06-09", "2025-06-10", "2025-06-11"):
        t = T(f"{day}T00:30:00") + timedelta(seconds=rng.randrange(5, 30))
        add(storage_record(rng, t, "ListBlobs", "gehaltsdaten", None, 88_412, BACKUP_IP, ua=BACKUP_UA, oauth=backup), "backup")
        for i in range(30):
            t += timedelta(seconds=rng.randrange(1, 4), microseconds=rng.randrange(999_999))
            add(storage_record(rng, t, "GetBlob", "gehaltsdaten", f"lohn/2025-05/abrechnung-{i:03d}.csv",
                               rng.randrange(2_000_000, 9_000_000), BACKUP_IP, ua=BACKUP_UA, oauth=backup), "backup")
    # Jonas Keller's own work on 10 June: route plans in Storage Explorer, from the office.
    t = T("2025-06-10T06:33:10")
    add(storage_record(rng, t, "ListBlobs", "tourenplanung", None, 31_220, OFFICE, ua=EXPLORER_UA, oauth=keller), "keller_own")
    for i in range(12):
        t += timedelta(seconds=rng.randrange(20, 200), microseconds=rng.randrange(999_999))
        add(storage_record(rng, t, "GetBlob", "tourenplanung", f"touren/2025-KW24/region-{i + 1:02d}.json",
                           rng.randrange(1_500_000, 6_000_000), OFFICE, ua=EXPLORER_UA, oauth=keller), "keller_own")
    # The attacker with key1, 02:27 to 03:58.
    t = T("2025-06-11T02:27:05")
    for c in ("gehaltsdaten", "tourenplanung"):
        add(storage_record(rng, t, "ListBlobs", c, None, rng.randrange(20_000, 90_000), ATTACKER_IP, key=True,
                           ua=ATTACKER_STORAGE_UA), "attacker_list_" + c)
        t += timedelta(seconds=4, microseconds=rng.randrange(999_999))
    # gehaltsdaten: 196 whole blobs (200) and 8 large blobs in two ranges each (206): 212 reads,
    # 204 objects, exactly 1,842,000,000 bytes.
    sizes = split_total(rng, 1_842_000_000, 204)
    t = T("2025-06-11T02:28:30")
    for i, size in enumerate(sizes):
        t += timedelta(seconds=rng.randrange(12, 30), microseconds=rng.randrange(999_999))
        if i < 8:
            blob = f"stammdaten/bankverbindungen-{i + 1:02d}.csv"
            first = 33_554_432 if size > 33_554_432 else size // 2
            add(storage_record(rng, t, "GetBlob", "gehaltsdaten", blob, first, ATTACKER_IP, status=206, key=True,
                               ua=ATTACKER_STORAGE_UA, rng_range=f"bytes=0-{first - 1}"), "attacker_gehalt")
            t += timedelta(seconds=2, microseconds=rng.randrange(999_999))
            add(storage_record(rng, t, "GetBlob", "gehaltsdaten", blob, size - first, ATTACKER_IP, status=206,
                               key=True, ua=ATTACKER_STORAGE_UA, rng_range=f"bytes={first}-{size - 1}"), "attacker_gehalt")
        else:
            blob = f"lohn/2025-{(i % 5) + 1:02d}/abrechnung-{i:03d}.csv"
            add(storage_record(rng, t, "GetBlob", "gehaltsdaten", blob, size, ATTACKER_IP, key=True,
                               ua=ATTACKER_STORAGE_UA), "attacker_gehalt")
    # tourenplanung: 64 blobs, exactly 613,500,000 bytes, 03:40 to 03:58.
    t = T("2025-06-11T03:40:02")
    for i, size in enumerate(split_total(rng, 613_500_000, 64)):
        t += timedelta(seconds=rng.randrange(8, 17), microseconds=rng.randrange(999_999))
        add(storage_record(rng, t, "GetBlob", "tourenplanung", f"touren/2025-KW{20 + i % 5}/depot-{i:03d}.json", size,
                           ATTACKER_IP, key=True, ua=ATTACKER_STORAGE_UA), "attacker_touren")
    # After the rotation at 04:05:12 every key1 request fails (403 AuthenticationFailed).
    t = T("2025-06-11T04:20:14")
    add(storage_record(rng, t, "ListBlobs", "gehaltsdaten", None, 437, ATTACKER_IP, status=403, key=True,
                       ua=ATTACKER_STORAGE_UA), "attacker_failed")
    for i in range(14):
        t += timedelta(seconds=rng.randrange(10, 25), microseconds=rng.randrange(999_999))
        add(storage_record(rng, t, "GetBlob", "gehaltsdaten", f"lohn/2025-06/abrechnung-{i:03d}.csv", 437,
                           ATTACKER_IP, status=403, key=True, ua=ATTACKER_STORAGE_UA), "attacker_failed")
    recs.sort(key=lambda r: r["time"])
    return recs


# ---------------------------------------------------------------------------------------------
# Alerts: Defender for Cloud continuous export (array of alerts)
# ---------------------------------------------------------------------------------------------


def alert(alert_type: str, name: str, severity: str, start: str, end: str, generated: str, intent: str,
          resource: str, entities: list[dict], props: dict, description: str) -> dict:
    sid = f"2517{int(hashlib.sha256(alert_type.encode()).hexdigest()[:12], 16):015d}_{gid('alert:' + alert_type)}"
    return {
        "VendorName": "Microsoft", "AlertType": alert_type, "ProductName": "Microsoft Defender for Cloud",
        "StartTimeUtc": start, "EndTimeUtc": end, "TimeGenerated": generated, "ProcessingEndTime": generated,
        "Severity": severity, "Status": "New", "ProviderAlertStatus": None, "ConfidenceLevel": None,
        "ConfidenceScore": 0.0, "ConfidenceReasons": None, "IsIncident": False, "SystemAlertId": sid,
        "CorrelationKey": None, "Intent": intent, "AzureResourceId": resource, "WorkspaceId": None,
        "WorkspaceSubscriptionId": None, "WorkspaceResourceGroup": "", "AgentId": "",
        "CompromisedEntity": resource.rsplit("/", 1)[-1], "AlertDisplayName": name, "Description": description,
        "Entities": entities, "ExtendedLinks": None,
        "RemediationSteps": ["Review the operation and the identity that performed it; revoke credentials if it was not authorised."],
        "ExtendedProperties": props,
        "ResourceIdentifiers": [{"$id": "90", "AzureResourceId": resource, "Type": "AzureResource",
                                 "AzureResourceTenantId": TENANT}, {"$id": "91", "AadTenantId": TENANT, "Type": "AAD"}],
        "AlertUri": f"https://portal.azure.com/#blade/Microsoft_Azure_Security/AlertBlade/alertId/{sid}/subscriptionId/{SUB}",
    }


def build_alerts() -> list[dict]:
    ip_entity = {"$id": "3", "Address": ATTACKER_IP, "Location": {"CountryCode": "US", "State": "Virginia",
                 "City": "Ashburn", "Asn": 14618, "Carrier": "Amazon.com", "OrganizationType": "Hosting"},
                 "Asset": False, "Type": "ip"}
    storage = alert(
        "Storage.Blob_GeoAnomaly", "Access from an unusual location to a storage account", "Medium",
        "2025-06-11T02:27:05.0000000Z", "2025-06-11T03:58:40.0000000Z", "2025-06-11T03:21:09.448Z", "Exfiltration",
        CORE_ID,
        [{"$id": "2", "ResourceId": CORE_ID, "ResourceType": "Storage Account", "ResourceName": CORE,
          "Asset": True, "Type": "azure-resource"}, ip_entity,
         {"$id": "4", "Name": "gehaltsdaten", "StorageResource": {"$ref": "2"}, "Type": "blob-container"},
         {"$id": "5", "SourceAddress": {"$ref": "3"}, "Protocol": "Tcp", "Type": "network-connection"}],
        {"Client IP address": ATTACKER_IP, "Client location": "Ashburn, United States", "Authentication type": "Access key",
         "Operations types": "ListBlobs, GetBlob", "Service type": "Azure Blobs", "User agent": ATTACKER_STORAGE_UA,
         "Container": "gehaltsdaten"},
        "Indicates that there was a change in the access pattern to an Azure Storage account. Someone has accessed "
        "this account from an IP address considered unfamiliar when compared with recent activity.")
    arm = alert(
        "ARM_AnomalousOperation.Execution",
        "Suspicious invocation of a high-risk 'Execution' operation detected (Preview)", "Medium",
        "2025-06-11T02:36:00.0000000Z", "2025-06-11T02:47:53.0000000Z", "2025-06-11T03:02:44.120Z", "Execution",
        f"/subscriptions/{SUB}",
        [{"$id": "2", "AadUserId": SP_OID, "Name": "sp-routing-batch", "IsDomainJoined": False, "Type": "account"},
         ip_entity,
         {"$id": "4", "ResourceId": f"/subscriptions/{SUB}", "Asset": True, "Type": "azure-resource"}],
        {"Invoked Operations": "Microsoft.Compute/virtualMachines/write", "Client IP address": ATTACKER_IP,
         "Service Principal Id": SP_OID},
        "A service principal in your subscription invoked a high-risk operation that was not seen before "
        "for this principal.")
    keys = alert(
        "ARM_AnomalousListKeys", "Suspicious key listing on a storage account", "Medium",
        "2025-06-11T02:24:03.0000000Z", "2025-06-11T02:25:38.0000000Z", "2025-06-11T02:58:30.007Z", "CredentialAccess",
        CORE_ID,
        [{"$id": "2", "Name": "j.keller", "UPNSuffix": DOMAIN, "AadUserId": KELLER.oid, "Type": "account"},
         ip_entity, {"$id": "4", "ResourceId": CORE_ID, "Asset": True, "Type": "azure-resource"}],
        {"Client IP address": ATTACKER_IP, "User principal name": KELLER.upn,
         "Invoked Operations": "Microsoft.Storage/storageAccounts/listKeys/action"},
        "A user listed the access keys of a storage account from an address not seen before for this user.")
    return [keys, arm, storage]


# ---------------------------------------------------------------------------------------------
# Recommendations: SecurityRecommendation, Log Analytics CSV
# ---------------------------------------------------------------------------------------------

REC_COLUMNS = [
    "TenantId", "RecommendationId", "RecommendationName", "RecommendationDisplayName", "ProviderName",
    "Description", "RemediationDescription", "RecommendationState", "TimeGenerated [UTC]",
    "DiscoveredTimeUTC [UTC]", "ResolvedTimeUTC [UTC]", "PolicyDefinitionId", "RecommendationSeverity",
    "NotApplicableReason", "AgentId", "AssessedResourceId", "DeviceId", "ResourceRegion", "SourceSystem",
    "RecommendationLink", "IsSnapshot", "RecommendationAdditionalData", "FirstEvaluationDate [UTC]",
    "StatusChangeDate [UTC]", "ResourceTenantId", "Type",
]


def la(t: datetime) -> str:
    hour = t.hour % 12 or 12
    return (f"{t.month}/{t.day}/{t.year}, {hour}:{t.minute:02d}:{t.second:02d}."
            f"{t.microsecond // 1000:03d} {'AM' if t.hour < 12 else 'PM'}")


def build_recommendations() -> list[dict]:
    sub = f"/subscriptions/{SUB}"
    items = [
        ("6240402e-f77c-46fa-9060-a7ce53997754", "Accounts with owner permissions on Azure resources should be MFA enabled",
         "High", "Unhealthy", sub, "2024-11-04T08:00:00Z", "2025-02-17T10:31:00Z"),
        ("c0cb17b2-0607-48a7-b0e0-903ed22de39b", "Accounts with write permissions on Azure resources should be MFA enabled",
         "High", "Unhealthy", sub, "2024-11-04T08:00:00Z", "2025-02-17T10:31:00Z"),
        ("effc9a76-a5a6-40ac-b20d-59dc45bddf99",
         "Service Principals should not be assigned with administrative roles at the subscription and resource group level",
         "High", "Healthy", sub, "2024-11-04T08:00:00Z", "2024-11-04T08:00:00Z"),
        ("3b363842-30f5-4056-980d-3a40fa5de8b3", "Storage accounts should prevent shared key access", "Medium",
         "Unhealthy", CORE_ID, "2024-11-04T08:00:00Z", "2024-11-04T08:00:00Z"),
        ("3b363842-30f5-4056-980d-3a40fa5de8b3", "Storage accounts should prevent shared key access", "Medium",
         "Healthy", ARCHIVE_ID, "2024-11-04T08:00:00Z", "2025-01-09T14:12:00Z"),
        ("45d313c3-3fca-5040-035f-d61928366d31",
         "Access to storage accounts with firewall and virtual network configurations should be restricted", "Low",
         "Unhealthy", CORE_ID, "2024-11-04T08:00:00Z", "2024-11-04T08:00:00Z"),
        ("1be22853-8ed1-4005-9907-ddad64cb1417", "Microsoft Defender for Storage should be enabled", "High",
         "Healthy", sub, "2024-11-04T08:00:00Z", "2024-11-20T09:00:00Z"),
        ("f0fb2a7e-16d5-849f-be57-86db712e9bd0", "Microsoft Defender for Resource Manager should be enabled", "High",
         "Healthy", sub, "2024-11-04T08:00:00Z", "2024-11-20T09:00:00Z"),
        ("56a6e81f-7413-4f72-9a1b-aaeeaa87c872", "Microsoft Defender for Servers should be enabled", "High",
         "Unhealthy", sub, "2024-11-04T08:00:00Z", "2024-11-04T08:00:00Z"),
        ("77758c9d-8a56-5f54-6ff7-69a762ca6004", "Subscriptions should have a contact email address for security issues",
         "Low", "Healthy", sub, "2024-11-04T08:00:00Z", "2024-11-05T07:45:00Z"),
        ("bc303248-3d14-44c2-96a0-55f5c326b5fe", "Management ports should be closed on your virtual machines", "Medium",
         "Unhealthy", f"{RG_ID}/providers/Microsoft.Compute/virtualMachines/vm-etl-08", "2025-06-11T03:15:00Z",
         "2025-06-11T03:15:00Z"),
    ]
    rows = []
    observed = T("2025-06-12T06:00:00")
    for key, name, sev, state, res, first, change in items:
        rows.append({
            "TenantId": WORKSPACE, "RecommendationId": f"{res}/providers/Microsoft.Security/assessments/{key}",
            "RecommendationName": key, "RecommendationDisplayName": name, "ProviderName": "AzureSecurityCenter",
            "Description": name + ".", "RemediationDescription": "See the recommendation in Defender for Cloud.",
            "RecommendationState": state, "TimeGenerated [UTC]": la(observed),
            "DiscoveredTimeUTC [UTC]": la(T(first[:19])),
            "ResolvedTimeUTC [UTC]": "1/1/1, 12:00:00.000 AM" if state == "Unhealthy" else la(T(change[:19])),
            "PolicyDefinitionId": "", "RecommendationSeverity": sev, "NotApplicableReason": "", "AgentId": "",
            "AssessedResourceId": res, "DeviceId": "", "ResourceRegion": "germanywestcentral" if "Storage" in res else "",
            "SourceSystem": "Azure", "RecommendationLink":
                f"https://portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/{key}",
            "IsSnapshot": "FALSE", "RecommendationAdditionalData": "{}",
            "FirstEvaluationDate [UTC]": la(T(first[:19])), "StatusChangeDate [UTC]": la(T(change[:19])),
            "ResourceTenantId": TENANT, "Type": "SecurityRecommendation",
        })
    return rows


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in header])
    path.write_bytes(("\ufeff" + buf.getvalue()).encode("utf-8"))


def main() -> int:
    rng = random.Random(20250611)
    EVIDENCE.mkdir(parents=True, exist_ok=True)
    signins = build_signins(rng)
    page = {"@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
            "@odata.nextLink": None, "value": signins}
    (EVIDENCE / "signins-graph.json").write_bytes(json.dumps(page, indent=2, ensure_ascii=False).encode("utf-8"))
    (EVIDENCE / "activity-az.json").write_bytes(
        (json.dumps(build_activity(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    lines = [json.dumps(r, separators=(", ", ": ")) for r in build_storage(rng)]
    (EVIDENCE / "storageread-bwlcoredata.jsonl").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    (EVIDENCE / "alerts-defender.json").write_bytes(
        (json.dumps(build_alerts(), indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    write_csv(HERE / "recommendations.csv", REC_COLUMNS, build_recommendations())
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(HERE))
    import check_sample  # noqa: E402

    return check_sample.main()


if __name__ == "__main__":
    sys.exit(main())
