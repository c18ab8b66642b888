#!/usr/bin/python3
"""Validate vmreport JSON reports against docs/report-schema.json.

usage: validate_json.py SCHEMA REPORT.json...
Exits non-zero naming the file and the first schema error."""
import json
import sys

import jsonschema


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    for path in sys.argv[2:]:
        with open(path) as f:
            try:
                doc = json.load(f)
            except json.JSONDecodeError as e:
                print(f"{path}: not JSON: {e}", file=sys.stderr)
                bad += 1
                continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors[:5]:
            where = "/".join(str(p) for p in e.path)
            print(f"{path}: {where}: {e.message}", file=sys.stderr)
        bad += bool(errors)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
