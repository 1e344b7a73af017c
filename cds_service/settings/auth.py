"""The settings that authenticate the CDS client: the trusted JWT issuers and their keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import jwt
from jwt import PyJWKSet
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator
from pydantic_settings import BaseSettings, NoDecode

from cds_service.settings.values import CONFIG, Expected, Seconds


class IssuerConfig(BaseModel):
    """One trusted issuer: its keys (inline, or a JWKS URL), the other JWKS URLs its tokens
    may name in ``jku``, and the tenants it may speak for (any, when unset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    jku_allowlist: list[str] = Field(default_factory=list)
    tenants: list[str] | None = None

    @model_validator(mode="after")
    def _one_key_source(self) -> IssuerConfig:
        if (self.jwks is None) == (self.jwks_url is None):
            raise ValueError("give exactly one of jwks or jwks_url")
        if self.jwks is not None:
            try:  # refuse a JWKS that cannot be read, at start-up
                PyJWKSet.from_dict(self.jwks)
            except (jwt.PyJWKError, jwt.PyJWKSetError) as exc:
                raise ValueError(f"jwks cannot be read: {exc}") from None
        return self

    @property
    def allowed_jkus(self) -> set[str]:
        return set(self.jku_allowlist) | ({self.jwks_url} if self.jwks_url else set())


class TrustedIssuers(RootModel[dict[str, IssuerConfig]]):
    """Each trusted issuer (a JWT's ``iss``) and its keys; none: no authentication. Read from
    JSON, or from ``@path``, a JSON file."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _from_json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return {}
        if text.startswith("@"):
            try:
                text = Path(text[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"CDS_TRUSTED_ISSUERS file cannot be read: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"CDS_TRUSTED_ISSUERS is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("CDS_TRUSTED_ISSUERS must map each issuer to its keys")
        return data

    @property
    def issuers(self) -> dict[str, IssuerConfig]:
        """Each issuer's configuration, by its ``iss``."""
        return self.root


class AuthSettings(BaseSettings):
    """Authentication"""

    model_config = CONFIG

    trusted_issuers: Annotated[
        TrustedIssuers,
        NoDecode,  # "@path" is not JSON: the type reads the variable itself
        Expected(
            'JSON or @file mapping each issuer to {"jwks": {...}} or {"jwks_url": "https://..."}'
        ),
    ] = TrustedIssuers({})
    """Each trusted JWT issuer and its keys: ``{"<iss>": {"jwks": {"keys": [...]}}}`` or
    ``{"<iss>": {"jwks_url": "https://..."}}``, optionally with ``jku_allowlist`` (other JWKS
    URLs its tokens may name) and ``tenants``. Empty: **no authentication**, for local
    development only (the service says so at start-up)."""

    public_base_url: Annotated[str | None, Expected("a URL")] = None
    """The service's public URL behind a proxy (``https://cds.example.org``): a JWT's ``aud``
    must be this plus the path called. Unset: the URL of the request."""

    jwt_leeway: Seconds = Field(default=30.0, ge=0)
    """Seconds of clock skew allowed on ``exp``, ``iat`` and ``nbf``."""
