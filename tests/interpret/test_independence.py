"""The interpreter is an independent oracle (issue 17): it computes school days, measures,
onsets and compulsory school age its own way and imports none of the runtime's logic, and
nothing in production that it is compared with imports it. Otherwise the differential tests
would compare the runtime with itself, and a bug in a shared measure could not show.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cme_policy"
INTERPRET = PACKAGE / "interpret"

ALLOWED_RUNTIME = {
    # shared values, not semantics: the interpreter's inputs and results
    "cme_policy.runtime.pupil": None,  # Pupil, CaseEvent, FactValue
    "cme_policy.runtime.results": None,  # PupilResult, Action, Violation, ...
    # the type of the error a calendar question that cannot be answered raises (the
    # scenario runner catches it); none of the calendar's arithmetic
    "cme_policy.runtime.calendar": {"CalendarError"},
}
"""Runtime modules the interpreter may import when it runs, and which names (None: any)."""
TYPE_ONLY = {
    "cme_policy.runtime.calendar": {"SchoolCalendar", "AcademicYear"},
    "cme_policy.runtime.marks": {"PupilMarks"},
}
"""Input types named in annotations only (under `if TYPE_CHECKING:`)."""
FORBIDDEN_PREFIXES = ("cme_policy.runtime", "cme_policy.backends", "cme_policy.screening",
                      "cme_policy.scenarios", "cme_policy.review", "cme_policy.cli",
                      "cme_policy.build", "cme_policy.driver", "cme_policy.sample",
                      "cme_policy.ir.tables")
PLAIN_DATA = {"calendar": {"years", "bank_holidays"}, "marks": {"text", "table"},
              "table": {"code"}}
"""What the interpreter may read of the runtime objects it is given: plain data (and the
code table's decoding of a mark character), never a calendar or marks method."""

REFERENCE_USERS = ("interpret", "scenarios", "review", "cli.py", "driver.py")
"""Production code that may use the interpreter: itself, and the scenario runner and review
commands (`test`, `explain`, `diff`) that use it as the reference semantics."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, tuple[str, ...], bool]]:
    """(module, names, only for type checking) for every import in a file, wherever it is
    (inside functions too), relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, (), id(node) in type_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            names = tuple(a.name for a in node.names)
            if not node.module:  # `from . import x`: modules x
                out += [(f"{module}.{n}", (), id(node) in type_only) for n in names]
            else:
                out.append((module, names, id(node) in type_only))
    return out


def test_the_interpreter_imports_no_runtime_logic_and_no_backend() -> None:
    problems = []
    for path in sorted(INTERPRET.glob("*.py")):
        for module, names, type_only in _imports(path):
            if not module.startswith(FORBIDDEN_PREFIXES):
                continue
            if module in ALLOWED_RUNTIME and ALLOWED_RUNTIME[module] is None:
                continue
            permitted = set(ALLOWED_RUNTIME.get(module) or ())
            if type_only:
                permitted |= TYPE_ONLY.get(module, set())
            bad = [n for n in names or ("(the module itself)",) if n not in permitted]
            if bad:
                problems.append(f"{path.relative_to(ROOT)}: {module} {bad}")
    assert not problems, "\n".join(problems)


def test_the_interpreter_reads_runtime_objects_as_plain_data_only() -> None:
    """`calendar.add_school_days(...)` or `marks.code_at(...)` would borrow the runtime's
    arithmetic; only the calendar's years and bank holidays, and the marks' text and code
    table, may be read."""
    problems = []
    for path in sorted(INTERPRET.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else \
                owner.attr if isinstance(owner, ast.Attribute) else None
            if name in PLAIN_DATA and node.attr not in PLAIN_DATA[name]:
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not problems, "\n".join(problems)


def test_importing_the_interpreter_loads_no_runtime_logic() -> None:
    """Checked by running it too, so an import hidden behind another module shows."""
    code = ("import sys, cme_policy.interpret.interpreter; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('cme_policy.'))))")
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.split())
    runtime = {m for m in loaded if m.startswith("cme_policy.runtime.")}
    assert runtime <= set(ALLOWED_RUNTIME), runtime - set(ALLOWED_RUNTIME)
    assert not {m for m in loaded if m.startswith(FORBIDDEN_PREFIXES[1:])}


def test_no_production_module_it_is_compared_with_imports_the_interpreter() -> None:
    """The Python backend, the generated code's runtime and `run`'s screening (prescreen,
    workers) must not use the interpreter: it is what they are tested against."""
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in REFERENCE_USERS:
            continue
        for module, _, _ in _imports(path):
            if module == "cme_policy.interpret" or module.startswith("cme_policy.interpret."):
                problems.append(f"{path.relative_to(ROOT)}: {module}")
    assert not problems, "\n".join(problems)


def test_importing_the_backends_and_the_run_loads_no_interpreter() -> None:
    code = ("import sys, cme_policy.backends.python, cme_policy.screening.job, "
            "cme_policy.screening.workers, cme_policy.screening.prescreen, "
            "cme_policy.runtime.engine, cme_policy.runtime.measures; "
            "print(' '.join(m for m in sys.modules if m.startswith('cme_policy.interpret')))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    assert loaded == []
