"""SNOMED CT by hierarchy: each exclusion group's roots expanded by a FHIR terminology server.

``CDS_TERMINOLOGY_URL`` names the server. Each root is expanded with ``ValueSet/$expand`` of
the ECL implicit value set ``http://snomed.info/sct?fhir_vs=ecl/<< ROOT``, page by page, at
start-up and every ``CDS_TERMINOLOGY_REFRESH_HOURS``, into a JSON cache file that survives
restarts (``cds-service terminology refresh`` writes one a deployment can ship). A failure
keeps the previous expansions and logs one warning line. Without a server, a cache file's
expansions apply; without either, only the listed codes and the display-term rules do.

The roots of a group whose text reads SNOMED CT synonyms are asked with
``includeDesignations=true`` (FHIR R4 ``$expand``): each concept's ``display`` and the values
of its English (or language-less) ``contains.designation`` entries are its terms, kept with
its code (:class:`Expanded`). An entry of an odd shape is skipped, never a failure.

This module holds the client; the cache file is :mod:`cds_service.ops.expansion_cache`, the
refreshes :mod:`cds_service.ops.knowledge_updater`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests

from cds_service.errors import TerminologyError
from cds_service.ops.expansion_cache import SCTID
from cds_service.record.fhir_client import FHIR_JSON, cookieless_session

log = logging.getLogger("cds_service.ops.terminology")

SNOMED = "http://snomed.info/sct"
PAGE_SIZE = 1000
MAX_CODES_PER_ROOT = 200_000
MAX_BYTES = 32 * 1024 * 1024
MAX_REDIRECTS = 3
MAX_SECONDS_PER_ROOT = 300.0


def safe_url(url: str) -> str:
    """``url`` without user info, query or fragment: fit for logs and the cache file."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def ecl_descendants_or_self(root: str) -> str:
    """The implicit value set of ``root`` and all its descendants."""
    if not SCTID.fullmatch(root):
        raise TerminologyError(f"{root!r} is not a SNOMED CT concept id")
    return f"{SNOMED}?fhir_vs=ecl/<< {root}"


@dataclass(frozen=True)
class Expanded:
    """One root's expansion: its codes, and (when asked) each code's display and synonyms."""

    codes: list[str]
    terms: dict[str, list[str]] = field(default_factory=dict)
    designated: bool = False
    """The answer carried at least one designation (a server may ignore the parameter)."""


