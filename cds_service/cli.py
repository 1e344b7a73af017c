"""The ``cds-service`` command: ``serve``, ``evaluate``, ``db``, ``report``, ``terminology``,
``knowledge``, ``integration-sheet``.

Every setting is read from the environment and checked first: a bad one, an unreachable store
or a port in use is one line on stderr (``cds-service: CDS_WORKERS: ...``) and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cds_service import __version__
from cds_service.errors import ClientError, StartupError, TerminologyError, operation_outcome

if TYPE_CHECKING:
    from cds_service.pipeline import Dependencies
    from cds_service.services import Service
    from cds_service.settings import Settings

DESCRIPTION = """\
CDS Hooks 2.0 service: ACR Appropriateness Criteria for cervical-spine imaging
(suspected cervicogenic headache). Settings are CDS_* environment variables (see the
README's Configuration table); each command below lists the ones it reads."""

STORE = (
    "default store: sqlite:///$XDG_DATA_HOME/cds-service/store.sqlite3 "
    "(else ~/.local/share/cds-service/store.sqlite3), whatever the working directory"
)


def _reads(*names: str) -> str:
    return "settings read: " + ", ".join(names)


def _all_settings() -> str:
    from cds_service.settings import Settings

    names = [f"CDS_{name.upper()}" for name in Settings.model_fields]
    return textwrap.fill(_reads(*names), 78, subsequent_indent="  ")


_EVALUATE_SETTINGS = (
    "CDS_KNOWLEDGE_FILE",
    "CDS_OUT_OF_SCOPE_CARDS",
    "CDS_MAY_BE_APPROPRIATE_RATING",
    "CDS_EHR_PROFILE",
    "CDS_MRI_ORDER_CODING",
    "CDS_TIMEZONE",
    "CDS_FHIR_ALLOWLIST",
    "CDS_FHIR_ANONYMOUS",
    "CDS_FHIR_* timeouts and limits",
    "CDS_TERMINOLOGY_URL",
    "CDS_TERMINOLOGY_CACHE",
    "CDS_LOG_LEVEL",
)


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per job, each listing the settings it reads."""
    top = argparse.ArgumentParser(
        prog="cds-service",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"cds-service {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve_command(_adder(commands))
    _evaluate_command(_adder(commands))
    _store_commands(_adder(commands))
    _knowledge_commands(_adder(commands))
    return top


Adder = Callable[[str, str, str], argparse.ArgumentParser]


def _adder(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> Adder:
    def command(name: str, summary: str, epilog: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    return command


def _serve_command(command: Adder) -> None:
    serve = command(
        "serve",
        "run the HTTP service under granian (--dev: Flask's reloader)",
        _all_settings() + "\n" + STORE,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="granian worker processes (default CDS_WORKERS, 2)",
    )
    serve.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per worker (default CDS_THREADS, 2)",
    )
    serve.add_argument(
        "--dev", action="store_true", help="Flask's development server with the reloader"
    )


def _evaluate_command(command: Adder) -> None:
    evaluate = command(
        "evaluate",
        "print the CDS Hooks response for a hook request file, without a server (nothing is "
        "recorded)",
        textwrap.fill(_reads(*_EVALUATE_SETTINGS), 78, subsequent_indent="  "),
    )
    evaluate.add_argument("request", type=Path, help="hook request JSON file")
    evaluate.add_argument(
        "--now",
        type=aware_datetime,
        default=None,
        help="evaluation time, ISO 8601 with a zone: 2026-11-23T12:00:00+00:00 or ...Z "
        "(default: now)",
    )
    evaluate.add_argument(
        "--explain",
        nargs="?",
        const="text",
        choices=["text", "json"],
        default=None,
        help="also say what the service saw: each prefetch key (filled, empty, null, missing, "
        "fetched, failed with its HTTP status), resources read, kept and skipped, each order's "
        "indication, exclusion groups and card. text (the default): on stderr, the response "
        "alone on stdout; json: one object {response, explain} on stdout",
    )


def _store_commands(command: Adder) -> None:
    database = command(
        "db",
        "manage the store: 'db upgrade' creates any missing tables",
        _reads("CDS_DATABASE_URL", "CDS_LOG_LEVEL") + "\n" + STORE,
    )
    database.add_argument("action", choices=["upgrade"], help="create any missing tables")
    _report_command(command)


def _report_command(command: Adder) -> None:
    report = command(
        "report",
        "print calls, cards, acceptances and overrides per service and rating, the override "
        "reasons, the weeks, and the silent calls with the cards they would have shown",
        _reads("CDS_DATABASE_URL") + " (the store must exist)\n" + STORE,
    )
    report.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="default table"
    )
    report.add_argument(
        "--by-clinician",
        action="store_true",
        help="also count per ordering clinician (context.userId as the EHR sent it): staff "
        "data, shown only when asked",
    )


def _knowledge_commands(command: Adder) -> None:
    terminology = command(
        "terminology",
        "SNOMED CT expansions from CDS_TERMINOLOGY_URL: 'terminology refresh' writes the file",
        _reads(
            "CDS_TERMINOLOGY_URL",
            "CDS_TERMINOLOGY_CACHE",
            "CDS_TERMINOLOGY_TIMEOUT",
            "CDS_KNOWLEDGE_FILE",
        ),
    )
    terminology.add_argument(
        "action", choices=["refresh"], help="expand every SNOMED CT root now and write the file"
    )
    terminology.add_argument(
        "--output",
        type=Path,
        default=None,
        help="file to write (default CDS_TERMINOLOGY_CACHE)",
    )
    review = command(
        "knowledge",
        "'knowledge explain' prints the knowledge file as a review sheet a clinician can sign",
        _reads("CDS_KNOWLEDGE_FILE"),
    )
    review.add_argument("action", choices=["explain"], help="print the review sheet")
    review.add_argument("--format", choices=["md", "html"], default="md", help="default md")
    _sheet_command(command)


def _sheet_command(command: Adder) -> None:
    sheet = command(
        "integration-sheet",
        "print, as Markdown, what an EHR's analysts configure: hooks, prefetch queries and "
        "scopes, JWT claims, feedback URLs, override reasons, order coding, card topics",
        _reads("CDS_KNOWLEDGE_FILE"),
    )
    sheet.add_argument(
        "--base-url",
        default=None,
        help="the service's public URL (as CDS_PUBLIC_BASE_URL); default a placeholder",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except STARTUP_ERRORS as exc:
        print(f"cds-service: {_one_line(exc)}", file=sys.stderr)
        return 2


STARTUP_ERRORS = (StartupError,)  # KnowledgeError among them
"""Reported in one line (see :mod:`cds_service.errors`)."""


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args.host, args.port, args.workers, args.threads, args.dev)
    if args.command == "db":
        return _db_upgrade()
    if args.command == "report":
        return _report(args.format, args.by_clinician)
    if args.command == "terminology":
        return _terminology_refresh(args.output)
    if args.command == "knowledge":
        return _explain(args.format)
    if args.command == "integration-sheet":
        return _integration_sheet(args.base_url)
    return _evaluate(args.request, args.now, args.explain)


def _explain(form: str) -> int:
    """Print the review sheet of the knowledge file in use."""
    from cds_service.clinical.knowledge import PACKAGED_KNOWLEDGE, load_knowledge
    from cds_service.clinical.review import explain, to_html

    path = _checked_settings().knowledge_file or PACKAGED_KNOWLEDGE
    sheet = explain(load_knowledge(path), path)
    print(to_html(sheet) if form == "html" else sheet, end="")
    return 0


def _integration_sheet(base_url: str | None) -> int:
    """Print the integration sheet of the services and the knowledge file in use."""
    from cds_service.clinical.knowledge import load_knowledge
    from cds_service.integration_sheet import BASE_PLACEHOLDER, integration_sheet
    from cds_service.services import build_services

    knowledge = load_knowledge(_checked_settings().knowledge_file)
    services = list(build_services(knowledge).values())
    print(integration_sheet(services, knowledge, base_url or BASE_PLACEHOLDER), end="")
    return 0


def aware_datetime(value: str) -> datetime:
    """``--now``: an ISO 8601 time with its zone (a bare local time is ambiguous)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time (expected 2026-11-23T12:00:00+00:00)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} has no zone: add one, as in {value}+00:00 or {value}Z"
        )
    return parsed


