"""The ``cds-service`` command: ``serve``, ``evaluate``, ``db``, ``report``, ``terminology``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cds_service.errors import CdsError, operation_outcome
from cds_service.knowledge import KnowledgeError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cds-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn worker processes (default CDS_WORKERS, 2)",
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

    evaluate = commands.add_parser(
        "evaluate", help="print the CDS Hooks response for a hook request file, without a server"
    )
    evaluate.add_argument("request", type=Path, help="hook request JSON file")
    evaluate.add_argument(
        "--now",
        type=datetime.fromisoformat,
        default=None,
        help="evaluation time, ISO 8601 with zone (default: now)",
    )

    database = commands.add_parser("db", help="manage the store (CDS_DATABASE_URL)")
    database.add_argument("action", choices=["upgrade"], help="create any missing tables")
    commands.add_parser(
        "report", help="print calls, cards, acceptances and overrides per service and rating"
    )
    terminology = commands.add_parser(
        "terminology", help="SNOMED CT expansions from CDS_TERMINOLOGY_URL"
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

    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.host, args.port, args.workers, args.threads, args.dev)
        if args.command == "db":
            return _db_upgrade()
        if args.command == "report":
            return _report()
        if args.command == "terminology":
            return _terminology_refresh(args.output)
        return _evaluate(args.request, args.now)
    except KnowledgeError as exc:
        print(f"cds-service: {exc}", file=sys.stderr)
        return 2


def _serve(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> int:
    from cds_service.settings import load_settings

    settings = load_settings()
    if dev:
        from cds_service import create_app

        create_app().run(host=host, port=port, debug=True, use_reloader=True, threaded=True)
        return 0
    from cds_service.server import serve

    serve(
        host,
        port,
        workers or settings.workers,
        threads or settings.threads,
        settings.worker_timeout,
    )
    return 0


def _db_upgrade() -> int:
    from cds_service.settings import load_settings
    from cds_service.store import Store

    settings = load_settings()
    Store(settings.database_url).upgrade()
    print(f"cds-service: the store at {_safe_url(settings.database_url)} is up to date")
    return 0


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _report() -> int:
    from cds_service.settings import load_settings
    from cds_service.store import Store

    store = Store(load_settings().database_url)
    store.upgrade()
    print(format_report(store.report()))
    return 0


def _terminology_refresh(output: Path | None) -> int:
    """Expand every root now and write the cache file; one line either way."""
    from cds_service.knowledge import load_knowledge
    from cds_service.settings import load_settings
    from cds_service.terminology import (
        Expansions,
        KnowledgeUpdater,
        TerminologyClient,
        TerminologyError,
        safe_url,
        write_cache,
    )

    settings = load_settings()
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
        expansions = updater.refresh_now()
        fetched = updater.fetched or datetime.now(UTC)
        write_cache(target, Expansions(safe_url(client.base_url), fetched, expansions))
    except TerminologyError as exc:
        print(f"cds-service: terminology refresh failed: {exc.reason}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cds-service: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{root}: {len(codes)} codes" for root, codes in expansions.items())
    print(f"cds-service: wrote {len(expansions)} SNOMED CT roots to {target} ({counts})")
    return 0


def format_report(lines: list[dict[str, object]]) -> str:
    """The report as a plain-text table, with the override reasons under each line."""
    if not lines:
        return "No hook calls recorded yet."
    header = (
        f"{'service':<14} {'rating':<34} {'calls':>6} {'orders':>7} {'cards':>6} "
        f"{'accepted':>9} {'overridden':>11}"
    )
    out = [header, "-" * len(header)]
    for line in lines:
        out.append(
            f"{line['service']!s:<14} {line['rating']!s:<34} {line['calls']!s:>6} "
            f"{line['orders']!s:>7} {line['cards']!s:>6} {line['accepted']!s:>9} "
            f"{line['overridden']!s:>11}"
        )
        reasons = line["reasons"]
        assert isinstance(reasons, dict)
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            out.append(f"{'':<16}override reason: {reason} ({count})")
    return "\n".join(out)


def _evaluate(path: Path, now: datetime | None) -> int:
    from cds_service import create_app
    from cds_service.hooks import handle

    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cds-service: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    config = {"CDS_DATABASE_URL": "sqlite://"}  # evaluate records nothing
    app = create_app(config) if now is None else create_app(config, clock=lambda: now)
    engine = dataclasses.replace(app.extensions["cds_engine"], store=None)  # nothing recorded
    services = app.extensions["cds_services"]
    hook = body.get("hook") if isinstance(body, dict) else None
    service = services.get(hook) if isinstance(hook, str) else None
    if service is None:
        print(f"cds-service: {path}: 'hook' must be one of {sorted(services)}", file=sys.stderr)
        return 2
    try:
        response = handle(service, body, engine)
    except CdsError as exc:
        json.dump(
            operation_outcome(exc.message, code=exc.code, expression=exc.expression),
            sys.stdout,
            indent=2,
            ensure_ascii=False,
        )
        print()
        return 1
    json.dump(response.body, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
