"""supportkpi: the support-conversion scorecard.

Joins ecommerce support contacts with orders and computes the KPIs of the support-conversion
scorecard, each ratio with its numerator and denominator.

Example:
    >>> import supportkpi as sk
    >>> sample = sk.load_sample()
    >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
    >>> "csat_mean" in card.kpis
    True
"""

from ._api import (
    Prepared,
    enrich_contacts,
    kpi_catalog,
    prepare,
    release_prepared,
    scorecard,
)
from ._arrow import ParquetColumns, scan_parquet
from ._card import Scorecard
from ._config import Config, default_config
from ._sample import load_sample
from ._states import combine, merge, partial
from ._supportkpi import ConfigError, DataError, SchemaError, SupportKpiError
from ._supportkpi import __version__ as _engine_version
from ._version import package_version

#: The installed package's version (its metadata; the engine's from a bare source tree).
__version__ = package_version(fallback=str(_engine_version))

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "ParquetColumns",
    "Prepared",
    "SchemaError",
    "Scorecard",
    "SupportKpiError",
    "__version__",
    "combine",
    "default_config",
    "enrich_contacts",
    "kpi_catalog",
    "load_sample",
    "merge",
    "partial",
    "prepare",
    "release_prepared",
    "scan_parquet",
    "scorecard",
]
