"""The ``cds-service`` command: ``serve``, ``evaluate``, ``db``, ``report``, ``terminology``,
``knowledge``, ``integration-sheet``, ``settings`` (one module per group of commands).

Every setting is read from the environment and checked first: a bad one, an unreachable store
or a port in use is one line on stderr (``cds-service: CDS_WORKERS: ...``) and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cds_service import __version__
from cds_service.cli import documents, evaluate, serve, store, terminology
from cds_service.cli.common import Commands, missing_action
from cds_service.errors import StartupError

DESCRIPTION = """\
CDS Hooks 2.0 service: ACR Appropriateness Criteria for cervical-spine imaging
(suspected cervicogenic headache). Settings are CDS_* environment variables
(docs/settings.md, or `cds-service settings`); each command below lists the ones it reads."""

STARTUP_ERRORS = (StartupError,)  # KnowledgeError and ConfigurationError among them
"""Reported in one line (see :mod:`cds_service.errors`)."""


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per job, each listing the settings it reads."""
    top = argparse.ArgumentParser(
        prog="cds-service",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"cds-service {__version__}")
    commands = Commands(top.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    for group in (serve, evaluate, store, terminology, documents):
        group.add(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    missing = missing_action(args)
    if missing is not None:
        return missing
    try:
        status: int = args.run(args)
    except STARTUP_ERRORS as exc:
        print(f"cds-service: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return status
