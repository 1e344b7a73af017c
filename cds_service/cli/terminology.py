"""``cds-service terminology refresh``: the SNOMED CT expansions, fetched now and written."""

from __future__ import annotations

import argparse
from pathlib import Path

from cds_service.cli.common import Commands, add_action, checked_settings, fail, reads
from cds_service.errors import TerminologyError


def add(commands: Commands) -> None:
    terminology = commands.add(
        "terminology",
        "SNOMED CT expansions from CDS_TERMINOLOGY_URL: 'terminology refresh' writes the file",
        reads(
            "CDS_TERMINOLOGY_URL",
            "CDS_TERMINOLOGY_CACHE",
            "CDS_TERMINOLOGY_TIMEOUT",
            "CDS_KNOWLEDGE_FILE",
        ),
        refresh,
    )
    add_action(terminology, "refresh", "expand every SNOMED CT root now and write the file")
    terminology.add_argument(
        "--output", type=Path, default=None, help="file to write (default CDS_TERMINOLOGY_CACHE)"
    )


def refresh(args: argparse.Namespace) -> int:
    """Expand every root now and write the cache file; one line either way."""
    from cds_service.clinical.knowledge_loader import load_knowledge
    from cds_service.ops.expansion_cache import write_cache
    from cds_service.ops.knowledge_updater import KnowledgeUpdater
    from cds_service.ops.terminology import TerminologyClient

    settings = checked_settings()
    target: Path | None = args.output or settings.terminology_cache
    if not settings.terminology_url:
        return fail("terminology refresh: CDS_TERMINOLOGY_URL is not set", 1)
    if target is None:
        return fail("terminology refresh: no --output and no cache file", 1)
    client = TerminologyClient(settings.terminology_url, timeout=settings.terminology_timeout)
    updater = KnowledgeUpdater(load_knowledge(settings.knowledge_file), client, cache=None)
    try:
        held = updater.refresh_now()
        write_cache(target, held)  # the codes, with their synonyms
        expansions = held.expansions
    except TerminologyError as exc:
        return fail(f"terminology refresh failed: {exc.reason}", 1)
    except OSError as exc:
        return fail(f"cannot write {target}: {exc.strerror or exc}", 1)
    counts = ", ".join(f"{root}: {len(codes)} codes" for root, codes in expansions.items())
    print(f"cds-service: wrote {len(expansions)} SNOMED CT roots to {target} ({counts})")
    return 0
