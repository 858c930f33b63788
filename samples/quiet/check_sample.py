#!/usr/bin/env python3
"""Re-read the Quiet sample evidence and check the facts its README relies on.

Run by generate.py after writing, or on its own: python3 samples/quiet/check_sample.py
Python 3 standard library only. Exits non-zero on the first failed check; prints the figures.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVIDENCE = HERE / "evidence"
TRUSTED = [ipaddress.ip_network("192.0.2.0/26"), ipaddress.ip_network("10.64.0.0/16")]
PIPELINE_IP = "20.61.14.9"

# The figures README.md quotes.
EXPECTED = {
    "signins": 43,
    "risk_rows": 2,
    "activity_rows": 8,
    "storage_rows": 848,
    "alerts": 2,
    "recommendations": 8,
    "pipeline_reads": 760,
    "pipeline_bytes": 9_892_096_839,
    "full_night_reads": 420,
    "full_night_bytes": 5_449_369_920,
    "devries_reads": 9,
    "devries_bytes": 9_392_588,
}


def read_csv(name: str) -> list[dict]:
    data = (EVIDENCE / name).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), f"{name}: no BOM"
    assert data.replace(b"\r\n", b"").count(b"\n") == 0, f"{name}: bare LF"
    with (EVIDENCE / name).open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def trusted(ip: str) -> bool:
    return any(ipaddress.ip_address(ip) in n for n in TRUSTED)


def main() -> int:
    got: dict[str, int] = {}
    table = json.loads((EVIDENCE / "signins.json").read_text())["tables"][0]
    names = [c["name"] for c in table["columns"]]
    signins = [dict(zip(names, r)) for r in table["rows"]]
    got["signins"] = len(signins)
    for s in signins:
        if s["ResultType"] == "0":
            assert s["ConditionalAccessStatus"] == "success", s["Id"]
            assert s["AuthenticationRequirement"] == "multiFactorAuthentication"
            assert s["DeviceDetail"]["isCompliant"] and s["DeviceDetail"]["isManaged"]
        if s["LocationDetails"]["countryOrRegion"] == "NL":
            assert trusted(s["IPAddress"]), s["IPAddress"]
    risky = [s for s in signins if s["RiskLevelDuringSignIn"] != "none"]
    assert len(risky) == 1 and risky[0]["IPAddress"] == "192.0.2.11" and trusted(risky[0]["IPAddress"])

    risk = read_csv("riskdetections.csv")
    got["risk_rows"] = len(risk)
    assert risk[0]["Id"] == risk[1]["Id"], "one detection, two rows"
    assert [r["RiskState"] for r in risk] == ["atRisk", "confirmedSafe"]
    assert risk[1]["RiskDetail"] == "adminConfirmedSigninSafe"

    activity = read_csv("activity.csv")
    got["activity_rows"] = len(activity)
    for r in activity:
        assert r["Caller"] != "p.bakker@veldhuisvet.nl" or trusted(r["CallerIpAddress"])

    storage = read_csv("storage.csv")
    got["storage_rows"] = len(storage)
    per = defaultdict(lambda: [0, 0])
    nights: Counter = Counter()
    for r in storage:
        ip = r["CallerIpAddress"].rsplit(":", 1)[0]
        if r["OperationName"] == "GetBlob" and ip == PIPELINE_IP:
            per["pipeline"][0] += 1
            per["pipeline"][1] += int(r["ResponseBodySize"])
            nights[r["TimeGenerated [UTC]"].split(",")[0]] += 1
            if r["TimeGenerated [UTC]"].startswith("10/13/2025"):
                per["full"][0] += 1
                per["full"][1] += int(r["ResponseBodySize"])
        if r["OperationName"] == "GetBlob" and r["RequesterUpn"] == "r.devries@veldhuisvet.nl":
            per["devries"][0] += 1
            per["devries"][1] += int(r["ResponseBodySize"])
            assert trusted(ip)
        assert r["AuthenticationType"] == "OAuth"
    assert len(nights) == 10, nights
    got["pipeline_reads"], got["pipeline_bytes"] = per["pipeline"]
    got["full_night_reads"], got["full_night_bytes"] = per["full"]
    got["devries_reads"], got["devries_bytes"] = per["devries"]

    alerts = read_csv("alerts.csv")
    got["alerts"] = len(alerts)
    assert all(a["Status"] == "Resolved" for a in alerts)
    got["recommendations"] = len(json.loads((HERE / "recommendations.json").read_text())["value"])

    for k, v in got.items():
        print(f"{k:18} {v:>16,}")
    bad = {k: (got.get(k), v) for k, v in EXPECTED.items() if got.get(k) != v}
    assert not bad, f"figures differ from README (got, expected): {bad}"
    print("quiet sample: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
