#!/usr/bin/env python3
"""Builds the seed corpora in fuzz/corpus/<target>/ from the repository's real inputs
(samples/northgate, tests/hostile, controls, README) and the shared public exports
(../shared/data/public, when present). Big files are cut to a few KB on a line boundary;
some seeds are also written gzip-compressed, as UTF-16 with BOM, as a Log Analytics query
response and as JSON Lines, so every reader path has a starting point.

Usage: python3 fuzz/seed.py            (from the repository root or from fuzz/)

Needs only the standard library; the .xlsx seed is fuzz/seeds/recommendations.xlsx
(made once with openpyxl from samples/northgate/recommendations.csv, see fuzz/README.md).
"""

import csv
import glob
import gzip
import hashlib
import io
import json
import os
import re
import sys
import zipfile

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
PUBLIC = os.path.join(os.path.dirname(ROOT), "shared", "data", "public")
CORPUS = os.path.join(FUZZ, "corpus")
LIMIT = 4096


def read(path):
    with open(path, "rb") as f:
        return f.read()


def cut(data, limit=LIMIT):
    """The first `limit` bytes, ending on a line boundary (never just the header)."""
    if len(data) <= limit:
        return data
    end = data.rfind(b"\n", 0, limit)
    if end <= 0 or data.count(b"\n", 0, end) < 1:
        end = data.find(b"\n", limit)
        end = len(data) - 1 if end < 0 else end
    return data[: end + 1]


def put(target, data, name=None):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def utf16(data):
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    return b"\xff\xfe" + text.encode("utf-16-le")


def gz(data):
    return gzip.compress(data, mtime=0)


def csv_to_la_json(data):
    """A Log Analytics query API response with the CSV's columns and rows."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return None
    cols = [{"name": re.sub(r" \[UTC\]$", "", h), "type": "string"} for h in rows[0]]
    body = [r for r in rows[1:] if len(r) == len(rows[0])]
    return json.dumps({"tables": [{"name": "PrimaryResult", "columns": cols, "rows": body}]}, indent=1).encode()


def csv_to_records(data):
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    return rows


def json_records(data):
    """Records of a JSON document (array, `value` page, LA tables or a single object)."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return []
    if isinstance(doc, list):
        return [x for x in doc if isinstance(x, dict)]
    if isinstance(doc, dict):
        if isinstance(doc.get("value"), list):
            return doc["value"]
        if "tables" in doc:
            t = doc["tables"][0]
            names = [c["name"] for c in t["columns"]]
            return [dict(zip(names, r)) for r in t["rows"]]
        return [doc]
    return []


def jsonl(records, limit=LIMIT):
    out = b""
    for r in records:
        line = json.dumps(r, separators=(",", ":")).encode() + b"\n"
        if out and len(out) + len(line) > limit:
            break
        out += line
    return out


def files(pattern):
    return sorted(glob.glob(pattern, recursive=True))


