"""``cds-service report`` as a plain-text table, CSV (one table, a ``section`` column) or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from cds_service.ops.report import format_report

CSV_COLUMNS = (
    "section",
    "service",
    "rating",
    "indicator",
    "week",
    "mode",
    "clinician",
    "reason_system",
    "reason_code",
    "reason_display",
    "calls",
    "orders",
    "cards",
    "accepted",
    "overridden",
)
_RENAMED = {"system": "reason_system", "code": "reason_code", "display": "reason_display"}

TITLES = {
    "override_reasons": "Override reasons (per service)",
    "by_week": "Per ISO week (live and silent calls apart)",
    "silent": "Silent calls (CDS_MODE=silent): the cards they would have shown",
    "by_clinician": "Per ordering clinician (userId as sent; staff data)",
}
COLUMNS = {
    "override_reasons": ("service", "code", "display", "system", "overridden"),
    "by_week": ("week", "mode", "calls", "orders", "cards", "accepted", "overridden"),
    "silent": ("service", "indicator", "rating", "calls", "orders", "cards"),
    "by_clinician": ("clinician", "mode", "calls", "orders", "cards", "accepted", "overridden"),
}


def as_json(sections: dict[str, Any]) -> str:
    return json.dumps(sections, indent=2, ensure_ascii=False)


def as_csv(sections: dict[str, Any]) -> str:
    """Every line of every section, one CSV table (the per-line reason counts are in the
    ``override_reasons`` section)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for section, lines in sections.items():
        for line in lines:
            renamed = {_RENAMED.get(k, k): v for k, v in line.items()}
            writer.writerow({"section": section, **renamed})
    return out.getvalue()


def as_table(sections: dict[str, Any]) -> str:
    """The per-(service, rating) table as it always was, then each other section."""
    if not any(sections.values()):
        return "No hook calls recorded yet."
    live = sections["by_service_and_rating"]
    parts = [format_report(live) if live else "No live hook call recorded yet."]
    for section, title in TITLES.items():
        if section in sections:
            parts.append(title + "\n" + table(COLUMNS[section], sections[section]))
    return "\n\n".join(parts)


def table(columns: Sequence[str], lines: Sequence[dict[str, Any]]) -> str:
    """Aligned columns (numbers right-aligned); "(none)" when there is no line."""
    if not lines:
        return "(none)"
    cells = [[str(line.get(c, "")) for c in columns] for line in lines]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(line.get(c), int) for line in lines) for c in columns]

    def row(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([row(columns), rule, *(row(values) for values in cells)])
