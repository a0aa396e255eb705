"""The `cme-policy` command line: thin wrappers over the driver; exit codes per design.md."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cme_policy.diagnostics import render_github, render_json, render_text

if TYPE_CHECKING:
    from cme_policy.driver import CheckResult

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
POLICY_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Compile a school's Children Missing Education policy: check it, build checkers and a
    handbook from it, and run them over the school's data."""


def check_policy(directory: Path) -> CheckResult:
    """The compiler's front end, imported only when a command needs it: `run` first starts
    reading its (large) marks file, and the front end's imports take half a second."""
    from cme_policy.driver import check_policy as check
    return check(directory)


def _report(result: CheckResult, fmt: str, label: str) -> None:
    if fmt == "json":
        click.echo(render_json(result.diagnostics))
        return
    for diagnostic in result.diagnostics:
        click.echo(render_github(diagnostic) if fmt == "github"
                   else render_text(diagnostic, result.sources))
    if fmt == "text":
        summary = f"{label}: {len(result.errors)} error(s), {len(result.warnings)} warning(s)"
        if result.coverage is not None:
            summary += f"; clauses traced: {result.coverage.percent:.0f}%"
        click.echo(summary)


@cli.command()
@click.argument("directory", required=False, default="policy", type=POLICY_DIR)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="How to print diagnostics.")
def check(directory: Path, fmt: str) -> None:
    """Load and analyse a policy; print its diagnostics. Writes nothing."""
    result = check_policy(directory)
    _report(result, fmt, str(directory))
    sys.exit(EXIT_OK if not result.errors else EXIT_ERRORS)


@cli.command()
@click.argument("directory", required=False, default="policy", type=POLICY_DIR)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("generated"),
              show_default=True, help="Directory whose python/ and MANIFEST.json are generated.")
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1 with a diff when OUT is stale.")
@click.option("--since", type=POLICY_DIR, default=None,
              help="The previous version of the policy: the handbook lists the changes.")
def build(directory: Path, out: Path, check_only: bool, since: Path | None) -> None:
    """Check the policy, then generate every backend's output into OUT, all or nothing."""
    from cme_policy.build import run_build

    result = check_policy(directory)
    if not result.ok or result.policy is None:
        _report(result, "text", str(directory))
        sys.exit(EXIT_ERRORS)
    changes = None
    if since is not None:
        from cme_policy.review.commands import changes_since
        changes = changes_since(since, result.policy, directory)
    sys.exit(run_build(result.policy, directory, out, check_only, click.echo, changes))


@cli.command("test")
@click.argument("directory", required=False, default="policy", type=POLICY_DIR)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="How to print the results and the coverage.")
def scenario_tests(directory: Path, fmt: str) -> None:
    """Check the policy, then run its scenarios and report rule, state, transition and
    clause coverage. Exit 0 when every scenario passes, 1 otherwise."""
    from cme_policy.scenarios import render_json as scenarios_json
    from cme_policy.scenarios import render_text as scenarios_text
    from cme_policy.scenarios import run_scenarios

    result = check_policy(directory)
    if not result.ok or result.policy is None:
        _report(result, fmt, str(directory))
        sys.exit(EXIT_ERRORS)
    if fmt == "text":
        click.echo(f"{directory}: {len(result.warnings)} warning(s) "
                   "(`cme-policy check` lists them)")
    report = run_scenarios(result.policy, directory)
    click.echo(scenarios_json(report) if fmt == "json" else scenarios_text(report))
    sys.exit(EXIT_OK if report.ok else EXIT_ERRORS)


