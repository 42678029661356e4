"""The metric reference is generated from the catalogue and must be current."""

from pathlib import Path

import supportkpi as sk
from supportkpi._docs import metrics_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


def test_metrics_doc_is_current():
    assert DOC.read_text(encoding="utf-8") == metrics_markdown(), (
        "docs/metrics.md is stale: run `python -m supportkpi._docs docs/metrics.md`"
    )


def test_every_catalogue_kpi_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for kpi in sk.kpi_catalog()["id"]:
        assert f"| `{kpi}` |" in text


def test_every_default_band_belongs_to_a_catalogue_kpi_with_its_owner():
    catalog = sk.kpi_catalog().set_index("id")
    for kpi, band in sk.default_config()["bands"].items():
        assert kpi in catalog.index
        assert band["owner"] == catalog.loc[kpi, "owner"]
