#!/usr/bin/env python3
"""Re-read the Brunnwald sample evidence and check the figures its README quotes.

Run by generate.py after writing, or on its own: python3 samples/brunnwald/check_sample.py
Python 3 standard library only. Prints the figures; exits non-zero on the first failed check.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVIDENCE = HERE / "evidence"
ATTACKER_IP = "198.51.100.23"
GUESS_IP = "192.0.2.201"
KELLER = "j.keller@brunnwald.de"
ROTATION = "2025-06-11T04:05:12"

EXPECTED = {
    "signins": 27,
    "guesses": 10,
    "activity_events": 29,
    "storage_records": 399,
    "alerts": 3,
    "gehaltsdaten_reads_ok": 212,
    "gehaltsdaten_objects": 204,
    "gehaltsdaten_bytes": 1_842_000_000,
    "tourenplanung_reads_ok": 64,
    "tourenplanung_bytes": 613_500_000,
    "attacker_listings": 2,
    "attacker_failed_after_rotation": 15,
    "keller_own_reads": 12,
    "keller_own_bytes": 41_762_460,
    "backup_reads": 90,
}


def main() -> int:
    got: dict[str, int] = {}
    signins = json.loads((EVIDENCE / "signins-graph.json").read_text())["value"]
    got["signins"] = len(signins)
    guesses = [s for s in signins if s["ipAddress"] == GUESS_IP]
    got["guesses"] = len(guesses)
    assert all(s["status"]["errorCode"] == 50126 and s["userPrincipalName"] == KELLER for s in guesses)
    win = [s for s in signins if s["ipAddress"] == ATTACKER_IP]
    assert len(win) == 1 and win[0]["conditionalAccessStatus"] == "notApplied"
    assert win[0]["authenticationRequirement"] == "singleFactorAuthentication"
    assert {s["userAgent"] for s in guesses} == {win[0]["userAgent"]}, "same user agent"
    assert max(s["createdDateTime"] for s in guesses) < win[0]["createdDateTime"]

    events = json.loads((EVIDENCE / "activity-az.json").read_text())
    got["activity_events"] = len(events)
    times = [e["eventTimestamp"] for e in events]
    assert times == sorted(times, reverse=True), "az lists newest first"
    by_corr = defaultdict(list)
    for e in events:
        by_corr[(e["correlationId"], e["operationName"]["value"])].append(e)
    mixed = [k for k, v in by_corr.items() if len({e["httpRequest"]["clientIpAddress"] for e in v}) > 1]
    assert len(mixed) == 1 and mixed[0][1].endswith("securityRules/write"), mixed
    statuses = {(k[1].split("/")[-2], v[0]["resourceId"].rsplit("/", 1)[-1]): v[0]["status"]["value"]
                for k, v in by_corr.items()}  # v[0]: the newest event, the final one
    assert statuses[("virtualMachines", "vm-etl-09")] == "Failed"
    assert statuses[("virtualMachines", "vm-etl-07")] == "Succeeded"
    assert statuses[("listKeys", "bwlarchive")] == "Failed"
    assert statuses[("listKeys", "bwlcoredata")] == "Succeeded"
    deleted = {v[0]["resourceId"].rsplit("/", 1)[-1] for k, v in by_corr.items() if k[1].endswith("virtualMachines/delete")}
    assert deleted == {"vm-etl-08"}, "vm-etl-07 is never deleted"

    per = defaultdict(int)
    objects = set()
    records = [json.loads(line) for line in (EVIDENCE / "storageread-bwlcoredata.jsonl").read_text().splitlines()]
    got["storage_records"] = len(records)
    for r in records:
        ip = r["callerIpAddress"].rsplit(":", 1)[0]
        c = r["properties"]["objectKey"].split("/")[2]
        ok = r["statusCode"] < 300
        upn = r["identity"].get("requester", {}).get("upn")
        if ip == ATTACKER_IP:
            assert r["identity"]["type"] == "AccountKey"
            if r["operationName"] == "ListBlobs" and ok:
                per["attacker_listings"] += 1
            elif r["operationName"] == "GetBlob" and ok:
                assert r["time"] < ROTATION
                per[f"{c}_reads_ok"] += 1
                per[f"{c}_bytes"] += r["properties"]["responseBodySize"]
                if c == "gehaltsdaten":
                    objects.add(r["properties"]["objectKey"])
            if not ok:
                assert r["time"] > ROTATION and r["statusCode"] == 403
                per["attacker_failed_after_rotation"] += 1
        elif upn == KELLER and r["operationName"] == "GetBlob":
            assert r["time"] < "2025-06-11"
            per["keller_own_reads"] += 1
            per["keller_own_bytes"] += r["properties"]["responseBodySize"]
        elif r["operationName"] == "GetBlob":
            per["backup_reads"] += 1
    got.update(per)
    got["gehaltsdaten_objects"] = len(objects)
    got["alerts"] = len(json.loads((EVIDENCE / "alerts-defender.json").read_text()))

    for k, v in got.items():
        print(f"{k:32} {v:>16,}")
    bad = {k: (got.get(k), v) for k, v in EXPECTED.items() if got.get(k) != v}
    assert not bad, f"figures differ from README (got, expected): {bad}"
    print("brunnwald sample: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
