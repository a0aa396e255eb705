"""The review commands of the command line: `cme-policy diff` and `cme-policy explain`."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cme_policy.backends.docs import ChangesSince
    from cme_policy.ir.model import Policy

POLICY_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.argument("directory", required=False)
@click.option("--git", "git", is_flag=True,
              help="OLD and NEW are git revisions of DIRECTORY (default: policy).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--fail-on", "fail_on", type=click.Choice(["weakening", "never"]), default="never",
              show_default=True, help="`weakening`: exit 1 when any change weakens a duty.")
@click.option("--no-scenarios", is_flag=True, help="Do not run the scenarios of both versions.")
def diff_command(old: str | None, new: str | None, directory: str | None, git: bool, fmt: str,
                 fail_on: str, no_scenarios: bool) -> None:
    """Semantic diff of two policy versions for the annual review: OLD NEW are two policy
    directories, or with --git two revisions of DIRECTORY. Change kinds: docs/review.md."""
    from cme_policy.review.diff import (
        DiffError,
        checkout,
        diff_policies,
        load_side,
        render_json,
        render_text,
    )

    if old is None or new is None:
        raise click.UsageError("give OLD and NEW (two directories, or --git REV1 REV2 [DIR])")
    try:
        with tempfile.TemporaryDirectory(prefix="cme-diff-") as tmp:
            if git:
                policy_dir = Path(directory or "policy")
                if not policy_dir.is_dir():
                    raise click.UsageError(f"{policy_dir} is not a directory")
                roots = (checkout(old, policy_dir, Path(tmp) / "old"),
                         checkout(new, policy_dir, Path(tmp) / "new"))
                labels = (f"{old}:{policy_dir.as_posix()}", f"{new}:{policy_dir.as_posix()}")
            else:
                if directory is not None:
                    raise click.UsageError("a third argument is only allowed with --git")
                roots = (_existing_dir(old), _existing_dir(new))
                labels = (old, new)
            report = diff_policies(load_side(roots[0], labels[0]),
                                   load_side(roots[1], labels[1]), not no_scenarios)
    except DiffError as exc:
        click.echo(f"cme-policy diff: {exc}", err=True)
        sys.exit(1)
    click.echo(render_json(report) if fmt == "json" else render_text(report))
    sys.exit(1 if fail_on == "weakening" and report.weakening else 0)


def _existing_dir(name: str) -> Path:
    path = Path(name)
    if not path.is_dir():
        raise click.UsageError(f"{name} is not a policy directory")
    return path


def changes_since(old_dir: Path, policy: Policy, directory: Path) -> ChangesSince:
    """For `build --since OLD`: the diff of OLD against the policy being built, and the worked
    examples whose outcome for the pupil changes (in words, for the governors' pack)."""
    from dataclasses import replace

    from cme_policy.review.diff import (
        DiffError,
        Side,
        diff_policies,
        handbook_changes,
        load_side,
    )
    from cme_policy.review.outcomes import pupil_changes

    try:
        old = load_side(old_dir, old_dir.as_posix().rstrip("/") + "/")
    except DiffError as exc:
        raise click.ClickException(str(exc)) from exc
    new = Side(policy, directory, directory.as_posix().rstrip("/") + "/")
    changes = handbook_changes(diff_policies(old, new, run_scenarios=False))
    return replace(changes, pupils=pupil_changes(old.policy, old.root, policy, directory))


@click.command("explain")
@click.argument("args", nargs=-1, required=True, metavar="[DIR] ID")
def explain_command(args: tuple[str, ...]) -> None:
    """A rule, procedure, state (`procedure.state`, or the bare state id if unique), parameter
    (`params.group.name`), role, clause, measure or fact in plain English: its clause text,
    sources, what depends on it and the scenarios that test it."""
    from cme_policy.driver import check_policy
    from cme_policy.review.explain import UnknownId, explain

    if len(args) > 2:
        raise click.UsageError("give at most a policy directory and one ID")
    directory, wanted = (Path(args[0]), args[1]) if len(args) == 2 else (Path("policy"), args[0])
    if not directory.is_dir():
        raise click.UsageError(f"{directory} is not a policy directory")
    result = check_policy(directory)
    if not result.ok or result.policy is None:
        click.echo(f"{directory}: does not check clean; run `cme-policy check {directory}`",
                   err=True)
        sys.exit(1)
    try:
        click.echo(explain(result.policy, directory, wanted))
    except UnknownId as exc:
        click.echo(f"cme-policy explain: {exc}", err=True)
        sys.exit(1)
