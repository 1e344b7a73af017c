"""Start-up checks for the ``cds-service`` command: each failure is one line naming the setting.

Settings are validated (``CDS_TRUSTED_ISSUERS`` read with them), the store reached and the port
bound before granian starts, so that a mistake reads ``cds-service: CDS_WORKERS: ...`` instead
of a traceback.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from cds_service.errors import ConfigurationError, StartupError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from cds_service.settings import Settings


def load_checked_settings(overrides: dict[str, object] | None = None) -> Settings:
    """The settings from the environment (and ``overrides``), or a :class:`ConfigurationError`
    naming each bad one and what it expects (said by the field, ``settings/reference.py``)."""
    from pydantic import ValidationError

    from cds_service.settings import load_settings

    try:
        return load_settings(overrides)
    except ValidationError as exc:
        raise ConfigurationError("; ".join(map(_error_line, exc.errors()))) from None


def _error_line(error: ErrorDetails) -> str:
    """``CDS_WORKERS: expected a whole number > 0, got 'abc'``, or the rule's own message."""
    from cds_service.settings import Settings
    from cds_service.settings.reference import expected, variable

    reason = " ".join(error["msg"].removeprefix("Value error, ").split())
    if not error["loc"]:  # a rule between settings: its message names them
        return reason
    name = str(error["loc"][0])
    said, where = variable(name), ".".join(str(part) for part in error["loc"][1:])
    wanted = f"expected {expected(Settings.model_fields[name])}"
    if where:  # inside a structured value: where, and why
        return f"{said}: {where}: {reason} ({wanted})"
    if reason.startswith(said):  # a rule of ours that says more than the type (not JSON)
        return f"{reason} ({wanted})"
    value = error.get("input")
    shown = f", got {value!r}" if isinstance(value, str | int | float) else ""
    return f"{said}: {wanted}{shown}"


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
