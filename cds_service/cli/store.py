"""``cds-service db upgrade`` and ``cds-service report``: the store and what it recorded."""

from __future__ import annotations

import argparse

from cds_service.cli.common import STORE, Commands, add_action, checked_settings, reads


def add(commands: Commands) -> None:
    database = commands.add(
        "db",
        "manage the store: 'db upgrade' creates any missing tables",
        reads("CDS_DATABASE_URL", "CDS_LOG_LEVEL") + "\n" + STORE,
        upgrade,
    )
    add_action(database, "upgrade", "create any missing tables")
    report_command = commands.add(
        "report",
        "print calls, cards, acceptances and overrides per service and rating, the override "
        "reasons, the weeks, and the silent calls with the cards they would have shown",
        reads("CDS_DATABASE_URL") + " (the store must exist)\n" + STORE,
        report,
    )
    report_command.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="default table"
    )
    report_command.add_argument(
        "--by-clinician",
        action="store_true",
        help="also count per ordering clinician (context.userId as the EHR sent it): staff "
        "data, shown only when asked",
    )


def upgrade(args: argparse.Namespace) -> int:
    from cds_service.web.startup import safe_url

    settings = checked_settings(store=True)  # creates the tables
    print(f"cds-service: the store at {safe_url(settings.database_url)} is up to date")
    return 0


def report(args: argparse.Namespace) -> int:
    from cds_service.ops.report_formats import as_csv, as_json, as_table
    from cds_service.ops.report_views import full_report
    from cds_service.ops.store import Store

    store = Store(checked_settings(store=True, must_exist=True).database_url)
    sections = full_report(store.database, by_clinician=args.by_clinician)
    writer = {"csv": as_csv, "json": as_json}.get(args.format, as_table)
    print(writer(sections), end="" if args.format == "csv" else "\n")
    return 0