@cli.command("run")
@click.argument("directory", required=False, default="policy", type=POLICY_DIR)
@click.option("--pupils", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="Pupils CSV: upn,date_of_birth,admission_date,…")
@click.option("--marks", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Attendance marks CSV: upn,date,session,code (required unless --ctf)")
@click.option("--ctf", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              multiple=True, help="Common Transfer File (XML) with session marks: instead of "
              "--marks, or beside it to add pupils' marks (repeatable)")
@click.option("--columns", multiple=True, metavar="MAP",
              help="Your exports' headings: [pupils.|marks.|events.]COLUMN=HEADING,… or a "
                   "YAML/CSV mapping file (repeatable; docs/data-formats.md)")
@click.option("--events", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Case log CSV: upn,date,event,role")
@click.option("--calendar", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="School calendar YAML")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="The date of the check (YYYY-MM-DD)")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the action list to this file (atomically) instead of stdout.")
@click.option("--skip-invalid", is_flag=True,
              help="Report invalid rows and go on without them (default: stop, write nothing).")
@click.option("--jobs", type=click.IntRange(min=0), default=0,
              help="Worker processes for screening (default 0: one per core when there are "
                   "many pupils). The output is the same for any number.")
def run_command(directory: Path, pupils: Path, marks: Path | None, ctf: tuple[Path, ...],
                columns: tuple[str, ...], events: Path | None, calendar: Path,
                as_of: dt.datetime, fmt: str, output: Path | None, skip_invalid: bool,
                jobs: int) -> None:
    """Screen a school's exports and audit its case log: who needs which CME action, from
    whom, by when, and what was missed."""
    from cme_policy.runtime.inputs.columns import ColumnMapError, parse_columns
    from cme_policy.runtime.inputs.marks_columnar import RUN_DEPTH, ParseAhead
    if marks is None and not ctf:
        raise click.UsageError("give the attendance marks: --marks FILE, --ctf FILE, or both")
    try:
        column_map = parse_columns(columns)
    except ColumnMapError as exc:
        raise click.BadParameter(str(exc), param_hint="'--columns'") from None
    parsing = (ParseAhead(marks, RUN_DEPTH, columns=column_map.for_kind("marks"))
               if marks is not None else contextlib.nullcontext())
    with parsing as ahead:  # on the other cores while the policy is checked
        from cme_policy.build import source_label
        from cme_policy.screening.job import RunOptions, run_job
        result = check_policy(directory)
        if not result.ok or result.policy is None:
            _report(result, "text", str(directory))
            sys.exit(EXIT_ERRORS)
        options = RunOptions(pupils, marks, calendar, as_of.date(), events, fmt, output,
                             skip_invalid, progress=sys.stderr.isatty(), jobs=jobs,
                             ctf=tuple(ctf), columns=column_map)
        echo = lambda text: click.echo(text, err=True)  # noqa: E731 - diagnostics to stderr
        code = run_job(result.policy, source_label(directory), options, echo, ahead)
    sys.exit(code)


@cli.command()
@click.option("--pupils", type=click.IntRange(min=1), required=True,
              help="How many synthetic pupils.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--policy", "policy_dir", type=POLICY_DIR, default="policy", show_default=True)
def sample(pupils: int, out: Path, seed: int, policy_dir: Path) -> None:
    """Write a synthetic school (pupils, calendar, marks, case log) to try `run` on."""
    from cme_policy.sample import sample_main
    sys.exit(sample_main(pupils, out, seed=seed, policy_dir=policy_dir, echo=click.echo))


@cli.command()
@click.option("--la", "la", required=True,
              help="The local authority's name, e.g. 'Example County Council'.")
@click.option("--base", "base", type=POLICY_DIR, default="policy", show_default=True,
              help="The base policy directory the overlay extends.")
@click.option("--school", default="TO BE COMPLETED", show_default=True, help="The school's name.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(la: str, base: Path, school: str, directory: Path) -> None:
    """Scaffold DIRECTORY: a school's overlay that `extends:` the base policy for another LA."""
    from cme_policy.scaffold import scaffold
    result = check_policy(base)
    if not result.ok or result.policy is None:
        _report(result, "text", str(base))
        sys.exit(EXIT_ERRORS)
    sys.exit(scaffold(base, result.policy, la, directory, school, click.echo))


def _add_review_commands() -> None:
    from cme_policy.review.commands import diff_command, explain_command
    cli.add_command(diff_command)
    cli.add_command(explain_command)


_add_review_commands()


def main() -> None:
    """Entry point: usage errors exit 2, internal errors exit 3 — never a bare traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERRORS)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERRORS)
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(EXIT_ERRORS)
    except OSError as exc:  # the machine, not a bug: a full disk, a read-only folder …
        where = f"{exc.filename}: " if exc.filename else ""
        with contextlib.suppress(OSError):
            click.echo(f"cme-policy: error: {where}{exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERRORS)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        click.echo(f"cme-policy: internal error: {type(exc).__name__}: {exc}\n"
                   "This is a bug in cme-policy, not in your policy; please report it with the "
                   "command you ran.", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
