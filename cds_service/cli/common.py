"""What the ``cds-service`` commands share: declaring a command (with the settings it reads),
a command's one action, the checked settings, printing JSON."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cds_service.settings import Settings

Run = Callable[[argparse.Namespace], int]
"""What a command does with its parsed arguments; returns the exit status."""

STORE = (
    "default store: sqlite:///$XDG_DATA_HOME/cds-service/store.sqlite3 "
    "(else ~/.local/share/cds-service/store.sqlite3), whatever the working directory"
)


class Commands:
    """Declares the sub-commands of ``cds-service``, each with what it does when chosen."""

    def __init__(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self._commands = commands

    def add(self, name: str, summary: str, epilog: str, run: Run) -> argparse.ArgumentParser:
        """A sub-command: its one-line summary, the settings it reads (``epilog``), its job."""
        command = self._commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.set_defaults(run=run, usage=command)
        return command


def add_action(command: argparse.ArgumentParser, action: str, summary: str) -> None:
    """The command's action word (``db upgrade``); without it, the command's help (status 2)."""
    command.add_argument("action", nargs="?", choices=[action], help=summary)
    command.set_defaults(actions=(action,))


def missing_action(args: argparse.Namespace) -> int | None:
    """Status 2 and the command's help when its action word is missing; else None."""
    if getattr(args, "action", "") is not None:
        return None
    usage: argparse.ArgumentParser = args.usage
    usage.print_help(sys.stderr)
    actions = args.actions
    print(
        f"\ncds-service {args.command}: say what to do: "
        + ", ".join(f"cds-service {args.command} {action}" for action in actions),
        file=sys.stderr,
    )
    return 2


def reads(*names: str) -> str:
    """The epilog of a command: the settings it reads."""
    return textwrap.fill("settings read: " + ", ".join(names), 78, subsequent_indent="  ")


def all_settings() -> str:
    """The epilog of a command that reads every setting."""
    from cds_service.settings import GROUPS
    from cds_service.settings.reference import variable

    return reads(*(variable(name) for group in GROUPS for name in group.model_fields))


def checked_settings(store: bool = False, *, must_exist: bool = False) -> Settings:
    """The settings, every one validated; the store reached when asked (one-line errors)."""
    from cds_service.web.startup import check_store, load_checked_settings

    settings = load_checked_settings()
    if store:
        check_store(settings.database_url, must_exist=must_exist)
    return settings


def print_json(document: object) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    print()


def fail(message: str, status: int) -> int:
    """``cds-service: <message>`` on stderr; the exit status."""
    print(f"cds-service: {message}", file=sys.stderr)
    return status
