"""The SNOMED CT expansion cache file: written atomically, read back only when it is one this
service wrote. Beside each root's codes it keeps, for the roots whose group reads SNOMED CT
synonyms, each code's display and synonyms (``terms``; a file written before them has none)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cds_service.errors import ServiceError

SCTID = re.compile(r"[1-9][0-9]{5,17}")
"""A SNOMED CT concept id."""


class CacheError(ServiceError):
    """The cache file is not one this service wrote (corrupt, foreign, unreadable)."""


@dataclass(frozen=True)
class Expansions:
    """What the cache file holds: the server, when it answered, each root's codes, and each
    root's codes' terms (display and synonyms)."""

    server: str | None
    fetched: datetime
    expansions: dict[str, list[str]]
    terms: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def covers(self, roots: Iterable[str]) -> bool:
        return set(roots) <= set(self.expansions)

    def only(self, roots: Iterable[str]) -> Expansions:
        """The same, for these roots only."""
        wanted = set(roots)
        codes = {root: codes for root, codes in self.expansions.items() if root in wanted}
        terms = {root: by_code for root, by_code in self.terms.items() if root in wanted}
        return Expansions(self.server, self.fetched, codes, terms)


def write_cache(path: Path, expansions: Expansions) -> None:
    """Write the file atomically (a temporary file beside it, then ``os.replace``)."""
    document = {
        "server": expansions.server,
        "fetched": expansions.fetched.isoformat(),
        "expansions": expansions.expansions,
        "terms": expansions.terms,
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


_KEYS = {"server", "fetched", "expansions"}


def _parse_cache(document: object) -> Expansions:
    if not isinstance(document, dict) or not _KEYS <= set(document) <= _KEYS | {"terms"}:
        raise ValueError("keys must be server, fetched, expansions and terms")
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
    return Expansions(server, instant, expansions, _parse_terms(document.get("terms", {})))


def _parse_terms(terms: object) -> dict[str, dict[str, list[str]]]:
    """Root to code to terms; a file whose terms have another shape is not ours."""
    if not isinstance(terms, dict):
        raise ValueError("terms is not an object")
    for root, by_code in terms.items():
        if not SCTID.fullmatch(root) or not isinstance(by_code, dict):
            raise ValueError("terms are not a concept id with its codes' terms")
        for code, words in by_code.items():
            if not SCTID.fullmatch(code) or not isinstance(words, list):
                raise ValueError(f"the terms of {root} are not codes with lists of terms")
            if not all(isinstance(w, str) for w in words):
                raise ValueError(f"a term of {code} is not a string")
    return terms
