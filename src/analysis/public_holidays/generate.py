#!/usr/bin/env python3
"""Writes holidays.csv: the national public holidays casefile checks a GDPR deadline against;
and zones.csv: the time zone of each of those countries' capital (the principal zone of the
IANA zone.tab), in which the deadline's day is taken.

Source: the python-holidays package (https://github.com/vacanza/holidays), version pinned
below. Run it with that version to refresh the table, e.g. once a year:

    python3 -m venv /tmp/hv && /tmp/hv/bin/pip install holidays==0.85
    /tmp/hv/bin/python src/analysis/public_holidays/generate.py

Countries: the EU member states and the EEA states (whose authorities apply the GDPR) and
the United Kingdom (England and Wales bank holidays, the ICO's). National holidays only:
regional ones (a German Land, a Spanish community) are not in the table.
"""
import csv
import os

try:
    import holidays
except ImportError:  # only zones.csv can be written without it
    holidays = None

PINNED = "0.85"
YEARS = range(2020, 2036)
EU_EEA = ("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "
          "IS LI NO").split()


def table(code, subdiv=None):
    for lang in ("en_US", "en_GB", None):
        try:
            return holidays.country_holidays(code, subdiv=subdiv, years=YEARS, language=lang)
        except (NotImplementedError, ValueError, KeyError):
            continue
    return holidays.country_holidays(code, subdiv=subdiv, years=YEARS)


def rows():
    for code in EU_EEA:
        for day, name in sorted(table(code).items()):
            # Some tables list every Sunday; weekends are handled on their own.
            name = "; ".join(n for n in name.split("; ") if n.strip().lower() != "sunday")
            if name:
                yield code, day.isoformat(), name
    for day, name in sorted(table("GB", "ENG").items()):
        yield "GB", day.isoformat(), name


def zones(zone_tab="/usr/share/zoneinfo/zone.tab"):
    """The first zone.tab entry of each country: its principal (capital's) zone."""
    first = {}
    with open(zone_tab, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            code, _coords, zone = line.split("\t")[:3]
            first.setdefault(code, zone.strip())
    for code in EU_EEA + ["GB"]:
        yield code, first[code]


def write_zones():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zones.csv")
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["country", "zone"])
        for r in sorted(zones()):
            w.writerow(r)


def main():
    if holidays is None:
        raise SystemExit(f"python-holidays is not installed: pip install holidays=={PINNED}")
    assert holidays.__version__ == PINNED, f"python-holidays {holidays.__version__}, expected {PINNED}"
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "holidays.csv")
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["country", "date", "name"])
        for r in rows():
            w.writerow(r)
    write_zones()


if __name__ == "__main__":
    main()
