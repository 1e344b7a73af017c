"""The service's log lines as a test reads them: each record formatted as the service writes it
(``JsonFormatter``) and decoded back to a dict."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cds_service.ops.logs import JsonFormatter


class LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def log_lines(logger_name: str) -> Iterator[LogLines]:
    """Collect what ``logger_name`` writes while the block runs."""
    handler = LogLines()
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
