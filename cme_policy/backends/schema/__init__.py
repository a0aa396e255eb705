"""Schema backend: the shape of policy files (cme_policy/source/schema.py) as a JSON Schema
(draft 2020-12) for editors (yaml-language-server) and CI.

```python
files = generate(policy, "policy/")
files["schema/policy.schema.json"]
```
The schema does not depend on the policy: one schema accepts both the manifest
(`policy.yaml`) and the files it includes.
"""

from __future__ import annotations

import json
import re

from cme_policy.ir.model import Policy
from cme_policy.source import schema as s

SCHEMA_PATH = "schema/policy.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

_SCALARS: dict[str, dict[str, object]] = {
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    "int": {"type": "integer"},
    # YAML editors read an unquoted date as a string; the loader accepts both forms.
    "date": {"type": "string", "pattern": s.DATE.pattern},
    "expr": {"type": ["string", "integer", "boolean"]},
    "identifier": {"type": "string", "pattern": s.IDENT.pattern},
    "clause-id": {"type": "string", "pattern": s.CLAUSE_ID.pattern},
    "direction": {"enum": ["lower", "higher"]},
}
_KEYS: dict[str, dict[str, object]] = {
    "identifier": {"pattern": s.IDENT.pattern},
    "clause-id": {"pattern": s.CLAUSE_ID.pattern},
}


class _Emitter:
    """Each `Obj` becomes one entry of `$defs`, named after it (numbered if names repeat)."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, object]] = {}
        self.names: dict[int, str] = {}

    def ref(self, obj: s.Obj) -> dict[str, object]:
        if id(obj) not in self.names:
            base = re.sub(r"[^a-z0-9]+", "_", obj.name.lower()).strip("_")
            name, n = base, 2
            while name in self.defs:
                name, n = f"{base}_{n}", n + 1
            self.names[id(obj)] = name
            self.defs[name] = {}
            self.defs[name] = self.obj(obj)
        return {"$ref": f"#/$defs/{self.names[id(obj)]}"}

    def obj(self, obj: s.Obj) -> dict[str, object]:
        props: dict[str, object] = {}
        for key, spec in obj.fields.items():
            node = dict(self.emit(spec.schema))
            if spec.doc:
                node = {"description": spec.doc, **node} if "$ref" not in node else {
                    "description": spec.doc, "allOf": [node]}
            props[key] = node
        out: dict[str, object] = {"title": obj.name, "type": "object"}
        if obj.doc:
            out["description"] = obj.doc
        out["properties"] = props
        required = [k for k, f in obj.fields.items() if f.required]
        if required:
            out["required"] = required
        out["additionalProperties"] = False
        return out

    def emit(self, schema: s.Schema) -> dict[str, object]:
        if isinstance(schema, s.Scalar):
            return dict(_SCALARS.get(schema.type, {"type": "string"}))
        if isinstance(schema, s.OneOrMany):
            item = self.emit(schema.item)
            return {"anyOf": [item, {"type": "array", "items": item}]}
        if isinstance(schema, s.ListOf):
            return {"type": "array", "items": self.emit(schema.item)}
        if isinstance(schema, s.Named):
            out: dict[str, object] = {"type": "object"}
            if schema.key_kind in _KEYS:
                out["propertyNames"] = dict(_KEYS[schema.key_kind])
            out["additionalProperties"] = self.emit(schema.value)
            return out
        return self.ref(schema)


def json_schema() -> dict[str, object]:
    emitter = _Emitter()
    manifest, section = emitter.ref(s.MANIFEST), emitter.ref(s.SECTION_FILE)
    return {"$schema": DRAFT, "$id": "https://cme-policy.invalid/policy.schema.json",
            "title": "cme-policy policy file",
            "description": "A policy manifest (policy.yaml) or a file it includes.",
            "anyOf": [manifest, section], "$defs": emitter.defs}


def generate(policy: Policy, source_label: str) -> dict[str, str]:
    """The schema file; the same for every policy (it describes the language)."""
    del policy, source_label
    return {SCHEMA_PATH: json.dumps(json_schema(), indent=2, ensure_ascii=True) + "\n"}
