#!/usr/bin/env python3
"""Re-read the Northgate sample evidence and check the facts the worked case depends on.

Run by generate.py after writing, or on its own: python3 samples/northgate/check_sample.py
Python 3.11 standard library only. Exits non-zero on the first failed check.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVIDENCE = HERE / "evidence"
ATTACKER_IP = "198.51.100.77"


def read_raw(path: Path) -> bytes:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 BOM"
    bare_lf = data.replace(b"\r\n", b"").count(b"\n")
    assert bare_lf == 0, f"{path.name}: {bare_lf} LF without CR"
    return data


def read_csv(path: Path) -> list[dict]:
    read_raw(path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def la_time(s: str) -> datetime:
    """en-US Log Analytics display format: 3/21/2024, 3:12:40.221 AM"""
    return datetime.strptime(s, "%m/%d/%Y, %I:%M:%S.%f %p")


def assert_sorted(rows: list[dict], column: str, name: str) -> None:
    times = [la_time(r[column]) for r in rows]
    assert times == sorted(times), f"{name}: rows not in {column} order"


def check_signins() -> int:
    rows = read_csv(EVIDENCE / "signins.csv")
    assert_sorted(rows, "TimeGenerated [UTC]", "signins.csv")
    admin = [r for r in rows if r["UserPrincipalName"] == "admin@northgateeng.com"]
    assert len(admin) == 3, f"admin sign-ins: {len(admin)}"
    risky = [r for r in admin if r["IPAddress"] == ATTACKER_IP]
    assert len(risky) == 2
    assert all(r["RiskLevelDuringSignIn"] == "high" and r["RiskState"] == "atRisk" for r in risky)
    assert all(r["ConditionalAccessStatus"] == "notApplied" for r in risky)
    assert all(r["AuthenticationRequirement"] == "singleFactorAuthentication" for r in risky)
    assert la_time(risky[0]["TimeGenerated [UTC]"]) == datetime(2024, 3, 21, 3, 12, 40, 221000)
    for r in rows:
        json.loads(r["LocationDetails"])
        json.loads(r["DeviceDetail"])
        assert json.loads(r["Status"])["errorCode"] == int(r["ResultType"])
    return len(rows)


def check_activity() -> int:
    rows = read_csv(EVIDENCE / "activity.csv")
    assert_sorted(rows, "TimeGenerated [UTC]", "activity.csv")
    attacker = [r for r in rows if r["CallerIpAddress"] == ATTACKER_IP]
    assert all(r["Caller"] == "admin@northgateeng.com" for r in attacker)
    ops: dict[str, list[dict]] = {}
    for r in attacker:
        ops.setdefault(r["CorrelationId"], []).append(r)
    assert len(ops) == 7, f"attacker operations: {len(ops)}"
    for corr, pair in ops.items():
        assert [p["ActivityStatusValue"] for p in pair] == ["Start", "Success"], corr
        assert pair[0]["OperationId"] == pair[1]["OperationId"]
    names = [pair[0]["OperationNameValue"] for pair in ops.values()]
    assert names == [
        "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
        "MICROSOFT.NETWORK/PUBLICIPADDRESSES/WRITE",
        "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE",
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS/WRITE",
        "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
        "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE",
    ], names
    # Every row: both JSON forms parse and agree apart from subscriptionId case.
    for r in rows:
        p, pd = json.loads(r["Properties"]), json.loads(r["Properties_d"])
        assert {k: v for k, v in p.items() if k != "subscriptionId"} == \
               {k: v for k, v in pd.items() if k != "subscriptionId"}
        json.loads(r["Authorization"])
        json.loads(r["Claims"])
        assert r["_ResourceId"] == r["ResourceId"].lower()
    vm = next(pair for pair in ops.values()
              if pair[0]["OperationNameValue"] == "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE")
    body = json.loads(json.loads(vm[1]["Properties_d"])["responseBody"])
    assert body["location"] == "brazilsouth"
    assert body["properties"]["hardwareProfile"]["vmSize"] == "Standard_NC24ads_A100_v4"
    assert '"location":"brazilsouth"' in json.loads(vm[1]["Properties"])["responseBody"]
    # Benign: a failed operation and the service principal without an IP.
    assert any(r["ActivityStatusValue"] == "Failure" for r in rows)
    assert any(r["CallerIpAddress"] == "" and "@" not in r["Caller"] for r in rows)
    return len(rows)


def check_storage() -> int:
    rows = read_csv(EVIDENCE / "storage.csv")
    assert_sorted(rows, "TimeGenerated [UTC]", "storage.csv")
    attacker = [r for r in rows if r["CallerIpAddress"].rsplit(":", 1)[0] == ATTACKER_IP]
    assert all(r["AuthenticationType"] == "AccountKey" for r in attacker)
    lists = [r for r in attacker if r["OperationName"] == "ListBlobs"]
    assert len(lists) == 12, f"ListBlobs: {len(lists)}"
    for c in ("customer-data", "financial-reports", "backups"):
        assert sum(r["ObjectKey"] == f"/proddata/{c}" for r in lists) == 4, c

    def gets(container: str) -> list[dict]:
        return [r for r in attacker if r["OperationName"] == "GetBlob"
                and r["ObjectKey"].startswith(f"/proddata/{container}/")]

    cust = gets("customer-data")
    ok = [r for r in cust if r["StatusCode"] in ("200", "206")]
    assert len(ok) == 847, f"customer-data GetBlob ok: {len(ok)}"
    assert sum(int(r["ResponseBodySize"]) for r in ok) == 2_300_000_000
    assert len({r["ObjectKey"] for r in ok}) == 812
    per_blob: dict[str, list[dict]] = {}
    for r in ok:
        per_blob.setdefault(r["ObjectKey"], []).append(r)
    once = [v for v in per_blob.values() if len(v) == 1]
    twice = [v for v in per_blob.values() if len(v) == 2]
    assert len(once) == 777 and all(v[0]["StatusCode"] == "200" for v in once)
    assert len(twice) == 35 and all(r["StatusCode"] == "206" for v in twice for r in v)
    failed = [r for r in cust if r["StatusCode"] == "404"]
    assert len(failed) == 3 and all(r["StatusText"] == "BlobNotFound" for r in failed)
    first, last = la_time(ok[0]["TimeGenerated [UTC]"]), la_time(ok[-1]["TimeGenerated [UTC]"])
    assert first.strftime("%H:%M") == "03:24" and last.strftime("%H:%M") == "03:37", (first, last)

    fin = gets("financial-reports")
    assert len(fin) == 23 and all(r["StatusCode"] == "200" for r in fin)
    assert len({r["ObjectKey"] for r in fin}) == 23
    assert sum(int(r["ResponseBodySize"]) for r in fin) == 145_000_000
    assert all(la_time(r["TimeGenerated [UTC]"]).strftime("%H:%M") == "03:38" for r in fin)

    assert not [r for r in attacker if r["OperationName"] not in ("ListBlobs", "GetBlob")]
    assert len(attacker) == 12 + 847 + 3 + 23
    benign = [r for r in rows if r not in attacker]
    assert all(r["AuthenticationType"] == "OAuth" for r in benign)
    return len(rows)


def check_alerts() -> int:
    data = json.loads((EVIDENCE / "alerts.json").read_text(encoding="utf-8"))
    table = data["tables"][0]
    cols = [c["name"] for c in table["columns"]]
    alerts = [dict(zip(cols, row)) for row in table["rows"]]
    assert [a["AlertType"] for a in alerts] == [
        "UnfamiliarLocation", "ARM_AnomalousOperation.Persistence", "Storage.Blob_GeoAnomaly"]
    for a in alerts:
        entities = json.loads(a["Entities"])
        ids = {e["$id"] for e in entities}
        refs = [v["$ref"] for e in entities for v in e.values() if isinstance(v, dict) and "$ref" in v]
        assert all(r in ids for r in refs)
        json.loads(a["ExtendedProperties"])
    assert any('"$ref"' in a["Entities"] for a in alerts)
    return len(alerts)


def check_recommendations() -> int:
    path = HERE / "recommendations.csv"
    rows = read_csv(path)
    header = path.read_bytes()[3:].split(b"\r\n", 1)[0].decode()
    assert len(header.split(",")) == 27
    assert {r["state"] for r in rows} <= {"healthy", "unhealthy", "notapplicable"}
    for r in rows:
        assert r["recommendationId"].endswith("/providers/Microsoft.Security/assessments/"
                                              + r["recommendationName"])
    return len(rows)


def main() -> int:
    counts = {
        "evidence/signins.csv": check_signins(),
        "evidence/activity.csv": check_activity(),
        "evidence/storage.csv": check_storage(),
        "evidence/alerts.json": check_alerts(),
        "recommendations.csv": check_recommendations(),
    }
    for name, n in counts.items():
        print(f"ok  {name}: {n} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
