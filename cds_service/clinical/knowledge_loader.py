"""Loading a knowledge file: read, validated (knowledge_schema.py), compiled
(compiled_knowledge.py), and kept while the file is unchanged.

The file is loaded when the service starts: a broken file stops start-up with a
:class:`KnowledgeError` that names the fault.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import KnowledgeFile
from cds_service.errors import StartupError

PACKAGED_KNOWLEDGE = Path(__file__).parent / "knowledge" / "acr_cervicogenic_headache.yaml"


class KnowledgeError(StartupError):
    """The knowledge file cannot be used; the message names the file and the fault."""


_LOADED: dict[tuple[str, int, int], Knowledge] = {}


def load_knowledge(path: Path | None = None) -> Knowledge:
    """Read, validate and compile a knowledge file; raise :class:`KnowledgeError` naming any
    fault.

    A file already loaded unchanged (same path, size and modification time) is not compiled
    again: the text pipeline takes about a second to build.
    """
    source = path or PACKAGED_KNOWLEDGE
    try:
        stat = source.stat()
        key = (str(source.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None and key in _LOADED:
        return _LOADED[key]
    knowledge = Knowledge(read_knowledge_file(source))
    if key is not None:
        _LOADED[key] = knowledge
    return knowledge


def read_knowledge_file(source: Path) -> KnowledgeFile:
    """The file's content, validated (not compiled)."""
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KnowledgeError(f"knowledge file {source}: cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"knowledge file {source}: not valid YAML: {exc}") from exc
    try:
        return KnowledgeFile.model_validate(data)
    except ValidationError as exc:
        faults = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise KnowledgeError(f"knowledge file {source}: {faults}") from exc
