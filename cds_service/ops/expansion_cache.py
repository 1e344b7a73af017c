"""The SNOMED CT expansion cache file: written atomically, read back only when it is one this
service wrote."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cds_service.errors import ServiceError

SCTID = re.compile(r"[1-9][0-9]{5,17}")
"""A SNOMED CT concept id."""


class CacheError(ServiceError):
    """The cache file is not one this service wrote (corrupt, foreign, unreadable)."""


@dataclass(frozen=True)
class Expansions:
    """What the cache file holds: the server, when it answered, and each root's codes."""

    server: str | None
    fetched: datetime
    expansions: dict[str, list[str]]

    def covers(self, roots: Iterable[str]) -> bool:
        return set(roots) <= set(self.expansions)


def write_cache(path: Path, expansions: Expansions) -> None:
    """Write the file atomically (a temporary file beside it, then ``os.replace``)."""
    document = {
        "server": expansions.server,
        "fetched": expansions.fetched.isoformat(),
        "expansions": expansions.expansions,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_cache(path: Path) -> Expansions | None:
    """The cache file, or None when there is none; :class:`CacheError` when it is not ours."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CacheError(f"cannot be read ({type(exc).__name__})") from exc
    try:
        return _parse_cache(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise CacheError(f"not a SNOMED CT expansion cache ({exc})") from exc


def _parse_cache(document: object) -> Expansions:
    if not isinstance(document, dict) or set(document) != {"server", "fetched", "expansions"}:
        raise ValueError("keys must be server, fetched and expansions")
    server, fetched, expansions = document["server"], document["fetched"], document["expansions"]
    if server is not None and not isinstance(server, str):
        raise ValueError("server is not a string")
    instant = datetime.fromisoformat(fetched)
    if instant.tzinfo is None:
        raise ValueError("fetched has no time zone")
    if not isinstance(expansions, dict):
        raise ValueError("expansions is not an object")
    for root, codes in expansions.items():
        if not SCTID.fullmatch(root) or not isinstance(codes, list):
            raise ValueError("an expansion is not a concept id with a list of codes")
        if not all(isinstance(c, str) and SCTID.fullmatch(c) for c in codes):
            raise ValueError(f"the expansion of {root} holds a value that is not a concept id")
    return Expansions(server, instant, expansions)
