"""`mlci template-status` and `template-update`: the template this repository was generated from."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlci.cli.common import Commands


def template_status_command(args: argparse.Namespace) -> int:
    """Say how far behind its template the repository is; exit 0 either way, 2 when that cannot be told."""
    from mlci.template.upstream import behind

    standing = behind(Path.cwd(), args.ref)
    if standing.commits:
        print(
            f"the template has {standing.commits} commit(s) this repository has not taken "
            f"({standing.recorded[:12]} → {standing.latest[:12]} of {standing.template}): "
            "`nox -s template-update` brings them as a change to review"
        )
    else:
        print(f"up to date with the template ({standing.latest[:12]} of {standing.template})")
    return 0


def template_update_command(args: argparse.Namespace) -> int:
    """Bring the template's newest changes into the working tree, uncommitted; exit 1 on a conflict."""
    from mlci.template.upstream import update

    updated = update(Path.cwd(), args.ref)
    if not updated.changed:
        print(f"already up to date with the template ({updated.latest[:12]} of {updated.template}): nothing changed")
        return 0
    print(f"the template's changes {updated.recorded[:12]} → {updated.latest[:12]} of {updated.template}, to review:")
    print("\n".join(f"  {path}" for path in updated.changed))
    return 0


def add(commands: Commands) -> None:
    status_parser = commands.add_parser(
        "template-status",
        help="say how many template commits this repository has not taken (never fails on that)",
        description="Reads .cruft.json (written at generation) and counts the template's commits since.",
    )
    status_parser.add_argument("--ref", help="compare with this branch, tag or commit (default: its HEAD)")
    status_parser.set_defaults(handler=template_status_command)
    update_parser = commands.add_parser(
        "template-update",
        help="bring the template's changes into the working tree, uncommitted, for review",
        description="Renders this repository's answers at the recorded template commit and at the newest one "
        "(cruft) and merges the difference into the working tree with git. A file both sides changed keeps "
        "the conflict markers, and the command exits 1 naming it. Answers are kept in .cruft.json.",
    )
    update_parser.add_argument("--ref", help="update to this branch, tag or commit (default: its HEAD)")
    update_parser.set_defaults(handler=template_update_command)
