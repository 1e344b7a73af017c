"""The app factory: settings, knowledge, store, authentication and the blueprint, wired."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider
from flask_cors import CORS
from werkzeug.sansio.response import Response as SansioResponse

from cds_service.advice.cards import CardPolicy
from cds_service.clinical.knowledge import Knowledge, load_knowledge
from cds_service.ops.logs import configure_logging
from cds_service.ops.store import Store
from cds_service.ops.terminology import KnowledgeUpdater, TerminologyClient
from cds_service.pipeline import Engine, FetcherFactory
from cds_service.record.fetch_policy import FetcherFactory as DefaultFetcherFactory
from cds_service.record.fhir_client import cookieless_session
from cds_service.services import build_services
from cds_service.settings import Settings, load_settings
from cds_service.web import routes as api
from cds_service.web.auth import Authenticator, KeyResolver, parse_trusted_issuers
from cds_service.web.startup import ensure_sqlite_directory

log = logging.getLogger("cds_service")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OrjsonProvider(DefaultJSONProvider):
    """Responses encoded with orjson (keys in insertion order, compact, UTF-8). What orjson
    cannot encode as the standard library would (a lone surrogate, an integer past 64 bits,
    a type only Flask knows, keyword options) goes to Flask's default provider, unchanged."""

    _OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()
        except TypeError:
            return super().dumps(obj)

    def response(self, *args: Any, **kwargs: Any) -> SansioResponse:
        obj = self._prepare_response_obj(args, kwargs)
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(obj)
        try:
            data = orjson.dumps(
                obj, default=self.default, option=self._OPTIONS | orjson.OPT_APPEND_NEWLINE
            )
        except TypeError:
            return super().response(obj)
        return Response(data, mimetype=self.mimetype)


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    fetcher_for: FetcherFactory | None = None,
) -> Flask:
    """Build the Flask app.

    ``config`` is a :class:`Settings`, or a mapping whose keys are settings (any case, with or
    without the ``CDS_`` prefix) or Flask config keys (``TESTING``); unset settings come from
    the environment. A broken knowledge file raises :class:`KnowledgeError` here, at start-up.
    """
    clock = clock or _utcnow
    settings, flask_config = _split_config(config)
    configure_logging(settings.log_level)
    knowledge = load_knowledge(settings.knowledge_file)
    knowledge.text_reader.limit_cache(settings.text_cache_bytes)  # shared by every version
    terminology = _terminology(knowledge, settings)
    issuers = parse_trusted_issuers(settings.trusted_issuers)
    ensure_sqlite_directory(settings.database_url)  # the default store's folder
    store = Store(settings.database_url)
    store.upgrade()
    app = Flask(__name__)
    app.config.update(flask_config)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = OrjsonProvider(app)
    app.json.sort_keys = False
    app.extensions["cds_settings"] = settings
    app.extensions["cds_services"] = build_services(knowledge)
    app.extensions["cds_terminology"] = terminology
    app.extensions["cds_engine"] = Engine(
        knowledge_source=terminology,
        policy=CardPolicy(
            out_of_scope_cards=settings.out_of_scope_cards,
            may_be_appropriate_rating=settings.may_be_appropriate_rating,
            replace_action=settings.replace_action,
        ),
        fetcher_for=fetcher_for
        or DefaultFetcherFactory(
            settings,
            cookieless_session(),
            ThreadPoolExecutor(settings.fhir_max_workers, thread_name_prefix="fhir-fetch"),
        ),
        clock=clock,
        store=store,
        tzinfo=settings.zone,
    )
    app.extensions["cds_store"] = store
    app.extensions["cds_authenticator"] = Authenticator(
        issuers=issuers,
        resolver=KeyResolver(issuers, cookieless_session()),
        claim_jti=lambda issuer, jti, expires: store.claim_jti(issuer, jti, expires, clock()),
        leeway=settings.jwt_leeway,
    )
    # warnings about serving; commands that start no server (evaluate) pass SERVER_WARNINGS
    warn = flask_config.pop("SERVER_WARNINGS", True)
    if warn and issuers and not settings.public_base_url:
        log.warning(
            "CDS_PUBLIC_BASE_URL is not set: a JWT's aud is checked against the URL in the "
            "request's Host header, which the caller controls. Set it in production."
        )
    if warn and not issuers:
        log.warning(
            "CDS_TRUSTED_ISSUERS is not set: the service accepts calls from ANY client "
            "without authentication. Use this for local development only."
        )
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()] or ["*"]
    wildcard = "*" in origins
    CORS(
        app,
        origins="*" if wildcard else origins,
        send_wildcard=wildcard,
        supports_credentials=False,
        max_age=600,
    )
    api.register(app)
    return app


def _terminology(knowledge: Knowledge, settings: Settings) -> KnowledgeUpdater:
    """The SNOMED CT expansions: the cache file's, refreshed now if a server is set and the
    cache is missing or stale (the refresh thread starts later, in each worker process)."""
    client = None
    if settings.terminology_url:
        client = TerminologyClient(settings.terminology_url, timeout=settings.terminology_timeout)
    updater = KnowledgeUpdater(
        knowledge,
        client,
        cache=settings.terminology_cache,
        refresh_hours=settings.terminology_refresh_hours,
    )
    updater.start_up()
    return updater


def _split_config(
    config: Settings | Mapping[str, Any] | None,
) -> tuple[Settings, dict[str, Any]]:
    if isinstance(config, Settings):
        return config, {}
    overrides: dict[str, Any] = {}
    flask_config: dict[str, Any] = {}
    fields = Settings.model_fields
    for key, value in (config or {}).items():
        name = key.lower().removeprefix("cds_")
        if name in fields:
            overrides[name] = value
        else:
            flask_config[key] = value
    return load_settings(overrides), flask_config
