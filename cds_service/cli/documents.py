"""The documents the command prints: the review sheet of the knowledge file (``knowledge
explain``), the integration sheet (``integration-sheet``) and the settings table
(``settings``)."""

from __future__ import annotations

import argparse

from cds_service.cli.common import Commands, add_action, checked_settings, reads


def add(commands: Commands) -> None:
    review = commands.add(
        "knowledge",
        "'knowledge explain' prints the knowledge file as a review sheet a clinician can sign",
        reads("CDS_KNOWLEDGE_FILE"),
        review_sheet,
    )
    add_action(review, "explain", "print the review sheet")
    review.add_argument("--format", choices=["md", "html"], default="md", help="default md")
    sheet = commands.add(
        "integration-sheet",
        "print, as Markdown, what an EHR's analysts configure: hooks, prefetch queries and "
        "scopes, JWT claims, feedback URLs, override reasons, order coding, card topics",
        reads("CDS_KNOWLEDGE_FILE"),
        integration_sheet,
    )
    sheet.add_argument(
        "--base-url",
        default=None,
        help="the service's public URL (as CDS_PUBLIC_BASE_URL); default a placeholder",
    )
    commands.add(
        "settings",
        "print, as Markdown, every CDS_* setting: its default, its values, its meaning "
        "(docs/settings.md)",
        "settings read: none (the table shows the defaults, not this environment's values)",
        settings_table,
    )


def review_sheet(args: argparse.Namespace) -> int:
    """Print the review sheet of the knowledge file in use."""
    from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE, load_knowledge
    from cds_service.clinical.review import explain, to_html

    path = checked_settings().knowledge_file or PACKAGED_KNOWLEDGE
    sheet = explain(load_knowledge(path), path)
    print(to_html(sheet) if args.format == "html" else sheet, end="")
    return 0


def integration_sheet(args: argparse.Namespace) -> int:
    """Print the integration sheet of the services and the knowledge file in use."""
    from cds_service.clinical.knowledge_loader import load_knowledge
    from cds_service.integration_sheet import BASE_PLACEHOLDER, integration_sheet
    from cds_service.services import build_services

    knowledge = load_knowledge(checked_settings().knowledge_file)
    services = list(build_services(knowledge).values())
    print(integration_sheet(services, knowledge, args.base_url or BASE_PLACEHOLDER), end="")
    return 0


def settings_table(args: argparse.Namespace) -> int:
    """Print the table of every setting (``docs/settings.md``)."""
    from cds_service.settings import GROUPS
    from cds_service.settings.reference import settings_table

    print(settings_table(GROUPS), end="")
    return 0
