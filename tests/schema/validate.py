#!/usr/bin/env python3
"""Validates podrun-doctor JSON reports against docs/report.schema.json.

usage: validate.py REPORT.json... (prints one line per file; exit 1 if any fails)
"""
import json
import sys
from pathlib import Path

try:
    import jsonschema
except ImportError:
    sys.exit("validate.py: python3-jsonschema is missing (tests/setup.sh installs it)")

schema_path = Path(__file__).resolve().parents[2] / "docs" / "report.schema.json"
schema = json.loads(schema_path.read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
failed = 0
if len(sys.argv) < 2:
    sys.exit("validate.py: no reports given")
for name in sys.argv[1:]:
    try:
        report = json.loads(Path(name).read_text())
    except (OSError, ValueError) as e:
        print(f"{name}: cannot read a JSON report: {e}")
        failed += 1
        continue
    errors = sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        print(f"{name}: {where}: {e.message}")
    failed += bool(errors)
print(f"{len(sys.argv) - 1 - failed} of {len(sys.argv) - 1} reports valid against {schema_path.name}")
sys.exit(1 if failed else 0)
