"""Authentication of the CDS client (the EHR) by the JWT that CDS Hooks 2.0 describes.

``Authorization: Bearer <JWT>`` on discovery, hook calls and feedback. The signature must be
ES384 or RS384 (ES256 and RS256 are accepted for clients that use them; never ``none`` or
HMAC), by a key of a trusted issuer (inline JWKS, or a JWKS URL fetched with caching and
refreshed on an unknown ``kid``); ``aud`` is the URL being called; ``exp``, ``iat`` and ``nbf``
hold within a small leeway; ``jti`` is not reused within the token's lifetime (the store is
shared by all workers and replicas); ``tenant`` is on the issuer's list when it has one.

Every failure is an :class:`AuthenticationFailed` whose reason is logged by the caller; the
client only learns that it is not authenticated. The token itself is never logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import requests
from jwt import PyJWK

from cds_service.errors import AuthenticationFailed, StoreUnavailable
from cds_service.settings import IssuerConfig

log = logging.getLogger(__name__)

ALGORITHMS = ("ES384", "RS384", "ES256", "RS256")
JWKS_TTL_SECONDS = 3600
REFRESH_MIN_INTERVAL = 30
JWKS_MAX_BYTES = 1024 * 1024
JTI_MAX = 300  # the replay store's column
MAX_LIFETIME = 3600  # seconds from iat to exp; CDS clients issue minutes-long tokens


@dataclass
class _CachedSet:
    keys: dict[str, PyJWK]
    fetched: float


@dataclass
class KeyResolver:
    """Finds the verification key for (issuer, kid, jku); JWKS URLs are cached.

    A JWKS URL is fetched at most once every :data:`REFRESH_MIN_INTERVAL` seconds, whether
    the fetch succeeds or fails, by one thread at a time and without holding the lock during
    the fetch (other calls use the keys they have, or are refused). A ``kid`` the set fetched
    within that interval does not hold is refused without a fetch: forged tokens with random
    ``kid`` values cannot make the service call the issuer."""

    issuers: Mapping[str, IssuerConfig]
    session: requests.Session
    timeout: float = 2.0
    _cache: dict[str, _CachedSet] = field(default_factory=dict)
    _attempted: dict[str, float] = field(default_factory=dict)
    _in_flight: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, issuer: str, kid: str | None, jku: str | None) -> PyJWK:
        config = self.issuers[issuer]
        if config.jwks is not None:
            inline = _keys_of(config.jwks)
            if jku is None or kid in inline:
                return _pick(inline, kid)
        url = jku or config.jwks_url
        if url is None:
            raise AuthenticationFailed("no key source for this token")
        return _pick(self._keys(url, kid), kid)

    def _keys(self, url: str, kid: str | None) -> dict[str, PyJWK]:
        """The key set of ``url``: cached, or fetched when the rate limit allows."""
        with self._lock:
            now = time.monotonic()
            cached = self._cache.get(url)
            if cached is not None:
                age = now - cached.fetched
                if age < JWKS_TTL_SECONDS and (kid is None or kid in cached.keys):
                    return cached.keys
                if age < REFRESH_MIN_INTERVAL:
                    return cached.keys  # an unknown kid of a fresh set: refused, no fetch
            last = self._attempted.get(url)
            if url in self._in_flight or (last is not None and now - last < REFRESH_MIN_INTERVAL):
                if cached is not None:
                    return cached.keys
                raise AuthenticationFailed(
                    f"JWKS at {url} unavailable (fetched at most every {REFRESH_MIN_INTERVAL} s)"
                )
            self._attempted[url] = now
            self._in_flight.add(url)
        try:  # the network, outside the lock
            response = self.session.get(url, timeout=self.timeout, allow_redirects=False)
            response.raise_for_status()
            if len(response.content) > JWKS_MAX_BYTES:
                raise ValueError("JWKS too large")
            keys = _keys_of(response.json())
        except (requests.RequestException, ValueError, jwt.PyJWKSetError, AttributeError) as exc:
            if cached is not None:
                return cached.keys
            raise AuthenticationFailed(f"JWKS at {url} unavailable: {type(exc).__name__}") from exc
        finally:
            with self._lock:
                self._in_flight.discard(url)
        with self._lock:
            self._cache[url] = _CachedSet(keys, time.monotonic())
        return keys


def _keys_of(jwks: Mapping[str, Any]) -> dict[str, PyJWK]:
    keys: dict[str, PyJWK] = {}
    for index, data in enumerate(jwks.get("keys") or []):
        try:
            key = PyJWK.from_dict(data)
        except (jwt.PyJWKError, jwt.InvalidKeyError):
            continue
        keys[key.key_id or f"#{index}"] = key
    return keys


def _pick(keys: Mapping[str, PyJWK], kid: str | None) -> PyJWK:
    if kid is not None:
        if kid not in keys:
            raise AuthenticationFailed(f"unknown kid {kid!r}")
        return keys[kid]
    if len(keys) == 1:
        return next(iter(keys.values()))
    raise AuthenticationFailed("no kid, and the issuer has several keys")


ClaimJti = Callable[[str, str, datetime], bool]
"""Record (issuer, jti, expiry); False when the jti was already seen (a replay)."""


@dataclass
class Authenticator:
    issuers: Mapping[str, IssuerConfig]
    resolver: KeyResolver
    claim_jti: ClaimJti
    leeway: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.issuers)

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The token's claims, or :class:`AuthenticationFailed` with the reason (never another
        exception: whatever a caller sends, the answer is a 401)."""
        try:
            return self._verify(authorization, audience)
        except (AuthenticationFailed, StoreUnavailable):
            raise  # a store failure is a 503: the token may be fine
        except Exception as exc:  # a shape nobody foresaw is a refusal, not a 500
            raise AuthenticationFailed(f"token not usable: {type(exc).__name__}") from exc

    def _verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        token = _bearer(authorization)
        issuer, algorithm, key = self._signing_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=audience,
                issuer=issuer,
                leeway=self.leeway,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"token rejected: {type(exc).__name__}: {exc}") from exc
        self._check_claims(issuer, claims)
        return claims

    def _signing_key(self, token: str) -> tuple[str, str, PyJWK]:
        """The trusted issuer, the algorithm and the key the token says it is signed with."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"malformed token: {type(exc).__name__}") from exc
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise AuthenticationFailed(f"algorithm {algorithm!r} is not accepted")
        kid, jku = header.get("kid"), header.get("jku")
        if not isinstance(kid, str | None) or not isinstance(jku, str | None):
            raise AuthenticationFailed("kid and jku must be strings")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or issuer not in self.issuers:
            raise AuthenticationFailed(f"issuer {issuer!r} is not trusted")
        if jku is not None and jku not in self.issuers[issuer].allowed_jkus:
            raise AuthenticationFailed(f"jku {jku!r} is not allowlisted for {issuer}")
        key = self.resolver.key(issuer, kid, jku)
        declared = getattr(key, "_jwk_data", {}).get("alg")  # a JWK need not declare one
        if declared is not None and declared != algorithm:
            raise AuthenticationFailed(f"key {key.key_id!r} is for {declared}, not {algorithm}")
        return issuer, str(algorithm), key

    def _check_claims(self, issuer: str, claims: dict[str, Any]) -> None:
        """Times, lifetime, tenant, and a jti never seen before (claimed in the store)."""
        issued, expires_at = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or issued > time.time() + self.leeway:
            raise AuthenticationFailed("token issued in the future")
        if not isinstance(expires_at, int | float) or expires_at - issued > MAX_LIFETIME:
            raise AuthenticationFailed(f"token lifetime over {MAX_LIFETIME} s")
        tenants = self.issuers[issuer].tenants
        if tenants is not None and claims.get("tenant") not in tenants:
            raise AuthenticationFailed(f"tenant {claims.get('tenant')!r} is not allowed")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= JTI_MAX or "\x00" in jti:
            raise AuthenticationFailed("jti must be a string of at most 300 characters")
        expires = datetime.fromtimestamp(float(expires_at) + self.leeway, UTC)
        if not self.claim_jti(issuer, jti, expires):
            raise AuthenticationFailed("jti already used (replay)")


def _bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("no bearer token")
    return token.strip()
