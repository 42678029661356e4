"""The metric reference (docs/metrics.md), generated from the KPI catalogue and the default
configuration, so the docs cannot drift from what the engine computes.

Regenerate with ``python -m supportkpi._docs docs/metrics.md``; a test checks it is current.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ._api import kpi_catalog
from ._config import default_config
from ._present import describe_band

_UNITS = {
    "count": "count",
    "rate": "fraction 0–1 (shown as %)",
    "ratio": "ratio",
    "currency": "currency of the inputs",
    "minutes": "minutes",
    "hours": "hours",
    "score": "score on its scale",
}


def _percent(unit: str, x: float) -> str:
    return f"{x * 100:g}%" if unit == "rate" else f"{x:g}"


def _band_text(band: dict[str, Any] | None, unit: str) -> str:
    words = describe_band(band, unit, number=lambda x: _percent(unit, x), separator="; ")
    return words or "—"


def metrics_markdown() -> str:
    """The metric reference as Markdown."""
    catalog = kpi_catalog()
    bands = default_config()["bands"]
    lines = [
        "# Metric reference",
        "",
        "Generated from the KPI catalogue (`src/catalog.rs`) and the default configuration",
        "by `python -m supportkpi._docs docs/metrics.md`; do not edit by hand. Exact readings",
        "of edge cases: [semantics.md](semantics.md). Values on a band edge take the better",
        "band. Every band can be overridden in the config (`[bands.<kpi>]`).",
        "",
        "| id | name | definition | unit | direction | needs | default band | owner | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in catalog.itertuples(index=False):
        band = bands.get(row.id)
        needs = ", ".join(row.requires) if len(row.requires) else "required columns only"
        name = f"**{row.name}**" if row.headline else row.name
        definition = row.definition.replace("|", "\\|")
        lines.append(
            f"| `{row.id}` | {name} | {definition} | {_UNITS[row.unit]} | "
            f"{row.direction.replace('_', ' ')} | {needs} | {_band_text(band, row.unit)} | "
            f"{band['owner'] if band else '—'} | {row.source} |"
        )
    lines += [
        "",
        "Headline KPIs (seed 001) are in bold. Ratios report numerator and denominator;",
        "means report sum and count; medians and p90s report the number of inputs.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/metrics.md")
    target.write_text(metrics_markdown(), encoding="utf-8")
    print(f"wrote {target}")