def main():
    sample = os.path.join(ROOT, "samples", "northgate")
    ev = os.path.join(sample, "evidence")
    hostile = os.path.join(ROOT, "tests", "hostile")
    public = files(os.path.join(PUBLIC, "*")) if os.path.isdir(PUBLIC) else []

    csvs = [os.path.join(ev, n) for n in ("signins.csv", "activity.csv", "storage.csv")]
    csvs += [os.path.join(sample, "recommendations.csv")]
    csvs += [p for p in public if p.endswith(".csv")]
    csvs += files(os.path.join(hostile, "**", "*.csv"))
    jsons = [os.path.join(ev, "alerts.json")] + [p for p in public if p.endswith(".json")]
    jsons += files(os.path.join(hostile, "**", "*.json"))
    jsonls = files(os.path.join(hostile, "**", "*.jsonl"))

    # csv_table: every CSV, plus encodings and compression of a few.
    for p in csvs:
        put("csv_table", cut(read(p)))
    for p in csvs[:2] + [os.path.join(hostile, "signins", "semicolon.csv")]:
        put("csv_table", gz(cut(read(p), 1024)))
        put("csv_table", utf16(cut(read(p), 1024)))
    put("csv_table", b"#TYPE System.Management.Automation.PSCustomObject\n" + cut(read(csvs[0]), 1024))

    # la_json: LA query responses (real and converted), JSON records of every kind.
    for p in jsons:
        put("la_json", read(p))
    for p in csvs[:4]:
        la = csv_to_la_json(cut(read(p), 2048))
        if la:
            put("la_json", la)
    put("la_json", json.dumps({"value": csv_to_records(cut(read(csvs[0]), 1024))}).encode())
    put("la_json", gz(read(jsons[0])))

    # json_lines
    for p in jsonls:
        put("json_lines", read(p))
    for p in jsons:
        recs = json_records(read(p))
        if recs:
            put("json_lines", jsonl(recs))
    for p in csvs[:3]:
        put("json_lines", jsonl(csv_to_records(cut(read(p), 2048))))

    # typed parsers
    signins = [os.path.join(ev, "signins.csv"), os.path.join(PUBLIC, "sign-in_adelete.csv"), os.path.join(PUBLIC, "signinLogs.csv")]
    signins += files(os.path.join(hostile, "signins", "*.csv"))
    for p in signins:
        if os.path.exists(p):
            put("signins", cut(read(p)))
    la = csv_to_la_json(cut(read(os.path.join(ev, "signins.csv")), 2048))
    put("signins", la)
    put("signins", json.dumps({"value": csv_to_records(cut(read(os.path.join(ev, "signins.csv")), 1024))}).encode())
    put("signins", utf16(cut(read(os.path.join(ev, "signins.csv")), 1024)))

    activity = [os.path.join(ev, "activity.csv"), os.path.join(PUBLIC, "azureActivity_adele.csv"), os.path.join(PUBLIC, "storageAccounts_write_BeginRequest.json")]
    activity += files(os.path.join(hostile, "activity", "*"))
    for p in activity:
        if os.path.exists(p) and not p.endswith(".expected"):
            put("activity", cut(read(p)) if p.endswith(".csv") else read(p))
    put("activity", csv_to_la_json(cut(read(os.path.join(ev, "activity.csv")), 2048)))

    storage = [os.path.join(ev, "storage.csv"), os.path.join(PUBLIC, "GetBlob_SAS.json"), os.path.join(PUBLIC, "ListBlobs_AccountKey.json")]
    storage += [p for p in files(os.path.join(hostile, "storage", "*")) if not p.endswith(".expected")]
    for p in storage:
        if os.path.exists(p):
            put("storage", cut(read(p)) if p.endswith(".csv") else read(p))
    raw = [json_records(read(p)) for p in storage[1:3] if os.path.exists(p)]
    put("storage", jsonl([r for rs in raw for r in rs] * 2))
    put("storage", gz(jsonl([r for rs in raw for r in rs])))
    put("storage", jsonl(csv_to_records(cut(read(os.path.join(ev, "storage.csv")), 2048))))

    alerts = [os.path.join(ev, "alerts.json"), os.path.join(PUBLIC, "az_mon_raw_query_SecurityAlert.json")]
    alerts += [p for p in files(os.path.join(hostile, "alerts", "*")) if not p.endswith(".expected")]
    for p in alerts:
        if os.path.exists(p):
            put("alerts", read(p))
    recs = json_records(read(os.path.join(ev, "alerts.json")))
    if recs:
        put("alerts", jsonl(recs))
        put("alerts", json.dumps({"value": recs[:2]}).encode())

    put("risk", b"ActivityDateTime,UserPrincipalName,IpAddress,RiskEventType,RiskLevel,RiskState\n"
        b"2024-03-21T03:10:02Z,alice@example.com,198.51.100.7,unfamiliarFeatures,high,atRisk\n"
        b"2024-03-21T03:12:40Z,alice@example.com,2001:db8::1,anonymizedIPAddress,medium,remediated\n")
    put("risk", b'[{"activityDateTime":"2024-03-21T03:10:02Z","userPrincipalName":"a@b.c","ipAddress":"10.1.2.3",'
        b'"riskEventType":"leakedCredentials","riskLevel":"high","riskState":"atRisk"}]')
    put("risk", b"TimeGenerated [UTC],UserPrincipalName,IpAddress,RiskLevel\n\"3/21/2024, 3:12:40.221 AM\",x@y.z,1.2.3.4,low\n")

    recs_csv = [os.path.join(sample, "recommendations.csv")] + files(os.path.join(hostile, "recommendations", "*.csv"))
    for p in recs_csv:
        put("recommendations_csv", cut(read(p)))
    put("recommendations_csv", read(recs_csv[0]))
    put("recommendations_csv", json.dumps(csv_to_records(cut(read(recs_csv[0]), 2048))).encode())

    xlsx = os.path.join(FUZZ, "seeds", "recommendations.xlsx")
    if os.path.exists(xlsx):
        data = read(xlsx)
        put("recommendations_xlsx", data)
        with zipfile.ZipFile(xlsx) as z:
            names = z.namelist()

            def part(n):
                return z.read(n) if n in names else b""

            sheet = part("xl/worksheets/sheet1.xml")
            shared = part("xl/sharedStrings.xml")
            styles = part("xl/styles.xml")
            # NUL-separated parts: sheet1, sharedStrings, styles, sheet2 (see harness.rs)
            put("recommendations_xlsx", sheet + b"\0" + shared + b"\0" + styles)
            put("recommendations_xlsx", sheet + b"\0" + shared + b"\0" + styles + b"\0" + sheet)
            put("recommendations_xlsx", sheet + b"\0" + shared)
    else:
        print("no fuzz/seeds/recommendations.xlsx: recommendations_xlsx starts without a workbook seed", file=sys.stderr)
    put("recommendations_xlsx",
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>recommendationName</t></is></c><c r="B1" t="inlineStr"><is><t>state</t></is></c>'
        b'<c r="C1" t="inlineStr"><is><t>resourceId</t></is></c><c r="D1" t="inlineStr"><is><t>timeGenerated</t></is></c></row>'
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>4fb67663-9ab9-475d-b026-8c544cced439</t></is></c><c r="B2" t="inlineStr"><is><t>Unhealthy</t></is></c>'
        b'<c r="C2" t="inlineStr"><is><t>/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a</t></is></c>'
        b'<c r="D2"><v>45372.5</v></c></row></sheetData></worksheet>')

    # TOML
    put("case_toml", read(os.path.join(sample, "case.toml")))
    readme = read(os.path.join(ROOT, "README.md")).decode()
    for block in re.findall(r"```toml\n(.*?)```", readme, re.S):
        put("case_toml", block.encode())
    controls = files(os.path.join(ROOT, "controls", "*.toml"))
    for p in controls:
        put("controls_toml", read(p))
    put("controls_toml", b"\0".join(read(p) for p in controls))
    put("controls_toml", read(controls[0]) + b"\0" + read(controls[0]))

    # sanitize: real text and the characters it must neutralise
    put("sanitize", cut(read(os.path.join(hostile, "signins", "formula_and_markup.csv"))))
    put("sanitize", read(os.path.join(sample, "case.toml"))[:2048])
    put("sanitize", "a\u202eevil\u202c b\u2066c\u2069 \u200b\u200e\u061c \x00\x07\x1b[31m \r\n\t\x0b\x0c\x85\u2028\u2029 #set page(\"x\") $math$ *bold* \U0001F600 \u0301e \ufffd".encode())
    put("sanitize", ("x" * 100 + "/" + "y" * 50).encode())
    put("sanitize", "日本語のテキスト ελληνικά العربية עברית हिन्दी 한국어".encode())


