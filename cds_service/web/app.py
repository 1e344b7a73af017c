"""The app factory: settings, knowledge, store, authentication and the blueprint, wired."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask_cors import CORS

from cds_service.advice.cards import CardPolicy
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.ops.knowledge_updater import KnowledgeUpdater
from cds_service.ops.logs import configure_logging
from cds_service.ops.metrics import count_fetches
from cds_service.ops.store import Store
from cds_service.ops.terminology import TerminologyClient
from cds_service.pipeline import Dependencies, FetcherForCall
from cds_service.protocol import RequestLimits
from cds_service.record.fetch_policy import FetchPolicy
from cds_service.record.fhir_client import cookieless_session
from cds_service.services import build_services
from cds_service.settings import IssuerConfig, Settings
from cds_service.web import routes
from cds_service.web.auth import Authenticator, KeyResolver
from cds_service.web.json_provider import OrjsonProvider
from cds_service.web.problems import register_error_handlers
from cds_service.web.startup import ensure_sqlite_directory, load_checked_settings
from cds_service.web.state import AppState

log = logging.getLogger("cds_service")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    fetcher_for: FetcherForCall | None = None,
) -> Flask:
    """Build the Flask app.

    ``config`` is a :class:`Settings`, or a mapping whose keys are settings (any case, with or
    without the ``CDS_`` prefix) or Flask config keys (``TESTING``); unset settings come from
    the environment. A broken knowledge file raises :class:`KnowledgeError` here, at start-up,
    and a bad setting a :class:`~cds_service.errors.StartupError`.
    """
    clock = clock or _utcnow
    settings, flask_config = _split_config(config)
    configure_logging(settings.log_level)
    knowledge = load_knowledge(settings.knowledge_file)
    knowledge.text.text_reader.limit_cache(settings.text_cache_bytes)  # shared by every version
    terminology = _terminology(knowledge, settings)
    issuers = settings.trusted_issuers.issuers
    store = _store(settings.database_url)
    app = _flask(settings, flask_config)
    AppState(
        settings=settings,
        services=build_services(knowledge),
        dependencies=_dependencies(settings, terminology, store, clock, fetcher_for),
        store=store,
        terminology=terminology,
        authenticator=_authenticator(issuers, store, clock, settings),
    ).install(app)
    # warnings about serving; commands that start no server (evaluate) pass SERVER_WARNINGS
    if flask_config.pop("SERVER_WARNINGS", True):
        _warn_about_serving(bool(issuers), settings)
    _warn_about_profile(settings)
    _allow_cors(app, settings.cors_origins)
    app.register_blueprint(routes.bp)
    register_error_handlers(app)
    return app


def _flask(settings: Settings, flask_config: Mapping[str, Any]) -> Flask:
    app = Flask(__name__)
    app.config.update(flask_config)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = OrjsonProvider(app)
    app.json.sort_keys = False
    return app


def _store(url: str) -> Store:
    ensure_sqlite_directory(url)  # the default store's folder
    store = Store(url)
    store.upgrade()
    return store


def _dependencies(
    settings: Settings,
    knowledge_source: Callable[[], Knowledge],
    store: Store,
    clock: Callable[[], datetime],
    fetcher_for: FetcherForCall | None,
) -> Dependencies:
    return Dependencies(
        knowledge_source=knowledge_source,
        policy=_card_policy(settings),
        fetcher_for=fetcher_for or _fetch_policy(settings),
        clock=clock,
        store=store,
        tzinfo=settings.timezone,
        silent=settings.mode == "silent",
        limits=RequestLimits(settings.max_draft_orders, settings.max_prefetch_resources),
    )


def _card_policy(settings: Settings) -> CardPolicy:
    return CardPolicy(
        out_of_scope_cards=settings.out_of_scope_cards,
        may_be_appropriate_rating=settings.may_be_appropriate_rating,
        ehr_profile=settings.ehr_profile,
        mri_order_coding=settings.mri_order_coding_pair,
    )


def _fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        settings,
        cookieless_session(),
        ThreadPoolExecutor(settings.fhir_max_workers, thread_name_prefix="fhir-fetch"),
        observe=count_fetches,
    )


def _authenticator(
    issuers: dict[str, IssuerConfig],
    store: Store,
    clock: Callable[[], datetime],
    settings: Settings,
) -> Authenticator:
    return Authenticator(
        issuers=issuers,
        resolver=KeyResolver(issuers, cookieless_session()),
        claim_jti=lambda issuer, jti, expires: store.replay.claim(issuer, jti, expires, clock()),
        leeway=settings.jwt_leeway,
    )


def _warn_about_serving(authenticated: bool, settings: Settings) -> None:
    if authenticated and not settings.public_base_url:
        log.warning(
            "CDS_PUBLIC_BASE_URL is not set: a JWT's aud is checked against the URL in the "
            "request's Host header, which the caller controls. Set it in production."
        )
    if not authenticated:
        log.warning(
            "CDS_TRUSTED_ISSUERS is not set: the service accepts calls from ANY client "
            "without authentication. Use this for local development only."
        )


def _warn_about_profile(settings: Settings) -> None:
    """Epic orders a particular orderable only by the site's preference-list code."""
    if settings.ehr_profile == "epic" and settings.mri_order_coding is None:
        log.warning(
            "CDS_EHR_PROFILE is epic and CDS_MRI_ORDER_CODING is not set: the MRI a card "
            "offers to order carries only its CPT and LOINC codes, which Epic may not match to "
            "an orderable. Set it to the site's code, e.g. "
            "urn:com.epic.cdshooks.action.code.system.preference-list-item|<site code>."
        )


def _allow_cors(app: Flask, cors_origins: tuple[str, ...]) -> None:
    origins = list(cors_origins) or ["*"]
    wildcard = "*" in origins
    CORS(
        app,
        origins="*" if wildcard else origins,
        send_wildcard=wildcard,
        supports_credentials=False,
        max_age=600,
    )


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
    return load_checked_settings(overrides), flask_config
