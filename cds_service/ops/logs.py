"""Structured logs: one JSON object per line; no PHI beyond ids, never a token.

The hook-call line (logger ``cds_service.calls``) carries hookInstance, service, status,
duration, the number of cards and the ratings. Every other line has the same shape.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

CALLS = logging.getLogger("cds_service.calls")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            # the type and where it was raised: no message, no values (they could hold PHI)
            entry["error"] = record.exc_info[0].__name__
            entry["where"] = [
                f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}:{frame.name}"
                for frame in traceback.extract_tb(record.exc_info[2])[-5:]
            ]
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the service's loggers (idempotent)."""
    logger = logging.getLogger("cds_service")
    logger.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False


def log_call(**fields: Any) -> None:
    """The one line a hook call writes."""
    CALLS.info("hook call", extra=fields)
