"""The golden corpus of diagnostics (tests/diagnostics/) and the generator of
docs/diagnostics.md from it: a test tool, kept out of the package so that the compiler never
imports its own tests.

The corpus's layout (base/, bad/, warn/, expected.txt and the marker files) is in
`tests/diagnostics/README.md`.

`python tests/corpus_support.py` prints the Markdown.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

from cme_policy.diagnostic_codes import CODES, ERROR, FAMILIES, WARNING, Code
from cme_policy.diagnostics import Diagnostic, Severity, render_text
from cme_policy.driver import CheckResult, check_policy
from cme_policy.source.yaml_nodes import MAX_FILE_BYTES

CORPUS = Path(__file__).resolve().parent / "diagnostics"
EXPECTED, REMOVE, OVERSIZE = "expected.txt", "remove.txt", "oversize.txt"
MARKERS = {EXPECTED, REMOVE, OVERSIZE}


# -- the corpus ----------------------------------------------------------------------------
def case_dirs(corpus: Path = CORPUS) -> list[Path]:
    """Every case, `bad/` then `warn/`, each sorted by name."""
    return [p for group in ("bad", "warn") for p in sorted((corpus / group).iterdir())
            if p.is_dir()]


def case_severity(case: Path) -> Severity:
    return WARNING if case.parent.name == "warn" else ERROR


def _listed(case: Path, marker: str) -> list[str]:
    path = case / marker
    return path.read_text("utf-8").split() if path.is_file() else []


def materialise(case: Path, dest: Path, corpus: Path = CORPUS) -> None:
    """Write base + the case's overlay into `dest`, then apply the case's markers."""
    shutil.copytree(corpus / "base", dest, dirs_exist_ok=True)
    for source in sorted(case.rglob("*")):
        relative = source.relative_to(case)
        if source.is_file() and str(relative) not in MARKERS:
            (dest / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / relative)
    for name in _listed(case, REMOVE):
        (dest / name).unlink()
    for name in _listed(case, OVERSIZE):
        _pad(dest / name)


def _pad(path: Path) -> None:
    line = b"# padding to push the file over the size limit\n"
    data = path.read_bytes()
    path.write_bytes(data + line * (1 + (MAX_FILE_BYTES - len(data)) // len(line)))


def run_case(case: Path, workdir: Path, corpus: Path = CORPUS) -> CheckResult:
    """Check a materialised case from inside its directory, so paths print relative."""
    materialise(case, workdir, corpus)
    with contextlib.chdir(workdir):
        return check_policy(Path("."))


def summary_line(d: Diagnostic) -> str:
    """The golden form of a diagnostic: `path:line:col: severity[CODE]`."""
    where = f"{d.span.path}:{d.span.line}:{d.span.column}: " if d.span else ""
    return f"{where}{d.severity.value}[{d.code}]"


def summary_lines(result: CheckResult, severity: Severity) -> list[str]:
    return [summary_line(d) for d in result.diagnostics if d.severity is severity]


def expected_lines(case: Path) -> list[str]:
    return (case / EXPECTED).read_text("utf-8").splitlines()


# -- the Markdown page ---------------------------------------------------------------------
def example_case(code: Code, corpus: Path = CORPUS) -> Path | None:
    """A case whose expected diagnostics include the code, preferring one named after it."""
    cases = [case for case in case_dirs(corpus)
             if any(line.endswith(f"[{code.code}]") for line in expected_lines(case))]
    named = [case for case in cases if code.name in case.name]
    return next(iter(named or cases), None)


def render_markdown(corpus: Path = CORPUS) -> str:
    out = [_INTRO]
    for prefix, title in FAMILIES.items():
        out.append(f"## {title}\n")
        for code in sorted(c for c in CODES if c.startswith(prefix)):
            out.append(_section(CODES[code], corpus))
    return "\n".join(out)


def _section(code: Code, corpus: Path) -> str:
    head = (f"### {code.code} `{code.name}`\n\n"
            f"*{code.severity.value}* — {code.purpose}\n")
    case = example_case(code, corpus)
    if case is None:
        return head + "\nNo example case yet.\n"
    with tempfile.TemporaryDirectory() as tmp:
        result = run_case(case, Path(tmp), corpus)
        shown = next(d for d in result.diagnostics if d.code == code.code)
        snippet = _markers(case) or _snippet(Path(tmp), shown)
    rel = case.relative_to(corpus).as_posix()
    return (head + f"\nExample, from the case `tests/diagnostics/{rel}`:\n\n"
            + snippet + f"```text\n{render_text(shown, result.sources)}\n```\n")


def _markers(case: Path) -> str:
    """What a case does that no snippet can show: files it deletes or pads."""
    notes = [f"The case deletes `{name}` from the base policy (`{REMOVE}`).\n\n"
             for name in _listed(case, REMOVE)]
    notes += [f"The case pads `{name}` with comment lines until it is over "
              f"{MAX_FILE_BYTES:,} bytes (`{OVERSIZE}`).\n\n" for name in _listed(case, OVERSIZE)]
    return "".join(notes)


def _snippet(root: Path, d: Diagnostic, before: int = 3, after: int = 1) -> str:
    assert d.span is not None, "a diagnostic without a place needs a marker that explains it"
    lines = (root / d.span.path).read_bytes().decode("utf-8", "backslashreplace").splitlines()
    first, last = max(1, d.span.line - before), min(len(lines), d.span.line + after)
    body = "\n".join(_clip(lines[n - 1]) for n in range(first, last + 1))
    lang = "markdown" if d.span.path.endswith(".md") else "yaml"
    return f"`{d.span.path}`, lines {first}–{last}:\n\n```{lang}\n{body}\n```\n\n"


def _clip(line: str, width: int = 100) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


_INTRO = """\
# Diagnostics

<!-- Generated by `python tests/corpus_support.py`; do not edit by hand.
     Refresh with `CME_UPDATE_GOLDEN=1 pytest tests/test_diagnostic_codes.py`. -->

Every problem `cme-policy check` reports has a stable code, a source position and a hint:

```text
path:line:col: error[CODE]: message
  12 | the source line
     |     ^^^^^^
  = hint: how to fix it
```

`--format json` prints the same as JSON (`code`, `severity`, `message`, `path`, `line`,
`column`, `end_line`, `end_column`, `hint`), and `--format github` as GitHub Actions
annotations. Errors make `check` exit 1; warnings do not.

Codes are grouped by family: **L** load (bytes and YAML), **S** shape (keys and scalar
types), **X** expression syntax, **T** types and units, **N** names, **C** clauses of the
policy text, **P** parameters, **V** vocabulary, **G** procedure graphs. Each example below
is the real output of a case of the golden corpus in `tests/diagnostics/`: a minimal valid
policy (`base/`) with one fault added.
"""


def main() -> None:
    sys.stdout.write(render_markdown())


if __name__ == "__main__":
    main()
