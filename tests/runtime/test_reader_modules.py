"""The readers are split by file kind (issue 17) and import one another in one direction only."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cme_policy" / "runtime"


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in [*sorted((PACKAGE / "inputs").glob("*.py")), PACKAGE / "readers.py"]:
        name = "readers" if path.name == "readers.py" else f"inputs.{path.stem}"
        found[name] = {
            node.module.removeprefix("cme_policy.runtime.")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module
            and node.module.startswith("cme_policy.runtime.")}
    return found


def test_no_reader_module_imports_another_in_a_cycle() -> None:
    imports = _imports()

    def reach(start: str, seen: frozenset[str]) -> None:
        for other in imports.get(start, set()) & imports.keys():
            assert other not in seen, f"import cycle: {' -> '.join([*seen, other])}"
            reach(other, seen | {other})

    for name in imports:
        reach(name, frozenset({name}))
    assert not any("readers" in deps for name, deps in imports.items() if name != "readers")


def test_the_names_other_code_imports_from_readers_are_still_there() -> None:
    from cme_policy.runtime import readers

    for name in ("DataError", "FactSpec", "InputSchema", "MarksRead", "PUPIL_COLUMNS",
                 "ReadCounts", "parse_date", "read_events", "read_marks", "read_pupils"):
        assert hasattr(readers, name), name
