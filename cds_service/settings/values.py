"""How a ``CDS_*`` variable is read: the settings' common configuration, the value types their
documentation promises (a comma-separated list, a number of seconds), and the words that say
what a value looks like where its type does not (used by start-up errors and the settings
table, :mod:`cds_service.settings.reference`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode, SettingsConfigDict

CONFIG = SettingsConfigDict(
    env_prefix="CDS_", extra="ignore", frozen=True, use_attribute_docstrings=True
)
"""Every group of settings: ``CDS_`` and the field's name in capitals is its variable."""


@dataclass(frozen=True)
class Unit:
    """The unit of a number setting (``seconds``), said in its errors and its documentation."""

    word: str


@dataclass(frozen=True)
class Expected:
    """What a value looks like, in words, for a setting whose type does not say it."""

    text: str


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


CommaList = Annotated[
    tuple[str, ...],
    NoDecode,  # the variable is "a,b", not pydantic-settings' JSON for a list
    BeforeValidator(_comma_separated),
    Expected("a comma-separated list"),
]
Seconds = Annotated[float, Unit("seconds")]
WholeSeconds = Annotated[int, Unit("seconds")]
Hours = Annotated[float, Unit("hours")]
Bytes = Annotated[int, Unit("bytes")]
Megabytes = Annotated[int, Unit("MiB")]
