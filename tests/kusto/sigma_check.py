"""Validates and converts casefile's Sigma rules with pySigma (used by cargo test).

Usage: python sigma_check.py RULE.yml ...

For each rule: parse it (SigmaCollection), run pySigma's core validators except the two whose
data (MITRE ATT&CK, D3FEND) pySigma >= 1.0 downloads at run time — the tests run offline — and
convert it with pysigma-backend-kusto's Azure Monitor pipeline, with `query_table` set from the
rule's logsource service (the pipeline rejects fields that are not that table's columns).
Prints one JSON document: {"rules": [{"file", "table", "issues": [...], "queries": [...]}]}.
Exit 0 when every rule validated and converted, 1 otherwise, 2 on a missing package.
"""

import json
import sys

try:
    from sigma.backends.kusto import KustoBackend
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError
    from sigma.pipelines.azuremonitor import azure_monitor_pipeline
    from sigma.validation import SigmaValidator
    from sigma.validators.core import validators
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"cannot import pySigma / pysigma-backend-kusto ({e}); .ci/run installs them", file=sys.stderr)
    sys.exit(2)

# Validators that fetch reference data from the network in pySigma >= 1.0.
ONLINE = {"attacktag", "d3_fendtag"}

TABLE_OF_SERVICE = {"activitylogs": "AzureActivity", "signinlogs": "SigninLogs"}


def check(path):
    result = {"file": path, "table": None, "issues": [], "queries": []}
    try:
        with open(path, encoding="utf-8") as f:
            collection = SigmaCollection.from_yaml(f.read())
        offline = {k: v for k, v in validators.items() if k not in ONLINE}
        validator = SigmaValidator(offline.values())
        for issue in validator.validate_rules(collection):
            result["issues"].append(f"{type(issue).__name__}: {issue}")
        service = collection.rules[0].logsource.service
        table = TABLE_OF_SERVICE.get(service)
        if table is None:
            result["issues"].append(f"logsource service {service!r} has no table mapping")
            return result
        result["table"] = table
        backend = KustoBackend(processing_pipeline=azure_monitor_pipeline(query_table=table))
        result["queries"] = [str(q) for q in backend.convert(collection)]
    except SigmaError as e:
        result["issues"].append(f"{type(e).__name__}: {e}")
    return result


def main():
    rules = [check(p) for p in sys.argv[1:]]
    json.dump({"rules": rules}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    sys.exit(1 if any(r["issues"] or not r["queries"] for r in rules) else 0)


if __name__ == "__main__":
    main()
