"""The pipeline's layers: a stage imports only from stages below it (README, "Pipeline").

Each package under cme_policy/ has the packages it may import from. The runtime is a leaf
library: generated code imports it, so it imports nothing of the compiler. The interpreter is
the reference the backends are tested against, so no backend, the screening (`run`) nor the
runtime may import it. Imports only for type checking (`if TYPE_CHECKING:`) are not
dependencies at run time and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cme_policy"

BASE = {"diagnostics", "gc_pause", "source.span", "diagnostic_codes"}
"""Used everywhere: diagnostics as data, spans, the code registry, the GC pause."""

ALLOWED: dict[str, set[str]] = {
    "runtime": set(),
    "source": {"runtime"},
    "expr": set(),
    "ir": {"expr", "source", "runtime"},
    "analysis": {"ir", "expr", "source", "runtime"},
    "backends": {"analysis", "ir", "expr", "source", "runtime"},
    "interpret": {"ir", "expr", "runtime"},
    "screening": {"backends", "analysis", "ir", "expr", "source", "runtime"},
    "scenarios": {"interpret", "analysis", "ir", "expr", "source", "runtime"},
    "build": {"backends", "analysis", "ir", "expr", "source", "runtime"},
    "driver": {"scenarios", "analysis", "ir", "expr", "source", "runtime"},
    "review": {"driver", "scenarios", "interpret", "backends", "analysis", "ir", "expr",
               "source", "runtime"},
    "scaffold": {"driver", "analysis", "ir", "expr", "source", "runtime"},
    "sample": {"driver", "ir", "expr", "source", "runtime"},
    "cli": {"build", "driver", "review", "scaffold", "sample", "scenarios", "screening",
            "backends", "analysis", "ir", "expr", "source", "runtime"},
}
"""Package (or top-level module) → the packages it may import from, besides itself."""


def _layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return ""
    if ".".join(parts[:2]) in BASE:
        return ".".join(parts[:2])
    return parts[0]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module) of every import of cme_policy, outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text("utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for b in node.body for n in ast.walk(b)}
    here = module.split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("cme_policy"):
                out.append((node.lineno, name))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("cme_policy")]
    return out


def _file_violations(path: Path, module: str) -> list[str]:
    layer = _layer(module)
    if layer in BASE or layer == "":
        return []
    allowed = ALLOWED.get(layer)
    assert allowed is not None, f"{path}: no layer for '{layer}'; add it to ALLOWED"
    found = []
    for line, target in _runtime_imports(path, module):
        other = _layer(target)
        if other in (layer, "") or other in BASE or other in allowed:
            continue
        found.append(f"{module}:{line}: {layer} imports {target}")
    return found


def test_every_stage_imports_only_from_stages_below_it() -> None:
    found = [v for path in sorted(PACKAGE.rglob("*.py"))
             for v in _file_violations(path, _module(path))]
    assert found == []


@pytest.mark.parametrize(("module", "target"), [
    ("cme_policy.runtime.probe", "cme_policy.ir.model"),
    ("cme_policy.backends.docs.probe", "cme_policy.interpret.world"),
    ("cme_policy.screening.probe", "cme_policy.scenarios"),
    ("cme_policy.expr.probe", "cme_policy.ir"),
])
def test_the_check_catches_a_forbidden_import(tmp_path: Path, module: str, target: str) -> None:
    """The test can fail: a module that imports across a layer is reported, and one that does
    so only for type checking is not."""
    probe = tmp_path / "probe.py"
    probe.write_text(f"import {target}\n", "utf-8")
    assert _file_violations(probe, module)
    probe.write_text(f"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import {target}\n",
                     "utf-8")
    assert not _file_violations(probe, module)
