"""``cds-service evaluate``: the CDS Hooks response to a hook request file, without a server
(nothing is recorded), and with ``--explain`` what the service saw."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cds_service.cli.common import Commands, checked_settings, fail, print_json, reads
from cds_service.errors import ClientError, operation_outcome

if TYPE_CHECKING:
    from cds_service.pipeline import Dependencies
    from cds_service.services import Service

SETTINGS = (
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


def add(commands: Commands) -> None:
    evaluate = commands.add(
        "evaluate",
        "print the CDS Hooks response for a hook request file, without a server (nothing is "
        "recorded)",
        reads(*SETTINGS),
        run,
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


def run(args: argparse.Namespace) -> int:
    """Print the response to a hook request file; nothing recorded, no server started."""
    path: Path = args.request
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return fail(f"cannot read {path}: {exc.strerror or exc}", 2)
    except UnicodeDecodeError:
        return fail(f"{path} is not JSON: it is not UTF-8 text", 2)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        return fail(f"{path} is not JSON ({where}): give a CDS Hooks request file", 2)
    checked_settings()
    from cds_service.web.app import create_app
    from cds_service.web.state import app_state

    # evaluate records nothing and serves nothing: no store, no server warnings
    config = {"CDS_DATABASE_URL": "sqlite://", "SERVER_WARNINGS": False}
    now = args.now
    app = create_app(config) if now is None else create_app(config, clock=lambda: now)
    state = app_state(app)
    deps = dataclasses.replace(state.dependencies, store=None)
    services = state.services
    hook = body.get("hook") if isinstance(body, dict) else None
    service = services.get(hook) if isinstance(hook, str) else None
    if service is None:
        return fail(f"{path}: 'hook' must be one of {sorted(services)}", 2)
    return _answer(service, body, deps, args.explain)


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
        print_json(answer)
        return status
    from cds_service.explain import as_text, explanation

    explained = explanation(service, trace, result, deps.knowledge)
    if explain == "json":
        print_json({"response": answer, "explain": explained})
    else:
        print_json(answer)
        print(as_text(explained), end="", file=sys.stderr)
    return status