@dataclass(frozen=True)
class TerminologyClient:
    """Expands SNOMED CT roots on one FHIR terminology server."""

    base_url: str
    timeout: float = 10.0
    session: requests.Session = field(default_factory=cookieless_session)
    page_size: int = PAGE_SIZE
    max_codes: int = MAX_CODES_PER_ROOT
    max_bytes: int = MAX_BYTES
    max_seconds: float = MAX_SECONDS_PER_ROOT

    def expand_all(self, roots: Iterable[str]) -> dict[str, list[str]]:
        """Every root's descendants (and itself); the first failure raises."""
        return {root: self.expand(root) for root in roots}

    def expand(self, root: str) -> list[str]:
        """The SNOMED CT codes of ``<< root``, every page, sorted."""
        return self.expand_concepts(root).codes

    def expand_all_concepts(
        self, roots: Iterable[str], designations: Iterable[str] = ()
    ) -> dict[str, Expanded]:
        """Every root's expansion, with terms for the roots in ``designations``."""
        wanted = set(designations)
        return {root: self.expand_concepts(root, root in wanted) for root in roots}

    def expand_concepts(self, root: str, designations: bool = False) -> Expanded:
        """The SNOMED CT codes of ``<< root``, every page, sorted; with ``designations``,
        each code's display and English designations too."""
        value_set = ecl_descendants_or_self(root)
        deadline = time.monotonic() + self.max_seconds
        codes: set[str] = set()
        terms: dict[str, list[str]] = {}
        designated = False
        offset = 0
        while True:
            if time.monotonic() > deadline:
                raise TerminologyError(f"<< {root} took longer than {self.max_seconds:g} s")
            expansion = self._page(value_set, offset, designations)
            entries = list(_contains(expansion.get("contains")))
            offset += len(entries)
            for entry in entries:
                if entry.system != SNOMED or not SCTID.fullmatch(entry.code):
                    continue
                codes.add(entry.code)
                if designations and entry.terms:
                    known = terms.setdefault(entry.code, [])
                    known.extend(t for t in entry.terms if t not in known)
                designated = designated or entry.designated
            if offset > self.max_codes:
                raise TerminologyError(f"<< {root} has more than {self.max_codes} codes")
            total = expansion.get("total")
            if not entries or (isinstance(total, int) and offset >= total):
                break
        if not codes:  # << root holds at least the root: the server does not know it
            raise TerminologyError(f"the expansion of << {root} holds no SNOMED CT code")
        return Expanded(sorted(codes), terms, designated and designations)

    def _page(self, value_set: str, offset: int, designations: bool = False) -> dict[str, Any]:
        parameters: dict[str, object] = {
            "url": value_set,
            "count": self.page_size,
            "offset": offset,
        }
        if designations:
            parameters["includeDesignations"] = "true"
        query = urlencode(parameters, quote_via=quote)
        body = self._get(urljoin(self.base_url.rstrip("/") + "/", "ValueSet/$expand") + "?" + query)
        if body.get("resourceType") != "ValueSet" or not isinstance(body.get("expansion"), dict):
            raise TerminologyError("the terminology server's answer is not an expanded ValueSet")
        expansion: dict[str, Any] = body["expansion"]
        return expansion

    def _get(self, url: str) -> dict[str, Any]:
        origin = urlsplit(url)[:2]
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(url)
            if not response.is_redirect:
                return self._json(response)
            target = urljoin(url, response.headers.get("Location", ""))
            response.close()
            if urlsplit(target)[:2] != origin:
                raise TerminologyError("refused a redirect to another host")
            url = target
        raise TerminologyError(f"more than {MAX_REDIRECTS} redirects")

    def _send(self, url: str) -> requests.Response:
        try:
            return self._session_get(url)
        except requests.Timeout as exc:
            raise TerminologyError("the terminology server did not answer in time") from exc
        except requests.RequestException as exc:
            raise TerminologyError(
                f"the terminology server could not be reached ({type(exc).__name__})"
            ) from exc

    def _session_get(self, url: str) -> requests.Response:
        return self.session.get(
            url,
            headers={"Accept": FHIR_JSON},
            timeout=(self.timeout, self.timeout),
            allow_redirects=False,
            stream=True,
        )

    def _json(self, response: requests.Response) -> dict[str, Any]:
        with response:
            if not 200 <= response.status_code < 300:
                raise TerminologyError(
                    f"the terminology server answered HTTP {response.status_code}"
                )
            raw = self._read_capped(response)
        try:
            # the decoder refuses nesting deeper than the recursion limit (1,000 levels by
            # default) with RecursionError: an answer nested 100,000 deep is a bad answer
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise TerminologyError("the terminology server's answer is not JSON") from exc
        if not isinstance(body, dict):
            raise TerminologyError("the terminology server's answer is not a FHIR resource")
        return body

    def _read_capped(self, response: requests.Response) -> bytes:
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise TerminologyError(f"an answer is larger than {self.max_bytes} bytes")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise TerminologyError(
                f"the terminology server's answer broke off ({type(exc).__name__})"
            ) from exc
        return b"".join(chunks)


@dataclass(frozen=True)
class _Entry:
    system: object
    code: str
    terms: tuple[str, ...]
    designated: bool


def _contains(entries: object) -> Iterator[_Entry]:
    """Every entry of ``expansion.contains``, nested ones included: its system, code, and
    terms (display and English designations; odd shapes skipped)."""
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        code = entry.get("code")
        designations = [d for d in _list(entry.get("designation")) if isinstance(d, dict)]
        terms = [entry.get("display"), *(d.get("value") for d in designations if _english(d))]
        yield _Entry(
            entry.get("system"),
            code if isinstance(code, str) else "",
            tuple(dict.fromkeys(t.strip() for t in terms if isinstance(t, str) and t.strip())),
            any(isinstance(d.get("value"), str) for d in designations),
        )
        yield from _contains(entry.get("contains"))


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _english(designation: dict[str, Any]) -> bool:
    """A designation in English, or in no stated language (``en``, ``en-US``, ``en-GB``)."""
    language = designation.get("language")
    if language is None:
        return True
    return isinstance(language, str) and language.lower().split("-")[0] == "en"