def literals(paths, lo=2, hi=48):
    """String literals of the given sources that are plain enough for a libFuzzer dictionary."""
    out = set()
    for p in paths:
        text = open(p, encoding="utf-8").read()
        for m in re.finditer(r'"([^"\\\n]{%d,%d})"' % (lo, hi), text):
            s = m.group(1)
            if "{" in s or not s.isprintable():
                continue
            out.add(s)
    return sorted(out)


def write_dict(name, words):
    """fuzz/dict/<name>.dict: one quoted entry per line (libFuzzer -dict=)."""
    d = os.path.join(FUZZ, "dict")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name + ".dict"), "w", encoding="utf-8") as f:
        f.write("# generated by fuzz/seed.py from casefile's sources; do not edit\n")
        for w in words:
            esc = "".join(
                "\\\\" if c == "\\" else '\\"' if c == '"' else c if " " <= c <= "~" else "".join("\\x%02X" % b for b in c.encode())
                for c in w
            )
            f.write('"%s"\n' % esc)


def dictionaries():
    src = os.path.join(ROOT, "src")
    evidence = literals(files(os.path.join(src, "bundle", "*.rs")) + [os.path.join(src, "posture", "recommendations.rs")])
    evidence += ['"', '""', "\r\n", ",", ";", "\t", " [UTC]", "_dynamic", "_string", '{"tables":[{"columns":[{"name":"',
                 '"rows":[[', '"value":[', '"$id":"1"', '"$ref":"1"', "\ufeff", "#TYPE ", "null", "true",
                 "0001-01-01T00:00:00Z", "2024-03-21T03:12:40Z", "3/21/2024, 3:12:40.221 AM", "+00:00"]
    write_dict("evidence", sorted(set(evidence)))
    toml = literals([os.path.join(src, "case.rs"), os.path.join(src, "posture", "catalog.rs")])
    keys = set()
    for p in files(os.path.join(ROOT, "controls", "*.toml")) + [os.path.join(ROOT, "samples", "northgate", "case.toml")]:
        for line in open(p, encoding="utf-8"):
            m = re.match(r"\s*(\[\[?[a-z_.]+\]\]?|[a-z_]+\s*=)", line)
            if m:
                keys.add(m.group(1))
    write_dict("toml", sorted(set(toml) | keys | {"\n", " = ", '"""', "'''", "[", "]", "{", "}", "#"}))


if __name__ == "__main__":
    main()
    dictionaries()
