"""Start-up checks for the ``cds-service`` command: each failure is one line naming the setting.

Settings are validated, ``CDS_TRUSTED_ISSUERS`` parsed, the store reached and the port bound
before granian starts, so that a mistake reads ``cds-service: CDS_WORKERS: ...`` instead of a
traceback.
"""

from __future__ import annotations

import errno
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from cds_service.errors import ConfigurationError, StartupError

if TYPE_CHECKING:
    from cds_service.settings import Settings


# What each setting looks like, for the settings whose pydantic message does not say it.
EXPECTED = {
    "max_body_bytes": "a whole number of bytes > 0",
    "out_of_scope_cards": "true or false",
    "may_be_appropriate_rating": "appropriate, not-appropriate or no-criteria-apply",
    "ehr_profile": "sandbox, epic or spec",
    "replace_action": "update or delete-create (or set CDS_EHR_PROFILE instead)",
    "mri_order_coding": (
        "system|code, a URI then a code, e.g. "
        "urn:com.epic.cdshooks.action.code.system.preference-list-item|12345"
    ),
    "fhir_anonymous": "true or false",
    "fhir_connect_timeout": "seconds > 0",
    "fhir_read_timeout": "seconds > 0",
    "fhir_deadline": "seconds > 0",
    "fhir_max_pages": "a whole number > 0",
    "fhir_max_workers": "a whole number > 0",
    "jwt_leeway": "seconds >= 0",
    "workers": "a whole number > 0",
    "threads": "a whole number > 0",
    "worker_timeout": "whole seconds > 0",
    "log_level": "DEBUG, INFO, WARNING, ERROR or CRITICAL",
    "timezone": "an IANA time zone name (UTC, America/New_York)",
    "terminology_refresh_hours": "hours > 0",
    "terminology_timeout": "seconds > 0",
}


def env_name(field: str) -> str:
    return f"CDS_{field.upper()}"


def load_checked_settings(overrides: dict[str, object] | None = None) -> Settings:
    """The settings from the environment (and ``overrides``), or a :class:`StartupError`
    naming each bad one."""
    from pydantic import ValidationError

    from cds_service.settings import load_settings

    try:
        return load_settings(overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            if not error["loc"]:  # a rule between settings: its message names them
                lines.append(error["msg"].removeprefix("Value error, "))
                continue
            field = str(error["loc"][0])
            expected = EXPECTED.get(field) or error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            shown = f", got {value!r}" if isinstance(value, str | int | float) else ""
            lines.append(f"{env_name(field)}: expected {expected}{shown}")
        raise StartupError("; ".join(lines)) from None


def check_trusted_issuers(settings: Settings) -> bool:
    """Parse ``CDS_TRUSTED_ISSUERS``; True when authentication is on."""
    from cds_service.web.auth import parse_trusted_issuers

    try:
        return bool(parse_trusted_issuers(settings.trusted_issuers))
    except ConfigurationError as exc:
        message = " ".join(str(exc).split())  # pydantic's messages span lines
        message = re.sub(r" ?\[type=[^\]]*\]| ?For further information visit \S+", "", message)
        if not message.startswith("CDS_TRUSTED_ISSUERS"):
            message = f"CDS_TRUSTED_ISSUERS: {message}"
        raise StartupError(
            f"{message[:300]} (expected JSON or @file mapping each issuer to "
            '{"jwks": {...}} or {"jwks_url": "https://..."})'
        ) from None


def safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for memory and other databases)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite store (the default one lives under ~/.local/share)."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def check_store(url: str, *, must_exist: bool = False) -> None:
    """Open the store and create its tables, or a :class:`StartupError` in one line."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    shown = safe_url(url)
    path = sqlite_path(url)
    if must_exist and path is not None and not path.exists():
        raise StartupError(
            f"CDS_DATABASE_URL: no store at {path} (nothing recorded yet, or set "
            "CDS_DATABASE_URL to the store the service uses)"
        )
    try:
        from cds_service.ops.store import Store

        ensure_sqlite_directory(url)
        store = Store(url)
        try:
            store.upgrade()
        finally:
            store.engine.dispose()
    except ModuleNotFoundError as exc:
        hint = ' (install the PostgreSQL driver: pip install "cds-service[postgres]")'
        raise StartupError(
            f"CDS_DATABASE_URL {shown}: the database driver {exc.name!r} is not installed"
            + (hint if "psycopg" in str(exc.name) else "")
        ) from None
    except ArgumentError as exc:
        raise StartupError(
            f"CDS_DATABASE_URL: {_first_line(exc)} (expected a SQLAlchemy URL: "
            "sqlite:////path/store.sqlite3 or postgresql+psycopg://user:pass@host/db)"
        ) from None
    except (SQLAlchemyError, OSError) as exc:
        reason = _first_line(getattr(exc, "orig", None) or exc)
        raise StartupError(
            f"CDS_DATABASE_URL: cannot reach the store at {shown}: {reason}"
        ) from None


def check_port(host: str, port: int) -> None:
    """Fail early, in one line, when the address cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise StartupError(f"--host {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            reason = "the address is already in use" if exc.errno == errno.EADDRINUSE else None
            raise StartupError(
                f"cannot listen on {host}:{port}: {reason or exc.strerror or exc}"
            ) from None


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