def _checked_settings(store: bool = False, *, must_exist: bool = False) -> Settings:
    """The settings, every one validated; the store reached when asked (one-line errors)."""
    from cds_service.web.startup import check_store, check_trusted_issuers, load_checked_settings

    settings = load_checked_settings()
    check_trusted_issuers(settings)
    if store:
        check_store(settings.database_url, must_exist=must_exist)
    return settings


def _serve(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> int:
    from cds_service.web.startup import check_port

    if any(n is not None and n < 1 for n in (workers, threads)):
        raise StartupError("--workers and --threads must be whole numbers > 0")
    settings = _checked_settings(store=True)
    check_port(host, port)
    if dev:
        from cds_service import create_app

        create_app().run(host=host, port=port, debug=True, use_reloader=True, threaded=True)
        return 0
    from cds_service.web.server import serve

    serve(
        host,
        port,
        workers or settings.workers,
        threads or settings.threads,
        settings.worker_timeout,
    )
    return 0


def _db_upgrade() -> int:
    settings = _checked_settings(store=True)  # creates the tables
    print(f"cds-service: the store at {_safe_url(settings.database_url)} is up to date")
    return 0


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from cds_service.web.startup import safe_url

    return safe_url(url)


def _report(form: str = "table", by_clinician: bool = False) -> int:
    from cds_service.ops.report_formats import as_csv, as_json, as_table
    from cds_service.ops.report_views import full_report
    from cds_service.ops.store import Store

    store = Store(_checked_settings(store=True, must_exist=True).database_url)
    sections = full_report(store.database, by_clinician=by_clinician)
    writer = {"csv": as_csv, "json": as_json}.get(form, as_table)
    print(writer(sections), end="" if form == "csv" else "\n")
    return 0


def _terminology_refresh(output: Path | None) -> int:
    """Expand every root now and write the cache file; one line either way."""
    from cds_service.clinical.knowledge import load_knowledge
    from cds_service.ops.expansion_cache import write_cache
    from cds_service.ops.knowledge_updater import KnowledgeUpdater
    from cds_service.ops.terminology import TerminologyClient

    settings = _checked_settings()
    target = output or settings.terminology_cache
    if not settings.terminology_url:
        print("cds-service: terminology refresh: CDS_TERMINOLOGY_URL is not set", file=sys.stderr)
        return 1
    if target is None:
        print("cds-service: terminology refresh: no --output and no cache file", file=sys.stderr)
        return 1
    client = TerminologyClient(settings.terminology_url, timeout=settings.terminology_timeout)
    updater = KnowledgeUpdater(load_knowledge(settings.knowledge_file), client, cache=None)
    try:
        held = updater.refresh_now()
        write_cache(target, held)  # the codes, with their synonyms
        expansions = held.expansions
    except TerminologyError as exc:
        print(f"cds-service: terminology refresh failed: {exc.reason}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cds-service: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{root}: {len(codes)} codes" for root, codes in expansions.items())
    print(f"cds-service: wrote {len(expansions)} SNOMED CT roots to {target} ({counts})")
    return 0


def _evaluate(path: Path, now: datetime | None, explain: str | None = None) -> int:
    """Print the response to a hook request file; nothing recorded, no server started."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cds-service: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    _checked_settings()
    from cds_service.web.app import create_app

    # evaluate records nothing and serves nothing: no store, no server warnings
    config = {"CDS_DATABASE_URL": "sqlite://", "SERVER_WARNINGS": False}
    app = create_app(config) if now is None else create_app(config, clock=lambda: now)
    deps = dataclasses.replace(app.extensions["cds_dependencies"], store=None)
    services = app.extensions["cds_services"]
    hook = body.get("hook") if isinstance(body, dict) else None
    service = services.get(hook) if isinstance(hook, str) else None
    if service is None:
        print(f"cds-service: {path}: 'hook' must be one of {sorted(services)}", file=sys.stderr)
        return 2
    return _answer(service, body, deps, explain)


def _answer(service: Service, body: object, deps: Dependencies, explain: str | None) -> int:
    """Run the call and print the response (an OperationOutcome for a client error, status
    1), with the explanation when asked."""
    from cds_service.pipeline import CallTrace, run_hook

    trace, result, status = CallTrace(), None, 0
    try:
        result = run_hook(service, body, deps, trace)  # type: ignore[arg-type]
        answer = result.body
    except ClientError as exc:
        answer = operation_outcome(exc.message, code=exc.code, expression=exc.expression)
        status = 1
    if explain is None:
        _print_json(answer)
        return status
    from cds_service.explain import as_text, explanation

    explained = explanation(service, trace, result, deps.knowledge)
    if explain == "json":
        _print_json({"response": answer, "explain": explained})
    else:
        _print_json(answer)
        print(as_text(explained), end="", file=sys.stderr)
    return status


def _print_json(document: object) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    print()


if __name__ == "__main__":
    raise SystemExit(main())
