"""The JSON Schema backend: generated from cme_policy/source/schema.py, and every file of the
bundled policy validates against it (with a small validator for the subset of draft 2020-12
the backend emits; `jsonschema` is not a dependency)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cme_policy.backends.schema import SCHEMA_PATH, json_schema

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policy"
TYPES = {"string": str, "boolean": bool, "integer": int, "object": dict, "array": list}
SCHEMA = json_schema()


def errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    if "$ref" in schema:
        return errors(value, SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]], where)
    if "anyOf" in schema:
        found = [errors(value, s, where) for s in schema["anyOf"]]
        return [] if any(not f for f in found) else min(found, key=len)
    out = [e for s in schema.get("allOf", []) for e in errors(value, s, where)]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    if "type" in schema:
        wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(isinstance(value, TYPES[t]) and not (t == "integer" and isinstance(value, bool))
                   for t in wanted):
            return [f"{where}: {value!r} is not {wanted}"]
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        out.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += errors(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, dict):
        out += _object(value, schema, where)
    return out


def _object(value: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    out = [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
    props, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
    for key, item in value.items():
        names = schema.get("propertyNames")
        if names and not re.search(names["pattern"], key):
            out.append(f"{where}: key {key!r} does not match {names['pattern']}")
        if key in props:
            out += errors(item, props[key], f"{where}.{key}")
        elif extra is False:
            out.append(f"{where}: unknown key {key!r}")
        elif isinstance(extra, dict):
            out += errors(item, extra, f"{where}.{key}")
    return out


def _plain(value: Any) -> Any:
    """YAML as an editor's language server sees it: dates are strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_schema_is_draft_2020_12_and_closed() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    defs = SCHEMA["$defs"]
    assert {"manifest", "policy_file", "rule", "parameter"} <= set(defs)
    assert all(d["additionalProperties"] is False for d in defs.values())
    rule = defs["rule"]["properties"]
    assert rule["when"]["description"] == "the condition, in the expression language"
    assert defs["manifest"]["required"][:2] == ["title", "school"]


def test_generated_schema_file_is_fresh() -> None:
    written = (REPO / "generated" / SCHEMA_PATH).read_text("utf-8")
    assert json.loads(written) == SCHEMA


@pytest.mark.parametrize("path", sorted(
    p.relative_to(POLICY).as_posix() for p in POLICY.rglob("*.yaml") if p.name != "calendar.yaml"))
def test_bundled_policy_files_validate(path: str) -> None:
    data = _plain(yaml.safe_load((POLICY / path).read_text("utf-8")))
    assert errors(data, SCHEMA) == []


def test_validator_rejects_unknown_and_missing_keys() -> None:
    assert errors({"rules": {"r": {"title": "t", "clause": "c-1", "when": "x", "whenn": 1}}},
                  SCHEMA)
    assert errors({"title": "a manifest without its other keys"}, SCHEMA)
    assert errors({"parameters": {"g": {"p": {"value": 3, "label": "l", "stricter": "up"}}}},
                  SCHEMA)
    assert errors({"roles": {"Bad-Name": {"label": "x"}}}, SCHEMA)
    assert not errors({"roles": {"dsl": {"label": "x", "holder": "y"}}}, SCHEMA)
